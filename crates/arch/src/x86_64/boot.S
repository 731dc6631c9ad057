/* x86_64 entry through PVH: QEMU's `-kernel` loader finds the Xen ELF note below and
 * enters `pvh_start` in 32-bit protected mode with paging off, %ebx = the physical address
 * of the hvm_start_info structure. This code identity-maps the first 4 GiB with 2 MiB
 * pages, enters long mode and calls `x86_64_entry(start_info)` in Rust. */

.section .note.Xen, "a", @note
    .balign 4
    .long 4                      /* name size: "Xen\0" */
    .long 4                      /* descriptor size */
    .long 18                     /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long pvh_start
    .balign 4

.section .text.boot, "ax"
.code32
.global pvh_start
pvh_start:
    cli
    mov %ebx, pvh_start_info     /* in .data: survives the .bss clearing below */

    /* Clear .bss (the page tables and the boot stack live there). */
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    cld
    rep stosb

    /* PML4[0] -> PDPT; PDPT[0..4] -> four page directories; each PD entry a 2 MiB page. */
    mov $boot_pdpt, %eax
    or $0x3, %eax                /* present, writable */
    mov %eax, boot_pml4

    mov $boot_pd, %eax
    or $0x3, %eax
    mov $boot_pdpt, %edi
    mov $4, %ecx
1:  mov %eax, (%edi)
    add $4096, %eax
    add $8, %edi
    loop 1b

    mov $0x83, %eax              /* present, writable, 2 MiB page */
    mov $boot_pd, %edi
    mov $2048, %ecx
2:  mov %eax, (%edi)
    add $0x200000, %eax
    add $8, %edi
    loop 2b

    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $0x20, %eax               /* CR4.PAE */
    mov %eax, %cr4
    mov $0xC0000080, %ecx        /* IA32_EFER */
    rdmsr
    or $0x100, %eax              /* EFER.LME */
    wrmsr
    mov %cr0, %eax
    or $0x80000001, %eax         /* CR0.PG | CR0.PE */
    mov %eax, %cr0

    lgdt boot_gdt_pointer
    ljmp $0x08, $long_mode_start

.code64
long_mode_start:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs
    mov $boot_stack_top, %rsp
    xor %ebp, %ebp               /* ends the frame-pointer chain */
    mov pvh_start_info, %edi
    call x86_64_entry
3:  hlt
    jmp 3b

.section .data
.balign 8
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff     /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff     /* 0x10: data */
boot_gdt_end:
boot_gdt_pointer:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt
pvh_start_info:
    .long 0
/* The boot CPU's CpuLocal (smp.rs): stack limit, no fatal stack (the double fault has its
 * IST stack), index 0, the stack's bounds. */
.balign 8
.global boot_cpu_local
boot_cpu_local:
    .quad boot_stack_bottom + 4096
    .quad 0
    .quad 0
    .quad boot_stack_bottom
    .quad boot_stack_top
    .quad 0, 0, 0, 0, 0, 0

.section .bss
.balign 4096
.global boot_pdpt, boot_pd, boot_stack_guard
boot_pml4: .skip 4096
boot_pdpt: .skip 4096
boot_pd:   .skip 4096 * 4
/* Unmapped once the kernel runs (paging.rs, which also makes the image W^X and adds the
 * GDB stub's writable alias to boot_pdpt): a stack overflow faults here. */
boot_stack_guard: .skip 4096
.global boot_stack_bottom, boot_stack_top
boot_stack_bottom: .skip 256 * 1024
boot_stack_top:
