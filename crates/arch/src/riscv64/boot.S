/* riscv64 entry: OpenSBI jumps here in S-mode with a0 = hart id, a1 = device tree address,
 * paging off. Clears .bss, enables the FPU (the target uses the D extension), sets up the
 * boot stack and calls `riscv64_entry(hart, device_tree)`. */

.section .text.boot, "ax"
.global _start
_start:
    mv s1, a0
    mv s2, a1
    lla sp, boot_stack_top

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
