//! What the harness does around every QEMU it starts, from the outside, because QEMU cannot
//! do it for itself: confine its filesystem and network access with Landlock, cap its
//! address space, and start it in an empty directory.
//!
//! Why: a kernel under test is untrusted code, and QEMU lets it reach the host on purpose
//! through semihosting, which aarch64 needs for its exit status. QEMU 7.2 has no switch that
//! limits semihosting to exit and console writes: SYS_OPEN, SYS_REMOVE, SYS_RENAME and
//! SYS_SYSTEM act on the host with QEMU's rights. So QEMU runs with these rights taken away:
//!
//! - **Landlock** (Linux 5.13+; applied in the child just before exec, so it binds QEMU and
//!   nothing else): QEMU may read and execute what it is made of (its installation prefix,
//!   the system libraries, two files of `/etc`) and read the kernel image; it may write,
//!   create, remove or rename no file anywhere, bind and connect to no TCP port (ABI 4+: a
//!   GDB server's socket is bound by the xtask and handed over, `listen.rs`), and neither signal processes nor reach abstract Unix sockets
//!   outside itself (ABI 6+). Where the kernel lacks Landlock, this part is skipped and
//!   `cargo xtask doctor` says so.
//! - **An address-space cap** (RLIMIT_AS) from the arch table: the guest's memory plus
//!   [`QEMU_OVERHEAD`], whatever the guest does.
//! - **An empty working directory** (`target/xtask/qemu-cwd/`), so that a relative host path
//!   a guest names does not resolve inside the repository.
//!
//! `-sandbox` (QEMU's seccomp filter: no process starts, no privilege changes) is in
//! `sandbox.rs`. `XTASK_QEMU_SANDBOX=0` turns all of it off, for debugging only.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Address space QEMU takes beyond the guest's RAM: TCG's 1 GiB code buffer, the libraries,
/// thread stacks. Measured here (QEMU 7.2, 128 MiB guests): VmPeak 1.42–1.55 GiB in all.
pub const QEMU_OVERHEAD: u64 = 3 << 30;

/// Directories QEMU may read and execute from besides its own prefix: the system libraries
/// wherever the distribution keeps them (each taken only if it exists).
const LIBRARY_DIRS: [&str; 5] = ["/usr", "/lib", "/lib64", "/lib32", "/libx32"];
/// Single files QEMU reads at start (the dynamic loader's cache, the local time zone).
const SYSTEM_FILES: [&str; 2] = ["/etc/ld.so.cache", "/etc/localtime"];

/// What one QEMU needs, and so may have.
pub struct Needs<'a> {
    pub binary: &'a Path,
    pub kernel: &'a Path,
    /// The guest's RAM in bytes (the arch table's `memory`).
    pub guest_memory: u64,
    /// The empty directory it runs in.
    pub cwd: PathBuf,
    /// A directory QEMU may read, create and write files in: a recording's (`record/`),
    /// whose replay log and snapshot image QEMU writes itself.
    pub writable_dir: Option<&'a Path>,
}

/// Everything prepared in the parent; [`Confinement::apply`] leaves only system calls that
/// are safe between fork and exec for the child.
pub struct Confinement {
    #[cfg(target_os = "linux")]
    ruleset: Option<std::os::fd::OwnedFd>,
    address_space: u64,
    cwd: PathBuf,
}

impl Confinement {
    pub fn for_qemu(needs: &Needs<'_>) -> Result<Confinement> {
        std::fs::create_dir_all(&needs.cwd)
            .with_context(|| format!("cannot create QEMU's working directory `{}`", needs.cwd.display()))?;
        Ok(Confinement {
            #[cfg(target_os = "linux")]
            ruleset: landlock_ruleset(needs)?,
            address_space: needs.guest_memory.saturating_add(QEMU_OVERHEAD),
            cwd: needs.cwd.clone(),
        })
    }

