//! riscv64's registers as gdb sees them through the kernel's stub: the integer core and the
//! FPU (f0..f31, fcsr), which the trap frame holds. `gdbstub_arch`'s riscv layout has the core
//! only, so this is the stub's own `Arch`: a target description (`target.xml`, gdb's feature
//! names and register numbers) and the `g` packet in its order: x0..x31 and pc, 8 bytes
//! each, f0..f31, 8 bytes each, then fcsr, 4 bytes, all little-endian.

/// The stub's riscv64 (for `gdbstub`).
pub enum Riscv64 {}

impl gdbstub::arch::Arch for Riscv64 {
    type Usize = u64;
    type Registers = Registers;
    type BreakpointKind = usize;
    type RegId = ();

    fn target_description_xml() -> Option<&'static str> {
        Some(include_str!("target.xml"))
    }
}

/// Bytes of a `g` packet: 33 + 32 registers of 8 bytes, and fcsr's 4.
const PACKET_BYTES: usize = 65 * 8 + 4;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Registers {
    /// x0..x31 (x0 reads as 0).
    pub x: [u64; 32],
    pub pc: u64,
    /// f0..f31, each as the 64 bits the register holds (a single is NaN-boxed).
    pub f: [u64; 32],
    pub fcsr: u32,
}

impl gdbstub::arch::Registers for Registers {
    type ProgramCounter = u64;

    fn pc(&self) -> u64 {
        self.pc
    }

    fn gdb_serialize(&self, mut write_byte: impl FnMut(Option<u8>)) {
        let words = self.x.iter().chain(core::iter::once(&self.pc)).chain(self.f.iter());
        for byte in words.flat_map(|word| word.to_le_bytes()).chain(self.fcsr.to_le_bytes()) {
            write_byte(Some(byte));
        }
    }

    fn gdb_deserialize(&mut self, bytes: &[u8]) -> Result<(), ()> {
        if bytes.len() < PACKET_BYTES {
            return Err(());
        }
        let word = |index: usize| {
            let mut le = [0; 8];
            le.copy_from_slice(&bytes[index * 8..index * 8 + 8]);
            u64::from_le_bytes(le)
        };
        for (index, register) in self.x.iter_mut().enumerate() {
            *register = word(index);
        }
        self.pc = word(32);
        for (index, register) in self.f.iter_mut().enumerate() {
            *register = word(33 + index);
        }
        let fcsr = &bytes[65 * 8..PACKET_BYTES];
        self.fcsr = u32::from_le_bytes([fcsr[0], fcsr[1], fcsr[2], fcsr[3]]);
        Ok(())
    }
}
