//! JUnit XML: one `<testsuite>` per arch, a `<testcase>` per test, the run's problems as
//! errors of their own, written atomically.
//!
//! The document is the one the `quick-junit` crate (nextest's) renders for the same report,
//! byte for byte: its attribute order, its indentation, quick-xml's escaping, and what its
//! `XmlString` keeps of a string (no ANSI escapes, no control characters but newlines). It
//! is written straight into a string: building quick-junit's report cleaned every string
//! through a terminal parser, a `write!` per character, which made 30,000 verdicts' JUnit
//! take 40% of `cargo xtask report`'s time. A test holds the two to the same bytes.

use super::text::printable;
use crate::events::{Severity, Status};
use crate::summary::{ArchSummary, RunSummary};
use std::borrow::Cow;

/// The report as XML.
pub fn render(summary: &RunSummary) -> String {
    let statuses: Vec<Vec<Status>> =
        summary.arches.iter().map(|arch| arch.outcomes.iter().map(|outcome| outcome.status()).collect()).collect();
    let counts: Vec<SuiteCounts> = summary.arches.iter().zip(&statuses).map(SuiteCounts::of).collect();
    let total = counts.iter().fold(SuiteCounts::default(), |total, suite| SuiteCounts {
        tests: total.tests + suite.tests,
        skipped: total.skipped + suite.skipped,
        failures: total.failures + suite.failures,
        errors: total.errors + suite.errors,
    });
    let mut xml = Xml::new();
    xml.declaration();
    let [tests, skipped, failures, errors] =
        [total.tests, total.skipped, total.failures, total.errors].map(|count| count.to_string());
    let attributes = [
        ("name", "kernel tests"),
        ("tests", &tests),
        ("skipped", &skipped),
        ("failures", &failures),
        ("errors", &errors),
    ];
    xml.start("testsuites", &attributes);
    for ((arch, statuses), counts) in summary.arches.iter().zip(&statuses).zip(&counts) {
        suite(&mut xml, arch, statuses, counts);
    }
    xml.end("testsuites");
    // quick-junit ends the document with a line break.
    xml.out.push('\n');
    xml.out
}

/// One arch's `<testsuite>`.
fn suite(xml: &mut Xml, arch: &ArchSummary, statuses: &[Status], counts: &SuiteCounts) {
    let [tests, skipped, errors, failures] =
        [counts.tests, counts.skipped, counts.errors, counts.failures].map(|count| count.to_string());
    let time = arch.wall_time.map(|time| format!("{:.3}", time.as_secs_f64()));
    let mut attributes =
        vec![("name", arch.arch.as_str()), ("tests", &tests), ("skipped", &skipped), ("errors", &errors)];
    attributes.push(("failures", &failures));
    attributes.extend(time.as_deref().map(|time| ("time", time)));
    if counts.tests == 0 {
        xml.empty("testsuite", &attributes);
        return;
    }
    xml.start("testsuite", &attributes);
    for (outcome, status) in arch.outcomes.iter().zip(statuses) {
        let attempt = outcome.explaining_attempt();
        let name = printable(&outcome.name);
        let module = outcome.name.rsplit_once("::").map_or("", |(module, _)| module);
        let classname = format!("{}.{module}", arch.arch);
        let time = outcome.last().duration.map(|time| format!("{:.3}", time.as_secs_f64()));
        let mut attributes = vec![("name", &*name), ("classname", classname.as_str())];
        attributes.extend(time.as_deref().map(|time| ("time", time)));
        if *status == Status::Passed {
            xml.empty("testcase", &attributes);
            continue;
        }
        xml.start("testcase", &attributes);
        match status {
            Status::Passed => {}
            Status::Ignored(reason) => xml.empty("skipped", &[("message", &printable(reason))]),
            Status::NotRun(why) => {
                // A test that should have run and did not is a failure of the run.
                let message = format!("not run: {}", printable(why));
                xml.empty("error", &[("message", &message), ("type", "not-run")]);
            }
            Status::Flaky(reason) => {
                // A success with its failed first attempt as a `flakyFailure`.
                let message = printable(attempt.message.as_deref().unwrap_or_default());
                xml.start("flakyFailure", &[("message", &message), ("type", reason.as_str())]);
                xml.end("flakyFailure");
            }
            Status::Failed(reason) => {
                let message = attempt.message.clone().unwrap_or_else(|| format!("{} failed", outcome.name));
                let description = format!(
                    "{}\n\nbacktrace:\n{}\n\noutput:\n{}\n\nserial log: {}\nlast serial lines (boot {}):\n{}",
                    attempt.diagnostics.join("\n"),
                    attempt.backtrace.join("\n"),
                    attempt.output.join("\n"),
                    arch.log.display(),
                    attempt.boot,
                    attempt.excerpt.join("\n")
                );
                // XML has no room for most control characters: they are shown escaped.
                let lines: Vec<Cow<'_, str>> = description.lines().map(printable).collect();
                xml.start("failure", &[("message", &printable(&message)), ("type", reason.as_str())]);
                xml.text(&lines.join("\n"));
                xml.end("failure");
            }
        }
        xml.end("testcase");
    }
    for (index, problem) in problems(arch).enumerate() {
        // A problem is a failure of the run itself: visible in CI's test view.
        let name = format!("harness::problem_{}", index + 1);
        let excerpt: Vec<Cow<'_, str>> = problem.excerpt.iter().map(|line| printable(line)).collect();
        xml.start("testcase", &[("name", &name)]);
        xml.start("error", &[("message", &printable(&problem.kind.to_string()))]);
        xml.text(&format!("serial log: {}\n{}", arch.log.display(), excerpt.join("\n")));
        xml.end("error");
        xml.end("testcase");
    }
    xml.end("testsuite");
}

