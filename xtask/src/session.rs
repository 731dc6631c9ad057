//! One architecture's test run, boot after boot: turns the KTAP stream and the way each
//! boot ended into one outcome per test.
//!
//! It is fed lines and boot endings and decides what happened; it starts no process and
//! reads no clock, so the live run (`test`) and the replay of a saved log (`report`) share
//! it and give the same verdicts. The harness's annotations in the serial log are lines
//! starting with [`MARKER`]: `# xtask: boot N` and `# xtask: boot N ended: ...`.

use crate::exit::KernelExit;
use crate::ktap::{self, Directive, Item};
use crate::serial::Line;
use crate::symbolize::{self, Symbolizer};
use kernel_abi::{ExitCode, ktap as conventions};
use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

/// How the harness marks boots in a serial log.
pub const MARKER: &str = "# xtask: ";
/// Serial lines kept for a failure's excerpt.
const EXCERPT_LINES: usize = 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Passed,
    Failed(Reason),
    Ignored(String),
    /// Planned by the kernel but never run: the run was interrupted or could not go on.
    NotRun(String),
    /// Failed (for this reason the first time), then passed when retried: never a plain pass.
    Flaky(Reason),
}

/// Why a test failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Panic => "panic",
            Reason::Fault => "fault",
            Reason::Timeout => "timeout",
            Reason::Crash => "crash",
            Reason::Failed => "failed",
        }
    }
}

/// One test's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub name: String,
    pub status: Status,
    /// As the kernel measured it (`# duration_ns:`), if it did.
    pub duration: Option<Duration>,
    /// The one line that says why it failed: the panic message and location, the fault...
    pub message: Option<String>,
    /// Every diagnostic line that came with it.
    pub diagnostics: Vec<String>,
    /// The serial lines before the failure (failures only).
    pub excerpt: Vec<String>,
    /// The call chain of a failure, innermost first: symbolized when the session has the
    /// kernel's ELF, else the raw addresses.
    pub backtrace: Vec<String>,
    /// How many times it ran: 1, or more with `--retries`.
    pub attempts: u32,
    pub boot: u32,
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
}

/// What the runner should do after a boot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Every selected test has its verdict.
    Complete,
    /// Boot again, running the tests after this one.
    ResumeAfter(String),
    /// Boot again from the same point: this boot ended before running any test, for a
    /// reason outside the kernel (QEMU killed, say). Given once in a row; a second such
    /// boot stops the arch.
    RetrySameBoot,
    /// No further boot can help (the kernel did not start its tests, or the run was
    /// interrupted); the reason is in [`Session::problems`].
    Stop,
}

/// Something wrong with a run beyond a test's own failure: a boot failure, an exit status
/// that disagrees with the stream, a KTAP finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub boot: u32,
    pub message: String,
    /// The last serial lines at that point.
    pub excerpt: Vec<String>,
}

/// What a line told the runner, for live display and timeouts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The kernel started this test; it may run `timeout_secs` (0: the default).
    Started { name: String, timeout_secs: u64 },
    /// This outcome was just added to [`Session::outcomes`].
    Finished(Outcome),
    /// A serial line that is not part of the KTAP stream (kernel output).
    Output(String),
}

#[derive(Debug)]
struct Running {
    name: String,
    diagnostics: Vec<String>,
}

