//! `cargo xtask test --record-failures`: after the run, each failed test is booted again
//! alone (by its exact name, on the same image) under QEMU's recorder; the recording is kept
//! only if that boot failed the test again, trying up to `--record-tries` times for a flaky
//! failure.

use super::{Capture, Manifest, Mode};
use crate::events::{BootEnd, Event, Status, Verdict};
use crate::runner::{RunOptions, Target};
use crate::summary::RunSummary;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The most recording boots a failure gets by default before it is given up as not
/// reproducible.
pub const DEFAULT_TRIES: u32 = 3;

/// What recording one failed test came to.
pub struct Recorded {
    pub arch: String,
    pub test: String,
    pub dir: PathBuf,
    /// Recording boots made.
    pub tries: u32,
    /// Whether the last of them failed the test again (the recording is kept).
    pub reproduced: bool,
}

/// Records each test that failed (or was flaky) in `summary`, in `run_dir/record/`.
pub fn record_failures(
    targets: &[Target<'_>],
    options: &RunOptions,
    summary: &RunSummary,
    run_dir: &Path,
    max_tries: u32,
) -> Result<Vec<Recorded>> {
    let mut recorded = Vec::new();
    for arch in &summary.arches {
        let Some(target) = targets.iter().find(|target| target.arch.name == arch.arch) else { continue };
        for outcome in &arch.outcomes {
            if !matches!(outcome.status(), Status::Failed(_) | Status::Flaky(_)) {
                continue;
            }
            if crate::process::interrupted().is_some() {
                return Ok(recorded);
            }
            let result = record_until_failed(target, options, &outcome.name, run_dir, max_tries)?;
            print(&result);
            recorded.push(result);
        }
    }
    Ok(recorded)
}

/// Boots `test` alone under the recorder until it fails, at most `max_tries` times.
pub fn record_until_failed(
    target: &Target<'_>,
    options: &RunOptions,
    test: &str,
    run_dir: &Path,
    max_tries: u32,
) -> Result<Recorded> {
    let dir = super::recording_dir(run_dir, &target.arch.name, test);
    let mut tries = 0;
    while tries < max_tries.max(1) && crate::process::interrupted().is_none() {
        tries += 1;
        if record_once(target, options, test, &dir, tries)? {
            return Ok(Recorded { arch: target.arch.name.clone(), test: test.into(), dir, tries, reproduced: true });
        }
    }
    // Nothing kept of a boot that passed: only failures are worth replaying.
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Recorded { arch: target.arch.name.clone(), test: test.into(), dir, tries, reproduced: false })
}

/// One recording boot of `test` into `dir`; true (and the manifest written) if it failed.
fn record_once(target: &Target<'_>, options: &RunOptions, test: &str, dir: &Path, tries: u32) -> Result<bool> {
    super::prepare(dir)?;
    let cmdline = crate::runner::single_test_request_line(options, test, 0)?;
    let launch = crate::qemu::Launch {
        arch: target.arch,
        binary: target.qemu_binary.clone(),
        kernel: target.image,
        cmdline: cmdline.clone(),
        machine: options.machine.as_deref(),
        gdb: None,
        extra_args: &options.extra_qemu_args,
        record: Some((Mode::Record, dir)),
        cpus: None,
    };
    let command = launch.display();
    crate::ui::echo(&command);
    // Under -icount the guest runs slower than it does plainly: the test's timeout, with room.
    let allowed = options.timeout.map(|timeout| timeout * 3 + Duration::from_secs(30));
    let captured = Capture::start(&launch, false)?.finish(allowed)?;
    std::fs::write(dir.join(super::SERIAL), &captured.serial)
        .with_context(|| format!("cannot write `{}`", dir.join(super::SERIAL).display()))?;
    let end = match captured.status {
        Some(status) => BootEnd::Exited(target.arch.exit_protocol.decode(status)),
        None => BootEnd::TimedOut { seconds: allowed.unwrap_or_default().as_secs() },
    };
    let verdict = verdict_of(&captured.serial, test, &command, end, options.sources.clone());
    let Some(Verdict::Failed(reason)) = verdict else {
        return Ok(false);
    };
    let manifest = Manifest {
        test: test.into(),
        arch: target.arch.name.clone(),
        image: target.image.to_path_buf(),
        build_id: crate::symbolize::build_id(target.image).unwrap_or_default(),
        cmdline,
        machine: options.machine.clone(),
        extra_args: options.extra_qemu_args.clone(),
        command,
        verdict: format!("failed: {reason:?}").to_lowercase(),
        tries,
        serial_bytes: captured.serial.len() as u64,
        serial_from_lines: false,
    };
    manifest.save(dir)?;
    Ok(true)
}

/// The test's verdict in one boot's serial output, as the session reads it.
pub fn verdict_of(
    serial: &[u8],
    test: &str,
    command: &str,
    end: BootEnd,
    sources: crate::session::Sources,
) -> Option<Verdict> {
    let events = super::boot_events(serial, command, end, sources);
    events.into_iter().find_map(|event| match event {
        Event::AttemptFinished(attempt) if attempt.name == test => Some(attempt.verdict),
        _ => None,
    })
}

/// For each failure in `summary` whose log (`labels`: each arch's label and log) is in a run
/// directory with recordings: a line naming the recording, or saying there is none.
pub fn recordings_of_failures(summary: &RunSummary, labels: &[(String, PathBuf)]) -> Vec<String> {
    let mut lines = Vec::new();
    for arch in &summary.arches {
        let Some((_, log)) = labels.iter().find(|(label, _)| *label == arch.arch) else { continue };
        let Some(run_dir) = log.parent().filter(|dir| dir.join("record").is_dir()) else { continue };
        let run_name = run_dir.file_name().unwrap_or_default().to_string_lossy();
        for outcome in &arch.outcomes {
            if !matches!(outcome.status(), Status::Failed(_) | Status::Flaky(_)) {
                continue;
            }
            let dir = super::recording_dir(run_dir, &arch.arch, &outcome.name);
            lines.push(match dir.join(super::MANIFEST).is_file() {
                true => format!(
                    "recording {}: {}: {} ({}); `cargo xtask gdb --replay {run_name}/{}/{}`",
                    arch.arch,
                    outcome.name,
                    dir.display(),
                    super::human_size(super::size_of(&dir)),
                    arch.arch,
                    outcome.name
                ),
                false => format!("no recording {}: {}", arch.arch, outcome.name),
            });
        }
    }
    lines
}

/// `--record`: the recordings kept (of the boots in which a test failed), where and how big.
pub fn print_kept(run_dir: &Path) {
    let kept = super::recordings_in(run_dir);
    if kept.is_empty() {
        println!("no recording kept: no boot had a failure");
    }
    for (arch, test, dir) in kept {
        println!("recorded {arch}: {test}: {} ({})", dir.display(), super::human_size(super::size_of(&dir)));
    }
}

/// Says where a recording is and how big, or that the failure did not come back.
fn print(recorded: &Recorded) {
    let tries = match recorded.tries {
        1 => "1 try".to_string(),
        n => format!("{n} tries"),
    };
    if recorded.reproduced {
        println!(
            "recorded {}: {} ({tries}): {} ({})",
            recorded.arch,
            recorded.test,
            recorded.dir.display(),
            super::human_size(super::size_of(&recorded.dir))
        );
    } else {
        println!("not recorded {}: {}: it passed in each of {tries} under the recorder", recorded.arch, recorded.test);
    }
}
