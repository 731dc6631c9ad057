//! Asks a test image which tests it would run (a `ktest.list` boot).

use super::boot::{self, Deadline};
use super::request::{Purpose, launch};
use super::{RunOptions, Target};
use crate::events::BootEnd;
use crate::exit::KernelExit;
use crate::session::conventions::KernelLine;
use anyhow::Result;

/// A test as the kernel lists it.
pub struct Listed {
    pub name: String,
    /// `#[ktest(ignore)]`: a run reports it skipped.
    pub ignored: bool,
}

/// Boots `target` with `ktest.list` and returns the tests it would run.
pub fn list_tests(target: &Target<'_>, options: &RunOptions) -> Result<Vec<Listed>> {
    let launch = launch(target, options, Purpose::List, 1, super::LaneTests::default())?;
    let mut listed = Vec::new();
    let mut recent = std::collections::VecDeque::new();
    let deadline = super::first_line_deadline(options.timeout);
    let ended = boot::boot(&launch, deadline, |line| {
        let text = line.text();
        match text.strip_prefix("# ").map(KernelLine::read) {
            Some(KernelLine::Listed { name, ignored }) => listed.push(Listed { name, ignored }),
            _ => {
                recent.push_back(text);
                if recent.len() > 20 {
                    recent.pop_front();
                }
            }
        }
        Ok(Deadline::Keep)
    })?;
    let printed = recent.into_iter().collect::<Vec<_>>().join("\n");
    match ended.end {
        BootEnd::Exited(KernelExit::Kernel(kernel_abi::ExitCode::Success)) => Ok(listed),
        BootEnd::TimedOut { .. } => {
            anyhow::bail!("{}: listing the tests timed out; the kernel printed:\n{printed}", target.arch)
        }
        other => anyhow::bail!(
            "{}: listing the tests failed ({other}); the kernel printed:\n{printed}\n{}",
            target.arch,
            ended.stderr
        ),
    }
}
