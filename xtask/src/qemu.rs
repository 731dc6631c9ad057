//! QEMU: the command line for an arch and an image, and a running QEMU whose serial output
//! arrives as lines.
//!
//! The serial console is QEMU's stdout (`-serial stdio`); QEMU's own messages go to its
//! stderr, which is kept so that a failure can show them.

use crate::arch::Arch;
use crate::process::OwnedChild;
use anyhow::{Context, Result};
use ktap::Line;
use std::collections::VecDeque;
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

/// The chardev QEMU's own GDB server listens on.
const QEMU_GDB_CHARDEV: &str = "gdb";

/// A listening loopback socket chardev on `port`, as printed (and as QEMU binds it when the
/// xtask holds no socket for the port).
fn socket(id: &str, port: u16) -> String {
    format!("socket,id={id},host=127.0.0.1,port={port},server=on,wait=off")
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
    /// Record into, or replay from, this recording directory (`record/`): QEMU gets the
    /// record/replay options and may write in that directory alone.
    pub record: Option<(crate::record::args::Mode, &'a Path)>,
    /// The CPUs the boot's tests need (`test_cpus`); None: the arch table's.
    pub cpus: Option<u32>,
}

impl Launch<'_> {
    /// The CPUs the machine gets: as many as the boot's tests need, at most the arch table's;
    /// the table's if the boot does not say; but one under QEMU's own GDB server or
    /// its recorder. With several, QEMU 7.2's GDB server shows each CPU as a thread (gdb's
    /// stops read "Thread N hit ...", and the coverage probe and the debugger scripts expect
    /// one), and a recording under `-icount` did not reproduce a failure. Tests of several
    /// CPUs are then skipped, saying how many CPUs they need.
    fn cpus(&self) -> u32 {
        let under_qemu_gdb = matches!(self.gdb, Some(GdbServer::Qemu { .. }));
        let table = self.arch.qemu.cpus;
        if under_qemu_gdb || self.record.is_some() {
            1
        } else {
            self.cpus.map_or(table, |needed| needed.clamp(1, table))
        }
    }

    pub fn args(&self) -> Vec<String> {
        let qemu = &self.arch.qemu;
        let mut args: Vec<String> = vec![
            "-machine".into(),
            self.machine.unwrap_or(&qemu.machine).into(),
            "-cpu".into(),
            qemu.cpu.clone(),
            "-m".into(),
            qemu.memory.clone(),
            "-smp".into(),
            self.cpus().to_string(),
            // Only the devices the kernel uses: faster boots, no surprises.
            "-nodefaults".into(),
            "-display".into(),
            "none".into(),
            "-serial".into(),
            "stdio".into(),
            // Said even though -nodefaults implies them: no monitor (it would control the
            // machine and, through it, the host's files) and no network device.
            "-monitor".into(),
            "none".into(),
            "-nic".into(),
            "none".into(),
        ];
        if !crate::sandbox::turned_off()
            && crate::sandbox::seccomp(&self.binary, &sandbox_cache()) == crate::sandbox::Seccomp::Supported
        {
            args.extend(["-sandbox".into(), crate::sandbox::SECCOMP.into()]);
        }
        if let Some(firmware) = &qemu.firmware {
            args.extend(["-bios".into(), firmware.clone()]);
        }
        args.extend(self.arch.exit_protocol.qemu_args());
        args.extend(qemu.args.iter().cloned());
        // Loopback only: either server gives full control of the machine.
        match self.gdb {
            Some(GdbServer::Qemu { port, paused }) => {
                args.extend(["-chardev".into(), socket(QEMU_GDB_CHARDEV, port)]);
                args.extend(["-gdb".into(), format!("chardev:{QEMU_GDB_CHARDEV}")]);
                if paused {
                    args.push("-S".into());
                }
            }
            Some(GdbServer::Kernel { port }) => {
                args.extend(["-chardev".into(), socket(crate::arch::GdbStubPort::CHARDEV, port)]);
                args.extend(self.arch.gdbstub.qemu_args.iter().cloned());
            }
            None => {}
        }
        args.extend(["-kernel".into(), self.kernel.display().to_string()]);
        if !self.cmdline.is_empty() {
            args.extend(["-append".into(), self.cmdline.clone()]);
        }
        args.extend(self.extra_args.iter().cloned());
        if let Some((mode, dir)) = self.record {
            args.extend(crate::record::args::qemu_args(mode, dir));
        }
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

    /// The command, confined (`confine.rs`) unless the user turned that off. A GDB server's
    /// socket is the one the xtask reserved for its port (`listen.rs`), handed over.
    pub fn command(&self) -> Result<Command> {
        let mut command = Command::new(&self.binary);
        let mut args = self.args();
        if let Some(server) = self.gdb {
            let id = match server {
                GdbServer::Qemu { .. } => QEMU_GDB_CHARDEV,
                GdbServer::Kernel { .. } => crate::arch::GdbStubPort::CHARDEV,
            };
            let printed = socket(id, server.port());
            let handed = crate::listen::chardev(&mut command, id, server.port());
            args.iter_mut().filter(|arg| **arg == printed).for_each(|arg| *arg = handed.clone());
        }
        command.args(args);
        if crate::sandbox::turned_off() {
            return Ok(command);
        }
        let memory = &self.arch.qemu.memory;
        let guest_memory = crate::confine::parse_size(memory).with_context(|| {
            format!("the arch table's `memory = \"{memory}\"` for {} is not a size QEMU reads (like 128M)", self.arch)
        })?;
        let needs = crate::confine::Needs {
            binary: &self.binary,
            kernel: self.kernel,
            guest_memory,
            cwd: crate::workspace::Workspace::locate().xtask_dir().join("qemu-cwd"),
            // Record/replay writes its log and snapshot itself.
            writable_dir: self.record.map(|(_, dir)| dir),
        };
        crate::confine::Confinement::for_qemu(&needs)?.apply(&mut command);
        Ok(command)
    }
}

/// Where the answers about each QEMU binary's `-sandbox` support are kept.
pub fn sandbox_cache() -> PathBuf {
    crate::workspace::Workspace::locate().xtask_dir().join("qemu-sandbox")
}

/// Quotes `word` for a POSIX shell if it needs it.
pub fn shell_quote(word: &str) -> String {
    let plain =
        !word.is_empty() && word.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&byte));
    if plain { word.to_string() } else { format!("'{}'", word.replace('\'', "'\\''")) }
}

