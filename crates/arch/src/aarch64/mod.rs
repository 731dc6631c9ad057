//! aarch64: QEMU `virt` at EL1, page tables with the 4 KiB granule (W^X, a guard page under
//! the boot stack), PL011 serial, semihosting exit, the generic timer's virtual counter and
//! timer through a GICv2 (the PL011 and the GIC where the device tree says), and an
//! exception vector table.

#[cfg(feature = "ktest")]
pub mod fp_test;
#[cfg(feature = "gdbstub")]
pub mod gdb;
mod gic;
mod paging;
mod pl011;
mod recover;
pub mod smp;
#[cfg(feature = "ktest")]
mod tests;
pub mod timer;

mod traps;

pub use recover::RecoverySlot;
pub use traps::TrapFrame;

use super::devicetree;
use crate::{BootInfo, ExitCode};
use core::num::NonZeroU64;

core::arch::global_asm!(include_str!("boot.S"));

pub const NAME: &str = "aarch64";

/// QEMU places the device tree here for ELF kernels on `virt` (the start of RAM), but only
/// if its 1 MiB fits below the kernel: hence the link address 0x4020_0000.
const VIRT_DEVICE_TREE: usize = 0x4000_0000;

/// Rust entry from `boot.S`, on the boot stack.
#[unsafe(no_mangle)]
extern "C" fn aarch64_entry(device_tree: usize) -> ! {
    traps::init();
    paging::init();
    let address = if device_tree != 0 { device_tree } else { VIRT_DEVICE_TREE };
    // SAFETY: RAM on virt starts at VIRT_DEVICE_TREE, so the address is readable either way.
    let tree = unsafe { devicetree::at(address) };
    let cmdline = tree.as_ref().map(devicetree::bootargs).unwrap_or("");
    // The console used the board's PL011 until here; from now on, the tree's.
    pl011::discover(tree.as_ref());
    gic::discover(tree.as_ref());
    let memory = tree.as_ref().map(|tree| devicetree::memory_map(tree, address)).unwrap_or_default();
    smp::discover(tree.as_ref());
    crate::kernel::main(BootInfo { method: "EL1, device tree from QEMU", cmdline, memory })
}

pub fn console_write(bytes: &[u8]) {
    pl011::write(bytes);
}

/// `console_write` for a trap handler: the PL011 driver holds no lock, so the same.
pub fn console_write_from_trap(bytes: &[u8]) {
    pl011::write(bytes);
}

pub fn exit(code: ExitCode) -> ! {
    crate::kernel::exiting(code);
    semihosting::process::exit(i32::from(code.code()))
}

pub fn ticks() -> u64 {
    let count: u64;
    // SAFETY: reading CNTVCT_EL0 has no side effects; EL1 may always read it.
    unsafe { core::arch::asm!("isb", "mrs {}, cntvct_el0", out(reg) count, options(nomem, nostack)) };
    count
}

pub fn ticks_per_second() -> Option<NonZeroU64> {
    let frequency: u64;
    // SAFETY: reading CNTFRQ_EL0 has no side effects.
    unsafe { core::arch::asm!("mrs {}, cntfrq_el0", out(reg) frequency, options(nomem, nostack)) };
    NonZeroU64::new(frequency)
}

pub fn undefined_instruction() -> ! {
    // SAFETY: UDF raises an undefined-instruction exception, reported as a fatal fault.
    unsafe { core::arch::asm!("udf #0", options(noreturn)) }
}

/// The current frame pointer (x29).
#[inline(always)]
pub fn frame_pointer() -> usize {
    let frame_pointer: usize;
    // SAFETY: reading a register has no side effects.
    unsafe { core::arch::asm!("mov {}, x29", out(reg) frame_pointer, options(nomem, nostack, preserves_flags)) };
    frame_pointer
}

/// AArch64 frame record: `[x29]` = the caller's x29, `[x29 + 8]` = x30 (the return address).
pub fn frame_record(frame_pointer: usize, stack: &core::ops::Range<usize>) -> Option<(usize, usize)> {
    crate::read_record(frame_pointer, stack)
}

/// Executes a breakpoint instruction; the trap handler counts it and resumes after it.
///
/// What it clobbers, as declared: no register (the trap entry saves and restores every register, q0..q31, FPCR and FPSR included); memory, since the
/// handler writes its counters and a debugger may write anything (so no `nomem`); the stack
/// below sp, where the trap pushes its frame (so no `nostack`). A debugger that changes
/// registers on purpose is beyond what any declaration can say.
pub fn breakpoint() {
    // SAFETY: the trap handler returns from a breakpoint with every register as it was.
    unsafe { core::arch::asm!("brk #0", options(preserves_flags)) };
}

/// Masks IRQs (PSTATE.I); true if they were unmasked.
pub fn interrupts_disable() -> bool {
    let daif: u64;
    // SAFETY: reading DAIF and masking IRQs only delays interrupts.
    unsafe { core::arch::asm!("mrs {}, daif", "msr daifset, #2", out(reg) daif, options(nomem, nostack)) };
    daif & (1 << 7) == 0
}

/// Unmasks IRQs.
pub fn interrupts_enable() {
    // SAFETY: a pending IRQ is taken now, by the trap handler, which returns.
    unsafe { core::arch::asm!("msr daifclr, #2", options(nomem, nostack)) };
}

/// Called with IRQs masked: waits for an interrupt (WFI wakes on a pending IRQ even while
/// PSTATE.I masks it), lets the handler take it, and masks again.
pub fn wait_for_interrupt() {
    // SAFETY: WFI only waits; unmasking takes the pending IRQ through the trap handler,
    // which returns; masking again restores the caller's state.
    // Neither `nomem` nor `nostack`: the handler runs in between, writing memory that must
    // be read afresh and pushing its frame below sp.
    unsafe { core::arch::asm!("wfi", "msr daifclr, #2", "isb", "msr daifset, #2") };
}
