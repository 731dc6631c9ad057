//! riscv64's "run with recovery": `call_with_recovery` saves the callee-saved registers
//! (ra, s0-s11, and fs0-fs11: the target's ABI is lp64d), the stack pointer and sstatus in
//! a [`RecoverySlot`] before calling a function on the same stack; `abandon` puts them back
//! (of sstatus, only the interrupt enable), so that the call returns 1.

/// The saved state: ra, sp, s0-s11, fs0-fs11, sstatus.
#[repr(C)]
#[derive(Default)]
pub struct RecoverySlot([u64; 27]);

impl RecoverySlot {
    pub const fn new() -> RecoverySlot {
        RecoverySlot([0; 27])
    }
}

core::arch::global_asm!(
    // The FP instructions are stated here: a release build's LTO assembles module-level asm
    // without the target's D extension.
    ".option push",
    ".option arch, +f, +d",
    ".pushsection .text.arch_call_with_recovery, \"ax\"",
    ".global arch_call_with_recovery",
    // a0: the slot, a1: the function, a2: its argument.
    "arch_call_with_recovery:",
    "    sd ra, 0(a0)",
    "    sd sp, 8(a0)",
    "    sd s0, 16(a0)",
    "    sd s1, 24(a0)",
    "    sd s2, 32(a0)",
    "    sd s3, 40(a0)",
    "    sd s4, 48(a0)",
    "    sd s5, 56(a0)",
    "    sd s6, 64(a0)",
    "    sd s7, 72(a0)",
    "    sd s8, 80(a0)",
    "    sd s9, 88(a0)",
    "    sd s10, 96(a0)",
    "    sd s11, 104(a0)",
    "    fsd fs0, 112(a0)",
    "    fsd fs1, 120(a0)",
    "    fsd fs2, 128(a0)",
    "    fsd fs3, 136(a0)",
    "    fsd fs4, 144(a0)",
    "    fsd fs5, 152(a0)",
    "    fsd fs6, 160(a0)",
    "    fsd fs7, 168(a0)",
    "    fsd fs8, 176(a0)",
    "    fsd fs9, 184(a0)",
    "    fsd fs10, 192(a0)",
    "    fsd fs11, 200(a0)",
    "    csrr t0, sstatus",
    "    sd t0, 208(a0)",
    // A frame record (fp - 8: ra, fp - 16: the caller's fp), so that a backtrace from
    // inside the function reaches the caller.
    "    addi sp, sp, -16",
    "    sd ra, 8(sp)",
    "    sd s0, 0(sp)",
    "    addi s0, sp, 16",
    "    mv a0, a2",
    "    jalr a1",
    "    ld ra, 8(sp)",
    "    ld s0, 0(sp)",
    "    addi sp, sp, 16",
    "    li a0, 0",
    "    ret",
    ".global arch_abandon",
    // a0: the slot. sstatus.SIE (bit 1) as it was at the call; the rest as it is now.
    "arch_abandon:",
    "    li t0, 2",
    "    csrc sstatus, t0",
    "    ld t1, 208(a0)",
    "    and t1, t1, t0",
    "    csrs sstatus, t1",
    "    ld ra, 0(a0)",
    "    ld sp, 8(a0)",
    "    ld s0, 16(a0)",
    "    ld s1, 24(a0)",
    "    ld s2, 32(a0)",
    "    ld s3, 40(a0)",
    "    ld s4, 48(a0)",
    "    ld s5, 56(a0)",
    "    ld s6, 64(a0)",
    "    ld s7, 72(a0)",
    "    ld s8, 80(a0)",
    "    ld s9, 88(a0)",
    "    ld s10, 96(a0)",
    "    ld s11, 104(a0)",
    "    fld fs0, 112(a0)",
    "    fld fs1, 120(a0)",
    "    fld fs2, 128(a0)",
    "    fld fs3, 136(a0)",
    "    fld fs4, 144(a0)",
    "    fld fs5, 152(a0)",
    "    fld fs6, 160(a0)",
    "    fld fs7, 168(a0)",
    "    fld fs8, 176(a0)",
    "    fld fs9, 184(a0)",
    "    fld fs10, 192(a0)",
    "    fld fs11, 200(a0)",
    "    li a0, 1",
    "    ret",
    ".popsection",
    ".option pop",
);
