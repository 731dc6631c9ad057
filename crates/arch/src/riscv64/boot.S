/* riscv64 entry: OpenSBI jumps here in S-mode with a0 = hart id, a1 = device tree address,
 * paging off. Clears .bss, enables the FPU (the target uses the D extension), sets up the
 * boot stack, points tp at the boot CPU's local (smp.rs) and calls
 * `riscv64_entry(hart, device_tree)`. */

.section .text.boot, "ax"
.global _start
_start:
    mv s1, a0
    mv s2, a1
    lla sp, boot_stack_top
    lla tp, boot_cpu_local

    lla t0, __bss_start
    lla t1, __bss_end
1:  bgeu t0, t1, 2f
    sd zero, 0(t0)
    addi t0, t0, 8
    j 1b

2:  li t0, (1 << 13)             /* sstatus.FS = Initial */
    csrs sstatus, t0
    mv a0, s1
    mv a1, s2
    mv s0, zero  # ends the frame-pointer chain
    mv ra, zero
    call riscv64_entry
3:  wfi
    j 3b

# A secondary hart, started by SBI HSM `hart_start` (smp.rs) in S-mode with paging off,
# a0 = its hart id, a1 = its CpuLocal: paging on with the boot hart's satp (CpuLocal.arch[0])
# first, then the FPU, its stack, and `riscv64_secondary(local)`, which never returns.
.global secondary_start
secondary_start:
    mv tp, a1
    ld t0, (6 * 8)(tp)
    sfence.vma
    csrw satp, t0
    sfence.vma
    li t0, (1 << 13)
    csrs sstatus, t0
    ld sp, (4 * 8)(tp)
    mv a0, tp
    mv s0, zero
    mv ra, zero
    call riscv64_secondary
4:  wfi
    j 4b

# The boot CPU's CpuLocal (smp.rs): stack limit, fatal stack, index 0, the stack's bounds.
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
# The guard page (left unmapped by paging.rs), the boot stack, then the stack a trap
# switches to when the boot stack is about to run out (trap.S).
.balign 4096
.global boot_stack_guard
boot_stack_guard: .skip 4096
.global boot_stack_bottom, boot_stack_top
boot_stack_bottom: .skip 256 * 1024
boot_stack_top:
.global fatal_stack_top
.skip 16 * 1024
fatal_stack_top:
