//! The event stream: what happened in one architecture's run, in order.
//!
//! The session (`session/`) produces these from the serial lines and the harness's markers,
//! live or from a saved log; every output (the live human lines, the summary, libtest JSON,
//! JUnit, GitHub annotations, the merged KTAP, the exit status) is a function of them
//! (`summary.rs` folds them, `report/` renders). Nothing here knows where the events came
//! from.

pub mod diagnostics;

use crate::exit::KernelExit;
pub use diagnostics::DiagnosticKind;
use std::fmt;
use std::time::Duration;

/// One thing that happened in an arch's run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A boot began (`retry`: it re-runs a failed test, `--retries`).
    BootStarted { boot: u32, command: String, retry: bool },
    /// The kernel announced the tests this boot will run, by name.
    Planned { boot: u32, names: Vec<String> },
    /// The kernel started a test; it may run `timeout_secs` seconds (None: the default).
    TestStarted { boot: u32, name: String, timeout_secs: Option<u64> },
    /// One run of one test ended with a verdict.
    AttemptFinished(Attempt),
    /// Something about the run beyond a test's own verdict.
    Diagnostic(Diagnostic),
    /// The kernel stopped after `test` failed and waits for a debugger (`--debug-failures`).
    StoppedForDebugger { boot: u32, test: String },
    /// How to attach to it: the command the runner prepared (live runs only).
    DebugAttach { test: String, command: String },
    /// A boot ended, as the runner saw it (or as the log's marker says).
    BootEnded { boot: u32, end: BootEnd },
    /// Planned tests that no line names, and that never reported (a log from a kernel that
    /// announces its plan only as a count): counted, as kunit_parser counts them.
    Unreported { count: u64, why: String },
    /// The arch's run is over.
    /// `wall_time`: None when the log does not say (a log without the harness's markers).
    Finished { boots: u32, wall_time: Option<Duration>, interrupted: Option<i32> },
}

/// One run of a test, start to verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub name: String,
    /// 1 for the first run; retries count up.
    pub number: u32,
    pub boot: u32,
    pub verdict: Verdict,
    /// From the test's start to its verdict: the kernel's own measure when it gave one (a
    /// timeout's is the timeout; a crash's is the harness's measure).
    pub duration: Option<Duration>,
    /// The one line (or a few, for a multi-line panic message) that says why it failed or
    /// was skipped.
    pub message: Option<String>,
    /// The call chain of a failure, innermost first: symbolized when the kernel image that
    /// made the log is at hand, else the raw addresses.
    pub backtrace: Vec<String>,
    /// Every KTAP diagnostic line that came with it (without `# `).
    pub diagnostics: Vec<String>,
    /// What the test itself printed (not KTAP), up to a limit.
    pub output: Vec<String>,
    /// The boot's last serial lines at the failure (failures only).
    pub excerpt: Vec<String>,
}

#[cfg(test)]
impl Attempt {
    /// For tests: the first attempt at `name`, in boot 1, with nothing else known.
    pub fn first(name: &str, verdict: Verdict) -> Attempt {
        Attempt {
            name: name.into(),
            number: 1,
            boot: 1,
            verdict,
            duration: None,
            message: None,
            backtrace: Vec::new(),
            diagnostics: Vec::new(),
            output: Vec::new(),
            excerpt: Vec::new(),
        }
    }
}

/// The verdict of one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    Failed(Reason),
    /// `# SKIP reason`: never run, by the test's own choice.
    Ignored(String),
    /// Planned by the kernel but never run: the run was interrupted or could not go on.
    NotRun(String),
}

/// Why a test failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// It panicked (an assertion, say).
    Panic,
    /// A CPU exception ended it.
    Fault,
    /// It ran past its timeout; the harness ended QEMU.
    Timeout,
    /// QEMU ended without the test's verdict (a triple fault, QEMU killed, ...).
    Crash,
    /// The test reported failure without a panic (e.g. `should_panic` that did not).
    Failed,
}

impl Reason {
    pub const ALL: [Reason; 5] = [Reason::Panic, Reason::Fault, Reason::Timeout, Reason::Crash, Reason::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Panic => "panic",
            Reason::Fault => "fault",
            Reason::Timeout => "timeout",
            Reason::Crash => "crash",
            Reason::Failed => "failed",
        }
    }

    pub fn parse(word: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|reason| reason.as_str() == word)
    }
}

