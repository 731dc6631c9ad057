//! The reader on the fixture logs (`tests/data/`), on edge cases, and against the writer.

use super::*;
use proptest::prelude::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("fixture {}: {error}", path.display()))
}

/// Every item the parser gives for `bytes`, split into lines as a serial reader does.
fn parse(bytes: &[u8]) -> Vec<Item> {
    let mut splitter = LineSplitter::default();
    let mut parser = Parser::new();
    let mut lines = splitter.push(bytes);
    lines.extend(splitter.finish());
    let mut items: Vec<Item> = lines.iter().flat_map(|line| parser.line(line)).collect();
    items.extend(parser.finish());
    items
}

fn results(items: &[Item]) -> Vec<(bool, String, Option<Directive>)> {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Result(result) => {
                let mut path = result.parents.clone();
                path.push(result.name.clone());
                Some((result.ok, path.join("::"), result.directive.clone()))
            }
            _ => None,
        })
        .collect()
}

fn findings(items: &[Item]) -> Vec<FindingKind> {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Finding(finding) => Some(finding.kind.clone()),
            _ => None,
        })
        .collect()
}

fn others(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Other { text } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn flat_log_gives_each_verdict_and_no_findings() {
    let items = parse(&fixture("flat.log"));
    assert_eq!(
        results(&items),
        [
            (true, "fmt::integers".into(), None),
            (true, "fmt::padding".into(), None),
            (false, "mm::heap::big_alloc".into(), None),
            (true, "arch::smp_boot".into(), Some(Directive::Skip("only one CPU".into()))),
        ]
    );
    assert!(findings(&items).is_empty(), "{:?}", findings(&items));
    assert!(items.contains(&Item::Diagnostic {
        depth: 0,
        text: "panicked at kernel/src/mm/heap.rs:88:9: allocation of 8388608 bytes failed".into()
    }));
}

#[test]
fn nested_log_names_subtests_by_their_suite_and_marks_suite_results() {
    let items = parse(&fixture("nested.log"));
    assert_eq!(
        results(&items),
        [
            (true, "heap::alloc_small".into(), None),
            (true, "heap::alloc_aligned".into(), None),
            (true, "heap".into(), None),
            (true, "traps::breakpoint".into(), None),
            (false, "traps::page_fault".into(), None),
            (false, "traps".into(), None),
        ]
    );
    let suites: Vec<_> = items
        .iter()
        .filter_map(|item| match item {
            Item::Result(result) if result.has_subtests => Some(result.name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(suites, ["heap", "traps"]);
    assert!(findings(&items).is_empty(), "{:?}", findings(&items));
}

#[test]
fn a_subtest_header_before_its_version_line_names_that_subtest() {
    let log = "KTAP version 1\n1..1\n    # Subtest: suite\n    KTAP version 1\n    1..1\n    ok 1 case\nok 1 suite\n";
    let items = parse(log.as_bytes());
    assert_eq!(results(&items)[0].1, "suite::case");
    assert!(findings(&items).is_empty(), "{:?}", findings(&items));
}

#[test]
fn noisy_truncated_log_keeps_kernel_prints_apart_and_reports_the_cut() {
    let items = parse(&fixture("noisy-truncated.log"));
    assert_eq!(results(&items).len(), 2);
    let others = others(&items);
    assert!(others.iter().any(|text| text.starts_with("OpenSBI v1.1")));
    assert!(others.contains(&"heap: 126 MiB free".to_string()));
    let found = findings(&items);
    assert!(found.contains(&FindingKind::PlanMismatch { depth: 0, planned: 3, seen: 2 }), "{found:?}");
}

#[test]
fn missing_plan_is_a_finding_not_an_error() {
    let items = parse(&fixture("missing-plan.log"));
    assert_eq!(results(&items).len(), 2);
    assert_eq!(findings(&items), [FindingKind::MissingPlan { depth: 0, results: 2 }]);
}

#[test]
fn duplicate_and_out_of_order_numbers_are_findings() {
    let items = parse(&fixture("duplicate-out-of-order.log"));
    assert_eq!(results(&items).len(), 3);
    assert_eq!(
        findings(&items),
        [FindingKind::DuplicateNumber { number: 1 }, FindingKind::OutOfOrder { expected: 2, got: 5 },]
    );
}

#[test]
fn garbage_and_invalid_utf8_do_not_hide_the_results_around_them() {
    let items = parse(&fixture("garbage-utf8.log"));
    let verdicts: Vec<_> = results(&items).into_iter().map(|(ok, name, _)| (ok, name)).collect();
    assert_eq!(verdicts, [(true, "first\u{fffd}\u{fffd}".into()), (false, "second".into())]);
    assert!(findings(&items).contains(&FindingKind::InvalidUtf8));
}

#[test]
fn console_prefixes_are_taken_from_the_version_line_and_stripped_after_it() {
    let cases: [(&str, &str); 4] = [
        (
            "timestamps",
            "[    0.412345] KTAP version 1\n[    0.412400] 1..2\n[    0.5] ok 1 a\n[   10.000001] not ok 2 b\n",
        ),
        ("log levels", "<6>KTAP version 1\n<6>1..2\n<6>ok 1 a\n<12>not ok 2 b\n"),
        ("a host name", "box kernel: TAP version 14\nbox kernel: 1..2\nbox kernel: ok 1 a\nbox kernel: not ok 2 b\n"),
        (
            "both",
            "[    0.1][    T1] KTAP version 1\n[    0.1][    T1] 1..2\n[    0.1][    T1] ok 1 a\n[    0.2][   T12] not ok 2 b\n",
        ),
    ];
    for (what, log) in cases {
        let items = parse(log.as_bytes());
        assert_eq!(results(&items), [(true, "a".into(), None), (false, "b".into(), None)], "{what}");
        assert!(findings(&items).is_empty(), "{what}: {:?}", findings(&items));
    }
}

#[test]
fn the_prefix_keeps_nesting_and_ends_with_its_stream() {
    let log = "[  1.0] KTAP version 1\n[  1.0] 1..1\n[  1.0]     # Subtest: s\n[  1.0]     1..1\n[  1.0]     ok 1 c\n[  1.0] ok 1 s\n";
    let mut parser = Parser::new();
    let items: Vec<Item> = log.lines().flat_map(|line| parser.text_line(line)).collect();
    assert_eq!(results(&items)[0].1, "s::c");
    parser.finish();
    // A new stream without a prefix is read as it is.
    assert!(matches!(parser.text_line("KTAP version 1")[..], [Item::Version { depth: 0, .. }]));
    assert!(matches!(&parser.text_line("[  1.0] ok 1 x")[..], [Item::Other { .. }]));
}

#[test]
fn result_line_forms() {
    /// (ok, number, name, directive) as the reader should read them.
    type Expected = Option<(bool, Option<u64>, &'static str, Option<Directive>)>;
    let cases: &[(&str, Expected)] = &[
        ("ok 1 name", Some((true, Some(1), "name", None))),
        ("not ok 12 a::b::c", Some((false, Some(12), "a::b::c", None))),
        ("ok 3 - dashed name", Some((true, Some(3), "dashed name", None))),
        ("ok 4 skipped # SKIP not today", Some((true, Some(4), "skipped", Some(Directive::Skip("not today".into()))))),
        ("not ok 5 skipped # SKIP", Some((false, Some(5), "skipped", Some(Directive::Skip(String::new()))))),
        // Only an upper-case SKIP skips, as in kunit_parser; TODO is kept as text.
        ("ok 6 lower # skip reason", Some((true, Some(6), "lower", Some(Directive::Other("skip reason".into()))))),
        (
            "not ok 7 pending # TODO later",
            Some((false, Some(7), "pending", Some(Directive::Other("TODO later".into())))),
        ),
        ("ok 18446744073709551616 huge", Some((true, None, "huge", None))),
        ("ok", None),
        ("ok 7", None),
        ("ok name", None),
        ("ok 1 a#b", None),
        ("okay then", None),
        ("not okay", None),
        ("oklahoma 1", None),
    ];
    for (line, expected) in cases {
        let expected = expected.clone().map(|(ok, number, name, directive)| (ok, number, name.to_string(), directive));
        assert_eq!(parse_result(line), expected, "{line}");
    }
}

#[test]
fn a_result_without_a_number_is_output_with_a_finding() {
    let items = parse(b"KTAP version 1\n1..2\nok 1 a\nok b\n");
    assert_eq!(results(&items), [(true, "a".into(), None)]);
    assert_eq!(others(&items), ["ok b"]);
    assert_eq!(
        findings(&items),
        [FindingKind::MalformedResult, FindingKind::PlanMismatch { depth: 0, planned: 2, seen: 1 }]
    );
}

#[test]
fn the_largest_test_number_is_counted_past_without_overflow() {
    let items = parse(b"KTAP version 1\n1..2\nok 18446744073709551615 a\nok 1 b\n");
    assert_eq!(results(&items).len(), 2);
    let max = u128::from(u64::MAX);
    assert_eq!(
        findings(&items),
        [FindingKind::OutOfOrder { expected: 1, got: u64::MAX }, FindingKind::OutOfOrder { expected: max + 1, got: 1 }]
    );
    // A number past u64::MAX is a result with a finding, and the next one still counts.
    let items = parse(b"KTAP version 1\n1..2\nok 99999999999999999999999 a\nok 2 b\n");
    assert_eq!(results(&items).len(), 2);
    assert_eq!(
        findings(&items),
        [FindingKind::NumberTooLarge { digits: 23 }, FindingKind::OutOfOrder { expected: max + 1, got: 2 }]
    );
}

#[test]
fn a_numberless_result_after_the_largest_number_is_a_finding_not_an_overflow() {
    // Issue 25's file: `ok b` is not a result (it has no number), and nothing is computed
    // from the number before it that could overflow.
    let items = parse(b"KTAP version 1\n1..2\nok 18446744073709551615 a\nok b\n");
    assert_eq!(results(&items).len(), 1);
    assert_eq!(
        findings(&items),
        [
            FindingKind::OutOfOrder { expected: 1, got: u64::MAX },
            FindingKind::MalformedResult,
            FindingKind::PlanMismatch { depth: 0, planned: 2, seen: 1 }
        ]
    );
}

#[test]
fn plans_and_versions() {
    let items = parse(b"KTAP version 2\n1..99999999999999999999999\nTAP version 14\n1..1 # one\nok 1 x\n");
    assert!(items.contains(&Item::Plan { depth: 0, count: u64::MAX }));
    // A version line inside a document opens a subtest there, as in kunit_parser.
    assert!(items.contains(&Item::Plan { depth: 1, count: 1 }));
    assert!(items.contains(&Item::Version { depth: 1, dialect: Dialect::Tap, version: 14 }));
    let found = findings(&items);
    assert!(found.contains(&FindingKind::UnsupportedVersion { dialect: Dialect::Ktap, version: 2 }), "{found:?}");
    assert!(others(&parse(b"1..3\n")).contains(&"1..3".to_string()), "a plan outside a document is output");
}

#[test]
fn a_version_line_opens_a_subtest_until_the_document_is_complete_then_a_new_document() {
    // Inside a document whose plan is not met: a subtest (kunit_parser reads it so).
    let items = parse(b"KTAP version 1\n1..2\nok 1 a\nKTAP version 1\n1..1\nok 1 b\n");
    assert_eq!(results(&items), [(true, "a".into(), None), (true, "(unnamed subtest)::b".into(), None)]);
    assert_eq!(findings(&items), [FindingKind::MissingSuiteResult { name: "(unnamed subtest)".into() }]);
    // After a complete document: the next one.
    let items = parse(b"KTAP version 1\n1..1\nok 1 a\nKTAP version 1\n1..1\nok 1 b\n");
    assert_eq!(results(&items), [(true, "a".into(), None), (true, "b".into(), None)]);
    assert!(findings(&items).is_empty(), "{:?}", findings(&items));
}

#[test]
fn nesting_follows_structure_not_indentation() {
    let two_spaces =
        "KTAP version 1\n1..1\n  KTAP version 1\n  # Subtest: suite\n  1..2\n  ok 1 a\n  ok 2 b\nok 1 suite\n";
    let items = parse(two_spaces.as_bytes());
    assert_eq!(
        results(&items),
        [(true, "suite::a".into(), None), (true, "suite::b".into(), None), (true, "suite".into(), None)]
    );
    assert!(findings(&items).is_empty(), "{:?}", findings(&items));
    // An unnamed subtest ends at the first result after its plan is met.
    let unnamed = "KTAP version 1\n1..1\nKTAP version 1\n1..1\nok 1 case\nok 1 suite\n";
    let suites: Vec<bool> = parse(unnamed.as_bytes())
        .iter()
        .filter_map(|item| match item {
            Item::Result(result) => Some(result.has_subtests),
            _ => None,
        })
        .collect();
    assert_eq!(suites, [false, true]);
}

#[test]
fn results_before_any_version_line_are_flagged() {
    let items = parse(b"ok 1 early\n");
    assert_eq!(results(&items).len(), 1);
    assert!(findings(&items).contains(&FindingKind::ResultOutsideDocument));
}

#[test]
fn bail_out_is_a_finding() {
    let items = parse(b"KTAP version 1\n1..1\nBail out! no memory\n");
    assert!(findings(&items).contains(&FindingKind::BailOut { reason: "no memory".into() }));
}

/// A name as the reader can produce it: no `#`, no line break, not blank at either end.
fn name_strategy() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_:\\- .\u{e9}\u{1b}]{0,20}"
        .prop_map(|name| name.trim().to_string())
        .prop_filter("", |n| !n.is_empty() && !n.starts_with("- ") && !n.contains(" - "))
}

proptest! {
    /// What the writer writes, the reader reads back: verdicts, names, numbers, skips,
    /// diagnostics, with no finding.
    #[test]
    fn the_writer_and_the_reader_agree(
        tests in proptest::collection::vec((any::<bool>(), name_strategy(), proptest::option::of("[a-z ]{0,12}"), "[ -~]{0,30}"), 0..12)
    ) {
        let mut writer = Writer::new(String::new());
        writer.version().unwrap();
        writer.plan(tests.len() as u64).unwrap();
        for (index, (ok, name, skip, diagnostic)) in tests.iter().enumerate() {
            writer.diagnostic(diagnostic).unwrap();
            let directive = skip.as_ref().map(|reason| Directive::Skip(reason.trim().to_string()));
            writer.result(*ok, index as u64 + 1, name, directive.as_ref()).unwrap();
        }
        let items = parse(writer.into_inner().as_bytes());
        prop_assert!(findings(&items).is_empty(), "{:?}", findings(&items));
        let read = results(&items);
        prop_assert_eq!(read.len(), tests.len());
        for ((ok, name, skip, _), (read_ok, read_name, read_directive)) in tests.iter().zip(read) {
            prop_assert_eq!(*ok, read_ok);
            prop_assert_eq!(name, &read_name);
            prop_assert_eq!(skip.as_ref().map(|r| Directive::Skip(r.trim().to_string())), read_directive);
        }
    }

    /// Arbitrary bytes in arbitrary chunks never panic the reader, and chunking never
    /// changes what it reads.
    #[test]
    fn any_bytes_in_any_chunks_read_the_same(bytes in proptest::collection::vec(any::<u8>(), 0..400), cut in 1usize..50) {
        let whole = parse(&bytes);
        let mut splitter = LineSplitter::default();
        let mut parser = Parser::new();
        let mut items = Vec::new();
        for chunk in bytes.chunks(cut) {
            for line in splitter.push(chunk) {
                items.extend(parser.line(&line));
            }
        }
        if let Some(line) = splitter.finish() {
            items.extend(parser.line(&line));
        }
        items.extend(parser.finish());
        prop_assert_eq!(items, whole);
    }
}
