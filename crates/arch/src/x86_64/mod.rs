//! x86_64: PVH boot on QEMU's `microvm`/`q35`/`pc`, identity page tables (W^X over the image,
//! a guard page under the boot stack), COM1 16550 serial, `isa-debug-exit`, the TSC as the
//! counter, the local APIC where IA32_APIC_BASE says and the CPUs the ACPI MADT lists, and an
//! IDT for CPU exceptions.

mod acpi;
mod apic;
#[cfg(feature = "gdbstub")]
pub mod gdb;
mod paging;
mod pvh;
mod recover;
mod segments;
pub mod smp;
#[cfg(feature = "ktest")]
mod tests;
pub mod timer;

mod traps;

pub use recover::RecoverySlot;
pub use traps::TrapFrame;

use crate::IrqMutex;
use crate::{BootInfo, ExitCode};
use core::num::NonZeroU64;
use kernel_abi::isa_debug_exit;
use spin::Once;
use uart_16550::{Config, Uart16550, backend::PioBackend};
use x86_64::instructions::port::Port;

core::arch::global_asm!(include_str!("boot.S"), options(att_syntax));
core::arch::global_asm!(include_str!("trampoline.S"), options(att_syntax));

pub const NAME: &str = "x86_64";

const COM1: u16 = 0x3f8;

// SAFETY: COM1 is the standard PC serial port; only the console uses it.
static SERIAL: IrqMutex<Uart16550<PioBackend>> = IrqMutex::new(match unsafe { Uart16550::new_port(COM1) } {
    Ok(uart) => uart,
    Err(_) => panic!("COM1 is a valid port"),
});

/// Rust entry from `boot.S`, in long mode on the boot stack.
#[unsafe(no_mangle)]
extern "C" fn x86_64_entry(start_info: u32) -> ! {
    // Ignoring a failure: on QEMU the port is there; without it, output is lost anyway.
    let _ = SERIAL.lock().init(Config::default());
    segments::init(0, 0);
    traps::init();
    // SAFETY: the PVH boot protocol puts a valid start_info at this address, identity-mapped,
    // and the RSDP it names leads to firmware's tables, untouched so far.
    let acpi = unsafe { acpi::init(pvh::rsdp(start_info as usize)) };
    smp::init_boot_cpu(acpi.madt.as_ref());
    paging::init();
    // SAFETY: the PVH boot protocol puts a valid start_info at this address, identity-mapped.
    let (cmdline, memory) = unsafe { (pvh::cmdline(start_info as usize), pvh::memory_map(start_info as usize)) };
    crate::kernel::main(BootInfo { method: "PVH, 64-bit long mode", cmdline, memory })
}

pub fn console_write(bytes: &[u8]) {
    SERIAL.lock().send_bytes_exact(bytes);
}

/// `console_write` for a trap handler: without waiting for the lock if the interrupted code
/// holds it (a second handle on the same port, byte by byte; the lines may interleave).
pub fn console_write_from_trap(bytes: &[u8]) {
    match SERIAL.try_lock() {
        Some(mut serial) => serial.send_bytes_exact(bytes),
        // SAFETY: COM1, as for SERIAL; the handle keeps no state the port depends on.
        None => match unsafe { Uart16550::new_port(COM1) } {
            Ok(mut serial) => serial.send_bytes_exact(bytes),
            Err(_) => unreachable!("COM1 is a valid port"),
        },
    }
}

pub fn exit(code: ExitCode) -> ! {
    crate::kernel::exiting(code);
    // SAFETY: writing the exit device ends QEMU; without the device the write is ignored.
    unsafe { Port::<u32>::new(isa_debug_exit::PORT).write(isa_debug_exit::BASE | u32::from(code.code())) };
    // Under TCG the exit device takes effect asynchronously: stop here until it does.
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}

