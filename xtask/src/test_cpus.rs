//! The CPUs a boot's tests need, for QEMU's `-smp`. Each `#[ktest]` writes a line
//! `N crate::module::test` into its image's `.ktest_cpus` section (`ktest-macros`; the linker
//! scripts keep it out of memory), and a boot gets as many CPUs as the most that any test it
//! selects needs, by the kernel's own selection (`kernel_abi`'s `Request::selects`), one when
//! none needs more. The arch table's `cpus` caps it (`qemu::Launch::cpus`); an image without
//! the section (a kernel whose tests the xtask cannot see) gets the table's.
//!
//! The selection is the command line's crates and filters: a partition or a lane's set may
//! leave a test of several CPUs out and still get its CPUs, which costs time, never a verdict.

use anyhow::{Context, Result};
use kernel_abi::cmdline::Request;
use std::path::Path;

/// The section's name (also in `ktest-macros` and `linker-scripts/*.ld`).
pub const SECTION: &str = ".ktest_cpus";

/// An image's tests and the CPUs each needs.
#[derive(Debug, Default, PartialEq)]
pub struct TestCpus {
    tests: Vec<(u32, String)>,
}

impl TestCpus {
    /// The image's table, None if it has none. Only the ELF and section headers and the
    /// section itself are read (not the symbol table, which `object::File::parse` copies).
    pub fn of_image(image: &Path) -> Result<Option<TestCpus>> {
        use object::read::elf::{FileHeader, SectionHeader};
        type Elf = object::elf::FileHeader64<object::Endianness>;
        let file = std::fs::File::open(image).with_context(|| format!("cannot open `{}`", image.display()))?;
        let data = object::ReadCache::new(file);
        let not_elf = || format!("`{}` is not a 64-bit ELF file", image.display());
        let header = Elf::parse(&data).with_context(not_elf)?;
        let endian = header.endian().with_context(not_elf)?;
        let sections = header.sections(endian, &data).with_context(not_elf)?;
        let Some((_, section)) = sections.section_by_name(endian, SECTION.as_bytes()) else { return Ok(None) };
        let bytes =
            section.data(endian, &data).with_context(|| format!("cannot read `{SECTION}` of `{}`", image.display()))?;
        Ok(Some(TestCpus::parse(bytes)))
    }

    /// Lines `N name`; a line without a count is skipped.
    pub fn parse(bytes: &[u8]) -> TestCpus {
        let tests = String::from_utf8_lossy(bytes)
            .lines()
            .filter_map(|line| {
                let (cpus, name) = line.split_once(' ')?;
                Some((cpus.parse().ok()?, name.to_string()))
            })
            .collect();
        TestCpus { tests }
    }

    /// The CPUs the tests `request` selects need at most (1 if it selects none).
    pub fn needed(&self, request: &Request<'_>) -> u32 {
        self.tests.iter().filter(|(_, name)| request.selects(name)).map(|(cpus, _)| *cpus).max().unwrap_or(1).max(1)
    }
}

