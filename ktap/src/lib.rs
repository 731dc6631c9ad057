//! A tolerant, incremental KTAP reader and a KTAP writer.
//!
//! [KTAP](https://docs.kernel.org/dev-tools/ktap.html) is the test output format of Linux's
//! KUnit and kselftest (a dialect of TAP). This crate reads it the way Linux's own
//! `tools/testing/kunit/kunit_parser.py` does, one line at a time, so that a stream can be
//! judged while it arrives:
//!
//! - `KTAP version 1`, `TAP version 13` and `TAP version 14` documents, nested as
//!   kunit_parser nests them: by structure (a version line or a `# Subtest:` header inside a
//!   document opens a subtest, its own result line closes it), whatever the indentation;
//! - result lines `ok N [- ]name [# directive]` (a test number is required, as in KTAP and
//!   in kunit_parser; `# SKIP` is the directive that changes a verdict);
//! - plans (`1..N`), diagnostics (`# text`), and TAP's `Bail out!`;
//! - whatever console prefix precedes the version line (a timestamp, a log level, a host
//!   name), stripped from the lines that follow as kunit_parser strips it ([`Prefix`]).
//!
//! Whatever arrives (kernel prints between KTAP lines, a missing plan, duplicate or
//! out-of-order numbers, numbers too large for any counter, a truncated last line, invalid
//! UTF-8, garbage) it never panics: each departure from KTAP is a [`Finding`] next to the
//! items.
//!
//! ```
//! use ktap::{Item, Parser};
//!
//! let mut parser = Parser::new();
//! let mut items = Vec::new();
//! for line in ["[    0.1] KTAP version 1", "[    0.1] 1..1", "[    0.2] ok 1 boots"] {
//!     items.extend(parser.text_line(line));
//! }
//! items.extend(parser.finish());
//! let Item::Result(result) = &items[2] else { panic!("{items:?}") };
//! assert!(result.ok && result.name == "boots" && result.number == Some(1));
//! ```
//!
//! [`Writer`] writes documents that this reader (and kunit_parser) read back.
//!
//! **Architecture invariant:** this crate knows nothing about QEMU, architectures or any
//! harness's conventions beyond KTAP itself.

mod grammar;
mod items;
mod lines;
mod parser;
mod prefix;
mod writer;

pub use grammar::parse_result;
pub use items::{Dialect, Directive, Finding, FindingKind, Item, TestResult};
pub use lines::{Line, LineSplitter, MAX_LINE, for_each_line, for_each_read};
pub use parser::Parser;
pub use prefix::Prefix;
pub use writer::{Writer, escape_name};

#[cfg(test)]
mod tests;
