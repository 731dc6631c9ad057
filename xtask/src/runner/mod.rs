//! Runs a test image on one architecture, boot after boot, until every selected test has a
//! verdict; `parallel` runs several architectures at once and reports them.
//!
//! Each boot is one QEMU (`boot`). Its serial lines go to the arch's log (`serial_log`) and
//! through the [`Session`], and so do the markers the runner writes around them (a boot's
//! command and end, QEMU's complaints, the run's end): the session turns both into the
//! event stream, and the log holds everything a replay needs to give the same events.

mod boot;
mod list;
pub mod parallel;
mod request;
mod serial_log;

use crate::arch::Arch;
use crate::events::{BootEnd, Event};
use crate::exit::KernelExit;
use crate::qemu::{GdbServer, Launch};
use crate::session::marker::{Marker, to_millis};
use crate::session::{Next, Session};
use anyhow::Result;
pub use boot::{Deadline, Ended, boot};
pub use list::{Listed, list_tests};
pub use request::LaneTests;
use request::{Purpose, launch};
pub use request::{list_request_line, single_test_request_line};
use serial_log::SerialLog;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// What every arch's run shares.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub filters: Vec<String>,
    /// `-p/--package`: only these crates' tests (all crates in the image if empty).
    pub packages: Vec<String>,
    pub exact: bool,
    /// `#[ktest(ignore)]` tests run too (`ktest.ignored`; libtest's `--include-ignored`).
    pub include_ignored: bool,
    /// Default per-test timeout (a test's own `timeout` overrides it); None: no timeout.
    pub timeout: Option<Duration>,
    pub machine: Option<String>,
    pub extra_qemu_args: Vec<String>,
    /// `--debug-failures`: a failed test stops the kernel for this debugger.
    pub debug_failures: Option<DebugFailures>,
    /// Where the kernel's sources are, for backtraces (paths relative to its root, frames up
    /// to its entry symbol).
    pub sources: crate::session::Sources,
    /// `--partition`: run one slice of the selected tests.
    pub partition: Option<kernel_abi::partition::Partition>,
    /// `--retries`: how many times a failed test is run again.
    pub retries: u32,
    /// `--coverage`: every boot's counters go here.
    pub coverage: Option<std::sync::Arc<crate::coverage::Collector>>,
    /// `--fail-fast`: an arch stops at its first failure (after that test's retries).
    pub fail_fast: bool,
    /// `--record`: every boot recorded, in this run directory (`record/`).
    pub record_boots: Option<PathBuf>,
}

/// How `--debug-failures` lets a person attach to a stopped kernel.
#[derive(Clone, Debug)]
pub struct DebugFailures {
    /// The debugger named in the attach command.
    pub gdb: PathBuf,
    /// Where the attach scripts go (the run directory).
    pub script_dir: PathBuf,
    /// Where the sources are, for the attach script.
    pub sources: crate::debugger::SourcePaths,
}

/// Everything needed to boot one arch's test image.
pub struct Target<'a> {
    pub arch: &'a Arch,
    pub qemu_binary: PathBuf,
    pub image: &'a Path,
}

/// The least a test or list boot gets for its first serial line, whatever `--timeout` says:
/// QEMU's start, the firmware, and a coverage probe attaching to a paused QEMU are not a
/// test's time (under load, a coverage boot with `--timeout 3` once printed nothing for 3 s).
/// From the first line on, the deadline is the timeout.
pub const FIRST_LINE_ALLOWANCE: Duration = Duration::from_secs(10);

/// The deadline for a boot's first line.
fn first_line_deadline(timeout: Option<Duration>) -> Deadline {
    timeout.map_or(Deadline::Never, |timeout| Deadline::After(timeout.max(FIRST_LINE_ALLOWANCE)))
}

