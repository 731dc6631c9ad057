//! Text from the kernel made safe to show, and the styles of the human display.
//!
//! A kernel under test prints whatever it likes; it must not be able to drive the
//! developer's terminal (clear it, ring it, move the cursor) or make a CI log binary.
//! Everything a reporter shows that came from the kernel goes through [`printable`]; the raw
//! bytes stay in the serial log.

use anstyle::{AnsiColor, Style};
use std::borrow::Cow;

/// `text` with every control character escaped (`\x1b`, `\0`, `\x7f`, `\u{85}`); tabs stay.
pub fn printable(text: &str) -> Cow<'_, str> {
    // Most text is printable ASCII: told by a loop over the bytes (a debug build's char
    // iterator took most of a verdict line's time); anything else is read char by char.
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() && (matches!(bytes[at], b' '..=b'~' | b'\t')) {
        at += 1;
    }
    if at == bytes.len() || !text[at..].chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\0' => out.push_str("\\0"),
            c if needs_escape(c) && (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() && c != '\t'
}

/// The styles of the human display (shown only where colour is on).
pub mod style {
    use super::*;

    pub const OK: Style = AnsiColor::Green.on_default();
    pub const FAILED: Style = AnsiColor::Red.on_default().bold();
    pub const FLAKY: Style = AnsiColor::Yellow.on_default().bold();
    pub const MUTED: Style = Style::new().dimmed();
    pub const PROBLEM: Style = AnsiColor::Red.on_default();
    pub const NOTE: Style = AnsiColor::Yellow.on_default();
    pub const HEADING: Style = Style::new().bold();
}

/// `text` in `style`: the escape codes are removed again by the output stream where colour
/// is off.
pub fn styled(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// When the human display uses colour (`--color`; else `CARGO_TERM_COLOR`; else on a
/// terminal, unless `NO_COLOR` says otherwise).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Color {
    #[default]
    Auto,
    Always,
    Never,
}

impl Color {
    /// The choice for this run: the flag if given, else `CARGO_TERM_COLOR`, else auto.
    pub fn resolve(flag: Option<Color>) -> anstream::ColorChoice {
        let chosen = flag.or_else(|| match std::env::var("CARGO_TERM_COLOR").ok()?.as_str() {
            "always" => Some(Color::Always),
            "never" => Some(Color::Never),
            _ => None,
        });
        match chosen.unwrap_or_default() {
            Color::Auto => anstream::ColorChoice::Auto,
            Color::Always => anstream::ColorChoice::Always,
            Color::Never => anstream::ColorChoice::Never,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        let cases = [
            ("plain text, tabs\tstay", "plain text, tabs\tstay"),
            ("\u{1b}[2Jcleared", "\\x1b[2Jcleared"),
            ("nul\0bell\u{7}", "nul\\0bell\\x07"),
            ("del\u{7f} c1\u{85}", "del\\x7f c1\\u{85}"),
            ("ünïcode ✓ and \u{fffd}", "ünïcode ✓ and \u{fffd}"),
            ("line\nbreak\r", "line\\x0abreak\\x0d"),
        ];
        for (text, shown) in cases {
            assert_eq!(printable(text), shown, "{text:?}");
        }
    }
}
