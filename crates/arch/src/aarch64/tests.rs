//! Kernel tests that aarch64 drives the devices where the device tree puts them: the
//! console's PL011 in use is the boot tree's, and on trees that move it (or leave it out)
//! the driver finds it there (or nothing).

use super::devicetree::{self, blob::Blob};
use super::{paging, pl011};
use alloc::vec::Vec;
use fdt::Fdt;
use ktest::ktest;

fn boot_tree() -> Fdt<'static> {
    devicetree::boot_tree().expect("QEMU's virt passes a device tree")
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

/// A tree with two PL011s where QEMU puts none, stdout-path naming the second through an
/// alias.
fn moved_uarts() -> Vec<u8> {
    let mut blob = Blob::new();
    blob.cells("#address-cells", &[2]).cells("#size-cells", &[2]);
    blob.begin("aliases").strings("serial1", &["/uart@1c0a0000"]).end();
    blob.begin("chosen").strings("stdout-path", &["serial1:115200n8"]).end();
    for base in [0x1c09_0000, 0x1c0a_0000] {
        blob.begin(if base == 0x1c09_0000 { "uart@1c090000" } else { "uart@1c0a0000" });
        blob.strings("compatible", &["arm,pl011", "arm,primecell"]).cells("reg", &[0, base, 0, 0x1000]).end();
    }
    blob.finish()
}

#[ktest]
fn the_pl011_is_found_where_the_tree_puts_it() {
    let bytes = moved_uarts();
    let tree = Fdt::new(&bytes).expect("a tree");
    assert_eq!(pl011::find(&tree), Some(0x1c0a_0000..0x1c0a_1000), "the stdout-path's PL011, not the first");
}

#[ktest]
fn a_tree_without_a_pl011_names_none() {
    let mut blob = Blob::new();
    blob.cells("#address-cells", &[2]).cells("#size-cells", &[2]);
    blob.begin("chosen").end();
    let bytes = blob.finish();
    assert_eq!(pl011::find(&Fdt::new(&bytes).expect("a tree")), None);
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