/// One architecture's run.
#[derive(Debug)]
pub struct Session {
    pub outcomes: Vec<Outcome>,
    /// What makes the run fail beyond its tests' own verdicts.
    pub problems: Vec<Problem>,
    /// What is worth saying but leaves every verdict intact (invalid UTF-8, a long line).
    pub notes: Vec<Problem>,
    parser: ktap::Parser,
    boot: u32,
    running: Option<Running>,
    /// Diagnostics since the last result, not inside an announced test.
    loose_diagnostics: Vec<String>,
    planned: Option<u64>,
    results_this_boot: u64,
    last_result_this_boot: Option<String>,
    recent_lines: VecDeque<String>,
    /// This boot re-runs a failed test (`--retries`).
    retrying: bool,
    /// Boots in a row that ended before running any test.
    lost_boots_in_a_row: u32,
    /// Loaded on the first backtrace: most runs need none, and loading DWARF takes time.
    symbolizer: std::cell::OnceCell<Option<Symbolizer>>,
    /// The kernel image and source root to symbolize with.
    symbols: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// Every test a boot announced it would run (`# test: NAME` after the plan).
    planned_names: std::collections::BTreeSet<String>,
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

impl Session {
    pub fn new() -> Session {
        Session {
            outcomes: Vec::new(),
            problems: Vec::new(),
            notes: Vec::new(),
            parser: ktap::Parser::new(),
            boot: 0,
            running: None,
            loose_diagnostics: Vec::new(),
            planned: None,
            results_this_boot: 0,
            last_result_this_boot: None,
            recent_lines: VecDeque::new(),
            retrying: false,
            lost_boots_in_a_row: 0,
            symbolizer: std::cell::OnceCell::new(),
            symbols: None,
            planned_names: std::collections::BTreeSet::new(),
        }
    }

    /// Failures' backtraces will be symbolized from `elf`, with source paths shown relative
    /// to `root`.
    pub fn with_symbols(mut self, elf: &std::path::Path, root: &std::path::Path) -> Session {
        self.symbols = Some((elf.to_path_buf(), root.to_path_buf()));
        self
    }

    fn symbolizer(&self) -> Option<&Symbolizer> {
        self.symbolizer
            .get_or_init(|| self.symbols.as_ref().and_then(|(elf, root)| Symbolizer::new(elf, root)))
            .as_ref()
    }

    pub fn boot(&self) -> u32 {
        self.boot
    }

    /// A new boot starts; `retrying`: it re-runs a test that failed (`ktest.attempt`).
    pub fn begin_boot(&mut self, boot: u32, retrying: bool) {
        self.retrying = retrying;
        self.boot = boot;
        self.running = None;
        self.loose_diagnostics.clear();
        self.planned = None;
        self.results_this_boot = 0;
        self.last_result_this_boot = None;
        self.recent_lines.clear();
    }

    /// The last serial lines of this boot (for a failure's excerpt).
    pub fn recent_lines(&self) -> Vec<String> {
        self.recent_lines.iter().cloned().collect()
    }

    /// Reads one serial line.
    pub fn line(&mut self, line: &Line) -> Vec<Event> {
        let text = line.text();
        self.recent_lines.push_back(text);
        if self.recent_lines.len() > EXCERPT_LINES {
            self.recent_lines.pop_front();
        }
        let mut events = Vec::new();
        // While a test runs, only its own result line is a result: a test that prints text
        // looking like another test's result must not have it pinned on anyone.
        if let Some(running) = &self.running
            && let Some(name) = ktap::result_name(&line.text())
            && name != running.name
        {
            let message =
                format!("`{}` printed a line that reads as a result for `{name}`: taken as its output", running.name);
            self.notes.push(Problem { boot: self.boot, message, excerpt: Vec::new() });
            events.push(Event::Output(line.text()));
            return events;
        }
        for item in self.parser.line(line) {
            self.item(item, &mut events);
        }
        events
    }

    fn item(&mut self, item: Item, events: &mut Vec<Event>) {
        match item {
            Item::Version { depth: 0, .. } => {
                self.planned = None;
                self.results_this_boot = 0;
            }
            Item::Plan { depth: 0, count } => {
                self.planned = Some(count);
            }
            Item::Diagnostic { depth: 0, text } => self.diagnostic(text, events),
            Item::Diagnostic { text, .. } => self.loose_diagnostics.push(text),
            Item::Result(result) if !result.has_subtests => self.result(result, events),
            Item::Result(_) => {} // a suite's verdict: its tests were counted one by one
            Item::Other { text } => events.push(Event::Output(text)),
            Item::Finding(finding) => {
                let problem = Problem { boot: self.boot, message: format!("KTAP: {finding}"), excerpt: Vec::new() };
                if finding.kind.casts_doubt_on_verdicts() {
                    self.problems.push(problem)
                } else {
                    self.notes.push(problem)
                }
            }
            Item::Version { .. } | Item::Plan { .. } | Item::Subtest { .. } => {}
        }
    }

