//! riscv64: QEMU `virt` in S-mode under OpenSBI, Sv39 page tables (W^X, a guard page under the
//! boot stack), 16550 serial (the device tree's console), exit through `sifive_test`, the
//! `time` CSR as the counter (frequency from the device tree), and an stvec trap handler.

#[cfg(feature = "ktest")]
pub mod fp_test;
#[cfg(feature = "gdbstub")]
pub mod gdb;
#[cfg(feature = "gdbstub")]
mod gdb_registers;
mod paging;
mod recover;
pub mod smp;
#[cfg(feature = "ktest")]
mod tests;
pub mod timer;

mod traps;
mod uart;

pub use recover::RecoverySlot;
pub use traps::TrapFrame;

use super::devicetree;
use crate::{BootInfo, ExitCode};
use core::num::NonZeroU64;
use core::sync::atomic::{AtomicU64, Ordering};
use fdt::Fdt;

core::arch::global_asm!(include_str!("boot.S"));

pub const NAME: &str = "riscv64";

/// QEMU virt's timebase (`RISCV_ACLINT_DEFAULT_TIMEBASE_FREQ`), if the tree gives none.
const BOARD_TIMEBASE_HZ: u64 = 10_000_000;

/// The counter's frequency: the device tree's `timebase-frequency`, else the board's (0: not read yet).
static TIMEBASE_HZ: AtomicU64 = AtomicU64::new(0);

/// `timebase-frequency`: the first CPU's, else `/cpus`'s, where the binding puts it for all
/// of them (what `fdt`'s `Cpu::timebase_frequency` reads, without its panic when neither
/// has one).
fn timebase_frequency(tree: &Fdt<'_>) -> Option<u64> {
    let cpus = tree.find_node("/cpus")?;
    let first_cpu = cpus.children().find(|node| node.name.split('@').next() == Some("cpu"));
    let property = first_cpu.and_then(|cpu| cpu.property("timebase-frequency"));
    Some(property.or_else(|| cpus.property("timebase-frequency"))?.as_usize()? as u64)
}

/// Rust entry from `boot.S`, on the boot stack.
#[unsafe(no_mangle)]
extern "C" fn riscv64_entry(hart: usize, device_tree: usize) -> ! {
    paging::init();
    uart::init();
    traps::init();
    // SAFETY: OpenSBI passes the address of the device tree in a1.
    let tree = unsafe { devicetree::at(device_tree) };
    // The console used the board's UART until here; from now on, the tree's.
    uart::discover(tree.as_ref());
    let cmdline = tree.as_ref().map(devicetree::bootargs).unwrap_or("");
    let timebase = tree.as_ref().and_then(timebase_frequency).unwrap_or(BOARD_TIMEBASE_HZ);
    TIMEBASE_HZ.store(timebase, Ordering::Relaxed);
    let memory = tree.as_ref().map(|tree| devicetree::memory_map(tree, device_tree)).unwrap_or_default();
    smp::discover(tree.as_ref(), hart);
    crate::kernel::main(BootInfo { method: "S-mode under OpenSBI, device tree in a1", cmdline, memory })
}

pub fn console_write(bytes: &[u8]) {
    uart::write(bytes);
}

/// `console_write` for a trap handler: never waits for the lock the interrupted code may hold.
pub fn console_write_from_trap(bytes: &[u8]) {
    uart::write_from_trap(bytes);
}

/// QEMU virt's `sifive_test` device (`exit-protocol = "sifive-test"` in targets/riscv64.toml):
/// a write of PASS ends QEMU with status 0, of `code << 16 | FAIL` with status `code`. Used
/// instead of semihosting so that QEMU runs riscv64 kernels with semihosting off, and a
/// kernel cannot reach the host's files through it.
const SIFIVE_TEST: usize = 0x10_0000;
const SIFIVE_TEST_PASS: u32 = 0x5555;
const SIFIVE_TEST_FAIL: u32 = 0x3333;

pub fn exit(code: ExitCode) -> ! {
    crate::kernel::exiting(code);
    let value = match u32::from(code.code()) {
        0 => SIFIVE_TEST_PASS,
        code => (code << 16) | SIFIVE_TEST_FAIL,
    };
    // SAFETY: the virt board has the device at SIFIVE_TEST (identity-mapped, paging.rs),
    // and OpenSBI leaves it open to S-mode; QEMU exits on the write.
    unsafe { (SIFIVE_TEST as *mut u32).write_volatile(value) };
    loop {
        core::hint::spin_loop();
    }
}

pub fn ticks() -> u64 {
    let time: u64;
    // SAFETY: reading the `time` CSR has no side effects; OpenSBI lets S-mode read it.
    unsafe { core::arch::asm!("csrr {}, time", out(reg) time, options(nomem, nostack)) };
    time
}

pub fn ticks_per_second() -> Option<NonZeroU64> {
    NonZeroU64::new(TIMEBASE_HZ.load(Ordering::Relaxed))
}

pub fn undefined_instruction() -> ! {
    // SAFETY: UNIMP raises an illegal-instruction exception, reported as a fatal fault.
    unsafe { core::arch::asm!("unimp", options(noreturn)) }
}

/// The current frame pointer (s0).
#[inline(always)]
pub fn frame_pointer() -> usize {
    let frame_pointer: usize;
    // SAFETY: reading a register has no side effects.
    unsafe { core::arch::asm!("mv {}, s0", out(reg) frame_pointer, options(nomem, nostack, preserves_flags)) };
    frame_pointer
}

/// RISC-V frame record, below the frame pointer: `[s0 - 16]` = the caller's s0,
/// `[s0 - 8]` = ra (the return address).
pub fn frame_record(frame_pointer: usize, stack: &core::ops::Range<usize>) -> Option<(usize, usize)> {
    crate::read_record(frame_pointer.checked_sub(16)?, stack)
}

/// Executes a breakpoint instruction; the trap handler counts it and resumes after it.
///
/// What it clobbers, as declared: no register (the trap entry saves and restores every register, f0..f31 and fcsr included); memory, since the
/// handler writes its counters and a debugger may write anything (so no `nomem`); the stack
/// below sp, where the trap pushes its frame (so no `nostack`). A debugger that changes
/// registers on purpose is beyond what any declaration can say.
pub fn breakpoint() {
    // SAFETY: the trap handler returns from a breakpoint with every register as it was.
    unsafe { core::arch::asm!("ebreak", options(preserves_flags)) };
}

/// Clears sstatus.SIE; true if it was set.
pub fn interrupts_disable() -> bool {
    let sstatus: usize;
    // SAFETY: clearing SIE only delays interrupts.
    unsafe { core::arch::asm!("csrrci {}, sstatus, 2", out(reg) sstatus, options(nomem, nostack)) };
    sstatus & 2 != 0
}

/// Sets sstatus.SIE.
pub fn interrupts_enable() {
    // SAFETY: a pending interrupt is taken now, by the trap handler, which returns.
    unsafe { core::arch::asm!("csrsi sstatus, 2", options(nomem, nostack)) };
}

/// Called with interrupts masked: waits for an interrupt (WFI wakes on one pending and
/// enabled in `sie` even with sstatus.SIE clear), lets the handler take it, and masks again.
pub fn wait_for_interrupt() {
    // SAFETY: WFI only waits; setting SIE takes the pending interrupt through the trap
    // handler, which returns; clearing it restores the caller's masked state.
    // Neither `nomem` nor `nostack`: the handler runs in between, writing memory that must
    // be read afresh and pushing its frame below sp.
    unsafe { core::arch::asm!("wfi", "csrsi sstatus, 2", "csrci sstatus, 2") };
}
