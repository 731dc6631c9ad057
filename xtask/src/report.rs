//! Reporters: the live human display and its summary, libtest-shaped JSON lines, JUnit XML.
//!
//! Each consumes the same two things: [`Progress`] as a run goes, and the finished
//! [`ArchRun`]s at the end. `cargo xtask report` replays saved logs into the same calls,
//! so a log and a live run print the same report.

use crate::fsutil;
use crate::runner::{ArchRun, Progress};
use crate::session::{self, Event, Outcome, Reason, Status};
use anyhow::Result;
use serde_json::json;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// Prints a run as it goes and sums it up at the end.
pub trait Reporter {
    fn progress(&mut self, arch: &str, progress: &Progress);
    fn finish(&mut self, runs: &[ArchRun]);
}

pub fn reporter(format: Format) -> Box<dyn Reporter> {
    match format {
        Format::Human => Box::new(Human::default()),
        Format::Json => Box::new(Json::default()),
    }
}

/// Counts of one arch's outcomes.
#[derive(Default, Clone, Copy)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub ignored: usize,
    pub not_run: usize,
    pub flaky: usize,
}

impl Counts {
    pub fn of(outcomes: &[Outcome]) -> Counts {
        let mut counts = Counts::default();
        for outcome in outcomes {
            match outcome.status {
                Status::Passed => counts.passed += 1,
                Status::Failed(_) => counts.failed += 1,
                Status::Ignored(_) => counts.ignored += 1,
                Status::NotRun(_) => counts.not_run += 1,
                Status::Flaky(_) => counts.flaky += 1,
            }
        }
        counts
    }
}

/// Whether a run passed: no failed test, none left unrun, and no problem, on every arch.
pub fn all_passed(runs: &[ArchRun]) -> bool {
    runs.iter().all(|run| {
        let counts = Counts::of(&run.session.outcomes);
        run.session.problems.is_empty() && counts.failed == 0 && counts.not_run == 0
    })
}

fn format_duration(duration: Option<Duration>) -> String {
    match duration {
        None => String::new(),
        Some(duration) if duration < Duration::from_millis(1) => {
            format!("{:.1} µs", duration.as_secs_f64() * 1e6)
        }
        Some(duration) if duration < Duration::from_secs(1) => {
            format!("{:.1} ms", duration.as_secs_f64() * 1e3)
        }
        Some(duration) => format!("{:.2} s", duration.as_secs_f64()),
    }
}

fn status_word(status: &Status) -> String {
    match status {
        Status::Passed => "ok".into(),
        Status::Failed(reason) => format!("FAILED ({})", reason.as_str()),
        Status::Ignored(_) => "ignored".into(),
        Status::NotRun(_) => "not run".into(),
        Status::Flaky(reason) => format!("FLAKY ({})", reason.as_str()),
    }
}

/// The human display: one line per verdict, labelled with the arch; failures in full.
#[derive(Default)]
pub struct Human {
    arch_width: usize,
}

impl Human {
    fn label(&mut self, arch: &str) -> String {
        self.arch_width = self.arch_width.max(arch.len()).max(7);
        format!("[{arch:<width$}]", width = self.arch_width)
    }
}

impl Reporter for Human {
    fn progress(&mut self, arch: &str, progress: &Progress) {
        let label = self.label(arch);
        let mut out = std::io::stdout().lock();
        let _ = match progress {
            Progress::BootStarted { boot, command } => {
                writeln!(out, "{label} boot {boot}: $ {command}")
            }
            Progress::Session(Event::Finished(outcome)) => {
                let mut text = format!(
                    "{label} {:<16} {} {}",
                    status_word(&outcome.status),
                    outcome.name,
                    format_duration(outcome.duration)
                );
                if let Status::Ignored(reason) | Status::NotRun(reason) = &outcome.status {
                    text.push_str(&format!("({reason})"));
                }
                if let Some(message) = &outcome.message {
                    text.push_str(&format!("\n{label}     {message}"));
                }
                writeln!(out, "{}", text.trim_end())
            }
            Progress::Problem(problem) => {
                writeln!(out, "{label} problem in boot {}: {}", problem.boot, problem.message)
            }
            Progress::DebugStop { test, command } => writeln!(out, "{}", debug_stop_text(&label, test, command)),
            Progress::Session(Event::Started { .. } | Event::Output(_)) => Ok(()),
        };
    }

