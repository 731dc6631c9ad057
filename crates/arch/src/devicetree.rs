//! What the kernel reads from a flattened device tree (aarch64 and riscv64 boards).

use core::sync::atomic::{AtomicUsize, Ordering};
use fdt::Fdt;
use mm::{MemoryMap, Region};

/// Where the boot's device tree is (0 before [`at`] found it).
static BOOT_TREE: AtomicUsize = AtomicUsize::new(0);

/// The device tree at `address`, if one is there.
///
/// # Safety
/// `address` must be readable memory (a device tree, or at least 40 bytes of anything:
/// the header is checked before the rest is read).
pub unsafe fn at(address: usize) -> Option<Fdt<'static>> {
    if address == 0 {
        return None;
    }
    // SAFETY: the caller vouches for the address; `from_ptr` checks the magic and sizes.
    let tree = unsafe { Fdt::from_ptr(address as *const u8).ok() };
    if tree.is_some() {
        BOOT_TREE.store(address, Ordering::Relaxed);
    }
    tree
}

/// The device tree the boot found (it stays: memory reserves it).
#[cfg_attr(not(feature = "gdbstub"), allow(dead_code))] // only the GDB stub's port looks again
pub fn boot_tree() -> Option<Fdt<'static>> {
    // SAFETY: `at` checked a tree there, and the memory map keeps it reserved.
    unsafe { at(BOOT_TREE.load(Ordering::Relaxed)) }
}

/// Physical memory from `/memory`; reserved: `/reserved-memory`, the `/memreserve/` block
/// and the device tree itself (it must outlive the boot: the command line points into it).
pub fn memory_map(tree: &Fdt<'static>, tree_address: usize) -> MemoryMap {
    let mut map = MemoryMap::default();
    for region in tree.memory().regions() {
        map.usable.add(Region::with_size(region.starting_address as usize, region.size.unwrap_or(0)));
    }
    if let Some(reserved) = tree.find_node("/reserved-memory") {
        for child in reserved.children() {
            for region in child.reg().into_iter().flatten() {
                map.reserved.add(Region::with_size(region.starting_address as usize, region.size.unwrap_or(0)));
            }
        }
    }
    for reservation in tree.memory_reservations() {
        map.reserved.add(Region::with_size(reservation.address() as usize, reservation.size()));
    }
    map.reserved.add(Region::with_size(tree_address, tree.total_size()));
    map
}

/// `/chosen/bootargs`: where QEMU puts `-append`.
pub fn bootargs(tree: &Fdt<'static>) -> &'static str {
    tree.chosen().bootargs().unwrap_or("")
}
