//! One architecture's run, boot after boot: turns serial lines and the harness's markers
//! into the event stream (`events.rs`).
//!
//! It starts no process and reads no clock: the live runner feeds it the lines QEMU prints
//! and the markers it writes to the serial log, and `cargo xtask report` feeds it the same
//! lines and markers read back from that log (or from a merged KTAP document), so both give
//! the same events. Modules: `conventions` reads the kernel runner's diagnostic lines,
//! `marker` the harness's lines,
//! `attempts` how a test's verdict is built, `ending` what a boot's and a run's end decide, `merged` the merged KTAP document,
//! `symbols` backtraces, `replay` reading a saved log.

mod attempts;
pub mod conventions;
mod ending;
pub mod lanes;
pub mod marker;
pub mod merged;
mod replay;
mod symbols;

use crate::events::DiagnosticKind;
use crate::events::{Attempt, Diagnostic, Event, Reason, Severity, Verdict};
use conventions::KernelLine;
use ktap::{Directive, Item, Line};
pub use marker::{MARKER, Marker};
pub use replay::{LogReader, ReplaySource, replay_file, replay_reader};
use std::collections::{BTreeSet, HashMap, VecDeque};
pub use symbols::Sources;

/// Serial lines kept for a failure's excerpt.
const EXCERPT_LINES: usize = 20;
/// Lines of a test's own output kept with its verdict (the last ones), and their length.
const OUTPUT_LINES: usize = 40;
const OUTPUT_LINE_CHARS: usize = 1000;

/// What the runner should do after a boot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Every selected test has its verdict.
    Complete,
    /// Boot again, running the tests after this one.
    ResumeAfter(String),
    /// Boot again from the same point: this boot ended before running any test, for a
    /// reason outside the kernel (QEMU killed, say). Given once in a row.
    RetrySameBoot,
    /// No further boot can help; a diagnostic says why.
    Stop,
}

/// The test running now.
#[derive(Debug)]
struct Running {
    name: String,
    diagnostics: Vec<String>,
    output: VecDeque<String>,
}

/// One architecture's run.
#[derive(Debug)]
pub struct Session {
    parser: ktap::Parser,
    symbols: symbols::Symbols,
    // This boot.
    boot: u32,
    boot_open: bool,
    retrying: bool,
    /// The boot began without a marker (a log of plain kernel output).
    implicit_boot: bool,
    running: Option<Running>,
    /// The last result, held until no trailing diagnostic can belong to it.
    pending: Option<Attempt>,
    /// Diagnostics since the last result, not inside an announced test.
    loose: Vec<String>,
    planned: Option<u64>,
    plan_named: bool,
    plan_this_boot: Vec<String>,
    plan_sent: bool,
    results_this_boot: u64,
    crashes_this_boot: u64,
    failed_this_boot: bool,
    last_result_this_boot: Option<String>,
    recent: VecDeque<String>,
    build_id: Option<String>,
    // The whole run.
    attempts: HashMap<String, u32>,
    /// Names whose latest verdict is a failure, in the order they failed.
    failing: Vec<String>,
    planned_names: Vec<String>,
    planned_set: BTreeSet<String>,
    resume_point: Option<String>,
    lost_boots_in_a_row: u32,
    next: Next,
    unreported: u64,
    last_problem: Option<String>,
    interrupted_noted: bool,
    /// `--fail-fast` stopped the run after this test failed.
    fail_fast: Option<String>,
    finished: bool,
    boots_seen: u32,
    /// A merged KTAP document is being read: its records are the events.
    reading_merged: bool,
    record: Option<(String, String)>,
    /// Events made while building an attempt (a note about symbols), sent before it.
    deferred: Vec<Event>,
}

