//! The merged KTAP document (`<arch>.ktap`): an arch's whole run as one KTAP version 1
//! document. Its result lines and the final attempts' diagnostics are for Linux's
//! kunit_parser and for people (a test that did not run is `not ok`, never a pass); its
//! harness records (`session::merged`) carry every attempt, diagnostic and count, so that
//! `cargo xtask report` reads the run back exactly.

use crate::events::{Status, Verdict};
use crate::session::marker::{MARKER, Marker};
use crate::session::merged;
use crate::summary::ArchSummary;
use ktap::{Directive, Writer};
use std::fmt::Write;

/// The document for one arch's run.
pub fn merged(arch: &ArchSummary) -> String {
    let serial_log = Some(arch.log.display().to_string());
    let mut text = format!("{}\n", Marker::Arch { arch: arch.arch.clone(), serial_log, lane: None });
    let mut writer = Writer::new(String::new());
    let write = |writer: &mut Writer<String>, markers: Vec<Marker>| {
        for marker in markers {
            let _ = writeln!(writer_text(writer), "{marker}");
        }
    };
    let _ = writer.version();
    let _ = writer.plan(arch.outcomes.len() as u64);
    for (index, outcome) in arch.outcomes.iter().enumerate() {
        for attempt in &outcome.attempts {
            write(&mut writer, merged::attempt_markers(attempt));
        }
        let last = outcome.last();
        for line in &last.diagnostics {
            // The human copy; a line that would read as the harness's own is left out.
            if !format!("# {line}").starts_with(MARKER) {
                let _ = writer.diagnostic(line);
            }
        }
        let number = index as u64 + 1;
        let _ = match (outcome.status(), &last.verdict) {
            (Status::Ignored(reason), _) => writer.result(true, number, &outcome.name, Some(&Directive::Skip(reason))),
            (Status::Passed | Status::Flaky(_), _) => writer.result(true, number, &outcome.name, None),
            (_, Verdict::NotRun(why)) => {
                let _ = writer.diagnostic(&format!("not run: {why}"));
                writer.result(false, number, &outcome.name, None)
            }
            _ => writer.result(false, number, &outcome.name, None),
        };
    }
    for diagnostic in &arch.diagnostics {
        write(&mut writer, merged::diagnostic_markers(diagnostic));
    }
    if arch.unreported > 0 {
        write(&mut writer, merged::unreported_markers(arch.unreported, "never reported"));
    }
    text.push_str(&writer.into_inner());
    let finished = Marker::Finished { boots: arch.boots, wall_time: arch.wall_time, interrupted: arch.interrupted };
    let _ = writeln!(text, "{finished}");
    text
}

/// The text a writer has written so far, to append harness lines to it.
fn writer_text(writer: &mut Writer<String>) -> &mut String {
    writer.inner_mut()
}