    fn finish(&mut self, runs: &[ArchRun]) {
        let mut out = std::io::stdout().lock();
        let _ = print_summary(&mut out, runs);
        if std::env::var("GITHUB_ACTIONS").is_ok_and(|value| value == "true") {
            for run in runs {
                for outcome in run.session.outcomes.iter().filter(|o| matches!(o.status, Status::Failed(_))) {
                    let _ = writeln!(out, "{}", github_annotation(&run.arch, outcome));
                }
            }
        }
    }
}

/// Where a failure happened in the source: the panic's location, else the innermost
/// backtrace frame in the repository's own files. (file, line, column)
pub fn source_location(outcome: &Outcome) -> Option<(String, u32, u32)> {
    let parse = |text: &str| -> Option<(String, u32, u32)> {
        let mut parts = text.rsplitn(3, ':');
        let column = parts.next()?.parse().ok()?;
        let line = parts.next()?.parse().ok()?;
        Some((parts.next()?.to_string(), line, column))
    };
    let panic_location = outcome.message.as_deref().and_then(|message| {
        let location = message.strip_prefix("panicked at ")?.split(": ").next()?;
        parse(location)
    });
    panic_location.or_else(|| {
        outcome.backtrace.iter().find_map(|frame| {
            let location = frame.split(" at ").nth(1)?;
            if location.starts_with('/') { None } else { parse(location) }
        })
    })
}

/// A GitHub Actions `::error` workflow command for a failed test.
pub fn github_annotation(arch: &str, outcome: &Outcome) -> String {
    // GitHub's escaping: data `%`, CR, LF; properties also `:` and `,`.
    let data = |text: &str| text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    let property = |text: &str| data(text).replace(':', "%3A").replace(',', "%2C");
    let title = property(&format!("{} failed on {arch}", outcome.name));
    let message = data(outcome.message.as_deref().unwrap_or("failed"));
    match source_location(outcome) {
        Some((file, line, column)) => {
            format!("::error file={},line={line},col={column},title={title}::{message}", property(&file))
        }
        None => format!("::error title={title}::{message}"),
    }
}

/// What `--debug-failures` prints when a failed test stops the kernel.
fn debug_stop_text(label: &str, test: &str, command: &str) -> String {
    format!(
        "{label} {test} failed; the kernel is stopped with its state intact. Attach with:\n\
         {label}     {command}\n\
         {label} (`detach` in gdb lets the run go on; Ctrl-C here ends it)"
    )
}

/// The end-of-run summary: failures in full, per-arch counts, cross-arch differences.
pub fn print_summary(out: &mut impl Write, runs: &[ArchRun]) -> std::io::Result<()> {
    let failures: Vec<(&ArchRun, &Outcome)> = runs
        .iter()
        .flat_map(|run| {
            run.session.outcomes.iter().filter(|o| matches!(o.status, Status::Failed(_))).map(move |o| (run, o))
        })
        .collect();
    if !failures.is_empty() {
        writeln!(out, "\nfailures:")?;
        for (run, outcome) in &failures {
            writeln!(out, "\n  {} on {}: {}", outcome.name, run.arch, status_word(&outcome.status))?;
            if let Some(message) = &outcome.message {
                writeln!(out, "    {message}")?;
            }
            if !outcome.backtrace.is_empty() {
                writeln!(out, "    backtrace (innermost first):")?;
                for (index, frame) in outcome.backtrace.iter().enumerate() {
                    writeln!(out, "      {index:>2}: {frame}")?;
                }
            }
            if !outcome.excerpt.is_empty() {
                writeln!(out, "    last serial lines (boot {}):", outcome.boot)?;
                for line in &outcome.excerpt {
                    writeln!(out, "      | {line}")?;
                }
            }
            writeln!(out, "    serial log: {}", run.log.display())?;
        }
    }
    let noted: Vec<&ArchRun> = runs.iter().filter(|run| !run.session.notes.is_empty()).collect();
    if !noted.is_empty() {
        writeln!(out, "\nnotes:")?;
        for run in noted {
            for note in &run.session.notes {
                writeln!(out, "  {} (boot {}): {}", run.arch, note.boot, note.message)?;
            }
        }
    }
    let problem_runs: Vec<&ArchRun> = runs.iter().filter(|run| !run.session.problems.is_empty()).collect();
    if !problem_runs.is_empty() {
        writeln!(out, "\nproblems:")?;
        for run in problem_runs {
            for problem in &run.session.problems {
                writeln!(out, "\n  {} (boot {}): {}", run.arch, problem.boot, problem.message)?;
                for line in &problem.excerpt {
                    writeln!(out, "      | {line}")?;
                }
                writeln!(out, "    serial log: {}", run.log.display())?;
            }
        }
    }
    writeln!(
        out,
        "\n{:<10} {:>6} {:>6} {:>7} {:>7} {:>5} {:>8}  serial log",
        "arch", "passed", "failed", "ignored", "not run", "boots", "time"
    )?;
    let mut total = Counts::default();
    for run in runs {
        let counts = Counts::of(&run.session.outcomes);
        total.passed += counts.passed;
        total.failed += counts.failed;
        total.ignored += counts.ignored;
        total.not_run += counts.not_run;
        total.flaky += counts.flaky;
        writeln!(
            out,
            "{:<10} {:>6} {:>6} {:>7} {:>7} {:>5} {:>8}  {}",
            run.arch,
            counts.passed,
            counts.failed,
            counts.ignored,
            counts.not_run,
            run.boots,
            format!("{:.2} s", run.wall_time.as_secs_f64()),
            run.log.display()
        )?;
    }
    if runs.len() > 1 {
        let totals = (total.passed, total.failed, total.ignored, total.not_run);
        writeln!(out, "{:<10} {:>6} {:>6} {:>7} {:>7}", "total", totals.0, totals.1, totals.2, totals.3)?;
    }
    let differences = cross_arch_differences(runs);
    if !differences.is_empty() {
        writeln!(out, "\ndiffering between architectures:")?;
        for line in differences {
            writeln!(out, "  {line}")?;
        }
    }
    let verdict = if all_passed(runs) { "ok" } else { "FAILED" };
    let mut not_run = if total.not_run > 0 { format!(", {} not run", total.not_run) } else { String::new() };
    if total.flaky > 0 {
        not_run.push_str(&format!(", {} flaky", total.flaky));
    }
    writeln!(
        out,
        "\ntest result: {verdict}. {} passed, {} failed, {} ignored{not_run}",
        total.passed, total.failed, total.ignored
    )
}

