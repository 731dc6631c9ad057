//! The kernel image as the linker script lays it out (`linker-scripts/<arch>.ld`), and what
//! each of its 4 KiB pages may do under W^X: the one place the page tables of aarch64 and
//! riscv64 take it from (both use 4 KiB pages, 512-entry tables, 2 MiB and 1 GiB blocks).

use core::ops::Range;

pub const PAGE: usize = 4096;
pub const MEGAPAGE: usize = 2 * 1024 * 1024;
pub const GIGAPAGE: usize = 1024 * 1024 * 1024;
/// 2 MiB blocks of the image that can be split into 4 KiB pages: the image may be 8 MiB.
pub const IMAGE_MEGAPAGES: usize = 4;

/// One page table: 512 entries, page-aligned.
#[repr(C, align(4096))]
pub struct Table(pub [u64; 512]);

unsafe extern "C" {
    static __kernel_start: u8;
    static __text_end: u8;
    static __data_start: u8;
    static __kernel_end: u8;
    static boot_stack_guard: u8;
}

/// What a page of the image may do.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Not mapped: the boot stack's (or another CPU's stack's) guard page.
    None,
    /// `.text`: read and execute.
    Text,
    /// `.rodata`, up to `.data`: read only.
    ReadOnly,
    /// The rest: read and write, never execute.
    Data,
}

/// The whole image, `__kernel_start..__kernel_end`.
pub fn extent() -> Range<usize> {
    (&raw const __kernel_start) as usize..(&raw const __kernel_end) as usize
}

/// The guard page under the boot stack.
pub fn stack_guard() -> Range<usize> {
    let guard = (&raw const boot_stack_guard) as usize;
    guard..guard + PAGE
}

/// What the 4 KiB page at `page` of the image may do.
pub fn access(page: usize) -> Access {
    let text = (&raw const __kernel_start) as usize..(&raw const __text_end) as usize;
    let read_only = text.end..(&raw const __data_start) as usize;
    if crate::smp::is_stack_guard(page, stack_guard()) {
        Access::None
    } else if text.contains(&page) {
        Access::Text
    } else if read_only.contains(&page) {
        Access::ReadOnly
    } else {
        Access::Data
    }
}
