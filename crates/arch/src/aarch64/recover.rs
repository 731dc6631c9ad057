//! aarch64's "run with recovery": `call_with_recovery` saves the callee-saved registers
//! (x19-x30, d8-d15), the stack pointer and DAIF (the interrupt masks) in a
//! [`RecoverySlot`] before calling a function on the same stack; `abandon` puts them back,
//! so that the call returns 1.

/// The saved state: x19-x30, sp, d8-d15, DAIF.
#[repr(C)]
#[derive(Default)]
pub struct RecoverySlot([u64; 22]);

impl RecoverySlot {
    pub const fn new() -> RecoverySlot {
        RecoverySlot([0; 22])
    }
}

core::arch::global_asm!(
    ".pushsection .text.arch_call_with_recovery, \"ax\"",
    ".global arch_call_with_recovery",
    // x0: the slot, x1: the function, x2: its argument.
    "arch_call_with_recovery:",
    "    stp x19, x20, [x0]",
    "    stp x21, x22, [x0, #16]",
    "    stp x23, x24, [x0, #32]",
    "    stp x25, x26, [x0, #48]",
    "    stp x27, x28, [x0, #64]",
    "    stp x29, x30, [x0, #80]",
    "    mov x9, sp",
    "    str x9, [x0, #96]",
    "    stp d8, d9, [x0, #104]",
    "    stp d10, d11, [x0, #120]",
    "    stp d12, d13, [x0, #136]",
    "    stp d14, d15, [x0, #152]",
    "    mrs x9, daif",
    "    str x9, [x0, #168]",
    // A frame record, so that a backtrace from inside the function reaches the caller.
    "    stp x29, x30, [sp, #-16]!",
    "    mov x29, sp",
    "    mov x0, x2",
    "    blr x1",
    "    ldp x29, x30, [sp], #16",
    "    mov x0, #0",
    "    ret",
    ".global arch_abandon",
    // x0: the slot.
    "arch_abandon:",
    "    ldr x9, [x0, #168]",
    "    msr daif, x9",
    "    ldp x19, x20, [x0]",
    "    ldp x21, x22, [x0, #16]",
    "    ldp x23, x24, [x0, #32]",
    "    ldp x25, x26, [x0, #48]",
    "    ldp x27, x28, [x0, #64]",
    "    ldp x29, x30, [x0, #80]",
    "    ldr x9, [x0, #96]",
    "    mov sp, x9",
    "    ldp d8, d9, [x0, #104]",
    "    ldp d10, d11, [x0, #120]",
    "    ldp d12, d13, [x0, #136]",
    "    ldp d14, d15, [x0, #152]",
    "    mov x0, #1",
    "    ret",
    ".popsection",
);
