//! x86_64's "run with recovery": `call_with_recovery` saves the callee-saved registers
//! (rbx, rbp, r12-r15), the stack pointer and rflags in a [`RecoverySlot`] before calling a
//! function on the same stack; `abandon` puts them back, so that the call returns 1.
//!
//! The same stack on purpose: the guard page under the boot stack keeps turning a stack
//! overflow into a fault (`paging::protect_stack_guard`).

/// The saved state: rbx, rbp, r12-r15, rsp (pointing at the return address), rflags.
#[repr(C)]
#[derive(Default)]
pub struct RecoverySlot([u64; 8]);

impl RecoverySlot {
    pub const fn new() -> RecoverySlot {
        RecoverySlot([0; 8])
    }
}

core::arch::global_asm!(
    ".pushsection .text.arch_call_with_recovery, \"ax\"",
    ".global arch_call_with_recovery",
    // rdi: the slot, rsi: the function, rdx: its argument.
    "arch_call_with_recovery:",
    "    mov [rdi], rbx",
    "    mov [rdi + 8], rbp",
    "    mov [rdi + 16], r12",
    "    mov [rdi + 24], r13",
    "    mov [rdi + 32], r14",
    "    mov [rdi + 40], r15",
    "    mov [rdi + 48], rsp",
    "    pushfq",
    "    pop qword ptr [rdi + 56]",
    // A frame record, so that a backtrace from inside the function reaches the caller.
    "    push rbp",
    "    mov rbp, rsp",
    "    mov rdi, rdx",
    "    call rsi",
    "    pop rbp",
    "    xor eax, eax",
    "    ret",
    ".global arch_abandon",
    // rdi: the slot. The return address is still at the saved rsp: the abandoned function
    // ran below it.
    "arch_abandon:",
    "    mov rbx, [rdi]",
    "    mov rbp, [rdi + 8]",
    "    mov r12, [rdi + 16]",
    "    mov r13, [rdi + 24]",
    "    mov r14, [rdi + 32]",
    "    mov r15, [rdi + 40]",
    "    mov rsp, [rdi + 48]",
    "    push qword ptr [rdi + 56]",
    "    popfq",
    "    mov eax, 1",
    "    ret",
    ".popsection",
);
