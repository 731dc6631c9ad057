//! Which tests a boot runs, in which order: the command line's crates and filters, then its
//! partition (taken from the whole selection, so that every boot of a run agrees on it),
//! then the harness's set of positions among those (`ktest.set`), then its resume point. Plain Rust, tested on the host.

use crate::Test;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use kernel_abi::cmdline::Request;

/// The tests `request` selects from `tests`, in name order, with their names.
pub fn select<'t>(tests: &'t [Test], request: &Request<'_>) -> Vec<(String, &'t Test)> {
    let mut selected: Vec<(String, &'t Test)> =
        tests.iter().map(|test| (test.name().to_string(), test)).filter(|(name, _)| request.selects(name)).collect();
    selected.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(partition) = request.partition {
        let mut position = 0;
        selected.retain(|(name, _)| {
            position += 1;
            partition.contains(position - 1, name)
        });
    }
    if let Some(set) = request.set {
        let mut position = 0;
        selected.retain(|_| {
            position += 1;
            set.contains(position - 1)
        });
    }
    selected.retain(|(name, _)| request.runs(name));
    selected
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ShouldPanic;

    fn nothing() {}

    const fn test(module: &'static str, function: &'static str) -> Test {
        Test { module, function, run: nothing, should_panic: ShouldPanic::No, ignore: None, timeout_secs: 0, cpus: 1 }
    }

    /// Link order, not name order, as the linker may assemble them.
    static TESTS: [Test; 5] = [
        test("mm::tests", "frames"),
        test("kernel::tests", "fmt_integers"),
        test("minimal_kernel", "adds"),
        test("mm::tests", "heap"),
        test("kernel::interrupts::tests", "timer"),
    ];

    fn names(line: &str) -> Vec<String> {
        select(&TESTS, &Request::parse(line).unwrap()).into_iter().map(|(name, _)| name).collect()
    }

    #[test]
    fn every_test_in_name_order_with_its_crate_first() {
        assert_eq!(
            names(""),
            [
                "kernel::interrupts::tests::timer",
                "kernel::tests::fmt_integers",
                "minimal_kernel::adds",
                "mm::tests::frames",
                "mm::tests::heap"
            ]
        );
    }

    #[test]
    fn crates_and_filters_select_together() {
        assert_eq!(names("ktest.crate=mm"), ["mm::tests::frames", "mm::tests::heap"]);
        assert_eq!(
            names("ktest.crate=minimal-kernel,mm ktest.filter=heap,adds"),
            ["minimal_kernel::adds", "mm::tests::heap"]
        );
        assert_eq!(names("ktest.exact ktest.filter=kernel::tests::fmt_integers"), ["kernel::tests::fmt_integers"]);
    }

    #[test]
    fn the_partition_is_taken_after_the_crates_and_before_the_resume_point() {
        // Slice 1 of 2 of mm's two tests is its first, whatever other crates hold.
        assert_eq!(names("ktest.crate=mm ktest.partition=slice:1/2"), ["mm::tests::frames"]);
        assert_eq!(names("ktest.crate=mm ktest.partition=slice:2/2"), ["mm::tests::heap"]);
        // Resuming after the slice's first test leaves the rest of the same slice.
        assert_eq!(
            names("ktest.partition=slice:1/2 ktest.after=kernel::interrupts::tests::timer"),
            ["minimal_kernel::adds", "mm::tests::heap"]
        );
    }

    #[test]
    fn the_set_picks_positions_after_the_partition_and_before_the_resume_point() {
        // Slice 1/2 is timer, adds, heap; the set "k" (0b100100) keeps its 1st and 4th, of
        // which only the 1st exists; "o" (0b101000) its 1st and 3rd.
        assert_eq!(names("ktest.partition=slice:1/2 ktest.set=k"), ["kernel::interrupts::tests::timer"]);
        assert_eq!(
            names("ktest.partition=slice:1/2 ktest.set=o"),
            ["kernel::interrupts::tests::timer", "mm::tests::heap"]
        );
        assert_eq!(
            names("ktest.partition=slice:1/2 ktest.set=o ktest.after=kernel::interrupts::tests::timer"),
            ["mm::tests::heap"]
        );
        assert!(names("ktest.set=").is_empty(), "an empty set runs nothing");
    }
}
