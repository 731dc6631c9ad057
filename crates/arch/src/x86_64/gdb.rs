//! What the GDB stub needs from x86_64 (the `gdbstub` feature): the register layout gdb
//! knows as `i386:x86-64`, INT3, single-step with rflags.TF, and COM2 as the port.

use super::traps::TrapFrame;
use gdbstub_arch::x86::reg::X86_64CoreRegs;
use mm::Region;
use uart_16550::backend::PioBackend;
use uart_16550::{Config, Uart16550};

pub type Arch = gdbstub_arch::x86::X86_64_SSE;
pub type Registers = X86_64CoreRegs;

/// The trap flag: the CPU raises a debug exception after the next instruction.
const RFLAGS_TF: u64 = 1 << 8;

/// x86 has single-step in hardware (rflags.TF).
pub const HARDWARE_SINGLE_STEP: bool = true;

pub fn read_registers(frame: &TrapFrame, registers: &mut Registers) {
    let f = frame;
    // gdb's order: rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp, r8..r15.
    registers.regs =
        [f.rax, f.rbx, f.rcx, f.rdx, f.rsi, f.rdi, f.rbp, f.rsp, f.r8, f.r9, f.r10, f.r11, f.r12, f.r13, f.r14, f.r15];
    registers.rip = f.rip;
    registers.eflags = f.rflags as u32;
    registers.segments.cs = f.cs as u32;
    registers.segments.ss = f.ss as u32;
}

/// The general registers, rip and rflags; the segments and the FPU/SSE state (which the
/// trap does not save) stay as they are.
pub fn write_registers(frame: &mut TrapFrame, registers: &Registers) {
    let f = frame;
    [f.rax, f.rbx, f.rcx, f.rdx, f.rsi, f.rdi, f.rbp, f.rsp, f.r8, f.r9, f.r10, f.r11, f.r12, f.r13, f.r14, f.r15] =
        registers.regs;
    f.rip = registers.rip;
    f.rflags = u64::from(registers.eflags);
}

pub fn set_pc(frame: &mut TrapFrame, pc: u64) {
    frame.rip = pc;
}

pub fn set_single_step(frame: &mut TrapFrame, on: bool) {
    frame.rflags = if on { frame.rflags | RFLAGS_TF } else { frame.rflags & !RFLAGS_TF };
}

/// INT3, whatever size gdb asks for.
pub fn breakpoint_instruction(_kind: usize) -> Option<&'static [u8]> {
    Some(&[0xcc])
}

/// Nothing to do: x86 keeps instruction fetches coherent with stores.
pub fn instructions_changed(_address: usize, _len: usize) {}

/// The boot stack's guard page: reading it faults.
pub fn inaccessible() -> Option<Region> {
    Some(Region::with_size(super::paging::stack_guard(), 4096))
}

/// COM2, the PC's second serial port.
pub struct Port(Uart16550<PioBackend>);

const COM2: u16 = 0x2f8;

impl Port {
    pub const NAME: &str = "second serial port (COM2, 0x2f8)";

    pub fn open() -> Option<Port> {
        // SAFETY: COM2 is the standard second PC serial port; only the stub uses it.
        let mut uart = unsafe { Uart16550::new_port(COM2) }.ok()?;
        uart.init(Config::default()).ok()?;
        Some(Port(uart))
    }

    pub fn read(&mut self) -> Result<Option<u8>, &'static str> {
        Ok(self.0.try_receive_byte().ok())
    }

    pub fn write(&mut self, byte: u8) -> Result<(), &'static str> {
        self.0.send_bytes_exact(&[byte]);
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), &'static str> {
        Ok(())
    }
}

/// Where to write to change `address`: code is mapped read-execute, so through the
/// writable alias of the first 1 GiB (paging.rs).
pub fn writable_alias(address: usize) -> usize {
    super::paging::writable_alias(address)
}
