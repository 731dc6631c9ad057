//! Numbers from the input at their edges: the largest boot numbers in markers, the largest
//! test numbers and plans in the serial stream, the largest backtrace addresses. Each gives
//! events (a verdict, a finding), never a panic.

use super::tests::*;
use super::*;
use crate::events::Status;
use crate::summary::ArchSummary;
use std::path::Path;

fn summary_of(log: &str) -> ArchSummary {
    ArchSummary::of("x", "log".into(), &replay_file(log.as_bytes(), Path::new("/")))
}

fn problems(summary: &ArchSummary) -> Vec<String> {
    summary.with_severity(Severity::Problem).map(|d| d.kind.to_string()).collect()
}

#[test]
fn issue_25_the_largest_test_number_then_a_numberless_result_is_a_verdict_and_a_finding() {
    let summary = summary_of("KTAP version 1\n1..2\nok 18446744073709551615 a\nok b\n");
    let statuses: Vec<_> = summary.outcomes.iter().map(|o| (o.name.as_str(), o.status())).collect();
    assert_eq!(statuses, [("a", Status::Passed)]);
    let problems = problems(&summary);
    assert!(
        problems.iter().any(|p| p.contains("test number 18446744073709551615 where 1 was expected")),
        "{problems:?}"
    );
    assert_eq!(summary.unreported, 1, "`ok b` is not a result: one planned test never reported");
}

#[test]
fn the_largest_plan_is_never_met_and_counts_its_missing_tests() {
    let summary = summary_of("KTAP version 1\n1..18446744073709551615\nok 1 a\n");
    assert_eq!(summary.outcomes.len(), 1);
    assert_eq!(summary.unreported, u64::MAX - 1);
    let summary = summary_of("KTAP version 1\n1..99999999999999999999999\nok 1 a\n");
    assert_eq!(summary.unreported, u64::MAX - 1, "a plan past u64::MAX is u64::MAX");
}

#[test]
fn a_line_after_the_boot_numbered_u32_max_starts_a_boot_without_overflow() {
    let log = format!(
        "{}\n{}\n{}\nKTAP version 1\n1..1\nok 1 a\n",
        Marker::Arch { arch: "x".into(), serial_log: None, lane: None },
        Marker::BootStarted { boot: u32::MAX, command: "qemu -kernel /k".into() },
        Marker::BootEnded { boot: u32::MAX, end: SUCCESS, test_time: None },
    );
    let summary = summary_of(&log);
    assert_eq!(summary.outcomes.last().map(|o| o.last().boot), Some(u32::MAX));
}

#[test]
fn the_largest_backtrace_addresses_and_address_zero_are_kept_as_they_are() {
    let log = "KTAP version 1\n1..1\n# start t timeout=18446744073709551615\n# panicked at t.rs:1:1: boom\n\
               # backtrace: 0x0 0xffffffffffffffff 0x10000000000000000\nnot ok 1 t\n";
    let summary = summary_of(log);
    let attempt = summary.outcomes[0].last();
    assert_eq!(attempt.backtrace, ["0x0", "0xffffffffffffffff"], "an address past u64 is not an address");
}
