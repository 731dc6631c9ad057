//! `cargo xtask report LOG...`: the report of saved serial logs (a CI artifact, say),
//! exactly as the live run printed it, with the same exit status. Any KTAP log works.

use super::Context;
use crate::report::{self, Format};
use crate::runner::{ArchRun, Progress};
use crate::session::{self, Event};
use anyhow::{Context as _, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Report {
    /// Serial logs (`target/xtask/runs/latest/<arch>.serial.log`, or any KTAP stream).
    #[arg(required = true)]
    logs: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Also write a JUnit XML report here.
    #[arg(long, value_name = "PATH")]
    junit: Option<PathBuf>,
}

impl Report {
    pub fn run(self, context: &Context) -> Result<ExitCode> {
        if let Some(path) = &self.junit {
            crate::fsutil::check_writable(path)?;
        }
        let mut reporter = report::reporter(self.format);
        let mut runs = Vec::new();
        for path in &self.logs {
            let bytes = std::fs::read(path).with_context(|| format!("cannot read the log `{}`", path.display()))?;
            let session = session::replay(&bytes, Some(context.workspace.root()));
            // `x86_64.serial.log` is x86_64's log; any other name stands for itself.
            let file_name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            let arch = file_name.strip_suffix(".serial.log").unwrap_or(&file_name).to_string();
            for outcome in &session.outcomes {
                reporter.progress(&arch, &Progress::Session(Event::Finished(outcome.clone())));
            }
            let wall_time = session.outcomes.iter().filter_map(|outcome| outcome.duration).sum::<Duration>();
            runs.push(ArchRun { arch, boots: session.boot(), session, log: path.clone(), wall_time });
        }
        reporter.finish(&runs);
        if let Some(path) = &self.junit {
            report::write_junit(path, &runs)?;
        }
        Ok(if report::all_passed(&runs) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }
}
