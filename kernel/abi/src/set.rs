//! `ktest.set=BITS`: which of the selected tests one boot runs, chosen by the harness one
//! test at a time (for balanced parallel boots, duration-balanced CI shards and
//! `--rerun-failed`), where a partition's rule cannot say it.
//!
//! The positions are those of the tests the rest of the command line selects, in name
//! order, after the partition (exactly what a `ktest.list` boot with the same command line
//! prints). `BITS` is a bitmap in base64url (RFC 4648 §5, no padding): six tests per
//! character, the first test in the character's highest bit. Positions past the end of the
//! bitmap are not in the set. 10,000 tests take 1,667 characters, well within what QEMU
//! passes to a kernel on every arch (60,000 were seen to arrive whole).

use core::fmt;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A set of test positions, as the command line carries it (checked, not decoded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestSet<'a>(&'a str);

/// `BITS` holds a character that is not base64url.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadCharacter;

impl fmt::Display for BadCharacter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("expected base64url characters (A-Z a-z 0-9 - _)")
    }
}

fn value(byte: u8) -> Option<u8> {
    ALPHABET.iter().position(|&c| c == byte).map(|index| index as u8)
}

impl<'a> TestSet<'a> {
    pub fn parse(bits: &'a str) -> Result<TestSet<'a>, BadCharacter> {
        if bits.bytes().all(|byte| value(byte).is_some()) { Ok(TestSet(bits)) } else { Err(BadCharacter) }
    }

    /// Whether the test at `position` (0-based) is in the set.
    pub fn contains(&self, position: usize) -> bool {
        let Some(&byte) = self.0.as_bytes().get(position / 6) else { return false };
        let sextet = value(byte).unwrap_or(0);
        sextet & (0x20 >> (position % 6)) != 0
    }

    /// The encoded bitmap, as the command line carries it.
    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

impl fmt::Display for TestSet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Writes the bitmap of `members` (whether each position, from 0, is in the set), trailing
/// empty characters left out.
pub fn encode(members: impl IntoIterator<Item = bool>, out: &mut impl fmt::Write) -> fmt::Result {
    let (mut sextet, mut filled, mut pending_empty) = (0u8, 0, 0usize);
    let mut flush = |sextet: u8, out: &mut dyn fmt::Write| -> fmt::Result {
        if sextet == 0 {
            pending_empty += 1;
            return Ok(());
        }
        for _ in 0..core::mem::take(&mut pending_empty) {
            out.write_char('A')?;
        }
        out.write_char(ALPHABET[usize::from(sextet)] as char)
    };
    for member in members {
        sextet |= u8::from(member) << (5 - filled);
        filled += 1;
        if filled == 6 {
            flush(sextet, out)?;
            (sextet, filled) = (0, 0);
        }
    }
    if filled > 0 {
        flush(sextet, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    fn encoded(members: &[bool]) -> String {
        let mut out = String::new();
        encode(members.iter().copied(), &mut out).unwrap();
        out
    }

    #[test]
    fn every_position_reads_back_as_written() {
        // A pseudo-random pattern over lengths that do and do not fill the last character.
        for length in [0usize, 1, 5, 6, 7, 12, 13, 100, 10_000] {
            let members: Vec<bool> = (0..length).map(|i| (i * 7919 + i / 3) % 5 < 2).collect();
            let text = encoded(&members);
            assert!(text.len() <= length.div_ceil(6), "{length}: {}", text.len());
            let set = TestSet::parse(&text).unwrap();
            for (position, member) in members.iter().enumerate() {
                assert_eq!(set.contains(position), *member, "position {position} of {length}");
            }
            assert!(!set.contains(length + 6), "past the end is outside");
        }
    }

    #[test]
    fn the_first_test_is_the_highest_bit_and_trailing_empties_are_dropped() {
        assert_eq!(encoded(&[true]), "g"); // 0b100000 = 32
        assert_eq!(encoded(&[false, false, false, false, false, true]), "B");
        assert_eq!(encoded(&[false; 6]), "");
        let mut sparse = [false; 13];
        sparse[12] = true;
        assert_eq!(encoded(&sparse), "AAg");
    }

    #[test]
    fn characters_outside_base64url_are_refused() {
        for text in ["a+b", "a/b", "a=", "é", "a b"] {
            assert_eq!(TestSet::parse(text), Err(BadCharacter), "{text}");
        }
        assert!(TestSet::parse("").is_ok());
    }
}