pub fn ticks() -> u64 {
    // SAFETY: RDTSC has no side effects; CR4.TSD is clear, so it is allowed at any level.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// The TSC frequency, measured once against the PIT's channel 0 (1.193182 MHz), or None
/// on a machine without a PIT.
pub fn ticks_per_second() -> Option<NonZeroU64> {
    static FREQUENCY: Once<Option<NonZeroU64>> = Once::new();
    *FREQUENCY.call_once(calibrate_tsc)
}

fn calibrate_tsc() -> Option<NonZeroU64> {
    const PIT_HZ: u64 = 1_193_182;
    const PIT_TICKS: u16 = 5966; // 5 ms
    let mut command: Port<u8> = Port::new(0x43);
    let mut channel0: Port<u8> = Port::new(0x40);
    // SAFETY: channel 0 of the PIT is not used by anything else in the kernel (interrupts
    // stay off); programming it only changes what it counts.
    let mut read_count = || unsafe {
        command.write(0b0000_0000); // latch channel 0
        let low = channel0.read();
        let high = channel0.read();
        u16::from_le_bytes([low, high])
    };
    // SAFETY: as above.
    unsafe {
        Port::<u8>::new(0x43).write(0b0011_0100); // channel 0, low then high byte, mode 2
        Port::<u8>::new(0x40).write(0xff);
        Port::<u8>::new(0x40).write(0xff);
    }
    let start_count = read_count();
    let start = ticks();
    loop {
        // Mode 2 counts down from 0xffff and reloads: the wrapping difference is the time.
        let elapsed_pit = start_count.wrapping_sub(read_count());
        let elapsed_tsc = ticks() - start;
        if elapsed_pit >= PIT_TICKS {
            return NonZeroU64::new(elapsed_tsc * PIT_HZ / u64::from(elapsed_pit));
        }
        // Without a PIT the count never moves (unassigned ports read 0xff): give up after
        // far more than 5 ms of any plausible TSC.
        if elapsed_tsc > 10_000_000_000 {
            return None;
        }
    }
}

pub fn undefined_instruction() -> ! {
    // SAFETY: UD2 raises #UD, which the IDT reports as a fatal fault.
    unsafe { core::arch::asm!("ud2", options(noreturn)) }
}

/// The current frame pointer (rbp).
#[inline(always)]
pub fn frame_pointer() -> usize {
    let frame_pointer: usize;
    // SAFETY: reading a register has no side effects.
    unsafe { core::arch::asm!("mov {}, rbp", out(reg) frame_pointer, options(nomem, nostack, preserves_flags)) };
    frame_pointer
}

/// x86_64 frame record: `[rbp]` = the caller's rbp, `[rbp + 8]` = the return address.
pub fn frame_record(frame_pointer: usize, stack: &core::ops::Range<usize>) -> Option<(usize, usize)> {
    crate::read_record(frame_pointer, stack)
}

/// Executes a breakpoint instruction; the trap handler counts it and resumes after it.
///
/// What it clobbers, as declared: no register (the trap entry saves and restores every general register; the kernel uses no FP or SSE register (soft-float)); memory, since the
/// handler writes its counters and a debugger may write anything (so no `nomem`); the stack
/// below sp, where the trap pushes its frame (so no `nostack`). A debugger that changes
/// registers on purpose is beyond what any declaration can say.
pub fn breakpoint() {
    // SAFETY: the trap handler returns from a breakpoint with every register as it was.
    unsafe { core::arch::asm!("int3", options(preserves_flags)) };
}

/// Loads an empty IDT and raises an exception: with no way to deliver it, nor the double
/// fault that follows, the CPU triple-faults.
pub fn triple_fault() -> ! {
    let empty = x86_64::structures::DescriptorTablePointer { limit: 0, base: x86_64::VirtAddr::new(0) };
    // SAFETY: deliberately fatal; this is what the self-test exists for.
    unsafe {
        x86_64::instructions::tables::lidt(&empty);
        core::arch::asm!("int3", options(noreturn));
    }
}

/// Clears rflags.IF; true if it was set.
pub fn interrupts_disable() -> bool {
    let enabled = x86_64::instructions::interrupts::are_enabled();
    x86_64::instructions::interrupts::disable();
    enabled
}

/// Sets rflags.IF.
pub fn interrupts_enable() {
    x86_64::instructions::interrupts::enable();
}

/// Called with interrupts masked: waits for an interrupt and lets the handler take it (STI's
/// one-instruction shadow makes `sti; hlt` atomic, so one arriving in between still wakes
/// the HLT), then masks again.
pub fn wait_for_interrupt() {
    x86_64::instructions::interrupts::enable_and_hlt();
    x86_64::instructions::interrupts::disable();
}
