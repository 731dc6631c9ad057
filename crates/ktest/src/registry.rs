//! The tests in the image: the `.ktest_array` linker section, which `#[ktest]` fills from
//! every crate and the kernel's linker script brackets with `__ktest_start`/`__ktest_end`.

use crate::Test;

// Linker-defined addresses: the bounds of `.ktest_array`.
unsafe extern "C" {
    static __ktest_start: u8;
    static __ktest_end: u8;
}

/// Every test in the image, in link order.
pub fn tests() -> &'static [Test] {
    // SAFETY: the linker script brackets `.ktest_array` with these two symbols, and the
    // section holds nothing but `Test` records placed there by `#[ktest]`.
    unsafe {
        let start = (&raw const __ktest_start).cast::<Test>();
        let end = (&raw const __ktest_end).cast::<Test>();
        let count = (end as usize - start as usize) / size_of::<Test>();
        core::slice::from_raw_parts(start, count)
    }
}
