//! Turns the kernel's backtrace addresses into function names and source lines, from the
//! ELF's DWARF (the `addr2line` crate), for the failures a person reads.

use std::path::{Path, PathBuf};

/// Frames of the panic and fault machinery, above the code that failed: left out of a
/// failure's backtrace.
const MACHINERY: [&str; 7] = [
    "kernel::fatal::",
    "kernel::backtrace::",
    "ktest::runner::end_running_test",
    "core::panicking::",
    "core::panic::",
    "core::result::unwrap_failed",
    "rust_begin_unwind",
];

/// Symbolizes addresses of one kernel image.
pub struct Symbolizer {
    loader: addr2line::Loader,
    /// The kernel's entry: backtraces end there.
    entry: Option<String>,
    /// Source paths are shown relative to this (the repository root).
    root: PathBuf,
}

impl std::fmt::Debug for Symbolizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Symbolizer").field("root", &self.root).finish_non_exhaustive()
    }
}

impl Symbolizer {
    /// None if the image cannot be read as an ELF with debug info.
    pub fn new(elf: &Path, root: &Path, entry: Option<&str>) -> Option<Symbolizer> {
        let entry = entry.map(str::to_string);
        addr2line::Loader::new(elf).ok().map(|loader| Symbolizer { loader, entry, root: root.to_path_buf() })
    }

    /// One line per frame, innermost first: `function at file:line:column`, inlined frames
    /// expanded. `pc` is the faulting instruction (for a fault); `return_addresses` point
    /// after their calls, so each is looked up one byte back, inside the call.
    pub fn backtrace(&self, pc: Option<u64>, return_addresses: &[u64]) -> Vec<String> {
        let probes = pc.into_iter().chain(return_addresses.iter().map(|address| address.saturating_sub(1)));
        let lines: Vec<String> = probes.flat_map(|probe| self.frames(probe)).collect();
        // Start at the first frame that is not the panic machinery (if any frame is), and end
        // at the kernel's entry: what called it is boot code, whose labels name no function
        // (riscv64's ends at an assembler label, `.Lpcrel_hi2`).
        let first_own = lines.iter().position(|line| !MACHINERY.iter().any(|prefix| line.starts_with(prefix)));
        let lines = &lines[first_own.unwrap_or(0)..];
        let function = |line: &String| line.split(" at ").next().unwrap_or_default().to_string();
        let end = lines
            .iter()
            .position(|line| self.entry.as_deref().is_some_and(|entry| function(line) == entry))
            .map_or(lines.len(), |at| at + 1);
        lines[..end].iter().filter(|line| !line.starts_with(".L")).cloned().collect()
    }

    fn frames(&self, probe: u64) -> Vec<String> {
        let mut found = Vec::new();
        // addr2line 0.27 computes `probe + 1`, which overflows (a panic in a debug build, and
        // the xtask is one) for the last address; no code is there, so it is shown as it is.
        if probe == u64::MAX {
            return vec![format!("{probe:#x}")];
        }
        if let Ok(mut frames) = self.loader.find_frames(probe) {
            while let Ok(Some(frame)) = frames.next() {
                let function = frame
                    .function
                    .as_ref()
                    .and_then(|function| function.demangle().ok().map(|name| name.into_owned()))
                    .unwrap_or_else(|| "??".to_string());
                let location = frame.location.as_ref().map(|location| {
                    let file = location.file.map(|file| self.relative(file)).unwrap_or_else(|| "??".into());
                    match (location.line, location.column) {
                        (Some(line), Some(column)) => format!("{file}:{line}:{column}"),
                        (Some(line), None) => format!("{file}:{line}"),
                        _ => file,
                    }
                });
                found.push(match location {
                    Some(location) => format!("{} at {location}", strip_hash(&function)),
                    None => strip_hash(&function).to_string(),
                });
            }
        }
        if found.is_empty() {
            let symbol = self.loader.find_symbol(probe).map(|name| format!("{:#}", rustc_demangle::demangle(name)));
            found.push(symbol.unwrap_or_else(|| format!("{probe:#x}")));
        }
        found
    }

