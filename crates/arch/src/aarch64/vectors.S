/* The EL1 exception vector table: 16 entries of 0x80 bytes (4 sources x 4 kinds). Each
 * entry decides where the frame goes, saves x0/x1 and the interrupted sp there, puts its
 * index in x1 and joins `trap_common`, which saves the rest of the registers in the
 * TrapFrame and calls `aarch64_trap(frame, index)`. If that returns, the (possibly
 * modified) frame is restored, sp is set back to the interrupted sp and the CPU resumes.
 *
 * Where the frame goes: just below the interrupted sp, or on the CPU's fatal stack when its
 * stack has less than 4 KiB left (TPIDRRO_EL0 points at the CPU's CpuLocal, smp.rs: the
 * limit, then the fatal stack's top): an overflow into the guard page, or about to be, where
 * the frame and the handler would fault again, and each new exception would push its
 * frame lower, past the guard into whatever lies below. TPIDR_EL1, which nothing else
 * uses (no thread pointer in this kernel), holds x0 while the entry decides; interrupts
 * are masked on exception entry, so nothing else runs meanwhile.
 *
 * The frame (traps.rs): x0..x30, elr, spsr, the interrupted sp, 2 words of padding (36
 * words, 288 bytes), then q0..q31 (512 bytes) and fpcr, fpsr: 816 bytes, a multiple of 16.
 * The FP/SIMD registers are saved on every trap: the handlers are Rust compiled with NEON,
 * which may use any of them (memcpy does), and the interrupted code's values must survive
 * an interrupt. */

.set FRAME_SIZE, 816
.set FP_OFFSET, 288
.set SP_OFFSET, (33 * 8)

.macro VECTOR index
.balign 0x80
    msr tpidr_el1, x0
    mrs x0, tpidrro_el0
    ldr x0, [x0, #(0 * 8)]
    cmp sp, x0
    b.lo 1f
    mov x0, sp
    b 2f
1:  mrs x0, tpidrro_el0
    ldr x0, [x0, #(1 * 8)]
2:  sub x0, x0, #FRAME_SIZE
    str x1, [x0, #(1 * 8)]
    mov x1, sp
    str x1, [x0, #SP_OFFSET]
    mov sp, x0
    mrs x0, tpidr_el1
    str x0, [sp, #(0 * 8)]
    mov x1, #\index
    b trap_common
.endm

.section .text.vectors, "ax"
.balign 0x800
.global exception_vectors
exception_vectors:
    VECTOR 0
    VECTOR 1
    VECTOR 2
    VECTOR 3
    VECTOR 4
    VECTOR 5
    VECTOR 6
    VECTOR 7
    VECTOR 8
    VECTOR 9
    VECTOR 10
    VECTOR 11
    VECTOR 12
    VECTOR 13
    VECTOR 14
    VECTOR 15

trap_common:
    stp x2, x3, [sp, #(2 * 8)]
    stp x4, x5, [sp, #(4 * 8)]
    stp x6, x7, [sp, #(6 * 8)]
    stp x8, x9, [sp, #(8 * 8)]
    stp x10, x11, [sp, #(10 * 8)]
    stp x12, x13, [sp, #(12 * 8)]
    stp x14, x15, [sp, #(14 * 8)]
    stp x16, x17, [sp, #(16 * 8)]
    stp x18, x19, [sp, #(18 * 8)]
    stp x20, x21, [sp, #(20 * 8)]
    stp x22, x23, [sp, #(22 * 8)]
    stp x24, x25, [sp, #(24 * 8)]
    stp x26, x27, [sp, #(26 * 8)]
    stp x28, x29, [sp, #(28 * 8)]
    mrs x2, elr_el1
    mrs x3, spsr_el1
    stp x30, x2, [sp, #(30 * 8)]
    str x3, [sp, #(32 * 8)]
    add x2, sp, #FP_OFFSET
    stp q0, q1, [x2, #(0 * 16)]
    stp q2, q3, [x2, #(2 * 16)]
    stp q4, q5, [x2, #(4 * 16)]
    stp q6, q7, [x2, #(6 * 16)]
    stp q8, q9, [x2, #(8 * 16)]
    stp q10, q11, [x2, #(10 * 16)]
    stp q12, q13, [x2, #(12 * 16)]
    stp q14, q15, [x2, #(14 * 16)]
    stp q16, q17, [x2, #(16 * 16)]
    stp q18, q19, [x2, #(18 * 16)]
    stp q20, q21, [x2, #(20 * 16)]
    stp q22, q23, [x2, #(22 * 16)]
    stp q24, q25, [x2, #(24 * 16)]
    stp q26, q27, [x2, #(26 * 16)]
    stp q28, q29, [x2, #(28 * 16)]
    stp q30, q31, [x2, #(30 * 16)]
    mrs x3, fpcr
    mrs x4, fpsr
    str x3, [x2, #(32 * 16)]
    str x4, [x2, #(32 * 16 + 8)]
    mov x0, sp
    bl aarch64_trap
    add x2, sp, #FP_OFFSET
    ldr x3, [x2, #(32 * 16)]
    ldr x4, [x2, #(32 * 16 + 8)]
    msr fpcr, x3
    msr fpsr, x4
    ldp q0, q1, [x2, #(0 * 16)]
    ldp q2, q3, [x2, #(2 * 16)]
    ldp q4, q5, [x2, #(4 * 16)]
    ldp q6, q7, [x2, #(6 * 16)]
    ldp q8, q9, [x2, #(8 * 16)]
    ldp q10, q11, [x2, #(10 * 16)]
    ldp q12, q13, [x2, #(12 * 16)]
    ldp q14, q15, [x2, #(14 * 16)]
    ldp q16, q17, [x2, #(16 * 16)]
    ldp q18, q19, [x2, #(18 * 16)]
    ldp q20, q21, [x2, #(20 * 16)]
    ldp q22, q23, [x2, #(22 * 16)]
    ldp q24, q25, [x2, #(24 * 16)]
    ldp q26, q27, [x2, #(26 * 16)]
    ldp q28, q29, [x2, #(28 * 16)]
    ldp q30, q31, [x2, #(30 * 16)]
    ldp x30, x2, [sp, #(30 * 8)]
    ldr x3, [sp, #(32 * 8)]
    msr elr_el1, x2
    msr spsr_el1, x3
    ldp x28, x29, [sp, #(28 * 8)]
    ldp x26, x27, [sp, #(26 * 8)]
    ldp x24, x25, [sp, #(24 * 8)]
    ldp x22, x23, [sp, #(22 * 8)]
    ldp x20, x21, [sp, #(20 * 8)]
    ldp x18, x19, [sp, #(18 * 8)]
    ldp x16, x17, [sp, #(16 * 8)]
    ldp x14, x15, [sp, #(14 * 8)]
    ldp x12, x13, [sp, #(12 * 8)]
    ldp x10, x11, [sp, #(10 * 8)]
    ldp x8, x9, [sp, #(8 * 8)]
    ldp x6, x7, [sp, #(6 * 8)]
    ldp x4, x5, [sp, #(4 * 8)]
    ldp x2, x3, [sp, #(2 * 8)]
    mov x0, sp
    ldr x1, [x0, #SP_OFFSET]
    mov sp, x1
    ldp x0, x1, [x0, #(0 * 8)]
    eret
