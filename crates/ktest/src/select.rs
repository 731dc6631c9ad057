//! Which tests a boot runs, in which order: the command line's crates and filters, then its
//! partition (taken from the whole selection, so that every boot of a run agrees on it),
//! then the harness's set of positions among those (`ktest.set`), with those it asks to run
//! last (`ktest.late`) moved to the end, then its resume point. Plain Rust, tested on the host.

use crate::Test;
use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;
use kernel_abi::cmdline::Request;

/// The tests `request` selects from `tests`, in the order they run (name order, but for
/// `ktest.late`), with their names.
///
/// Only the tests a boot keeps get a name of their own: with 10,000 tests split over lanes,
/// formatting and sorting a `String` for every test took each lane's boot about 0.1 s under
/// TCG before its first line of KTAP. Names are compared without being built, and the
/// filters read one buffer written again for each test.
pub fn select<'t>(tests: &'t [Test], request: &Request<'_>) -> Vec<(String, &'t Test)> {
    let mut name = String::new();
    let mut selected: Vec<&'t Test> =
        tests.iter().filter(|test| request.selects(write_name(&mut name, test))).collect();
    // Stable, as the sort of the names was: tests of the same name keep their link order.
    selected.sort_by(|a, b| compare_names(a, b));
    if let Some(partition) = request.partition {
        let mut position = 0;
        selected.retain(|test| {
            position += 1;
            partition.contains(position - 1, write_name(&mut name, test))
        });
    }
    if request.set.is_some() || request.late.is_some() {
        let mut position = 0;
        let mut late = Vec::new();
        selected.retain(|test| {
            position += 1;
            let kept = request.set.is_none_or(|set| set.contains(position - 1));
            if kept && request.late.is_some_and(|late| late.contains(position - 1)) {
                late.push(*test);
                return false;
            }
            kept
        });
        selected.append(&mut late);
    }
    // Reordered by `ktest.late`, the resume point is a position in this order (after the
    // last test of that name, as name order skips every one). Otherwise, or for a name not
    // among these tests, the point resumes by name order.
    let resume_at = match (request.late, request.after) {
        (Some(_), Some(after)) => selected.iter().rposition(|test| write_name(&mut name, test) == after),
        _ => None,
    };
    let start = resume_at.map_or(0, |at| at + 1);
    let mut kept = Vec::with_capacity(selected.len() - start);
    for test in &selected[start..] {
        let test_name = write_name(&mut name, test);
        if resume_at.is_some() || request.runs(test_name) {
            kept.push((String::from(test_name), *test));
        }
    }
    kept
}

/// `test`'s name (as [`Test::name`] writes it), written into `buffer` (its old contents
/// replaced) without the formatting machinery.
fn write_name<'b>(buffer: &'b mut String, test: &Test) -> &'b str {
    buffer.clear();
    buffer.push_str(test.module);
    buffer.push_str("::");
    buffer.push_str(test.function);
    buffer
}

/// The order of the tests' names (`module::function`), without building them.
fn compare_names(a: &Test, b: &Test) -> Ordering {
    if a.module == b.module {
        return a.function.cmp(b.function);
    }
    let name = |test: &Test| test.module.bytes().chain(*b"::").chain(test.function.bytes());
    name(a).cmp(name(b))
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
    fn names_compare_as_the_names_they_make() {
        let tests = [
            test("a", "b"),
            test("a::b", "c"),
            test("a", "b::c"),
            test("a:", "x"),
            test("a", ":x"),
            test("ab", "c"),
            test("a", "bc"),
            test("", "z"),
            test("a", ""),
        ];
        for a in &tests {
            for b in &tests {
                let names = (alloc::format!("{}", a.name()), alloc::format!("{}", b.name()));
                assert_eq!(compare_names(a, b), names.0.cmp(&names.1), "{} against {}", names.0, names.1);
                assert_eq!(write_name(&mut String::new(), a), names.0);
            }
        }
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

    #[test]
    fn late_tests_run_after_the_others_and_a_resume_point_is_a_position_in_that_order() {
        // Of timer, fmt_integers, adds, frames, heap: "k" (0b100100) puts timer and frames last.
        let order = ["kernel::tests::fmt_integers", "minimal_kernel::adds", "mm::tests::heap"];
        let late = ["kernel::interrupts::tests::timer", "mm::tests::frames"];
        assert_eq!(names("ktest.late=k"), [&order[..], &late[..]].concat());
        // With a set, positions count the same way (before the set): "o" keeps timer and adds;
        // "Y" keeps fmt_integers and adds, and "Q" (position 1) makes fmt_integers late.
        assert_eq!(names("ktest.set=o ktest.late=g"), ["minimal_kernel::adds", "kernel::interrupts::tests::timer"]);
        assert_eq!(names("ktest.set=Y ktest.late=Q"), ["minimal_kernel::adds", "kernel::tests::fmt_integers"]);
        // Resuming after a test early in name order but late in this one.
        assert_eq!(names("ktest.late=k ktest.after=kernel::interrupts::tests::timer"), ["mm::tests::frames"]);
        assert_eq!(names("ktest.late=k ktest.after=mm::tests::heap"), late);
        assert_eq!(names("ktest.late=k ktest.after=mm::tests::frames"), Vec::<String>::new());
        // A point not among them resumes by name, as without `ktest.late`.
        assert_eq!(names("ktest.late=k ktest.after=mm::a"), ["mm::tests::heap", "mm::tests::frames"]);
        assert_eq!(names("ktest.late="), names(""), "nothing late: name order");
    }
}
