//! QEMU: the command line for an arch and an image, and a running QEMU whose serial output
//! arrives as lines.
//!
//! The serial console is QEMU's stdout (`-serial stdio`); QEMU's own messages go to its
//! stderr, which is kept so that a failure can show them.

use crate::arch::Arch;
use crate::process::OwnedChild;
use crate::serial::{self, Line};
use anyhow::{Context, Result};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// How much of QEMU's stderr is kept (its last bytes).
const STDERR_KEPT: usize = 16 * 1024;

/// The GDB server the debugger talks to, on 127.0.0.1:`port`.
#[derive(Clone, Copy, Debug)]
pub enum GdbServer {
    /// QEMU's own, the CPU stopped before the first instruction if `paused`.
    Qemu { port: u16, paused: bool },
    /// The kernel's stub (the `gdbstub` feature): the arch's stub port (`[gdbstub]` in its
    /// table) on a socket QEMU listens on.
    Kernel { port: u16 },
}

impl GdbServer {
    pub fn port(self) -> u16 {
        match self {
            GdbServer::Qemu { port, .. } | GdbServer::Kernel { port } => port,
        }
    }
}

/// One QEMU invocation.
pub struct Launch<'a> {
    pub arch: &'a Arch,
    pub binary: PathBuf,
    pub kernel: &'a Path,
    /// The kernel command line (`-append`).
    pub cmdline: String,
    /// Overrides the arch's machine (`--machine`).
    pub machine: Option<&'a str>,
    /// QEMU's GDB server, if wanted.
    pub gdb: Option<GdbServer>,
    /// Arguments the user added after `--`.
    pub extra_args: &'a [String],
}

impl Launch<'_> {
    pub fn args(&self) -> Vec<String> {
        let qemu = &self.arch.qemu;
        let mut args: Vec<String> = vec![
            "-machine".into(),
            self.machine.unwrap_or(&qemu.machine).into(),
            "-cpu".into(),
            qemu.cpu.clone(),
            "-m".into(),
            qemu.memory.clone(),
            // Only the devices the kernel uses: faster boots, no surprises.
            "-nodefaults".into(),
            "-display".into(),
            "none".into(),
            "-serial".into(),
            "stdio".into(),
        ];
        if let Some(firmware) = &qemu.firmware {
            args.extend(["-bios".into(), firmware.clone()]);
        }
        args.extend(self.arch.exit_protocol.qemu_args());
        args.extend(qemu.args.iter().cloned());
        // Loopback only: either server gives full control of the machine.
        match self.gdb {
            Some(GdbServer::Qemu { port, paused }) => {
                args.extend(["-gdb".into(), format!("tcp:127.0.0.1:{port}")]);
                if paused {
                    args.push("-S".into());
                }
            }
            Some(GdbServer::Kernel { port }) => {
                let chardev = crate::arch::GdbStubPort::CHARDEV;
                let socket = format!("socket,id={chardev},host=127.0.0.1,port={port},server=on,wait=off");
                args.extend(["-chardev".into(), socket]);
                args.extend(self.arch.gdbstub.qemu_args.iter().cloned());
            }
            None => {}
        }
        args.extend(["-kernel".into(), self.kernel.display().to_string()]);
        if !self.cmdline.is_empty() {
            args.extend(["-append".into(), self.cmdline.clone()]);
        }
        args.extend(self.extra_args.iter().cloned());
        args
    }

    /// The command line as a shell would take it, to print and to copy.
    pub fn display(&self) -> String {
        std::iter::once(self.binary.display().to_string())
            .chain(self.args())
            .map(|word| shell_quote(&word))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command.args(self.args());
        command
    }
}

/// Quotes `word` for a POSIX shell if it needs it.
pub fn shell_quote(word: &str) -> String {
    let plain =
        !word.is_empty() && word.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&byte));
    if plain { word.to_string() } else { format!("'{}'", word.replace('\'', "'\\''")) }
}

/// What waiting for the next serial line gave.
pub enum Next {
    Line(Line),
    /// QEMU closed its stdout: it exited (or is exiting).
    Ended,
    /// The deadline passed first.
    TimedOut,
}

