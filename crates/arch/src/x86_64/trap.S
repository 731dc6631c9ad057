/* Entries for the CPU exceptions the kernel resumes from or reports with every register, and
 * for the timer interrupt (the kernel's debugger may stop the CPU there):
 * each pushes an error code (0 where the CPU pushes none) and its vector, then joins
 * `trap_common`, which saves the general registers in a TrapFrame (traps.rs), calls
 * `x86_64_trap(frame)`, restores the (possibly modified) frame and returns with iretq.
 * 22 quadwords in all: the stack stays 16-byte aligned for the call. */

.macro TRAP vector, cpu_error_code=0
.global x86_64_trap_\vector
x86_64_trap_\vector:
.if \cpu_error_code == 0
    pushq $0
.endif
    pushq $\vector
    jmp trap_common
.endm

.section .text.trap, "ax"
TRAP 0     /* divide error */
TRAP 1     /* debug: a single step */
TRAP 3     /* breakpoint */
TRAP 6     /* invalid opcode */
TRAP 13, 1 /* general protection */
TRAP 14, 1 /* page fault */
TRAP 32    /* the local APIC timer (timer.rs: TIMER_VECTOR) */

trap_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    cld
    call x86_64_trap
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp  /* the vector and the error code */
    iretq
