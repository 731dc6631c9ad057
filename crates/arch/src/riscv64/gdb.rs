//! What the GDB stub needs from riscv64 (the `gdbstub` feature): the register layout (with
//! the FPU: `gdb_registers.rs`), EBREAK, and a virtio console as the port (`virt` has one
//! UART).
//!
//! No single-step: RISC-V has none in S-mode (the debug spec's step is for an external
//! debugger, in Debug Mode). The stub does not offer it, and gdb steps in software instead,
//! with breakpoints at the next instructions; gdb does that for riscv64 only with the
//! GNU/Linux OS ABI (`set osabi GNU/Linux`), which `cargo xtask gdb` sets.

use super::traps::TrapFrame;
use mm::Region;

pub use super::gdb_registers::{Registers, Riscv64 as Arch};
pub use crate::virtio_console::Port;

pub const HARDWARE_SINGLE_STEP: bool = false;

/// x1..x31 and pc (x2, sp, is where the interrupted code's stack was), f0..f31 and fcsr.
pub fn read_registers(frame: &TrapFrame, registers: &mut Registers) {
    registers.x = frame.x;
    registers.x[0] = 0;
    registers.pc = frame.sepc;
    registers.f = frame.f;
    registers.fcsr = frame.fcsr as u32;
}

/// x1..x31 but sp (restored by the trap's own arithmetic), pc, f0..f31 and fcsr (which the
/// trap's return restores).
pub fn write_registers(frame: &mut TrapFrame, registers: &Registers) {
    let sp = frame.x[2];
    frame.x = registers.x;
    frame.x[2] = sp;
    frame.sepc = registers.pc;
    frame.f = registers.f;
    frame.fcsr = u64::from(registers.fcsr);
}

pub fn set_pc(frame: &mut TrapFrame, pc: u64) {
    frame.sepc = pc;
}

/// Nothing to arm: see the module's documentation.
pub fn set_single_step(_frame: &mut TrapFrame, _on: bool) {}

/// `c.ebreak` where gdb asks for 2 bytes (a compressed instruction is there), `ebreak` for 4.
pub fn breakpoint_instruction(kind: usize) -> Option<&'static [u8]> {
    const C_EBREAK: [u8; 2] = 0x9002u16.to_le_bytes();
    const EBREAK: [u8; 4] = 0x0010_0073u32.to_le_bytes();
    match kind {
        2 => Some(&C_EBREAK),
        4 => Some(&EBREAK),
        _ => None,
    }
}

/// Makes this hart fetch the new instructions.
pub fn instructions_changed(_address: usize, _len: usize) {
    // SAFETY: FENCE.I only orders instruction fetches after the stores before it.
    unsafe { core::arch::asm!("fence.i", options(nostack)) };
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
