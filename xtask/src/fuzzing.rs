//! The fuzz targets' bodies: one function per input the harness reads, called by the
//! cargo-fuzz targets in `fuzz/` and by the regression test (`xtask/tests/fuzz_regressions.rs`)
//! alike, so that a crash saved from fuzzing replays through exactly the code that found it.
//!
//! Each function takes any bytes and panics only when a property fails: the harness itself
//! must never panic on what it reads.

use crate::session::{LogReader, Session, Sources, replay_file, replay_reader};
use crate::summary::{ArchSummary, FlakyResult, NoTests, RunSummary};
use std::path::Path;

/// A fuzz target: its name (the cargo-fuzz target's, and its corpus and regression
/// directories') and its body.
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
    /// What it reads, for `cargo xtask fuzz --help` and the docs.
    pub reads: &'static str,
}

/// Every fuzz target, in the order `cargo xtask fuzz` runs them.
pub const TARGETS: &[Target] = &[
    Target { name: "serial_stream", run: serial_stream, reads: "serial bytes, live in any chunks and replayed" },
    Target { name: "merged_ktap", run: merged_ktap, reads: "`cargo xtask report` of a KTAP document" },
    Target { name: "kernel_cmdline", run: kernel_cmdline, reads: "the kernel command line (kernel/abi)" },
    Target { name: "symbolize", run: symbolize, reads: "backtrace addresses against a small ELF" },
    Target { name: "arch_table", run: arch_table, reads: "a `targets/<arch>.toml` description" },
    Target { name: "libtest_args", run: libtest_args, reads: "libtest arguments to the cargo runner" },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|target| target.name == name)
}

/// The first byte seeds the chunk sizes of the live path (1 to 64 bytes, varying), the rest
/// is the serial stream: the lines split as they arrive in chunks and the replay of the same
/// bytes read whole give the same events, and so the same verdicts.
pub fn serial_stream(data: &[u8]) {
    let Some((&seed, data)) = data.split_first() else { return };
    let replayed = replay_file(data, Path::new("/"));

    let mut splitter = ktap::LineSplitter::default();
    let mut live = Session::new("/");
    let mut log = LogReader::default();
    let mut events = Vec::new();
    let mut rest = data;
    let mut state = u32::from(seed);
    while !rest.is_empty() {
        // A small linear congruential sequence: chunk sizes that vary, from one seed byte.
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let size = ((state >> 16) % 64 + 1) as usize;
        let (piece, after) = rest.split_at(size.min(rest.len()));
        for line in splitter.push(piece) {
            events.extend(log.line(&mut live, line));
        }
        rest = after;
    }
    if let Some(line) = splitter.finish() {
        events.extend(log.line(&mut live, line));
    }
    events.extend(live.end_of_stream());
    assert_eq!(events, replayed, "chunking changed the events");
    let verdicts = |events: &[crate::events::Event]| ArchSummary::of("x", "log".into(), events).verdict();
    assert_eq!(verdicts(&events), verdicts(&replayed));
}

/// A document as `cargo xtask report` reads it, through every reporter: the human display,
/// libtest's JSON, JUnit, the merged KTAP document and the exit status.
pub fn merged_ktap(data: &[u8]) {
    use crate::report::{Collector, Reporter, human::Human, libtest};
    let reporters: Vec<Box<dyn Reporter>> = vec![Box::new(Human::new(std::io::sink(), true))];
    let mut collector = Collector::new(reporters, &[("x".to_string(), "x.ktap".into())]);
    let sources = Sources { root: "/".into(), entry_symbol: None };
    replay_reader(data, sources, |event| {
        collector.event("x", &event);
    })
    .expect("reading from memory cannot fail");
    let (summary, written) = collector.finish();
    written.expect("the human display writes to a sink");
    let _ = summary.exit_status(NoTests::Fail, FlakyResult::Fail);
    let _ = crate::report::junit::render(&summary);
    let mut out = Vec::new();
    crate::report::human::print_summary(&mut out, &summary).expect("writing to memory cannot fail");
    for arch in &summary.arches {
        let _ = libtest::suite_json(arch);
        let merged = crate::report::ktap::merged(arch);
        // The merged document reads back as a document the reporters take too.
        let again = ArchSummary::of("x", "x.ktap".into(), &replay_file(merged.as_bytes(), Path::new("/")));
        let _ = crate::report::junit::render(&RunSummary { arches: vec![again] });
    }
}

