//! The run as one self-contained HTML page (`target/xtask/runs/<id>/report.html`, or
//! `cargo xtask report --html PATH`): the arch × test verdict matrix, failures first; each
//! test's duration beside the median of its earlier runs, slower than usual flagged; every
//! failure's message, backtrace and serial excerpt; the problems; links to the logs.
//!
//! A function of the run's fold and the remembered durations, like every other report: no
//! script, no external style sheet, nothing fetched. Kernel text is escaped twice over:
//! control bytes as in the terminal (`text::printable`), then for HTML.

use super::format_duration;
use super::text::printable;
use crate::events::{Outcome, Severity, Status};
use crate::plan::durations::Durations;
use crate::summary::{ArchVerdict, RunSummary};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// A test is flagged slow when it took this many times its usual duration, and at least
/// [`SLOW_MARGIN`] more.
const SLOW_FACTOR: f64 = 2.0;
const SLOW_MARGIN: Duration = Duration::from_millis(20);

/// Writes the page for `summary` to `path` (atomically); `history`: the durations of the
/// runs before this one; `title`: what the page calls the run.
pub fn write(summary: &RunSummary, history: &Durations, title: &str, path: &Path) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::fsutil::write_atomically(path, page(summary, history, title, dir).as_bytes())
}

/// The page's text; log links are made relative to `dir` where they can be.
pub fn page(summary: &RunSummary, history: &Durations, title: &str, dir: &Path) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let verdict = match summary.verdict() {
        ArchVerdict::Passed => "passed",
        ArchVerdict::NoTests => "no tests ran",
        ArchVerdict::HarnessError => "harness error",
        _ => "FAILED",
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{} — {verdict}</title>\n<style>{STYLE}</style></head><body>\n<h1>{} — <span class=\"{}\">{verdict}</span></h1>\n",
        html(title),
        html(title),
        if verdict == "passed" { "ok" } else { "failed" }
    );
    arch_table(&mut out, summary, dir);
    matrix(&mut out, summary, history);
    failures(&mut out, summary, dir);
    problems(&mut out, summary);
    out.push_str("</body></html>\n");
    out
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}\
td.num{text-align:right}.ok{color:#176b1a}.failed{color:#b00020;font-weight:bold}.flaky{color:#a15c00;font-weight:bold}\
.ignored,.not-run,.absent{color:#777}.slow{color:#a15c00}pre{background:#f6f6f6;padding:.5em;overflow-x:auto}\
h2{margin-top:1.5em}";

fn arch_table(out: &mut String, summary: &RunSummary, dir: &Path) {
    out.push_str(
        "<h2>Architectures</h2>\n<table><tr><th>arch</th><th>passed</th><th>failed</th><th>ignored</th>\
                  <th>not run</th><th>flaky</th><th>boots</th><th>time</th><th>serial log</th></tr>\n",
    );
    for arch in &summary.arches {
        let counts = arch.counts();
        let time = arch.wall_time.map(format_duration).unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            html(&arch.arch),
            counts.passed,
            counts.failed,
            counts.ignored,
            counts.not_run,
            counts.flaky,
            arch.boots,
            time,
            log_link(&arch.log, dir)
        );
    }
    out.push_str("</table>\n");
}

/// Every test's row: its status on each arch, failures first, then by name.
fn matrix(out: &mut String, summary: &RunSummary, history: &Durations) {
    let mut tests: BTreeMap<&str, Vec<Option<&Outcome>>> = BTreeMap::new();
    for (column, arch) in summary.arches.iter().enumerate() {
        for outcome in &arch.outcomes {
            tests.entry(&outcome.name).or_insert_with(|| vec![None; summary.arches.len()])[column] = Some(outcome);
        }
    }
    let mut rows: Vec<(&str, Vec<Option<&Outcome>>)> = tests.into_iter().collect();
    rows.sort_by_key(|(name, cells)| (!cells.iter().flatten().any(|outcome| is_bad(&outcome.status())), *name));
    out.push_str("<h2>Tests</h2>\n<table><tr><th>test</th>");
    for arch in &summary.arches {
        let _ = write!(out, "<th>{}</th>", html(&arch.arch));
    }
    out.push_str("</tr>\n");
    for (name, cells) in rows {
        let _ = write!(out, "<tr><td>{}</td>", html(name));
        for (arch, cell) in summary.arches.iter().zip(cells) {
            match cell {
                Some(outcome) => cell_html(out, &arch.arch, outcome, history),
                None => out.push_str("<td class=\"absent\">—</td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn cell_html(out: &mut String, arch: &str, outcome: &Outcome, history: &Durations) {
    let status = outcome.status();
    let (class, word) = status_word(&status);
    let mut cell = format!("<span class=\"{class}\">{word}</span>");
    if let Some(duration) = outcome.last().duration {
        let _ = write!(cell, " {}", format_duration(duration));
        if let Some(usual) = history.known(arch, &outcome.name) {
            let slow = duration.as_secs_f64() > usual.as_secs_f64() * SLOW_FACTOR && duration > usual + SLOW_MARGIN;
            let _ = write!(
                cell,
                " <span class=\"{}\" title=\"median of earlier runs\">({}{})</span>",
                if slow { "slow" } else { "absent" },
                if slow { "slow: usually " } else { "usually " },
                format_duration(usual)
            );
        }
    }
    let _ = write!(out, "<td data-arch=\"{}\" data-status=\"{class}\">{cell}</td>", html(arch));
}

fn status_word(status: &Status) -> (&'static str, String) {
    match status {
        Status::Passed => ("ok", "ok".into()),
        Status::Failed(reason) => ("failed", format!("FAILED ({})", reason.as_str())),
        Status::Flaky(reason) => ("flaky", format!("FLAKY ({})", reason.as_str())),
        Status::Ignored(_) => ("ignored", "ignored".into()),
        Status::NotRun(_) => ("not-run", "not run".into()),
    }
}

fn is_bad(status: &Status) -> bool {
    matches!(status, Status::Failed(_) | Status::Flaky(_) | Status::NotRun(_))
}

/// Each failure in full: message, backtrace, what the test printed, the serial excerpt.
fn failures(out: &mut String, summary: &RunSummary, dir: &Path) {
    let failed: Vec<_> = summary
        .arches
        .iter()
        .flat_map(|arch| arch.outcomes.iter().map(move |outcome| (arch, outcome)))
        .filter(|(_, outcome)| matches!(outcome.status(), Status::Failed(_) | Status::Flaky(_) | Status::NotRun(_)))
        .collect();
    if failed.is_empty() {
        return;
    }
    out.push_str("<h2>Failures</h2>\n");
    for (arch, outcome) in failed {
        let attempt = outcome.explaining_attempt();
        let (class, word) = status_word(&outcome.status());
        let _ = writeln!(
            out,
            "<h3 id=\"{}\">{} <span class=\"{class}\">{word}</span> on {}</h3>",
            html(&format!("{}-{}", arch.arch, outcome.name)),
            html(&outcome.name),
            html(&arch.arch)
        );
        let message = match outcome.status() {
            Status::NotRun(why) => Some(why),
            _ => attempt.message.clone(),
        };
        if let Some(message) = message {
            let _ = writeln!(out, "<pre class=\"message\">{}</pre>", kernel_text(&message));
        }
        for (heading, lines) in [
            ("backtrace", &attempt.backtrace),
            ("what it printed", &attempt.output),
            ("last serial lines", &attempt.excerpt),
        ] {
            if !lines.is_empty() {
                let _ = writeln!(out, "<p>{heading}:</p><pre>{}</pre>", kernel_text(&lines.join("\n")));
            }
        }
        let _ = writeln!(out, "<p>serial log: {}</p>", log_link(&arch.log, dir));
    }
}

fn problems(out: &mut String, summary: &RunSummary) {
    let listed: Vec<_> = summary
        .arches
        .iter()
        .flat_map(|arch| {
            arch.with_severity(Severity::Problem)
                .chain(arch.with_severity(Severity::Error))
                .map(move |diagnostic| (arch, diagnostic))
        })
        .collect();
    if listed.is_empty() {
        return;
    }
    out.push_str("<h2>Problems</h2>\n<ul>\n");
    for (arch, diagnostic) in listed {
        let _ = writeln!(out, "<li>{}: {}</li>", html(&arch.arch), kernel_text(&diagnostic.kind.to_string()));
    }
    out.push_str("</ul>\n");
}

/// A link to a log: relative to the page's directory where it is inside it.
fn log_link(log: &Path, dir: &Path) -> String {
    let target = log.strip_prefix(dir).map(Path::to_path_buf).unwrap_or_else(|_| log.to_path_buf());
    let href = target.to_string_lossy().replace('%', "%25").replace(' ', "%20").replace('#', "%23");
    format!("<a href=\"{}\">{}</a>", html(&href), html(&log.display().to_string()))
}

/// Text that came from the kernel: control bytes escaped, then HTML's specials.
fn kernel_text(text: &str) -> String {
    html(&printable(text)).into_owned()
}

/// `text` with HTML's specials escaped; most names have none, told by a loop over the bytes
/// (a page of 10,000 tests escapes each name twice).
fn html(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() && !matches!(bytes[at], b'&' | b'<' | b'>' | b'"' | b'\'') {
        at += 1;
    }
    if at == bytes.len() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Attempt, Reason, Verdict};
    use crate::summary::ArchSummary;

    fn outcome(name: &str, verdict: Verdict, millis: u64, message: Option<&str>) -> Outcome {
        let attempt = Attempt {
            duration: Some(Duration::from_millis(millis)),
            message: message.map(str::to_string),
            backtrace: vec!["kernel::t at kernel/src/t.rs:3:5".into()],
            excerpt: vec!["\u{1b}[2Jcleared <script>".into()],
            ..Attempt::first(name, verdict)
        };
        Outcome { name: name.into(), attempts: vec![attempt] }
    }

    fn run() -> RunSummary {
        let mut riscv = ArchSummary::new("riscv64", "/runs/1/riscv64.serial.log".into());
        riscv.outcomes = vec![
            outcome("a::passes", Verdict::Passed, 500, None),
            outcome("z::fails", Verdict::Failed(Reason::Panic), 3, Some("panicked at x.rs:1:1: 1 < 2 & <b>")),
        ];
        let mut x86 = ArchSummary::new("x86_64", "/elsewhere/x86_64.serial.log".into());
        x86.outcomes = vec![outcome("a::passes", Verdict::Passed, 10, None)];
        RunSummary { arches: vec![riscv, x86] }
    }

    #[test]
    fn failures_come_first_and_every_verdict_has_its_cell() {
        let page = page(&run(), &Durations::default(), "run 1", Path::new("/runs/1"));
        let fails = page.find("<tr><td>z::fails</td>").unwrap();
        let passes = page.find("<tr><td>a::passes</td>").unwrap();
        assert!(fails < passes, "failures first");
        assert_eq!(page.matches("data-status=").count(), 3, "three verdicts");
        assert!(page.contains("<td class=\"absent\">—</td>"), "z::fails does not exist on x86_64");
        assert!(page.contains("<a href=\"riscv64.serial.log\">"), "a log beside the page is linked relatively");
        assert!(page.contains("<a href=\"/elsewhere/x86_64.serial.log\">"));
    }

    #[test]
    fn kernel_text_can_neither_inject_markup_nor_control_the_terminal() {
        let page = page(&run(), &Durations::default(), "<run>", Path::new("/runs/1"));
        assert!(page.contains("1 &lt; 2 &amp; &lt;b&gt;"), "{page}");
        assert!(page.contains("\\x1b[2Jcleared &lt;script&gt;"), "{page}");
        assert!(!page.contains("<script") && !page.contains('\u{1b}'));
        assert!(page.contains("<title>&lt;run&gt; — FAILED</title>"));
    }

    #[test]
    fn a_test_much_slower_than_its_history_is_flagged() {
        let mut history = Durations::default();
        for _ in 0..3 {
            history.record("riscv64", "a::passes", Duration::from_millis(100));
            history.record("x86_64", "a::passes", Duration::from_millis(9));
        }
        let page = page(&run(), &history, "run", Path::new("/runs/1"));
        assert!(page.contains("(slow: usually 100.0 ms)"), "500 ms against 100 ms: {page}");
        assert!(page.contains("(usually 9.0 ms)"), "10 ms against 9 ms is as usual");
    }
}
