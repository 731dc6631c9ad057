//! An incremental, tolerant KTAP version 1 parser (<https://docs.kernel.org/dev-tools/ktap.html>).
//!
//! Fed one serial line at a time, it returns what each line is: a version line, a plan, a
//! test result, a diagnostic, or other kernel output. Whatever arrives (kernel prints
//! between KTAP lines, a missing plan, duplicate or out-of-order numbers, a truncated last
//! line, invalid UTF-8, garbage) it never panics: deviations from KTAP come out as
//! [`Finding`]s next to the items.
//!
//! **Architecture invariant:** this module knows nothing about QEMU, architectures or the
//! harness's own conventions (`# start`, `# duration_ns:`); it reads any KTAP stream.

use crate::serial::Line;
use std::collections::BTreeSet;
use std::fmt;

/// One recognised line (or a finding about the stream).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// `KTAP version 1` (or `TAP version N`); depth 0 starts a new document.
    Version {
        depth: usize,
        version: String,
    },
    Plan {
        depth: usize,
        count: u64,
    },
    Result(TestResult),
    /// `# text` (the text without `# `).
    Diagnostic {
        depth: usize,
        text: String,
    },
    /// `# Subtest: name`.
    Subtest {
        depth: usize,
        name: String,
    },
    /// A line that is not KTAP: kernel output between the KTAP lines.
    Other {
        text: String,
    },
    Finding(Finding),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestResult {
    pub depth: usize,
    pub ok: bool,
    pub number: Option<u64>,
    pub name: String,
    pub directive: Option<Directive>,
    /// Names of the enclosing subtests, outermost first.
    pub parents: Vec<String>,
    /// This result closes a subtest that had results of its own (a suite's result).
    pub has_subtests: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Directive {
    Skip(String),
    Todo(String),
    /// Any other `# WORD reason` after a result.
    Other(String),
}

/// A way the stream departs from KTAP version 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// 1-based line number in the stream.
    pub line: usize,
    pub kind: FindingKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FindingKind {
    /// A (sub)test document had results but no plan line.
    MissingPlan {
        depth: usize,
        results: u64,
    },
    /// The plan announced `planned` tests; `seen` results arrived.
    PlanMismatch {
        depth: usize,
        planned: u64,
        seen: u64,
    },
    DuplicateNumber {
        number: u64,
    },
    OutOfOrder {
        expected: u64,
        got: u64,
    },
    /// A result before any version line.
    ResultOutsideDocument,
    /// The stream ended in the middle of a line.
    TruncatedLine,
    /// A line longer than the reader keeps; `dropped` bytes were lost.
    LineTooLong {
        dropped: usize,
    },
    InvalidUtf8,
    BailOut {
        reason: String,
    },
}

impl FindingKind {
    /// Whether the stream's verdicts themselves are in doubt (numbering, structure), as
    /// opposed to its text (encoding, length, a cut at the very end).
    pub fn casts_doubt_on_verdicts(&self) -> bool {
        match self {
            FindingKind::MissingPlan { .. }
            | FindingKind::PlanMismatch { .. }
            | FindingKind::DuplicateNumber { .. }
            | FindingKind::OutOfOrder { .. }
            | FindingKind::ResultOutsideDocument
            | FindingKind::BailOut { .. } => true,
            FindingKind::TruncatedLine | FindingKind::LineTooLong { .. } | FindingKind::InvalidUtf8 => false,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        match &self.kind {
            FindingKind::MissingPlan { depth, results } => {
                write!(f, "no plan line for the {results} result(s) at depth {depth}")
            }
            FindingKind::PlanMismatch { depth, planned, seen } => {
                write!(f, "plan announced {planned} test(s) at depth {depth}, {seen} result(s) arrived")
            }
            FindingKind::DuplicateNumber { number } => {
                write!(f, "test number {number} appears twice")
            }
            FindingKind::OutOfOrder { expected, got } => {
                write!(f, "test number {got} where {expected} was expected")
            }
            FindingKind::ResultOutsideDocument => {
                write!(f, "a test result before any `KTAP version` line")
            }
            FindingKind::TruncatedLine => write!(f, "the stream ended in the middle of a line"),
            FindingKind::LineTooLong { dropped } => {
                write!(f, "line too long: {dropped} byte(s) dropped")
            }
            FindingKind::InvalidUtf8 => {
                write!(f, "invalid UTF-8 (shown with replacement characters)")
            }
            FindingKind::BailOut { reason } => write!(f, "bail out: {reason}"),
        }
    }
}

/// One open (sub)test document.
#[derive(Debug)]
struct Level {
    depth: usize,
    name: Option<String>,
    planned: Option<u64>,
    results: u64,
    last_number: u64,
    numbers: BTreeSet<u64>,
}

impl Level {
    fn new(depth: usize) -> Level {
        Level { depth, name: None, planned: None, results: 0, last_number: 0, numbers: BTreeSet::new() }
    }
}

/// The parser's state between lines.
#[derive(Debug, Default)]
pub struct Parser {
    levels: Vec<Level>,
    line_number: usize,
}

impl Parser {
    pub fn new() -> Parser {
        Parser::default()
    }

    /// Reads one line of the stream.
    pub fn line(&mut self, line: &Line) -> Vec<Item> {
        self.line_number += 1;
        let mut items = Vec::new();
        let text = match std::str::from_utf8(&line.bytes) {
            Ok(text) => text.to_string(),
            Err(_) => {
                items.push(self.finding(FindingKind::InvalidUtf8));
                String::from_utf8_lossy(&line.bytes).into_owned()
            }
        };
        if line.dropped > 0 {
            items.push(self.finding(FindingKind::LineTooLong { dropped: line.dropped }));
        }
        if line.unterminated {
            items.push(self.finding(FindingKind::TruncatedLine));
        }
        self.parse(&text, &mut items);
        items
    }

    /// The stream (or this boot's part of it) ended: checks every open document's plan.
    pub fn finish(&mut self) -> Vec<Item> {
        let mut items = Vec::new();
        while let Some(level) = self.levels.pop() {
            self.check_plan(&level, &mut items);
        }
        items
    }

    fn finding(&self, kind: FindingKind) -> Item {
        Item::Finding(Finding { line: self.line_number, kind })
    }

    fn parse(&mut self, text: &str, items: &mut Vec<Item>) {
        let trimmed_end = text.trim_end();
        let content = trimmed_end.trim_start();
        let indent: usize =
            trimmed_end[..trimmed_end.len() - content.len()].chars().map(|c| if c == '\t' { 4 } else { 1 }).sum();
        let depth = indent / 4;

        if let Some(version) = content.strip_prefix("KTAP version ").or_else(|| content.strip_prefix("TAP version ")) {
            self.version(depth, version, items);
        } else if let Some(count) = parse_plan(content) {
            match self.level_at(depth) {
                Some(level) => {
                    level.planned = Some(count);
                    items.push(Item::Plan { depth, count });
                }
                // A plan outside any document is not KTAP: keep it as kernel output.
                None => items.push(Item::Other { text: text.to_string() }),
            }
        } else if let Some(result) = parse_result(content) {
            self.result(depth, result, items);
        } else if let Some(name) = content.strip_prefix("# Subtest:") {
            let name = name.trim().to_string();
            if self.level_at(depth).is_none() {
                self.levels.push(Level::new(depth));
            }
            if let Some(level) = self.level_at(depth) {
                level.name = Some(name.clone());
            }
            items.push(Item::Subtest { depth, name });
        } else if let Some(diagnostic) = content.strip_prefix('#') {
            let text = diagnostic.strip_prefix(' ').unwrap_or(diagnostic).to_string();
            items.push(Item::Diagnostic { depth, text });
        } else if let Some(reason) = content.strip_prefix("Bail out!") {
            items.push(self.finding(FindingKind::BailOut { reason: reason.trim().to_string() }));
        } else {
            items.push(Item::Other { text: text.to_string() });
        }
    }

    fn version(&mut self, depth: usize, version: &str, items: &mut Vec<Item>) {
        // A version line at a depth already open starts a new document there: close it and
        // everything inside it.
        while self.levels.last().is_some_and(|level| level.depth >= depth) {
            if let Some(level) = self.levels.pop() {
                self.check_plan(&level, items);
            }
        }
        self.levels.push(Level::new(depth));
        items.push(Item::Version { depth, version: version.trim().to_string() });
    }

    fn result(&mut self, depth: usize, parsed: ParsedResult, items: &mut Vec<Item>) {
        // Deeper documents end with their parent's result line.
        let mut has_subtests = false;
        while self.levels.last().is_some_and(|level| level.depth > depth) {
            if let Some(level) = self.levels.pop() {
                has_subtests |= level.results > 0;
                self.check_plan(&level, items);
            }
        }
        if self.level_at(depth).is_none() {
            if depth == 0 {
                items.push(self.finding(FindingKind::ResultOutsideDocument));
            }
            self.levels.push(Level::new(depth));
        }
        let line_number = self.line_number;
        let mut findings = Vec::new();
        if let Some(level) = self.level_at(depth) {
            level.results += 1;
            let number = parsed.number.unwrap_or(level.last_number + 1);
            if !level.numbers.insert(number) {
                findings.push(FindingKind::DuplicateNumber { number });
            } else if number != level.last_number + 1 {
                findings.push(FindingKind::OutOfOrder { expected: level.last_number + 1, got: number });
            }
            level.last_number = number;
        }
        items.extend(findings.into_iter().map(|kind| Item::Finding(Finding { line: line_number, kind })));
        let parents = self
            .levels
            .iter()
            .filter(|level| level.depth > 0 && level.depth <= depth)
            .map(|level| level.name.clone().unwrap_or_else(|| "(unnamed subtest)".to_string()))
            .collect();
        items.push(Item::Result(TestResult {
            depth,
            ok: parsed.ok,
            number: parsed.number,
            name: parsed.name,
            directive: parsed.directive,
            parents,
            has_subtests,
        }));
    }

    fn level_at(&mut self, depth: usize) -> Option<&mut Level> {
        self.levels.iter_mut().rev().find(|level| level.depth == depth)
    }

    fn check_plan(&self, level: &Level, items: &mut Vec<Item>) {
        let kind = match level.planned {
            None if level.results > 0 => FindingKind::MissingPlan { depth: level.depth, results: level.results },
            Some(planned) if planned != level.results => {
                FindingKind::PlanMismatch { depth: level.depth, planned, seen: level.results }
            }
            _ => return,
        };
        items.push(self.finding(kind));
    }
}

fn parse_plan(content: &str) -> Option<u64> {
    let count = content.strip_prefix("1..")?;
    // `1..N # reason` is allowed (TAP's skip-all plan).
    let count = count.split_once(" #").map_or(count, |(count, _)| count).trim();
    count.parse().ok()
}

struct ParsedResult {
    ok: bool,
    number: Option<u64>,
    name: String,
    directive: Option<Directive>,
}

/// The test name of a line that reads as a KTAP result (`ok 3 name`), else None.
pub fn result_name(line: &str) -> Option<String> {
    parse_result(line.trim()).map(|result| result.name)
}

/// `ok 1 name`, `not ok 2 - name # SKIP reason`, `ok` alone.
fn parse_result(content: &str) -> Option<ParsedResult> {
    let (ok, rest) = if let Some(rest) = content.strip_prefix("not ok") {
        (false, rest)
    } else {
        (true, content.strip_prefix("ok")?)
    };
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None; // "okay", "ok:": kernel prose, not a result
    }
    let rest = rest.trim_start();
    let (number, rest) = match rest.split_once(' ') {
        Some((first, tail)) if first.parse::<u64>().is_ok() => (first.parse().ok(), tail),
        None if rest.parse::<u64>().is_ok() => (rest.parse().ok(), ""),
        _ => (None, rest),
    };
    let (name, directive) = match rest.split_once(" # ").or_else(|| rest.strip_prefix("# ").map(|d| ("", d))) {
        Some((name, directive)) => (name, Some(parse_directive(directive))),
        None => (rest, None),
    };
    let name = name.trim().strip_prefix("- ").unwrap_or(name.trim()).trim().to_string();
    Some(ParsedResult { ok, number, name, directive })
}

fn parse_directive(text: &str) -> Directive {
    let text = text.trim();
    let (word, reason) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let reason = reason.trim().to_string();
    match word.to_ascii_uppercase().as_str() {
        "SKIP" => Directive::Skip(reason),
        "TODO" => Directive::Todo(reason),
        _ => Directive::Other(text.to_string()),
    }
}

#[cfg(test)]
mod tests;
