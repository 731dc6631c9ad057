//! The records of a merged KTAP document (`<arch>.ktap`): every attempt, diagnostic and
//! count of a run, as JSON in harness markers, so that reading the document back gives the
//! run's events exactly. The KTAP lines around them (results, the final attempt's
//! diagnostics) are for Linux's kunit_parser and for people; `report/ktap.rs` writes both.

use super::Session;
use super::marker::Marker;
use crate::events::DiagnosticKind;
use crate::events::{Attempt, Diagnostic, Event, Reason, Severity, Verdict};
use crate::json_object::JsonObject;
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub const ATTEMPT: &str = "attempt";
pub const DIAGNOSTIC: &str = "diagnostic";
pub const UNREPORTED: &str = "unreported";

/// The longest piece of a record on one line (well under the reader's line limit).
const PIECE: usize = 16 * 1024;

/// An attempt as its record holds it (`Serialize` is the reference `attempt_markers` is held
/// to in the tests).
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct AttemptRecord {
    name: String,
    number: u32,
    boot: u32,
    /// `passed`, `failed`, `ignored` or `not-run`.
    verdict: String,
    /// The failure's reason, or the skip's or not-run's explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    duration_ns: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    backtrace: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    diagnostics: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    output: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    excerpt: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct DiagnosticRecord {
    boot: u32,
    severity: String,
    text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    excerpt: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct UnreportedRecord {
    count: u64,
    why: String,
}

/// The marker lines that carry `attempt`: its [`AttemptRecord`], written straight into JSON
/// as serde_json writes the record (a test holds the two to the same text), without copying
/// the attempt into one: a serde walk of each of 10,000 records at the end of a run took the
/// debug build most of a second.
pub fn attempt_markers(attempt: &Attempt) -> Vec<Marker> {
    let (verdict, reason) = match &attempt.verdict {
        Verdict::Passed => ("passed", None),
        Verdict::Failed(reason) => ("failed", Some(reason.as_str())),
        Verdict::Ignored(why) => ("ignored", Some(why.as_str())),
        Verdict::NotRun(why) => ("not-run", Some(why.as_str())),
    };
    let mut json = Vec::new();
    let mut record = JsonObject::new(&mut json);
    record.str("name", &attempt.name).u64("number", attempt.number.into()).u64("boot", attempt.boot.into());
    record.str("verdict", verdict);
    if let Some(reason) = reason {
        record.str("reason", reason);
    }
    if let Some(duration) = attempt.duration {
        record.u64("duration_ns", u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX));
    }
    if let Some(message) = &attempt.message {
        record.str("message", message);
    }
    let lists = [
        ("backtrace", &attempt.backtrace),
        ("diagnostics", &attempt.diagnostics),
        ("output", &attempt.output),
        ("excerpt", &attempt.excerpt),
    ];
    for (key, list) in lists.into_iter().filter(|(_, list)| !list.is_empty()) {
        record.strings(key, list);
    }
    record.end();
    split(ATTEMPT, String::from_utf8(json).expect("JSON written from strings is UTF-8"))
}

/// The marker lines that carry `diagnostic` (its text as a person reads it).
pub fn diagnostic_markers(diagnostic: &Diagnostic) -> Vec<Marker> {
    let record = DiagnosticRecord {
        boot: diagnostic.boot,
        severity: diagnostic.severity.as_str().to_string(),
        text: diagnostic.kind.to_string(),
        excerpt: diagnostic.excerpt.clone(),
    };
    pieces(DIAGNOSTIC, &record)
}

pub fn unreported_markers(count: u64, why: &str) -> Vec<Marker> {
    pieces(UNREPORTED, &UnreportedRecord { count, why: why.to_string() })
}

fn pieces(kind: &str, record: &impl Serialize) -> Vec<Marker> {
    split(kind, serde_json::to_string(record).expect("a record serializes"))
}

/// A record's JSON as marker lines: its first piece, then `record+` pieces of at most
/// [`PIECE`] bytes.
fn split(kind: &str, json: String) -> Vec<Marker> {
    let mut markers = Vec::new();
    let mut rest = json.as_str();
    while !rest.is_empty() || markers.is_empty() {
        let mut cut = rest.len().min(PIECE);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (piece, tail) = rest.split_at(cut);
        markers.push(match markers.is_empty() {
            true => Marker::Record { kind: kind.to_string(), json: piece.to_string() },
            false => Marker::RecordContinued { json: piece.to_string() },
        });
        rest = tail;
    }
    markers
}

