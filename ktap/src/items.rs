//! What the reader gives: the items a line is, and the findings about the stream.

use std::fmt;

/// KTAP or plain TAP (TAP 13 and 14 read the same here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Ktap,
    Tap,
}

impl Dialect {
    pub(crate) fn accepts(self, version: u64) -> bool {
        match self {
            Dialect::Ktap => version == 1,
            Dialect::Tap => version == 13 || version == 14,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::Ktap => "KTAP",
            Dialect::Tap => "TAP",
        })
    }
}

/// One recognised line (or a finding about the stream).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// `KTAP version 1` (or `TAP version N`); depth 0 starts a new document.
    Version {
        depth: usize,
        dialect: Dialect,
        version: u64,
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
    /// A line that is not KTAP: output between the KTAP lines (console prefix removed).
    Other {
        text: String,
    },
    Finding(Finding),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestResult {
    pub depth: usize,
    pub ok: bool,
    /// The test number; None only when it is too large for a `u64` (with a finding).
    pub number: Option<u64>,
    pub name: String,
    pub directive: Option<Directive>,
    /// Names of the enclosing subtests, outermost first.
    pub parents: Vec<String>,
    /// This result closes a subtest that had results of its own (a suite's result).
    pub has_subtests: bool,
}

impl TestResult {
    /// Whether the verdict is a skip (`# SKIP`), whatever `ok` says.
    pub fn skipped(&self) -> bool {
        matches!(self.directive, Some(Directive::Skip(_)))
    }
}

/// What follows ` # ` on a result line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Directive {
    /// `# SKIP reason`: the test did not run.
    Skip(String),
    /// Any other directive (`# TODO later`, ...), kept as text. As in kunit_parser, only SKIP
    /// changes a verdict.
    Other(String),
}

/// A way the stream departs from KTAP.
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
    /// `expected` is one more than the last number, which may itself be `u64::MAX`.
    OutOfOrder {
        expected: u128,
        got: u64,
    },
    /// A test number with more digits than any counter holds.
    NumberTooLarge {
        digits: usize,
    },
    /// A line that starts like a result but is not one (no number, say): read as output,
    /// as kunit_parser reads it.
    MalformedResult,
    /// A result before any version line.
    ResultOutsideDocument,
    /// A subtest ended (the stream ended, or its parent went on) without its own result line.
    MissingSuiteResult {
        name: String,
    },
    /// A version this reader (and kunit_parser) does not know.
    UnsupportedVersion {
        dialect: Dialect,
        version: u64,
    },
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
    /// opposed to its text (encoding, length, a cut at the very end, an unknown version).
    pub fn casts_doubt_on_verdicts(&self) -> bool {
        match self {
            FindingKind::MissingPlan { .. }
            | FindingKind::PlanMismatch { .. }
            | FindingKind::DuplicateNumber { .. }
            | FindingKind::OutOfOrder { .. }
            | FindingKind::NumberTooLarge { .. }
            | FindingKind::ResultOutsideDocument
            | FindingKind::MissingSuiteResult { .. }
            | FindingKind::BailOut { .. } => true,
            FindingKind::MalformedResult
            | FindingKind::UnsupportedVersion { .. }
            | FindingKind::TruncatedLine
            | FindingKind::LineTooLong { .. }
            | FindingKind::InvalidUtf8 => false,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FindingKind::MissingPlan { depth, results } => {
                write!(f, "no plan line for the {results} result(s) at depth {depth}")
            }
            FindingKind::PlanMismatch { depth, planned, seen } => {
                write!(f, "plan announced {planned} test(s) at depth {depth}, {seen} result(s) arrived")
            }
            FindingKind::DuplicateNumber { number } => write!(f, "test number {number} appears twice"),
            FindingKind::OutOfOrder { expected, got } => write!(f, "test number {got} where {expected} was expected"),
            FindingKind::NumberTooLarge { digits } => {
                write!(f, "a test number of {digits} digits, too large to count")
            }
            FindingKind::MalformedResult => {
                write!(f, "a line that starts like a result but is not `ok NUMBER name`: read as output")
            }
            FindingKind::ResultOutsideDocument => write!(f, "a test result before any `KTAP version` line"),
            FindingKind::MissingSuiteResult { name } => write!(f, "subtest `{name}` ended without its result line"),
            FindingKind::UnsupportedVersion { dialect, version } => {
                write!(f, "{dialect} version {version} is not one this reader knows (KTAP 1, TAP 13, TAP 14)")
            }
            FindingKind::TruncatedLine => write!(f, "the stream ended in the middle of a line"),
            FindingKind::LineTooLong { dropped } => write!(f, "line too long: {dropped} byte(s) dropped"),
            FindingKind::InvalidUtf8 => write!(f, "invalid UTF-8 (shown with replacement characters)"),
            FindingKind::BailOut { reason } => write!(f, "bail out: {reason}"),
        }
    }
}
