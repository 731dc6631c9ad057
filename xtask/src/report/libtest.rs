//! libtest's JSON event lines (`--format json`), each with an `arch` field; nothing else on
//! stdout.

use super::Reporter;
use crate::events::{Event, Outcome, Severity, Status};
use crate::json_object::JsonObject;
use crate::summary::{ArchSummary, RunSummary};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::io::Write;

/// libtest's JSON lines, on stdout or into a file.
pub struct Json {
    /// Which tests have a `started` line without their result yet, by arch.
    started: HashMap<String, HashSet<String>>,
    sink: Sink,
    /// The line being written (its buffer kept from line to line).
    line: Vec<u8>,
}

enum Sink {
    /// Each line written as it is made (a live run: a reader sees every verdict at once).
    Stdout,
    /// Lines written a block at a time (a saved log read back: nobody waits for a line, and
    /// a write per line was a tenth of `report`'s time); the rest at the end.
    StdoutBuffered,
    /// Kept whole, written atomically when the run is over (`--json PATH`).
    File { path: std::path::PathBuf, lines: Vec<u8> },
}

/// How much `Sink::StdoutBuffered` holds before it writes.
const STDOUT_BLOCK: usize = 64 * 1024;

impl Json {
    pub fn to_stdout() -> Json {
        Json { started: HashMap::new(), sink: Sink::Stdout, line: Vec::new() }
    }

    /// To stdout, a block at a time (for `cargo xtask report`).
    pub fn to_stdout_buffered() -> Json {
        Json { started: HashMap::new(), sink: Sink::StdoutBuffered, line: Vec::new() }
    }

    pub fn to_file(path: &std::path::Path) -> Json {
        Json {
            started: HashMap::new(),
            sink: Sink::File { path: path.to_path_buf(), lines: Vec::new() },
            line: Vec::new(),
        }
    }

    /// One line, written with `write` into bytes (neither a `Value` nor `Display`'s
    /// formatter), and to stdout in one call.
    fn emit(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        let line = match &mut self.sink {
            Sink::Stdout | Sink::StdoutBuffered => &mut self.line,
            Sink::File { lines, .. } => lines,
        };
        write(line);
        line.push(b'\n');
        match self.sink {
            Sink::Stdout => self.write_stdout(),
            Sink::StdoutBuffered if self.line.len() >= STDOUT_BLOCK => self.write_stdout(),
            Sink::StdoutBuffered | Sink::File { .. } => {}
        }
    }

    /// Writes the lines held for stdout.
    fn write_stdout(&mut self) {
        if !self.line.is_empty() {
            let _ = std::io::stdout().lock().write_all(&self.line);
            self.line.clear();
        }
    }
}

impl Drop for Json {
    /// Whatever happened, stdout gets every line made.
    fn drop(&mut self) {
        self.write_stdout();
    }
}

/// libtest's `started` line of a test.
fn write_started(out: &mut Vec<u8>, arch: &str, name: &str) {
    JsonObject::new(out).str("arch", arch).str("event", "started").str("name", name).str("type", "test").end();
}