/// How a boot ended, as the runner observed it (or as a log's marker says).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootEnd {
    Exited(KernelExit),
    /// The harness ended QEMU after this many seconds without progress.
    TimedOut {
        seconds: u64,
    },
    /// The xtask was interrupted by this signal.
    Interrupted {
        signal: i32,
    },
    /// A saved log ended with no harness marker: nothing is known of the exit.
    StreamEnded,
    /// The harness ended QEMU after a verdict because the run stops (`--fail-fast`).
    Stopped,
}

impl fmt::Display for BootEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootEnd::Exited(exit) => write!(f, "{exit}"),
            BootEnd::TimedOut { seconds } => write!(f, "no output for {seconds} s; QEMU was ended"),
            BootEnd::Interrupted { signal } => write!(f, "interrupted by signal {signal}"),
            BootEnd::StreamEnded => write!(f, "the log ends there"),
            BootEnd::Stopped => write!(f, "stopped by the harness (--fail-fast)"),
        }
    }
}

/// Something wrong with a run, or worth saying about it, beyond a test's own verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub boot: u32,
    pub severity: Severity,
    pub kind: DiagnosticKind,
    /// The boot's last serial lines at that point (empty where they say nothing).
    pub excerpt: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth saying; every verdict stands (invalid UTF-8, a boot lost and tried again).
    Note,
    /// The run cannot be trusted as it stands: it fails (exit 1).
    Problem,
    /// The harness itself could not do its job for this arch (exit 2).
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Problem => "problem",
            Severity::Error => "error",
        }
    }

    pub fn parse(word: &str) -> Option<Severity> {
        [Severity::Note, Severity::Problem, Severity::Error].into_iter().find(|s| s.as_str() == word)
    }
}

/// A test's outcome: all its attempts, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub name: String,
    pub attempts: Vec<Attempt>,
}

/// What an outcome comes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Passed,
    Failed(Reason),
    Ignored(String),
    NotRun(String),
    /// Failed (for this reason the first time), then passed when retried: never a plain pass.
    Flaky(Reason),
}

impl Outcome {
    /// The attempt that decides the status (the last).
    pub fn last(&self) -> &Attempt {
        self.attempts.last().expect("an outcome has at least one attempt")
    }

    /// The first failed attempt, if any.
    pub fn first_failure(&self) -> Option<&Attempt> {
        self.attempts.iter().find(|attempt| matches!(attempt.verdict, Verdict::Failed(_)))
    }

    /// The one place that decides what a list of attempts comes to.
    pub fn status(&self) -> Status {
        match &self.last().verdict {
            Verdict::Passed => match self.first_failure().map(|attempt| &attempt.verdict) {
                Some(Verdict::Failed(reason)) => Status::Flaky(*reason),
                _ => Status::Passed,
            },
            Verdict::Failed(reason) => Status::Failed(*reason),
            Verdict::Ignored(reason) => Status::Ignored(reason.clone()),
            Verdict::NotRun(why) => Status::NotRun(why.clone()),
        }
    }

    /// The attempt whose failure explains the outcome: the last failed one for a failure,
    /// the first for a flaky test.
    pub fn explaining_attempt(&self) -> &Attempt {
        match self.status() {
            Status::Flaky(_) => self.first_failure().unwrap_or(self.last()),
            _ => self.last(),
        }
    }
}

impl Status {
    pub fn is_failure(&self) -> bool {
        matches!(self, Status::Failed(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(verdict: Verdict) -> Attempt {
        Attempt::first("t", verdict)
    }

    #[test]
    fn an_outcome_is_decided_by_its_attempts() {
        let cases = [
            (vec![Verdict::Passed], Status::Passed),
            (vec![Verdict::Failed(Reason::Panic)], Status::Failed(Reason::Panic)),
            (vec![Verdict::Failed(Reason::Timeout), Verdict::Passed], Status::Flaky(Reason::Timeout)),
            (vec![Verdict::Failed(Reason::Panic), Verdict::Failed(Reason::Fault)], Status::Failed(Reason::Fault)),
            (vec![Verdict::Ignored("x".into())], Status::Ignored("x".into())),
            (vec![Verdict::NotRun("y".into())], Status::NotRun("y".into())),
        ];
        for (verdicts, expected) in cases {
            let outcome = Outcome { name: "t".into(), attempts: verdicts.into_iter().map(attempt).collect() };
            assert_eq!(outcome.status(), expected);
        }
    }

    #[test]
    fn reasons_and_severities_read_back_their_words() {
        for reason in Reason::ALL {
            assert_eq!(Reason::parse(reason.as_str()), Some(reason));
        }
        for severity in [Severity::Note, Severity::Problem, Severity::Error] {
            assert_eq!(Severity::parse(severity.as_str()), Some(severity));
        }
    }
}