impl Session {
    /// A record read to its end: its event.
    pub(super) fn close_record(&mut self, events: &mut Vec<Event>) {
        let Some((kind, json)) = self.record.take() else { return };
        self.reading_merged = true;
        self.interrupted_noted = true; // the document records its interruption itself
        let decoded = match kind.as_str() {
            ATTEMPT => serde_json::from_str::<AttemptRecord>(&json).map_err(|e| e.to_string()).and_then(attempt_of),
            DIAGNOSTIC => serde_json::from_str::<DiagnosticRecord>(&json)
                .map_err(|error| error.to_string())
                .and_then(|record| diagnostic_of(record).map(Event::Diagnostic)),
            UNREPORTED => serde_json::from_str::<UnreportedRecord>(&json)
                .map_err(|error| error.to_string())
                .map(|record| Event::Unreported { count: record.count, why: record.why }),
            other => Err(format!("unknown record kind `{other}`")),
        };
        match decoded {
            Ok(Event::AttemptFinished(attempt)) => self.emit(attempt, events),
            Ok(Event::Unreported { count, .. }) => self.unreported = self.unreported.saturating_add(count),
            Ok(event) => events.push(event),
            Err(error) => {
                let kind = DiagnosticKind::BadRecord { kind, error };
                self.diagnose(Severity::Problem, kind, false, events);
            }
        }
    }
}

fn attempt_of(record: AttemptRecord) -> Result<Event, String> {
    let why = || record.reason.clone().unwrap_or_default();
    let verdict = match record.verdict.as_str() {
        "passed" => Verdict::Passed,
        "failed" => Verdict::Failed(
            Reason::parse(record.reason.as_deref().unwrap_or("failed"))
                .ok_or_else(|| format!("unknown failure reason {:?}", record.reason))?,
        ),
        "ignored" => Verdict::Ignored(why()),
        "not-run" => Verdict::NotRun(why()),
        other => return Err(format!("unknown verdict `{other}`")),
    };
    Ok(Event::AttemptFinished(Attempt {
        name: record.name,
        number: record.number,
        boot: record.boot,
        verdict,
        duration: record.duration_ns.map(Duration::from_nanos),
        message: record.message,
        backtrace: record.backtrace,
        diagnostics: record.diagnostics,
        output: record.output,
        excerpt: record.excerpt,
    }))
}

fn diagnostic_of(record: DiagnosticRecord) -> Result<Diagnostic, String> {
    let severity =
        Severity::parse(&record.severity).ok_or_else(|| format!("unknown severity `{}`", record.severity))?;
    Ok(Diagnostic {
        boot: record.boot,
        severity,
        kind: DiagnosticKind::Recorded { text: record.text },
        excerpt: record.excerpt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record_of(attempt: &Attempt) -> AttemptRecord {
        let (verdict, reason) = match &attempt.verdict {
            Verdict::Passed => ("passed", None),
            Verdict::Failed(reason) => ("failed", Some(reason.as_str().to_string())),
            Verdict::Ignored(why) => ("ignored", Some(why.clone())),
            Verdict::NotRun(why) => ("not-run", Some(why.clone())),
        };
        AttemptRecord {
            name: attempt.name.clone(),
            number: attempt.number,
            boot: attempt.boot,
            verdict: verdict.to_string(),
            reason,
            duration_ns: attempt.duration.map(|duration| u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)),
            message: attempt.message.clone(),
            backtrace: attempt.backtrace.clone(),
            diagnostics: attempt.diagnostics.clone(),
            output: attempt.output.clone(),
            excerpt: attempt.excerpt.clone(),
        }
    }

    #[test]
    fn an_attempt_record_is_written_as_serde_json_writes_it() {
        let odd = "quote \" back \\ tab\t nl\n \u{1b}[1m \u{0} ünï 🙂".to_string();
        let full = Attempt {
            name: format!("kernel::{odd}"),
            number: u32::MAX,
            boot: 7,
            verdict: Verdict::Failed(Reason::Timeout),
            duration: Some(Duration::MAX),
            message: Some(odd.clone()),
            backtrace: vec![odd.clone(), String::new()],
            diagnostics: vec!["# duration_ns: 1".into()],
            output: vec!["x".repeat(PIECE + 10)],
            excerpt: vec![odd.clone()],
        };
        let bare = Attempt::first("a", Verdict::Passed);
        let verdicts = [Verdict::Ignored(odd.clone()), Verdict::NotRun(String::new()), Verdict::Passed];
        let mut attempts = vec![full.clone(), bare.clone()];
        attempts.extend(verdicts.map(|verdict| Attempt { verdict, ..bare.clone() }));
        attempts.push(Attempt { duration: Some(Duration::from_nanos(1200)), ..bare });
        for attempt in &attempts {
            let json: String = attempt_markers(attempt)
                .into_iter()
                .map(|marker| match marker {
                    Marker::Record { kind, json } if kind == ATTEMPT => json,
                    Marker::RecordContinued { json } => json,
                    other => panic!("not an attempt record: {other}"),
                })
                .collect();
            assert_eq!(json, serde_json::to_string(&record_of(attempt)).unwrap(), "{attempt:?}");
        }
    }
}