    fn diagnostic(&mut self, text: String, events: &mut Vec<Event>) {
        let marker = format!("# {text}");
        if let Some(name) = marker.strip_prefix(conventions::LISTED) {
            self.planned_names.insert(name.trim().to_string());
        } else if let Some(announced) = marker.strip_prefix(conventions::START) {
            let (name, timeout_secs) = match announced.rsplit_once(" timeout=") {
                Some((name, seconds)) => (name.to_string(), seconds.trim().parse().unwrap_or(0)),
                None => (announced.trim().to_string(), 0),
            };
            if let Some(previous) = self.running.take() {
                self.problems.push(Problem {
                    boot: self.boot,
                    message: format!(
                        "test `{}` was announced, then `{name}` started without its verdict",
                        previous.name
                    ),
                    excerpt: self.recent_lines(),
                });
                self.fail_running(previous, Reason::Crash, None, events);
            }
            // Diagnostics before an announcement trail the previous test's result.
            self.attach_trailing_diagnostics();
            self.running = Some(Running { name: name.clone(), diagnostics: Vec::new() });
            events.push(Event::Started { name, timeout_secs });
        } else if let Some(running) = &mut self.running {
            running.diagnostics.push(text);
        } else {
            self.loose_diagnostics.push(text);
        }
    }

    fn result(&mut self, result: ktap::TestResult, events: &mut Vec<Event>) {
        let name = if result.parents.is_empty() {
            result.name.clone()
        } else {
            format!("{}::{}", result.parents.join("::"), result.name)
        };
        let mut diagnostics = match self.running.take() {
            Some(running) if running.name == name => running.diagnostics,
            Some(running) => {
                self.problems.push(Problem {
                    boot: self.boot,
                    message: format!("the result for `{name}` arrived while `{}` was running", running.name),
                    excerpt: self.recent_lines(),
                });
                self.fail_running(running, Reason::Crash, None, events);
                Vec::new()
            }
            None => Vec::new(),
        };
        // Without announcements, diagnostics go with the next result (as KTAP says), except
        // a failure's report that follows a failed result and precedes a passing one.
        let loose = std::mem::take(&mut self.loose_diagnostics);
        let previous_failed =
            self.outcomes.last().is_some_and(|o| matches!(o.status, Status::Failed(_)) && o.message.is_none());
        if result.ok && previous_failed && loose.iter().any(|line| failure_message(line).is_some()) {
            self.attach_to_last(loose);
        } else {
            diagnostics.splice(0..0, loose);
        }
        let status = match (&result.directive, result.ok) {
            (Some(Directive::Skip(reason)), _) => Status::Ignored(reason.clone()),
            (Some(Directive::Todo(reason)), _) => Status::Ignored(format!("TODO {reason}")),
            (_, true) => Status::Passed,
            (_, false) => Status::Failed(failure_reason(&diagnostics).unwrap_or(Reason::Failed)),
        };
        self.results_this_boot += 1;
        self.last_result_this_boot = Some(name.clone());
        self.lost_boots_in_a_row = 0;
        self.push(name, status, diagnostics, None, events);
    }

