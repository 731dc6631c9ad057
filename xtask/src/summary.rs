//! The event stream folded: each arch's outcomes, diagnostics and counts, and the run's exit
//! status. Every report at the end of a run (the summary, JSON's suite lines, JUnit, the
//! merged KTAP) reads this, and this is made from events alone.

use crate::events::{Diagnostic, Event, Outcome, Severity, Status};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::PathBuf;
use std::time::Duration;

/// One arch's run, as its events tell it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchSummary {
    pub arch: String,
    /// Where the serial log is (for people to read).
    pub log: PathBuf,
    /// Every test with a verdict, in the order of its first attempt.
    pub outcomes: Vec<Outcome>,
    index: HashMap<String, usize>,
    pub diagnostics: Vec<Diagnostic>,
    /// Planned tests no line names that never reported (see [`Event::Unreported`]).
    pub unreported: u64,
    pub boots: u32,
    pub wall_time: Option<Duration>,
    pub interrupted: Option<i32>,
}

/// Counts of one arch's outcomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
    pub not_run: u64,
    pub flaky: u64,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.ignored += other.ignored;
        self.not_run += other.not_run;
        self.flaky += other.flaky;
    }

    /// Tests that have a verdict of any kind.
    pub fn total(&self) -> u64 {
        self.passed + self.failed + self.ignored + self.not_run + self.flaky
    }
}

impl ArchSummary {
    pub fn new(arch: &str, log: PathBuf) -> ArchSummary {
        ArchSummary {
            arch: arch.to_string(),
            log,
            outcomes: Vec::new(),
            index: HashMap::new(),
            diagnostics: Vec::new(),
            unreported: 0,
            boots: 0,
            wall_time: None,
            interrupted: None,
        }
    }

    /// Folds one event in.
    pub fn apply(&mut self, event: &Event) {
        match event {
            // One lookup of the name (a hash of it is most of a debug build's fold).
            Event::AttemptFinished(attempt) => match self.index.entry(attempt.name.clone()) {
                Entry::Occupied(index) => self.outcomes[*index.get()].attempts.push(attempt.clone()),
                Entry::Vacant(slot) => {
                    slot.insert(self.outcomes.len());
                    self.outcomes.push(Outcome { name: attempt.name.clone(), attempts: vec![attempt.clone()] });
                }
            },
            Event::Diagnostic(diagnostic) => self.diagnostics.push(diagnostic.clone()),
            Event::Unreported { count, .. } => self.unreported = self.unreported.saturating_add(*count),
            Event::Finished { boots, wall_time, interrupted } => {
                self.boots = *boots;
                self.wall_time = *wall_time;
                self.interrupted = *interrupted;
            }
            Event::BootStarted { .. }
            | Event::Planned { .. }
            | Event::TestStarted { .. }
            | Event::StoppedForDebugger { .. }
            | Event::DebugAttach { .. }
            | Event::BootEnded { .. } => {}
        }
    }

    /// Folds a whole stream.
    pub fn of(arch: &str, log: PathBuf, events: &[Event]) -> ArchSummary {
        let mut summary = ArchSummary::new(arch, log);
        events.iter().for_each(|event| summary.apply(event));
        summary
    }

    /// The outcome of the test `name`, if it has a verdict (by the fold's index: reporters
    /// look one up per verdict, and a scan would make a large suite's report quadratic).
    pub fn outcome(&self, name: &str) -> Option<&Outcome> {
        self.index.get(name).map(|&index| &self.outcomes[index])
    }

    pub fn counts(&self) -> Counts {
        let mut counts = Counts { not_run: self.unreported, ..Counts::default() };
        for outcome in &self.outcomes {
            match outcome.status() {
                Status::Passed => counts.passed += 1,
                Status::Failed(_) => counts.failed += 1,
                Status::Ignored(_) => counts.ignored += 1,
                Status::NotRun(_) => counts.not_run += 1,
                Status::Flaky(_) => counts.flaky += 1,
            }
        }
        counts
    }

    pub fn with_severity(&self, severity: Severity) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(move |diagnostic| diagnostic.severity == severity)
    }

    /// What this arch's run comes to.
    pub fn verdict(&self) -> ArchVerdict {
        let counts = self.counts();
        if self.with_severity(Severity::Error).next().is_some() {
            ArchVerdict::HarnessError
        } else if counts.failed > 0 || counts.not_run > 0 || self.with_severity(Severity::Problem).next().is_some() {
            ArchVerdict::Failed
        } else {
            ArchVerdict::Passed
        }
    }
}

/// What one arch's run comes to, worst last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ArchVerdict {
    Passed,
    /// Nothing was tested on any arch: no test ran, none was skipped.
    NoTests,
    Failed,
    HarnessError,
}

/// The whole run: every selected arch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub arches: Vec<ArchSummary>,
}

impl RunSummary {
    pub fn counts(&self) -> Counts {
        let mut total = Counts::default();
        self.arches.iter().for_each(|arch| total.add(arch.counts()));
        total
    }

    /// The first signal that interrupted any arch.
    pub fn interrupted(&self) -> Option<i32> {
        self.arches.iter().find_map(|arch| arch.interrupted)
    }

    /// The worst arch verdict; a run where no arch had any test is [`ArchVerdict::NoTests`]
    /// (one arch without tests is fine: a test may exist only for another arch).
    pub fn verdict(&self) -> ArchVerdict {
        let worst = self.arches.iter().map(ArchSummary::verdict).max().unwrap_or(ArchVerdict::Passed);
        if worst == ArchVerdict::Passed && self.counts().total() == 0 { ArchVerdict::NoTests } else { worst }
    }

    /// The process exit status: 128+signal if interrupted, 2 for a harness error, 1 for a
    /// failure (or for nothing tested, as `no_tests` says, or for a flaky test, as `flaky`
    /// says), 0 if every selected test passed everywhere.
    pub fn exit_status(&self, no_tests: NoTests, flaky: FlakyResult) -> u8 {
        if let Some(signal) = self.interrupted() {
            return crate::process::exit_status_for_signal(signal);
        }
        let flaky_tests = self.counts().flaky;
        match self.verdict() {
            ArchVerdict::Passed if flaky == FlakyResult::Fail && flaky_tests > 0 => {
                eprintln!("error: {flaky_tests} flaky test(s) fail the run (`--flaky-result fail`)");
                1
            }
            ArchVerdict::Passed => 0,
            ArchVerdict::NoTests if no_tests != NoTests::Fail => 0,
            ArchVerdict::NoTests | ArchVerdict::Failed => 1,
            ArchVerdict::HarnessError => 2,
        }
    }
}

/// What a run in which no test ran comes to (`--no-tests`, as cargo-nextest has it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum NoTests {
    /// It passes silently.
    Pass,
    /// It passes, with a warning.
    Warn,
    /// It fails (exit 1): a filter that matches nothing, or an empty log, is no success.
    #[default]
    Fail,
}

/// What a flaky test (failed, then passed on a retry) makes of the run (`--flaky-result`, as
/// cargo-nextest has it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum FlakyResult {
    /// The run passes; the test is reported FLAKY.
    #[default]
    Pass,
    /// The run fails (exit 1).
    Fail,
}