fn problems(arch: &ArchSummary) -> impl Iterator<Item = &crate::events::Diagnostic> {
    arch.diagnostics.iter().filter(|diagnostic| diagnostic.severity >= Severity::Problem)
}

/// A suite's counts, as quick-junit keeps them: a skip is `skipped`, a failure `failures`,
/// a test that did not run and each problem `errors`; a flaky test is a success.
#[derive(Default)]
struct SuiteCounts {
    tests: usize,
    skipped: usize,
    failures: usize,
    errors: usize,
}

impl SuiteCounts {
    fn of((arch, statuses): (&ArchSummary, &Vec<Status>)) -> SuiteCounts {
        let mut counts = SuiteCounts { tests: statuses.len(), ..SuiteCounts::default() };
        for status in statuses {
            match status {
                Status::Passed | Status::Flaky(_) => {}
                Status::Ignored(_) => counts.skipped += 1,
                Status::Failed(_) => counts.failures += 1,
                Status::NotRun(_) => counts.errors += 1,
            }
        }
        let problems = problems(arch).count();
        counts.tests += problems;
        counts.errors += problems;
        counts
    }
}

/// An XML document written as quick-xml's writer indents it (four spaces a level): every
/// element on a line of its own, except the end of one whose text was just written.
struct Xml {
    out: String,
    depth: usize,
    line_break: bool,
}

impl Xml {
    fn new() -> Xml {
        Xml { out: String::new(), depth: 0, line_break: false }
    }

    fn declaration(&mut self) {
        self.out.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        self.line_break = true;
    }

    fn open_tag(&mut self, before: &str, tag: &str, attributes: &[(&str, &str)]) {
        if self.line_break {
            self.out.push('\n');
            for _ in 0..self.depth {
                self.out.push_str("    ");
            }
        }
        self.out.push_str(before);
        self.out.push_str(tag);
        for (key, value) in attributes {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            escaped(&mut self.out, value);
            self.out.push('"');
        }
        self.line_break = true;
    }

    fn start(&mut self, tag: &str, attributes: &[(&str, &str)]) {
        self.open_tag("<", tag, attributes);
        self.out.push('>');
        self.depth += 1;
    }

    fn empty(&mut self, tag: &str, attributes: &[(&str, &str)]) {
        self.open_tag("<", tag, attributes);
        self.out.push_str("/>");
    }

    fn end(&mut self, tag: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.open_tag("</", tag, &[]);
        self.out.push('>');
    }

    fn text(&mut self, text: &str) {
        escaped(&mut self.out, text);
        self.line_break = false;
    }
}

/// `text` as quick-junit writes it: what its `XmlString` keeps of it (printable ASCII and
/// newlines stay as they are; anything else is left to `XmlString` itself, which drops ANSI
/// escapes and control characters), with quick-xml's five entities.
fn escaped(out: &mut String, text: &str) {
    // One loop over the bytes, not iterator adapters: this is most of the writer's time in a
    // debug build.
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if !matches!(bytes[at], b' '..=b'~' | b'\n') {
            return with_entities(out, &quick_junit::XmlString::new(text));
        }
        at += 1;
    }
    with_entities(out, text)
}

/// `text` with quick-xml's five entities.
fn with_entities(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    let (mut from, mut at) = (0, 0);
    while at < bytes.len() {
        let entity = match bytes[at] {
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'&' => "&amp;",
            b'\'' => "&apos;",
            b'"' => "&quot;",
            _ => {
                at += 1;
                continue;
            }
        };
        out.push_str(&text[from..at]);
        out.push_str(entity);
        at += 1;
        from = at;
    }
    out.push_str(&text[from..]);
}

/// The JUnit report as a reporter: written to its path, atomically, when the run is over.
pub struct Junit(pub std::path::PathBuf);

impl super::Reporter for Junit {
    fn event(&mut self, _: &str, _: &crate::events::Event, _: &crate::summary::ArchSummary) {}

    fn finish(&mut self, summary: &RunSummary) -> anyhow::Result<()> {
        crate::fsutil::write_atomically(&self.0, render(summary).as_bytes())?;
        eprintln!("JUnit report: {}", self.0.display());
        Ok(())
    }
}

#[cfg(test)]
mod tests;
