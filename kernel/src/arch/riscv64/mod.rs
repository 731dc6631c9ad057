//! riscv64: QEMU `virt` in S-mode under OpenSBI, 16550 serial, semihosting exit, the
//! `time` CSR as the counter (frequency from the device tree), and an stvec trap handler.

#[cfg(any(feature = "gdbstub", test))]
pub mod gdb;
mod timer;

pub use timer::{start as timer_start, stop as timer_stop};
mod traps;

pub use traps::TrapFrame;

use super::devicetree;
use crate::{BootInfo, ExitCode};
use core::num::{NonZeroU64, NonZeroUsize};
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;
use uart_16550::{Config, Uart16550, backend::MmioBackend};

core::arch::global_asm!(include_str!("boot.S"));

pub const NAME: &str = "riscv64";

/// The virt board's 16550, registers one byte apart.
const UART_BASE: usize = 0x1000_0000;

// SAFETY: the virt board's UART is at UART_BASE (paging off: physical addresses).
static SERIAL: Mutex<Uart16550<MmioBackend>> =
    Mutex::new(match unsafe { Uart16550::new_mmio_from_address(NonZeroUsize::new(UART_BASE).unwrap(), 1) } {
        Ok(uart) => uart,
        Err(_) => panic!("the virt UART address is valid"),
    });

/// `/cpus/timebase-frequency` from the device tree (0: unknown).
static TIMEBASE_HZ: AtomicU64 = AtomicU64::new(0);

/// Rust entry from `boot.S`, on the boot stack.
#[unsafe(no_mangle)]
extern "C" fn riscv64_entry(_hart: usize, device_tree: usize) -> ! {
    // Ignoring a failure: on QEMU the UART is there; without it, output is lost anyway.
    let _ = SERIAL.lock().init(Config::default());
    traps::init();
    // SAFETY: OpenSBI passes the address of the device tree in a1.
    let tree = unsafe { devicetree::at(device_tree) };
    let cmdline = tree.as_ref().map(devicetree::bootargs).unwrap_or("");
    if let Some(cpu) = tree.as_ref().and_then(|tree| tree.cpus().next()) {
        TIMEBASE_HZ.store(cpu.timebase_frequency() as u64, Ordering::Relaxed);
    }
    let memory = tree.as_ref().map(|tree| devicetree::memory_map(tree, device_tree)).unwrap_or_default();
    crate::kernel_main(BootInfo { method: "S-mode under OpenSBI, device tree in a1", cmdline, memory })
}

pub fn console_write(bytes: &[u8]) {
    SERIAL.lock().send_bytes_exact(bytes);
}

pub fn exit(code: ExitCode) -> ! {
    crate::gdbstub::exiting(code);
    semihosting::process::exit(i32::from(code.code()))
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
    crate::backtrace::read_record(frame_pointer.checked_sub(16)?, stack)
}

/// Executes a breakpoint instruction; the trap handler counts it and resumes after it.
pub fn breakpoint() {
    // SAFETY: the trap handler returns from a breakpoint.
    unsafe { core::arch::asm!("ebreak") };
}