/// One line per test whose verdict is not the same on every arch that ran it.
pub fn cross_arch_differences(runs: &[ArchRun]) -> Vec<String> {
    if runs.len() < 2 {
        return Vec::new();
    }
    let mut by_test: BTreeMap<&str, Vec<(&str, &Status)>> = BTreeMap::new();
    for run in runs {
        for outcome in &run.session.outcomes {
            by_test.entry(&outcome.name).or_default().push((&run.arch, &outcome.status));
        }
    }
    let width = by_test.keys().map(|name| name.len()).max().unwrap_or(0);
    by_test
        .into_iter()
        .filter(|(_, statuses)| {
            let failed = statuses.iter().filter(|(_, status)| matches!(status, Status::Failed(_))).count();
            failed > 0 && failed < statuses.len()
        })
        .map(|(name, statuses)| {
            let cells: Vec<String> = runs
                .iter()
                .map(|run| {
                    let status = statuses.iter().find(|(arch, _)| *arch == run.arch).map(|(_, status)| *status);
                    let word = match status {
                        None => "-",
                        Some(Status::Passed) => "ok",
                        Some(Status::Failed(_)) => "FAILED",
                        Some(Status::Ignored(_)) => "ignored",
                        Some(Status::NotRun(_)) => "not run",
                        Some(Status::Flaky(_)) => "FLAKY",
                    };
                    format!("{}: {word}", run.arch)
                })
                .collect();
            format!("{name:<width$}  {}", cells.join("  "))
        })
        .collect()
}

/// libtest's JSON event lines, each with an `arch` field; nothing else on stdout.
#[derive(Default)]
pub struct Json {
    started: BTreeMap<String, bool>,
}

impl Json {
    fn emit(value: serde_json::Value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{value}");
    }
}

/// The libtest JSON object for one finished test.
pub fn outcome_json(arch: &str, outcome: &Outcome) -> serde_json::Value {
    let event = match outcome.status {
        Status::Passed => "ok",
        Status::Failed(_) => "failed",
        Status::Ignored(_) | Status::NotRun(_) => "ignored",
        // A flaky test passed in the end; `"flaky": true` says it did not pass the first time.
        Status::Flaky(_) => "ok",
    };
    let mut value = json!({
        "type": "test",
        "event": event,
        "name": outcome.name,
        "arch": arch,
        "exec_time": outcome.duration.unwrap_or_default().as_secs_f64(),
    });
    if let Status::Failed(reason) = outcome.status {
        value["reason"] = json!(reason.as_str());
        value["message"] = json!(outcome.message.clone().unwrap_or_default());
        value["stdout"] = json!(outcome.diagnostics.join("\n"));
        value["backtrace"] = json!(outcome.backtrace);
    }
    if let Status::Ignored(reason) = &outcome.status {
        value["message"] = json!(reason);
    }
    if let Status::Flaky(reason) = outcome.status {
        value["flaky"] = json!(true);
        value["attempts"] = json!(outcome.attempts);
        value["reason"] = json!(reason.as_str());
        value["message"] = json!(outcome.message.clone().unwrap_or_default());
    }
    if let Status::NotRun(why) = &outcome.status {
        value["reason"] = json!("not-run");
        value["message"] = json!(why);
    }
    value
}

