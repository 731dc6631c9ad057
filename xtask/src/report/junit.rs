//! JUnit XML: one `<testsuite>` per arch, a `<testcase>` per test, the run's problems as
//! errors of their own, written atomically.

use super::text::printable;
use crate::events::{Severity, Status};
use crate::summary::RunSummary;
use anyhow::Result;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

/// The report as XML.
pub fn render(summary: &RunSummary) -> Result<String> {
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
    report.to_string().map_err(|error| anyhow::anyhow!("cannot render the JUnit report: {error}"))
}

/// The JUnit report as a reporter: written to its path, atomically, when the run is over.
pub struct Junit(pub std::path::PathBuf);

impl super::Reporter for Junit {
    fn event(&mut self, _: &str, _: &crate::events::Event, _: &crate::summary::ArchSummary) {}

    fn finish(&mut self, summary: &RunSummary) -> Result<()> {
        crate::fsutil::write_atomically(&self.0, render(summary)?.as_bytes())?;
        eprintln!("JUnit report: {}", self.0.display());
        Ok(())
    }
}
