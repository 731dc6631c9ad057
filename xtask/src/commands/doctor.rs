//! `cargo xtask doctor`: everything the harness depends on, whether it is usable, and the
//! exact command that fixes what is not. Fast: it builds and boots nothing.

use super::Context;
use crate::arch::Arch;
use crate::tools::{self, PackageManager};
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

#[derive(clap::Args)]
pub struct Doctor {
    /// Install what is missing first, as `cargo xtask setup` does.
    #[arg(long)]
    fix: bool,
    /// With `--fix`: install nothing, name the install commands (also: XTASK_NO_INSTALL=1).
    #[arg(long)]
    no_install: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Ok,
    /// Not required; worth knowing.
    Note,
    /// Required and missing or unusable.
    Missing,
}

struct Check {
    what: String,
    status: Status,
    detail: String,
    fix: Option<String>,
}

impl Check {
    fn ok(what: impl Into<String>, detail: impl Into<String>) -> Check {
        Check { what: what.into(), status: Status::Ok, detail: detail.into(), fix: None }
    }

    fn missing(what: impl Into<String>, detail: impl Into<String>, fix: Option<String>) -> Check {
        Check { what: what.into(), status: Status::Missing, detail: detail.into(), fix }
    }

    fn note(what: impl Into<String>, detail: impl Into<String>) -> Check {
        Check { what: what.into(), status: Status::Note, detail: detail.into(), fix: None }
    }
}

/// The first line a program prints for `args`, if it runs.
fn first_line(program: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).stdin(Stdio::null()).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).lines().next().unwrap_or("").trim().to_string())
}

fn install_fix(packages: &crate::arch::Packages) -> Option<String> {
    PackageManager::detect().map(|manager| manager.install_command(manager.package(packages)))
}

fn toolchain_checks() -> Vec<Check> {
    let rustc = std::env::var_os("RUSTC").map(PathBuf::from).unwrap_or_else(|| "rustc".into());
    let mut checks = Vec::new();
    let fix = Some("rustup toolchain install   (in the repository: reads rust-toolchain.toml)".to_string());
    match first_line(&rustc, &["--version"]) {
        Some(version) => checks.push(Check::ok("toolchain (rust-toolchain.toml)", version)),
        None => return vec![Check::missing("toolchain (rust-toolchain.toml)", "rustc does not run", fix)],
    }
    let sysroot = first_line(&rustc, &["--print", "sysroot"]).map(PathBuf::from).unwrap_or_default();
    let host = first_line(&rustc, &["--print", "host-tuple"]).unwrap_or_default();
    let components = [
        ("rust-src", sysroot.join("lib/rustlib/src/rust/library")),
        ("llvm-tools", sysroot.join("lib/rustlib").join(&host).join("bin/llvm-objcopy")),
    ];
    for (component, path) in components {
        checks.push(if path.exists() {
            Check::ok(format!("  component {component}"), path.display().to_string())
        } else {
            Check::missing(format!("  component {component}"), format!("`{}` is missing", path.display()), fix.clone())
        });
    }
    // `cargo xtask lint` runs these two.
    let cargo = std::env::var_os("CARGO").map(PathBuf::from).unwrap_or_else(|| "cargo".into());
    for (component, args) in [("rustfmt", ["fmt", "--version"]), ("clippy", ["clippy", "--version"])] {
        checks.push(match first_line(&cargo, &args) {
            Some(version) => Check::ok(format!("  component {component}"), version),
            None => Check::missing(
                format!("  component {component}"),
                format!("`cargo {}` does not run", args[0]),
                fix.clone(),
            ),
        });
    }
    checks
}

fn qemu_checks(arch: &Arch) -> Vec<Check> {
    let binary = &arch.qemu.binary;
    let Some(path) = tools::find_on_path(binary) else {
        return vec![Check::missing(binary.clone(), "not on PATH", install_fix(&arch.packages))];
    };
    let version_line = first_line(&path, &["--version"]);
    let mut checks = vec![match &version_line {
        Some(version) => Check::ok(binary.clone(), format!("{version} ({})", path.display())),
        None => {
            Check::missing(binary.clone(), format!("`{}` does not run", path.display()), install_fix(&arch.packages))
        }
    }];
    // Asked once per binary (cached like the version check): `-sandbox` is used only where
    // this QEMU was built with it.
    checks.push(match crate::sandbox::seccomp(&path, &crate::qemu::sandbox_cache()) {
        crate::sandbox::Seccomp::Supported => {
            Check::ok(format!("  {} sandbox", arch.name), "-sandbox (seccomp): used for every boot")
        }
        crate::sandbox::Seccomp::Unsupported(reason) => Check::note(
            format!("  {} sandbox", arch.name),
            format!("no seccomp sandbox in this QEMU ({reason}): it runs without `-sandbox`"),
        ),
    });
    checks.push(record_replay_check(arch, version_line.as_deref()));
    if let Some(file) = &arch.qemu.firmware_file {
        let what = format!("  {} firmware", arch.name);
        checks.push(match tools::qemu_firmware(&path, file) {
            Some(found) => Check::ok(what, found.display().to_string()),
            None => Check::missing(
                what,
                format!("`{file}` is in none of QEMU's data directories"),
                install_fix(&tools::firmware_packages(&arch.packages)),
            ),
        });
    }
    checks
}

