//! Changes to the boot page tables: the guard page under the boot stack.
//!
//! `boot.S` maps the first 4 GiB with 2 MiB pages. The 2 MiB page that holds the guard is
//! remapped through a 4 KiB page table identical to it except for the guard, which is left
//! unmapped: a stack overflow then page-faults instead of overwriting `.bss`.

use x86_64::registers::control::Cr3;

const PRESENT_WRITABLE: u64 = 0b11;
const LARGE_PAGE: usize = 2 * 1024 * 1024;

unsafe extern "C" {
    /// The four page directories covering the first 4 GiB (boot.S).
    static mut boot_pd: [u64; 2048];
    static boot_stack_guard: u8;
}

#[repr(C, align(4096))]
struct PageTable([u64; 512]);

static mut GUARD_TABLE: PageTable = PageTable([0; 512]);

/// The guard page's address.
pub fn stack_guard() -> usize {
    (&raw const boot_stack_guard) as usize
}

pub fn protect_stack_guard() {
    let guard = stack_guard();
    let large_page = guard / LARGE_PAGE * LARGE_PAGE;
    // SAFETY: once, at boot, before anything else looks at these tables; the new table maps
    // the same memory as the large page it replaces, less the guard page, which only the
    // boot stack's overflow would touch. Reloading CR3 flushes the old translation.
    unsafe {
        let table = (&raw mut GUARD_TABLE).cast::<u64>();
        for index in 0..512 {
            let page = large_page + index * 4096;
            table.add(index).write(if page == guard { 0 } else { page as u64 | PRESENT_WRITABLE });
        }
        let directory = (&raw mut boot_pd).cast::<u64>();
        directory.add(large_page / LARGE_PAGE).write((&raw const GUARD_TABLE) as u64 | PRESENT_WRITABLE);
        let (frame, flags) = Cr3::read();
        Cr3::write(frame, flags);
    }
}
