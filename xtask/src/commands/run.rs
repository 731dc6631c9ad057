//! `cargo xtask run`: builds and boots the kernel, serial console on this terminal, and
//! exits with the kernel's own exit code (0 for success).

use super::{BuildFlags, Context, QemuFlags, one_arch, parse_one_arch};
use crate::arch::ArchSelection;
use crate::build::build;
use crate::events::BootEnd;
use crate::exit::KernelExit;
use crate::qemu::Launch;
use crate::runner::{self, Deadline};
use anyhow::{Result, bail};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Run {
    /// Architecture to boot [default: this machine's, else the one `targets/*.toml` marks `fallback`].
    #[arg(long, value_parser = parse_one_arch)]
    arch: Option<ArchSelection>,
    #[command(flatten)]
    build: BuildFlags,
    #[command(flatten)]
    qemu: QemuFlags,
    /// Kernel command line (QEMU's `-append`), e.g. `panic`.
    #[arg(long, default_value = "")]
    append: String,
    /// Boot the raw binary of the release image (`--release` implied) instead of the ELF:
    /// for boards that load flat images. QEMU's riscv64 `virt` does; its aarch64 `virt`
    /// and x86_64 boot paths need the ELF.
    #[arg(long)]
    raw: bool,
    /// End QEMU after this many seconds (default: let the kernel decide).
    #[arg(long, value_name = "SECS", default_value = "0", value_parser = super::parse_timeout, allow_negative_numbers = true)]
    timeout: super::Timeout,
    /// Extra arguments for QEMU.
    #[arg(last = true)]
    qemu_args: Vec<String>,
}

impl Run {
    pub fn run(self, context: &Context) -> Result<ExitCode> {
        crate::process::winds_down_by_itself();
        let arch = &one_arch(context, self.arch.clone(), "run")?;
        let binary = self.qemu.qemu_binary(arch, &context.workspace)?;
        if self.raw && !arch.qemu.boots_raw_binary {
            bail!(
                "{arch}: QEMU's `{}` machine does not boot a raw binary of this kernel through `-kernel` \
                 (it needs the ELF); `--raw` works where `targets/<arch>.toml` says `boots-raw-binary = true`",
                arch.qemu.machine
            );
        }
        let release = self.build.release || self.raw;
        let mut options = self.build.options(context, &[])?;
        options.release = release;
        let image = build(&context.workspace, std::slice::from_ref(arch), &options, true)?.remove(0);
        // A release boot uses the stripped image (or the raw binary), as a board would.
        let kernel = match release {
            true => {
                let files = crate::build::release_files(&image)?;
                if self.raw { files.raw } else { files.elf }
            }
            false => image.path.clone(),
        };
        let launch = Launch {
            arch,
            binary,
            kernel: &kernel,
            cmdline: self.append,
            machine: self.qemu.machine.as_deref(),
            gdb: None,
            extra_args: &self.qemu_args,
            record: None,
            cpus: None,
        };
        boot(&launch, self.timeout.0)
    }
}

/// Boots `launch` with its serial console on stdout, and gives the kernel's exit code (or
/// fails, saying why, if QEMU ended some other way or `timeout` seconds passed).
pub fn boot(launch: &Launch<'_>, timeout: Option<Duration>) -> Result<ExitCode> {
    let arch = launch.arch;
    eprintln!("$ {}", launch.display());
    eprintln!("{arch}: serial console ({}) follows", arch.qemu.serial);
    let mut stdout = std::io::stdout().lock();
    let first = timeout.map_or(Deadline::Never, Deadline::After);
    let ended = runner::boot(launch, first, |line| {
        stdout.write_all(&line.bytes)?;
        stdout.write_all(b"\n")?;
        stdout.flush()?;
        Ok(Deadline::Keep)
    })?;
    match ended.end {
        BootEnd::Interrupted { signal } => Ok(ExitCode::from(crate::process::exit_status_for_signal(signal))),
        BootEnd::TimedOut { seconds } => bail!("{arch}: no exit after {seconds} s; QEMU was ended"),
        BootEnd::Exited(KernelExit::Kernel(code)) => {
            eprintln!("{arch}: {}", KernelExit::Kernel(code));
            Ok(ExitCode::from(code.code()))
        }
        BootEnd::Exited(other) => {
            let stderr = ended.stderr;
            bail!(
                "{arch}: {other}{}",
                if stderr.is_empty() { String::new() } else { format!("; QEMU said:\n{stderr}") }
            )
        }
        BootEnd::StreamEnded => bail!("{arch}: QEMU's output ended without an exit"),
        BootEnd::Stopped => bail!("{arch}: the boot was stopped by the harness"),
    }
}
