//! The line grammar, as Linux's kunit_parser has it: version, plan and result lines.

use crate::items::{Dialect, Directive};
use regex::Regex;
use std::sync::LazyLock;

/// `KTAP version N` / `TAP version N` at the end of a line (kunit_parser's KTAP_START).
pub(crate) static VERSION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(K?TAP) version ([0-9]+)$").expect("the version pattern is valid"));
/// A result line as kunit_parser's TEST_RESULT reads it (after the indentation).
static RESULT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(ok|not ok) ([0-9]+) (- )?([^#]*)( # .*)?$").expect("the result pattern is valid"));
/// What a result line starts with, to flag the ones that are not quite results.
pub(crate) static LOOKS_LIKE_RESULT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(ok|not ok)(\s|$)").expect("the pattern is valid"));
/// A plan as kunit_parser's TEST_PLAN reads it (a prefix match: `1..3 # reason` too).
static PLAN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^1\.\.([0-9]+)").expect("the plan pattern is valid"));

pub(crate) fn version_of(found: &regex::Captures<'_>) -> (Dialect, u64) {
    let dialect = if &found[1] == "KTAP" { Dialect::Ktap } else { Dialect::Tap };
    (dialect, found[2].parse().unwrap_or(u64::MAX))
}

pub(crate) fn parse_plan(content: &str) -> Option<u64> {
    // A count too large for a u64 still is a plan; it can never be met.
    PLAN.captures(content).map(|found| found[1].parse().unwrap_or(u64::MAX))
}

/// A result line's parts.
pub(crate) struct ParsedResult {
    pub ok: bool,
    pub number: Option<u64>,
    pub digits: usize,
    pub name: String,
    pub directive: Option<Directive>,
}

/// The result a line (without its indentation) reads as: `ok 1 name`, `not ok 2 - name #
/// SKIP reason`; None if it is not a result line. Returns (ok, number, name, directive).
pub fn parse_result(content: &str) -> Option<(bool, Option<u64>, String, Option<Directive>)> {
    let parsed = parse_result_parts(content)?;
    Some((parsed.ok, parsed.number, parsed.name, parsed.directive))
}

pub(crate) fn parse_result_parts(content: &str) -> Option<ParsedResult> {
    let found = RESULT.captures(content)?;
    let digits = &found[2];
    let directive = found.get(5).map(|directive| {
        let text = directive.as_str()[3..].trim();
        match text.strip_prefix("SKIP") {
            Some(reason) if reason.is_empty() || reason.starts_with(char::is_whitespace) => {
                Directive::Skip(reason.trim().to_string())
            }
            _ => Directive::Other(text.to_string()),
        }
    });
    Some(ParsedResult {
        ok: &found[1] == "ok",
        number: digits.parse().ok(),
        digits: digits.len(),
        name: found[4].trim().to_string(),
        directive,
    })
}
