//! External programs the harness needs (QEMU, gdb): find them, or install them, or say
//! exactly how to.
//!
//! When a program is missing and the xtask runs as root (or with password-less sudo) on a
//! machine with a known package manager, it installs the package, printing the command
//! first; `--no-install` or `XTASK_NO_INSTALL=1` turns that off. Otherwise it stops with
//! the install command for this machine.

use crate::arch::Packages;
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// gdb with support for every architecture; its package per package manager.
pub fn gdb_packages() -> Packages {
    Packages { debian: "gdb-multiarch".into(), fedora: "gdb".into(), arch: "gdb".into(), brew: "gdb".into() }
}

/// A package manager the xtask knows how to drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackageManager {
    Apt,
    Dnf,
    Pacman,
    Brew,
}

impl PackageManager {
    /// The first package manager found on PATH.
    pub fn detect() -> Option<PackageManager> {
        [
            ("apt-get", PackageManager::Apt),
            ("dnf", PackageManager::Dnf),
            ("pacman", PackageManager::Pacman),
            ("brew", PackageManager::Brew),
        ]
        .into_iter()
        .find(|(program, _)| find_on_path(program).is_some())
        .map(|(_, manager)| manager)
    }

    pub fn package(self, packages: &Packages) -> &str {
        match self {
            PackageManager::Apt => &packages.debian,
            PackageManager::Dnf => &packages.fedora,
            PackageManager::Pacman => &packages.arch,
            PackageManager::Brew => &packages.brew,
        }
    }

    /// The install command as a user would type it (with `sudo` where it needs root).
    pub fn install_command(self, package: &str) -> String {
        match self {
            PackageManager::Apt => format!("sudo apt-get install -y {package}"),
            PackageManager::Dnf => format!("sudo dnf install -y {package}"),
            PackageManager::Pacman => format!("sudo pacman -S --noconfirm {package}"),
            PackageManager::Brew => format!("brew install {package}"),
        }
    }

    fn install_argv(self, package: &str) -> Vec<String> {
        let words: &[&str] = match self {
            PackageManager::Apt => &["apt-get", "install", "-y", "--no-install-recommends"],
            PackageManager::Dnf => &["dnf", "install", "-y"],
            PackageManager::Pacman => &["pacman", "-S", "--noconfirm"],
            PackageManager::Brew => &["brew", "install"],
        };
        words.iter().map(|word| word.to_string()).chain([package.to_string()]).collect()
    }
}

/// `program` as found on PATH (a path with a `/` is taken as it is).
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Path::new(program).is_file().then(|| PathBuf::from(program));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Whether installs are allowed: not with `--no-install` or `XTASK_NO_INSTALL=1`.
pub fn installs_allowed(no_install_flag: bool) -> bool {
    !no_install_flag && std::env::var("XTASK_NO_INSTALL").map_or(true, |value| value.is_empty() || value == "0")
}

/// The path of `program`, installing `packages` first if it is missing and allowed to.
pub fn require(program: &str, packages: &Packages, allow_install: bool) -> Result<PathBuf> {
    if let Some(path) = find_on_path(program) {
        return Ok(path);
    }
    if program.contains('/') {
        bail!("`{program}` does not exist or is not a file");
    }
    let Some(manager) = PackageManager::detect() else {
        bail!(
            "`{program}` is not installed and no known package manager (apt-get, dnf, pacman, brew) was found: \
             install it (Debian/Ubuntu package `{}`) and put it on PATH",
            packages.debian
        );
    };
    let package = manager.package(packages);
    let privilege = privilege_prefix(manager);
    if !allow_install || privilege.is_none() {
        let why = if allow_install { "installing needs root or password-less sudo" } else { "installs are turned off" };
        bail!("`{program}` is not installed ({why}); install it with:\n    {}", manager.install_command(package));
    }
    let prefix = privilege.unwrap_or_default();
    let with_prefix = |words: Vec<String>| prefix.iter().cloned().chain(words).collect::<Vec<_>>();
    if manager == PackageManager::Apt {
        // The package lists of a fresh machine may be missing or stale.
        run_install_step(&with_prefix(vec!["apt-get".into(), "update".into(), "-q".into()]))?;
    }
    run_install_step(&with_prefix(manager.install_argv(package)))?;
    find_on_path(program).ok_or_else(|| anyhow::anyhow!("installed `{package}` but `{program}` is still not on PATH"))
}

/// `Some([])` when running as root, `Some(["sudo", "-n"])` with password-less sudo, else None.
fn privilege_prefix(manager: PackageManager) -> Option<Vec<String>> {
    if manager == PackageManager::Brew || unsafe { libc::geteuid() } == 0 {
        return Some(Vec::new());
    }
    let sudo_works = find_on_path("sudo").is_some()
        && Command::new("sudo").args(["-n", "true"]).output().is_ok_and(|output| output.status.success());
    sudo_works.then(|| vec!["sudo".to_string(), "-n".to_string()])
}

fn run_install_step(argv: &[String]) -> Result<()> {
    eprintln!("$ {}", argv.join(" "));
    let status = Command::new(&argv[0])
        .args(&argv[1..])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(std::process::Stdio::null())
        .status()?;
    if !status.success() {
        bail!("`{}` failed ({status})", argv.join(" "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_commands_name_the_right_package_per_manager() {
        let packages = gdb_packages();
        let cases = [
            (PackageManager::Apt, "sudo apt-get install -y gdb-multiarch"),
            (PackageManager::Dnf, "sudo dnf install -y gdb"),
            (PackageManager::Pacman, "sudo pacman -S --noconfirm gdb"),
            (PackageManager::Brew, "brew install gdb"),
        ];
        for (manager, expected) in cases {
            assert_eq!(manager.install_command(manager.package(&packages)), expected);
        }
    }

    #[test]
    fn a_missing_program_with_installs_off_names_the_install_command() {
        let packages = gdb_packages();
        let error = require("surely-not-a-real-program-xyz", &packages, false).unwrap_err().to_string();
        assert!(error.contains("`surely-not-a-real-program-xyz` is not installed"), "{error}");
        assert!(error.contains("install it"), "{error}");
    }

    #[test]
    fn paths_with_a_slash_are_taken_literally() {
        assert!(find_on_path("/bin/sh").is_some());
        assert!(find_on_path("/no/such/program").is_none());
    }
}
