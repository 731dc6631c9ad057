//! The JUnit writer against quick-junit's own rendering of the same reports.

use super::*;
use crate::events::{Attempt, Diagnostic, DiagnosticKind, Event, Reason, Verdict};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

/// The report as quick-junit renders it: the reference the writer is held to.
fn quick_junit_render(summary: &RunSummary) -> String {
    let mut report = Report::new("kernel tests");
    for arch in &summary.arches {
        let mut suite = TestSuite::new(arch.arch.as_str());
        if let Some(time) = arch.wall_time {
            suite.set_time(time);
        }
        for outcome in &arch.outcomes {
            let attempt = outcome.explaining_attempt();
            let status = match outcome.status() {
                Status::Passed => TestCaseStatus::success(),
                Status::Ignored(reason) => {
                    let mut status = TestCaseStatus::skipped();
                    status.set_message(printable(&reason).into_owned());
                    status
                }
                Status::NotRun(why) => {
                    // A test that should have run and did not is a failure of the run.
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                    status.set_type("not-run");
                    status.set_message(format!("not run: {}", printable(&why)));
                    status
                }
                Status::Flaky(reason) => {
                    // A success with its failed first attempt as a `flakyFailure`.
                    let mut status = TestCaseStatus::success();
                    let mut rerun = quick_junit::TestRerun::new(NonSuccessKind::Failure);
                    rerun.set_type(reason.as_str());
                    rerun.set_message(printable(attempt.message.as_deref().unwrap_or_default()).into_owned());
                    status.add_rerun(rerun);
                    status
                }
                Status::Failed(reason) => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status.set_type(reason.as_str());
                    let message = attempt.message.clone().unwrap_or_else(|| format!("{} failed", outcome.name));
                    status.set_message(printable(&message).into_owned());
                    let description = format!(
                        "{}\n\nbacktrace:\n{}\n\noutput:\n{}\n\nserial log: {}\nlast serial lines (boot {}):\n{}",
                        attempt.diagnostics.join("\n"),
                        attempt.backtrace.join("\n"),
                        attempt.output.join("\n"),
                        arch.log.display(),
                        attempt.boot,
                        attempt.excerpt.join("\n")
                    );
                    // XML has no room for most control characters: they are shown escaped.
                    let lines: Vec<String> = description.lines().map(|line| printable(line).into_owned()).collect();
                    status.set_description(lines.join("\n"));
                    status
                }
            };
            let mut case = TestCase::new(printable(&outcome.name).into_owned(), status);
            let module = outcome.name.rsplit_once("::").map_or("", |(module, _)| module);
            case.set_classname(format!("{}.{module}", arch.arch));
            if let Some(duration) = outcome.last().duration {
                case.set_time(duration);
            }
            suite.add_test_case(case);
        }
        let problems = arch.diagnostics.iter().filter(|diagnostic| diagnostic.severity >= Severity::Problem);
        for (index, problem) in problems.enumerate() {
            // A problem is a failure of the run itself: visible in CI's test view.
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(printable(&problem.kind.to_string()).into_owned());
            let excerpt: Vec<String> = problem.excerpt.iter().map(|line| printable(line).into_owned()).collect();
            status.set_description(format!("serial log: {}\n{}", arch.log.display(), excerpt.join("\n")));
            suite.add_test_case(TestCase::new(format!("harness::problem_{}", index + 1), status));
        }
        report.add_test_suite(suite);
    }
    report.to_string().unwrap()
}

fn attempt(name: &str, verdict: Verdict, text: &str) -> Event {
    Event::AttemptFinished(Attempt {
        boot: 2,
        duration: Some(Duration::from_nanos(1_234_567)),
        message: (!text.is_empty()).then(|| format!("failed: {text}")),
        backtrace: vec![format!("0: f at {text}.rs:1")],
        diagnostics: vec![format!("# panicked at {text}"), "# duration_ns: 1234567".into()],
        output: vec![text.into(), "plain".into()],
        excerpt: vec![format!("ok 1 {text}"), String::new()],
        ..Attempt::first(name, verdict)
    })
}

/// Every kind of outcome and problem, with `text` (kernel text of any kind) in every field.
fn summary(text: &str) -> RunSummary {
    let odd = format!("kernel::{text}::t");
    let events = [
        attempt("kernel::a::passes", Verdict::Passed, text),
        attempt(&odd, Verdict::Failed(Reason::Panic), text),
        attempt("kernel::b::flaky", Verdict::Failed(Reason::Timeout), text),
        attempt("kernel::b::flaky", Verdict::Passed, text),
        attempt("kernel::b::fails", Verdict::Failed(Reason::Fault), ""),
        attempt("kernel::c::ignored", Verdict::Ignored(format!("because {text}")), text),
        attempt("kernel::c::not_run", Verdict::NotRun(format!("the boot ended {text}")), text),
        Event::Diagnostic(Diagnostic {
            boot: 1,
            severity: Severity::Problem,
            kind: DiagnosticKind::QemuSaid { text: text.into() },
            excerpt: vec![text.into(), "x".into()],
        }),
        Event::Diagnostic(Diagnostic {
            boot: 1,
            severity: Severity::Note,
            kind: DiagnosticKind::LogCapped { mib: 1 },
            excerpt: Vec::new(),
        }),
        Event::Finished { boots: 2, wall_time: Some(Duration::from_millis(2500)), interrupted: None },
    ];
    let arch = ArchSummary::of(&format!("arch{text}"), format!("runs/1/{text}.serial.log").into(), &events);
    let empty = ArchSummary::new("empty", "runs/1/empty.serial.log".into());
    let mut timed = ArchSummary::new("timed", "t".into());
    timed.apply(&Event::Finished { boots: 0, wall_time: Some(Duration::ZERO), interrupted: None });
    RunSummary { arches: vec![arch, empty, timed] }
}

#[test]
fn the_document_is_quick_junits_byte_for_byte() {
    let texts = [
        "plain",
        "",
        "quotes \" and ' and <tags> & entities &amp;",
        "tab\tand\nnewline\r\0",
        "\u{1b}[1;31mred\u{1b}[0m and \u{1b}]0;title\u{7}",
        "ünïcödé 🙂 \u{85}\u{7f}\u{9b}",
        "  leading and trailing spaces  ",
    ];
    for text in texts {
        let summary = summary(text);
        assert_eq!(render(&summary), quick_junit_render(&summary), "{text:?}");
    }
    let nothing = RunSummary { arches: Vec::new() };
    assert_eq!(render(&nothing), quick_junit_render(&nothing));
}
