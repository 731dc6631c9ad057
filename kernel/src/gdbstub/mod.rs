//! The in-kernel GDB stub (the `gdbstub` feature): the kernel debugs itself over a second
//! serial port, with gdb's remote protocol (the `gdbstub` crate), wherever it runs.
//!
//! It is entered from the arch's trap handlers, on the interrupted CPU state (the arch's
//! `TrapFrame`), and serves the debugger until it resumes the CPU:
//! - a breakpoint the debugger set ([`breakpoint`]); a breakpoint instruction compiled into
//!   the kernel and a finished single step ([`stop`]);
//! - a fatal CPU exception ([`stop`] with its signal), before the kernel's fatal path: if the
//!   debugger resumes, the trap returns to whatever state it left;
//! - at boot with `gdbstub.wait` ([`init`]), through a compiled-in breakpoint.
//!
//! - gdb's Ctrl-C, or a debugger attaching to a running kernel ([`poll`]): while the CPU
//!   runs, the arch's timer interrupts it [`POLL_HZ`] times a second (`arch::debugger_poll_start`)
//!   and the stub looks at its port; a byte there stops the CPU in the interrupted state
//!   (SIGINT for a Ctrl-C).
//!
//! One CPU, no threads: the stub's state is in one lock, the poll runs on the boot CPU only,
//! and a trap inside the stub itself (which would deadlock) goes to the fatal path instead.
//!
//! The trap path neither allocates nor waits for the console: the breakpoint table and the
//! packet buffer are fixed, an error's text goes into a fixed buffer, and messages go out
//! through `console::print_from_trap` (the stopped code may hold the heap's or the console's
//! lock).
//!
//! Per arch (`arch::gdb`): the register layout and target description (`gdbstub_arch`),
//! reading and writing a trap frame's registers, the breakpoint instruction, single-step
//! (none on riscv64: gdb steps in software there), and the port.

mod target;
#[cfg(any(test, feature = "ktest"))]
mod tests;

pub use arch::Signal;

use arch::TrapFrame;
use core::fmt::{self, Write as _};
use gdbstub::conn::{Connection, ConnectionExt};
use gdbstub::stub::state_machine::GdbStubStateMachine;
use gdbstub::stub::{DisconnectReason, GdbStubBuilder, SingleThreadStopReason};
use kernel_abi::cmdline::GdbStub as Mode;
use mm::MemoryMap;
use spin::Mutex;
use target::{KernelTarget, Resume};

/// The stub's state between stops; `None` until `init` finds the port.
static STUB: Mutex<Option<Stub>> = Mutex::new(None);
/// The port, with a byte `peek` took from it; `None` until `init` finds it.
static PORT: Mutex<Option<(arch::gdb::Port, Option<u8>)>> = Mutex::new(None);

struct Stub {
    /// The protocol's state: `None` while no debugger is connected (or after it left).
    machine: Option<Machine<Link>>,
    target: KernelTarget,
}

// SAFETY: one CPU; the stub is only reached through the STUB lock.
unsafe impl Send for Stub {}

type Machine<C> = GdbStubStateMachine<'static, KernelTarget, C>;
type StopReason = SingleThreadStopReason<u64>;

/// How often a running kernel looks at the stub's port: a Ctrl-C stops it within 50 ms.
pub const POLL_HZ: u32 = 20;

/// Opens the stub's port if the command line asks for the stub, starts looking at it while the
/// kernel runs, and with `gdbstub.wait` waits there for the debugger before returning.
pub fn init(mode: Mode, memory: &MemoryMap) {
    if mode == Mode::Off {
        return;
    }
    let Some(port) = arch::gdb::Port::open() else {
        println!("gdbstub: no {} for the debugger: the stub is off", arch::gdb::Port::NAME);
        return;
    };
    *PORT.lock() = Some((port, None));
    *STUB.lock() = Some(Stub { machine: None, target: KernelTarget::new(memory) });
    arch::debugger_poll_start(POLL_HZ);
    if mode == Mode::Wait {
        wait_for_debugger();
    }
}

/// Starts the poll again if the stub is on (after a test that stopped the timer's poll).
#[cfg_attr(not(feature = "ktest"), allow(dead_code))]
pub fn resume_polling() {
    if PORT.lock().is_some() {
        arch::debugger_poll_start(POLL_HZ);
    }
}

/// Where a boot with `gdbstub.wait` stops first: `finish` returns to `kernel_main`.
#[inline(never)]
fn wait_for_debugger() {
    println!("gdbstub: waiting for the debugger on the {}", arch::gdb::Port::NAME);
    arch::breakpoint();
    println!("gdbstub: the debugger let the kernel run");
}

/// A breakpoint instruction at `address` trapped. If the debugger put it there, serves the
/// debugger (the frame's pc is the breakpoint's address) and returns true; otherwise
/// (one compiled into the kernel) returns false.
pub fn breakpoint(frame: &mut TrapFrame, address: usize) -> bool {
    let ours =
        STUB.try_lock().is_some_and(|stub| stub.as_ref().is_some_and(|stub| stub.target.has_breakpoint(address)));
    if ours {
        arch::gdb::set_pc(frame, address as u64);
        serve(frame, StopReason::SwBreak(()));
    }
    ours
}

