//! What the kernel reads from a flattened device tree (aarch64 and riscv64 boards): memory,
//! the command line, and where a device is (the console's `stdout-path`, the first node of
//! a `compatible`, a `reg` entry), for each arch's drivers to take or leave.

#[cfg(feature = "ktest")]
pub mod blob;
#[cfg(feature = "ktest")]
mod tests;

use core::ops::Range;
use core::sync::atomic::{AtomicUsize, Ordering};
use fdt::Fdt;
use fdt::node::FdtNode;
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
#[cfg_attr(not(any(feature = "gdbstub", feature = "ktest")), allow(dead_code))] // the GDB stub's port and the tests look again
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

/// `/chosen/bootargs`: where QEMU puts `-append` (empty without it; `Fdt::chosen` would
/// panic on a tree without `/chosen`).
pub fn bootargs(tree: &Fdt<'static>) -> &'static str {
    tree.find_node("/chosen").and_then(|chosen| chosen.property("bootargs")?.as_str()).unwrap_or("")
}

/// Whether `node` is there to be used: no `status`, or "okay" ("ok" in older trees).
fn is_enabled(node: FdtNode<'_, '_>) -> bool {
    node.property("status").and_then(|status| status.as_str()).is_none_or(|status| status == "okay" || status == "ok")
}

/// Whether `node` is enabled and its `compatible` names one of `names`.
pub fn is_compatible(node: FdtNode<'_, '_>, names: &[&str]) -> bool {
    is_enabled(node) && node.compatible().is_some_and(|compatible| compatible.all().any(|name| names.contains(&name)))
}

/// The first enabled node compatible with one of `names`, in the tree's order.
pub fn first_compatible<'b, 'a>(tree: &'b Fdt<'a>, names: &[&str]) -> Option<FdtNode<'b, 'a>> {
    tree.all_nodes().find(|node| is_compatible(*node, names))
}

/// The node `/chosen/stdout-path` names: a full path or an alias (`serial0`), without the
/// line settings a `:` may add ("/pl011@9000000:115200n8"), which `Fdt::find_node` would take
/// for part of the name.
pub fn stdout<'b, 'a>(tree: &'b Fdt<'a>) -> Option<FdtNode<'b, 'a>> {
    let path = tree.find_node("/chosen")?.property("stdout-path")?.as_str()?;
    let path = path.split(':').next().filter(|path| !path.is_empty())?;
    tree.find_node(path)
}

/// The console a driver for `names` should use: the node `stdout-path` names if it is one
/// of them, else the first that is (a tree may name no console, or one of another kind).
pub fn console<'b, 'a>(tree: &'b Fdt<'a>, names: &[&str]) -> Option<FdtNode<'b, 'a>> {
    stdout(tree).filter(|node| is_compatible(*node, names)).or_else(|| first_compatible(tree, names))
}

/// The ids (the first `reg` address) of the enabled CPU nodes under `/cpus`, in the tree's
/// order; none for a tree without `/cpus` (on which `Fdt::cpus` panics).
pub fn cpu_ids<'b>(tree: &'b Fdt<'_>) -> impl Iterator<Item = usize> + 'b {
    tree.find_node("/cpus")
        .into_iter()
        .flat_map(|cpus| cpus.children())
        .filter(|node| is_enabled(*node) && node.property("device_type").and_then(|kind| kind.as_str()) == Some("cpu"))
        .filter_map(|node| registers(node, 0).map(|reg| reg.start))
}

/// The `index`th entry of `node`'s `reg`, as an address range (one byte if it has no size).
///
/// These are addresses on the parent's bus, read as physical addresses: on QEMU's virt
/// boards every device the kernel drives sits at the root or under a `simple-bus` whose
/// `ranges` is empty (1:1), so they are; a non-empty `ranges` is not translated.
pub fn registers(node: FdtNode<'_, '_>, index: usize) -> Option<Range<usize>> {
    let region = node.reg()?.nth(index)?;
    let start = region.starting_address as usize;
    Some(start..start.checked_add(region.size.unwrap_or(1).max(1))?)
}
