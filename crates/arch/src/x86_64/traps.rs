//! The IDT: CPU exceptions become fatal faults (or, for a breakpoint, a note and a return).
//!
//! The exceptions the kernel resumes from or reports in full (divide error, debug,
//! breakpoint, invalid opcode, general protection, page fault) and the timer interrupt enter
//! through `trap.S`, which saves every general register in a [`TrapFrame`]; the double fault
//! (on a stack of its own) and the APIC's spurious interrupt use the `x86-interrupt` ABI.

use crate::kernel;
use crate::{Fault, Signal};
use spin::Once;
use x86_64::VirtAddr;
use x86_64::registers::control::Cr2;
use x86_64::structures::idt::{InterruptDescriptorTable, InterruptStackFrame};

core::arch::global_asm!(include_str!("trap.S"), options(att_syntax));

unsafe extern "C" {
    fn x86_64_trap_0();
    fn x86_64_trap_1();
    fn x86_64_trap_3();
    fn x86_64_trap_6();
    fn x86_64_trap_13();
    fn x86_64_trap_14();
    fn x86_64_trap_32();
}

/// The interrupted state, as `trap.S` saves it (lowest address first) and the CPU pushed it.
#[repr(C)]
#[derive(Default)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

static IDT: Once<InterruptDescriptorTable> = Once::new();

fn address(entry: unsafe extern "C" fn()) -> VirtAddr {
    VirtAddr::new(entry as usize as u64)
}

pub fn init() {
    IDT.call_once(|| {
        let mut idt = InterruptDescriptorTable::new();
        // SAFETY: each entry in trap.S is an interrupt handler for its vector (it pushes an
        // error code where the CPU does not, and returns with iretq).
        unsafe {
            idt.divide_error.set_handler_addr(address(x86_64_trap_0));
            idt.debug.set_handler_addr(address(x86_64_trap_1));
            idt.breakpoint.set_handler_addr(address(x86_64_trap_3));
            idt.invalid_opcode.set_handler_addr(address(x86_64_trap_6));
            idt.general_protection_fault.set_handler_addr(address(x86_64_trap_13));
            idt.page_fault.set_handler_addr(address(x86_64_trap_14));
            idt[super::timer::TIMER_VECTOR].set_handler_addr(address(x86_64_trap_32));
        }
        // SAFETY: the IST slot is set up by segments::init with a stack of its own.
        unsafe { idt.double_fault.set_handler_fn(double_fault).set_stack_index(super::segments::DOUBLE_FAULT_STACK) };
        idt[super::timer::SPURIOUS_VECTOR].set_handler_fn(super::timer::spurious);
        idt
    });
    load();
}

/// Loads the IDT `init` built on this CPU (a secondary CPU's start).
pub fn load() {
    if let Some(idt) = IDT.get() {
        idt.load();
    }
}

#[unsafe(no_mangle)]
extern "C" fn x86_64_trap(frame: &mut TrapFrame) {
    let (kind, signal, address) = match frame.vector {
        vector if vector == u64::from(super::timer::TIMER_VECTOR) => {
            super::timer::interrupt(frame);
            return;
        }
        3 => {
            // INT3 traps after itself: the instruction is the byte before rip.
            if !kernel::debugger_breakpoint(frame, frame.rip as usize - 1) {
                kernel::breakpoint_returned();
                kernel::debugger_stop(frame, Signal::Trap);
            }
            return;
        }
        1 => {
            // Only the stub single-steps (rflags.TF); any other debug exception is ignored.
            kernel::debugger_step_done(frame);
            return;
        }
        0 => ("divide error", Signal::ArithmeticError, None),
        6 => ("invalid opcode", Signal::IllegalInstruction, None),
        13 => ("general protection fault", Signal::SegmentationFault, None),
        _ => ("page fault", Signal::SegmentationFault, Some(Cr2::read_raw() as usize)),
    };
    if kernel::debugger_stop(frame, signal) {
        return;
    }
    let registers = [
        ("rip", frame.rip),
        ("rsp", frame.rsp),
        ("rbp", frame.rbp),
        ("rflags", frame.rflags),
        ("rax", frame.rax),
        ("rbx", frame.rbx),
        ("rcx", frame.rcx),
        ("rdx", frame.rdx),
        ("rsi", frame.rsi),
        ("rdi", frame.rdi),
        ("r8", frame.r8),
        ("r9", frame.r9),
        ("r10", frame.r10),
        ("r11", frame.r11),
        ("r12", frame.r12),
        ("r13", frame.r13),
        ("r14", frame.r14),
        ("r15", frame.r15),
        ("cs", frame.cs),
        ("ss", frame.ss),
        ("error", frame.error),
        ("cr2", Cr2::read_raw()),
    ];
    let (pc, frame_pointer) = (frame.rip as usize, frame.rbp as usize);
    kernel::fault(Fault { kind, address, pc, frame_pointer, registers: &registers })
}

extern "x86-interrupt" fn double_fault(frame: InterruptStackFrame, error: u64) -> ! {
    // A page fault on the stack's guard page that could not be delivered (no stack left).
    let address = Cr2::read_raw() as usize;
    let guard = super::paging::stack_guard();
    let overflow = crate::smp::is_stack_guard(address, guard..guard + 4096);
    let kind = if overflow { "stack overflow" } else { "double fault" };
    // SAFETY: the handler's prologue pushed the interrupted rbp at [rbp] (frame pointers).
    let interrupted = unsafe { *(super::frame_pointer() as *const usize) };
    let registers = [
        ("rip", frame.instruction_pointer.as_u64()),
        ("rsp", frame.stack_pointer.as_u64()),
        ("rbp", interrupted as u64),
        ("rflags", frame.cpu_flags.bits()),
        ("cs", u64::from(frame.code_segment.0)),
        ("ss", u64::from(frame.stack_segment.0)),
        ("error", error),
        ("cr2", address as u64),
    ];
    let pc = frame.instruction_pointer.as_u64() as usize;
    let address = (kind == "stack overflow").then_some(address);
    kernel::fault(Fault { kind, address, pc, frame_pointer: interrupted, registers: &registers })
}
