//! Flattened device trees written by the tests (the `ktest` feature): QEMU gives the kernel
//! one tree, with every device where the board always puts it, so a test that the drivers
//! follow the tree needs trees that put them elsewhere, or leave them out.
//!
//! The format is the Devicetree Specification's (v0.4, chapter 5): a 40-byte header, an
//! empty memory reservation block, the structure block (tokens, big-endian) and the strings
//! block (property names). Version 17, as QEMU writes.

use alloc::vec::Vec;

const MAGIC: u32 = 0xd00d_feed;
const HEADER: usize = 40;
/// The memory reservation block: only its terminating entry (address 0, size 0).
const RESERVATIONS: usize = 16;
const BEGIN_NODE: u32 = 1;
const END_NODE: u32 = 2;
const PROPERTY: u32 = 3;
const END: u32 = 9;

/// A tree being written: nodes are opened and closed in order, properties go to the node
/// open last. The root is open from the start.
pub struct Blob {
    structure: Vec<u8>,
    strings: Vec<u8>,
}

impl Blob {
    pub fn new() -> Blob {
        let mut blob = Blob { structure: Vec::new(), strings: Vec::new() };
        blob.begin("");
        blob
    }

    fn word(&mut self, value: u32) {
        self.structure.extend_from_slice(&value.to_be_bytes());
    }

    /// Pads the structure block to the 4-byte alignment its tokens need.
    fn align(&mut self) {
        while !self.structure.len().is_multiple_of(4) {
            self.structure.push(0);
        }
    }

    /// Opens a child of the node open last (`name` with its unit address: "uart@1000").
    pub fn begin(&mut self, name: &str) -> &mut Blob {
        self.word(BEGIN_NODE);
        self.structure.extend_from_slice(name.as_bytes());
        self.structure.push(0);
        self.align();
        self
    }

    /// Closes the node open last.
    pub fn end(&mut self) -> &mut Blob {
        self.word(END_NODE);
        self
    }

    /// A property of raw bytes.
    pub fn bytes(&mut self, name: &str, value: &[u8]) -> &mut Blob {
        let name_offset = self.strings.len() as u32;
        self.strings.extend_from_slice(name.as_bytes());
        self.strings.push(0);
        self.word(PROPERTY);
        self.word(value.len() as u32);
        self.word(name_offset);
        self.structure.extend_from_slice(value);
        self.align();
        self
    }

    /// A property of 32-bit cells (`reg`, `interrupts`, `#address-cells`, ...).
    pub fn cells(&mut self, name: &str, cells: &[u32]) -> &mut Blob {
        let value: Vec<u8> = cells.iter().flat_map(|cell| cell.to_be_bytes()).collect();
        self.bytes(name, &value)
    }

    /// A property of strings, each NUL-terminated (`compatible` may list several).
    pub fn strings(&mut self, name: &str, strings: &[&str]) -> &mut Blob {
        let value: Vec<u8> = strings.iter().flat_map(|string| string.bytes().chain([0])).collect();
        self.bytes(name, &value)
    }

    /// The tree's bytes, the root closed; for `fdt::Fdt::new`.
    pub fn finish(&mut self) -> Vec<u8> {
        self.end();
        self.word(END);
        let structure_offset = HEADER + RESERVATIONS;
        let strings_offset = structure_offset + self.structure.len();
        let total = strings_offset + self.strings.len();
        let header = [
            MAGIC,
            total as u32,
            structure_offset as u32,
            strings_offset as u32,
            HEADER as u32, // the memory reservation block
            17,            // version
            16,            // the last version it is compatible with
            0,             // the boot CPU
            self.strings.len() as u32,
            self.structure.len() as u32,
        ];
        let mut bytes: Vec<u8> = header.iter().flat_map(|word| word.to_be_bytes()).collect();
        bytes.extend_from_slice(&[0; RESERVATIONS]);
        bytes.extend_from_slice(&self.structure);
        bytes.extend_from_slice(&self.strings);
        bytes
    }
}
