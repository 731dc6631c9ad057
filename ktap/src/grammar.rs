//! The line grammar, as Linux's kunit_parser has it: version, plan and result lines.

use crate::items::{Dialect, Directive};
use regex::Regex;
use std::sync::LazyLock;

/// `KTAP version N` / `TAP version N` at the end of a line (kunit_parser's KTAP_START).
static VERSION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(K?TAP) version ([0-9]+)$").expect("the version pattern is valid"));
/// A result line as kunit_parser's TEST_RESULT reads it (after the indentation).
static RESULT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(ok|not ok) ([0-9]+) (- )?([^#]*)( # .*)?$").expect("the result pattern is valid"));
/// What a result line starts with, to flag the ones that are not quite results.
static LOOKS_LIKE_RESULT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(ok|not ok)(\s|$)").expect("the pattern is valid"));
/// A plan as kunit_parser's TEST_PLAN reads it (a prefix match: `1..3 # reason` too).
static PLAN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^1\.\.([0-9]+)").expect("the plan pattern is valid"));

fn version_of(found: &regex::Captures<'_>) -> (Dialect, u64) {
    let dialect = if &found[1] == "KTAP" { Dialect::Ktap } else { Dialect::Tap };
    (dialect, found[2].parse().unwrap_or(u64::MAX))
}

// Every line of a stream meets these patterns, and a line that cannot hold a pattern's
// literal text is told so without the regex engine (which costs tens of microseconds a
// call in a debug build: a 10,000-test log is read in 60,000 calls). Each check below
// answers exactly as its pattern would.

/// The version line that starts `content`, if it is one.
pub(crate) fn version_at_start(content: &str) -> Option<(Dialect, u64)> {
    if !(content.starts_with("KTAP version ") || content.starts_with("TAP version ")) {
        return None;
    }
    VERSION
        .captures(content)
        .filter(|found| found.get(0).is_some_and(|m| m.start() == 0))
        .map(|found| version_of(&found))
}

/// Where the version line at the end of `raw` starts, and what it says, if `raw` ends in one
/// (a console prefix may come before it).
pub(crate) fn version_at_end(raw: &str) -> Option<(usize, Dialect, u64)> {
    if !raw.contains("TAP version ") {
        return None;
    }
    let found = VERSION.captures(raw)?;
    let (dialect, version) = version_of(&found);
    Some((found.get(0).map_or(0, |m| m.start()), dialect, version))
}

/// Whether `content` starts like a result line (to flag the ones that are not quite one).
pub(crate) fn looks_like_result(content: &str) -> bool {
    (content.starts_with("ok") || content.starts_with("not ok")) && LOOKS_LIKE_RESULT.is_match(content)
}

pub(crate) fn parse_plan(content: &str) -> Option<u64> {
    if !content.starts_with("1..") {
        return None;
    }
    // A count too large for a u64 still is a plan; it can never be met.
    PLAN.captures(content).map(|found| found[1].parse().unwrap_or(u64::MAX))
}

/// A result line's parts.
#[cfg_attr(test, derive(Debug, PartialEq))]
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
    let (ok, after_verdict) = match content.strip_prefix("ok ") {
        Some(rest) => (true, rest),
        None => (false, content.strip_prefix("not ok ")?),
    };
    plain_result(ok, after_verdict).or_else(|| pattern_result(content))
}

/// A result line as [`RESULT`] reads it.
fn pattern_result(content: &str) -> Option<ParsedResult> {
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

/// The common result line, `NUMBER [- ]NAME` after the verdict with no `#` and no line
/// break in it, read as [`RESULT`] reads it; None for any other (the pattern decides).
fn plain_result(ok: bool, after_verdict: &str) -> Option<ParsedResult> {
    let digits_end = after_verdict.bytes().position(|byte| !byte.is_ascii_digit())?;
    let (digits, rest) = after_verdict.split_at(digits_end);
    let rest = rest.strip_prefix(' ')?;
    // Bytes, not `contains(['#', '\n'])`: the char-set searcher took most of a result line's
    // parse in a debug build.
    if digits.is_empty() || rest.bytes().any(|byte| byte == b'#' || byte == b'\n') {
        return None;
    }
    let name = rest.strip_prefix("- ").unwrap_or(rest);
    Some(ParsedResult {
        ok,
        number: digits.parse().ok(),
        digits: digits.len(),
        name: name.trim().to_string(),
        directive: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The checks before the patterns never change what a line reads as.
        #[test]
        fn the_shortcuts_read_every_line_as_the_patterns_do(
            line in "(ok |not ok |ok|not ok|1\\.\\.|K?TAP version |x)?[0-9 a#\\-\n\t.SKIPK]{0,14}"
        ) {
            prop_assert_eq!(parse_result_parts(&line), pattern_result(&line));
            prop_assert_eq!(looks_like_result(&line), LOOKS_LIKE_RESULT.is_match(&line));
            prop_assert_eq!(parse_plan(&line), PLAN.captures(&line).map(|found| found[1].parse().unwrap_or(u64::MAX)));
            let at_start = VERSION.captures(&line).filter(|found| found.get(0).is_some_and(|m| m.start() == 0));
            prop_assert_eq!(version_at_start(&line), at_start.map(|found| version_of(&found)));
            let at_end = VERSION.captures(&line).map(|found| (found.get(0).map_or(0, |m| m.start()), version_of(&found)));
            prop_assert_eq!(version_at_end(&line).map(|(start, dialect, version)| (start, (dialect, version))), at_end);
        }
    }
}
