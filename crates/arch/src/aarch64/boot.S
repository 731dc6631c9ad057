/* aarch64 entry: QEMU's virt board loads the ELF and starts here at EL1, MMU off (the Rust
 * entry turns it on first, paging.rs).
 * x0 holds the device tree address when a loader passes one (QEMU does not for ELF
 * images: it places the tree at the start of RAM). Enables the FP/SIMD unit (the target
 * uses NEON), clears .bss, sets up the boot stack, points TPIDRRO_EL0 at the boot CPU's
 * CpuLocal (smp.rs) and calls `aarch64_entry(x0)`. */

.section .text.boot, "ax"
.global _start
_start:
    mov x19, x0

    mrs x1, cpacr_el1
    orr x1, x1, #(3 << 20)       /* CPACR_EL1.FPEN: no FP/SIMD traps at EL0/EL1 */
    msr cpacr_el1, x1
    isb

    adrp x1, boot_stack_top
    add x1, x1, :lo12:boot_stack_top
    mov sp, x1

    adrp x1, boot_cpu_local      /* this CPU's CpuLocal (smp.rs), for the vectors */
    add x1, x1, :lo12:boot_cpu_local
    msr tpidrro_el0, x1

    adrp x1, __bss_start
    add x1, x1, :lo12:__bss_start
    adrp x2, __bss_end
    add x2, x2, :lo12:__bss_end
1:  cmp x1, x2
    b.hs 2f
    stp xzr, xzr, [x1], #16
    b 1b

2:  mov x0, x19
    mov x29, xzr                 /* ends the frame-pointer chain */
    mov x30, xzr
    bl aarch64_entry
3:  wfe
    b 3b

/* A secondary CPU, started by PSCI CPU_ON (smp.rs) at EL1 with the MMU off, x0 = its
 * CpuLocal: the FP unit, then the MMU with the boot CPU's MAIR, TCR, TTBR0 and SCTLR
 * (CpuLocal.arch[0..4]) before anything touches memory through the caches, then its
 * stack and `aarch64_secondary(local)`, which never returns. */
.global secondary_start
secondary_start:
    msr tpidrro_el0, x0
    mrs x1, cpacr_el1
    orr x1, x1, #(3 << 20)
    msr cpacr_el1, x1
    isb
    ldp x1, x2, [x0, #(6 * 8)]   /* MAIR, TCR */
    ldp x3, x4, [x0, #(8 * 8)]   /* TTBR0, SCTLR */
    msr mair_el1, x1
    msr tcr_el1, x2
    msr ttbr0_el1, x3
    isb
    tlbi vmalle1
    dsb nsh
    isb
    msr sctlr_el1, x4
    isb
    ic iallu
    dsb nsh
    isb
    ldr x1, [x0, #(4 * 8)]
    mov sp, x1
    mov x29, xzr
    mov x30, xzr
    bl aarch64_secondary
4:  wfe
    b 4b

/* The boot CPU's CpuLocal (smp.rs): stack limit, fatal stack, index 0, the stack's bounds. */
.section .data
.balign 8
.global boot_cpu_local
boot_cpu_local:
    .quad boot_stack_bottom + 4096
    .quad fatal_stack_top
    .quad 0
    .quad boot_stack_bottom
    .quad boot_stack_top
    .quad 0, 0, 0, 0, 0, 0

.section .bss.boot_stack, "aw", @nobits
/* The guard page (left unmapped by paging.rs), the boot stack, then the stack an exception
 * switches to when the boot stack is about to run out (vectors.S). */
.balign 4096
.global boot_stack_guard
boot_stack_guard: .skip 4096
.global boot_stack_bottom, boot_stack_top
boot_stack_bottom: .skip 256 * 1024
boot_stack_top:
.global fatal_stack_top
.skip 16 * 1024
fatal_stack_top:
