//! The kernel as the crates below it see it: the hooks the arch layer's trap handlers call
//! (`arch::Kernel`: the fatal path, the counters, the GDB stub), what the test runner needs
//! (`ktest::Platform`: console, exit, counter, recovery from a panicking test, the heap in
//! use), and running the tests a command line asks for.

use crate::{ExitCode, fatal, gdbstub, interrupts};
use arch::{Fault, Signal, TrapFrame};
use core::cell::UnsafeCell;
use core::num::NonZeroU64;
use kernel_abi::cmdline::Request;

/// Where the test runner's `call_recoverable` saves what `abandon_test` returns to: one,
/// since tests do not nest.
struct Recovery(UnsafeCell<arch::RecoverySlot>);

// SAFETY: the slot is used only by the runner's call and the panic path inside it, both on
// CPU 0 (the runner abandons nothing a panic on another CPU left).
unsafe impl Sync for Recovery {}

static RECOVERY: Recovery = Recovery(UnsafeCell::new(arch::RecoverySlot::new()));

/// The kernel, for the arch layer and the test runner.
pub struct Kernel;

impl arch::Kernel for Kernel {
    fn fault(&self, fault: Fault<'_>) -> ! {
        fatal::fault(fault)
    }

    fn breakpoint_returned(&self) {
        interrupts::breakpoint_hit();
    }

    fn timer_tick(&self) {
        interrupts::timer_tick();
    }

    fn debugger_breakpoint(&self, frame: &mut TrapFrame, address: usize) -> bool {
        gdbstub::breakpoint(frame, address)
    }

    fn debugger_stop(&self, frame: &mut TrapFrame, signal: Signal) -> bool {
        gdbstub::stop(frame, signal)
    }

    fn debugger_step_done(&self, frame: &mut TrapFrame) {
        gdbstub::step_done(frame);
    }

    fn debugger_poll(&self, frame: &mut TrapFrame) {
        interrupts::debugger_polled();
        gdbstub::poll(frame);
    }

    fn exiting(&self, code: ExitCode) {
        gdbstub::exiting(code);
    }
}

impl ktest::Platform for Kernel {
    fn console_write(&self, bytes: &[u8]) {
        // Through the console's lock, so that test output and kernel output do not mix.
        crate::console::write_bytes(bytes);
    }

    fn exit(&self, code: ExitCode) -> ! {
        arch::exit(code)
    }

    fn ticks(&self) -> u64 {
        arch::ticks()
    }

    fn ticks_per_second(&self) -> Option<NonZeroU64> {
        arch::ticks_per_second()
    }

    fn recovers(&self) -> bool {
        true
    }

    fn call_recoverable(&self, function: extern "C" fn(*mut u8), argument: *mut u8) -> bool {
        // SAFETY: the slot is static, and only this call uses it until it returns.
        unsafe { arch::call_with_recovery(RECOVERY.0.get(), function, argument) != 0 }
    }

    fn abandon_test(&self) -> ! {
        // A test may have left the timer running; the interrupt state is the call's again.
        arch::timer_stop();
        fatal::recovered();
        // SAFETY: the runner calls this only from the panic path of the test that
        // `call_recoverable` is running, on the boot stack.
        unsafe { arch::abandon(RECOVERY.0.get()) }
    }

    fn cpu_count(&self) -> usize {
        arch::cpu_count()
    }

    fn cpu_id(&self) -> usize {
        arch::cpu_id()
    }

    fn start_cpu(&self, cpu: usize, entry: extern "C" fn(usize)) -> bool {
        match arch::start_cpu(cpu, entry) {
            Ok(()) => true,
            Err(error) => {
                println!("# CPU {cpu}: {error:?}");
                false
            }
        }
    }

    fn heap_used(&self) -> Option<usize> {
        crate::HEAP.used()
    }
}

/// Runs (or lists) the tests `request` selects, then ends the boot.
#[cfg(any(test, feature = "ktest"))]
pub fn run_tests(request: &Request<'_>) -> ! {
    ktest::run(&Kernel, request)
}

/// A normal image has no tests: says so, and ends the boot as a failure.
#[cfg(not(any(test, feature = "ktest")))]
pub fn run_tests(_request: &Request<'_>) -> ! {
    println!("# this image has no tests: build it with the `ktest` feature (`cargo xtask test`)");
    arch::exit(ExitCode::Panic)
}