/// Time-travel debugging (`--record-failures`, `gdb --replay`): QEMU's record/replay with
/// reverse execution (QEMU 5.0 and later; seen working here with 7.2 on every arch), and
/// `qemu-img` for the snapshot image. Optional: nothing else needs it.
fn record_replay_check(arch: &Arch, version_line: Option<&str>) -> Check {
    let what = format!("  {} record/replay", arch.name);
    let version = version_line.and_then(crate::record::qemu_version);
    let Some(qemu_img) = crate::record::qemu_img() else {
        return Check {
            what,
            status: Status::Note,
            detail: "no `qemu-img` (it makes the snapshot image a recording needs): `--record-failures` cannot record"
                .into(),
            fix: install_fix(&tools::qemu_img_packages()),
        };
    };
    match version {
        Some((major, minor)) if (major, minor) >= crate::record::MIN_QEMU => match &arch.reverse_execution_limit {
            None => Check::ok(
                what,
                format!("QEMU {major}.{minor}: record, replay and reverse execution; {}", qemu_img.display()),
            ),
            Some(limit) => Check::note(
                what,
                format!("QEMU {major}.{minor}: record and replay; reverse execution only partly: {limit}"),
            ),
        },
        Some((major, minor)) => Check::note(
            what,
            format!(
                "QEMU {major}.{minor} has no reverse execution (5.0 and later have): `--replay` cannot run backwards"
            ),
        ),
        None => Check::note(what, "cannot tell QEMU's version"),
    }
}

fn gdb_check(arches: &[Arch]) -> Check {
    let unsupported: Vec<&str> = arches
        .iter()
        .filter(|arch| crate::debugger::find(arch, None, false).is_err())
        .map(|arch| arch.name.as_str())
        .collect();
    let fix = install_fix(&tools::gdb_packages());
    match (tools::find_on_path("gdb-multiarch").or_else(|| tools::find_on_path("gdb")), unsupported.is_empty()) {
        (Some(path), true) => Check::ok(
            "debugger",
            format!("{} (supports every arch)", first_line(&path, &["--version"]).unwrap_or_default()),
        ),
        (Some(_), false) => Check::missing("debugger", format!("no gdb supports {}", unsupported.join(", ")), fix),
        (None, _) => Check::missing("debugger", "neither gdb-multiarch nor gdb is on PATH", fix),
    }
}

/// Landlock confines what every QEMU may do with the host's files (README, "Security").
fn landlock_check() -> Check {
    if crate::sandbox::turned_off() {
        return Check::note("Landlock", format!("{}=0: QEMU runs unconfined", crate::sandbox::ENV_OFF));
    }
    match crate::confine::landlock_abi() {
        Some(abi) => Check::ok(
            "Landlock",
            format!("ABI {abi}: QEMU writes no file and reads only its installation, the libraries and the kernel"),
        ),
        None => Check::note(
            "Landlock",
            "not in this kernel (Linux 5.13+): QEMU's file access is not confined, so an aarch64 kernel's \
             semihosting can read and write the user's files",
        ),
    }
}

fn kvm_check() -> Check {
    let usable = std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm").is_ok();
    if usable {
        Check::note("KVM", "/dev/kvm is usable; not used: TCG is the default (on a virtual machine KVM can be slower)")
    } else {
        Check::note("KVM", "not available (/dev/kvm); TCG emulation is used, as always by default")
    }
}

/// What a cold build of every arch's kernel adds to the target directory (each arch's
/// standard library, the plain and the test image): 0.85 GiB measured on 2026-12-03, from a
/// fresh clone, `cargo xtask build` then `cargo xtask test`.
const COLD_BUILD_BYTES: u64 = 1 << 30;
/// What a run adds once every arch has been built: logs, reports, an incremental rebuild.
const WARM_RUN_BYTES: u64 = 256 << 20;
/// What the harness's own tests (`cargo test --workspace`: coverage, release and
/// reproducibility builds besides) fill from cold: 8.4 GiB measured.
const OWN_TESTS_BYTES: u64 = 9 << 30;

