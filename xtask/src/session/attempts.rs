//! Building a test's attempt: its number, duration, message, backtrace and excerpt; holding
//! the last one for diagnostics that trail its result; handing it out.

use super::conventions::{self, KernelLine};
use super::{Running, Session};
use crate::events::{Attempt, Event, Reason, Severity, Verdict};
use std::time::Duration;

impl Session {
    /// The verdict of the test that was running, decided from outside its own result line.
    pub(super) fn fail_running(
        &mut self,
        running: Running,
        default: Reason,
        message: Option<String>,
        duration: Option<Duration>,
        events: &mut Vec<Event>,
    ) {
        self.flush_pending(events);
        let reason = conventions::failure_reason(&running.diagnostics).unwrap_or(default);
        let message = conventions::failure_message(&running.diagnostics).or(message);
        self.crashes_this_boot = self.crashes_this_boot.saturating_add(1);
        let attempt = self.attempt(
            running.name,
            Verdict::Failed(reason),
            running.diagnostics,
            running.output.into(),
            message,
            duration,
        );
        self.emit(attempt, events);
    }

    /// Builds an attempt: its number, duration, message, backtrace and excerpt.
    pub(super) fn attempt(
        &mut self,
        name: String,
        verdict: Verdict,
        diagnostics: Vec<String>,
        output: Vec<String>,
        message: Option<String>,
        duration: Option<Duration>,
    ) -> Attempt {
        let number = self.attempts.get(&name).copied().unwrap_or(0).saturating_add(1);
        let kernel_duration = diagnostics.iter().find_map(|line| match KernelLine::read(line) {
            KernelLine::Duration(duration) => Some(duration),
            _ => None,
        });
        let failed = matches!(verdict, Verdict::Failed(_));
        let message = match &verdict {
            Verdict::Failed(_) => message.or_else(|| conventions::failure_message(&diagnostics)).or_else(|| {
                // Else the kernel's last word on the test.
                diagnostics
                    .iter()
                    .rev()
                    .find(|line| !matches!(KernelLine::read(line), KernelLine::Duration(_)))
                    .cloned()
            }),
            _ => None,
        };
        let backtrace = if failed { self.backtrace(&diagnostics) } else { Vec::new() };
        Attempt {
            name,
            number,
            boot: self.boot,
            verdict,
            duration: kernel_duration.or(duration),
            message,
            backtrace,
            diagnostics,
            // Kept for a pass too: libtest's `--nocapture`/`--show-output` shows it (most
            // tests print nothing, so a large suite's memory hardly grows).
            output,
            excerpt: if failed { self.recent_lines() } else { Vec::new() },
        }
    }

    pub(super) fn backtrace(&mut self, diagnostics: &[String]) -> Vec<String> {
        let mut pc = None;
        let mut addresses = None;
        for line in diagnostics {
            match KernelLine::read(line) {
                KernelLine::Fault { pc: fault_pc } if pc.is_none() => pc = fault_pc,
                KernelLine::Backtrace(found) if addresses.is_none() => addresses = Some(found),
                _ => {}
            }
        }
        let Some(addresses) = addresses else { return Vec::new() };
        let (frames, note) = self.symbols.backtrace(self.build_id.as_deref(), pc, &addresses);
        if let Some(kind) = note {
            // Said once per run: the image does not change within it.
            let mut events = Vec::new();
            self.diagnose(Severity::Note, kind, false, &mut events);
            self.deferred.extend(events);
        }
        frames
    }

    /// Trailing diagnostics of the held result (a failure reported after its `not ok`).
    pub(super) fn attach_to_pending(&mut self, lines: Vec<String>) {
        if lines.is_empty() {
            return;
        }
        let Some(mut attempt) = self.pending.take() else { return };
        if let Verdict::Failed(_) = attempt.verdict
            && attempt.message.is_none()
        {
            attempt.message = conventions::failure_message(&lines);
            if let Some(reason) = conventions::failure_reason(&lines) {
                attempt.verdict = Verdict::Failed(reason);
            }
        }
        attempt.diagnostics.extend(lines);
        let failed = matches!(attempt.verdict, Verdict::Failed(_));
        if failed && attempt.backtrace.is_empty() {
            attempt.backtrace = self.backtrace(&attempt.diagnostics);
        }
        self.pending = Some(attempt);
    }

    pub(super) fn flush_pending(&mut self, events: &mut Vec<Event>) {
        if let Some(attempt) = self.pending.take() {
            self.emit(attempt, events);
        }
    }

    /// Records an attempt as final and hands it out.
    pub(super) fn emit(&mut self, attempt: Attempt, events: &mut Vec<Event>) {
        events.append(&mut self.deferred);
        self.attempts.insert(attempt.name.clone(), attempt.number);
        self.failing.retain(|name| name != &attempt.name);
        if matches!(attempt.verdict, Verdict::Failed(_)) {
            self.failed_this_boot = true;
            self.failing.push(attempt.name.clone());
        }
        events.push(Event::AttemptFinished(attempt));
    }
}
