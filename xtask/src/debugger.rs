//! The debugger: a gdb that supports the arch, the gdb command line, and the kernel's symbols.

use crate::arch::Arch;
use crate::qemu::GdbServer;
use crate::tools;
use anyhow::{Context, Result, bail};
use object::{Object, ObjectSymbol};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

/// The debugger to use: `explicit` if given, else `gdb-multiarch`, else a `gdb` that
/// supports `arch`; installed (or its install command named) if there is none.
pub fn find(arch: &Arch, explicit: Option<&Path>, allow_install: bool) -> Result<PathBuf> {
    if let Some(path) = explicit {
        let found = tools::find_on_path(&path.to_string_lossy())
            .with_context(|| format!("`--gdb {}`: no such program", path.display()))?;
        if !supports(&found, arch) {
            bail!(
                "`--gdb {}` does not support `{}` (gdb architecture `{}`)",
                path.display(),
                arch,
                arch.gdb_architecture
            );
        }
        return Ok(found);
    }
    for candidate in ["gdb-multiarch", "gdb"] {
        if let Some(found) = tools::find_on_path(candidate).filter(|found| supports(found, arch)) {
            return Ok(found);
        }
    }
    tools::require("gdb-multiarch", &tools::gdb_packages(), allow_install)
}

/// Whether `gdb` accepts `set architecture` for `arch`.
fn supports(gdb: &Path, arch: &Arch) -> bool {
    Command::new(gdb)
        .args(["-nx", "-batch", "-ex", &format!("set architecture {}", arch.gdb_architecture)])
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|output| output.status.success() && output.stderr.is_empty())
}

/// How long a `--batch` script may run by default: nobody is at the keyboard to stop a
/// `continue` or `reverse-continue` that never reaches a breakpoint.
pub const BATCH_LIMIT: Duration = Duration::from_secs(300);

/// Runs `gdb ARGS` in the foreground to its end, its command line printed first. With a
/// `batch_limit`, a script still running after it is ended (gdb, and with it the session)
/// and that is an error naming the limit.
pub fn run_to_end(gdb: &Path, args: &[String], batch_limit: Option<Duration>) -> Result<ExitStatus> {
    let words = std::iter::once(gdb.display().to_string()).chain(args.iter().cloned());
    crate::ui::echo(&words.map(|word| crate::qemu::shell_quote(&word)).collect::<Vec<_>>().join(" "));
    let mut debugger = crate::process::OwnedChild::spawn_in_foreground(Command::new(gdb).args(args))?;
    let Some(limit) = batch_limit else { return debugger.wait() };
    match debugger.wait_for(limit)? {
        Some(status) => Ok(status),
        None if crate::process::interrupted().is_some() => debugger.terminate(),
        None => {
            debugger.terminate()?;
            bail!(
                "the gdb script did not finish within {} s and was ended (a `continue` or `reverse-continue` that \
                 reaches no breakpoint runs on; `--timeout SECS` allows longer, 0 for no limit)",
                limit.as_secs()
            )
        }
    }
}

/// The symbol of a kernel test's function, as gdb names it: the test's name itself (its
/// crate, module path and function, `kernel::tests::fmt_integers`).
pub fn test_symbol(test_name: &str) -> String {
    test_name.to_string()
}

/// Whether the ELF defines a function that demangles to `symbol` (hash suffix ignored).
pub fn has_function(elf: &Path, symbol: &str) -> Result<bool> {
    let data = std::fs::read(elf).with_context(|| format!("cannot read `{}`", elf.display()))?;
    let file = object::File::parse(&*data).with_context(|| format!("`{}` is not an ELF file", elf.display()))?;
    Ok(file
        .symbols()
        .any(|candidate| candidate.name().is_ok_and(|name| format!("{:#}", rustc_demangle::demangle(name)) == symbol)))
}

/// What gdb is asked to do on start.
pub struct GdbStart<'a> {
    /// Where gdb finds the sources the image's (remapped) debug info names: the checkout,
    /// and the standard library's source under `/rustc-src`.
    pub sources: &'a SourcePaths,
    pub elf: &'a Path,
    pub arch: &'a Arch,
    pub server: GdbServer,
    pub breakpoints: Vec<String>,
    pub batch: Option<&'a Path>,
    pub extra: &'a [String],
}

impl GdbStart<'_> {
    /// gdb's arguments: the symbols, the architecture, the connection, the breakpoints.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec!["-q".to_string(), self.elf.display().to_string()];
        let mut command = |text: String| args.extend(["-ex".to_string(), text]);
        command(format!("directory {}", self.sources.checkout.display()));
        command(format!("set substitute-path {} {}", crate::build::RUST_SRC, self.sources.rust_src.display()));
        command(format!("set architecture {}", self.arch.gdb_architecture));
        // Hardware breakpoints under QEMU's server: on x86_64 they also hold across the
        // switch from the 32-bit PVH entry to long mode, and QEMU offers them on every arch.
        // The kernel's stub has software breakpoints only.
        let break_command = match self.server {
            GdbServer::Qemu { .. } => "hbreak",
            GdbServer::Kernel { .. } => {
                self.arch.gdbstub.gdb_setup.iter().for_each(|setup| command(setup.clone()));
                "break"
            }
        };
        command(REMOTE_TIMEOUT.to_string());
        command(format!("target remote 127.0.0.1:{}", self.server.port()));
        for breakpoint in &self.breakpoints {
            command(format!("{break_command} {breakpoint}"));
        }
        if let Some(batch) = self.batch {
            args.extend(["-batch".to_string(), "-x".to_string(), batch.display().to_string()]);
        }
        args.extend(self.extra.iter().cloned());
        args
    }
}