/// The CPUs a boot of `image` with kernel command line `cmdline` needs; None if the image
/// does not say (then the arch table's).
pub fn needed(image: &Path, cmdline: &str) -> Result<Option<u32>> {
    let request = Request::parse(cmdline).map_err(|error| anyhow::anyhow!("the kernel command line: {error}"))?;
    Ok(TestCpus::of_image(image)?.map(|tests| tests.needed(&request)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[u8] = b"1 kernel::tests::fmt_integers\n4 kernel::smp::ticket_lock\n2 mm::tests::pairs\n\
        junk\n3 cut";

    fn needed(cmdline: &str) -> u32 {
        TestCpus::parse(TABLE).needed(&Request::parse(cmdline).unwrap())
    }

    #[test]
    fn a_boot_gets_the_most_cpus_any_test_it_selects_needs() {
        assert_eq!(needed("ktest"), 4, "everything selected");
        assert_eq!(needed("ktest ktest.filter=fmt_"), 1, "one-CPU tests only");
        assert_eq!(needed("ktest ktest.filter=fmt_,pairs"), 2);
        assert_eq!(needed("ktest ktest.crate=mm"), 2);
        assert_eq!(needed("ktest ktest.filter=nothing_matches"), 1);
        assert_eq!(needed("ktest ktest.exact ktest.filter=kernel::smp::ticket_lock"), 4);
        assert_eq!(needed("ktest ktest.exact ktest.filter=ticket_lock"), 1, "exact names only");
    }

    #[test]
    fn lines_that_name_no_test_are_skipped() {
        let table = TestCpus::parse(TABLE);
        assert_eq!(table.tests.len(), 4, "{table:?}");
        assert_eq!(table.tests[3], (3, "cut".to_string()), "a name is whatever follows the count");
        assert_eq!(TestCpus::parse(b""), TestCpus::default());
    }

    /// A little-endian ELF64 file with the given sections (and `.shstrtab`), no segments.
    fn elf_with_sections(sections: &[(&str, &[u8])]) -> Vec<u8> {
        let mut names = vec![0u8];
        let mut body = Vec::new();
        let mut headers = vec![[0u8; 64]]; // the null section
        let mut header = |name: usize, kind: u32, offset: usize, size: usize| {
            let mut entry = [0u8; 64];
            entry[0..4].copy_from_slice(&(name as u32).to_le_bytes());
            entry[4..8].copy_from_slice(&kind.to_le_bytes());
            entry[24..32].copy_from_slice(&(offset as u64).to_le_bytes());
            entry[32..40].copy_from_slice(&(size as u64).to_le_bytes());
            entry[48..56].copy_from_slice(&1u64.to_le_bytes());
            headers.push(entry);
        };
        for (name, bytes) in sections {
            header(names.len(), 1, 64 + body.len(), bytes.len()); // SHT_PROGBITS
            names.extend_from_slice(name.as_bytes());
            names.push(0);
            body.extend_from_slice(bytes);
        }
        header(names.len(), 3, 64 + body.len(), names.len() + ".shstrtab".len() + 1); // SHT_STRTAB
        names.extend_from_slice(b".shstrtab\0");
        body.extend_from_slice(&names);
        body.resize(body.len().next_multiple_of(8), 0);
        let mut elf = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        elf.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        elf.extend_from_slice(&243u16.to_le_bytes()); // EM_RISCV
        elf.extend_from_slice(&1u32.to_le_bytes());
        elf.extend_from_slice(&0u64.to_le_bytes()); // entry
        elf.extend_from_slice(&0u64.to_le_bytes()); // no program headers
        elf.extend_from_slice(&(64 + body.len() as u64).to_le_bytes()); // section headers
        elf.extend_from_slice(&0u32.to_le_bytes());
        for half in [64u16, 56, 0, 64, headers.len() as u16, headers.len() as u16 - 1] {
            elf.extend_from_slice(&half.to_le_bytes());
        }
        elf.extend_from_slice(&body);
        headers.iter().for_each(|entry| elf.extend_from_slice(entry));
        elf
    }

    #[test]
    fn the_table_is_read_from_its_section_and_an_image_without_one_has_none() {
        let dir = crate::testutil::scratch_dir("test-cpus");
        let with = dir.join("with.elf");
        std::fs::write(&with, elf_with_sections(&[(".text", b"code"), (SECTION, TABLE), (".other", b"9 x")])).unwrap();
        assert_eq!(TestCpus::of_image(&with).unwrap(), Some(TestCpus::parse(TABLE)));
        assert_eq!(super::needed(&with, "ktest ktest.filter=pairs").unwrap(), Some(2));
        let without = dir.join("without.elf");
        std::fs::write(&without, elf_with_sections(&[(".text", b"code")])).unwrap();
        assert_eq!(TestCpus::of_image(&without).unwrap(), None);
        assert_eq!(TestCpus::of_image(&crate::fuzzing::small_elf()).unwrap(), None, "a real ELF without the section");
        let not_elf = dir.join("not-elf");
        std::fs::write(&not_elf, b"not an ELF file").unwrap();
        let error = format!("{:#}", TestCpus::of_image(&not_elf).unwrap_err());
        assert!(error.contains("not-elf") && error.contains("not a 64-bit ELF"), "{error}");
        let error = format!("{:#}", TestCpus::of_image(&dir.join("missing")).unwrap_err());
        assert!(error.contains("cannot open") && error.contains("missing"), "{error}");
    }
}