impl Reporter for Json {
    fn progress(&mut self, arch: &str, progress: &Progress) {
        match progress {
            Progress::Session(Event::Started { name, .. }) => {
                Json::emit(json!({"type": "test", "event": "started", "name": name, "arch": arch}));
                self.started.insert(format!("{arch}/{name}"), true);
            }
            Progress::Session(Event::Finished(outcome)) => {
                if self.started.remove(&format!("{arch}/{}", outcome.name)).is_none() {
                    Json::emit(json!({"type": "test", "event": "started", "name": outcome.name, "arch": arch}));
                }
                Json::emit(outcome_json(arch, outcome));
            }
            // Only JSON on stdout: the attach instructions go to stderr.
            Progress::DebugStop { test, command } => {
                eprintln!("{}", debug_stop_text(&format!("[{arch}]"), test, command))
            }
            _ => {}
        }
    }

    fn finish(&mut self, runs: &[ArchRun]) {
        for run in runs {
            let counts = Counts::of(&run.session.outcomes);
            let ok = run.session.problems.is_empty() && counts.failed == 0 && counts.not_run == 0;
            let mut value = json!({
                "type": "suite",
                "event": if ok { "ok" } else { "failed" },
                "arch": run.arch,
                "passed": counts.passed,
                "failed": counts.failed,
                "ignored": counts.ignored,
                "not_run": counts.not_run,
                "flaky": counts.flaky,
                "exec_time": run.wall_time.as_secs_f64(),
                "log": run.log.display().to_string(),
            });
            if !run.session.problems.is_empty() {
                value["problems"] = json!(run.session.problems.iter().map(|p| p.message.clone()).collect::<Vec<_>>());
            }
            if !run.session.notes.is_empty() {
                value["notes"] = json!(run.session.notes.iter().map(|note| note.message.clone()).collect::<Vec<_>>());
            }
            Json::emit(value);
        }
    }
}

/// Writes a JUnit XML report (one testsuite per arch) to `path`, atomically.
pub fn write_junit(path: &Path, runs: &[ArchRun]) -> Result<()> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("kernel tests");
    for run in runs {
        let mut suite = TestSuite::new(run.arch.as_str());
        suite.set_time(run.wall_time);
        for outcome in &run.session.outcomes {
            let status = match &outcome.status {
                Status::Passed => TestCaseStatus::success(),
                Status::Ignored(reason) => {
                    let mut status = TestCaseStatus::skipped();
                    status.set_message(reason.as_str());
                    status
                }
                Status::NotRun(why) => {
                    let mut status = TestCaseStatus::skipped();
                    status.set_message(format!("not run: {why}"));
                    status
                }
                Status::Flaky(reason) => {
                    // A success with its failed first attempt as a `flakyFailure`.
                    let mut status = TestCaseStatus::success();
                    let mut rerun = quick_junit::TestRerun::new(NonSuccessKind::Failure);
                    rerun.set_type(reason.as_str());
                    rerun.set_message(outcome.message.clone().unwrap_or_default());
                    status.add_rerun(rerun);
                    status
                }
                Status::Failed(reason) => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status.set_type(reason.as_str());
                    status.set_message(outcome.message.clone().unwrap_or_else(|| format!("{} failed", outcome.name)));
                    status.set_description(format!(
                        "{}\n\nbacktrace:\n{}\n\nserial log: {}\nlast serial lines (boot {}):\n{}",
                        outcome.diagnostics.join("\n"),
                        outcome.backtrace.join("\n"),
                        run.log.display(),
                        outcome.boot,
                        outcome.excerpt.join("\n")
                    ));
                    status
                }
            };
            let mut case = TestCase::new(outcome.name.as_str(), status);
            case.set_classname(format!(
                "{}.{}",
                run.arch,
                outcome.name.rsplit_once("::").map_or("", |(module, _)| module)
            ));
            if let Some(duration) = outcome.duration {
                case.set_time(duration);
            }
            suite.add_test_case(case);
        }
        for (index, problem) in run.session.problems.iter().enumerate() {
            // A problem is a failure of the run itself: visible in CI's test view.
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(problem.message.as_str());
            status.set_description(format!("serial log: {}\n{}", run.log.display(), problem.excerpt.join("\n")));
            suite.add_test_case(TestCase::new(format!("harness::problem_{}", index + 1), status));
        }
        report.add_test_suite(suite);
    }
    let xml = report.to_string().map_err(|error| anyhow::anyhow!("cannot render the JUnit report: {error}"))?;
    fsutil::write_atomically(path, xml.as_bytes())
}

