//! Changes to the boot page tables: W^X over the kernel image, a guard page under the boot
//! stack, and a writable alias of the first 1 GiB for the GDB stub.
//!
//! `boot.S` maps the first 4 GiB with 2 MiB pages, all writable and executable (32-bit code
//! cannot set the no-execute bit: EFER.NXE is off there). Once in long mode:
//! - EFER.NXE on, so that entries may carry NX, and CR0.WP on, so that read-only pages are
//!   read-only to the kernel too;
//! - every 2 MiB page read-write and no-execute, except those that hold the kernel image,
//!   which go through 4 KiB tables: `.text` read-execute, the rest of the image up to `.data`
//!   (the PVH note, `.rodata`, the build-id, the test registry, the GOT) read-only, the rest
//!   read-write, never executable, and the boot stack's guard page not mapped at all, so an
//!   overflow faults instead of overwriting `.bss`;
//! - 4..5 GiB: the first 1 GiB again, read-write, no-execute: where the GDB stub writes
//!   breakpoints into code that is not writable where it runs.

use x86_64::registers::control::{Cr0, Cr0Flags, Cr3};
use x86_64::registers::model_specific::{Efer, EferFlags};

const PRESENT: u64 = 1 << 0;
const WRITABLE: u64 = 1 << 1;
const LARGE: u64 = 1 << 7;
const NO_EXECUTE: u64 = 1 << 63;

const DATA: u64 = PRESENT | WRITABLE | NO_EXECUTE;
const TEXT: u64 = PRESENT;
const READ_ONLY: u64 = PRESENT | NO_EXECUTE;
/// A directory entry pointing at a table: what the table's entries say is what counts.
const TABLE: u64 = PRESENT | WRITABLE;

const PAGE: usize = 4096;
/// Where the other CPUs' start-up trampoline runs (the STARTUP IPI's vector 0x08 is page
/// 0x8000; `smp.rs` copies it there) and where its mailbox is: below 1 MiB, reserved (mm keeps
/// everything below the image), identity-mapped, and the one executable page outside the
/// image. Decided here, with the rest of the memory map, so that paging needs nothing of smp.
pub const TRAMPOLINE: usize = 0x8000;
const LARGE_PAGE: usize = 2 * 1024 * 1024;
const GIGABYTE: usize = 1024 * 1024 * 1024;
/// Where the writable alias of the first 1 GiB starts (the fifth entry of the PDPT).
const ALIAS: usize = 4 * GIGABYTE;
/// 2 MiB pages of the image that can be split into 4 KiB pages: the image may be 8 MiB.
const IMAGE_LARGE_PAGES: usize = 4;

unsafe extern "C" {
    /// The PDPT and the four page directories covering the first 4 GiB (boot.S).
    static mut boot_pdpt: [u64; 512];
    static mut boot_pd: [u64; 2048];
    static __kernel_start: u8;
    static __text_start: u8;
    static __text_end: u8;
    static __data_start: u8;
    static __kernel_end: u8;
    static boot_stack_guard: u8;
}

#[repr(C, align(4096))]
struct PageTable([u64; 512]);

static mut IMAGE_TABLES: [PageTable; IMAGE_LARGE_PAGES] = [const { PageTable([0; 512]) }; IMAGE_LARGE_PAGES];
static mut ALIAS_DIRECTORY: PageTable = PageTable([0; 512]);

/// Whether `range` lies in what `boot.S` identity-maps (the first 4 GiB), where the kernel
/// may read firmware's tables and reach the local APIC.
pub fn is_identity_mapped(range: core::ops::Range<usize>) -> bool {
    range.end <= 4 * GIGABYTE
}

/// The guard page's address.
pub fn stack_guard() -> usize {
    (&raw const boot_stack_guard) as usize
}

/// Where the GDB stub writes to change `address` (code is not writable where it runs).
#[cfg(feature = "gdbstub")]
pub fn writable_alias(address: usize) -> usize {
    if address < GIGABYTE { address + ALIAS } else { address }
}

/// The entry of the 4 KiB page at `page` in a 2 MiB page the image touches (0: not mapped).
fn image_page_entry(page: usize) -> u64 {
    let image = (&raw const __kernel_start) as usize..(&raw const __kernel_end) as usize;
    let text = (&raw const __text_start) as usize..(&raw const __text_end) as usize;
    let read_only = image.start..(&raw const __data_start) as usize;
    if crate::smp::is_stack_guard(page, stack_guard()..stack_guard() + PAGE) {
        0
    } else if text.contains(&page) || page == TRAMPOLINE {
        page as u64 | TEXT
    } else if read_only.contains(&page) {
        page as u64 | READ_ONLY
    } else {
        page as u64 | DATA
    }
}

/// Applies the mapping described above to the boot tables. Once, at boot.
pub fn init() {
    let image = (&raw const __kernel_start) as usize..(&raw const __kernel_end) as usize;
    let first = image.start / LARGE_PAGE;
    let last = (image.end - 1) / LARGE_PAGE;
    assert!(last - first < IMAGE_LARGE_PAGES, "the kernel image spans {} 2 MiB pages", last - first + 1);
    // SAFETY: once, at boot, before anything else looks at these tables. NXE goes on before
    // any entry has NX (a reserved bit without it). Every new entry maps what the old one
    // mapped, with fewer rights: the code running now is in `.text`, still executable, and
    // what it writes (the tables, the stack) is in `.bss`, still writable. Reloading CR3
    // flushes the old translations; WP goes on last.
    unsafe {
        Efer::update(|flags| flags.insert(EferFlags::NO_EXECUTE_ENABLE));
        let tables = (&raw mut IMAGE_TABLES).cast::<PageTable>();
        let directory = (&raw mut boot_pd).cast::<u64>();
        for index in 0..2048 {
            let entry = if (first..=last).contains(&index) {
                let table = tables.add(index - first);
                for slot in 0..512 {
                    let page = index * LARGE_PAGE + slot * PAGE;
                    table.cast::<u64>().add(slot).write(image_page_entry(page));
                }
                table as u64 | TABLE
            } else {
                (index * LARGE_PAGE) as u64 | DATA | LARGE
            };
            directory.add(index).write(entry);
        }
        let alias = (&raw mut ALIAS_DIRECTORY).cast::<u64>();
        for index in 0..512 {
            alias.add(index).write((index * LARGE_PAGE) as u64 | DATA | LARGE);
        }
        (&raw mut boot_pdpt).cast::<u64>().add(ALIAS / GIGABYTE).write(alias as u64 | TABLE);
        let (frame, flags) = Cr3::read();
        Cr3::write(frame, flags);
        Cr0::update(|flags| flags.insert(Cr0Flags::WRITE_PROTECT));
    }
}
