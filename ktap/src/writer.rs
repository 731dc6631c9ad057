//! Writes KTAP version 1 that [`crate::Parser`] and Linux's kunit_parser read back.

use crate::items::Directive;
use std::fmt::{self, Write};

/// Writes a KTAP document line by line into any [`fmt::Write`].
///
/// ```
/// use ktap::{Directive, Writer};
///
/// let mut writer = Writer::new(String::new());
/// writer.version().unwrap();
/// writer.plan(2).unwrap();
/// writer.diagnostic("took 3 ms\nand a second line").unwrap();
/// writer.result(true, 1, "fmt::integers", None).unwrap();
/// writer.result(true, 2, "smp::boot", Some(&Directive::Skip("one CPU".into()))).unwrap();
/// assert_eq!(
///     writer.into_inner(),
///     "KTAP version 1\n1..2\n# took 3 ms\n# and a second line\nok 1 fmt::integers\n\
///      ok 2 smp::boot # SKIP one CPU\n"
/// );
/// ```
pub struct Writer<W: Write> {
    out: W,
    /// Nesting depth: four spaces of indentation per level.
    depth: usize,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> Writer<W> {
        Writer { out, depth: 0 }
    }

    /// Lines written from now on belong to a document `depth` levels deep.
    pub fn set_depth(&mut self, depth: usize) {
        self.depth = depth;
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    /// What it writes into, to add lines of another kind between KTAP lines.
    pub fn inner_mut(&mut self) -> &mut W {
        &mut self.out
    }

    fn indent(&mut self) -> fmt::Result {
        for _ in 0..self.depth {
            self.out.write_str("    ")?;
        }
        Ok(())
    }

    pub fn version(&mut self) -> fmt::Result {
        self.indent()?;
        self.out.write_str("KTAP version 1\n")
    }

    pub fn subtest(&mut self, name: &str) -> fmt::Result {
        self.indent()?;
        writeln!(self.out, "# Subtest: {}", escape_name(name))
    }

    pub fn plan(&mut self, count: u64) -> fmt::Result {
        self.indent()?;
        writeln!(self.out, "1..{count}")
    }

    /// `# text`, one line per line of `text`.
    pub fn diagnostic(&mut self, text: &str) -> fmt::Result {
        for line in text.split('\n') {
            self.indent()?;
            let line = line.trim_end_matches('\r');
            if line.is_empty() { self.out.write_str("#\n")? } else { writeln!(self.out, "# {line}")? }
        }
        Ok(())
    }

    /// `ok N name [# directive]`.
    pub fn result(&mut self, ok: bool, number: u64, name: &str, directive: Option<&Directive>) -> fmt::Result {
        self.indent()?;
        let verdict = if ok { "ok" } else { "not ok" };
        let name = escape_name(name);
        // A name that itself starts with `- ` keeps it behind the optional separator.
        let separator = if name.starts_with("- ") { "- " } else { "" };
        write!(self.out, "{verdict} {number} {separator}{name}")?;
        match directive {
            Some(Directive::Skip(reason)) if reason.is_empty() => self.out.write_str(" # SKIP")?,
            Some(Directive::Skip(reason)) => write!(self.out, " # SKIP {}", one_line(reason))?,
            Some(Directive::Other(text)) => write!(self.out, " # {}", one_line(text))?,
            None => {}
        }
        self.out.write_char('\n')
    }
}

/// A test name as it can stand on a result line: `#` (which starts a directive) and line
/// breaks are written as `%23`, `%0A`, `%0D`. Every name the reader produces is written
/// unchanged.
pub fn escape_name(name: &str) -> String {
    name.trim().replace('#', "%23").replace('\n', "%0A").replace('\r', "%0D")
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}