/// One lane of an arch's run in progress (the whole arch's run when it is not split).
struct ArchRunner<'a, 't, S: Fn(Vec<Event>)> {
    target: &'a Target<'t>,
    options: &'a RunOptions,
    /// The lane's tests, if the arch is split.
    tests: LaneTests<'a>,
    log: SerialLog,
    session: Session,
    /// Boots of this lane.
    boots: u32,
    /// The arch's boot counter, shared by its lanes so that boot numbers are unique.
    arch_boots: &'a AtomicU32,
    /// `--fail-fast`: the test whose failure stopped the arch, shared by its lanes.
    stopped_by: &'a Mutex<Option<String>>,
    /// Where the events go, a batch at a time (a read of the serial pipe's worth, or a
    /// marker's): the reporters' thread wakes once per batch, not once per event.
    send: S,
    /// The tests that ran in this boot, in order (for coverage's per-test share).
    ran: Vec<String>,
}

impl<S: Fn(Vec<Event>)> ArchRunner<'_, '_, S> {
    /// Writes a marker to the log and reads it into the session.
    fn mark(&mut self, marker: Marker) -> Result<()> {
        self.log.marker(&marker)?;
        let events = self.session.marker(&marker);
        events.iter().for_each(|event| note_ran(&mut self.ran, event));
        (self.send)(events);
        Ok(())
    }

    /// One boot, start to end, through the session.
    fn boot(&mut self, purpose: Purpose<'_>) -> Result<()> {
        self.boots += 1;
        let boot = self.arch_boots.fetch_add(1, Ordering::Relaxed) + 1;
        let mut launch = launch(self.target, self.options, purpose, boot, self.tests)?;
        let mut recorder = match &self.options.record_boots {
            Some(run_dir) => Some(crate::record::boots::BootRecorder::start(run_dir, &self.target.arch.name, boot)?),
            None => None,
        };
        let record_dir = recorder.as_ref().map(|recorder| recorder.dir().to_path_buf());
        launch.record = record_dir.as_deref().map(|dir| (crate::record::args::Mode::Record, dir));
        let port = launch.gdb.map(GdbServer::port);
        let marker = Marker::BootStarted { boot, command: launch.display() };
        let default = match self.options.timeout {
            Some(timeout) => Deadline::After(timeout),
            None => Deadline::Never,
        };
        let mut test_started: Option<Instant> = None;
        let watch = match (&self.options.coverage, launch.gdb) {
            (Some(coverage), Some(GdbServer::Qemu { port, paused: true })) => {
                crate::coverage::BootWatch::start(coverage, &self.target.arch.name, port)
            }
            _ => None,
        };
        self.ran.clear();
        let (log, session, send, options) = (&mut self.log, &mut self.session, &self.send, self.options);
        let stopped_by = self.stopped_by;
        let ran = &mut self.ran;
        log.marker(&marker)?;
        send(session.marker(&marker));
        // The events of the lines read so far, sent when the loop waits for more.
        let pending = std::cell::RefCell::new(Vec::new());
        let flush = || {
            let events = std::mem::take(&mut *pending.borrow_mut());
            if !events.is_empty() {
                send(events);
            }
        };
        let on_timeout = || watch.as_ref().inspect(|watch| watch.hang()).map_or((), |_| ());
        let ended = boot::boot_watched(
            &launch,
            first_line_deadline(self.options.timeout),
            |line| {
                if let Some(recorder) = recorder.as_mut() {
                    recorder.line(&line);
                }
                if log.line(&line)? {
                    let capped = Marker::LogCapped { mib: serial_log::CAP >> 20 };
                    log.marker(&capped)?;
                    pending.borrow_mut().extend(session.marker(&capped));
                }
                let mut deadline = Deadline::Keep;
                for event in session.line(&line) {
                    match &event {
                        Event::TestStarted { timeout_secs, .. } => {
                            test_started = Some(Instant::now());
                            deadline = timeout_secs.map_or(default, |secs| Deadline::After(Duration::from_secs(secs)));
                        }
                        Event::StoppedForDebugger { test, .. } => {
                            if let (Some(debug), Some(port)) = (&options.debug_failures, port) {
                                log.flush()?;
                                deadline = Deadline::Never;
                                let command = attach_command(debug, &launch, port, test)?;
                                pending.borrow_mut().push(Event::DebugAttach { test: test.clone(), command });
                            }
                        }
                        _ => {}
                    }
                    note_ran(ran, &event);
                    pending.borrow_mut().push(event);
                }
                // The test's verdict arrived (its result may be held for trailing diagnostics).
                if test_started.is_some() && !session.test_running() {
                    test_started = None;
                    deadline = default;
                }
                // Between tests a line is progress: the deadline is "no output for N s", so a
                // plan of ten thousand names printed on a slow serial line never times out.
                if test_started.is_none() && !session.test_running() && deadline == Deadline::Keep {
                    deadline = default;
                }
                // `--fail-fast`: between tests, after a failure here or in a sibling lane.
                if options.fail_fast
                    && !session.test_running()
                    && (session.failure_pending() || lock(stopped_by).is_some())
                {
                    deadline = Deadline::StopNow;
                }
                Ok(deadline)
            },
            flush,
            on_timeout,
        )?;
        flush();
        // After a kernel exit QEMU has nothing to add; after our own kill it only says so.
        if !ended.stderr.is_empty()
            && matches!(ended.end, BootEnd::Exited(KernelExit::Other(_) | KernelExit::Signal(_)))
        {
            self.mark(Marker::QemuSaid { boot, text: ended.stderr.clone() })?;
        }
        let test_time = test_started.map(|started| to_millis(started.elapsed()));
        self.mark(Marker::BootEnded { boot, end: ended.end, test_time })?;
        self.log.flush()?;
        if let Some(recorder) = recorder {
            recorder.finish(&launch, ended.end, self.options.sources.clone())?;
        }
        if let Some(watch) = watch {
            let ended_by_test = !matches!(
                ended.end,
                BootEnd::Exited(KernelExit::Kernel(kernel_abi::ExitCode::Success | kernel_abi::ExitCode::TestsFailed))
            );
            watch.finish(boot, &self.ran, ended_by_test);
        }
        Ok(())
    }

