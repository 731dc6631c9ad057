//! `cargo xtask lint`: rustfmt, clippy on the host crates, clippy on the kernel for every
//! architecture with the self-tests compiled in (so every item is used), and clippy on the
//! fuzz targets; warnings as errors. CI runs it; it needs the kernel's `-Z` flags, hence a command of its own.

use super::Context;
use crate::build::{BuildOptions, cargo_args, check_rust_src};
use anyhow::{Result, bail};
use std::process::{Command, ExitCode};

#[derive(clap::Args)]
pub struct Lint {}

impl Lint {
    pub fn run(self, context: &Context) -> Result<ExitCode> {
        check_rust_src()?;
        // (clippy checks; it builds no image, so it needs none of the build's path remapping)
        let kernel = BuildOptions { release: false, features: vec!["selftest".into()] };
        let mut kernel_clippy = cargo_args("clippy", context.arches.all(), &kernel);
        kernel_clippy.extend(["--".into(), "-D".into(), "warnings".into()]);
        let steps: Vec<Vec<String>> = vec![
            words(&["fmt", "--all", "--", "--check"]),
            words(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]),
            kernel_clippy,
            // The fuzz targets live outside the workspace (cargo-fuzz builds them with its own
            // flags): checked here so that a change in the xtask cannot leave them broken.
            words(&["clippy", "--manifest-path", "fuzz/Cargo.toml", "--bins", "--", "-D", "warnings"]),
        ];
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        for args in steps {
            eprintln!("$ cargo {}", args.join(" "));
            let status = Command::new(&cargo).args(&args).current_dir(context.workspace.root()).status()?;
            if !status.success() {
                bail!("`cargo {}` failed ({status}); its messages are above", args.join(" "));
            }
        }
        eprintln!("lint: ok");
        Ok(ExitCode::SUCCESS)
    }
}

fn words(words: &[&str]) -> Vec<String> {
    words.iter().map(|word| word.to_string()).collect()
}
