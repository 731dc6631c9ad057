//! The image's GNU build-id (the `.note.gnu.build-id` the linker writes, bracketed by
//! `__build_id_start`/`__build_id_end` in the linker script), printed before the tests as
//! `# build-id: HEX` so that the harness symbolizes a saved log only with the image that
//! made it.

// Linker-defined addresses (see linker-scripts/): the bounds of the build-id note.
unsafe extern "C" {
    static __build_id_start: u8;
    static __build_id_end: u8;
}

/// The note's descriptor (the id itself), if the image has one.
fn id() -> Option<&'static [u8]> {
    // SAFETY: the linker script brackets the note section with these two symbols; it holds
    // the one note `--build-id` writes (or nothing).
    let note = unsafe {
        let start = &raw const __build_id_start;
        let end = &raw const __build_id_end;
        core::slice::from_raw_parts(start, end as usize - start as usize)
    };
    let word = |at: usize| Some(u32::from_ne_bytes(note.get(at..at + 4)?.try_into().ok()?) as usize);
    // An ELF note: name size, descriptor size, type, then the name and the descriptor, each
    // padded to four bytes.
    let (name_size, descriptor_size) = (word(0)?, word(4)?);
    let descriptor = 12 + name_size.next_multiple_of(4);
    note.get(descriptor..descriptor + descriptor_size)
}

/// Prints `# build-id: HEX` (nothing if the image has no build-id).
pub fn print(platform: &dyn crate::Platform) {
    use core::fmt::Write as _;
    if let Some(id) = id() {
        let mut console = crate::console::Console(platform);
        let _ = console.write_str(kernel_abi::ktap::BUILD_ID);
        for byte in id {
            let _ = write!(console, "{byte:02x}");
        }
        let _ = console.write_str("\n");
    }
}
