//! `cargo xtask coverage which FILE:LINE`: the tests that execute a line, per arch, from the
//! last `cargo xtask test --coverage=per-test`.

use super::Context;
use anyhow::{Context as _, Result};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Coverage {
    #[command(subcommand)]
    command: CoverageCommand,
}

#[derive(clap::Subcommand)]
enum CoverageCommand {
    /// The tests that execute FILE:LINE on each arch (after `cargo xtask test --coverage=per-test`).
    Which {
        /// A source file relative to the repository and a line: `crates/mm/src/frames.rs:42`.
        #[arg(value_name = "FILE:LINE")]
        location: String,
    },
}

/// `FILE:LINE`, or an error naming what is wrong with it.
fn parse_location(location: &str) -> Result<(&str, u32)> {
    let (file, line) = location
        .rsplit_once(':')
        .with_context(|| format!("`{location}`: expected FILE:LINE, e.g. `crates/mm/src/frames.rs:42`"))?;
    let line =
        line.parse().ok().filter(|line| *line > 0).with_context(|| {
            format!("`{location}`: `{line}` is not a line number (FILE:LINE, lines counting from 1)")
        })?;
    Ok((file, line))
}

impl Coverage {
    pub fn run(self, context: &Context) -> Result<ExitCode> {
        let CoverageCommand::Which { location } = self.command;
        let (file, line) = parse_location(&location)?;
        let directory = context.workspace.xtask_dir().join("coverage");
        let found = crate::coverage::tests_index::which(&directory, file, line)?;
        for (arch, tests) in &found {
            if tests.is_empty() {
                println!("{arch}: no test executes {file}:{line}");
            }
            for test in tests {
                println!("{arch}: {test}");
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn locations_are_file_and_line() {
        assert_eq!(super::parse_location("crates/mm/src/frames.rs:42").unwrap(), ("crates/mm/src/frames.rs", 42));
        for bad in ["frames.rs", "frames.rs:0", "frames.rs:x", "a:b:-1"] {
            assert!(super::parse_location(bad).is_err(), "{bad}");
        }
    }
}
