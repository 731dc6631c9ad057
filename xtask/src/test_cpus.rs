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
use object::{Object, ObjectSection};
use std::path::Path;

/// The section's name (also in `ktest-macros` and `linker-scripts/*.ld`).
pub const SECTION: &str = ".ktest_cpus";

/// An image's tests and the CPUs each needs.
#[derive(Debug, Default, PartialEq)]
pub struct TestCpus {
    tests: Vec<(u32, String)>,
}

impl TestCpus {
    /// The image's table, None if it has none.
    pub fn of_image(image: &Path) -> Result<Option<TestCpus>> {
        let file = std::fs::File::open(image).with_context(|| format!("cannot open `{}`", image.display()))?;
        let cache = object::ReadCache::new(file);
        let elf = object::File::parse(&cache).with_context(|| format!("`{}` is not an ELF file", image.display()))?;
        let Some(section) = elf.section_by_name(SECTION) else { return Ok(None) };
        let bytes = section.data().with_context(|| format!("cannot read `{SECTION}` of `{}`", image.display()))?;
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
}