    fn push(
        &mut self,
        name: String,
        status: Status,
        diagnostics: Vec<String>,
        message: Option<String>,
        events: &mut Vec<Event>,
    ) {
        let duration = diagnostics.iter().find_map(|line| {
            let nanoseconds = format!("# {line}").strip_prefix(conventions::DURATION_NS)?.trim().parse().ok()?;
            Some(Duration::from_nanos(nanoseconds))
        });
        let failed = matches!(status, Status::Failed(_));
        let message = message.or_else(|| {
            if !failed {
                return None;
            }
            // A panic or a fault explains it best; else the kernel's last word on the test.
            failure_message_in(&diagnostics).or_else(|| {
                diagnostics
                    .iter()
                    .rev()
                    .find(|line| !format!("# {line}").starts_with(conventions::DURATION_NS))
                    .cloned()
            })
        });
        let backtrace = if failed { self.backtrace(&diagnostics) } else { Vec::new() };
        let outcome = Outcome {
            name,
            status,
            duration,
            message,
            diagnostics,
            excerpt: if failed { self.recent_lines() } else { Vec::new() },
            backtrace,
            attempts: 1,
            boot: self.boot,
        };
        // A retry's result joins the test's outcome rather than standing beside it.
        if self.retrying
            && let Some(earlier) = self.outcomes.iter_mut().find(|earlier| earlier.name == outcome.name)
        {
            earlier.attempts += 1;
            if let (Status::Failed(first), Status::Passed) = (&earlier.status, &outcome.status) {
                earlier.status = Status::Flaky(*first);
            }
            events.push(Event::Finished(earlier.clone()));
            return;
        }
        self.outcomes.push(outcome.clone());
        events.push(Event::Finished(outcome));
    }

    /// The failure's call chain from its `backtrace:` (and `fault: ..., pc`) diagnostics.
    fn backtrace(&self, diagnostics: &[String]) -> Vec<String> {
        let Some(addresses) = diagnostics.iter().find_map(|line| symbolize::parse_backtrace(line)) else {
            return Vec::new();
        };
        let pc = diagnostics.iter().find_map(|line| symbolize::parse_fault_pc(line));
        match self.symbolizer() {
            Some(symbolizer) => symbolizer.backtrace(pc, &addresses),
            None => pc.into_iter().chain(addresses).map(|address| format!("{address:#x}")).collect(),
        }
    }

    fn fail_running(&mut self, running: Running, default: Reason, message: Option<String>, events: &mut Vec<Event>) {
        let reason = failure_reason(&running.diagnostics).unwrap_or(default);
        self.push(running.name, Status::Failed(reason), running.diagnostics, message, events);
    }

    fn attach_trailing_diagnostics(&mut self) {
        let loose = std::mem::take(&mut self.loose_diagnostics);
        if !loose.is_empty() {
            self.attach_to_last(loose);
        }
    }

    fn attach_to_last(&mut self, lines: Vec<String>) {
        if let Some(last) = self.outcomes.last_mut() {
            if last.message.is_none() && matches!(last.status, Status::Failed(_)) {
                last.message = failure_message_in(&lines);
                if let Some(reason) = failure_reason(&lines) {
                    last.status = Status::Failed(reason);
                }
            }
            last.diagnostics.extend(lines);
        }
    }

