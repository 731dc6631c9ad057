//! `cargo xtask gdb --replay`: a recording replayed under QEMU's GDB server, gdb stopped at
//! the failure with reverse execution; or, with `--check`, replayed to its end without a
//! debugger and its serial output compared with the recorded one.

use super::{Context, QemuFlags};
use crate::debugger::{self, GdbStart};
use crate::qemu::GdbServer;
use crate::record::Capture;
use crate::record::replay::{self as replaying, Recording};
use anyhow::{Context as _, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// What `cargo xtask gdb` passes on.
pub struct Options<'a> {
    pub check: bool,
    pub gdb: Option<&'a Path>,
    pub port: Option<u16>,
    pub batch: Option<&'a Path>,
    /// How long the batch script may run (None: no limit).
    pub batch_limit: Option<Duration>,
    pub gdb_args: &'a [String],
    pub qemu: &'a QemuFlags,
}

/// How long QEMU may take to finish the replay once the debugger is gone and the guest ran on.
const END_GRACE: Duration = Duration::from_secs(2);

pub fn run(context: &Context, spec: &str, options: &Options<'_>) -> Result<ExitCode> {
    let recording = replaying::find(&context.workspace.xtask_dir().join("runs"), spec)?;
    let manifest = &recording.manifest;
    let arch = context
        .arches
        .find(&manifest.arch)
        .cloned()
        .with_context(|| format!("the recording is of `{}`, an arch `targets/` does not have", manifest.arch))?;
    let qemu_binary = options.qemu.qemu_binary(&arch, &context.workspace)?;
    let recorded = recording.recorded_serial()?;
    if options.check {
        let mut replayed = recording.replay_to_end(&arch, qemu_binary)?;
        if manifest.serial_from_lines {
            replayed = crate::record::as_lines(&replayed);
        }
        return Ok(report(&recording, &recorded, &replayed, true));
    }
    let gdb = debugger::find(&arch, options.gdb, crate::tools::installs_allowed(options.qemu.no_install))?;
    let port = crate::listen::reserve(options.port)?;
    let server = GdbServer::Qemu { port, paused: true };
    let launch = recording.launch(&arch, qemu_binary, Some(server));
    eprintln!("$ {}", launch.display());
    let mut capture = Capture::start(&launch, true)?;
    let sources = debugger::SourcePaths::of(&context.workspace)?;
    let start = GdbStart {
        sources: &sources,
        elf: &manifest.image,
        arch: &arch,
        server,
        breakpoints: replaying::failure_breakpoints(&manifest.image)?,
        batch: None,
        extra: &[],
    };
    let args = replaying::gdb_args(&start, options.batch, options.gdb_args);
    eprintln!(
        "replaying {} on {arch} ({}): gdb stops at the failure; reverse-stepi, reverse-next, reverse-finish and \
         reverse-continue run backwards",
        manifest.test,
        recording.dir.display()
    );
    let gdb_status = debugger::run_to_end(&gdb, &args, options.batch_limit)?;
    // A replay the debugger let run to its end finishes by itself; give it a moment.
    let deadline = Instant::now() + END_GRACE;
    while Instant::now() < deadline && !capture.exited()? && crate::process::interrupted().is_none() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let captured = capture.end()?;
    report(&recording, &recorded, &captured.serial, false);
    Ok(ExitCode::from(gdb_status.code().map_or(1, |code| code.clamp(0, 255) as u8)))
}

/// Says how the replay's serial output compares with the recorded one, keeps it beside the
/// recording, and gives `--check`'s exit status. After a debugging session the output is not
/// compared: reverse execution runs the guest again from its start, printing again.
fn report(recording: &Recording, recorded: &[u8], replayed: &[u8], checking: bool) -> ExitCode {
    let path: PathBuf = replaying::replayed_serial_path(&recording.dir);
    let _ = crate::fsutil::write_atomically(&path, replayed);
    let (same, sentence) = replaying::compare(recorded, replayed);
    let manifest = &recording.manifest;
    if checking {
        println!("{}: {}: the replay's serial output {sentence}: `{}`", manifest.arch, manifest.test, path.display());
    } else {
        println!(
            "{}: {}: {} bytes of serial output replayed (`{}`; reverse execution prints again what it runs \
             again: `--check` compares a replay with the recording)",
            manifest.arch,
            manifest.test,
            replayed.len(),
            path.display()
        );
    }
    if same || !checking { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