/// The libtest JSON object for a test's outcome so far. Its keys in serde_json's order
/// (sorted), as every line of it was written when it was a `Value`.
pub fn write_outcome(out: &mut Vec<u8>, arch: &str, outcome: &Outcome) {
    let status = outcome.status();
    let last = outcome.last();
    let event = match status {
        // A flaky test passed in the end; `"flaky": true` says it did not pass the first time.
        Status::Passed | Status::Flaky(_) => "ok",
        // A test that should have run and did not fails the run: never a skip.
        Status::Failed(_) | Status::NotRun(_) => "failed",
        Status::Ignored(_) => "ignored",
    };
    let explaining = outcome.explaining_attempt();
    let mut object = JsonObject::new(out);
    object.str("arch", arch);
    if outcome.attempts.len() > 1 {
        object.u64("attempts", outcome.attempts.len() as u64);
    }
    if let Status::Failed(_) = status {
        object.strings("backtrace", &explaining.backtrace).strings("diagnostics", &explaining.diagnostics);
    }
    object.str("event", event).f64("exec_time", last.duration.unwrap_or_default().as_secs_f64());
    let message = explaining.message.as_deref().unwrap_or_default();
    match &status {
        Status::Failed(_) => object.str("message", message),
        Status::Ignored(reason) => object.str("message", reason),
        Status::Flaky(_) => object.bool("flaky", true).str("message", message),
        Status::NotRun(why) => object.str("message", why),
        Status::Passed => &mut object,
    };
    object.str("name", &outcome.name);
    match &status {
        Status::Failed(reason) => object.str("reason", reason.as_str()).str("stdout", &explaining.output.join("\n")),
        Status::Flaky(reason) => object.str("reason", reason.as_str()),
        Status::NotRun(_) => object.str("reason", "not-run"),
        Status::Passed | Status::Ignored(_) => &mut object,
    };
    object.str("type", "test").end();
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
                self.emit(|out| write_started(out, arch, name));
                self.started.entry(arch.to_string()).or_default().insert(name.clone());
            }
            Event::AttemptFinished(attempt) => {
                // Tests with no `started` of their own (skipped, not run, read from a merged
                // document) get one, as libtest gives every test.
                if !self.started.get_mut(arch).is_some_and(|started| started.remove(&attempt.name)) {
                    self.emit(|out| write_started(out, arch, &attempt.name));
                }
                if let Some(outcome) = fold.outcome(&attempt.name) {
                    self.emit(|out| write_outcome(out, arch, outcome));
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
            let value = suite_json(arch);
            self.emit(|out| {
                let _ = serde_json::to_writer(&mut *out, &value);
            });
        }
        self.write_stdout();
        if let Sink::File { path, lines } = &self.sink {
            crate::fsutil::write_atomically(path, lines)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Attempt, Reason, Verdict};

    fn attempt(verdict: Verdict) -> Attempt {
        Attempt {
            duration: Some(std::time::Duration::from_nanos(1200)),
            message: Some("assertion failed\n  left: 1".into()),
            backtrace: vec!["0: f at a.rs:1".into()],
            diagnostics: vec!["# panicked at a.rs:1:1:".into(), "# duration_ns: 1200".into()],
            output: vec!["hello".into(), "\u{1b}[1mworld".into()],
            ..Attempt::first("kernel::tests::\"odd\"", verdict)
        }
    }

    /// Every kind of outcome, written as serde_json writes a `Value`: read back and written
    /// again by serde_json, each line is unchanged (so its keys are sorted, its strings and
    /// numbers serde_json's), and it holds the fields libtest's readers look for.
    #[test]
    fn every_outcome_is_a_line_serde_json_would_write() {
        let cases = [
            (vec![Verdict::Passed], "ok", None),
            (vec![Verdict::Failed(Reason::Panic)], "failed", Some("panic")),
            (vec![Verdict::Failed(Reason::Timeout), Verdict::Passed], "ok", Some("timeout")),
            (vec![Verdict::Failed(Reason::Fault), Verdict::Failed(Reason::Crash)], "failed", Some("crash")),
            (vec![Verdict::Ignored("not yet".into())], "ignored", None),
            (vec![Verdict::NotRun("the boot ended".into())], "failed", Some("not-run")),
        ];
        for (verdicts, event, reason) in cases {
            let outcome = Outcome {
                name: "kernel::tests::\"odd\"".into(),
                attempts: verdicts.into_iter().map(attempt).collect(),
            };
            let mut out = Vec::new();
            write_outcome(&mut out, "riscv64", &outcome);
            let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(serde_json::to_vec(&value).unwrap(), out, "{}", String::from_utf8_lossy(&out));
            assert_eq!(value["event"], event);
            assert_eq!(value["reason"].as_str(), reason);
            assert_eq!(value["name"], outcome.name.as_str());
            assert_eq!(value["exec_time"], 1.2e-6);
        }
        let mut out = Vec::new();
        write_started(&mut out, "x86_64", "a::b");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"arch":"x86_64","event":"started","name":"a::b","type":"test"}"#
        );
    }
}