    /// The boot ended; decides what the runner does next.
    pub fn end_boot(&mut self, end: BootEnd) -> (Vec<Event>, Next) {
        let mut events = Vec::new();
        for item in self.parser.finish() {
            // Plan mismatches of a boot that a crash cut short are expected; keep the rest.
            if !matches!(item, Item::Finding(ktap::Finding { kind: ktap::FindingKind::PlanMismatch { .. }, .. })) {
                self.item(item, &mut events);
            }
        }
        if let Some(running) = self.running.take() {
            let name = running.name.clone();
            let (reason, message) = match end {
                BootEnd::TimedOut { seconds } => {
                    (Reason::Timeout, format!("timed out after {seconds} s; QEMU was ended"))
                }
                BootEnd::Interrupted { signal } => {
                    self.problem(format!("interrupted by signal {signal} while `{name}` was running"));
                    self.running = None;
                    return (events, Next::Stop);
                }
                BootEnd::Exited(exit) => (Reason::Crash, format!("the boot ended before the test's verdict: {exit}")),
                BootEnd::StreamEnded => (Reason::Crash, "the log ends before the test's verdict".to_string()),
            };
            let message = failure_message_in(&running.diagnostics).unwrap_or(message);
            self.fail_running(running, reason, Some(message), &mut events);
            return (events, Next::ResumeAfter(name));
        }
        self.attach_trailing_diagnostics();
        let next = match (self.planned, end) {
            (_, BootEnd::Interrupted { signal }) => {
                self.problem(format!("interrupted by signal {signal}"));
                Next::Stop
            }
            (Some(planned), _) if self.results_this_boot >= planned => {
                self.cross_check_complete(end);
                Next::Complete
            }
            (Some(_), BootEnd::TimedOut { seconds }) => {
                self.problem(format!("no progress for {seconds} s between tests; QEMU was ended"));
                self.resume_or_stop()
            }
            (Some(_), BootEnd::Exited(KernelExit::Kernel(ExitCode::TestCrashed))) => self.resume_or_stop(),
            (Some(planned), end) => {
                let message = format!(
                    "the kernel stopped after {} of {planned} test(s) without announcing the next ({})",
                    self.results_this_boot,
                    describe(end)
                );
                // Killed from outside between tests: nothing the kernel did; resume.
                if matches!(end, BootEnd::Exited(KernelExit::Signal(_))) {
                    self.note(message)
                } else {
                    self.problem(message)
                }
                self.resume_or_stop()
            }
            (None, end) => {
                let message = format!("the kernel never started its tests (no KTAP plan): {}", describe(end));
                // QEMU ended by a signal is never the kernel's doing: a boot lost that way is
                // tried once more from the same point.
                if self.lost_boots_in_a_row == 0 && matches!(end, BootEnd::Exited(KernelExit::Signal(_))) {
                    self.lost_boots_in_a_row += 1;
                    self.note(format!("{message}; booting again from the same point"));
                    Next::RetrySameBoot
                } else {
                    self.problem(message);
                    Next::Stop
                }
            }
        };
        (events, next)
    }

    fn note(&mut self, message: String) {
        self.notes.push(Problem { boot: self.boot, message, excerpt: self.recent_lines() });
    }

    /// After a boot that ended early: resume after its last result; a boot with none is
    /// tried once more from the same point, and a second one stops the arch.
    fn resume_or_stop(&mut self) -> Next {
        match &self.last_result_this_boot {
            Some(name) => {
                self.lost_boots_in_a_row = 0;
                Next::ResumeAfter(name.clone())
            }
            None if self.lost_boots_in_a_row == 0 => {
                self.lost_boots_in_a_row += 1;
                Next::RetrySameBoot
            }
            None => Next::Stop,
        }
    }

    /// Every test reported: the exit status must agree.
    fn cross_check_complete(&mut self, end: BootEnd) {
        let any_failed = self
            .outcomes
            .iter()
            .any(|outcome| outcome.boot == self.boot && matches!(outcome.status, Status::Failed(_)));
        let expected = if any_failed { ExitCode::TestsFailed } else { ExitCode::Success };
        match end {
            BootEnd::Exited(KernelExit::Kernel(code)) if code == expected => {}
            // The last test ended the boot after printing its verdict (a `should_panic` test).
            BootEnd::Exited(KernelExit::Kernel(ExitCode::TestCrashed)) => {}
            BootEnd::StreamEnded => {}
            other => self.problem(format!(
                "every test reported, but the boot ended unexpectedly ({}; expected the kernel's {expected:?} exit)",
                describe(other)
            )),
        }
    }

    fn problem(&mut self, message: String) {
        self.problems.push(Problem { boot: self.boot, message, excerpt: self.recent_lines() });
    }

