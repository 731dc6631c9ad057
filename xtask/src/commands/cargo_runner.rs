//! `cargo xtask cargo-runner IMAGE [ARGS...]`: cargo's runner for the kernel targets
//! (`.cargo/config.toml` names it through `.cargo/kernel-runner`), so that cargo's own
//! commands boot what cargo built:
//!
//! - an image `cargo test` built (it has a `.kernel_cargo_test` section) has its tests run
//!   as by `cargo xtask test`, and ARGS are the libtest protocol's: `--list --format terse`,
//!   `--exact NAME`, `--skip`, `--ignored`/`--include-ignored`, `--nocapture`/`--show-output`
//!   (each test's output under its verdict), `--format json`, filters; test tools such as
//!   cargo-nextest and rust-analyzer's "Run test" speak it; the per-test timeout is
//!   `cargo xtask test`'s default, or `XTASK_TIMEOUT`;
//! - any other image (`cargo run`) boots as by `cargo xtask run`, ARGS being its kernel
//!   command line.
//!
//! The arch is the one whose `elf-machine` the image's ELF header names.

use super::Context;
use crate::arch::Arch;
use crate::qemu::Launch;
use crate::report::Destinations;
use crate::report::Format;
use crate::runner::parallel::run_and_report;
use crate::runner::{self, RunOptions, Target};
use crate::summary::NoTests;
use anyhow::{Context as _, Result, bail};
use clap::Parser;
use object::Endianness;
use object::Object;
use object::read::elf::{ElfFile64, FileHeader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// The section that marks an image built by `cargo test` (see kernel/src/ktest/mod.rs).
const CARGO_TEST_SECTION: &str = ".kernel_cargo_test";

#[derive(clap::Args)]
pub struct CargoRunner {
    /// The kernel image cargo built.
    image: PathBuf,
    /// For a test image, libtest's arguments; else the kernel command line.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// The part of libtest's command line a kernel test image answers.
#[derive(Parser, Debug)]
#[command(name = "kernel test image", no_binary_name = true, disable_help_flag = true)]
struct Libtest {
    /// Run only tests whose name contains one of these (with `--exact`: is one of these).
    filters: Vec<String>,
    #[arg(long)]
    list: bool,
    #[arg(long)]
    exact: bool,
    /// Not the tests whose name contains this (with `--exact`: is this); repeatable.
    #[arg(long, value_name = "FILTER")]
    skip: Vec<String>,
    /// Only the `ignore`d tests, run.
    #[arg(long)]
    ignored: bool,
    /// The `ignore`d tests run as well.
    #[arg(long)]
    include_ignored: bool,
    #[arg(long, value_enum)]
    format: Option<LibtestFormat>,
    /// `-Z unstable-options` (libtest wants it for `--format json`).
    #[arg(short = 'Z')]
    unstable: Vec<String>,
    /// Each test's own output under its verdict (it is in the serial log either way).
    #[arg(long)]
    nocapture: bool,
    #[arg(long)]
    show_output: bool,
    #[arg(short, long)]
    quiet: bool,
    /// Accepted: one QEMU runs an arch's tests one after another.
    #[arg(long, value_name = "N")]
    test_threads: Option<usize>,
    #[arg(long, value_name = "WHEN")]
    color: Option<String>,
}

impl Libtest {
    /// Whether `test` (which the filters selected) stays in after `--skip` and `--ignored`.
    fn keeps(&self, test: &runner::Listed) -> bool {
        let skipped = |skip: &String| if self.exact { test.name == *skip } else { test.name.contains(skip.as_str()) };
        (test.ignored || !self.ignored) && !self.skip.iter().any(skipped)
    }

    /// Whether a run needs the test list first, to leave tests out by position.
    fn selects_by_position(&self) -> bool {
        self.ignored || !self.skip.is_empty()
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
enum LibtestFormat {
    Pretty,
    Terse,
    Json,
}

impl CargoRunner {
    pub fn run(self, context: &Context) -> Result<ExitCode> {
        crate::process::winds_down_by_itself();
        let bytes = std::fs::read(&self.image).with_context(|| format!("cannot read `{}`", self.image.display()))?;
        let elf = ElfFile64::<Endianness>::parse(&*bytes)
            .with_context(|| format!("`{}` is not a 64-bit ELF file cargo's runner can boot", self.image.display()))?;
        let arch = arch_of(context, &self.image, elf.elf_header().e_machine(elf.endian()).0)?;
        let qemu_binary = super::QemuFlags::default().qemu_binary(arch, &context.workspace)?;
        let target = Target { arch, qemu_binary, image: &self.image };
        if elf.section_by_name(CARGO_TEST_SECTION).is_some() {
            run_tests(context, &target, &self.args)
        } else {
            let launch = Launch {
                arch,
                binary: target.qemu_binary.clone(),
                kernel: &self.image,
                cmdline: self.args.join(" "),
                machine: None,
                gdb: None,
                extra_args: &[],
                record: None,
                cpus: None,
            };
            super::run::boot(&launch, None)
        }
    }
}

/// The arch whose ELF machine the image is for.
fn arch_of<'c>(context: &'c Context, image: &Path, machine: u16) -> Result<&'c Arch> {
    context.arches.all().iter().find(|arch| arch.elf_machine == machine).with_context(|| {
        format!(
            "`{}` is an ELF for machine {machine}, which no `targets/*.toml` names as its `elf-machine`",
            image.display()
        )
    })
}

/// libtest's arguments as a kernel test image answers them (the `libtest_args` fuzz target
/// reads any arguments through this).
fn parse_libtest(arch: &str, args: &[String]) -> Result<Libtest> {
    let libtest = Libtest::try_parse_from(args)
        .map_err(|error| anyhow::anyhow!("{arch}: unsupported test-runner arguments `{}`:\n{error}", args.join(" ")))?;
    if libtest.format == Some(LibtestFormat::Json) && !libtest.unstable.iter().any(|flag| flag == "unstable-options") {
        bail!("`--format json` needs `-Z unstable-options`, as with libtest");
    }
    Ok(libtest)
}

/// Reads `args` as libtest's arguments; `Ok` with the filters they select.
#[doc(hidden)]
pub fn check_libtest_args(args: &[String]) -> Result<Vec<String>> {
    parse_libtest("fuzz", args).map(|libtest| libtest.filters)
}

fn run_tests(context: &Context, target: &Target<'_>, args: &[String]) -> Result<ExitCode> {
    crate::ui::quiet_unless(false);
    let libtest = parse_libtest(&target.arch.to_string(), args)?;
    let options = RunOptions {
        filters: libtest.filters.clone(),
        packages: Vec::new(),
        exact: libtest.exact,
        include_ignored: libtest.ignored || libtest.include_ignored,
        timeout: super::runner_timeout()?.0,
        machine: None,
        extra_qemu_args: Vec::new(),
        debug_failures: None,
        sources: super::report::default_sources(context),
        partition: None,
        retries: 0,
        coverage: None,
        fail_fast: false,
        record_boots: None,
    };
    if libtest.list {
        for test in runner::list_tests(target, &options)? {
            if libtest.keeps(&test) {
                println!("{}: test", test.name);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let lane = if libtest.selects_by_position() {
        // The kernel selects by filters; what libtest leaves out beyond them goes to the
        // kernel as the set of positions to run (`ktest.set`), from a listing boot.
        let listed = runner::list_tests(target, &options)?;
        let mut set = String::new();
        kernel_abi::set::encode(listed.iter().map(|test| libtest.keeps(test)), &mut set)
            .expect("writing to a String cannot fail");
        let tests = listed.iter().filter(|test| libtest.keeps(test)).count();
        crate::plan::Lane { set: Some(set), late: None, tests: Some(tests), estimate: Duration::ZERO }
    } else {
        crate::plan::Lane::whole()
    };
    let format = if libtest.format == Some(LibtestFormat::Json) { Format::Json } else { Format::Human };
    let run = crate::runs::create(&context.workspace.xtask_dir())?;
    let color = match libtest.color.as_deref() {
        Some("always") => Some(crate::report::text::Color::Always),
        Some("never") => Some(crate::report::text::Color::Never),
        _ => None,
    };
    let show_output = libtest.nocapture || libtest.show_output;
    let destinations = Destinations { format, json: None, junit: None, verbose: false, color, show_output };
    let summary = run_and_report(
        std::slice::from_ref(target),
        &[vec![lane]],
        &options,
        &run.path,
        1,
        &destinations,
        NoTests::Fail,
    )?;
    Ok(ExitCode::from(summary.exit_status(NoTests::Fail, crate::summary::FlakyResult::Pass)))
}