impl Session {
    /// `sources`: where backtraces' sources are (paths are shown relative to its root).
    pub fn new(sources: impl Into<Sources>) -> Session {
        Session {
            parser: ktap::Parser::new(),
            symbols: symbols::Symbols::new(sources.into()),
            boot: 0,
            boot_open: false,
            retrying: false,
            implicit_boot: false,
            running: None,
            pending: None,
            loose: Vec::new(),
            planned: None,
            plan_named: false,
            plan_this_boot: Vec::new(),
            plan_sent: false,
            results_this_boot: 0,
            crashes_this_boot: 0,
            failed_this_boot: false,
            last_result_this_boot: None,
            recent: VecDeque::new(),
            build_id: None,
            attempts: HashMap::new(),
            failing: Vec::new(),
            planned_names: Vec::new(),
            planned_set: BTreeSet::new(),
            resume_point: None,
            lost_boots_in_a_row: 0,
            next: Next::Stop,
            unreported: 0,
            last_problem: None,
            interrupted_noted: false,
            fail_fast: None,
            finished: false,
            boots_seen: 0,
            reading_merged: false,
            record: None,
            deferred: Vec::new(),
        }
    }

    /// What the runner should do after the boot that just ended.
    pub fn next(&self) -> &Next {
        &self.next
    }

    /// Tests whose latest verdict is a failure, in the order they failed (for `--retries`).
    pub fn failing_tests(&self) -> Vec<String> {
        self.failing.clone()
    }

    /// Whether the latest result read is a failure not yet passed on (it is held until the
    /// next line, which may explain it): where `--fail-fast` stops a boot.
    pub fn failure_pending(&self) -> bool {
        self.pending.as_ref().is_some_and(|attempt| matches!(attempt.verdict, Verdict::Failed(_)))
    }

    /// How many verdicts `name` has had (its first run is attempt 1; `--retries` numbers the
    /// runs after it from 1).
    pub fn attempts_of(&self, name: &str) -> u32 {
        self.attempts.get(name).copied().unwrap_or(0)
    }

    /// Whether the latest verdict of `name` is a failure.
    pub fn is_failing(&self, name: &str) -> bool {
        self.failing.iter().any(|failing| failing == name)
    }

    /// Whether a test has started and has no verdict yet.
    pub fn test_running(&self) -> bool {
        self.running.is_some()
    }

    /// The last serial lines of this boot.
    pub fn recent_lines(&self) -> Vec<String> {
        self.recent.iter().cloned().collect()
    }

    /// Reads one serial line.
    pub fn line(&mut self, line: &Line) -> Vec<Event> {
        let mut events = Vec::new();
        self.close_record(&mut events);
        if !self.boot_open {
            // A marker's boot number is input: the boot after u32::MAX is still u32::MAX.
            self.begin_boot(self.boot.saturating_add(1), false, true);
        }
        let text = line.text();
        self.recent.push_back(text.clone());
        if self.recent.len() > EXCERPT_LINES {
            self.recent.pop_front();
        }
        // While a test runs, only its own result line is a result: a test that prints text
        // looking like another test's result must not have it pinned on anyone.
        if let Some(running) = &self.running
            && let Some((_, _, name, _)) = ktap::parse_result(self.parser.strip_prefix(&text).trim())
            && name != running.name
        {
            let kind = DiagnosticKind::ForeignResult { running: running.name.clone(), printed: name };
            self.diagnose(Severity::Note, kind, false, &mut events);
            self.output(text);
            return events;
        }
        // While a test runs, only diagnostics and its own result shape the document: a
        // version line or a plan it prints is its output.
        let items = match &self.running {
            Some(_) if !Self::shapes_a_running_test(self.parser.strip_prefix(&text).trim()) => {
                self.parser.output_line(line)
            }
            _ => self.parser.line(line),
        };
        for item in items {
            self.item(item, &mut events);
        }
        events
    }

    /// A line a running test's KTAP can hold: a diagnostic (not a subtest header) or a result.
    fn shapes_a_running_test(content: &str) -> bool {
        (content.starts_with('#') && !content.starts_with("# Subtest:")) || ktap::parse_result(content).is_some()
    }

