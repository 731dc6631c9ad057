//! Sv39 page tables: RAM and devices identity-mapped, the kernel image with W^X, a guard
//! page under the boot stack, and a writable alias of RAM for the GDB stub.
//!
//! Built once at boot, before anything but the boot code ran, and switched on with `satp`:
//! - 0..1 GiB (the virt board's devices: UART, `sifive_test`, virtio-mmio): one gigapage,
//!   read-write, never executable;
//! - 2..3 GiB (RAM from 0x8000_0000): 2 MiB pages, read-write, never executable, except the
//!   2 MiB pages that hold the kernel image, which go through 4 KiB tables: `.text`
//!   read-execute, `.rodata` up to `.data` read-only, the rest read-write, and the boot
//!   stack's guard page not mapped at all, so an overflow faults instead of writing `.bss`;
//! - 3..4 GiB: the same RAM again, read-write, never executable: where the GDB stub writes
//!   breakpoints into code that is not writable where it runs;
//! - any other 1 GiB below 256 GiB that holds a device the device tree names (`map_device`,
//!   after the tree is read): one gigapage, read-write, never executable, like the first.

use crate::image::{Access, GIGAPAGE, IMAGE_MEGAPAGES, MEGAPAGE, PAGE, Table};
use core::ops::Range;

const VALID: u64 = 1 << 0;
const READ: u64 = 1 << 1;
const WRITE: u64 = 1 << 2;
const EXECUTE: u64 = 1 << 3;
const GLOBAL: u64 = 1 << 5;
const ACCESSED: u64 = 1 << 6;
const DIRTY: u64 = 1 << 7;

const DATA: u64 = VALID | READ | WRITE | GLOBAL | ACCESSED | DIRTY;
const TEXT: u64 = VALID | READ | EXECUTE | GLOBAL | ACCESSED;
const READ_ONLY: u64 = VALID | READ | GLOBAL | ACCESSED;

const RAM_START: usize = 0x8000_0000;
/// Where the writable alias of RAM starts.
const RAM_ALIAS: usize = RAM_START + GIGAPAGE;
const SATP_SV39: u64 = 8 << 60;

static mut ROOT: Table = Table([0; 512]);
static mut RAM_MEGAPAGES: Table = Table([0; 512]);
static mut IMAGE_PAGES: [Table; IMAGE_MEGAPAGES] = [const { Table([0; 512]) }; IMAGE_MEGAPAGES];

fn leaf(address: usize, flags: u64) -> u64 {
    ((address as u64 >> 12) << 10) | flags
}

fn pointer_to(table: *const Table) -> u64 {
    ((table as u64 >> 12) << 10) | VALID
}

/// The guard page under the boot stack.
pub fn stack_guard() -> Range<usize> {
    crate::image::stack_guard()
}

/// Where the GDB stub writes to change `address` (code is not writable where it runs).
#[cfg(feature = "gdbstub")]
pub fn writable_alias(address: usize) -> usize {
    if (RAM_START..RAM_START + GIGAPAGE).contains(&address) { address - RAM_START + RAM_ALIAS } else { address }
}

/// The flags of the 4 KiB page at `page` in a 2 MiB page the image touches (0: not mapped).
fn image_page_flags(page: usize) -> u64 {
    match crate::image::access(page) {
        Access::None => 0,
        Access::Text => TEXT,
        Access::ReadOnly => READ_ONLY,
        Access::Data => DATA,
    }
}

/// Builds the tables and turns paging on. Once, at boot.
pub fn init() {
    let image = crate::image::extent();
    let first = image.start / MEGAPAGE * MEGAPAGE;
    let megapages = (image.end - first).div_ceil(MEGAPAGE);
    assert!(megapages <= IMAGE_MEGAPAGES, "the kernel image spans {megapages} 2 MiB pages");
    // SAFETY: once, at boot, with paging off: nothing else refers to the tables, and the
    // mapping is the identity for everything the kernel touches, so the switch is seamless.
    unsafe {
        let root = (&raw mut ROOT).cast::<u64>();
        let ram = (&raw mut RAM_MEGAPAGES).cast::<u64>();
        root.write(leaf(0, DATA));
        root.add(RAM_START / GIGAPAGE).write(pointer_to(&raw const RAM_MEGAPAGES));
        root.add(RAM_ALIAS / GIGAPAGE).write(leaf(RAM_START, DATA));
        for index in 0..512 {
            ram.add(index).write(leaf(RAM_START + index * MEGAPAGE, DATA));
        }
        let tables = (&raw mut IMAGE_PAGES).cast::<Table>();
        for megapage in 0..megapages {
            let start = first + megapage * MEGAPAGE;
            let table = tables.add(megapage).cast::<u64>();
            for index in 0..512 {
                let page = start + index * PAGE;
                let flags = image_page_flags(page);
                table.add(index).write(if flags == 0 { 0 } else { leaf(page, flags) });
            }
            ram.add((start - RAM_START) / MEGAPAGE).write(pointer_to(tables.add(megapage)));
        }
        let satp = SATP_SV39 | ((&raw const ROOT) as u64 >> 12);
        core::arch::asm!("sfence.vma", "csrw satp, {}", "sfence.vma", in(reg) satp, options(nostack));
    }
}

/// Maps the gigapages that `registers` touches, read-write, for a device the device tree
/// names: true if they are devices already or were not mapped (they are now), false if one
/// of them holds RAM or its alias, or lies at or above 256 GiB (bit 38 set: Sv39 would take
/// the address for a negative, sign-extended one, so no identity mapping can reach it). The
/// driver then keeps the board's address. On the boot hart, at boot, before others start.
pub fn map_device(registers: Range<usize>) -> bool {
    let last = registers.end.max(registers.start.saturating_add(1)) - 1;
    for index in registers.start / GIGAPAGE..=last / GIGAPAGE {
        if index >= 256 {
            return false;
        }
        let device = leaf(index * GIGAPAGE, DATA);
        // SAFETY: the boot hart alone changes the root table, at boot; sfence.vma makes the
        // walks that follow see the new entry (a hart may have cached it as invalid).
        unsafe {
            let slot = (&raw mut ROOT).cast::<u64>().add(index);
            match slot.read() {
                0 => {
                    slot.write(device);
                    core::arch::asm!("sfence.vma", options(nostack));
                }
                existing if existing == device => {}
                _ => return false,
            }
        }
    }
    true
}
