//! `cargo xtask test --record`: every boot of the run recorded as it happens; a boot's
//! recording is kept (as the recording of its first failed test) only if a test failed in it,
//! and removed otherwise.
//!
//! The runner owns the boot; this only prepares the directory, keeps the boot's serial lines
//! and, at the boot's end, reads them through a session of its own to decide what to keep.

use super::Manifest;
use crate::events::{BootEnd, Event, Verdict};
use crate::qemu::Launch;
use anyhow::{Context, Result};
use ktap::Line;
use std::path::{Path, PathBuf};

/// One boot being recorded.
pub struct BootRecorder {
    /// Where the boot records (`record/<arch>/boot-N/`), until it is kept under its test's name.
    dir: PathBuf,
    run_dir: PathBuf,
    arch: String,
    serial: Vec<u8>,
}

impl BootRecorder {
    /// Prepares boot `boot` of `arch` for recording in the run directory `run_dir`.
    pub fn start(run_dir: &Path, arch: &str, boot: u32) -> Result<BootRecorder> {
        let dir = run_dir.join("record").join(arch).join(format!(".boot-{boot}"));
        super::prepare(&dir)?;
        Ok(BootRecorder { dir, run_dir: run_dir.to_path_buf(), arch: arch.into(), serial: Vec::new() })
    }

    /// The directory the boot records into (the launch's `record`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// One serial line of the boot, as the runner read it (its line ending restored as `\n`).
    pub fn line(&mut self, line: &Line) {
        self.serial.extend_from_slice(&line.bytes);
        if !line.unterminated {
            self.serial.push(b'\n');
        }
    }

    /// The boot ended: keeps the recording under its first failed test's name, or removes it.
    /// Returns the kept recording's directory.
    pub fn finish(
        self,
        launch: &Launch<'_>,
        end: BootEnd,
        sources: crate::session::Sources,
    ) -> Result<Option<(String, PathBuf)>> {
        let command = launch.display();
        let failed = first_failure(&self.serial, &command, end, sources);
        let Some((test, reason)) = failed else {
            let _ = std::fs::remove_dir_all(&self.dir);
            return Ok(None);
        };
        let kept = super::recording_dir(&self.run_dir, &self.arch, &test);
        // A later boot's failure of the same test (a retry) replaces the earlier one.
        let _ = std::fs::remove_dir_all(&kept);
        std::fs::rename(&self.dir, &kept).with_context(|| format!("cannot keep the recording `{}`", kept.display()))?;
        std::fs::write(kept.join(super::SERIAL), &self.serial)
            .with_context(|| format!("cannot write `{}`", kept.join(super::SERIAL).display()))?;
        let manifest = Manifest {
            test: test.clone(),
            arch: self.arch.clone(),
            image: launch.kernel.to_path_buf(),
            build_id: crate::symbolize::build_id(launch.kernel).unwrap_or_default(),
            cmdline: launch.cmdline.clone(),
            machine: launch.machine.map(str::to_string),
            extra_args: launch.extra_args.to_vec(),
            command: command.replace(&self.dir.display().to_string(), &kept.display().to_string()),
            verdict: reason,
            tries: 1,
            serial_bytes: self.serial.len() as u64,
            serial_from_lines: true,
        };
        manifest.save(&kept)?;
        Ok(Some((test, kept)))
    }
}

/// The first test that failed in one boot's serial output, and why, as the session reads it.
fn first_failure(
    serial: &[u8],
    command: &str,
    end: BootEnd,
    sources: crate::session::Sources,
) -> Option<(String, String)> {
    let events = super::boot_events(serial, command, end, sources);
    events.into_iter().find_map(|event| match event {
        Event::AttemptFinished(attempt) => match attempt.verdict {
            Verdict::Failed(reason) => Some((attempt.name, format!("failed: {reason:?}").to_lowercase())),
            _ => None,
        },
        _ => None,
    })
}