/// Splits a command line as `qemu::shell_quote` wrote it (plain words, single quotes).
pub fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if quoted => quoted = false,
            '\'' => {
                quoted = true;
                in_word = true;
            }
            '\\' if !quoted => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            ' ' if !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            other => {
                word.push(other);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// What waiting for the next serial line gave.
pub enum Next {
    Line(Line),
    /// QEMU closed its stdout: it exited (or is exiting).
    Ended,
    /// The deadline passed first.
    TimedOut,
}

/// A QEMU process whose serial lines arrive on a channel, those of each read of the pipe
/// together (the thread that takes them wakes once per read, not once per line).
pub struct RunningQemu {
    child: OwnedChild,
    lines: Receiver<Vec<Line>>,
    /// Lines received and not yet taken, in order.
    received: VecDeque<Line>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl RunningQemu {
    /// Starts QEMU with stdin closed, stdout (the serial line) and stderr captured.
    pub fn start(launch: &Launch<'_>) -> Result<RunningQemu> {
        let mut command = launch.command()?;
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child =
            OwnedChild::spawn(&mut command).with_context(|| format!("cannot run QEMU for {}", launch.arch))?;
        let stdout = child.child_mut().stdout.take().context("QEMU's stdout is piped")?;
        let mut stderr_pipe = child.child_mut().stderr.take().context("QEMU's stderr is piped")?;
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            // A send fails only when nobody listens any more: then the lines are not needed.
            let _ = ktap::for_each_read(crate::gathered::Gathered::new(stdout), |lines| {
                let _ = sender.send(lines);
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
        Ok(RunningQemu { child, lines, received: VecDeque::new(), stderr })
    }

    /// The next serial line, waiting at most until `deadline` (forever if None).
    pub fn next_line(&mut self, deadline: Option<Instant>) -> Next {
        if let Some(line) = self.received.pop_front() {
            return Next::Line(line);
        }
        let received = match deadline {
            None => self.lines.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(deadline) => self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())),
        };
        match received {
            Ok(lines) => {
                self.received.extend(lines);
                self.received.pop_front().map_or(Next::TimedOut, Next::Line)
            }
            Err(RecvTimeoutError::Timeout) => Next::TimedOut,
            Err(RecvTimeoutError::Disconnected) => Next::Ended,
        }
    }

    /// Whether lines already received wait to be taken ([`RunningQemu::next_line`] gives the
    /// next at once).
    pub fn has_received(&self) -> bool {
        !self.received.is_empty()
    }

    /// Hands the serial lines still to come to someone else (a thread that copies them to
    /// the terminal), those of each read together; [`RunningQemu::next_line`] then reports
    /// [`Next::Ended`] once it has given the lines it had already received.
    pub fn take_lines(&mut self) -> Receiver<Vec<Line>> {
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
        // The binary is only a name here: the answer a supporting QEMU gives, without asking.
        crate::sandbox::remember(Path::new(&arch.qemu.binary), crate::sandbox::Seccomp::Supported);
        Launch { cmdline: cmdline.into(), gdb, ..plain_launch(arch, arch.qemu.binary.clone().into()) }.args()
    }

    /// A launch of `/k` with nothing asked of it.
    fn plain_launch(arch: &Arch, binary: PathBuf) -> Launch<'_> {
        Launch {
            arch,
            binary,
            kernel: Path::new("/k"),
            cmdline: String::new(),
            machine: None,
            gdb: None,
            extra_args: &[],
            record: None,
            cpus: None,
        }
    }

    #[test]
    fn the_arch_tables_cpus_except_under_qemus_gdb_server() {
        for arch in Arches::load(&Workspace::locate()).unwrap().all() {
            let cpus = arch.qemu.cpus.to_string();
            assert!(has_pair(&launch_args(&arch.name, None, "x"), "-smp", &cpus), "{arch}");
            assert!(has_pair(&launch_args(&arch.name, Some(1234), "x"), "-smp", "1"), "{arch}: one CPU under gdb");
            let stub = Some(GdbServer::Kernel { port: 1234 });
            assert!(has_pair(&launch_args_with(&arch.name, stub, "x"), "-smp", &cpus), "{arch}: the kernel's stub");
        }
    }

    #[test]
    fn a_boot_gets_the_cpus_its_tests_need_within_the_arch_tables() {
        let arches = Arches::load(&Workspace::locate()).unwrap();
        let arch = arches.find("riscv64").unwrap();
        let with = |cpus: Option<u32>| Launch { cpus, ..plain_launch(arch, arch.qemu.binary.clone().into()) }.cpus();
        assert_eq!(with(Some(1)), 1);
        assert_eq!(with(Some(2)), 2.min(arch.qemu.cpus));
        assert_eq!(with(Some(0)), 1);
        assert_eq!(with(Some(arch.qemu.cpus + 1)), arch.qemu.cpus, "never more than the table's");
        assert_eq!(with(None), arch.qemu.cpus);
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
        // riscv64 exits through the sifive_test device: semihosting stays off.
        assert!(!riscv.contains(&"-semihosting-config".to_string()), "{riscv:?}");

        let arm = launch_args("aarch64", None, "");
        assert!(has_pair(&arm, "-semihosting-config", "enable=on,target=native"));
        assert!(has_pair(&arm, "-machine", "virt"));
        assert!(has_pair(&arm, "-cpu", "cortex-a57"));
    }

    #[test]
    fn the_gdb_server_listens_on_loopback_only_and_starts_paused() {
        let args = launch_args("aarch64", Some(4321), "");
        assert!(has_pair(&args, "-chardev", "socket,id=gdb,host=127.0.0.1,port=4321,server=on,wait=off"));
        assert!(has_pair(&args, "-gdb", "chardev:gdb"));
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

    /// Every launch, whatever the arch or the debugger: QEMU's seccomp sandbox, no monitor,
    /// no network device, the table's memory, and any server on loopback only.
    #[test]
    fn every_launch_is_sandboxed_without_monitor_or_network_with_the_tables_memory() {
        let arches = Arches::load(&Workspace::locate()).unwrap();
        for arch in arches.all() {
            for gdb in
                [None, Some(GdbServer::Qemu { port: 4321, paused: true }), Some(GdbServer::Kernel { port: 4321 })]
            {
                let args = launch_args_with(&arch.name, gdb, "");
                assert!(has_pair(&args, "-sandbox", crate::sandbox::SECCOMP), "{arch}: {args:?}");
                assert!(has_pair(&args, "-monitor", "none") && has_pair(&args, "-nic", "none"), "{arch}: {args:?}");
                assert!(has_pair(&args, "-m", &arch.qemu.memory), "{arch}: {args:?}");
                assert!(!args.iter().any(|arg| arg == "-qmp" || arg.starts_with("telnet")), "{arch}: {args:?}");
                for arg in &args {
                    if arg.contains("tcp:") || arg.starts_with("socket,") {
                        assert!(arg.contains("127.0.0.1"), "{arch}: `{arg}` listens beyond loopback");
                    }
                }
                let exit_args = arch.exit_protocol.qemu_args();
                assert!(exit_args.iter().all(|arg| args.contains(arg)), "{arch}: {args:?}");
            }
        }
    }

    #[test]
    fn a_qemu_without_seccomp_runs_without_the_option() {
        let arches = Arches::load(&Workspace::locate()).unwrap();
        let arch = arches.find("x86_64").unwrap();
        let binary = PathBuf::from("/nowhere/qemu-without-seccomp");
        crate::sandbox::remember(&binary, crate::sandbox::Seccomp::Unsupported("seccomp support is disabled".into()));
        let launch = plain_launch(arch, binary);
        assert!(!launch.args().contains(&"-sandbox".to_string()));
    }

    #[test]
    fn the_command_line_is_appended_only_when_there_is_one() {
        assert!(has_pair(&launch_args("x86_64", None, "ktest ktest.boot=1"), "-append", "ktest ktest.boot=1"));
        assert!(!launch_args("x86_64", None, "").contains(&"-append".to_string()));
    }

    #[test]
    fn shell_words_undo_shell_quote() {
        for argv in [
            vec!["qemu-system-x86_64", "-append", "ktest ktest.boot=1", "-kernel", "/a b/k.elf"],
            vec!["x", "it's", ""],
        ] {
            let line: Vec<String> = argv.iter().map(|word| shell_quote(word)).collect();
            assert_eq!(shell_words(&line.join(" ")), argv, "{}", line.join(" "));
        }
    }

    #[test]
    fn shell_quoting_leaves_plain_words_and_quotes_the_rest() {
        assert_eq!(shell_quote("tcp:127.0.0.1:1234"), "tcp:127.0.0.1:1234");
        assert_eq!(shell_quote("ktest ktest.boot=1"), "'ktest ktest.boot=1'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
