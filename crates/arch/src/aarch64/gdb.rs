//! What the GDB stub needs from aarch64 (the `gdbstub` feature): the register layout, BRK,
//! single-step with the debug architecture's software step (MDSCR_EL1.SS), and a virtio
//! console as the port (`virt` has one UART).

use super::traps::TrapFrame;
use gdbstub_arch::aarch64::reg::AArch64CoreRegs;
use mm::Region;

pub use crate::virtio_console::Port;

pub type Arch = gdbstub_arch::aarch64::AArch64;
pub type Registers = AArch64CoreRegs;

/// aarch64 steps in hardware: MDSCR_EL1.SS with SPSR.SS, taken at EL1 with MDSCR_EL1.KDE.
pub const HARDWARE_SINGLE_STEP: bool = true;

const SPSR_SS: u64 = 1 << 21;
/// PSTATE.D: debug exceptions masked.
const SPSR_D: u64 = 1 << 9;
const MDSCR_SS: u64 = 1 << 0;
const MDSCR_KDE: u64 = 1 << 13;

/// x0..x30, pc, cpsr, v0..v31, fpcr and fpsr from the frame; sp is where the interrupted
/// code's stack was (the frame keeps it: vectors.S may have put the frame elsewhere).
pub fn read_registers(frame: &TrapFrame, registers: &mut Registers) {
    registers.x = frame.x;
    registers.sp = frame.sp;
    registers.pc = frame.elr;
    registers.cpsr = frame.spsr as u32;
    registers.v = frame.q;
    // Swapped on purpose: gdbstub_arch 0.3.3 describes fpsr before fpcr in its target XML
    // (so gdb numbers them in that order) but serializes its `fpcr` field first. Checked
    // with gdb: written the other way, `set $fpsr` lands in FPCR.
    registers.fpcr = frame.fpsr as u32;
    registers.fpsr = frame.fpcr as u32;
}

/// x0..x30, pc, cpsr and the FP/SIMD registers; sp (the frame's, which the return restores)
/// stays.
pub fn write_registers(frame: &mut TrapFrame, registers: &Registers) {
    frame.x = registers.x;
    frame.elr = registers.pc;
    frame.spsr = u64::from(registers.cpsr);
    frame.q = registers.v;
    // Swapped: see `read_registers`.
    frame.fpsr = u64::from(registers.fpcr);
    frame.fpcr = u64::from(registers.fpsr);
}

pub fn set_pc(frame: &mut TrapFrame, pc: u64) {
    frame.elr = pc;
}

pub fn set_single_step(frame: &mut TrapFrame, on: bool) {
    let mut mdscr: u64;
    // SAFETY: MDSCR_EL1 only controls debug events, which only this stub uses. Clearing the
    // OS lock (set at reset) lets the step exception be taken.
    unsafe {
        core::arch::asm!("msr oslar_el1, xzr", "mrs {}, mdscr_el1", out(reg) mdscr, options(nomem, nostack));
        mdscr = if on { mdscr | MDSCR_SS | MDSCR_KDE } else { mdscr & !MDSCR_SS };
        core::arch::asm!("msr mdscr_el1, {}", "isb", in(reg) mdscr, options(nomem, nostack));
    }
    frame.spsr = if on { (frame.spsr | SPSR_SS) & !SPSR_D } else { frame.spsr & !SPSR_SS };
}

/// `brk #0`, whatever size gdb asks for (always 4).
pub fn breakpoint_instruction(_kind: usize) -> Option<&'static [u8]> {
    const BRK_0: [u8; 4] = 0xd420_0000u32.to_le_bytes();
    Some(&BRK_0)
}

/// The new instructions were stored through the writable alias: clean those data cache
/// lines to the point of unification, then make the instruction cache forget what it held.
pub fn instructions_changed(address: usize, len: usize) {
    let alias = writable_alias(address);
    let cache_type: u64;
    // SAFETY: reading CTR_EL0 has no side effects.
    unsafe { core::arch::asm!("mrs {}, ctr_el0", out(reg) cache_type, options(nomem, nostack)) };
    let line = 4usize << ((cache_type >> 16) & 0xf);
    for line_address in (alias / line * line..alias + len).step_by(line) {
        // SAFETY: cleaning a line writes back what the stub stored; no other effect.
        unsafe { core::arch::asm!("dc cvau, {}", in(reg) line_address, options(nostack)) };
    }
    // SAFETY: cache maintenance has no effect on the program's state.
    unsafe { core::arch::asm!("dsb ish", "ic iallu", "dsb ish", "isb", options(nostack)) };
}

/// The guard page under the boot stack (not mapped: reading it would fault in the stub).
pub fn inaccessible() -> Option<Region> {
    let guard = super::paging::stack_guard();
    Some(Region::new(guard.start, guard.end))
}

/// Where to write to change `address`: code is mapped read-execute, so through the
/// writable alias of RAM (paging.rs).
pub fn writable_alias(address: usize) -> usize {
    super::paging::writable_alias(address)
}