    /// The run is over: every planned test without an outcome is recorded as not run,
    /// because of `why` (an interruption, a boot that could not go on).
    pub fn finish_run(&mut self, why: &str) -> Vec<Event> {
        let done: std::collections::BTreeSet<&str> = self.outcomes.iter().map(|o| o.name.as_str()).collect();
        let missing: Vec<String> =
            self.planned_names.iter().filter(|name| !done.contains(name.as_str())).cloned().collect();
        let mut events = Vec::new();
        for name in missing {
            self.push(name, Status::NotRun(why.to_string()), Vec::new(), None, &mut events);
        }
        events
    }

    /// Records a problem found outside the stream (QEMU's own error output, say).
    pub fn add_problem(&mut self, message: String) {
        self.problem(message);
    }
}

fn describe(end: BootEnd) -> String {
    match end {
        BootEnd::Exited(exit) => exit.to_string(),
        BootEnd::TimedOut { seconds } => format!("no output for {seconds} s; QEMU was ended"),
        BootEnd::Interrupted { signal } => format!("interrupted by signal {signal}"),
        BootEnd::StreamEnded => "the log ends there".to_string(),
    }
}

/// What explains a failure: a panic or fault diagnostic and the lines that continue it (a
/// multi-line panic message), up to the next line of the runner's own conventions.
fn failure_message_in(diagnostics: &[String]) -> Option<String> {
    let (start, first) =
        diagnostics.iter().enumerate().find_map(|(index, line)| Some((index, failure_message(line)?)))?;
    let continuation = diagnostics[start + 1..].iter().take_while(|line| !is_convention(line));
    Some(std::iter::once(first.as_str()).chain(continuation.map(String::as_str)).collect::<Vec<_>>().join("\n"))
}

/// A diagnostic the kernel's runner writes itself (not part of a panic message).
fn is_convention(line: &str) -> bool {
    let marked = format!("# {line}");
    let prefixes = [
        conventions::START,
        conventions::DURATION_NS,
        conventions::PANICKED_AT,
        conventions::FAULT,
        conventions::BACKTRACE,
        conventions::REGISTERS,
    ];
    prefixes.iter().any(|prefix| marked.starts_with(prefix))
        || ["test did not panic", "panic message did not contain", "expected a panic"]
            .iter()
            .any(|runner_note| line.starts_with(runner_note))
}

/// The line that explains a failure: a panic or a fault diagnostic.
fn failure_message(line: &str) -> Option<String> {
    if let Some((_, message)) = harness_statement(line) {
        return Some(message.to_string());
    }
    let marked = format!("# {line}");
    (marked.starts_with(conventions::PANICKED_AT) || marked.starts_with(conventions::FAULT)).then(|| line.to_string())
}

fn failure_reason(diagnostics: &[String]) -> Option<Reason> {
    diagnostics.iter().find_map(|line| {
        let marked = format!("# {line}");
        if marked.starts_with(conventions::PANICKED_AT) {
            Some(Reason::Panic)
        } else if marked.starts_with(conventions::FAULT) {
            Some(Reason::Fault)
        } else {
            harness_statement(line).map(|(reason, _)| reason)
        }
    })
}

/// `xtask: timeout: MESSAGE` or `xtask: crash: MESSAGE`: the harness's statement of a
/// failure the kernel could not report (in a merged `<arch>.ktap`).
fn harness_statement(line: &str) -> Option<(Reason, &str)> {
    let statement = format!("# {line}");
    let rest = statement.strip_prefix(MARKER)?;
    [Reason::Timeout, Reason::Crash].into_iter().find_map(|reason| {
        let message = rest.strip_prefix(reason.as_str())?.strip_prefix(": ")?;
        Some((reason, &line[line.len() - message.len()..]))
    })
}

/// The `-kernel PATH` of a QEMU command line as the markers record it.
fn kernel_path(command: &str) -> Option<&str> {
    let mut words = command.split_whitespace();
    words.find(|word| *word == "-kernel")?;
    words.next().map(|path| path.trim_matches('\''))
}

/// A harness marker line: the start or the end of a boot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Marker {
    BootStarted { boot: u32, command: String },
    BootEnded { boot: u32, end: BootEnd },
}

