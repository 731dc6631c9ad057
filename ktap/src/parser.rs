//! The incremental reader: one line in, the items it is (and any findings) out.
//!
//! Documents nest by structure, as kunit_parser nests them, not by indentation: a version
//! line or a `# Subtest:` header inside a document opens a subtest; the subtest ends with
//! its own result line (the one carrying its name, or, for an unnamed one, the first after
//! its plan is met). Depth in the items is that structural depth (0: the document).

use crate::grammar::{self, ParsedResult};
use crate::items::{Dialect, Finding, FindingKind, Item, TestResult};
use crate::lines::Line;
use crate::prefix::Prefix;
use std::collections::BTreeSet;

/// One open (sub)test document.
#[derive(Debug, Default)]
struct Level {
    name: Option<String>,
    /// Opened by a version line (else by a `# Subtest:` header or a stray result).
    has_version: bool,
    planned: Option<u64>,
    /// Its tests so far (results, and subtests that ended).
    results: u64,
    /// The number the next result should carry (u128: one past `u64::MAX` is representable).
    next_number: u128,
    numbers: BTreeSet<u64>,
}

impl Level {
    fn new(name: Option<String>, has_version: bool) -> Level {
        Level { name, has_version, next_number: 1, ..Level::default() }
    }

    /// Just opened: nothing but its header so far.
    fn fresh(&self) -> bool {
        self.planned.is_none() && self.results == 0
    }

    /// Its plan is met.
    fn full(&self) -> bool {
        self.planned.is_some_and(|planned| self.results >= planned)
    }
}

/// The reader's state between lines.
#[derive(Debug, Default)]
pub struct Parser {
    /// The open documents: the top-level one first, then its open subtests.
    levels: Vec<Level>,
    line_number: usize,
    /// The console prefix of the current top-level document's version line.
    prefix: Option<Prefix>,
}

impl Parser {
    pub fn new() -> Parser {
        Parser::default()
    }

    /// Reads one line of the stream, as bytes with what the line splitter knows of it.
    pub fn line(&mut self, line: &Line) -> Vec<Item> {
        let (text, mut items) = self.decode(line);
        self.parse(&text, &mut items);
        items
    }

    /// Reads one line as output, whatever it looks like (a caller that knows better: a line a
    /// running test printed).
    pub fn output_line(&mut self, line: &Line) -> Vec<Item> {
        let (text, mut items) = self.decode(line);
        items.push(Item::Other { text: self.strip_prefix(text.trim_end()).to_string() });
        items
    }

    /// Reads one complete line of text.
    pub fn text_line(&mut self, text: &str) -> Vec<Item> {
        self.line_number += 1;
        let mut items = Vec::new();
        self.parse(text, &mut items);
        items
    }

