//! Exceptions at EL1: a breakpoint is noted and returned from; everything else is fatal.

use crate::fatal::{self, Fault};

core::arch::global_asm!(include_str!("vectors.S"));

unsafe extern "C" {
    static exception_vectors: u8;
}

/// The registers `vectors.S` saves, in its order.
#[repr(C)]
struct TrapFrame {
    x: [u64; 31],
    elr: u64,
    spsr: u64,
    _padding: [u64; 3],
}

pub fn init() {
    // SAFETY: `exception_vectors` is a 2 KiB-aligned vector table (vectors.S).
    unsafe {
        core::arch::asm!("msr vbar_el1, {}", "isb", in(reg) &raw const exception_vectors, options(nostack));
    }
}

const GENERAL_REGISTERS: [&str; 31] = [
    "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17",
    "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29", "x30",
];

/// Exception classes (ESR_EL1.EC) the kernel names.
fn class_name(class: u64) -> &'static str {
    match class {
        0x00 => "undefined instruction",
        0x0e => "illegal execution state",
        0x15 => "supervisor call",
        0x21 => "instruction abort",
        0x22 => "pc alignment fault",
        0x25 => "data abort",
        0x26 => "sp alignment fault",
        0x3c => "breakpoint",
        _ => "synchronous exception",
    }
}

#[unsafe(no_mangle)]
extern "C" fn aarch64_trap(frame: &mut TrapFrame, index: u64) {
    let syndrome: u64;
    let fault_address: u64;
    // SAFETY: reading the syndrome and fault-address registers has no side effects.
    unsafe {
        core::arch::asm!("mrs {}, esr_el1", out(reg) syndrome, options(nomem, nostack));
        core::arch::asm!("mrs {}, far_el1", out(reg) fault_address, options(nomem, nostack));
    }
    let pc = frame.elr as usize;
    let kind = match index % 4 {
        0 => class_name(syndrome >> 26),
        1 => "unexpected IRQ",
        2 => "unexpected FIQ",
        _ => "SError",
    };
    if index.is_multiple_of(4) && syndrome >> 26 == 0x3c {
        crate::interrupts::breakpoint_hit();
        frame.elr += 4; // BRK does not advance the PC
        return;
    }
    if index % 4 == 1 {
        super::timer::interrupt();
        return;
    }
    let address = match syndrome >> 26 {
        0x21 | 0x22 | 0x25 => Some(fault_address as usize),
        _ => None,
    };
    let mut registers = [("", 0u64); 34];
    for (index, value) in frame.x.iter().enumerate() {
        registers[index] = (GENERAL_REGISTERS[index], *value);
    }
    registers[31] = ("elr", frame.elr);
    registers[32] = ("spsr", frame.spsr);
    registers[33] = ("esr", syndrome);
    let frame_pointer = frame.x[29] as usize;
    fatal::fault(Fault { kind, address, pc, frame_pointer, registers: &registers })
}
