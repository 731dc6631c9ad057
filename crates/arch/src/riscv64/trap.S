/* The S-mode trap entry (stvec, direct mode): saves the registers in a TrapFrame on the
 * current stack, calls `riscv64_trap(frame)`, restores the (possibly modified) frame and
 * returns with sret.
 *
 * The frame (traps.rs): x0..x31 (x0's slot unused, x2 the interrupted sp), sepc, a word of
 * padding (34 words), then f0..f31 and fcsr and a word of padding: 68 words, 544 bytes. The
 * FP registers are saved on every trap: the kernel is compiled with F and D, so the handler
 * may use them, and the interrupted code's values must survive an interrupt. */

.set FRAME_SIZE, (68 * 8)

/* The FP instructions are stated here, not left to the target's features: a release build's
 * LTO assembles module-level asm without them ("instruction requires 'D'"). */
.option push
.option arch, +f, +d

.section .text.trap, "ax"
.balign 4
.global trap_entry
trap_entry:
    # Where the frame goes: below the interrupted sp, or on this CPU's fatal stack when its
    # stack has less than 4 KiB left (an overflow into the guard page, or about to be: the
    # frame and the handler would fault there again, forever). tp points at the CPU's
    # CpuLocal (smp.rs): the limit, then the fatal stack's top. sscratch holds t0 meanwhile.
    csrw sscratch, t0
    ld t0, (0 * 8)(tp)
    bltu sp, t0, 1f
    addi t0, sp, -FRAME_SIZE
    j 2f
1:  ld t0, (1 * 8)(tp)
    addi t0, t0, -FRAME_SIZE
