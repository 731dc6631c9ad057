//! The PL011 UART of QEMU's `virt` board, transmit only.
//!
//! Three registers are all the console needs, and QEMU's PL011 works without
//! configuration, so this is written out rather than taken from a crate.

const BASE: usize = 0x0900_0000;
const DATA: usize = 0x00;
const FLAGS: usize = 0x18;
const TRANSMIT_FIFO_FULL: u32 = 1 << 5;

pub fn write(bytes: &[u8]) {
    let data = (BASE + DATA) as *mut u32;
    let flags = (BASE + FLAGS) as *const u32;
    for &byte in bytes {
        // SAFETY: the PL011's registers are at BASE on virt (identity-mapped as a device, paging.rs).
        unsafe {
            while flags.read_volatile() & TRANSMIT_FIFO_FULL != 0 {
                core::hint::spin_loop();
            }
            data.write_volatile(u32::from(byte));
        }
    }
}
