//! S-mode traps: a breakpoint is noted and returned from; every other exception is fatal.

use crate::kernel;
use crate::{Fault, Signal};

core::arch::global_asm!(include_str!("trap.S"));

unsafe extern "C" {
    fn trap_entry();
}

/// The registers `trap.S` saves: x0..x31 (x0 unused, x2 the interrupted sp), sepc, then
/// f0..f31 and fcsr (544 bytes).
#[repr(C)]
#[derive(Default)]
pub struct TrapFrame {
    pub x: [u64; 32],
    pub sepc: u64,
    _padding: u64,
    pub f: [u64; 32],
    pub fcsr: u64,
    _padding_after_fcsr: u64,
}

const _: () = assert!(size_of::<TrapFrame>() == 544 && core::mem::offset_of!(TrapFrame, f) == 34 * 8);

pub fn init() {
    // SAFETY: `trap_entry` is 4-byte aligned (trap.S); direct mode uses the low bits as 0.
    unsafe { core::arch::asm!("csrw stvec, {}", in(reg) trap_entry as *const () as usize, options(nostack)) };
}

/// Exception causes (scause with the interrupt bit clear) the kernel names, with the signal
/// a debugger is given.
fn cause_name(cause: u64) -> (&'static str, Signal) {
    match cause {
        0 => ("instruction address misaligned", Signal::BusError),
        1 => ("instruction access fault", Signal::SegmentationFault),
        2 => ("illegal instruction", Signal::IllegalInstruction),
        4 => ("load address misaligned", Signal::BusError),
        5 => ("load access fault", Signal::SegmentationFault),
        6 => ("store address misaligned", Signal::BusError),
        7 => ("store access fault", Signal::SegmentationFault),
        8 => ("environment call from U-mode", Signal::Trap),
        12 => ("instruction page fault", Signal::SegmentationFault),
        13 => ("load page fault", Signal::SegmentationFault),
        15 => ("store page fault", Signal::SegmentationFault),
        _ => ("exception", Signal::Trap),
    }
}

#[unsafe(no_mangle)]
extern "C" fn riscv64_trap(frame: &mut TrapFrame) {
    #[cfg(feature = "ktest")]
    crate::fp_tests::on_trap();
    let cause: u64;
    let value: u64;
    // SAFETY: reading scause and stval has no side effects.
    unsafe {
        core::arch::asm!("csrr {}, scause", out(reg) cause, options(nomem, nostack));
        core::arch::asm!("csrr {}, stval", out(reg) value, options(nomem, nostack));
    }
    let pc = frame.sepc as usize;
    const SUPERVISOR_TIMER: u64 = 5;
    if cause == (1 << 63) | SUPERVISOR_TIMER {
        super::timer::interrupt(frame);
        return;
    }
    if cause >> 63 == 1 {
        fatal_with_registers(frame, "unexpected interrupt", None, cause, value);
    }
    if cause == 3 {
        if !kernel::debugger_breakpoint(frame, pc) {
            kernel::breakpoint_returned();
            // Skip the EBREAK: 2 bytes if compressed (low bits of the instruction not 0b11).
            // SAFETY: sepc points at the instruction that trapped, which is readable code.
            let low = unsafe { (pc as *const u16).read() };
            frame.sepc += if low & 0b11 == 0b11 { 4 } else { 2 };
            kernel::debugger_stop(frame, Signal::Trap);
        }
        return;
    }
    let (kind, signal) = cause_name(cause);
    if kernel::debugger_stop(frame, signal) {
        return;
    }
    let address = matches!(cause, 0 | 1 | 4 | 5 | 6 | 7 | 12 | 13 | 15).then_some(value as usize);
    // A page fault in the guard page under a CPU's stack (the entry switched to the fatal
    // stack to get here).
    let overflow = matches!(cause, 13 | 15) && crate::smp::is_stack_guard(value as usize, super::paging::stack_guard());
    let kind = if overflow { "stack overflow" } else { kind };
    fatal_with_registers(frame, kind, address, cause, value)
}

const REGISTER_NAMES: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "s2",
    "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
];

fn fatal_with_registers(frame: &TrapFrame, kind: &'static str, address: Option<usize>, cause: u64, value: u64) -> ! {
    let mut registers = [("", 0u64); 34];
    for (index, value) in frame.x.iter().enumerate().skip(1) {
        registers[index - 1] = (REGISTER_NAMES[index], *value);
    }
    registers[31] = ("sepc", frame.sepc);
    registers[32] = ("scause", cause);
    registers[33] = ("stval", value);
    let pc = frame.sepc as usize;
    let frame_pointer = frame.x[8] as usize;
    kernel::fault(Fault { kind, address, pc, frame_pointer, registers: &registers[..34] })
}