/// The whole run of one arch as a single KTAP version 1 document (`<arch>.ktap`): every
/// boot's verdicts merged, in order, with their diagnostics. Any KTAP consumer (Linux's
/// `kunit.py parse`, `cargo xtask report`) reads it as one clean stream.
pub fn merged_ktap(outcomes: &[Outcome]) -> String {
    let mut text = format!("KTAP version 1\n1..{}\n", outcomes.len());
    for (index, outcome) in outcomes.iter().enumerate() {
        for line in &outcome.diagnostics {
            text.push_str(&format!("# {line}\n"));
        }
        let number = index + 1;
        let line = match &outcome.status {
            Status::Passed => format!("ok {number} {}", outcome.name),
            Status::Ignored(reason) => format!("ok {number} {} # SKIP {reason}", outcome.name),
            Status::NotRun(why) => format!("ok {number} {} # SKIP not run: {why}", outcome.name),
            Status::Flaky(reason) => {
                text.push_str(&format!("# flaky: failed first ({}), passed on a retry\n", reason.as_str()));
                format!("ok {number} {}", outcome.name)
            }
            Status::Failed(reason) => {
                // A timeout or a crash has no kernel diagnostic: the harness states it.
                if matches!(reason, Reason::Timeout | Reason::Crash) {
                    let message = outcome.message.as_deref().unwrap_or("");
                    text.push_str(&format!("{}{}: {message}\n", session::MARKER, reason.as_str()));
                }
                format!("not ok {number} {}", outcome.name)
            }
        };
        text.push_str(&line);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Reason;

    fn failed(message: &str, backtrace: &[&str]) -> Outcome {
        Outcome {
            name: "selftest::x".into(),
            status: Status::Failed(Reason::Panic),
            duration: None,
            message: Some(message.into()),
            diagnostics: Vec::new(),
            excerpt: Vec::new(),
            backtrace: backtrace.iter().map(|frame| frame.to_string()).collect(),
            attempts: 1,
            boot: 1,
        }
    }

    #[test]
    fn annotations_point_at_the_panic_location_and_escape_what_github_needs() {
        let outcome = failed("panicked at kernel/src/selftest.rs:12:5: off by one\n  left: 41", &[]);
        assert_eq!(
            github_annotation("riscv64", &outcome),
            "::error file=kernel/src/selftest.rs,line=12,col=5,title=selftest%3A%3Ax failed on riscv64::\
             panicked at kernel/src/selftest.rs:12:5: off by one%0A  left: 41"
        );
    }

    #[test]
    fn a_fault_is_located_by_its_innermost_frame_in_the_repository() {
        let outcome = failed(
            "fault: page fault at 0x1000, pc 0x1234",
            &[
                "core::ptr::read_volatile at /rustc/abc/library/core/src/ptr/mod.rs:1:1",
                "kernel::selftest::memory_fault at kernel/src/selftest.rs:70:29",
            ],
        );
        assert_eq!(source_location(&outcome), Some(("kernel/src/selftest.rs".into(), 70, 29)));
        let unlocated = failed("fault: x, pc 0x1", &["??"]);
        assert!(github_annotation("x86_64", &unlocated).starts_with("::error title="));
    }

    #[test]
    fn the_merged_document_replays_to_the_same_verdicts() {
        let log = std::fs::read(
            crate::workspace::Workspace::locate().root().join("tests/fixtures/ktap/harness-multi-boot.log"),
        )
        .unwrap();
        let original = session::replay(&log, None);
        let merged = merged_ktap(&original.outcomes);
        assert!(merged.starts_with("KTAP version 1\n1..4\n"), "{merged}");
        let replayed = session::replay(merged.as_bytes(), None);
        let verdicts =
            |s: &session::Session| s.outcomes.iter().map(|o| (o.name.clone(), o.status.clone())).collect::<Vec<_>>();
        assert_eq!(verdicts(&replayed), verdicts(&original));
        assert_eq!(replayed.outcomes[2].status, Status::Failed(Reason::Timeout));
        assert_eq!(replayed.outcomes[2].message, original.outcomes[2].message);
    }
}
