//! Time-travel debugging: a failed kernel test recorded under QEMU's record/replay
//! (`-icount ...,rr=record`), kept in the run directory with what it takes to replay it, and
//! replayed under QEMU's GDB server with reverse execution (`replay.rs`).
//!
//! A recording is a directory `target/xtask/runs/<id>/record/<arch>/<test>/`:
//!
//! - `replay.bin`: QEMU's replay log (every non-deterministic input: the clock, the
//!   interrupts, the serial line's input);
//! - `snapshot.qcow2`: the image QEMU saves the machine's start (`rrsnapshot=init`) into,
//!   which reverse execution rewinds to;
//! - `serial.out`: the serial output of the recorded boot, byte for byte;
//! - `manifest.json`: the test, the arch, the image and its build-id, the QEMU command, the
//!   verdict ([`Manifest`]).
//!
//! Architecture Invariant: the recording boot is an ordinary test boot (the runner's command
//! line for that one test, the same image, `Launch` and its confinement) with only the
//! record/replay options added; nothing here decides a verdict: the session reads the
//! recorded serial output as it reads any boot's.

pub mod args;
pub mod boots;
mod capture;
pub mod failures;
pub mod replay;

use anyhow::{Context, Result, bail};
pub use args::{Mode, REPLAY_LOG, SNAPSHOT, qemu_args};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub use capture::{Capture, Captured};

/// The recorded serial output's file name.
pub const SERIAL: &str = "serial.out";
/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";
/// The snapshot image's size: it holds the machine's state at start (a few MB for these guests).
const SNAPSHOT_SIZE: &str = "64M";

/// What a recording is of, and how to replay it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub test: String,
    pub arch: String,
    /// The test image that was recorded, and its GNU build-id.
    pub image: PathBuf,
    pub build_id: String,
    /// The kernel command line and the QEMU options beyond the arch's (`--machine`, `--`).
    pub cmdline: String,
    pub machine: Option<String>,
    pub extra_args: Vec<String>,
    /// The recording QEMU's command line, as a shell takes it.
    pub command: String,
    /// The recorded boot's verdict for the test, as the session read it (`failed: ...`).
    pub verdict: String,
    /// How many recording boots it took to reproduce the failure.
    pub tries: u32,
    /// The recorded serial output's size in bytes.
    pub serial_bytes: u64,
    /// `serial.out` was rebuilt from the runner's lines (`--record`), which end in `\n`
    /// whether the guest wrote `\r\n` or `\n`: a replay is compared with it likewise.
    #[serde(default)]
    pub serial_from_lines: bool,
}

impl Manifest {
    pub fn load(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read `{}`", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("`{}` is not a recording's manifest", path.display()))
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("a manifest serializes");
        crate::fsutil::write_atomically(&dir.join(MANIFEST), format!("{text}\n").as_bytes())
    }
}

