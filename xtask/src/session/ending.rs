//! What the end of a boot and the end of a run decide: the verdict of a test the boot cut
//! short, whether to boot again (and from where), what the exit status says, and which
//! planned tests never ran.

use super::{Next, Session};
use crate::events::DiagnosticKind;
use crate::events::{BootEnd, Event, Reason, Severity, Verdict};
use crate::exit::KernelExit;
use kernel_abi::ExitCode;
use ktap::{FindingKind, Item};
use std::time::Duration;

impl Session {
    /// The boot ended (`test_time`: how long the running test had run, by the harness's
    /// clock): decides the running test's verdict and what the runner does next.
    pub(super) fn end_boot(&mut self, end: BootEnd, test_time: Option<Duration>, events: &mut Vec<Event>) {
        self.boot_open = false;
        let findings = self.parser.finish();
        if self.reading_merged {
            return; // a merged document's records are its events
        }
        let running = self.running.take();
        let cut_now = u64::from(running.is_some());
        for item in findings {
            let Item::Finding(finding) = item else { continue };
            if let FindingKind::PlanMismatch { depth, planned, seen } = finding.kind
                && seen < planned
            {
                let missing = planned - seen;
                if depth > 0 {
                    self.unreported = self.unreported.saturating_add(missing);
                } else {
                    // The document was cut short: the harness says what that means (a crash,
                    // tests not run) instead of repeating the count.
                    if !self.plan_named {
                        let explained = self.crashes_this_boot.saturating_add(cut_now);
                        self.unreported = self.unreported.saturating_add(missing.saturating_sub(explained));
                    }
                    continue;
                }
            }
            self.finding(finding, events);
        }
        self.send_plan(events);
        let boot = self.boot;
        if let Some(running) = running {
            let name = running.name.clone();
            let (reason, message, duration) = match end {
                BootEnd::TimedOut { seconds } => {
                    // In a test of several CPUs, the ones CPU 0 still waited for are where it hangs.
                    let cpus = super::conventions::cpus_still_running(&running.diagnostics);
                    let on = cpus.map_or(String::new(), |cpus| {
                        let plural = if cpus.contains(' ') { "s" } else { "" };
                        format!(" with CPU{plural} {cpus} still in the test")
                    });
                    (
                        Reason::Timeout,
                        format!("timed out after {seconds} s{on}; QEMU was ended"),
                        Some(Duration::from_secs(seconds)),
                    )
                }
                BootEnd::Interrupted { signal } => {
                    let kind = DiagnosticKind::Interrupted { signal, running: Some(name) };
                    self.diagnose(Severity::Problem, kind, false, events);
                    self.interrupted_noted = true;
                    self.next = Next::Stop;
                    events.push(Event::BootEnded { boot, end });
                    return;
                }
                BootEnd::Exited(exit) => {
                    (Reason::Crash, format!("the boot ended before the test's verdict: {exit}"), test_time)
                }
                BootEnd::StreamEnded => (Reason::Crash, "the log ends before the test's verdict".into(), test_time),
                // Stopped mid-test by `--fail-fast`: the test has no verdict of its own, and
                // the run's end reports it as not run.
                BootEnd::Stopped => {
                    self.next = Next::Stop;
                    events.push(Event::BootEnded { boot, end });
                    return;
                }
            };
            self.fail_running(running, reason, Some(message), duration, events);
            self.next = self.resume_after(name, events);
            events.push(Event::BootEnded { boot, end });
            return;
        }
        let loose = std::mem::take(&mut self.loose);
        self.attach_to_pending(loose);
        self.flush_pending(events);
        self.next = match (self.planned, end) {
            (_, BootEnd::Interrupted { signal }) => {
                self.diagnose(Severity::Problem, DiagnosticKind::Interrupted { signal, running: None }, false, events);
                self.interrupted_noted = true;
                Next::Stop
            }
            // `--fail-fast` ended the boot after a verdict: the runner decides whether to go on
            // (a retry of the failure may pass), from after the last result.
            (Some(planned), BootEnd::Stopped) if self.results_this_boot >= planned => Next::Complete,
            (_, BootEnd::Stopped) => match self.last_result_this_boot.clone() {
                Some(name) => self.resume_after(name, events),
                None => Next::Stop,
            },
            (Some(planned), _) if self.results_this_boot >= planned => {
                self.cross_check_complete(end, events);
                Next::Complete
            }
            (Some(_), BootEnd::TimedOut { seconds }) => {
                self.diagnose(Severity::Problem, DiagnosticKind::NoProgress { seconds }, true, events);
                self.resume_or_stop(events)
            }
            (Some(_), BootEnd::Exited(KernelExit::Kernel(ExitCode::TestCrashed))) => self.resume_or_stop(events),
            (Some(planned), end) => {
                let kind = DiagnosticKind::StoppedEarly { results: self.results_this_boot, planned, end };
                // Killed from outside between tests: nothing the kernel did; resume.
                let severity = match end {
                    BootEnd::Exited(KernelExit::Signal(_)) => Severity::Note,
                    _ => Severity::Problem,
                };
                self.diagnose(severity, kind, true, events);
                self.resume_or_stop(events)
            }
            (None, end) => {
                // QEMU ended by a signal is never the kernel's doing: a boot lost that way is
                // tried once more from the same point.
                let outside = matches!(end, BootEnd::Exited(KernelExit::Signal(_)));
                let trying_again = self.lost_boots_in_a_row == 0 && outside;
                let severity = if trying_again { Severity::Note } else { Severity::Problem };
                self.diagnose(severity, DiagnosticKind::NeverStarted { end, trying_again }, true, events);
                if trying_again {
                    self.lost_boots_in_a_row += 1;
                    Next::RetrySameBoot
                } else {
                    Next::Stop
                }
            }
        };
        events.push(Event::BootEnded { boot, end });
    }

