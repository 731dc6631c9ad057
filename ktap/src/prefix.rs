//! A console's prefix before each KTAP line (`[    0.412345] `, `<6>`, `myhost kernel: `).
//!
//! Linux's kunit_parser takes whatever precedes `KTAP version`/`TAP version` on the version
//! line as the prefix, and removes that many characters from every following line. This
//! does the same, with one refinement for prefixes whose width varies (a timestamp that
//! grows a digit, `<6>` then `<12>`): a line that starts with a prefix of the same *shape*
//! (digits where the version line had digits, padding where it had padding) loses exactly
//! that prefix; any other line loses as many characters as the version line's prefix had,
//! as Linux does.

use regex::Regex;

/// The prefix of a KTAP document's version line.
#[derive(Clone, Debug)]
pub struct Prefix {
    /// Its length in characters (what Linux strips from every line).
    length: usize,
    /// Anchored at the start of a line: a prefix of the same shape.
    shape: Regex,
}

impl Prefix {
    /// The prefix `text` (everything before `KTAP version` on the version line); None if
    /// there is none.
    pub fn new(text: &str) -> Option<Prefix> {
        if text.is_empty() {
            return None;
        }
        let shape = Regex::new(&shape_pattern(text)).ok()?;
        Some(Prefix { length: text.chars().count(), shape })
    }

    /// `line` without the prefix.
    pub fn strip<'l>(&self, line: &'l str) -> &'l str {
        if let Some(found) = self.shape.find(line) {
            return &line[found.end()..];
        }
        match line.char_indices().nth(self.length) {
            Some((index, _)) => &line[index..],
            None => "",
        }
    }
}

/// A regex for prefixes shaped like `text`: a run of digits matches any run of digits, and
/// a run of spaces inside the prefix any run of spaces (padding); the spaces that end the
/// prefix are kept exact, since what follows them is the line's own indentation.
fn shape_pattern(text: &str) -> String {
    let body = text.trim_end_matches([' ', '\t']);
    let tail = &text[body.len()..];
    let mut pattern = String::from("^");
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            pattern.push_str("[0-9]+");
        } else if c == ' ' {
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            pattern.push_str(" *");
        } else {
            pattern.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
        }
    }
    pattern.push_str(&regex::escape(tail));
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_of_the_same_shape_are_stripped_whatever_their_width() {
        let cases = [
            ("[    0.412345] ", "[  100.000001] ok 1 a", "ok 1 a"),
            ("[    0.412345] ", "[    0.412345] \tok 1 a", "\tok 1 a"),
            ("<6>", "<12>ok 1 a", "ok 1 a"),
            ("[    0.060000][    T1] ", "[    0.060000][  T123] # Subtest: x", "# Subtest: x"),
            ("myhost kernel: ", "myhost kernel:     ok 1 nested", "    ok 1 nested"),
        ];
        for (prefix, line, stripped) in cases {
            assert_eq!(Prefix::new(prefix).unwrap().strip(line), stripped, "{prefix:?} on {line:?}");
        }
    }

    #[test]
    fn a_line_of_another_shape_loses_the_prefix_length_as_linux_strips_it() {
        let prefix = Prefix::new("[    0.412345] ").unwrap();
        assert_eq!(prefix.strip("no timestamp on this line"), " this line");
        assert_eq!(prefix.strip("short"), "");
        // Characters, not bytes: a multi-byte character is never cut in half.
        assert_eq!(prefix.strip("ééééééééééééééé!"), "!");
    }

    #[test]
    fn a_whitespace_prefix_keeps_the_indentation_after_it() {
        let prefix = Prefix::new(" ").unwrap();
        assert_eq!(prefix.strip(" \t# Subtest: x"), "\t# Subtest: x");
        assert_eq!(prefix.strip("  foo bar \t#"), " foo bar \t#");
    }

    #[test]
    fn no_prefix_is_none() {
        assert!(Prefix::new("").is_none());
    }
}
