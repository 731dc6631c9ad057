//! The PL011 UART the console writes to, transmit only: the one the device tree's
//! `/chosen/stdout-path` names (else its first PL011), else QEMU virt's.
//!
//! Three registers are all the console needs, and QEMU's PL011 works without
//! configuration, so this is written out rather than taken from a crate. The board's
//! address serves until the tree is read (a fault in the boot code before then is still
//! printed), and stays if the tree names no PL011.

use super::devicetree;
use core::ops::Range;
use core::sync::atomic::{AtomicUsize, Ordering};
use fdt::Fdt;

/// QEMU virt's PL011 (hw/arm/virt.c, `VIRT_UART`).
pub const BOARD_BASE: usize = 0x0900_0000;
pub const COMPATIBLE: &[&str] = &["arm,pl011"];

const DATA: usize = 0x00;
const FLAGS: usize = 0x18;
const TRANSMIT_FIFO_FULL: u32 = 1 << 5;

/// Where the console's PL011 is.
static BASE: AtomicUsize = AtomicUsize::new(BOARD_BASE);

/// The registers of the PL011 the tree makes the console.
pub fn find(tree: &Fdt<'_>) -> Option<Range<usize>> {
    devicetree::registers(devicetree::console(tree, COMPATIBLE)?, 0)
}

/// Takes the console's PL011 from the tree, if paging maps it (paging.rs maps what lies
/// outside the first gigabyte). Once, at boot, on the boot CPU alone.
pub fn discover(tree: Option<&Fdt<'_>>) {
    if let Some(registers) = tree.and_then(find)
        && super::paging::map_device(registers.clone())
    {
        BASE.store(registers.start, Ordering::Relaxed);
    }
}

/// Where the console's PL011 is.
pub fn base() -> usize {
    BASE.load(Ordering::Relaxed)
}

pub fn write(bytes: &[u8]) {
    let base = base();
    let data = (base + DATA) as *mut u32;
    let flags = (base + FLAGS) as *const u32;
    for &byte in bytes {
        // SAFETY: a PL011's registers: the board's, or the tree's (identity-mapped as a device, paging.rs).
        unsafe {
            while flags.read_volatile() & TRANSMIT_FIFO_FULL != 0 {
                core::hint::spin_loop();
            }
            data.write_volatile(u32::from(byte));
        }
    }
}
