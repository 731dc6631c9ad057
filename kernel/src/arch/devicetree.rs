//! What the kernel reads from a flattened device tree (aarch64 and riscv64 boards).

use fdt::Fdt;

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
    unsafe { Fdt::from_ptr(address as *const u8).ok() }
}

/// `/chosen/bootargs`: where QEMU puts `-append`.
pub fn bootargs(tree: &Fdt<'static>) -> &'static str {
    tree.chosen().bootargs().unwrap_or("")
}
