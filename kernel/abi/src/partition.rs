//! Splitting a test suite into N disjoint slices that together cover it, so that N CI jobs
//! can each run one (`cargo xtask test --partition slice:K/N`).
//!
//! - `slice:K/N`: the tests in name order, dealt round-robin: test `i` (0-based) goes to
//!   slice `i % N + 1`. Even sizes; adding a test can move others to another slice.
//! - `hash:K/N`: by a hash of the test's name (FNV-1a): a test stays in its slice whatever
//!   other tests come and go.
//!
//! The kernel applies it to the selected tests before resuming (`ktest.after`), so every
//! boot of a run agrees on the slice.

use core::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Slice,
    Hash,
}

/// Slice `index` (1-based) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    pub kind: Kind,
    pub index: u32,
    pub count: u32,
}

/// Why a partition does not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Not `slice:K/N` or `hash:K/N`.
    Form,
    /// N is 0: there is no slice to take.
    NoSlices,
    /// K is not between 1 and N.
    Range,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Form => f.write_str("expected `slice:K/N` or `hash:K/N`"),
            Error::NoSlices => f.write_str("N must be at least 1"),
            Error::Range => f.write_str("K must be between 1 and N"),
        }
    }
}

impl Partition {
    pub fn parse(text: &str) -> Result<Partition, Error> {
        let (kind, fraction) = text.split_once(':').ok_or(Error::Form)?;
        let kind = match kind {
            "slice" => Kind::Slice,
            "hash" => Kind::Hash,
            _ => return Err(Error::Form),
        };
        let (index, count) = fraction.split_once('/').ok_or(Error::Form)?;
        let index: u32 = index.parse().map_err(|_| Error::Form)?;
        let count: u32 = count.parse().map_err(|_| Error::Form)?;
        if count == 0 {
            return Err(Error::NoSlices);
        }
        if index == 0 || index > count {
            return Err(Error::Range);
        }
        Ok(Partition { kind, index, count })
    }

    /// Whether the test at `position` (0-based, in name order among the selected tests)
    /// called `name` belongs to this slice.
    pub fn contains(&self, position: usize, name: &str) -> bool {
        let slot = match self.kind {
            Kind::Slice => position as u64 % u64::from(self.count),
            Kind::Hash => fnv1a(name) % u64::from(self.count),
        };
        slot + 1 == u64::from(self.index)
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            Kind::Slice => "slice",
            Kind::Hash => "hash",
        };
        write!(f, "{kind}:{}/{}", self.index, self.count)
    }
}

fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::string::String;
    use std::vec::Vec;

    fn names(count: usize) -> Vec<String> {
        (0..count).map(|index| format!("suite{}::test_{index}", index % 7)).collect()
    }

    /// For many suite sizes and slice counts, of both kinds: every test is in exactly one
    /// of the N slices.
    #[test]
    fn slices_are_disjoint_and_together_complete() {
        for kind in [Kind::Slice, Kind::Hash] {
            for count in 1..=9u32 {
                for size in [0, 1, 2, 5, 17, 100, 1000] {
                    let tests = names(size);
                    for (position, name) in tests.iter().enumerate() {
                        let owners = (1..=count)
                            .filter(|index| Partition { kind, index: *index, count }.contains(position, name))
                            .count();
                        assert_eq!(owners, 1, "{kind:?} {count} slices, {size} tests: `{name}` is in {owners}");
                    }
                }
            }
        }
    }

    #[test]
    fn round_robin_slices_are_even() {
        let tests = names(100);
        for index in 1..=3 {
            let partition = Partition { kind: Kind::Slice, index, count: 3 };
            let size = tests.iter().enumerate().filter(|(position, name)| partition.contains(*position, name)).count();
            assert!((33..=34).contains(&size), "slice {index}/3 has {size}");
        }
    }

    #[test]
    fn hash_slices_do_not_move_when_other_tests_come_and_go() {
        let partition = Partition { kind: Kind::Hash, index: 2, count: 4 };
        let alone = partition.contains(0, "mm::heap::big");
        let among_others = partition.contains(57, "mm::heap::big");
        assert_eq!(alone, among_others);
    }

    #[test]
    fn parses_and_prints_and_rejects_with_reasons() {
        assert_eq!(Partition::parse("slice:2/3"), Ok(Partition { kind: Kind::Slice, index: 2, count: 3 }));
        assert_eq!(Partition::parse("hash:1/1").map(|p| format!("{p}")), Ok("hash:1/1".into()));
        for (text, error) in [
            ("slice:0/3", Error::Range),
            ("slice:4/3", Error::Range),
            ("slice:1/0", Error::NoSlices),
            ("hash:0/0", Error::NoSlices),
            ("slice:1/99999999999", Error::Form),
            ("slices:1/3", Error::Form),
            ("slice:1", Error::Form),
            ("slice:a/3", Error::Form),
            ("1/3", Error::Form),
        ] {
            assert_eq!(Partition::parse(text), Err(error), "{text}");
        }
    }
}
