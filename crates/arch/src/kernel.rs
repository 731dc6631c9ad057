//! The kernel above the arch layer, as the arch's boot code and trap handlers call it: its
//! entry and a [`Kernel`] implementation, both registered by the kernel with [`entry!`].
//!
//! The registration is a pair of unmangled functions the kernel defines and this crate
//! declares (the `crate_interface` pattern of ArceOS, written by hand): the arch layer
//! needs no import of the kernel, so there is no cycle between the crates, and a kernel
//! that forgets `entry!` fails to link, naming `__arch_kernel_main`.

use crate::{BootInfo, ExitCode, Fault, Signal, TrapFrame};

/// What the arch layer asks of the kernel. Only [`Kernel::fault`] has no default.
pub trait Kernel: Sync {
    /// A CPU exception the trap handler cannot return from (the kernel reports it and ends
    /// the boot).
    fn fault(&self, fault: Fault<'_>) -> !;

    /// A breakpoint instruction compiled into the kernel (`breakpoint()`) trapped; the
    /// handler steps over it and returns after this.
    fn breakpoint_returned(&self) {}

    /// A periodic timer interrupt (`timer_start`) arrived.
    fn timer_tick(&self) {}

    /// A breakpoint instruction at `address` trapped: true if the kernel's debugger put it
    /// there (it has then served the debugger, and the frame's pc is where to resume).
    fn debugger_breakpoint(&self, _frame: &mut TrapFrame, _address: usize) -> bool {
        false
    }

    /// The CPU stopped for `signal`: after a compiled-in breakpoint, and before the fatal
    /// path of an exception. True if a debugger resumed the CPU (the handler returns).
    fn debugger_stop(&self, _frame: &mut TrapFrame, _signal: Signal) -> bool {
        false
    }

    /// A single step the debugger asked for finished.
    fn debugger_step_done(&self, _frame: &mut TrapFrame) {}

    /// The debugger's poll ([`debugger_poll_start`](crate::debugger_poll_start)) came round
    /// while the CPU ran: the kernel's debugger may look at its port (a Ctrl-C from gdb) and
    /// stop the CPU here, in the interrupted state.
    fn debugger_poll(&self, _frame: &mut TrapFrame) {}

    /// The boot is about to end with `code` (a connected debugger is told).
    fn exiting(&self, _code: ExitCode) {}
}

/// Registers the kernel with the arch layer: `entry!(kernel_main, &KERNEL)`, where
/// `kernel_main: fn(arch::BootInfo) -> !` is what the boot code calls once and `KERNEL` a
/// `static` implementing [`Kernel`]. Once per kernel, in its binary crate.
#[macro_export]
macro_rules! entry {
    ($main:path, $kernel:expr) => {
        /// The kernel's entry, called by the arch's boot code (`arch::entry!`).
        #[unsafe(no_mangle)]
        extern "Rust" fn __arch_kernel_main(boot: $crate::BootInfo) -> ! {
            let main: fn($crate::BootInfo) -> ! = $main;
            main(boot)
        }

        /// The kernel's hooks, called by the arch's trap handlers (`arch::entry!`).
        #[unsafe(no_mangle)]
        extern "Rust" fn __arch_kernel() -> &'static dyn $crate::Kernel {
            $kernel
        }
    };
}

unsafe extern "Rust" {
    /// Defined by `entry!` in the kernel.
    fn __arch_kernel_main(boot: BootInfo) -> !;
    /// Defined by `entry!` in the kernel.
    fn __arch_kernel() -> &'static dyn Kernel;
}

fn kernel() -> &'static dyn Kernel {
    // SAFETY: `entry!` defines it with this signature (checked there by the compiler).
    unsafe { __arch_kernel() }
}

/// Enters the kernel from the boot code.
pub(crate) fn main(boot: BootInfo) -> ! {
    // SAFETY: as for `kernel`.
    unsafe { __arch_kernel_main(boot) }
}

pub(crate) fn fault(fault: Fault<'_>) -> ! {
    kernel().fault(fault)
}

pub(crate) fn breakpoint_returned() {
    kernel().breakpoint_returned();
}

pub(crate) fn timer_tick() {
    kernel().timer_tick();
}

pub(crate) fn debugger_breakpoint(frame: &mut TrapFrame, address: usize) -> bool {
    kernel().debugger_breakpoint(frame, address)
}

pub(crate) fn debugger_stop(frame: &mut TrapFrame, signal: Signal) -> bool {
    kernel().debugger_stop(frame, signal)
}

#[allow(dead_code)] // an arch without single-step (riscv64) never finishes one
pub(crate) fn debugger_step_done(frame: &mut TrapFrame) {
    kernel().debugger_step_done(frame);
}

pub(crate) fn debugger_poll(frame: &mut TrapFrame) {
    kernel().debugger_poll(frame);
}

pub(crate) fn exiting(code: ExitCode) {
    kernel().exiting(code);
}