    /// Boots until every test has a verdict, then re-runs each failed test up to
    /// `retries` times. With `--fail-fast` a failure is retried at once, and one that still
    /// fails stops the arch (every lane of it).
    fn run(&mut self) -> Result<()> {
        let mut after: Option<String> = None;
        loop {
            if crate::process::interrupted().is_some() {
                break; // an interrupted run starts no new boot
            }
            if let Some(failed) = self.fail_fast_stop() {
                return self.mark(Marker::FailFast { after: failed });
            }
            self.boot(Purpose::Run { after: after.as_deref() })?;
            let next = self.session.next().clone();
            if self.options.fail_fast {
                self.retry_failures()?;
                if let Some(failed) = self.session.failing_tests().into_iter().next() {
                    lock(self.stopped_by).get_or_insert(failed);
                    continue; // stops at the top, naming the first failure of the arch
                }
            }
            match next {
                Next::Complete | Next::Stop => break,
                Next::RetrySameBoot => {}
                Next::ResumeAfter(name) => after = Some(name),
            }
        }
        self.retry_failures()
    }

    /// Re-runs each failing test up to `retries` times, until it passes.
    fn retry_failures(&mut self) -> Result<()> {
        for test in self.session.failing_tests() {
            for attempt in self.session.attempts_of(&test)..=self.options.retries {
                if crate::process::interrupted().is_some() || !self.session.is_failing(&test) {
                    break;
                }
                self.boot(Purpose::Retry { test: &test, attempt })?;
            }
        }
        Ok(())
    }

    /// `--fail-fast`: the failure that stopped this arch, if one did.
    fn fail_fast_stop(&self) -> Option<String> {
        if !self.options.fail_fast {
            return None;
        }
        lock(self.stopped_by).clone()
    }
}