    fn decode<'l>(&mut self, line: &'l Line) -> (std::borrow::Cow<'l, str>, Vec<Item>) {
        self.line_number += 1;
        let mut items = Vec::new();
        let text = match std::str::from_utf8(&line.bytes) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => {
                items.push(self.finding(FindingKind::InvalidUtf8));
                String::from_utf8_lossy(&line.bytes)
            }
        };
        if line.dropped > 0 {
            items.push(self.finding(FindingKind::LineTooLong { dropped: line.dropped }));
        }
        if line.unterminated {
            items.push(self.finding(FindingKind::TruncatedLine));
        }
        (text, items)
    }

    /// The stream (or this part of it, a boot say) ended: checks every open document's plan.
    /// The next version line starts afresh, with its own prefix.
    pub fn finish(&mut self) -> Vec<Item> {
        let mut items = Vec::new();
        while !self.levels.is_empty() {
            self.close_without_result(&mut items);
        }
        self.prefix = None;
        items
    }

    /// `text` without the console prefix of the current document, as the next line would be
    /// read (nothing changes).
    pub fn strip_prefix<'t>(&self, text: &'t str) -> &'t str {
        match &self.prefix {
            Some(prefix) => prefix.strip(text),
            None => text,
        }
    }

    /// How many lines it has read.
    pub fn lines_read(&self) -> usize {
        self.line_number
    }

    fn finding(&self, kind: FindingKind) -> Item {
        Item::Finding(Finding { line: self.line_number, kind })
    }

    fn depth(&self) -> usize {
        self.levels.len().saturating_sub(1)
    }

    fn parse(&mut self, raw: &str, items: &mut Vec<Item>) {
        let raw = raw.trim_end();
        // A version line with something before it, outside any document, sets the prefix
        // for the document it starts (kunit_parser's rule).
        if self.levels.is_empty()
            && let Some((start, dialect, version)) = grammar::version_at_end(raw)
        {
            let before = &raw[..start];
            if !before.trim().is_empty() {
                self.prefix = Prefix::new(before);
                return self.version(dialect, version, items);
            }
        }
        let text = self.strip_prefix(raw);
        let content = text.trim_start();
        if let Some((dialect, version)) = grammar::version_at_start(content) {
            self.version(dialect, version, items);
        } else if let Some(count) = grammar::parse_plan(content) {
            match self.levels.last_mut() {
                Some(level) if level.fresh() => {
                    level.planned = Some(count);
                    items.push(Item::Plan { depth: self.depth(), count });
                }
                // A plan outside a document's header is not KTAP: keep it as output.
                _ => items.push(Item::Other { text: text.to_string() }),
            }
        } else if let Some(result) = grammar::parse_result_parts(content) {
            self.result(result, items);
        } else if grammar::looks_like_result(content) {
            items.push(self.finding(FindingKind::MalformedResult));
            items.push(Item::Other { text: text.to_string() });
        } else if let Some(name) = content.strip_prefix("# Subtest:").filter(|_| !self.levels.is_empty()) {
            self.subtest(name.trim().to_string(), items);
        } else if let Some(diagnostic) = content.strip_prefix('#') {
            let text = diagnostic.strip_prefix(' ').unwrap_or(diagnostic).to_string();
            items.push(Item::Diagnostic { depth: self.depth(), text });
        } else if let Some(reason) = content.strip_prefix("Bail out!") {
            items.push(self.finding(FindingKind::BailOut { reason: reason.trim().to_string() }));
        } else {
            items.push(Item::Other { text: text.to_string() });
        }
    }

    fn version(&mut self, dialect: Dialect, version: u64, items: &mut Vec<Item>) {
        let top_level_done = self.levels.len() == 1 && self.levels[0].full();
        let nested = self.levels.len() > 1;
        match self.levels.last_mut() {
            None => self.levels.push(Level::new(None, true)),
            // A `# Subtest:` header may come before its document's version line.
            Some(level) if nested && level.fresh() && !level.has_version => level.has_version = true,
            // A document whose plan is met, then a version line: the next document.
            Some(_) if top_level_done => {
                self.close_without_result(items);
                self.levels.push(Level::new(None, true));
            }
            Some(_) => self.levels.push(Level::new(None, true)),
        }
        if !dialect.accepts(version) {
            items.push(self.finding(FindingKind::UnsupportedVersion { dialect, version }));
        }
        items.push(Item::Version { depth: self.depth(), dialect, version });
    }

    fn subtest(&mut self, name: String, items: &mut Vec<Item>) {
        let nested = self.levels.len() > 1;
        match self.levels.last_mut() {
            // The version line came first: this names that subtest.
            Some(level) if nested && level.fresh() && level.name.is_none() => level.name = Some(name.clone()),
            _ => self.levels.push(Level::new(Some(name.clone()), false)),
        }
        items.push(Item::Subtest { depth: self.depth(), name });
    }

    fn result(&mut self, parsed: ParsedResult, items: &mut Vec<Item>) {
        if self.levels.is_empty() {
            items.push(self.finding(FindingKind::ResultOutsideDocument));
            self.levels.push(Level::new(None, false));
        }
        // Which open subtest does this result close, if any? A named subtest is closed by
        // its own name; an unnamed one by the first result after its plan is met. A full
        // named subtest whose result does not come ends without it.
        while self.levels.len() > 1 {
            let level = self.levels.last().expect("more than one level");
            let closes = match &level.name {
                Some(name) => *name == parsed.name,
                None => level.full(),
            };
            if closes {
                let level = self.levels.pop().expect("more than one level");
                self.check_plan(&level, self.levels.len(), items);
                return self.push_result(parsed, level.results > 0, items);
            }
            if !level.full() {
                break;
            }
            self.close_without_result(items);
        }
        self.push_result(parsed, false, items);
    }

    /// A result of the innermost open document: a test of it, or the end of a subtest.
    fn push_result(&mut self, parsed: ParsedResult, has_subtests: bool, items: &mut Vec<Item>) {
        let depth = self.depth();
        let line = self.line_number;
        let level = self.levels.last_mut().expect("a document is open");
        level.results = level.results.saturating_add(1);
        let finding = match parsed.number {
            Some(number) => {
                let finding = if !level.numbers.insert(number) {
                    Some(FindingKind::DuplicateNumber { number })
                } else if u128::from(number) != level.next_number {
                    Some(FindingKind::OutOfOrder { expected: level.next_number, got: number })
                } else {
                    None
                };
                level.next_number = u128::from(number) + 1;
                finding
            }
            None => {
                level.next_number = u128::from(u64::MAX) + 1;
                Some(FindingKind::NumberTooLarge { digits: parsed.digits })
            }
        };
        items.extend(finding.map(|kind| Item::Finding(Finding { line, kind })));
        let parents = self.levels[1..]
            .iter()
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

    /// Ends the innermost document without a result line of its own: a subtest counts as a
    /// test of its parent (kunit_parser counts it so), and says its result is missing.
    fn close_without_result(&mut self, items: &mut Vec<Item>) {
        let Some(level) = self.levels.pop() else { return };
        self.check_plan(&level, self.levels.len(), items);
        if let Some(parent) = self.levels.last_mut() {
            parent.results = parent.results.saturating_add(1);
            let name = level.name.unwrap_or_else(|| "(unnamed subtest)".to_string());
            items.push(self.finding(FindingKind::MissingSuiteResult { name }));
        }
    }

    fn check_plan(&self, level: &Level, depth: usize, items: &mut Vec<Item>) {
        let kind = match level.planned {
            None if level.results > 0 => FindingKind::MissingPlan { depth, results: level.results },
            Some(planned) if planned != level.results => {
                FindingKind::PlanMismatch { depth, planned, seen: level.results }
            }
            _ => return,
        };
        items.push(self.finding(kind));
    }
}
