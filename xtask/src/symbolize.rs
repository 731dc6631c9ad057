//! Turns the kernel's backtrace addresses into function names and source lines, from the
//! ELF's DWARF (the `addr2line` crate), for the failures a person reads.

use std::path::{Path, PathBuf};

/// Frames of the panic and fault machinery, above the code that failed: left out of a
/// failure's backtrace.
const MACHINERY: [&str; 7] = [
    "kernel::fatal::",
    "kernel::backtrace::",
    "kernel::ktest::runner::end_running_test",
    "core::panicking::",
    "core::panic::",
    "core::result::unwrap_failed",
    "rust_begin_unwind",
];

/// Symbolizes addresses of one kernel image.
pub struct Symbolizer {
    loader: addr2line::Loader,
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
    pub fn new(elf: &Path, root: &Path) -> Option<Symbolizer> {
        addr2line::Loader::new(elf).ok().map(|loader| Symbolizer { loader, root: root.to_path_buf() })
    }

    /// One line per frame, innermost first: `function at file:line:column`, inlined frames
    /// expanded. `pc` is the faulting instruction (for a fault); `return_addresses` point
    /// after their calls, so each is looked up one byte back, inside the call.
    pub fn backtrace(&self, pc: Option<u64>, return_addresses: &[u64]) -> Vec<String> {
        let probes = pc.into_iter().chain(return_addresses.iter().map(|address| address.saturating_sub(1)));
        let lines: Vec<String> = probes.flat_map(|probe| self.frames(probe)).collect();
        // Start at the first frame that is not the panic machinery (if any frame is).
        let first_own = lines.iter().position(|line| !MACHINERY.iter().any(|prefix| line.starts_with(prefix)));
        lines[first_own.unwrap_or(0)..].to_vec()
    }

    fn frames(&self, probe: u64) -> Vec<String> {
        let mut found = Vec::new();
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

/// The addresses of a `backtrace:` diagnostic (without its `# `).
pub fn parse_backtrace(diagnostic: &str) -> Option<Vec<u64>> {
    let addresses = format!("# {diagnostic}");
    let addresses = addresses.strip_prefix(kernel_abi::ktap::BACKTRACE)?;
    Some(
        addresses
            .split_whitespace()
            .filter_map(|word| u64::from_str_radix(word.strip_prefix("0x")?, 16).ok())
            .collect(),
    )
}

/// The faulting pc of a `fault: KIND ..., pc 0x...` diagnostic.
pub fn parse_fault_pc(diagnostic: &str) -> Option<u64> {
    let fault = format!("# {diagnostic}");
    let pc = fault.strip_prefix(kernel_abi::ktap::FAULT)?.rsplit_once(", pc 0x")?.1;
    u64::from_str_radix(pc.trim(), 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_kernel_diagnostics() {
        assert_eq!(parse_backtrace("backtrace: 0x10 0xff 0x4020"), Some(vec![0x10, 0xff, 0x4020]));
        assert_eq!(parse_backtrace("backtrace:"), Some(vec![]));
        assert_eq!(parse_backtrace("panicked at x"), None);
        assert_eq!(parse_fault_pc("fault: page fault at 0x1000, pc 0x80201234"), Some(0x8020_1234));
        assert_eq!(parse_fault_pc("fault: invalid opcode, pc 0x10d7e4"), Some(0x10_d7e4));
        assert_eq!(parse_fault_pc("panicked at x"), None);
    }

    #[test]
    fn legacy_hashes_are_stripped_and_other_names_kept() {
        assert_eq!(strip_hash("kernel::tests::fmt::h0123456789abcdef"), "kernel::tests::fmt");
        assert_eq!(strip_hash("kernel::tests::fmt"), "kernel::tests::fmt");
        assert_eq!(strip_hash("a::hello"), "a::hello");
    }
}