/// The CPU stopped for `signal` (a compiled-in breakpoint, after the arch stepped over it, or
/// a fatal exception). Serves the debugger if the stub is on and returns true once it resumes
/// the CPU; false if the stub is off or the debugger left (the caller goes on as without it).
pub fn stop(frame: &mut TrapFrame, signal: Signal) -> bool {
    serve(frame, StopReason::Signal(gdbstub::common::Signal(signal.number())))
}

/// The arch's poll while the CPU runs: a byte from the debugger stops the CPU here. A Ctrl-C
/// (0x03) while it ran stops it with SIGINT; a debugger that was not connected (attaching to
/// a running kernel) finds it stopped where it was. Anything else a running debugger sends
/// goes to the protocol as it would while stopped.
pub fn poll(frame: &mut TrapFrame) {
    let stopped = {
        // A trap inside the stub itself finds the lock taken: the stub is serving already.
        let Some(mut guard) = STUB.try_lock() else { return };
        let Some(stub) = guard.as_mut() else { return };
        let Ok(Some(byte)) = Link.peek() else { return };
        match stub.machine.take() {
            Some(GdbStubStateMachine::Running(running)) => {
                let Ok(byte) = Link.read() else { return };
                match running.incoming_data(&mut stub.target, byte) {
                    Ok(machine) => {
                        let interrupted = matches!(machine, GdbStubStateMachine::CtrlCInterrupt(_));
                        stub.machine = Some(machine);
                        interrupted
                    }
                    Err(error) => {
                        trap_println(format_args!("gdbstub: protocol error, the debugger is disconnected: {error:?}"));
                        false
                    }
                }
            }
            // No debugger yet (or it left): one attaching sends a packet, and finds the CPU
            // stopped here. A lone acknowledgement ('+', '-') a leaving debugger sent last
            // is dropped: serving it would wait for packets that never come.
            None if byte == b'$' || byte == 0x03 => true,
            None => {
                let _ = Link.read();
                false
            }
            other => {
                stub.machine = other;
                false
            }
        }
    };
    if stopped {
        serve(frame, StopReason::Signal(gdbstub::common::Signal::SIGINT));
    }
}

/// A single step the stub asked for finished. False if it was not the stub's.
#[allow(dead_code)] // an arch without single-step (riscv64) never finishes one
pub fn step_done(frame: &mut TrapFrame) -> bool {
    serve(frame, StopReason::DoneStep)
}

/// The kernel is about to end with `code`: a connected debugger is told so (`W` packet).
pub fn exiting(code: kernel_abi::ExitCode) {
    let Some(mut guard) = STUB.try_lock() else { return };
    let Some(stub) = guard.as_mut() else { return };
    if let Some(GdbStubStateMachine::Running(running)) = stub.machine.take() {
        let _ = running.report_stop(&mut stub.target, StopReason::Exited(code.code()));
        let _ = Link.flush();
    }
}

/// Serves the debugger until it resumes the CPU. True if it did (the frame holds what it
/// left; single-step armed if asked), false if there is no stub or the debugger detached.
fn serve(frame: &mut TrapFrame, reason: StopReason) -> bool {
    // A trap inside the stub itself finds the lock taken: that one is not the debugger's.
    let Some(mut guard) = STUB.try_lock() else { return false };
    let Some(stub) = guard.as_mut() else { return false };
    arch::gdb::set_single_step(frame, false);
    let machine = match stub.machine.take() {
        Some(machine) => machine,
        // SAFETY: only one machine exists at a time, and there is none now (`machine` was
        // None): nothing else refers to the buffer.
        None => match GdbStubBuilder::new(Link)
            .with_packet_buffer(unsafe { core::slice::from_raw_parts_mut((&raw mut PACKET_BUFFER).cast::<u8>(), 4096) })
            .build()
            .map_err(|error| ErrorText::from(format_args!("{error:?}")))
            .and_then(|gdb| {
                gdb.run_state_machine(&mut stub.target).map_err(|error| ErrorText::from(format_args!("{error:?}")))
            }) {
            Ok(machine) => machine,
            Err(error) => {
                trap_println(format_args!("gdbstub: cannot start the protocol: {error}"));
                return false;
            }
        },
    };
    stub.target.stopped_at(frame);
    let outcome = session(machine, &mut stub.target, reason);
    stub.target.resumed();
    match outcome {
        Ok(Session::Resumed(machine)) => {
            stub.machine = Some(machine);
            arch::gdb::set_single_step(frame, stub.target.resume() == Resume::Step);
            true
        }
        Ok(Session::Ended(gone)) => {
            stub.target.remove_all_breakpoints();
            if matches!(gone, GdbStubStateMachine::Disconnected(gone) if gone.get_reason() == DisconnectReason::Kill) {
                trap_println(format_args!("gdbstub: the debugger killed the kernel"));
                drop(guard);
                arch::exit(kernel_abi::ExitCode::Panic);
            }
            trap_println(format_args!("gdbstub: the debugger detached"));
            false
        }
        Err(error) => {
            stub.target.remove_all_breakpoints();
            trap_println(format_args!("gdbstub: protocol error, the debugger is disconnected: {error}"));
            false
        }
    }
}

