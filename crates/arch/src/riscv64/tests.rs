//! Kernel tests that riscv64 takes its console and its counter's frequency from the device
//! tree: the UART in use is the boot tree's `stdout-path`, the timebase is `/cpus`'; and on
//! trees that move the UART (or leave it out) the driver finds it there (or nothing).

use super::devicetree::{self, blob::Blob};
use super::uart::{self, Uart};
use alloc::vec::Vec;
use fdt::Fdt;
use ktest::ktest;

fn boot_tree() -> Fdt<'static> {
    devicetree::boot_tree().expect("OpenSBI passes a device tree")
}

#[ktest]
fn the_console_is_the_uart_stdout_path_names() {
    let tree = boot_tree();
    let chosen = tree.find_node("/chosen").expect("the tree has /chosen");
    let path = chosen.property("stdout-path").and_then(|path| path.as_str()).expect("/chosen has a stdout-path");
    let node = tree.find_node(path.split(':').next().unwrap_or(path)).expect("stdout-path names a node");
    assert!(devicetree::is_compatible(node, uart::COMPATIBLE), "{path} is no 16550");
    let base = node.reg().and_then(|mut reg| reg.next()).expect("the UART has a reg").starting_address as usize;
    assert_eq!(uart::current().base, base, "the console is not {path}");
    // What the driver reads from the tree, not the board's UART it starts with (the same on
    // QEMU's virt, so the comparison above alone could not tell).
    assert_eq!(uart::find(&tree), Some(uart::current()), "the driver reads it from the tree");
}

#[ktest]
fn the_counter_frequency_is_the_device_tree_s_timebase() {
    let tree = boot_tree();
    let cpus = tree.find_node("/cpus").expect("the tree has /cpus");
    let timebase = cpus
        .property("timebase-frequency")
        .or_else(|| cpus.children().find_map(|cpu| cpu.property("timebase-frequency")))
        .and_then(|frequency| frequency.as_usize())
        .expect("the tree has a timebase-frequency");
    assert_eq!(super::ticks_per_second().map(|hz| hz.get()), Some(timebase as u64));
    // Read from the tree, not the board's default (the same on QEMU's virt).
    assert_eq!(super::timebase_frequency(&tree), Some(timebase as u64));
}

/// A tree with two 16550s where QEMU puts none, the second spaced by `reg-shift` 2, and
/// `chosen` as given.
fn moved_uarts(chosen: impl FnOnce(&mut Blob)) -> Vec<u8> {
    let mut blob = Blob::new();
    blob.cells("#address-cells", &[2]).cells("#size-cells", &[2]);
    blob.begin("aliases").strings("serial1", &["/soc/serial@54000000"]).end();
    blob.begin("chosen");
    chosen(&mut blob);
    blob.end();
    blob.begin("soc").cells("#address-cells", &[2]).cells("#size-cells", &[2]).bytes("ranges", &[]);
    blob.begin("serial@53000000").strings("compatible", &["ns16550a"]).cells("reg", &[0, 0x5300_0000, 0, 0x100]).end();
    blob.begin("serial@54000000").strings("compatible", &["snps,dw-apb-uart", "ns16550a"]);
    blob.cells("reg", &[0, 0x5400_0000, 0, 0x100]).cells("reg-shift", &[2]).end();
    blob.end();
    blob.finish()
}

fn found(bytes: &[u8]) -> Option<Uart> {
    uart::find(&Fdt::new(bytes).expect("a tree"))
}

#[ktest]
fn the_uart_is_found_where_stdout_path_puts_it_with_its_register_spacing() {
    let bytes = moved_uarts(|chosen| {
        chosen.strings("stdout-path", &["serial1:115200n8"]);
    });
    assert_eq!(found(&bytes), Some(Uart { base: 0x5400_0000, stride: 4 }));
}

#[ktest]
fn without_stdout_path_the_uart_is_the_first_16550() {
    assert_eq!(found(&moved_uarts(|_| {})), Some(Uart { base: 0x5300_0000, stride: 1 }));
}

#[ktest]
fn a_tree_without_a_16550_names_none() {
    let mut blob = Blob::new();
    blob.cells("#address-cells", &[2]).cells("#size-cells", &[2]);
    blob.begin("chosen").strings("stdout-path", &["/nowhere"]).end();
    assert_eq!(found(&blob.finish()), None);
}

#[ktest]
fn paging_maps_devices_outside_ram_and_refuses_ram() {
    const GIB: usize = 1 << 30;
    let board = uart::BOARD.base;
    assert!(super::paging::map_device(board..board + 8), "the first GiB is devices already");
    assert!(!super::paging::map_device(2 * GIB..2 * GIB + 0x1000), "RAM");
    assert!(!super::paging::map_device(3 * GIB..3 * GIB + 0x1000), "RAM's writable alias");
    assert!(!super::paging::map_device(256 * GIB..256 * GIB + 0x1000), "not an Sv39 identity address");
    // Nothing is at 1 GiB on virt (PCIe's 32-bit window is 0x4000_0000 up, unused here): a
    // gigapage there is never touched.
    assert!(super::paging::map_device(GIB..GIB + 0x1000), "an unmapped gigabyte");
    assert!(super::paging::map_device(GIB + 0x2000..GIB + 0x3000), "mapped as a device now");
}
