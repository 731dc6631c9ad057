//! libtest's JSON event lines (`--format json`), each with an `arch` field; nothing else on
//! stdout.

use super::Reporter;
use crate::events::{Event, Outcome, Severity, Status};
use crate::summary::{ArchSummary, RunSummary};
use serde_json::json;
use std::io::Write;

/// libtest's JSON lines, on stdout or into a file.
pub struct Json {
    /// Which tests have a `started` line without their result yet, per arch.
    started: std::collections::HashSet<(String, String)>,
    sink: Sink,
}

enum Sink {
    Stdout,
    /// Kept whole, written atomically when the run is over (`--json PATH`).
    File {
        path: std::path::PathBuf,
        lines: Vec<u8>,
    },
}

impl Json {
    pub fn to_stdout() -> Json {
        Json { started: Default::default(), sink: Sink::Stdout }
    }

    pub fn to_file(path: &std::path::Path) -> Json {
        Json { started: Default::default(), sink: Sink::File { path: path.to_path_buf(), lines: Vec::new() } }
    }

    /// One line: serialized straight into bytes (not through `Display`'s formatter), and
    /// written to stdout in one call.
    fn emit(&mut self, value: serde_json::Value) {
        match &mut self.sink {
            Sink::Stdout => {
                let mut line = serde_json::to_vec(&value).unwrap_or_default();
                line.push(b'\n');
                let _ = std::io::stdout().lock().write_all(&line);
            }
            Sink::File { lines, .. } => {
                let _ = serde_json::to_writer(&mut *lines, &value);
                lines.push(b'\n');
            }
        }
    }
}

/// The libtest JSON object for a test's outcome so far.
pub fn outcome_json(arch: &str, outcome: &Outcome) -> serde_json::Value {
    let status = outcome.status();
    let last = outcome.last();
    let event = match status {
        // A flaky test passed in the end; `"flaky": true` says it did not pass the first time.
        Status::Passed | Status::Flaky(_) => "ok",
        // A test that should have run and did not fails the run: never a skip.
        Status::Failed(_) | Status::NotRun(_) => "failed",
        Status::Ignored(_) => "ignored",
    };
    let mut value = json!({
        "type": "test",
        "event": event,
        "name": outcome.name,
        "arch": arch,
        "exec_time": last.duration.unwrap_or_default().as_secs_f64(),
    });
    let explaining = outcome.explaining_attempt();
    match &status {
        Status::Failed(reason) => {
            value["reason"] = json!(reason.as_str());
            value["message"] = json!(explaining.message.clone().unwrap_or_default());
            value["stdout"] = json!(explaining.output.join("\n"));
            value["diagnostics"] = json!(explaining.diagnostics);
            value["backtrace"] = json!(explaining.backtrace);
        }
        Status::Ignored(reason) => value["message"] = json!(reason),
        Status::Flaky(reason) => {
            value["flaky"] = json!(true);
            value["reason"] = json!(reason.as_str());
            value["message"] = json!(explaining.message.clone().unwrap_or_default());
        }
        Status::NotRun(why) => {
            value["reason"] = json!("not-run");
            value["message"] = json!(why);
        }
        Status::Passed => {}
    }
    if outcome.attempts.len() > 1 {
        value["attempts"] = json!(outcome.attempts.len());
    }
    value
}

/// One `{"type":"suite",...}` object per arch.
pub fn suite_json(arch: &ArchSummary) -> serde_json::Value {
    let counts = arch.counts();
    let ok = arch.verdict() == crate::summary::ArchVerdict::Passed;
    let mut value = json!({
        "type": "suite",
        "event": if ok { "ok" } else { "failed" },
        "arch": arch.arch,
        "passed": counts.passed,
        "failed": counts.failed,
        "ignored": counts.ignored,
        "not_run": counts.not_run,
        "flaky": counts.flaky,
        "boots": arch.boots,
        "exec_time": arch.wall_time.unwrap_or_default().as_secs_f64(),
        "log": arch.log.display().to_string(),
    });
    for (severity, key) in [(Severity::Problem, "problems"), (Severity::Note, "notes"), (Severity::Error, "errors")] {
        let texts: Vec<String> = arch.with_severity(severity).map(|d| d.kind.to_string()).collect();
        if !texts.is_empty() {
            value[key] = json!(texts);
        }
    }
    if let Some(signal) = arch.interrupted {
        value["interrupted"] = json!(signal);
    }
    value
}

impl Reporter for Json {
    fn event(&mut self, arch: &str, event: &Event, fold: &ArchSummary) {
        match event {
            Event::TestStarted { name, .. } => {
                self.emit(json!({"type": "test", "event": "started", "name": name, "arch": arch}));
                self.started.insert((arch.to_string(), name.clone()));
            }
            Event::AttemptFinished(attempt) => {
                // Tests with no `started` of their own (skipped, not run, read from a merged
                // document) get one, as libtest gives every test.
                if !self.started.remove(&(arch.to_string(), attempt.name.clone())) {
                    self.emit(json!({"type": "test", "event": "started", "name": attempt.name, "arch": arch}));
                }
                if let Some(outcome) = fold.outcome(&attempt.name) {
                    self.emit(outcome_json(arch, outcome));
                }
            }
            // Only JSON on stdout: the attach instructions go to stderr.
            Event::DebugAttach { test, command } if matches!(self.sink, Sink::Stdout) => {
                eprintln!("{}", super::human::debug_stop_text(&format!("[{arch}]"), test, command))
            }
            _ => {}
        }
    }

    fn finish(&mut self, summary: &RunSummary) -> anyhow::Result<()> {
        for arch in &summary.arches {
            self.emit(suite_json(arch));
        }
        if let Sink::File { path, lines } = &self.sink {
            crate::fsutil::write_atomically(path, lines)?;
        }
        Ok(())
    }
}
