//! `cargo xtask gdb`: boots the kernel (or one kernel test) paused under QEMU's GDB server
//! on 127.0.0.1 and starts the debugger on it: symbols loaded, architecture set, connected,
//! a breakpoint at the kernel's Rust entry (and at the test, and at every `--break`).
//!
//! With `--stub kernel` the debugger talks to the kernel's own stub instead (the `gdbstub`
//! feature, built in): QEMU wires the arch's stub port to a socket on 127.0.0.1, and the
//! kernel, booted with `gdbstub.wait`, waits there for the debugger before anything runs.

use super::{BuildFlags, Context, QemuFlags, one_arch, parse_one_arch};
use crate::arch::ArchSelection;
use crate::build::build;
use crate::debugger::{self, GdbStart};
use crate::exit::KernelExit;
use crate::qemu::{GdbServer, Launch, RunningQemu, shell_quote};
use anyhow::{Result, bail};
use kernel_abi::cmdline::{Filters, GdbStub as GdbStubMode, Request};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Gdb {
    /// Architecture to debug [default: this machine's, else the one `targets/*.toml` marks `fallback`].
    #[arg(long, value_parser = parse_one_arch)]
    arch: Option<ArchSelection>,
    /// Boot the test image running only this test (`kernel::tests::fmt_integers`), with a breakpoint
    /// on its function.
    #[arg(long, value_name = "NAME")]
    test: Option<String>,
    /// Also break at this symbol (repeatable).
    #[arg(long = "break", value_name = "SYMBOL")]
    breakpoints: Vec<String>,
    /// Start QEMU paused and print how to attach (gdb, an editor); wait until QEMU exits or Ctrl-C.
    #[arg(long)]
    server_only: bool,
    /// Whose GDB server to debug through: QEMU's, or the kernel's own stub (built with the
    /// `gdbstub` feature, over its second serial port; as on a board without QEMU).
    #[arg(long, value_enum, default_value_t = Stub::Qemu)]
    stub: Stub,
    /// Port on 127.0.0.1 for the GDB server (QEMU's, or the socket on the kernel stub's port)
    /// [default: a free one].
    #[arg(long)]
    port: Option<u16>,
    /// The debugger [default: gdb-multiarch, or a gdb that supports the arch].
    #[arg(long, value_name = "PATH")]
    gdb: Option<PathBuf>,
    /// Run gdb in batch mode with the commands in FILE.
    #[arg(long, value_name = "FILE")]
    batch: Option<PathBuf>,
    /// With `--batch`: end the script (and QEMU) after SECS [default: 300; 0: no limit].
    #[arg(long, value_name = "SECS", requires = "batch")]
    timeout: Option<u64>,
    /// Kernel command line (QEMU's `-append`), added to what `--test` needs.
    #[arg(long, default_value = "")]
    append: String,
    #[command(flatten)]
    build: BuildFlags,
    #[command(flatten)]
    qemu: QemuFlags,
    /// Replay a recording (`cargo xtask test --record-failures`) instead of booting:
    /// `latest`, `RUN/ARCH/TEST` or a recording's directory. gdb stops at the failure, with
    /// reverse execution (`reverse-stepi`, `reverse-finish`, `reverse-continue`).
    #[arg(long, value_name = "RECORDING", conflicts_with_all = ["test", "stub", "server_only", "arch", "append"])]
    replay: Option<String>,
    /// With `--replay`: replay to the end without a debugger and check that the serial
    /// output is the recorded one, byte for byte (exit 1 if not).
    #[arg(long, requires = "replay")]
    check: bool,
    /// Extra arguments for gdb (e.g. `-ex 'info registers'`).
    #[arg(last = true)]
    gdb_args: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Stub {
    /// QEMU's GDB server (`-gdb`): the machine paused before its first instruction.
    Qemu,
    /// The kernel's stub (`--features gdbstub`), waiting for the debugger at boot.
    Kernel,
}

impl Gdb {
    pub fn run(self, context: &Context) -> Result<ExitCode> {
        crate::process::winds_down_by_itself();
        // In a debugging session Ctrl-C interrupts the target, in gdb; QEMU lives on.
        if !self.server_only {
            crate::process::leave_ctrl_c_to_the_debugger();
        }
        if let Some(spec) = &self.replay {
            return super::replay::run(
                context,
                spec,
                &super::replay::Options {
                    check: self.check,
                    gdb: self.gdb.as_deref(),
                    port: self.port,
                    batch: self.batch.as_deref(),
                    batch_limit: self.batch_limit(),
                    gdb_args: &self.gdb_args,
                    qemu: &self.qemu,
                },
            );
        }
        let arch = one_arch(context, self.arch.clone(), "gdb")?;
        let allow_install = crate::tools::installs_allowed(self.qemu.no_install);
        let qemu_binary = self.qemu.qemu_binary(&arch, &context.workspace)?;
        let gdb = match debugger::find(&arch, self.gdb.as_deref(), allow_install) {
            Ok(gdb) => gdb,
            // The server needs no debugger here: name the usual one in the instructions.
            Err(_) if self.server_only => PathBuf::from("gdb-multiarch"),
            Err(error) => return Err(error),
        };
        let kernel = crate::kernel_package::KernelPackage::select(&context.workspace, self.build.kernel.as_deref())?;
        let mut features = Vec::new();
        if self.test.is_some() {
            features.extend(kernel.metadata.test_features.iter().cloned());
        }
        if self.stub == Stub::Kernel {
            let Some(stub) = &kernel.metadata.gdbstub_feature else {
                bail!(
                    "the kernel `{}` has no GDB stub of its own (no `gdbstub-feature` in its `[package.metadata.xtask]`): \
                     use `--stub qemu`",
                    kernel.package
                );
            };
            features.push(stub.clone());
        }
        let options = self.build.options(context, &features)?;
        let image = build(&context.workspace, std::slice::from_ref(&arch), &options, true)?.remove(0);

        // The kernel's stub starts after the entry: it stops the kernel itself.
        let mut breakpoints = match self.stub {
            Stub::Qemu => vec![kernel.metadata.entry_symbol.clone()],
            Stub::Kernel => Vec::new(),
        };
        if let Some(test) = &self.test {
            let symbol = debugger::test_symbol(test);
            if !debugger::has_function(&image.path, &symbol)? {
                bail!(
                    "no test `{test}` in the {arch} test image (no function `{symbol}`); `cargo xtask test --list` lists them"
                );
            }
            breakpoints.push(symbol);
        }
        breakpoints.extend(self.breakpoints.iter().cloned());

        let port = crate::listen::reserve(self.port)?;
        let server = match self.stub {
            Stub::Qemu => GdbServer::Qemu { port, paused: true },
            Stub::Kernel => GdbServer::Kernel { port },
        };
        let cmdline = self.cmdline()?;
        // A test image's boot gets its tests' CPUs (the kernel's stub; QEMU's server gets one).
        let cpus = if self.test.is_some() { crate::test_cpus::needed(&image.path, &cmdline)? } else { None };
        let launch = Launch {
            arch: &arch,
            binary: qemu_binary,
            kernel: &image.path,
            cmdline,
            machine: self.qemu.machine.as_deref(),
            gdb: Some(server),
            extra_args: &[],
            record: None,
            cpus,
        };
        eprintln!("$ {}", launch.display());
        let mut qemu = RunningQemu::start(&launch)?;
        let lines = qemu.take_lines();
        std::thread::spawn(move || {
            for line in lines.into_iter().flatten() {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(&line.bytes).and_then(|()| out.write_all(b"\n"));
            }
        });

        let sources = debugger::SourcePaths::of(&context.workspace)?;
        let start = GdbStart {
            sources: &sources,
            elf: &image.path,
            arch: &arch,
            server,
            breakpoints,
            batch: self.batch.as_deref(),
            extra: &self.gdb_args,
        };
        if self.server_only {
            print_attach_instructions(&gdb, &start, self.port.is_some());
            let status = qemu.wait()?;
            if let Some(signal) = crate::process::interrupted() {
                return Ok(ExitCode::from(crate::process::exit_status_for_signal(signal)));
            }
            eprintln!("{arch}: {}", arch.exit_protocol.decode(status));
            return Ok(ExitCode::SUCCESS);
        }
        let gdb_status = debugger::run_to_end(&gdb, &start.args(), self.batch_limit())?;
        // The debugger is gone: QEMU goes too. If the kernel ended the session (gdb in batch
        // mode reports x86's exit device as a lost connection), its exit code is ours. The
        // kernel's stub tells gdb of the exit just before the kernel ends: give it a moment.
        let grace = match server {
            GdbServer::Qemu { .. } => Duration::ZERO,
            GdbServer::Kernel { .. } => KERNEL_EXIT_GRACE,
        };
        match wait_a_while(&mut qemu, grace)? {
            Some(status) => {
                let exit = arch.exit_protocol.decode(status);
                eprintln!("{arch}: {exit}");
                if let KernelExit::Kernel(code) = exit {
                    return Ok(ExitCode::from(code.code()));
                }
            }
            None => {
                qemu.kill()?;
                eprintln!("{arch}: the debugger exited; QEMU was ended");
            }
        }
        Ok(ExitCode::from(gdb_status.code().map_or(1, |code| code.clamp(0, 255) as u8)))
    }

    /// How long a `--batch` script may run (None: interactive, or no limit).
    fn batch_limit(&self) -> Option<Duration> {
        self.batch.as_ref()?;
        match self.timeout.map_or(debugger::BATCH_LIMIT, Duration::from_secs) {
            Duration::ZERO => None,
            limit => Some(limit),
        }
    }

    fn cmdline(&self) -> Result<String> {
        let mut words = Vec::new();
        let mut request = Request::default();
        if let Some(test) = &self.test {
            let mut filters = Filters::default();
            filters.push(test).map_err(|error| anyhow::anyhow!("--test `{test}`: {error}"))?;
            request = Request { run_tests: true, exact: true, filters, boot: 1, ..request };
        }
        if self.stub == Stub::Kernel {
            request.gdbstub = GdbStubMode::Wait;
        }
        let mut line = String::new();
        request.write_to(&mut line).expect("writing to a String cannot fail");
        if !line.is_empty() {
            words.push(line);
        }
        if !self.append.is_empty() {
            words.push(self.append.clone());
        }
        Ok(words.join(" "))
    }
}

/// How long QEMU may take to end after the debugger did, when the kernel's stub reported
/// the kernel's exit.
const KERNEL_EXIT_GRACE: Duration = Duration::from_secs(3);

/// QEMU's exit status if it ends within `grace`.
fn wait_a_while(qemu: &mut RunningQemu, grace: Duration) -> Result<Option<std::process::ExitStatus>> {
    let deadline = Instant::now() + grace;
    loop {
        let status = qemu.try_wait()?;
        if status.is_some() || Instant::now() >= deadline {
            return Ok(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `--server-only`: the port, the complete debugger command (symbols, sources, arch,
/// connection), and a complete VS Code `launch.json` configuration.
fn print_attach_instructions(gdb: &Path, start: &GdbStart<'_>, fixed_port: bool) {
    let port = start.server.port();
    match start.server {
        GdbServer::Qemu { .. } => println!("QEMU is paused with its GDB server on 127.0.0.1:{port}. Attach with:"),
        GdbServer::Kernel { .. } => {
            println!("The kernel waits for the debugger on its stub's port, at 127.0.0.1:{port}. Attach with:")
        }
    }
    let command: Vec<String> =
        std::iter::once(gdb.display().to_string()).chain(start.args()).map(|word| shell_quote(&word)).collect();
    println!("    {}", command.join(" "));
    println!("An editor's debug configuration (VS Code with the C/C++ extension; `.vscode/launch.json`):");
    let configuration = vscode_configuration(gdb, start);
    let pretty = serde_json::to_string_pretty(&configuration).expect("a JSON value prints");
    for line in pretty.lines() {
        println!("    {line}");
    }
    if !fixed_port {
        println!("(The port changes from run to run: `--port {port}` keeps it, for a configuration you keep.)");
    }
    println!("Waiting until QEMU exits (Ctrl-C ends it).");
    let _ = std::io::stdout().flush();
}

/// A `launch.json` configuration that attaches VS Code's debugger the way `start` attaches
/// gdb: the same symbols, source paths, architecture and server.
fn vscode_configuration(gdb: &Path, start: &GdbStart<'_>) -> serde_json::Value {
    let mut setup = vec![serde_json::json!({"text": format!("set architecture {}", start.arch.gdb_architecture)})];
    if let GdbServer::Kernel { .. } = start.server {
        setup.extend(start.arch.gdbstub.gdb_setup.iter().map(|command| serde_json::json!({"text": command})));
    }
    setup.push(serde_json::json!({"text": format!("directory {}", start.sources.checkout.display())}));
    serde_json::json!({
        "name": format!("kernel ({}, {})", start.arch, match start.server {
            GdbServer::Qemu { .. } => "QEMU's GDB server",
            GdbServer::Kernel { .. } => "the kernel's stub",
        }),
        "type": "cppdbg",
        "request": "launch",
        "program": start.elf.display().to_string(),
        "cwd": start.sources.checkout.display().to_string(),
        "MIMode": "gdb",
        "miDebuggerPath": gdb.display().to_string(),
        "miDebuggerServerAddress": format!("127.0.0.1:{}", start.server.port()),
        "stopAtEntry": false,
        "setupCommands": setup,
        "sourceFileMap": {
            crate::build::RUST_SRC: start.sources.rust_src.display().to_string(),
            ".": start.sources.checkout.display().to_string(),
        },
    })
}
