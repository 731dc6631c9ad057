//! The subcommands (one module each, a struct with a `run` method), and what they share: the loaded arch table and common arguments.

pub mod bench;
pub mod build;
pub mod cargo_runner;
pub mod ci;
pub mod coverage;
pub mod doctor;
pub mod fuzz;
pub mod gdb;
pub mod lint;
pub mod replay;
pub mod report;
pub mod run;
pub mod setup;
pub mod soak;
pub mod test;
pub mod watch;

use crate::arch::{ArchSelection, Arches};
use crate::workspace::Workspace;
use std::process::ExitCode;
use std::sync::OnceLock;

/// The arch table, loaded before the command line is parsed so that `--arch` can be
/// checked against it.
static ARCHES: OnceLock<Arches> = OnceLock::new();

pub struct Context {
    pub workspace: Workspace,
    pub arches: Arches,
}

impl Context {
    pub fn load() -> anyhow::Result<Context> {
        let workspace = Workspace::locate();
        let arches = Arches::load(&workspace)?;
        let _ = ARCHES.set(arches.clone());
        Ok(Context { workspace, arches })
    }
}

/// Prints an error for a person (no backtrace) and gives the harness-error status 2.
pub fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    ExitCode::from(2)
}

/// `--arch` of a command that boots every arch: an architecture from `targets/` (or an
/// alias), or `all`.
pub fn parse_arch(value: &str) -> Result<ArchSelection, String> {
    if value == "all" {
        return Ok(ArchSelection::All);
    }
    parse_one_arch(value).map_err(|error| format!("{error}, all"))
}

/// `--arch` of a command that boots one kernel: an architecture from `targets/` (or an
/// alias).
pub fn parse_one_arch(value: &str) -> Result<ArchSelection, String> {
    let arches = ARCHES.get().ok_or("the architecture table is not loaded")?;
    match arches.find(value) {
        Some(arch) => Ok(ArchSelection::One(arch.name.clone())),
        None => {
            let valid: Vec<String> = arches
                .all()
                .iter()
                .map(|arch| {
                    if arch.aliases.is_empty() {
                        arch.name.clone()
                    } else {
                        format!("{} (or {})", arch.name, arch.aliases.join(", "))
                    }
                })
                .collect();
            Err(format!("unknown architecture; valid: {}", valid.join(", ")))
        }
    }
}

/// The one architecture a command that boots one kernel works on: `--arch`, else this
/// machine's architecture if the table has it, else the table's fallback.
pub fn one_arch(
    context: &Context,
    selection: Option<ArchSelection>,
    command: &str,
) -> anyhow::Result<crate::arch::Arch> {
    let name = match selection {
        Some(ArchSelection::One(name)) => name,
        Some(ArchSelection::All) => anyhow::bail!("`{command}` works on one architecture: pass `--arch NAME`"),
        None => context.arches.default_arch().name.clone(),
    };
    context.arches.find(&name).cloned().ok_or_else(|| anyhow::anyhow!("unknown architecture `{name}`"))
}

/// The default per-test timeout of `cargo xtask test --timeout` and of cargo's runner (where
/// `XTASK_TIMEOUT` sets it, libtest having no such flag).
pub const DEFAULT_TIMEOUT_SECS: &str = "10";

/// The per-test timeout of a run through cargo's runner: `XTASK_TIMEOUT` (seconds, 0 for
/// none), else [`DEFAULT_TIMEOUT_SECS`].
pub fn runner_timeout() -> anyhow::Result<Timeout> {
    let value = std::env::var("XTASK_TIMEOUT").unwrap_or_else(|_| DEFAULT_TIMEOUT_SECS.to_string());
    parse_timeout(&value).map_err(|error| anyhow::anyhow!("XTASK_TIMEOUT=`{value}`: {error}"))
}

/// `--timeout SECS`: a whole number of seconds; 0 means no timeout (None).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeout(pub Option<std::time::Duration>);

pub fn parse_timeout(value: &str) -> Result<Timeout, String> {
    match value.trim().parse::<u64>() {
        Ok(0) => Ok(Timeout(None)),
        Ok(seconds) => Ok(Timeout(Some(std::time::Duration::from_secs(seconds)))),
        Err(_) => Err("expected a whole number of seconds (0: no timeout)".to_string()),
    }
}

/// The most `--retries` a run takes: each retry boots the kernel again for one test, so an
/// always-failing test costs that many boots.
pub const MAX_RETRIES: u32 = 10;

/// `--retries N`: 0 to [`MAX_RETRIES`].
pub fn parse_retries(value: &str) -> Result<u32, String> {
    match value.trim().parse::<u32>() {
        Ok(retries) if retries <= MAX_RETRIES => Ok(retries),
        Ok(_) => Err(format!("at most {MAX_RETRIES}: each retry boots the kernel again for one test")),
        Err(_) => Err(format!("expected a whole number from 0 to {MAX_RETRIES}")),
    }
}

/// Options every command that builds shares.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct BuildFlags {
    /// Build with optimizations (the release profile).
    #[arg(long)]
    pub release: bool,
    /// Kernel cargo features to enable, comma-separated (e.g. `selftest`).
    #[arg(long, value_delimiter = ',')]
    pub features: Vec<String>,
    /// The kernel package to build, by directory (e.g. `examples/minimal-kernel`) [default:
    /// the first of `[workspace.metadata.xtask] kernels` in Cargo.toml].
    #[arg(long, value_name = "DIR")]
    pub kernel: Option<std::path::PathBuf>,
}

impl BuildFlags {
    /// What to build: the selected kernel with these flags' features, then `more`.
    pub fn options(&self, context: &Context, more: &[String]) -> anyhow::Result<crate::build::BuildOptions> {
        let kernel = crate::kernel_package::KernelPackage::select(&context.workspace, self.kernel.as_deref())?;
        let mut features = more.to_vec();
        features.extend(self.features.iter().cloned());
        Ok(crate::build::BuildOptions { kernel, release: self.release, features })
    }
}

/// Options every command that boots QEMU shares.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct QemuFlags {
    /// QEMU machine instead of the arch's default (e.g. `q35` for a PC).
    #[arg(long)]
    pub machine: Option<String>,
    /// Never install missing programs; say how to instead (also: XTASK_NO_INSTALL=1).
    #[arg(long)]
    pub no_install: bool,
}

impl QemuFlags {
    /// The QEMU binary for `arch`, installed first if missing and allowed, and new enough.
    pub fn qemu_binary(&self, arch: &crate::arch::Arch, workspace: &Workspace) -> anyhow::Result<std::path::PathBuf> {
        let path =
            crate::tools::require(&arch.qemu.binary, &arch.packages, crate::tools::installs_allowed(self.no_install))?;
        crate::tools::check_qemu_version(&path, &arch.packages, &workspace.xtask_dir().join("qemu-versions"))?;
        Ok(path)
    }
}