/// Whether the filesystem of the target directory has room for the next run: a cold build
/// when some arch has not been built yet (`built` false), only a run's logs otherwise. Free
/// space is not a problem in itself; running out mid-build is.
fn disk_check(target: &Path, arches: &[Arch]) -> Check {
    let directory = target.ancestors().find(|dir| dir.exists()).unwrap_or(Path::new("/"));
    let Ok(path) = std::ffi::CString::new(directory.as_os_str().as_encoded_bytes()) else {
        return Check::note("disk", "cannot tell");
    };
    // SAFETY: statvfs fills the zeroed struct for a NUL-terminated path.
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut stats) } != 0 {
        return Check::note("disk", "cannot tell");
    }
    let free = stats.f_bavail as u64 * stats.f_frsize as u64;
    let built = arches.iter().all(|arch| crate::build::cargo_output_dir(target, arch, "debug").is_dir());
    disk_verdict(free, built, directory)
}

fn disk_verdict(free: u64, built: bool, directory: &Path) -> Check {
    let gib = |bytes: u64| bytes as f64 / (1u64 << 30) as f64;
    let detail = format!("{:.1} GiB free for {}", gib(free), directory.display());
    let needed = if built { WARM_RUN_BYTES } else { COLD_BUILD_BYTES };
    if free < needed {
        let what = if built {
            "a run's logs and an incremental build need"
        } else {
            "a cold build of every arch's kernel needs"
        };
        return Check::missing("disk", detail, Some(format!("free some space: {what} about {:.1} GiB", gib(needed))));
    }
    if free < OWN_TESTS_BYTES && !built {
        return Check::note(
            "disk",
            format!(
                "{detail}: room to build the kernels; the harness's own tests (`cargo test`) fill about {:.0} GiB from cold",
                gib(OWN_TESTS_BYTES)
            ),
        );
    }
    Check::ok("disk", detail)
}

impl Doctor {
    pub fn run(self, context: &Context) -> Result<ExitCode> {
        if self.fix {
            super::setup::Setup { no_install: self.no_install }.run(context)?;
        }
        let mut checks = toolchain_checks();
        for arch in context.arches.all() {
            checks.extend(qemu_checks(arch));
        }
        checks.push(gdb_check(context.arches.all()));
        checks.push(landlock_check());
        checks.push(kvm_check());
        checks.push(disk_check(context.workspace.target_dir(), context.arches.all()));

        let width = checks.iter().map(|check| check.what.len()).max().unwrap_or(0);
        for check in &checks {
            let status = match check.status {
                Status::Ok => "ok",
                Status::Note => "note",
                Status::Missing => "MISSING",
            };
            println!("{:<width$}  {status:<7}  {}", check.what, check.detail);
            if let Some(fix) = &check.fix {
                println!("{:<width$}  {:<7}  fix: {fix}", "", "");
            }
        }
        let missing = checks.iter().filter(|check| check.status == Status::Missing).count();
        if missing > 0 {
            println!("\n{missing} problem(s): run the `fix:` commands above");
            return Ok(ExitCode::FAILURE);
        }
        println!("\neverything the harness needs is here");
        Ok(ExitCode::SUCCESS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_disk_is_a_problem_only_when_the_next_run_would_run_out() {
        let directory = Path::new("/target");
        let (half, two) = (512 << 20, 2 << 30);
        // Cold: the kernels' build needs about 1 GiB.
        let check = disk_verdict(half, false, directory);
        assert_eq!(check.status, Status::Missing);
        assert!(check.fix.unwrap().contains("cold build"), "names why");
        // Room for the kernels, not for the harness's own tests: worth a note, no problem.
        let check = disk_verdict(two, false, directory);
        assert_eq!(check.status, Status::Note);
        assert!(check.detail.contains("cargo test"), "{}", check.detail);
        assert_eq!(disk_verdict(10 << 30, false, directory).status, Status::Ok);
        // Built: half a gibibyte is room for a run, a hundred mebibytes is not.
        assert_eq!(disk_verdict(half, true, directory).status, Status::Ok);
        assert_eq!(disk_verdict(100 << 20, true, directory).status, Status::Missing);
        assert!(disk_verdict(two, true, directory).detail.starts_with("2.0 GiB free for /target"));
    }
}