/// The kernel's command-line parser (it runs in the kernel, before the heap) on any text: it
/// must not panic, and whatever it accepts must survive a write and a re-parse.
pub fn kernel_cmdline(data: &[u8]) {
    use kernel_abi::cmdline::Request;
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(request) = Request::parse(text) else { return };
    let mut written = String::new();
    request.write_to(&mut written).expect("writing to a String cannot fail");
    let reparsed = Request::parse(&written).expect("a written request parses");
    assert_eq!(reparsed, request, "round trip of {text:?} through {written:?}");
    for name in ["a", "mm::heap::big", "zz"] {
        let _ = request.runs(name);
    }
    if let Some(set) = &request.set {
        for position in [0, 1, 63, 64, usize::MAX] {
            let _ = set.contains(position);
        }
    }
}

/// The ELF the `symbolize` target reads (built by `tests/fixtures/elf/build.sh`).
pub fn small_elf() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/elf/small.elf")
}

thread_local! {
    static SMALL_ELF: Option<crate::symbolize::Symbolizer> =
        crate::symbolize::Symbolizer::new(&small_elf(), Path::new("/"), Some("_start"));
}

/// Backtrace addresses against a real ELF: the first byte says whether a faulting pc comes
/// first and whether the words are raw addresses or offsets into the ELF's code (where the
/// DWARF is), the rest are 8-byte little-endian words.
pub fn symbolize(data: &[u8]) {
    let Some((&flags, words)) = data.split_first() else { return };
    let addresses: Vec<u64> = words
        .chunks(8)
        .map(|word| {
            let mut bytes = [0u8; 8];
            bytes[..word.len()].copy_from_slice(word);
            let value = u64::from_le_bytes(bytes);
            if flags & 2 == 0 { 0x40_1000 + (value & 0xfff) } else { value }
        })
        .collect();
    let (pc, returns) = match addresses.split_first() {
        Some((&pc, returns)) if flags & 1 == 1 => (Some(pc), returns),
        _ => (None, addresses.as_slice()),
    };
    SMALL_ELF.with(|symbolizer| {
        let symbolizer = symbolizer.as_ref().expect("tests/fixtures/elf/small.elf reads as an ELF with DWARF");
        let frames = symbolizer.backtrace(pc, returns);
        assert!(frames.len() <= 8 * (returns.len() + 1) + 8, "{} frames for {} addresses", frames.len(), returns.len());
    });
    // The same addresses as the kernel prints them, through the session.
    let line: Vec<String> = addresses.iter().map(|address| format!("{address:#x}")).collect();
    let log = format!("KTAP version 1\n1..1\n# start t\n# backtrace: {}\nnot ok 1 t\n", line.join(" "));
    let summary = ArchSummary::of("x", "log".into(), &replay_file(log.as_bytes(), Path::new("/")));
    assert_eq!(summary.outcomes.len(), 1, "{log}");
}

/// A `targets/<arch>.toml` as the xtask reads it (named `fuzz.toml`); what it accepts is
/// used the way the runner uses an arch.
pub fn arch_table(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(arch) = crate::arch::Arches::parse_one(text, "fuzz") else { return };
    let _ = format!("{arch} {arch:?}");
}

/// NUL-separated arguments, as cargo passes them to the kernel test image's runner.
pub fn libtest_args(data: &[u8]) {
    let args: Vec<String> =
        data.split(|&byte| byte == 0).map(|arg| String::from_utf8_lossy(arg).into_owned()).collect();
    if let Ok(filters) = crate::commands::cargo_runner::check_libtest_args(&args) {
        assert!(filters.len() <= args.len());
    }
}