    /// Reads one harness marker (from the runner, or from a saved log).
    pub fn marker(&mut self, marker: &Marker) -> Vec<Event> {
        let mut events = Vec::new();
        if !matches!(marker, Marker::RecordContinued { .. }) {
            self.close_record(&mut events);
        }
        match marker {
            Marker::Arch { .. } => {}
            Marker::BootStarted { boot, command } => {
                if self.boot_open {
                    self.end_boot(crate::events::BootEnd::StreamEnded, None, &mut events);
                }
                self.symbols.image_from_command(command);
                let retrying = command.contains(&format!("{}=", kernel_abi::cmdline::ATTEMPT));
                self.begin_boot(*boot, retrying, false);
                events.push(Event::BootStarted { boot: *boot, command: command.clone(), retry: retrying });
            }
            Marker::BootEnded { end, test_time, .. } => {
                if self.boot_open {
                    self.end_boot(*end, *test_time, &mut events);
                }
            }
            Marker::QemuSaid { text, .. } => {
                self.diagnose(Severity::Problem, DiagnosticKind::QemuSaid { text: text.clone() }, true, &mut events)
            }
            Marker::HarnessError { message } => {
                let kind = DiagnosticKind::HarnessError { message: message.clone() };
                self.diagnose(Severity::Error, kind, false, &mut events)
            }
            Marker::LogCapped { mib } => {
                self.diagnose(Severity::Note, DiagnosticKind::LogCapped { mib: *mib }, false, &mut events)
            }
            Marker::Finished { boots, wall_time, interrupted } => {
                self.finish(*boots, *wall_time, *interrupted, &mut events)
            }
            Marker::Record { kind, json } => self.record = Some((kind.clone(), json.clone())),
            Marker::RecordContinued { json } => {
                if let Some((_, buffer)) = &mut self.record {
                    buffer.push_str(json);
                }
            }
            Marker::FailFast { after } => self.fail_fast = Some(after.clone()),
            Marker::Serial { text } => events.extend(self.line(&Line::from_text(text))),
            // Read by the replay, which applies it to the next line.
            Marker::NextLine { .. } => {}
        }
        events
    }

    /// The stream ended (a saved log read to its end): closes the boot and the run, if the
    /// log did not.
    pub fn end_of_stream(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        self.close_record(&mut events);
        if self.boot_open {
            self.end_boot(crate::events::BootEnd::StreamEnded, None, &mut events);
        }
        if !self.finished {
            self.finish(self.boots_seen, None, None, &mut events);
        }
        events
    }

    pub(super) fn begin_boot(&mut self, boot: u32, retrying: bool, implicit: bool) {
        self.boot = boot;
        self.boot_open = true;
        self.retrying = retrying;
        self.implicit_boot = implicit;
        self.boots_seen = self.boots_seen.max(boot);
        self.running = None;
        self.pending = None;
        self.loose.clear();
        self.planned = None;
        self.plan_named = false;
        self.plan_this_boot.clear();
        self.plan_sent = false;
        self.results_this_boot = 0;
        self.crashes_this_boot = 0;
        self.failed_this_boot = false;
        self.last_result_this_boot = None;
        self.recent.clear();
        self.build_id = None;
    }

    fn item(&mut self, item: Item, events: &mut Vec<Event>) {
        match item {
            Item::Version { depth: 0, .. } => {
                self.flush_pending(events);
                self.planned = None;
                self.results_this_boot = 0;
            }
            Item::Plan { depth: 0, count } => self.planned = Some(count),
            Item::Diagnostic { depth: 0, text } => self.diagnostic(text, events),
            Item::Diagnostic { text, .. } => {
                if !self.reading_merged {
                    self.loose.push(text)
                }
            }
            Item::Result(result) if !result.has_subtests => {
                if !self.reading_merged {
                    self.result(result, events)
                }
            }
            Item::Result(_) => {} // a suite's verdict: its tests were counted one by one
            Item::Other { text } => self.output(text),
            Item::Finding(finding) => self.finding(finding, events),
            Item::Version { .. } | Item::Plan { .. } | Item::Subtest { .. } => {}
        }
    }

    pub(super) fn finding(&mut self, finding: ktap::Finding, events: &mut Vec<Event>) {
        let severity = if finding.kind.casts_doubt_on_verdicts() { Severity::Problem } else { Severity::Note };
        self.diagnose(severity, DiagnosticKind::Ktap(finding), false, events);
    }

    pub(super) fn output(&mut self, text: String) {
        if let Some(running) = &mut self.running {
            if running.output.len() == OUTPUT_LINES {
                running.output.pop_front();
            }
            running.output.push_back(text.chars().take(OUTPUT_LINE_CHARS).collect());
        }
    }

