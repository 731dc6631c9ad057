//! The subcommands (one module each, a struct with a `run` method), and what they share: the loaded arch table and common arguments.

pub mod bench;
pub mod build;
pub mod cargo_runner;
pub mod ci;
pub mod doctor;
pub mod gdb;
pub mod lint;
pub mod report;
pub mod run;
pub mod soak;
pub mod test;

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

/// `--arch`: an architecture from `targets/` (or an alias), or `all`.
pub fn parse_arch(value: &str) -> Result<ArchSelection, String> {
    let arches = ARCHES.get().ok_or("the architecture table is not loaded")?;
    if value == "all" {
        return Ok(ArchSelection::All);
    }
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
            Err(format!("unknown architecture; valid: {}, all", valid.join(", ")))
        }
    }
}

/// The one architecture a command that boots one kernel works on: `--arch`, else this
/// machine's architecture if the table has it, else x86_64.
pub fn one_arch(
    context: &Context,
    selection: Option<ArchSelection>,
    command: &str,
) -> anyhow::Result<crate::arch::Arch> {
    let name = match selection {
        Some(ArchSelection::One(name)) => name,
        Some(ArchSelection::All) => anyhow::bail!("`{command}` works on one architecture: pass `--arch NAME`"),
        None => context.arches.find(std::env::consts::ARCH).map_or("x86_64".to_string(), |arch| arch.name.clone()),
    };
    context.arches.find(&name).cloned().ok_or_else(|| anyhow::anyhow!("unknown architecture `{name}`"))
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
}

/// Options every command that boots QEMU shares.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct QemuFlags {
    /// QEMU machine instead of the arch's default (e.g. `q35` on x86_64).
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
