//! Kernel tests of how a device is found in a device tree (the console's `stdout-path`, the
//! first compatible node, a `reg` entry), on trees the tests write (`blob.rs`).

use super::blob::Blob;
use alloc::vec::Vec;
use fdt::Fdt;
use ktest::ktest;

/// Two 16550s under a 1:1 `simple-bus` with one-cell addresses, the second disabled, an
/// alias for the first, a PL011 at the root with two-cell addresses, and `chosen` as given.
fn tree(chosen: impl FnOnce(&mut Blob)) -> Vec<u8> {
    let mut blob = Blob::new();
    blob.cells("#address-cells", &[2]).cells("#size-cells", &[2]);
    blob.begin("aliases").strings("serial0", &["/soc/serial@3000"]).end();
    blob.begin("chosen");
    chosen(&mut blob);
    blob.end();
    blob.begin("soc").cells("#address-cells", &[1]).cells("#size-cells", &[1]).bytes("ranges", &[]);
    blob.strings("compatible", &["simple-bus"]);
    blob.begin("serial@3000").strings("compatible", &["ns16550a"]).cells("reg", &[0x3000, 0x100]).end();
    blob.begin("serial@4000").strings("compatible", &["ns16550a"]).cells("reg", &[0x4000, 0x100]);
    blob.strings("status", &["disabled"]).end();
    blob.end();
    blob.begin("uart@1200000000").strings("compatible", &["arm,pl011", "arm,primecell"]);
    blob.cells("reg", &[0x12, 0, 0, 0x1000]).end();
    blob.finish()
}

fn stdout_name(bytes: &[u8]) -> Option<&str> {
    super::stdout(&Fdt::new(bytes).expect("a tree")).map(|node| node.name)
}

#[ktest]
fn stdout_path_is_followed_as_a_path_with_or_without_line_settings() {
    let plain = tree(|chosen| {
        chosen.strings("stdout-path", &["/uart@1200000000"]);
    });
    assert_eq!(stdout_name(&plain), Some("uart@1200000000"));
    let with_settings = tree(|chosen| {
        chosen.strings("stdout-path", &["/soc/serial@3000:115200n8"]);
    });
    assert_eq!(stdout_name(&with_settings), Some("serial@3000"));
}

#[ktest]
fn stdout_path_may_name_an_alias() {
    let bytes = tree(|chosen| {
        chosen.strings("stdout-path", &["serial0:9600"]);
    });
    assert_eq!(stdout_name(&bytes), Some("serial@3000"));
}

#[ktest]
fn a_tree_without_stdout_path_or_chosen_names_no_stdout() {
    assert_eq!(stdout_name(&tree(|_| {})), None);
    let mut blob = Blob::new();
    blob.cells("#address-cells", &[2]);
    assert_eq!(stdout_name(&blob.finish()), None);
}

#[ktest]
fn the_console_is_stdout_path_s_if_compatible_else_the_first_enabled_compatible_node() {
    let bytes = tree(|chosen| {
        chosen.strings("stdout-path", &["/uart@1200000000"]);
    });
    let tree = Fdt::new(&bytes).expect("a tree");
    let pl011 = super::console(&tree, &["arm,pl011"]).expect("the PL011");
    assert_eq!(pl011.name, "uart@1200000000");
    let serial = super::console(&tree, &["ns16550a"]).expect("a 16550");
    assert_eq!(serial.name, "serial@3000", "the first enabled one, stdout-path naming a PL011");
    assert!(super::console(&tree, &["sifive,uart0"]).is_none());
}

#[ktest]
fn a_disabled_node_is_not_compatible() {
    let bytes = tree(|_| {});
    let tree = Fdt::new(&bytes).expect("a tree");
    let disabled = tree.find_node("/soc/serial@4000").expect("the node");
    assert!(!super::is_compatible(disabled, &["ns16550a"]));
}

#[ktest]
fn registers_are_read_with_the_parent_s_cell_sizes() {
    let bytes = tree(|_| {});
    let tree = Fdt::new(&bytes).expect("a tree");
    let serial = tree.find_node("/soc/serial@3000").expect("the 16550");
    assert_eq!(super::registers(serial, 0), Some(0x3000..0x3100), "one address cell, one size cell");
    assert_eq!(super::registers(serial, 1), None, "one entry only");
    let pl011 = tree.find_node("/uart@1200000000").expect("the PL011");
    assert_eq!(super::registers(pl011, 0), Some(0x12_0000_0000..0x12_0000_1000), "two address cells, two size cells");
}

/// CPUs are the enabled `device_type = "cpu"` children of `/cpus`, by their `reg`; a tree
/// without `/cpus` has none (rather than a panic, as `Fdt::cpus` gives).
#[ktest]
fn cpu_ids_are_the_enabled_cpu_nodes_and_none_without_cpus() {
    let bytes = tree(|_| {});
    assert_eq!(super::cpu_ids(&Fdt::new(&bytes).expect("a tree")).count(), 0);
    let mut blob = Blob::new();
    blob.cells("#address-cells", &[2]).cells("#size-cells", &[2]);
    blob.begin("cpus").cells("#address-cells", &[1]).cells("#size-cells", &[0]);
    for (id, status) in [(0, "okay"), (1, "disabled"), (3, "okay")] {
        blob.begin(&alloc::format!("cpu@{id}")).strings("device_type", &["cpu"]).cells("reg", &[id]);
        blob.strings("status", &[status]).end();
    }
    blob.begin("cpu-map").end();
    blob.end();
    let bytes = blob.finish();
    let ids: Vec<usize> = super::cpu_ids(&Fdt::new(&bytes).expect("a tree")).collect();
    assert_eq!(ids, [0, 3]);
}
