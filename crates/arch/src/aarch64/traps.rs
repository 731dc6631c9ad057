//! Exceptions at EL1: a breakpoint is noted and returned from; everything else is fatal. A
//! data abort in the boot stack's guard page is reported as a stack overflow.

use crate::kernel;
use crate::{Fault, Signal};

core::arch::global_asm!(include_str!("vectors.S"));

unsafe extern "C" {
    static exception_vectors: u8;
}

/// The registers `vectors.S` saves, in its order: the general registers, the interrupted
/// sp, then the FP/SIMD registers and their control and status registers (816 bytes).
#[repr(C)]
#[derive(Default)]
pub struct TrapFrame {
    pub x: [u64; 31],
    pub elr: u64,
    pub spsr: u64,
    /// Where the interrupted code's stack was: the frame sits just below it, or on the
    /// fatal stack (vectors.S); the return puts sp back here.
    pub sp: u64,
    _padding: [u64; 2],
    pub q: [u128; 32],
    pub fpcr: u64,
    pub fpsr: u64,
}

const _: () = assert!(
    size_of::<TrapFrame>() == 816
        && core::mem::offset_of!(TrapFrame, sp) == 33 * 8
        && core::mem::offset_of!(TrapFrame, q) == 288
);

/// ESR_EL1.EC of BRK, and of a software step taken without changing EL.
const EC_BRK: u64 = 0x3c;
const EC_SOFTWARE_STEP: u64 = 0x33;
/// ESR_EL1.EC of a data abort taken without changing EL.
const EC_DATA_ABORT: u64 = 0x25;

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

/// Exception classes (ESR_EL1.EC) the kernel names, with the signal a debugger is given.
fn class_name(class: u64) -> (&'static str, Signal) {
    match class {
        0x00 => ("undefined instruction", Signal::IllegalInstruction),
        0x0e => ("illegal execution state", Signal::IllegalInstruction),
        0x15 => ("supervisor call", Signal::Trap),
        0x21 => ("instruction abort", Signal::SegmentationFault),
        0x22 => ("pc alignment fault", Signal::BusError),
        0x25 => ("data abort", Signal::SegmentationFault),
        0x26 => ("sp alignment fault", Signal::BusError),
        _ => ("synchronous exception", Signal::Trap),
    }
}

#[unsafe(no_mangle)]
extern "C" fn aarch64_trap(frame: &mut TrapFrame, index: u64) {
    #[cfg(feature = "ktest")]
    crate::fp_tests::on_trap();
    let syndrome: u64;
    let fault_address: u64;
    // SAFETY: reading the syndrome and fault-address registers has no side effects.
    unsafe {
        core::arch::asm!("mrs {}, esr_el1", out(reg) syndrome, options(nomem, nostack));
        core::arch::asm!("mrs {}, far_el1", out(reg) fault_address, options(nomem, nostack));
    }
    let class = syndrome >> 26;
    let synchronous = index.is_multiple_of(4);
    if synchronous && class == EC_BRK {
        if !kernel::debugger_breakpoint(frame, frame.elr as usize) {
            kernel::breakpoint_returned();
            frame.elr += 4; // BRK does not advance the PC
            kernel::debugger_stop(frame, Signal::Trap);
        }
        return;
    }
    if synchronous && class == EC_SOFTWARE_STEP {
        kernel::debugger_step_done(frame);
        return;
    }
    if index % 4 == 1 {
        super::timer::interrupt(frame);
        return;
    }
    let kind = match index % 4 {
        0 => {
            let (kind, signal) = class_name(class);
            if kernel::debugger_stop(frame, signal) {
                return;
            }
            kind
        }
        1 => "unexpected IRQ",
        2 => "unexpected FIQ",
        _ => "SError",
    };
    let pc = frame.elr as usize;
    let address = match class {
        0x21 | 0x22 | 0x25 => Some(fault_address as usize),
        _ => None,
    };
    // A data abort in the guard page under a CPU's stack (the entry switched to the fatal
    // stack to get here).
    let overflow = synchronous
        && class == EC_DATA_ABORT
        && crate::smp::is_stack_guard(fault_address as usize, super::paging::stack_guard());
    let kind = if overflow { "stack overflow" } else { kind };
    let mut registers = [("", 0u64); 36];
    for (index, value) in frame.x.iter().enumerate() {
        registers[index] = (GENERAL_REGISTERS[index], *value);
    }
    registers[31] = ("sp", frame.sp);
    registers[32] = ("elr", frame.elr);
    registers[33] = ("spsr", frame.spsr);
    registers[34] = ("esr", syndrome);
    registers[35] = ("far", fault_address);
    let frame_pointer = frame.x[29] as usize;
    kernel::fault(Fault { kind, address, pc, frame_pointer, registers: &registers })
}
