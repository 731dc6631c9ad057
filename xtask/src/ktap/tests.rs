//! The KTAP parser on fixture logs (`tests/fixtures/ktap/`) and on edge cases.

use super::*;
use crate::serial::LineSplitter;

fn fixture(name: &str) -> Vec<u8> {
    let path = crate::workspace::Workspace::locate().root().join("tests/fixtures/ktap").join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("fixture {}: {error}", path.display()))
}

/// Every item the parser gives for `bytes`, split into lines as the serial reader does.
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
fn noisy_truncated_log_keeps_kernel_prints_apart_and_reports_the_cut() {
    let items = parse(&fixture("noisy-truncated.log"));
    assert_eq!(results(&items).len(), 2);
    let others: Vec<_> = items
        .iter()
        .filter_map(|item| match item {
            Item::Other { text } => Some(text.clone()),
            _ => None,
        })
        .collect();
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
fn result_line_forms() {
    /// (ok, number, name, directive) as the parser should read them.
    type Expected = Option<(bool, Option<u64>, &'static str, Option<Directive>)>;
    let cases: &[(&str, Expected)] = &[
        ("ok 1 name", Some((true, Some(1), "name", None))),
        ("not ok 12 a::b::c", Some((false, Some(12), "a::b::c", None))),
        ("ok 3 - dashed name", Some((true, Some(3), "dashed name", None))),
        ("ok 4 skipped # SKIP not today", Some((true, Some(4), "skipped", Some(Directive::Skip("not today".into()))))),
        ("ok 5 lower # skip reason", Some((true, Some(5), "lower", Some(Directive::Skip("reason".into()))))),
        ("not ok 6 pending # TODO later", Some((false, Some(6), "pending", Some(Directive::Todo("later".into()))))),
        ("ok", Some((true, None, "", None))),
        ("ok 7", Some((true, Some(7), "", None))),
        ("okay then", None),
        ("not okay", None),
        ("oklahoma 1", None),
    ];
    for (line, expected) in cases {
        let parsed = parse_result(line).map(|r| (r.ok, r.number, r.name, r.directive));
        let expected = expected.clone().map(|(ok, number, name, directive)| (ok, number, name.to_string(), directive));
        assert_eq!(parsed, expected, "{line}");
    }
}

#[test]
fn plan_forms() {
    let cases = [("1..0", Some(0)), ("1..12", Some(12)), ("1..3 # skip all", Some(3)), ("1..x", None), ("2..3", None)];
    for (line, expected) in cases {
        assert_eq!(parse_plan(line), expected, "{line}");
    }
}

#[test]
fn a_second_top_level_version_line_starts_a_new_document() {
    let items = parse(b"KTAP version 1\n1..2\nok 1 a\nKTAP version 1\n1..1\nok 1 b\n");
    assert_eq!(results(&items).len(), 2);
    // The first document was cut short: its plan said 2.
    assert_eq!(findings(&items), [FindingKind::PlanMismatch { depth: 0, planned: 2, seen: 1 }]);
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

/// Arbitrary bytes never panic the parser (a small, deterministic sweep; the fuzz target
/// in `fuzz/` does the real search).
#[test]
fn arbitrary_bytes_never_panic() {
    let pieces: [&[u8]; 12] = [
        b"ok ",
        b"not ok ",
        b"1..",
        b"KTAP version 1",
        b"# ",
        b"    ",
        b"\t",
        b"\n",
        b"\xff",
        b"99999999999999999999",
        b" # SKIP",
        b"# Subtest: x",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..2000 {
        let mut input = Vec::new();
        for _ in 0..24 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            input.extend_from_slice(pieces[(state % pieces.len() as u64) as usize]);
        }
        let _ = parse(&input);
    }
}
