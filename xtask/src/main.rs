//! `cargo xtask`: builds, boots, tests and debugs the kernel on every architecture in
//! `targets/`. This file only parses the command line and dispatches; each subcommand
//! lives in `commands/`.

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use xtask::commands;

#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", about = "Build, boot, test and debug the kernel under QEMU")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the kernel for one architecture or all of them.
    Build(commands::build::Build),
    /// Build and boot the kernel, its serial console on this terminal.
    Run(commands::run::Run),
    /// Build test images and run the kernel's tests, on every architecture by default.
    Test(commands::test::Test),
    /// Read saved serial logs and report their tests as a live run would.
    Report(commands::report::Report),
    /// Run the self-tests again and again with faults injected; count misreports and orphans.
    Soak(commands::soak::Soak),
    /// Measure the harness against raw QEMU and cargo: a table and target/xtask/bench.json.
    Bench(commands::bench::Bench),
    /// Coverage of the kernel's tests: which tests execute a line (after `test --coverage=per-test`).
    Coverage(commands::coverage::Coverage),
    /// Check everything the harness depends on, and say how to fix what is missing.
    Doctor(commands::doctor::Doctor),
    /// Install every program the harness and its tests need (QEMU, firmware, gdb, cargo-nextest).
    Setup(commands::setup::Setup),
    /// CI helpers: the job matrix from the arch table.
    Ci(commands::ci::Ci),
    /// Debug the kernel (or one kernel test) with gdb under QEMU.
    Gdb(commands::gdb::Gdb),
    /// cargo's runner for the kernel targets: boots an image cargo built (`cargo run`/`cargo
    /// test --target targets/ARCH.json`); a test image answers the libtest protocol.
    CargoRunner(commands::cargo_runner::CargoRunner),
    /// Fuzz what the harness reads with cargo-fuzz: one target or all; crashes become regression tests.
    Fuzz(commands::fuzz::Fuzz),
    /// Check formatting, and run clippy on the host crates and on the kernel for every arch.
    Lint(commands::lint::Lint),
}

fn main() -> ExitCode {
    if let Err(error) = xtask::process::install_signal_handlers() {
        return commands::fail(&error);
    }
    let context = match commands::Context::load() {
        Ok(context) => context,
        Err(error) => {
            // `--help` and `--version` need no arch table: they still print (without the
            // table, `--arch` values are not checked, which help does not need).
            if let Err(parse_error) = Cli::try_parse()
                && matches!(
                    parse_error.kind(),
                    clap::error::ErrorKind::DisplayHelp
                        | clap::error::ErrorKind::DisplayVersion
                        | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                )
            {
                parse_error.exit();
            }
            return commands::fail(&error);
        }
    };
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(command) => command.run(&context),
        Command::Run(command) => command.run(&context),
        Command::Test(command) if command.watching() => commands::watch::run(command, &context),
        Command::Test(command) => command.run(&context),
        Command::Report(command) => command.run(&context),
        Command::Lint(command) => command.run(&context),
        Command::Gdb(command) => command.run(&context),
        Command::Ci(command) => command.run(&context),
        Command::Doctor(command) => command.run(&context),
        Command::Setup(command) => command.run(&context),
        Command::Coverage(command) => command.run(&context),
        Command::Soak(command) => command.run(&context),
        Command::Bench(command) => command.run(&context),
        Command::CargoRunner(command) => command.run(&context),
        Command::Fuzz(command) => command.run(&context),
    };
    // `cargo xtask bench` measures the harness's own memory this way.
    if let Some(path) = std::env::var_os("XTASK_PEAK_RSS_FILE") {
        let _ = std::fs::write(path, xtask::process::peak_rss_kib().to_string());
    }
    match result {
        Ok(code) => code,
        Err(error) => commands::fail(&error),
    }
}