    /// Resume after `name`, unless that would repeat the last boot (no progress).
    fn resume_after(&mut self, name: String, events: &mut Vec<Event>) -> Next {
        if self.retrying {
            return Next::ResumeAfter(name); // a retry boot runs one test; nothing to resume
        }
        if self.resume_point.as_deref().is_some_and(|previous| !self.runs_after(&name, previous)) {
            self.diagnose(Severity::Problem, DiagnosticKind::ResumeLoop { after: name }, false, events);
            return Next::Stop;
        }
        self.resume_point = Some(name.clone());
        Next::ResumeAfter(name)
    }

    /// Whether `name` comes after `previous` in the order the kernel runs them: the order
    /// of its plan (a lane's `ktest.late` moves tests out of name order), or name order
    /// for a test not in it.
    fn runs_after(&self, name: &str, previous: &str) -> bool {
        let position = |test: &str| self.planned_names.iter().position(|planned| planned == test);
        match (position(name), position(previous)) {
            (Some(at), Some(before)) => at > before,
            _ => name > previous,
        }
    }

    /// After a boot that ended early: resume after its last result; a boot with none is
    /// tried once more from the same point, and a second one stops the arch.
    fn resume_or_stop(&mut self, events: &mut Vec<Event>) -> Next {
        match self.last_result_this_boot.clone() {
            Some(name) => {
                self.lost_boots_in_a_row = 0;
                self.resume_after(name, events)
            }
            None if self.lost_boots_in_a_row == 0 => {
                self.lost_boots_in_a_row += 1;
                Next::RetrySameBoot
            }
            None => Next::Stop,
        }
    }

    /// Every test reported: the exit status must agree.
    fn cross_check_complete(&mut self, end: BootEnd, events: &mut Vec<Event>) {
        let expected = if self.failed_this_boot { ExitCode::TestsFailed } else { ExitCode::Success };
        match end {
            BootEnd::Exited(KernelExit::Kernel(code)) if code == expected => {}
            // The last test ended the boot after printing its verdict (a `should_panic` test).
            BootEnd::Exited(KernelExit::Kernel(ExitCode::TestCrashed)) => {}
            BootEnd::StreamEnded => {}
            other => {
                self.diagnose(Severity::Problem, DiagnosticKind::ExitMismatch { end: other, expected }, true, events)
            }
        }
    }

    /// The run is over: every planned test without a verdict is recorded as not run.
    pub(super) fn finish(
        &mut self,
        boots: u32,
        wall_time: Option<Duration>,
        interrupted: Option<i32>,
        events: &mut Vec<Event>,
    ) {
        if self.finished {
            return;
        }
        self.finished = true;
        let loose = std::mem::take(&mut self.loose);
        self.attach_to_pending(loose);
        self.flush_pending(events);
        if let Some(signal) = interrupted
            && !self.interrupted_noted
        {
            self.diagnose(Severity::Problem, DiagnosticKind::Interrupted { signal, running: None }, false, events);
        }
        let why = match (interrupted, &self.fail_fast, &self.last_problem) {
            (Some(signal), _, _) => format!("the run was interrupted by signal {signal}"),
            (None, Some(failed), _) => format!("--fail-fast: the run stopped after `{failed}` failed"),
            (None, None, Some(problem)) => format!("the run stopped: {problem}"),
            (None, None, None) => "the kernel never ran it".to_string(),
        };
        let missing: Vec<String> =
            self.planned_names.iter().filter(|name| !self.attempts.contains_key(*name)).cloned().collect();
        for name in missing {
            let attempt = self.attempt(name, Verdict::NotRun(why.clone()), Vec::new(), Vec::new(), None, None);
            self.emit(attempt, events);
        }
        if self.unreported > 0 {
            events.push(Event::Unreported { count: self.unreported, why });
        }
        events.push(Event::Finished { boots, wall_time, interrupted });
    }
}