2:  sd sp, (2 * 8)(t0)  # the interrupted sp, restored from here on return
    mv sp, t0
    csrr t0, sscratch
    sd ra, (1 * 8)(sp)
    sd gp, (3 * 8)(sp)
    sd tp, (4 * 8)(sp)
    sd t0, (5 * 8)(sp)
    sd t1, (6 * 8)(sp)
    sd t2, (7 * 8)(sp)
    sd s0, (8 * 8)(sp)
    sd s1, (9 * 8)(sp)
    sd a0, (10 * 8)(sp)
    sd a1, (11 * 8)(sp)
    sd a2, (12 * 8)(sp)
    sd a3, (13 * 8)(sp)
    sd a4, (14 * 8)(sp)
    sd a5, (15 * 8)(sp)
    sd a6, (16 * 8)(sp)
    sd a7, (17 * 8)(sp)
    sd s2, (18 * 8)(sp)
    sd s3, (19 * 8)(sp)
    sd s4, (20 * 8)(sp)
    sd s5, (21 * 8)(sp)
    sd s6, (22 * 8)(sp)
    sd s7, (23 * 8)(sp)
    sd s8, (24 * 8)(sp)
    sd s9, (25 * 8)(sp)
    sd s10, (26 * 8)(sp)
    sd s11, (27 * 8)(sp)
    sd t3, (28 * 8)(sp)
    sd t4, (29 * 8)(sp)
    sd t5, (30 * 8)(sp)
    sd t6, (31 * 8)(sp)
    csrr t0, sepc
    sd t0, (32 * 8)(sp)
    fsd f0, (34 * 8)(sp)
    fsd f1, (35 * 8)(sp)
    fsd f2, (36 * 8)(sp)
    fsd f3, (37 * 8)(sp)
    fsd f4, (38 * 8)(sp)
    fsd f5, (39 * 8)(sp)
    fsd f6, (40 * 8)(sp)
    fsd f7, (41 * 8)(sp)
    fsd f8, (42 * 8)(sp)
    fsd f9, (43 * 8)(sp)
    fsd f10, (44 * 8)(sp)
    fsd f11, (45 * 8)(sp)
    fsd f12, (46 * 8)(sp)
    fsd f13, (47 * 8)(sp)
    fsd f14, (48 * 8)(sp)
    fsd f15, (49 * 8)(sp)
    fsd f16, (50 * 8)(sp)
    fsd f17, (51 * 8)(sp)
    fsd f18, (52 * 8)(sp)
    fsd f19, (53 * 8)(sp)
    fsd f20, (54 * 8)(sp)
    fsd f21, (55 * 8)(sp)
    fsd f22, (56 * 8)(sp)
    fsd f23, (57 * 8)(sp)
    fsd f24, (58 * 8)(sp)
    fsd f25, (59 * 8)(sp)
    fsd f26, (60 * 8)(sp)
    fsd f27, (61 * 8)(sp)
    fsd f28, (62 * 8)(sp)
    fsd f29, (63 * 8)(sp)
    fsd f30, (64 * 8)(sp)
    fsd f31, (65 * 8)(sp)
    csrr t0, fcsr
    sd t0, (66 * 8)(sp)
    mv a0, sp
    call riscv64_trap
    ld t0, (66 * 8)(sp)
    csrw fcsr, t0
    fld f0, (34 * 8)(sp)
    fld f1, (35 * 8)(sp)
    fld f2, (36 * 8)(sp)
    fld f3, (37 * 8)(sp)
    fld f4, (38 * 8)(sp)
    fld f5, (39 * 8)(sp)
    fld f6, (40 * 8)(sp)
    fld f7, (41 * 8)(sp)
    fld f8, (42 * 8)(sp)
    fld f9, (43 * 8)(sp)
    fld f10, (44 * 8)(sp)
    fld f11, (45 * 8)(sp)
    fld f12, (46 * 8)(sp)
    fld f13, (47 * 8)(sp)
    fld f14, (48 * 8)(sp)
    fld f15, (49 * 8)(sp)
    fld f16, (50 * 8)(sp)
    fld f17, (51 * 8)(sp)
    fld f18, (52 * 8)(sp)
    fld f19, (53 * 8)(sp)
    fld f20, (54 * 8)(sp)
    fld f21, (55 * 8)(sp)
    fld f22, (56 * 8)(sp)
    fld f23, (57 * 8)(sp)
    fld f24, (58 * 8)(sp)
    fld f25, (59 * 8)(sp)
    fld f26, (60 * 8)(sp)
    fld f27, (61 * 8)(sp)
    fld f28, (62 * 8)(sp)
    fld f29, (63 * 8)(sp)
    fld f30, (64 * 8)(sp)
    fld f31, (65 * 8)(sp)
    ld t0, (32 * 8)(sp)
    csrw sepc, t0
    ld ra, (1 * 8)(sp)
    ld gp, (3 * 8)(sp)
    ld tp, (4 * 8)(sp)
    ld t0, (5 * 8)(sp)
    ld t1, (6 * 8)(sp)
    ld t2, (7 * 8)(sp)
    ld s0, (8 * 8)(sp)
    ld s1, (9 * 8)(sp)
    ld a0, (10 * 8)(sp)
    ld a1, (11 * 8)(sp)
    ld a2, (12 * 8)(sp)
    ld a3, (13 * 8)(sp)
    ld a4, (14 * 8)(sp)
    ld a5, (15 * 8)(sp)
    ld a6, (16 * 8)(sp)
    ld a7, (17 * 8)(sp)
    ld s2, (18 * 8)(sp)
    ld s3, (19 * 8)(sp)
    ld s4, (20 * 8)(sp)
    ld s5, (21 * 8)(sp)
    ld s6, (22 * 8)(sp)
    ld s7, (23 * 8)(sp)
    ld s8, (24 * 8)(sp)
    ld s9, (25 * 8)(sp)
    ld s10, (26 * 8)(sp)
    ld s11, (27 * 8)(sp)
    ld t3, (28 * 8)(sp)
    ld t4, (29 * 8)(sp)
    ld t5, (30 * 8)(sp)
    ld t6, (31 * 8)(sp)
    ld sp, (2 * 8)(sp)
    sret
.option pop
