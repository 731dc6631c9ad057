/* The secondary CPUs' way in (smp.rs): a STARTUP IPI starts a CPU in real mode at
 * 0x0800:0000, where smp.rs copied these bytes (they are assembled at no fixed address, so
 * every absolute address below is 0x8000 plus the distance from `trampoline_start`). It goes
 * straight to long mode: PAE, the kernel's CR3, EFER.LME and NXE, then paging and protected
 * mode at once, and a far jump to 64-bit code; then the stack and the Rust entry from the
 * mailbox at 0x9000 that smp.rs filled: CR3, the stack's top, the CpuLocal, the entry. */

.set TRAMPOLINE, 0x8000
.set MAILBOX, 0x9000

.section .rodata.trampoline, "a"
.global trampoline_start, trampoline_end
.code16
trampoline_start:
    cli
    xor %ax, %ax
    mov %ax, %ds
    lgdtl (TRAMPOLINE + trampoline_gdt_pointer - trampoline_start)
    mov $0x20, %eax              /* CR4.PAE */
    mov %eax, %cr4
    movl (MAILBOX), %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx        /* IA32_EFER: LME and NXE */
    rdmsr
    or $0x900, %eax
    wrmsr
    mov $0x80010001, %eax        /* CR0.PG, WP and PE */
    mov %eax, %cr0
    ljmpl $0x08, $(TRAMPOLINE + trampoline_long_mode - trampoline_start)

.code64
trampoline_long_mode:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs
    mov (MAILBOX + 8), %rsp
    mov (MAILBOX + 16), %rdi
    mov (MAILBOX + 24), %rax
    xor %ebp, %ebp
    call *%rax
1:  hlt
    jmp 1b

/* The same selectors as boot.S (0x08 code, 0x10 data), accessed bits set: this page is
 * read-only once paging is on, and the CPU would otherwise write them. */
.balign 8
trampoline_gdt:
    .quad 0
    .quad 0x00af9b000000ffff
    .quad 0x00cf93000000ffff
trampoline_gdt_pointer:
    .word 3 * 8 - 1
    .long TRAMPOLINE + trampoline_gdt - trampoline_start
trampoline_end:
