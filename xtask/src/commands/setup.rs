//! `cargo xtask setup` (also `cargo xtask doctor --fix`): installs, once, every program the
//! harness and its tests need and this machine lacks, printing each install command before
//! running it, as `cargo xtask run` does for QEMU. With installs off (`--no-install`,
//! `XTASK_NO_INSTALL=1`) it installs nothing and fails naming the exact command for each
//! missing program. The end-to-end tests run it once before any test needs a program.

use super::Context;
use crate::tools;
use anyhow::{Result, bail};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Default)]
pub struct Setup {
    /// Never install missing programs; say how to instead (also: XTASK_NO_INSTALL=1).
    #[arg(long)]
    pub no_install: bool,
}

/// One thing the tests need, and how it is installed.
#[derive(Debug)]
pub enum Need {
    /// A program from the system's package manager.
    Program { program: String, packages: crate::arch::Packages },
    /// A firmware file a QEMU loads, looked for in that QEMU's data directories.
    Firmware { qemu: String, file: String, packages: crate::arch::Packages },
    /// A cargo subcommand, from `cargo install`.
    CargoTool { program: String, crate_name: String },
}

/// Everything the harness's commands and tests run, in install order: each arch's QEMU
/// (and its firmware where it has one), gdb-multiarch (`cargo xtask gdb`, the debugger
/// tests), qemu-img (the snapshot image of a recording), cargo-nextest (the nextest
/// end-to-end test).
pub fn needs(context: &Context) -> Vec<Need> {
    let mut needs = Vec::new();
    for arch in context.arches.all() {
        needs.push(Need::Program { program: arch.qemu.binary.clone(), packages: arch.packages.clone() });
        if let Some(file) = &arch.qemu.firmware_file {
            needs.push(Need::Firmware {
                qemu: arch.qemu.binary.clone(),
                file: file.clone(),
                packages: tools::firmware_packages(&arch.packages),
            });
        }
    }
    needs.push(Need::Program { program: "gdb-multiarch".into(), packages: tools::gdb_packages() });
    needs.push(Need::Program { program: "qemu-img".into(), packages: tools::qemu_img_packages() });
    needs.push(Need::CargoTool { program: "cargo-nextest".into(), crate_name: "cargo-nextest".into() });
    needs
}

/// Finds (or installs) one need; what it found (nothing for a firmware whose QEMU is
/// missing: that QEMU's own line says so).
fn satisfy(need: &Need, allow_install: bool) -> Result<Option<PathBuf>> {
    match need {
        Need::Program { program, packages } => tools::require(program, packages, allow_install).map(Some),
        Need::CargoTool { program, crate_name } => {
            tools::require_cargo_tool(program, crate_name, allow_install).map(Some)
        }
        Need::Firmware { qemu, file, packages } => {
            let Some(qemu) = tools::find_on_path(qemu) else { return Ok(None) };
            if let Some(found) = tools::qemu_firmware(&qemu, file) {
                return Ok(Some(found));
            }
            let package = tools::install_package(&format!("QEMU's firmware `{file}`"), packages, allow_install)?;
            let found = tools::qemu_firmware(&qemu, file).ok_or_else(|| {
                anyhow::anyhow!("installed `{package}` but `{file}` is still not in QEMU's data directories")
            })?;
            Ok(Some(found))
        }
    }
}

impl Setup {
    pub fn run(self, context: &Context) -> Result<ExitCode> {
        let allow_install = tools::installs_allowed(self.no_install);
        let mut problems = Vec::new();
        for need in needs(context) {
            match satisfy(&need, allow_install) {
                Ok(Some(path)) => eprintln!("setup: ok  {}", path.display()),
                Ok(None) => {}
                Err(error) => problems.push(format!("{error:#}")),
            }
        }
        if !problems.is_empty() {
            bail!("{} missing:\n{}", problems.len(), problems.join("\n"));
        }
        eprintln!("setup: everything the harness and its tests need is installed");
        Ok(ExitCode::SUCCESS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_needs_every_qemu_the_riscv64_firmware_gdb_qemu_img_and_nextest() {
        let context = Context::load().unwrap();
        let needs = needs(&context);
        let mut programs: Vec<&str> = needs
            .iter()
            .filter_map(|need| match need {
                Need::Program { program, .. } | Need::CargoTool { program, .. } => Some(program.as_str()),
                Need::Firmware { .. } => None,
            })
            .collect();
        programs.sort();
        assert_eq!(
            programs,
            [
                "cargo-nextest",
                "gdb-multiarch",
                "qemu-img",
                "qemu-system-aarch64",
                "qemu-system-riscv64",
                "qemu-system-x86_64"
            ]
        );
        let firmware = needs.iter().find_map(|need| match need {
            Need::Firmware { file, packages, .. } => Some((file.as_str(), packages.debian.as_str())),
            _ => None,
        });
        assert_eq!(firmware, Some(("opensbi-riscv64-generic-fw_dynamic.bin", "qemu-system-data")));
    }

    #[test]
    fn with_installs_off_a_missing_program_names_its_install_command() {
        let need = Need::CargoTool { program: "cargo-not-here-xyz".into(), crate_name: "not-here-xyz".into() };
        let error = satisfy(&need, false).unwrap_err().to_string();
        assert!(error.contains("install it with:\n    cargo install not-here-xyz --locked"), "{error}");
    }
}