/// The lock, even if a lane panicked holding it (the name inside is still whole).
fn lock(stopped_by: &Mutex<Option<String>>) -> std::sync::MutexGuard<'_, Option<String>> {
    stopped_by.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One lane of an arch's run: which of how many, and its tests.
#[derive(Clone, Copy, Debug)]
pub struct LaneRun<'a> {
    pub number: u32,
    pub of: u32,
    /// Its tests (none named: every selected test).
    pub tests: LaneTests<'a>,
    /// The arch's boot counter, shared by its lanes.
    pub boots: &'a AtomicU32,
    /// `--fail-fast`: the failure that stopped the arch, shared by its lanes.
    pub stopped_by: &'a Mutex<Option<String>>,
}

/// Runs the selected tests of `target` (of one lane of it), writing its serial log at
/// `log_path` and sending every event to `send`, in order, in batches. A harness error is
/// reported for this arch alone (an `Error` diagnostic) and ends only this lane's run; the
/// last event is always `Finished`.
pub fn run_arch(
    target: &Target<'_>,
    lane: LaneRun<'_>,
    options: &RunOptions,
    log_path: &Path,
    send: impl Fn(Vec<Event>),
) -> Result<()> {
    let started = Instant::now();
    let log = SerialLog::create(log_path)?;
    let session = Session::new(options.sources.clone());
    let mut runner = ArchRunner {
        target,
        options,
        tests: lane.tests,
        log,
        session,
        boots: 0,
        arch_boots: lane.boots,
        stopped_by: lane.stopped_by,
        send,
        ran: Vec::new(),
    };
    let lane_marker = (lane.of > 1).then_some((lane.number, lane.of));
    runner.mark(Marker::Arch { arch: target.arch.name.clone(), serial_log: None, lane: lane_marker })?;
    if let Err(error) = runner.run() {
        runner.mark(Marker::HarnessError { message: format!("{error:#}") })?;
    }
    let wall_time = Some(to_millis(started.elapsed()));
    runner.mark(Marker::Finished { boots: runner.boots, wall_time, interrupted: crate::process::interrupted() })?;
    runner.log.flush()?;
    Ok(())
}

/// Remembers a test that ran in this boot (a verdict of its own: not a skip, not "not run").
fn note_ran(ran: &mut Vec<String>, event: &Event) {
    if let Event::AttemptFinished(attempt) = event
        && matches!(attempt.verdict, crate::events::Verdict::Passed | crate::events::Verdict::Failed(_))
    {
        ran.push(attempt.name.clone());
    }
}

/// Writes the gdb script that attaches to the stopped kernel at the failed test's frame,
/// and returns the one command that runs it.
fn attach_command(debug: &DebugFailures, launch: &Launch<'_>, port: u16, test: &str) -> Result<String> {
    // The name came from the serial line: only safe characters reach a file name.
    let file_name: String = test.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' }).collect();
    let script = debug.script_dir.join(format!("{}-{file_name}.gdb", launch.arch.name));
    crate::fsutil::write_atomically(
        &script,
        crate::debugger::debug_failure_script(&debug.sources, port, test).as_bytes(),
    )?;
    let words = [
        debug.gdb.display().to_string(),
        "-q".into(),
        launch.kernel.display().to_string(),
        "-x".into(),
        script.display().to_string(),
    ];
    Ok(words.iter().map(|word| crate::qemu::shell_quote(word)).collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_boots_first_line_gets_at_least_the_allowance_and_a_longer_timeout_stands() {
        assert_eq!(first_line_deadline(None), Deadline::Never);
        assert_eq!(first_line_deadline(Some(Duration::from_secs(3))), Deadline::After(FIRST_LINE_ALLOWANCE));
        assert_eq!(first_line_deadline(Some(Duration::from_secs(60))), Deadline::After(Duration::from_secs(60)));
    }
}