    /// The repository's files relative to its root, whether the image names them from the
    /// checkout remapped to `.` (see `build::path_remaps`) or by absolute path.
    fn relative(&self, file: &str) -> String {
        let path = Path::new(file);
        let relative = path.strip_prefix(".").or_else(|_| path.strip_prefix(&self.root)).unwrap_or(path);
        relative.display().to_string()
    }
}

/// `kernel::a::b::h0123456789abcdef` → `kernel::a::b` (legacy mangling's hash suffix).
fn strip_hash(name: &str) -> &str {
    match name.rsplit_once("::h") {
        Some((path, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => path,
        _ => name,
    }
}

/// The GNU build-id of a 64-bit ELF image, in lower-case hex (None if it has none or is not
/// readable as one), from its notes as `object::File::build_id` finds it: only the headers
/// and the notes are read, not a debug image's megabytes nor its symbol table.
pub fn build_id(image: &Path) -> Option<String> {
    use object::read::elf::{FileHeader, NoteIterator, ProgramHeader, SectionHeader};
    type Elf = object::elf::FileHeader64<object::Endianness>;
    let data = object::ReadCache::new(std::fs::File::open(image).ok()?);
    let header = Elf::parse(&data).ok()?;
    let endian = header.endian().ok()?;
    // Some(found) once the notes decide: the first GNU build-id, or None at a bad note.
    let search = |notes: Option<NoteIterator<'_, Elf>>| -> Option<Option<Vec<u8>>> {
        let mut notes = notes?;
        loop {
            match notes.next() {
                Ok(Some(note))
                    if note.name() == object::elf::ELF_NOTE_GNU
                        && note.n_type(endian) == object::elf::NT_GNU_BUILD_ID =>
                {
                    return Some(Some(note.desc().to_vec()));
                }
                Ok(Some(_)) => {}
                Ok(None) => return None,
                Err(_) => return Some(None),
            }
        }
    };
    let sections = header.sections(endian, &data).ok()?;
    let found = if !sections.is_empty() {
        sections.iter().find_map(|section| section.notes(endian, &data).map_or(Some(None), search))
    } else {
        let segments = header.program_headers(endian, &data).ok()?;
        segments.iter().find_map(|segment| segment.notes(endian, &data).map_or(Some(None), search))
    };
    Some(found??.iter().map(|byte| format!("{byte:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_id_is_the_one_object_finds_in_the_whole_file() {
        use object::Object;
        let dir = crate::testutil::scratch_dir("build-id");
        let small = std::fs::read(crate::fuzzing::small_elf()).unwrap();
        let images = [(dir.join("small.elf"), small), (dir.join("not-elf"), b"not an elf".to_vec())];
        for (path, bytes) in &images {
            std::fs::write(path, bytes).unwrap();
            let whole = object::File::parse(&bytes[..]).ok().and_then(|file| file.build_id().ok().flatten());
            let expected = whole.map(|id| id.iter().map(|byte| format!("{byte:02x}")).collect::<String>());
            assert_eq!(build_id(path), expected, "{}", path.display());
        }
        assert_eq!(build_id(&dir.join("missing")), None);
    }

    #[test]
    fn legacy_hashes_are_stripped_and_other_names_kept() {
        assert_eq!(strip_hash("kernel::tests::fmt::h0123456789abcdef"), "kernel::tests::fmt");
        assert_eq!(strip_hash("kernel::tests::fmt"), "kernel::tests::fmt");
        assert_eq!(strip_hash("a::hello"), "a::hello");
    }

    #[test]
    fn the_first_and_last_addresses_are_shown_as_they_are_and_code_is_named() {
        let elf = crate::fuzzing::small_elf();
        let symbolizer = Symbolizer::new(&elf, Path::new("/"), Some("_start")).expect("the fixture ELF reads");
        assert_eq!(symbolizer.backtrace(Some(u64::MAX), &[]), ["0xffffffffffffffff"]);
        // Return address 0 is probed at 0 (not u64::MAX); u64::MAX at u64::MAX - 1, past the
        // image, where the nearest symbol is the image's last.
        assert_eq!(symbolizer.backtrace(Some(0), &[0, u64::MAX]), ["0x0", "0x0", "_end"]);
        let frames = symbolizer.backtrace(Some(0x40_1000), &[]);
        assert!(frames[0].starts_with("leaf at ") && frames[0].contains("small.c:"), "{frames:?}");
    }
}