impl fmt::Display for Marker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Marker::BootStarted { boot, command } => write!(f, "{MARKER}boot {boot}: {command}"),
            Marker::BootEnded { boot, end } => {
                write!(f, "{MARKER}boot {boot} ended: ")?;
                match end {
                    BootEnd::Exited(KernelExit::Kernel(code)) => {
                        write!(f, "exit kernel {}", code.code())
                    }
                    BootEnd::Exited(KernelExit::Other(status)) => write!(f, "exit status {status}"),
                    BootEnd::Exited(KernelExit::Signal(signal)) => {
                        write!(f, "exit signal {signal}")
                    }
                    BootEnd::TimedOut { seconds } => write!(f, "timeout {seconds}"),
                    BootEnd::Interrupted { signal } => write!(f, "interrupted {signal}"),
                    BootEnd::StreamEnded => write!(f, "unknown"),
                }
            }
        }
    }
}

impl Marker {
    /// Reads a marker line back (None for any other line).
    pub fn parse(line: &str) -> Option<Marker> {
        let rest = line.strip_prefix(MARKER)?.strip_prefix("boot ")?;
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let boot = rest[..digits].parse().ok()?;
        let rest = &rest[digits..];
        if let Some(command) = rest.strip_prefix(": ") {
            return Some(Marker::BootStarted { boot, command: command.to_string() });
        }
        let words: Vec<&str> = rest.strip_prefix(" ended: ")?.split_whitespace().collect();
        let number = |word: Option<&&str>| word.and_then(|word| word.parse::<i64>().ok());
        let end = match words.as_slice() {
            ["exit", "kernel", code] => BootEnd::Exited(KernelExit::Kernel(ExitCode::from_code(code.parse().ok()?)?)),
            ["exit", "status", _] => BootEnd::Exited(KernelExit::Other(number(words.get(2))?.try_into().ok()?)),
            ["exit", "signal", _] => BootEnd::Exited(KernelExit::Signal(number(words.get(2))?.try_into().ok()?)),
            ["timeout", _] => BootEnd::TimedOut { seconds: number(words.get(1))?.try_into().ok()? },
            ["interrupted", _] => BootEnd::Interrupted { signal: number(words.get(1))?.try_into().ok()? },
            _ => BootEnd::StreamEnded,
        };
        Some(Marker::BootEnded { boot, end })
    }
}

#[cfg(test)]
mod tests;

/// Replays a saved serial log (with or without harness markers) through a fresh session:
/// the verdicts `cargo xtask report` prints. With `source_root`, backtraces are symbolized
/// from the kernel image the log's boot markers name, if it is still there.
pub fn replay(bytes: &[u8], source_root: Option<&std::path::Path>) -> Session {
    let mut session = Session::new();
    let mut splitter = crate::serial::LineSplitter::default();
    let mut lines = splitter.push(bytes);
    lines.extend(splitter.finish());
    let mut boot_open = false;
    for line in &lines {
        match Marker::parse(&line.text()) {
            Some(Marker::BootStarted { boot, command }) => {
                if let (None, Some(root), Some(kernel)) = (&session.symbols, source_root, kernel_path(&command)) {
                    session.symbols = Some((kernel.into(), root.to_path_buf()));
                }
                if boot_open {
                    session.end_boot(BootEnd::StreamEnded);
                }
                session.begin_boot(boot, command.contains(&format!("{}=", kernel_abi::cmdline::ATTEMPT)));
                boot_open = true;
            }
            Some(Marker::BootEnded { end, .. }) => {
                session.end_boot(end);
                boot_open = false;
            }
            None => {
                if !boot_open {
                    session.begin_boot(session.boot() + 1, false);
                    boot_open = true;
                }
                session.line(line);
            }
        }
    }
    if boot_open {
        session.end_boot(BootEnd::StreamEnded);
    }
    session
}
