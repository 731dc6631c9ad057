//! `cargo xtask lint`: rustfmt, clippy on the host crates, clippy on every kernel of the
//! workspace for every architecture with all its features (the self-tests compiled in, so
//! every item is used), and clippy on the fuzz targets; warnings as errors. CI runs it; it needs the kernel's `-Z` flags, hence a command of its own.

use super::Context;
use crate::build::{BuildOptions, cargo_args, check_rust_src};
use crate::kernel_package::KernelPackage;
use anyhow::Result;
use std::process::ExitCode;
use xshell::{Shell, cmd};

#[derive(clap::Args)]
pub struct Lint {}

impl Lint {
    pub fn run(self, context: &Context) -> Result<ExitCode> {
        check_rust_src()?;
        // (clippy checks; it builds no image, so it needs none of the build's path remapping)
        let mut steps: Vec<Vec<String>> = vec![
            words(&["fmt", "--all", "--", "--check"]),
            words(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]),
        ];
        for kernel in KernelPackage::all(&context.workspace)? {
            let features = kernel.features.clone();
            let options = BuildOptions { kernel, release: false, features };
            let mut kernel_clippy = cargo_args("clippy", context.arches.all(), &options);
            kernel_clippy.extend(["--".into(), "-D".into(), "warnings".into()]);
            steps.push(kernel_clippy);
        }
        steps.extend([
            // The fuzz targets live outside the workspace (cargo-fuzz builds them with its own
            // flags): checked here so that a change in the xtask cannot leave them broken.
            words(&["clippy", "--manifest-path", "fuzz/Cargo.toml", "--bins", "--", "-D", "warnings"]),
        ]);
        // A plain sequence of commands, each echoed before it runs: xshell's job. The echo is
        // ours, as xshell's would print the toolchain's full path to cargo.
        let shell = Shell::new()?;
        shell.change_dir(context.workspace.root());
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        for args in steps {
            eprintln!("$ cargo {}", args.join(" "));
            if let Err(error) = cmd!(shell, "{cargo} {args...}").quiet().run() {
                // A lint finding is a failed check (1), not a harness error (2).
                eprintln!("lint: {error}; its messages are above");
                return Ok(ExitCode::FAILURE);
            }
        }
        eprintln!("lint: ok");
        Ok(ExitCode::SUCCESS)
    }
}

fn words(words: &[&str]) -> Vec<String> {
    words.iter().map(|word| word.to_string()).collect()
}
