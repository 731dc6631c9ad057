//! The IDT: CPU exceptions become fatal faults (or, for a breakpoint, a note and a return).

use crate::fatal::{self, Fault};
use spin::Once;
use x86_64::registers::control::Cr2;
use x86_64::structures::idt::{InterruptDescriptorTable, InterruptStackFrame, PageFaultErrorCode};

static IDT: Once<InterruptDescriptorTable> = Once::new();

pub fn init() {
    IDT.call_once(|| {
        let mut idt = InterruptDescriptorTable::new();
        idt.divide_error.set_handler_fn(divide_error);
        idt.breakpoint.set_handler_fn(breakpoint);
        idt.invalid_opcode.set_handler_fn(invalid_opcode);
        idt.general_protection_fault.set_handler_fn(general_protection);
        idt.page_fault.set_handler_fn(page_fault);
        // SAFETY: the IST slot is set up by segments::init with a stack of its own.
        unsafe { idt.double_fault.set_handler_fn(double_fault).set_stack_index(super::segments::DOUBLE_FAULT_STACK) };
        idt[super::timer::TIMER_VECTOR].set_handler_fn(super::timer::interrupt);
        idt[super::timer::SPURIOUS_VECTOR].set_handler_fn(super::timer::spurious);
        idt
    })
    .load();
}

fn pc(frame: &InterruptStackFrame) -> usize {
    frame.instruction_pointer.as_u64() as usize
}

/// Reports a fatal exception. Inlined into each handler, so that the frame pointer it
/// reads is the handler's, whose record holds the interrupted code's frame pointer.
#[inline(always)]
fn fatal(kind: &'static str, frame: &InterruptStackFrame, address: Option<usize>, error_code: Option<u64>) -> ! {
    // SAFETY: the handler's prologue pushed the interrupted rbp at [rbp] (frame pointers).
    let interrupted = unsafe { *(super::frame_pointer() as *const usize) };
    let registers = [
        ("rip", frame.instruction_pointer.as_u64()),
        ("rsp", frame.stack_pointer.as_u64()),
        ("rbp", interrupted as u64),
        ("rflags", frame.cpu_flags.bits()),
        ("cs", u64::from(frame.code_segment.0)),
        ("ss", u64::from(frame.stack_segment.0)),
        ("error", error_code.unwrap_or(0)),
        ("cr2", Cr2::read_raw()),
    ];
    fatal::fault(Fault { kind, address, pc: pc(frame), frame_pointer: interrupted, registers: &registers })
}

extern "x86-interrupt" fn divide_error(frame: InterruptStackFrame) {
    fatal("divide error", &frame, None, None)
}

extern "x86-interrupt" fn breakpoint(_frame: InterruptStackFrame) {
    // INT3 traps after itself: returning resumes at the next instruction.
    crate::interrupts::breakpoint_hit();
}

extern "x86-interrupt" fn invalid_opcode(frame: InterruptStackFrame) {
    fatal("invalid opcode", &frame, None, None)
}

extern "x86-interrupt" fn general_protection(frame: InterruptStackFrame, error: u64) {
    fatal("general protection fault", &frame, None, Some(error))
}

extern "x86-interrupt" fn page_fault(frame: InterruptStackFrame, error: PageFaultErrorCode) {
    let address = Cr2::read_raw() as usize;
    fatal("page fault", &frame, Some(address), Some(error.bits()))
}

extern "x86-interrupt" fn double_fault(frame: InterruptStackFrame, error: u64) -> ! {
    // A page fault on the stack's guard page that could not be delivered (no stack left).
    let address = Cr2::read_raw() as usize;
    let guard = super::paging::stack_guard();
    if (guard..guard + 4096).contains(&address) {
        fatal("stack overflow", &frame, Some(address), Some(error))
    }
    fatal("double fault", &frame, None, Some(error))
}