/// How a stop ended.
enum Session<C: ConnectionExt<Error = &'static str>> {
    /// The debugger resumed the CPU (continue or step, in the target's `resume`).
    Resumed(Machine<C>),
    /// The debugger left (detach, kill, a lost connection): a `Disconnected` machine.
    Ended(Machine<C>),
}

/// Reports the stop to a waiting debugger, then serves its packets until it resumes the
/// CPU or leaves. Generic over the connection: the loopback test runs it too.
fn session<C: ConnectionExt<Error = &'static str>>(
    machine: Machine<C>,
    target: &mut KernelTarget,
    reason: StopReason,
) -> Result<Session<C>, ErrorText> {
    let format = |args: fmt::Arguments<'_>| ErrorText::from(args);
    let mut machine = match machine {
        GdbStubStateMachine::Running(running) => running.report_stop(target, reason),
        GdbStubStateMachine::CtrlCInterrupt(interrupted) => interrupted.interrupt_handled(target, Some(reason)),
        GdbStubStateMachine::Disconnected(gone) => Ok(gone.return_to_idle()),
        idle @ GdbStubStateMachine::Idle(_) => Ok(idle),
    }
    .map_err(|error| format(format_args!("{error:?}")))?;
    loop {
        machine = match machine {
            GdbStubStateMachine::Idle(mut idle) => {
                let byte =
                    idle.borrow_conn().read().map_err(|error| format(format_args!("reading the port: {error:?}")))?;
                idle.incoming_data(target, byte)
            }
            running @ GdbStubStateMachine::Running(_) => return Ok(Session::Resumed(running)),
            GdbStubStateMachine::CtrlCInterrupt(interrupted) => {
                let reason = StopReason::Signal(gdbstub::common::Signal::SIGINT);
                interrupted.interrupt_handled(target, Some(reason))
            }
            gone @ GdbStubStateMachine::Disconnected(_) => return Ok(Session::Ended(gone)),
        }
        .map_err(|error| format(format_args!("{error:?}")))?;
    }
}

/// The protocol's packet buffer (gdbstub's default is a 4 KiB `Vec`).
static mut PACKET_BUFFER: [u8; 4096] = [0; 4096];

/// Prints a line from the trap path: never waits for the console's lock, never allocates.
fn trap_println(args: fmt::Arguments<'_>) {
    crate::console::print_from_trap(format_args!("{args}\n"));
}

/// An error's text, in a fixed buffer (the trap path does not allocate); cut if too long.
pub struct ErrorText {
    bytes: [u8; 104],
    len: usize,
}

impl From<fmt::Arguments<'_>> for ErrorText {
    fn from(args: fmt::Arguments<'_>) -> ErrorText {
        let mut text = ErrorText { bytes: [0; 104], len: 0 };
        let _ = text.write_fmt(args);
        text
    }
}

impl fmt::Write for ErrorText {
    fn write_str(&mut self, piece: &str) -> fmt::Result {
        for character in piece.chars() {
            let mut encoded = [0; 4];
            let encoded = character.encode_utf8(&mut encoded).as_bytes();
            if self.len + encoded.len() > self.bytes.len() {
                break;
            }
            self.bytes[self.len..self.len + encoded.len()].copy_from_slice(encoded);
            self.len += encoded.len();
        }
        Ok(())
    }
}

impl fmt::Display for ErrorText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("?"))
    }
}

impl fmt::Debug for ErrorText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The connection over the arch's port.
struct Link;

fn with_port<R>(f: impl FnOnce(&mut arch::gdb::Port, &mut Option<u8>) -> R) -> R {
    let mut port = PORT.lock();
    let (port, stashed) = port.as_mut().expect("the stub has a port");
    f(port, stashed)
}

impl Connection for Link {
    type Error = &'static str;

    fn write(&mut self, byte: u8) -> Result<(), Self::Error> {
        with_port(|port, _| port.write(byte))
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        with_port(|port, _| port.flush())
    }
}

impl ConnectionExt for Link {
    fn read(&mut self) -> Result<u8, Self::Error> {
        loop {
            if let Some(byte) =
                with_port(|port, stashed| stashed.take().map_or_else(|| port.read(), |byte| Ok(Some(byte))))?
            {
                return Ok(byte);
            }
            core::hint::spin_loop();
        }
    }

    fn peek(&mut self) -> Result<Option<u8>, Self::Error> {
        with_port(|port, stashed| {
            if stashed.is_none() {
                *stashed = port.read()?;
            }
            Ok(*stashed)
        })
    }
}