    fn diagnostic(&mut self, text: String, events: &mut Vec<Event>) {
        if self.reading_merged {
            return; // the human copy of what the records hold
        }
        match KernelLine::read(&text) {
            KernelLine::Listed { name, .. } => {
                self.plan_named = true;
                if self.planned_set.insert(name.clone()) {
                    self.planned_names.push(name.clone());
                }
                self.plan_this_boot.push(name);
            }
            KernelLine::Start { name, timeout_secs } => {
                self.send_plan(events);
                if let Some(previous) = self.running.take() {
                    let kind =
                        DiagnosticKind::StartedWithoutVerdict { previous: previous.name.clone(), next: name.clone() };
                    self.diagnose(Severity::Problem, kind, true, events);
                    self.fail_running(previous, Reason::Crash, None, None, events);
                }
                // Diagnostics before an announcement trail the previous test's result.
                let loose = std::mem::take(&mut self.loose);
                self.attach_to_pending(loose);
                self.flush_pending(events);
                self.running = Some(Running { name: name.clone(), diagnostics: Vec::new(), output: VecDeque::new() });
                let timeout_secs = (timeout_secs > 0).then_some(timeout_secs);
                events.push(Event::TestStarted { boot: self.boot, name, timeout_secs });
            }
            KernelLine::BuildId(id) => self.build_id = Some(id),
            KernelLine::DebugStop { name } => events.push(Event::StoppedForDebugger { boot: self.boot, test: name }),
            _ => match &mut self.running {
                Some(running) => running.diagnostics.push(text),
                None => self.loose.push(text),
            },
        }
    }

    pub(super) fn send_plan(&mut self, events: &mut Vec<Event>) {
        if !self.plan_sent && !self.plan_this_boot.is_empty() {
            self.plan_sent = true;
            events.push(Event::Planned { boot: self.boot, names: self.plan_this_boot.clone() });
        }
    }

    fn result(&mut self, result: ktap::TestResult, events: &mut Vec<Event>) {
        let name = if result.parents.is_empty() {
            result.name
        } else {
            format!("{}::{}", result.parents.join("::"), result.name)
        };
        let (mut diagnostics, output) = match self.running.take() {
            Some(running) if running.name == name => (running.diagnostics, running.output.into()),
            Some(running) => {
                let kind = DiagnosticKind::ResultWhileRunning { result: name.clone(), running: running.name.clone() };
                self.diagnose(Severity::Problem, kind, true, events);
                self.fail_running(running, Reason::Crash, None, None, events);
                (Vec::new(), Vec::new())
            }
            None => (Vec::new(), Vec::new()),
        };
        // Without announcements, diagnostics go with the next result (as KTAP says), except
        // a failure's report that follows a failed result and precedes a passing one.
        let loose = std::mem::take(&mut self.loose);
        let pending_unexplained =
            self.pending.as_ref().is_some_and(|a| matches!(a.verdict, Verdict::Failed(_)) && a.message.is_none());
        if result.ok && pending_unexplained && conventions::failure_message(&loose).is_some() {
            self.attach_to_pending(loose);
        } else {
            diagnostics.splice(0..0, loose);
        }
        self.flush_pending(events);
        let verdict = match (&result.directive, result.ok) {
            (Some(Directive::Skip(reason)), _) => Verdict::Ignored(reason.clone()),
            (_, true) => Verdict::Passed,
            (_, false) => Verdict::Failed(conventions::failure_reason(&diagnostics).unwrap_or(Reason::Failed)),
        };
        self.results_this_boot = self.results_this_boot.saturating_add(1);
        self.last_result_this_boot = Some(name.clone());
        self.lost_boots_in_a_row = 0;
        self.pending = Some(self.attempt(name, verdict, diagnostics, output, None, None));
    }

    pub(super) fn diagnose(
        &mut self,
        severity: Severity,
        kind: DiagnosticKind,
        excerpt: bool,
        events: &mut Vec<Event>,
    ) {
        if severity >= Severity::Problem {
            self.last_problem = Some(kind.to_string());
        }
        let excerpt = if excerpt { self.recent_lines() } else { Vec::new() };
        events.push(Event::Diagnostic(Diagnostic { boot: self.boot, severity, kind, excerpt }));
    }
}

#[cfg(test)]
mod limits;
#[cfg(test)]
mod linux;
#[cfg(test)]
mod properties;
#[cfg(test)]
pub(crate) mod tests;
