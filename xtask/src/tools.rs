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

/// The packages that provide `qemu-img` (recordings' snapshot images), per package manager.
pub fn qemu_img_packages() -> Packages {
    Packages { debian: "qemu-utils".into(), fedora: "qemu-img".into(), arch: "qemu-img".into(), brew: "qemu".into() }
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

/// A file called `program` on PATH that is not executable.
fn find_non_executable(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| candidate.is_file())
}

/// The oldest QEMU the harness works with (7.0 brought semihosting to riscv64 S-mode, which
/// the riscv64 self-test calls to show it refused); it is tested with 7.2.
pub const MIN_QEMU: (u32, u32) = (7, 0);

/// Checks that the QEMU at `path` is new enough, running `--version` only when the binary
/// changed since the last check (recorded in `cache`).
pub fn check_qemu_version(path: &Path, packages: &Packages, cache: &Path) -> Result<()> {
    let key = binary_key(path)?;
    let cached = std::fs::read_to_string(cache).unwrap_or_default();
    if cached.lines().any(|line| line == key) {
        return Ok(());
    }
    let output = Command::new(path).arg("--version").stdin(std::process::Stdio::null()).output();
    let text = output.map(|output| String::from_utf8_lossy(&output.stdout).into_owned()).unwrap_or_default();
    let version = parse_qemu_version(&text).ok_or_else(|| {
        anyhow::anyhow!("`{} --version` does not say which QEMU it is (it printed {:?})", path.display(), text.trim())
    })?;
    if (version.0, version.1) < MIN_QEMU {
        bail!(
            "`{}` is QEMU {}.{}.{}; the harness needs {}.{} or newer (tested with 7.2): install the distribution's \
             package (Debian/Ubuntu `{}`) or put a newer QEMU first on PATH",
            path.display(),
            version.0,
            version.1,
            version.2,
            MIN_QEMU.0,
            MIN_QEMU.1,
            packages.debian
        );
    }
    if let Some(directory) = cache.parent() {
        let _ = std::fs::create_dir_all(directory);
    }
    let mut lines: Vec<&str> =
        cached.lines().filter(|line| !line.starts_with(&format!("{}\t", path.display()))).collect();
    lines.push(&key);
    // Only a cache: if writing it fails, the next run asks QEMU again.
    let _ = crate::fsutil::write_atomically(cache, (lines.join("\n") + "\n").as_bytes());
    Ok(())
}

/// What identifies one build of a program for the caches of facts about it (its version,
/// its sandbox): its path, mtime and size, tab-separated. Another build gets another key.
pub fn binary_key(path: &Path) -> Result<String> {
    let meta = path.metadata().map_err(|error| anyhow::anyhow!("cannot stat `{}`: {error}", path.display()))?;
    let mtime =
        meta.modified().ok().and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok()).unwrap_or_default();
    Ok(format!("{}\t{}\t{}", path.display(), mtime.as_nanos(), meta.len()))
}

/// `QEMU emulator version 7.2.22 (Debian ...)` → (7, 2, 22).
pub fn parse_qemu_version(text: &str) -> Option<(u32, u32, u32)> {
    let rest = text.lines().next()?.split("version ").nth(1)?;
    let mut numbers =
        rest.split(|c: char| !c.is_ascii_digit()).filter(|part| !part.is_empty()).map(|part| part.parse().ok());
    Some((numbers.next()??, numbers.next()??, numbers.next().flatten().unwrap_or(0)))
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
    if let Some(found) = find_non_executable(program) {
        bail!(
            "`{}` exists but is not executable: `chmod +x` it, or reinstall the package (Debian/Ubuntu `{}`)",
            found.display(),
            packages.debian
        );
    }
    let package = install_package(&format!("`{program}`"), packages, allow_install)?;
    find_on_path(program).ok_or_else(|| anyhow::anyhow!("installed `{package}` but `{program}` is still not on PATH"))
}

/// Installs the package of `packages` for this machine's package manager (printing each
/// command first), or fails naming what is missing (`what`) and the exact install command.
/// The package's name on success.
pub fn install_package(what: &str, packages: &Packages, allow_install: bool) -> Result<String> {
    let Some(manager) = PackageManager::detect() else {
        bail!(
            "{what} is not installed and no known package manager (apt-get, dnf, pacman, brew) was found: \
             install it (Debian/Ubuntu package `{}`)",
            packages.debian
        );
    };
    let package = manager.package(packages);
    let privilege = privilege_prefix(manager);
    if !allow_install || privilege.is_none() {
        let why = if allow_install { "installing needs root or password-less sudo" } else { "installs are turned off" };
        bail!("{what} is not installed ({why}); install it with:\n    {}", manager.install_command(package));
    }
    let prefix = privilege.unwrap_or_default();
    let with_prefix = |words: Vec<String>| prefix.iter().cloned().chain(words).collect::<Vec<_>>();
    if manager == PackageManager::Apt {
        // The package lists of a fresh machine may be missing or stale.
        run_install_step(&with_prefix(vec!["apt-get".into(), "update".into(), "-q".into()]))?;
    }
    run_install_step(&with_prefix(manager.install_argv(package)))?;
    Ok(package.to_string())
}

