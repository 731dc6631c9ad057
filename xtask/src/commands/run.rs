//! `cargo xtask run`: builds and boots the kernel, serial console on this terminal, and
//! exits with the kernel's own exit code (0 for success).

use super::{BuildFlags, Context, QemuFlags, one_arch, parse_arch};
use crate::arch::ArchSelection;
use crate::build::{BuildOptions, build};
use crate::exit::KernelExit;
use crate::qemu::{Launch, Next, RunningQemu};
use anyhow::{Result, bail};
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Run {
    /// Architecture to boot [default: this machine's, else x86_64].
    #[arg(long, value_parser = parse_arch)]
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
    #[arg(long, value_name = "SECS")]
    timeout: Option<u64>,
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
        let options = BuildOptions { release, features: self.build.features };
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
        };
        boot(&launch, self.timeout)
    }
}

/// Boots `launch` with its serial console on stdout, and gives the kernel's exit code (or
/// fails, saying why, if QEMU ended some other way or `timeout` seconds passed).
pub fn boot(launch: &Launch<'_>, timeout: Option<u64>) -> Result<ExitCode> {
    let arch = launch.arch;
    eprintln!("$ {}", launch.display());
    eprintln!("{arch}: serial console ({}) follows", arch.qemu.serial);
    let mut qemu = RunningQemu::start(launch)?;
    let deadline = timeout.map(|seconds| Instant::now() + Duration::from_secs(seconds));
    let mut stdout = std::io::stdout().lock();
    let status = loop {
        match qemu.next_line(deadline) {
            Next::Line(line) => {
                stdout.write_all(&line.bytes)?;
                stdout.write_all(b"\n")?;
                stdout.flush()?;
            }
            Next::Ended => break qemu.wait()?,
            Next::TimedOut => {
                qemu.kill()?;
                bail!("{arch}: no exit after {} s; QEMU was ended", timeout.unwrap_or_default());
            }
        }
    };
    if let Some(signal) = crate::process::interrupted() {
        return Ok(ExitCode::from(crate::process::exit_status_for_signal(signal)));
    }
    match arch.exit_protocol.decode(status) {
        KernelExit::Kernel(code) => {
            eprintln!("{arch}: {}", KernelExit::Kernel(code));
            Ok(ExitCode::from(code.code()))
        }
        other => {
            let stderr = qemu.stderr_text();
            bail!(
                "{arch}: {other}{}",
                if stderr.is_empty() { String::new() } else { format!("; QEMU said:\n{stderr}") }
            )
        }
    }
}