/// gdb waits 2 s for a reply by default. The kernel's stub answers from an emulated CPU, which
/// a loaded host may run slowly: in CI its reply to `qSupported` once came after gdb had moved
/// on, answered the next packet instead, and the session failed ("Remote replied unexpectedly
/// to 'vMustReplyEmpty'"). Set before every connection, to either server.
pub const REMOTE_TIMEOUT: &str = "set remotetimeout 20";

/// The real places of the remapped source paths (see `build::path_remaps`).
#[derive(Clone, Debug)]
pub struct SourcePaths {
    pub checkout: PathBuf,
    pub rust_src: PathBuf,
}

impl SourcePaths {
    pub fn of(workspace: &crate::workspace::Workspace) -> Result<SourcePaths> {
        let sysroot = crate::build::check_rust_src()?;
        Ok(SourcePaths { checkout: workspace.root().to_path_buf(), rust_src: sysroot.join("lib/rustlib/src/rust") })
    }

    /// The same, as gdb commands for a script.
    pub fn script(&self) -> String {
        format!(
            "directory {}\nset substitute-path {} {}\n",
            self.checkout.display(),
            crate::build::RUST_SRC,
            self.rust_src.display()
        )
    }
}

/// A gdb script that attaches to a kernel stopped by `--debug-failures` and selects the
/// failed test's frame; detaching lets the kernel go on (the run resumes after the test).
pub fn debug_failure_script(sources: &SourcePaths, port: u16, test_name: &str) -> String {
    let hold = kernel_abi::ktap::DEBUG_HOLD_FLAG;
    // The name came from the serial line: a gdb command gets it only if it is a Rust path.
    let frame = if test_name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
        format!("frame function {}\n", test_symbol(test_name))
    } else {
        String::new()
    };
    format!(
        "{}{REMOTE_TIMEOUT}\ntarget remote 127.0.0.1:{port}\n\
         define hook-detach\n  set language c\n  set var *(unsigned char *)&{hold} = 0\n  set language auto\nend\n\
         {frame}",
        sources.script(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arches;
    use crate::workspace::Workspace;

    #[test]
    fn gdb_gets_symbols_architecture_loopback_connection_and_hardware_breakpoints() {
        let arches = Arches::load(&Workspace::locate()).unwrap();
        let arch = arches.find("riscv64").unwrap();
        let extra = vec!["-ex".to_string(), "bt".to_string()];
        let sources = SourcePaths { checkout: "/src".into(), rust_src: "/rs".into() };
        let start = GdbStart {
            sources: &sources,
            elf: Path::new("/k.elf"),
            arch,
            server: GdbServer::Qemu { port: 1234, paused: true },
            breakpoints: vec!["kernel_main".into(), "kernel::tests::fmt_integers".into()],
            batch: Some(Path::new("/s.gdb")),
            extra: &extra,
        };
        assert_eq!(
            start.args().join(" "),
            "-q /k.elf -ex directory /src -ex set substitute-path /rustc-src /rs -ex set architecture riscv:rv64 -ex set remotetimeout 20 -ex target remote 127.0.0.1:1234 \
             -ex hbreak kernel_main -ex hbreak kernel::tests::fmt_integers -batch -x /s.gdb -ex bt"
        );
    }

    #[test]
    fn the_kernel_stub_gets_software_breakpoints_and_the_arch_setup_before_connecting() {
        let arches = Arches::load(&Workspace::locate()).unwrap();
        let arch = arches.find("riscv64").unwrap();
        let sources = SourcePaths { checkout: "/src".into(), rust_src: "/rs".into() };
        let start = GdbStart {
            sources: &sources,
            elf: Path::new("/k.elf"),
            arch,
            server: GdbServer::Kernel { port: 1234 },
            breakpoints: vec!["kernel::tests::fmt_integers".into()],
            batch: None,
            extra: &[],
        };
        assert_eq!(
            start.args().join(" "),
            "-q /k.elf -ex directory /src -ex set substitute-path /rustc-src /rs -ex set architecture riscv:rv64 \
             -ex set osabi GNU/Linux -ex set remotetimeout 20 -ex target remote 127.0.0.1:1234 -ex break kernel::tests::fmt_integers"
        );
    }

    #[test]
    fn the_debug_failure_script_releases_the_kernel_on_detach() {
        let sources = SourcePaths { checkout: "/src".into(), rust_src: "/rs".into() };
        let script = debug_failure_script(&sources, 4000, "kernel::selftest::assertion_fails");
        assert!(script.starts_with(
            "directory /src\nset substitute-path /rustc-src /rs\nset remotetimeout 20\ntarget remote 127.0.0.1:4000\n"
        ));
        assert!(script.contains("define hook-detach") && script.contains("&KTEST_DEBUG_HOLD = 0"));
        assert!(script.ends_with("frame function kernel::selftest::assertion_fails\n"));
        let hostile = debug_failure_script(&sources, 4000, "x\nshell rm -rf /");
        assert!(!hostile.contains("shell"), "a name that is not a Rust path never reaches gdb: {hostile}");
    }
}