/// A QEMU process whose serial lines arrive on a channel.
pub struct RunningQemu {
    child: OwnedChild,
    lines: Receiver<Line>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl RunningQemu {
    /// Starts QEMU with stdin closed, stdout (the serial line) and stderr captured.
    pub fn start(launch: &Launch<'_>) -> Result<RunningQemu> {
        let mut command = launch.command();
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child =
            OwnedChild::spawn(&mut command).with_context(|| format!("cannot run QEMU for {}", launch.arch))?;
        let stdout = child.child_mut().stdout.take().context("QEMU's stdout is piped")?;
        let mut stderr_pipe = child.child_mut().stderr.take().context("QEMU's stderr is piped")?;
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            // A send fails only when nobody listens any more: then the lines are not needed.
            let _ = serial::for_each_line(stdout, |line| {
                let _ = sender.send(line);
            });
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let stderr_sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(count) = stderr_pipe.read(&mut buffer) {
                if count == 0 {
                    break;
                }
                let mut kept = stderr_sink.lock().unwrap_or_else(|poison| poison.into_inner());
                kept.extend_from_slice(&buffer[..count]);
                let excess = kept.len().saturating_sub(STDERR_KEPT);
                kept.drain(..excess);
            }
        });
        Ok(RunningQemu { child, lines, stderr })
    }

    /// The next serial line, waiting at most until `deadline` (forever if None).
    pub fn next_line(&self, deadline: Option<Instant>) -> Next {
        let received = match deadline {
            None => self.lines.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(deadline) => self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())),
        };
        match received {
            Ok(line) => Next::Line(line),
            Err(RecvTimeoutError::Timeout) => Next::TimedOut,
            Err(RecvTimeoutError::Disconnected) => Next::Ended,
        }
    }

    /// Hands the serial lines to someone else (a thread that copies them to the terminal);
    /// [`RunningQemu::next_line`] then reports [`Next::Ended`] at once.
    pub fn take_lines(&mut self) -> Receiver<Line> {
        std::mem::replace(&mut self.lines, mpsc::channel().1)
    }

    /// QEMU's exit status if it has exited, without waiting.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Waits for QEMU to exit (after [`Next::Ended`]).
    pub fn wait(&mut self) -> Result<ExitStatus> {
        self.child.wait()
    }

    /// Ends QEMU (SIGTERM, then SIGKILL).
    pub fn kill(&mut self) -> Result<ExitStatus> {
        self.child.terminate()
    }

    /// What QEMU printed on stderr (its last bytes), trimmed.
    pub fn stderr_text(&self) -> String {
        let kept = self.stderr.lock().unwrap_or_else(|poison| poison.into_inner());
        String::from_utf8_lossy(&kept).trim().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arches;
    use crate::workspace::Workspace;

    fn launch_args(arch_name: &str, gdb_port: Option<u16>, cmdline: &str) -> Vec<String> {
        launch_args_with(arch_name, gdb_port.map(|port| GdbServer::Qemu { port, paused: true }), cmdline)
    }

    fn launch_args_with(arch_name: &str, gdb: Option<GdbServer>, cmdline: &str) -> Vec<String> {
        let arches = Arches::load(&Workspace::locate()).unwrap();
        let arch = arches.find(arch_name).unwrap();
        let launch = Launch {
            arch,
            binary: arch.qemu.binary.clone().into(),
            kernel: Path::new("/k"),
            cmdline: cmdline.into(),
            machine: None,
            gdb,
            extra_args: &[],
        };
        launch.args()
    }

    fn has_pair(args: &[String], flag: &str, value: &str) -> bool {
        args.windows(2).any(|pair| pair[0] == flag && pair[1] == value)
    }

    #[test]
    fn each_arch_gets_its_machine_exit_device_and_firmware() {
        let x86 = launch_args("x86_64", None, "");
        assert!(has_pair(&x86, "-machine", "microvm"));
        assert!(has_pair(&x86, "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"));
        assert!(x86.contains(&"-no-reboot".to_string()));
        assert!(!x86.contains(&"-bios".to_string()));

        let riscv = launch_args("riscv64", None, "");
        assert!(has_pair(&riscv, "-bios", "default"));
        assert!(has_pair(&riscv, "-semihosting-config", "enable=on,target=native"));

        let arm = launch_args("aarch64", None, "");
        assert!(has_pair(&arm, "-machine", "virt"));
        assert!(has_pair(&arm, "-cpu", "cortex-a57"));
    }

    #[test]
    fn the_gdb_server_listens_on_loopback_only_and_starts_paused() {
        let args = launch_args("aarch64", Some(4321), "");
        assert!(has_pair(&args, "-gdb", "tcp:127.0.0.1:4321"));
        assert!(args.contains(&"-S".to_string()));
        assert!(!launch_args("aarch64", None, "").contains(&"-S".to_string()));
    }

    #[test]
    fn the_kernel_stub_gets_its_arch_port_on_a_loopback_socket_and_qemu_no_server() {
        let socket = "socket,id=gdbstub,host=127.0.0.1,port=4321,server=on,wait=off";
        let x86 = launch_args_with("x86_64", Some(GdbServer::Kernel { port: 4321 }), "");
        assert!(has_pair(&x86, "-chardev", socket));
        assert!(has_pair(&x86, "-device", "isa-serial,chardev=gdbstub,iobase=0x2f8,irq=3"));
        assert!(!x86.contains(&"-gdb".to_string()) && !x86.contains(&"-S".to_string()));
        let riscv = launch_args_with("riscv64", Some(GdbServer::Kernel { port: 4321 }), "");
        assert!(has_pair(&riscv, "-chardev", socket));
        assert!(has_pair(&riscv, "-device", "virtconsole,chardev=gdbstub"));
    }

    #[test]
    fn the_command_line_is_appended_only_when_there_is_one() {
        assert!(has_pair(&launch_args("x86_64", None, "ktest ktest.boot=1"), "-append", "ktest ktest.boot=1"));
        assert!(!launch_args("x86_64", None, "").contains(&"-append".to_string()));
    }

    #[test]
    fn shell_quoting_leaves_plain_words_and_quotes_the_rest() {
        assert_eq!(shell_quote("tcp:127.0.0.1:1234"), "tcp:127.0.0.1:1234");
        assert_eq!(shell_quote("ktest ktest.boot=1"), "'ktest ktest.boot=1'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
