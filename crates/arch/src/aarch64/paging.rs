//! Stage 1 translation at EL1 (4 KiB granule, 39-bit addresses from TTBR0_EL1): devices and
//! RAM identity-mapped, the kernel image with W^X, a guard page under the boot stack, and a
//! writable alias of RAM for the GDB stub.
//!
//! Built once at boot, with the MMU off, then switched on (SCTLR_EL1.M, with the data and
//! instruction caches, C and I, and WXN, so that the hardware itself refuses to execute a
//! writable page):
//! - 0..1 GiB (the virt board's devices: flash, GIC, PL011, virtio-mmio): one 1 GiB block,
//!   Device-nGnRE, read-write, never executable;
//! - 1..2 GiB (RAM from 0x4000_0000): 2 MiB blocks of Normal write-back memory, read-write,
//!   never executable, except the 2 MiB blocks that hold the kernel image, which go through
//!   4 KiB tables: `.text` read-execute, `.rodata` up to `.data` read-only, the rest
//!   read-write, and the boot stack's guard page not mapped at all, so an overflow faults
//!   instead of writing `.bss`;
//! - 2..3 GiB: the same RAM again, read-write, never executable: where the GDB stub writes
//!   breakpoints into code that is not writable where it runs.
//!
//! - any other 1 GiB below 2^39 that holds a device the device tree names (`map_device`,
//!   after the tree is read): one block, Device-nGnRE, like the first.
//!
//! Anything else above 3 GiB faults (a translation fault), up to 2^39; beyond that, the
//! address is outside TTBR0_EL1's range and faults too.

use crate::image::{Access, GIGAPAGE, IMAGE_MEGAPAGES, MEGAPAGE, PAGE, Table};
use core::ops::Range;

/// Level 1 and 2: a block (the low bits of a page or table entry are 0b11).
const BLOCK: u64 = 0b01;
/// Level 1 and 2: the next level's table; level 3: a page.
const TABLE_OR_PAGE: u64 = 0b11;
/// AttrIndx 0: MAIR_EL1's first attribute, Normal memory (`MAIR`).
const NORMAL: u64 = 0 << 2;
/// AttrIndx 1: MAIR_EL1's second attribute, Device-nGnRE.
const DEVICE: u64 = 1 << 2;
/// AP[2]: read-only at EL1 (AP[1], EL0 access, stays 0: the kernel runs no EL0 code).
const READ_ONLY: u64 = 1 << 7;
const INNER_SHAREABLE: u64 = 0b11 << 8;
/// AF: set, so that the first access does not fault (no hardware access-flag management).
const ACCESSED: u64 = 1 << 10;
const PRIVILEGED_EXECUTE_NEVER: u64 = 1 << 53;
const UNPRIVILEGED_EXECUTE_NEVER: u64 = 1 << 54;
const EXECUTE_NEVER: u64 = PRIVILEGED_EXECUTE_NEVER | UNPRIVILEGED_EXECUTE_NEVER;

const RAM_ATTRIBUTES: u64 = NORMAL | INNER_SHAREABLE | ACCESSED;
const DATA: u64 = RAM_ATTRIBUTES | EXECUTE_NEVER;
const TEXT: u64 = RAM_ATTRIBUTES | READ_ONLY | UNPRIVILEGED_EXECUTE_NEVER;
const RODATA: u64 = RAM_ATTRIBUTES | READ_ONLY | EXECUTE_NEVER;
const DEVICES: u64 = DEVICE | ACCESSED | EXECUTE_NEVER;

/// MAIR_EL1: attribute 0 Normal, inner and outer write-back non-transient, read- and
/// write-allocate (0xff); attribute 1 Device-nGnRE (0x04).
const MAIR: u64 = 0xff | (0x04 << 8);
/// TCR_EL1: T0SZ = 25 (39-bit addresses: the walk starts at level 1), table walks
/// inner and outer write-back write-allocate (IRGN0, ORGN0 = 0b01) and inner shareable
/// (SH0), TG0 = 4 KiB; TTBR1_EL1 unused (EPD1, TG1 = 4 KiB). IPS is added from the CPU.
const TCR: u64 = 25 | (0b01 << 8) | (0b01 << 10) | (0b11 << 12) | (25 << 16) | (1 << 23) | (0b10 << 30);
const TCR_IPS_SHIFT: u64 = 32;
/// IPS for 48 bits: the largest a 4 KiB granule takes without FEAT_LPA2.
const IPS_48_BITS: u64 = 0b101;
/// SCTLR_EL1: the MMU, data and instruction caches, and write implies execute-never.
const SCTLR_M: u64 = 1 << 0;
const SCTLR_C: u64 = 1 << 2;
const SCTLR_I: u64 = 1 << 12;
const SCTLR_WXN: u64 = 1 << 19;

const RAM_START: usize = 0x4000_0000;
/// Where the writable alias of RAM starts.
const RAM_ALIAS: usize = RAM_START + GIGAPAGE;

static mut ROOT: Table = Table([0; 512]);
static mut RAM_MEGAPAGES: Table = Table([0; 512]);
static mut IMAGE_PAGES: [Table; IMAGE_MEGAPAGES] = [const { Table([0; 512]) }; IMAGE_MEGAPAGES];

fn entry(address: usize, kind: u64, attributes: u64) -> u64 {
    address as u64 | kind | attributes
}

