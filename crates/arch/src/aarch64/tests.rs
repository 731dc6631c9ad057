//! Kernel tests that aarch64 drives the devices where the device tree puts them: the GIC,
//! the virtual timer's interrupt and the console's PL011 in use are the boot tree's, and on
//! trees that move them (or leave them out) the drivers find them there (or nothing).

use super::devicetree::{self, blob::Blob};
use super::{gic, paging, pl011};
use alloc::vec::Vec;
use fdt::Fdt;
use ktest::ktest;

fn boot_tree() -> Fdt<'static> {
    devicetree::boot_tree().expect("QEMU's virt passes a device tree")
}

/// A property's 32-bit cells.
fn cells(value: &[u8]) -> Vec<u32> {
    value.chunks_exact(4).map(|cell| u32::from_be_bytes([cell[0], cell[1], cell[2], cell[3]])).collect()
}

#[ktest]
fn the_gic_in_use_is_the_device_tree_s_interrupt_controller() {
    let tree = boot_tree();
    let node = tree
        .all_nodes()
        .find(|node| {
            node.property("interrupt-controller").is_some() && devicetree::is_compatible(*node, gic::COMPATIBLE)
        })
        .expect("the tree has a GICv2 interrupt controller");
    let mut reg = node.reg().expect("the GIC has a reg");
    let distributor = reg.next().expect("reg[0], the distributor").starting_address as usize;
    let cpu_interface = reg.next().expect("reg[1], the CPU interface").starting_address as usize;
    assert_eq!(gic::distributor(), distributor, "the distributor is not at the tree's {}", node.name);
    assert_eq!(gic::cpu_interface(), cpu_interface, "the CPU interface is not at the tree's {}", node.name);
    // What the driver reads from the tree, not the board's address it starts with (the same on
    // QEMU's virt, so the comparison above alone could not tell).
    let (found_distributor, found_cpu_interface) = gic::find(&tree).expect("the driver finds the GIC");
    assert_eq!((found_distributor.start, found_cpu_interface.start), (distributor, cpu_interface));
}

#[ktest]
fn the_timer_interrupt_in_use_is_the_device_tree_s_virtual_timer() {
    let tree = boot_tree();
    let timer = devicetree::first_compatible(&tree, gic::TIMER_COMPATIBLE).expect("the tree has a timer");
    let interrupts = cells(timer.property("interrupts").expect("the timer's interrupts").value);
    // The third specifier (virtual timer): type 1 (PPI), number n; PPI n is INTID 16 + n.
    assert_eq!(interrupts[6], 1, "the virtual timer's interrupt is a PPI: {interrupts:x?}");
    assert_eq!(gic::virtual_timer(), 16 + interrupts[7]);
    assert_eq!(gic::find_virtual_timer(&tree), Some(16 + interrupts[7]), "the driver reads it from the tree");
}

#[ktest]
fn the_console_is_the_pl011_stdout_path_names() {
    let tree = boot_tree();
    let chosen = tree.find_node("/chosen").expect("the tree has /chosen");
    let path = chosen.property("stdout-path").and_then(|path| path.as_str()).expect("/chosen has a stdout-path");
    let node = tree.find_node(path.split(':').next().unwrap_or(path)).expect("stdout-path names a node");
    assert!(devicetree::is_compatible(node, pl011::COMPATIBLE), "{path} is no PL011");
    let base = node.reg().and_then(|mut reg| reg.next()).expect("the UART has a reg").starting_address as usize;
    assert_eq!(pl011::base(), base, "the console is not {path}");
    assert_eq!(pl011::find(&tree).map(|registers| registers.start), Some(base), "the driver reads it from the tree");
}

/// A tree with the GIC, the timer's interrupt and two PL011s where QEMU puts none of them,
/// stdout-path naming the second through an alias.
fn moved_devices() -> Vec<u8> {
    let mut blob = Blob::new();
    blob.cells("#address-cells", &[2]).cells("#size-cells", &[2]).cells("interrupt-parent", &[1]);
    blob.begin("aliases").strings("serial1", &["/uart@1c0a0000"]).end();
    blob.begin("chosen").strings("stdout-path", &["serial1:115200n8"]).end();
    for base in [0x1c09_0000, 0x1c0a_0000] {
        blob.begin(if base == 0x1c09_0000 { "uart@1c090000" } else { "uart@1c0a0000" });
        blob.strings("compatible", &["arm,pl011", "arm,primecell"]).cells("reg", &[0, base, 0, 0x1000]).end();
    }
    blob.begin("interrupt-controller@2c001000").strings("compatible", &["arm,gic-400"]);
    blob.bytes("interrupt-controller", &[]).cells("#interrupt-cells", &[3]).cells("phandle", &[1]);
    blob.cells("reg", &[0, 0x2c00_1000, 0, 0x1000, 0, 0x2c00_2000, 0, 0x2000]).end();
    blob.begin("timer").strings("compatible", &["arm,armv8-timer"]);
    blob.cells("interrupts", &[1, 13, 0xf08, 1, 14, 0xf08, 1, 12, 0xf08, 1, 10, 0xf08]).end();
    blob.finish()
}

#[ktest]
fn devices_are_found_where_the_tree_puts_them() {
    let bytes = moved_devices();
    let tree = Fdt::new(&bytes).expect("a tree");
    assert_eq!(gic::find(&tree), Some((0x2c00_1000..0x2c00_2000, 0x2c00_2000..0x2c00_4000)));
    assert_eq!(gic::find_virtual_timer(&tree), Some(16 + 12));
    assert_eq!(pl011::find(&tree), Some(0x1c0a_0000..0x1c0a_1000), "the stdout-path's PL011, not the first");
}

#[ktest]
fn a_tree_without_those_devices_names_none() {
    let mut blob = Blob::new();
    blob.cells("#address-cells", &[2]).cells("#size-cells", &[2]);
    blob.begin("chosen").end();
    let bytes = blob.finish();
    let tree = Fdt::new(&bytes).expect("a tree");
    assert_eq!(gic::find(&tree), None);
    assert_eq!(gic::find_virtual_timer(&tree), None);
    assert_eq!(pl011::find(&tree), None);
}

#[ktest]
fn paging_maps_devices_outside_ram_and_refuses_ram() {
    const GIB: usize = 1 << 30;
    assert!(paging::map_device(pl011::base()..pl011::base() + 0x1000), "the first GiB is devices already");
    assert!(!paging::map_device(GIB..GIB + 0x1000), "RAM");
    assert!(!paging::map_device(2 * GIB..2 * GIB + 0x1000), "RAM's writable alias");
    assert!(!paging::map_device(512 * GIB..512 * GIB + 0x1000), "beyond 39 bits");
    assert!(!paging::map_device(GIB - 0x1000..GIB + 0x1000), "a range reaching into RAM");
    // Nothing is at 4 GiB on virt with 128 MiB: a device block there is never touched.
    assert!(paging::map_device(4 * GIB..4 * GIB + 0x1000), "an unmapped gigabyte");
    assert!(paging::map_device(4 * GIB + 0x2000..4 * GIB + 0x3000), "mapped as a device now");
}