/// `file` (a firmware image such as OpenSBI) in one of the data directories of the QEMU at
/// `qemu` (`qemu -L help` lists them), if it is there.
pub fn qemu_firmware(qemu: &Path, file: &str) -> Option<PathBuf> {
    let output = Command::new(qemu).args(["-L", "help"]).stdin(std::process::Stdio::null()).output().ok()?;
    String::from_utf8_lossy(&output.stdout).lines().map(|line| Path::new(line).join(file)).find(|path| path.is_file())
}

/// Where QEMU's firmware images live when a distribution packages them apart from the
/// emulator (Debian's and Ubuntu's `qemu-system-data` holds OpenSBI); elsewhere the
/// emulator's own package has them.
pub fn firmware_packages(emulator: &Packages) -> Packages {
    Packages { debian: "qemu-system-data".into(), ..emulator.clone() }
}

/// A cargo subcommand the tests use (`cargo-nextest`), installed with `cargo install` when
/// missing and allowed (printing the command), else named with that command.
pub fn require_cargo_tool(program: &str, crate_name: &str, allow_install: bool) -> Result<PathBuf> {
    if let Some(path) = find_on_path(program) {
        return Ok(path);
    }
    let argv: Vec<String> = ["cargo", "install", crate_name, "--locked"].iter().map(|word| word.to_string()).collect();
    if !allow_install {
        bail!("`{program}` is not installed (installs are turned off); install it with:\n    {}", argv.join(" "));
    }
    run_install_step(&argv)?;
    find_on_path(program).ok_or_else(|| {
        anyhow::anyhow!("installed `{crate_name}` but `{program}` is still not on PATH (is ~/.cargo/bin on it?)")
    })
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
    fn qemu_versions_are_read_from_the_banner() {
        assert_eq!(
            parse_qemu_version("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7)\nCopyright"),
            Some((7, 2, 22))
        );
        assert_eq!(parse_qemu_version("QEMU emulator version 10.0.2"), Some((10, 0, 2)));
        assert_eq!(parse_qemu_version("QEMU emulator version 8.1"), Some((8, 1, 0)));
        assert_eq!(parse_qemu_version("not qemu"), None);
    }

    /// A stand-in QEMU for this one function: a script that prints an old version.
    #[test]
    fn an_old_qemu_is_rejected_with_its_version_and_a_current_one_is_remembered() {
        use std::os::unix::fs::PermissionsExt;
        let directory = crate::testutil::scratch_dir("old-qemu");
        let fake = directory.join("qemu-system-x86_64");
        std::fs::write(&fake, "#!/bin/sh\necho 'QEMU emulator version 5.0.1'\n").unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cache = directory.join("versions");
        let packages = gdb_packages();
        let error = check_qemu_version(&fake, &packages, &cache).unwrap_err().to_string();
        assert!(error.contains("is QEMU 5.0.1; the harness needs 7.0 or newer"), "{error}");
        assert!(!cache.exists(), "a rejected QEMU is not remembered");

        std::fs::write(&fake, "#!/bin/sh\necho 'QEMU emulator version 7.2.22'\n").unwrap();
        check_qemu_version(&fake, &packages, &cache).unwrap();
        assert!(std::fs::read_to_string(&cache).unwrap().contains("qemu-system-x86_64\t"));
    }

    #[test]
    fn a_missing_cargo_tool_with_installs_off_names_cargo_install() {
        let error = require_cargo_tool("cargo-surely-not-real-xyz", "surely-not-real-xyz", false).unwrap_err();
        let error = error.to_string();
        assert!(error.contains("`cargo-surely-not-real-xyz` is not installed (installs are turned off)"), "{error}");
        assert!(error.contains("cargo install surely-not-real-xyz --locked"), "{error}");
    }

    #[test]
    fn paths_with_a_slash_are_taken_literally() {
        assert!(find_on_path("/bin/sh").is_some());
        assert!(find_on_path("/no/such/program").is_none());
    }
}