fn pointer_to(table: *const Table) -> u64 {
    table as u64 | TABLE_OR_PAGE
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

/// The attributes of the 4 KiB page at `page` in a 2 MiB block the image touches (None: not
/// mapped).
fn image_page_attributes(page: usize) -> Option<u64> {
    match crate::image::access(page) {
        Access::None => None,
        Access::Text => Some(TEXT),
        Access::ReadOnly => Some(RODATA),
        Access::Data => Some(DATA),
    }
}

/// Invalidates the data cache's lines over `range`, without writing them back: the tables
/// were written with the MMU off, which bypasses the cache, and the walks that follow read
/// through it. (QEMU models no cache; a CPU that does could hold stale lines there.)
fn invalidate_data_cache(range: Range<usize>) {
    let cache_type: u64;
    // SAFETY: reading CTR_EL0 has no side effects.
    unsafe { core::arch::asm!("mrs {}, ctr_el0", out(reg) cache_type, options(nomem, nostack)) };
    let line = 4usize << ((cache_type >> 16) & 0xf);
    for address in (range.start / line * line..range.end).step_by(line) {
        // SAFETY: the lines hold only the tables, which were written to memory already.
        unsafe { core::arch::asm!("dc ivac, {}", in(reg) address, options(nostack)) };
    }
    // SAFETY: a barrier only orders the invalidations before what follows.
    unsafe { core::arch::asm!("dsb sy", options(nostack)) };
}

/// Builds the tables and turns the MMU on. Once, at boot.
pub fn init() {
    let image = crate::image::extent();
    let first = image.start / MEGAPAGE * MEGAPAGE;
    let megapages = (image.end - first).div_ceil(MEGAPAGE);
    assert!(megapages <= IMAGE_MEGAPAGES, "the kernel image spans {megapages} 2 MiB blocks");
    // SAFETY: once, at boot, with the MMU off: nothing else refers to the tables, and the
    // mapping is the identity for everything the kernel touches, so the switch is seamless.
    unsafe {
        let root = (&raw mut ROOT).cast::<u64>();
        let ram = (&raw mut RAM_MEGAPAGES).cast::<u64>();
        root.write(entry(0, BLOCK, DEVICES));
        root.add(RAM_START / GIGAPAGE).write(pointer_to(&raw const RAM_MEGAPAGES));
        root.add(RAM_ALIAS / GIGAPAGE).write(entry(RAM_START, BLOCK, DATA));
        for index in 0..512 {
            ram.add(index).write(entry(RAM_START + index * MEGAPAGE, BLOCK, DATA));
        }
        let tables = (&raw mut IMAGE_PAGES).cast::<Table>();
        for megapage in 0..megapages {
            let start = first + megapage * MEGAPAGE;
            let table = tables.add(megapage).cast::<u64>();
            for index in 0..512 {
                let page = start + index * PAGE;
                let descriptor =
                    image_page_attributes(page).map_or(0, |attributes| entry(page, TABLE_OR_PAGE, attributes));
                table.add(index).write(descriptor);
            }
            ram.add((start - RAM_START) / MEGAPAGE).write(pointer_to(tables.add(megapage)));
        }
        invalidate_data_cache((&raw const ROOT) as usize..(&raw const ROOT) as usize + PAGE);
        invalidate_data_cache((&raw const RAM_MEGAPAGES) as usize..(&raw const RAM_MEGAPAGES) as usize + PAGE);
        invalidate_data_cache(tables as usize..tables as usize + IMAGE_MEGAPAGES * PAGE);

        let memory_model: u64;
        core::arch::asm!("mrs {}, id_aa64mmfr0_el1", out(reg) memory_model, options(nomem, nostack));
        let tcr = TCR | ((memory_model & 0xf).min(IPS_48_BITS) << TCR_IPS_SHIFT);
        core::arch::asm!(
            "msr mair_el1, {mair}",
            "msr tcr_el1, {tcr}",
            "msr ttbr0_el1, {root}",
            "isb",
            "tlbi vmalle1",
            "dsb nsh",
            "isb",
            "mrs {sctlr}, sctlr_el1",
            "orr {sctlr}, {sctlr}, {enable}",
            "msr sctlr_el1, {sctlr}",
            "isb",
            "ic iallu",
            "dsb nsh",
            "isb",
            mair = in(reg) MAIR,
            tcr = in(reg) tcr,
            root = in(reg) (&raw const ROOT) as u64,
            sctlr = out(reg) _,
            enable = in(reg) SCTLR_M | SCTLR_C | SCTLR_I | SCTLR_WXN,
            options(nostack),
        );
    }
}

/// Maps the 1 GiB blocks that `registers` touches as device memory, for a device the device
/// tree names: true if they are devices already or were not mapped (they are now), false if
/// one of them holds RAM or its alias, or lies beyond the 39 bits TTBR0_EL1 translates (the
/// driver then keeps the board's address). On the boot CPU, at boot, before others start.
pub fn map_device(registers: Range<usize>) -> bool {
    let last = registers.end.max(registers.start.saturating_add(1)) - 1;
    for index in registers.start / GIGAPAGE..=last / GIGAPAGE {
        if index >= 512 {
            return false;
        }
        let device = entry(index * GIGAPAGE, BLOCK, DEVICES);
        // SAFETY: the boot CPU alone changes the root table, at boot; an entry that was
        // invalid can hold no stale translation, so it needs no TLB invalidation: the barriers
        // make the walks that follow see it.
        unsafe {
            let slot = (&raw mut ROOT).cast::<u64>().add(index);
            match slot.read() {
                0 => {
                    slot.write(device);
                    core::arch::asm!("dsb ishst", "isb", options(nostack));
                }
                existing if existing == device => {}
                _ => return false,
            }
        }
    }
    true
}
