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
        idt.double_fault.set_handler_fn(double_fault);
        idt
    })
    .load();
}

fn pc(frame: &InterruptStackFrame) -> usize {
    frame.instruction_pointer.as_u64() as usize
}

extern "x86-interrupt" fn divide_error(frame: InterruptStackFrame) {
    fatal::fault(Fault { kind: "divide error", address: None, pc: pc(&frame) })
}

extern "x86-interrupt" fn breakpoint(frame: InterruptStackFrame) {
    println!("# breakpoint at pc {:#x}", pc(&frame));
}

extern "x86-interrupt" fn invalid_opcode(frame: InterruptStackFrame) {
    fatal::fault(Fault { kind: "invalid opcode", address: None, pc: pc(&frame) })
}

extern "x86-interrupt" fn general_protection(frame: InterruptStackFrame, _error: u64) {
    fatal::fault(Fault { kind: "general protection fault", address: None, pc: pc(&frame) })
}

extern "x86-interrupt" fn page_fault(frame: InterruptStackFrame, _error: PageFaultErrorCode) {
    let address = Cr2::read_raw() as usize;
    fatal::fault(Fault { kind: "page fault", address: Some(address), pc: pc(&frame) })
}

extern "x86-interrupt" fn double_fault(frame: InterruptStackFrame, _error: u64) -> ! {
    fatal::fault(Fault { kind: "double fault", address: None, pc: pc(&frame) })
}