    /// Makes `command` start in the empty directory and, in the child before exec, take the
    /// address-space cap and the Landlock ruleset.
    pub fn apply(self, command: &mut Command) {
        use std::os::unix::process::CommandExt;
        command.current_dir(&self.cwd);
        let limit = libc::rlimit { rlim_cur: self.address_space as _, rlim_max: self.address_space as _ };
        #[cfg(target_os = "linux")]
        let ruleset = self.ruleset;
        // SAFETY: the closure runs in the forked child before exec and makes only system calls
        // (setrlimit, prctl, landlock_restrict_self), which are async-signal-safe; it allocates
        // nothing and takes no lock.
        unsafe {
            command.pre_exec(move || {
                if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                #[cfg(target_os = "linux")]
                if let Some(ruleset) = &ruleset {
                    use std::os::fd::AsRawFd;
                    // Landlock requires it of an unprivileged process; QEMU's seccomp filter too.
                    if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                        || libc::syscall(libc::SYS_landlock_restrict_self, ruleset.as_raw_fd(), 0) != 0
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
    }
}

/// The Landlock ABI version this kernel offers, if any.
pub fn landlock_abi() -> Option<i64> {
    #[cfg(target_os = "linux")]
    {
        const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
        // SAFETY: with a null attribute and size 0 this only asks for the version.
        let version = unsafe {
            libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<u8>(), 0, LANDLOCK_CREATE_RULESET_VERSION)
        };
        (version > 0).then_some(version)
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// The directory QEMU is installed under: `/usr` for `/usr/bin/qemu-system-x86_64`, after
/// following links (`/usr/bin/../share/qemu` holds its firmware, `../lib/.../qemu` its modules).
fn installation_prefix(binary: &Path) -> PathBuf {
    let real = binary.canonicalize().unwrap_or_else(|_| binary.to_path_buf());
    real.parent().and_then(Path::parent).unwrap_or(Path::new("/")).to_path_buf()
}

#[cfg(target_os = "linux")]
fn landlock_ruleset(needs: &Needs<'_>) -> Result<Option<std::os::fd::OwnedFd>> {
    use landlock::{
        ABI, Access, AccessFs, AccessNet, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, Scope,
    };
    if landlock_abi().is_none() {
        return Ok(None);
    }
    // The newest ABI this code knows; an older kernel enforces what it has (best effort).
    let abi = ABI::V6;
    let read_and_execute = AccessFs::from_read(abi);
    let opened = |path: &Path| {
        PathFd::new(path).with_context(|| format!("cannot open `{}` for a Landlock rule", path.display()))
    };
    let build = || -> Result<landlock::RulesetCreated> {
        let mut ruleset = Ruleset::default()
            .handle_access(AccessFs::from_all(abi))?
            .handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)?
            .scope(Scope::AbstractUnixSocket | Scope::Signal)?
            .create()?;
        let prefix = installation_prefix(needs.binary);
        let directories = LIBRARY_DIRS.iter().map(PathBuf::from).chain([prefix]);
        for directory in directories.filter(|directory| directory.is_dir()) {
            ruleset = ruleset.add_rule(PathBeneath::new(opened(&directory)?, read_and_execute))?;
        }
        let files = SYSTEM_FILES.iter().map(PathBuf::from).filter(|file| file.is_file());
        for file in files.chain([needs.kernel.to_path_buf()]) {
            ruleset = ruleset.add_rule(PathBeneath::new(opened(&file)?, AccessFs::ReadFile))?;
        }
        if let Some(directory) = needs.writable_dir {
            let access = AccessFs::from_read(abi) | AccessFs::from_write(abi);
            ruleset = ruleset.add_rule(PathBeneath::new(opened(directory)?, access))?;
        }
        Ok(ruleset)
    };
    let ruleset = build().with_context(|| {
        format!(
            "cannot build the Landlock rules for QEMU (`{}`, kernel `{}`); set {}=0 to run it unconfined",
            needs.binary.display(),
            needs.kernel.display(),
            crate::sandbox::ENV_OFF
        )
    })?;
    Ok(ruleset.into())
}

/// QEMU's size syntax for `-m`: a number with an optional K, M, G or T suffix (M if none).
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, shift) = match text.char_indices().last()? {
        (at, 'K' | 'k') => (&text[..at], 10),
        (at, 'M' | 'm') => (&text[..at], 20),
        (at, 'G' | 'g') => (&text[..at], 30),
        (at, 'T' | 't') => (&text[..at], 40),
        _ => (text, 20),
    };
    number.parse::<u64>().ok()?.checked_mul(1 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_qemu_reads_them() {
        let cases =
            [("128M", Some(128 << 20)), ("2G", Some(2 << 30)), ("512", Some(512 << 20)), ("64k", Some(64 << 10))];
        for (text, expected) in cases {
            assert_eq!(parse_size(text), expected, "{text}");
        }
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size(""), None);
    }

    #[test]
    fn the_prefix_is_above_the_binary_directory() {
        assert_eq!(installation_prefix(Path::new("/opt/qemu/bin/qemu-system-riscv64")), Path::new("/opt/qemu"));
    }
}
