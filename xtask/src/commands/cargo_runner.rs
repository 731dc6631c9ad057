//! `cargo xtask cargo-runner IMAGE [ARGS...]`: cargo's runner for the kernel targets
//! (`.cargo/config.toml` names it through `.cargo/kernel-runner`), so that cargo's own
//! commands boot what cargo built:
//!
//! - an image `cargo test` built (it has a `.kernel_cargo_test` section) has its tests run
//!   as by `cargo xtask test`, and ARGS are the libtest protocol's: `--list --format terse`,
//!   `--exact NAME`, `--format json`, filters; test tools such as cargo-nextest speak it;
//! - any other image (`cargo run`) boots as by `cargo xtask run`, ARGS being its kernel
//!   command line.
//!
//! The arch is the one whose `elf-machine` the image's ELF header names.

use super::Context;
use crate::arch::Arch;
use crate::qemu::Launch;
use crate::report::Format;
use crate::runner::{self, RunOptions, Target};
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
    /// `ignore`d kernel tests are never run; they are reported skipped either way.
    #[arg(long)]
    ignored: bool,
    #[arg(long)]
    include_ignored: bool,
    #[arg(long, value_enum)]
    format: Option<LibtestFormat>,
    /// `-Z unstable-options` (libtest wants it for `--format json`).
    #[arg(short = 'Z')]
    unstable: Vec<String>,
    /// Output is never captured: the serial log is the kernel's.
    #[arg(long)]
    nocapture: bool,
    #[arg(long)]
    show_output: bool,
    #[arg(short, long)]
    quiet: bool,
    #[arg(long, value_name = "N")]
    test_threads: Option<usize>,
    #[arg(long, value_name = "WHEN")]
    color: Option<String>,
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

fn run_tests(context: &Context, target: &Target<'_>, args: &[String]) -> Result<ExitCode> {
    let libtest = Libtest::try_parse_from(args).map_err(|error| {
        anyhow::anyhow!("{}: unsupported test-runner arguments `{}`:\n{error}", target.arch, args.join(" "))
    })?;
    if libtest.format == Some(LibtestFormat::Json) && !libtest.unstable.iter().any(|flag| flag == "unstable-options") {
        bail!("`--format json` needs `-Z unstable-options`, as with libtest");
    }
    let options = RunOptions {
        filters: libtest.filters.clone(),
        exact: libtest.exact,
        timeout: Duration::from_secs(10),
        machine: None,
        extra_qemu_args: Vec::new(),
        debug_failures: None,
        source_root: context.workspace.root().to_path_buf(),
        partition: None,
        retries: 0,
    };
    if libtest.list {
        for test in runner::list_tests(target, &options)? {
            if libtest.ignored && !test.ignored {
                continue;
            }
            println!("{}: test", test.name);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let format = if libtest.format == Some(LibtestFormat::Json) { Format::Json } else { Format::Human };
    let run_dir = super::test::new_run_dir(&context.workspace.xtask_dir())?;
    super::test::run_and_report(std::slice::from_ref(target), &options, &run_dir, 1, format, None)
}