/// Makes `dir` an empty recording directory with its empty snapshot image. Its path goes
/// into QEMU's comma-separated option syntax: a comma in it is refused.
pub fn prepare(dir: &Path) -> Result<()> {
    if dir.to_string_lossy().contains(',') {
        bail!("`{}`: QEMU cannot take a path with a comma in its record/replay options", dir.display());
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    create_snapshot_image(dir)
}

/// Creates the empty snapshot image QEMU saves the machine's start into.
fn create_snapshot_image(dir: &Path) -> Result<()> {
    let Some(qemu_img) = qemu_img() else {
        let install = crate::tools::PackageManager::detect()
            .map(|manager| manager.install_command(manager.package(&crate::tools::qemu_img_packages())));
        bail!(
            "recording needs `qemu-img`, which is not on PATH{}",
            install.map(|c| format!(": {c}")).unwrap_or_default()
        );
    };
    let image = dir.join(SNAPSHOT);
    let _ = std::fs::remove_file(&image);
    let output = std::process::Command::new(&qemu_img)
        .args(["create", "-q", "-f", "qcow2"])
        .arg(&image)
        .arg(SNAPSHOT_SIZE)
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("cannot run `{}`", qemu_img.display()))?;
    if !output.status.success() {
        bail!("`qemu-img create` failed for `{}`: {}", image.display(), String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

/// Where `qemu-img` is, if installed.
pub fn qemu_img() -> Option<PathBuf> {
    crate::tools::find_on_path("qemu-img")
}

/// The oldest QEMU with reverse execution under its GDB server.
pub const MIN_QEMU: (u32, u32) = (5, 0);

/// QEMU's major and minor version from its `--version` line (`QEMU emulator version 7.2.22 (...)`).
pub fn qemu_version(line: &str) -> Option<(u32, u32)> {
    let version = line.split_whitespace().skip_while(|word| *word != "version").nth(1)?;
    let mut numbers = version.split('.').map(|part| part.parse::<u32>().ok());
    Some((numbers.next()??, numbers.next()??))
}

/// The recording directory of `test` on `arch` in the run directory `run_dir`.
pub fn recording_dir(run_dir: &Path, arch: &str, test: &str) -> PathBuf {
    run_dir.join("record").join(arch).join(directory_name(test))
}

/// A test's name as a directory name: a Rust path (`kernel::selftest::x`) stays as it is;
/// anything else a path could be confused by becomes `-`.
pub fn directory_name(test: &str) -> String {
    let name: String =
        test.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == ':' { c } else { '-' }).collect();
    if name.is_empty() || name.starts_with('-') { format!("test{name}") } else { name }
}

/// The events one boot's serial output makes, read by a session of its own as the runner's
/// reads a live boot (the boot's start and end are the markers the runner would write).
pub fn boot_events(
    serial: &[u8],
    command: &str,
    end: crate::events::BootEnd,
    sources: crate::session::Sources,
) -> Vec<crate::events::Event> {
    use crate::session::marker::Marker;
    let mut session = crate::session::Session::new(sources);
    let mut events = session.marker(&Marker::BootStarted { boot: 1, command: command.into() });
    let mut splitter = ktap::LineSplitter::default();
    let mut lines = splitter.push(serial);
    lines.extend(splitter.finish());
    for line in &lines {
        events.extend(session.line(line));
    }
    events.extend(session.marker(&Marker::BootEnded { boot: 1, end, test_time: None }));
    events
}

/// Serial output as the runner's lines give it back: each line's `\r` before `\n` dropped.
pub fn as_lines(serial: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(serial.len());
    for (index, byte) in serial.iter().enumerate() {
        if *byte == b'\r' && serial.get(index + 1) == Some(&b'\n') {
            continue;
        }
        out.push(*byte);
    }
    out
}

/// Every recording under a run directory, as (arch, test directory, path), sorted.
pub fn recordings_in(run_dir: &Path) -> Vec<(String, String, PathBuf)> {
    let mut found = Vec::new();
    let Ok(arches) = std::fs::read_dir(run_dir.join("record")) else { return found };
    for arch in arches.flatten() {
        let Ok(tests) = std::fs::read_dir(arch.path()) else { continue };
        for test in tests.flatten() {
            if test.path().join(MANIFEST).is_file() {
                let arch_name = arch.file_name().to_string_lossy().into_owned();
                found.push((arch_name, test.file_name().to_string_lossy().into_owned(), test.path()));
            }
        }
    }
    found.sort();
    found
}

/// The bytes of a recording's files, together.
pub fn size_of(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().filter_map(|entry| entry.metadata().ok()).map(|meta| meta.len()).sum())
        .unwrap_or(0)
}

/// A size for people: bytes, KiB or MiB.
pub fn human_size(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_and_replay_options_name_the_same_files() {
        let dir = Path::new("/r/record/x86_64/kernel::selftest::a");
        let record = qemu_args(Mode::Record, dir).join(" ");
        let replay = qemu_args(Mode::Replay, dir).join(" ");
        assert_eq!(
            record,
            "-icount shift=auto,rr=record,rrfile=/r/record/x86_64/kernel::selftest::a/replay.bin,rrsnapshot=init \
             -drive file=/r/record/x86_64/kernel::selftest::a/snapshot.qcow2,if=none,id=rr -net none"
        );
        assert_eq!(replay, record.replace("rr=record", "rr=replay"));
        assert!(prepare(Path::new("/a,b")).unwrap_err().to_string().contains("comma"));
    }

    #[test]
    fn test_names_become_plain_directory_names() {
        let cases = [
            ("kernel::selftest::assertion_fails", "kernel::selftest::assertion_fails"),
            ("../../etc", "test------etc"),
            ("a b/c", "a-b-c"),
        ];
        for (name, expected) in cases {
            assert_eq!(directory_name(name), expected, "{name}");
        }
    }

    #[test]
    fn qemu_versions_are_read_from_the_version_line() {
        assert_eq!(qemu_version("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)"), Some((7, 2)));
        assert_eq!(qemu_version("QEMU emulator version 10.0.0"), Some((10, 0)));
        assert_eq!(qemu_version("something else"), None);
    }

    #[test]
    fn serial_output_as_lines_loses_only_the_carriage_return_before_a_newline() {
        assert_eq!(as_lines(b"\r\nOpenSBI\r\nok 1 a\n\rx\r"), b"\nOpenSBI\nok 1 a\n\rx\r");
    }

    /// What a recording is kept for: the session's verdict, from the recorded bytes alone.
    #[test]
    fn a_boots_failure_is_read_from_its_serial_output_as_the_session_reads_it() {
        use crate::events::{BootEnd, Event, Reason, Verdict};
        use crate::exit::KernelExit;
        let cases: [(&str, &[u8], BootEnd, Option<Verdict>); 3] = [
            (
                "a panic, reported by the kernel",
                b"KTAP version 1\r\n1..1\n# start kernel::a timeout=0\n# panicked at a.rs:1:1: boom\nnot ok 1 kernel::a\n",
                BootEnd::Exited(KernelExit::Kernel(kernel_abi::ExitCode::TestCrashed)),
                Some(Verdict::Failed(Reason::Panic)),
            ),
            (
                "a pass",
                b"KTAP version 1\n1..1\n# start kernel::a timeout=0\nok 1 kernel::a\n",
                BootEnd::Exited(KernelExit::Kernel(kernel_abi::ExitCode::Success)),
                Some(Verdict::Passed),
            ),
            (
                "a hang the harness ended",
                b"KTAP version 1\n1..1\n# start kernel::a timeout=0\n",
                BootEnd::TimedOut { seconds: 60 },
                Some(Verdict::Failed(Reason::Timeout)),
            ),
        ];
        for (what, serial, end, expected) in cases {
            let verdict = boot_events(serial, "qemu", end, "/".into()).into_iter().find_map(|event| match event {
                Event::AttemptFinished(attempt) if attempt.name == "kernel::a" => Some(attempt.verdict),
                _ => None,
            });
            assert_eq!(verdict, expected, "{what}");
        }
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(812), "812 B");
        assert_eq!(human_size(8 * 1024 + 512), "8.5 KiB");
        assert_eq!(human_size(3 << 20), "3.0 MiB");
    }
}
