//! The kernel command line: what the harness asks of a boot.
//!
//! The format is whitespace-separated words, `key` or `key=value`, as Linux's. The harness
//! builds it with [`Request::write_to`] and the kernel reads it back with [`Request::parse`];
//! the round trip is tested here, so the two cannot drift apart. Words this crate does not
//! know are left for the kernel's other users.

use crate::partition::Partition;
use core::fmt;

/// Run the kernel's tests instead of its normal work.
pub const RUN_TESTS: &str = "ktest";
/// `ktest.list`: print the selected tests (`# test: NAME`) and exit.
pub const LIST: &str = "ktest.list";
/// `ktest.filter=A,B`: only tests whose name contains A or B.
pub const FILTER: &str = "ktest.filter";
/// `ktest.exact`: the filters are whole test names.
pub const EXACT: &str = "ktest.exact";
/// `ktest.after=NAME`: skip every test up to and including NAME (in name order): where a
/// new boot resumes after a test that ended the previous one.
pub const AFTER: &str = "ktest.after";
/// `ktest.boot=N`: the harness's boot counter for this run (1, 2, ...). Tests may read it.
pub const BOOT: &str = "ktest.boot";
/// `ktest.partition=slice:K/N` (or `hash:K/N`): run one of N slices of the selected tests.
pub const PARTITION: &str = "ktest.partition";
/// `ktest.attempt=K`: this boot re-runs a failed test for the K-th time (`--retries`).
pub const ATTEMPT: &str = "ktest.attempt";
/// `panic`: panic on purpose after the banner (the harness's own tests use it).
pub const PANIC: &str = "panic";
/// `ktest.debug`: when a test fails by panic or fault, stop with its state intact for a
/// debugger instead of exiting (see `kernel_abi::ktap::DEBUG_STOP`).
pub const DEBUG: &str = "ktest.debug";
/// `gdbstub`: a kernel built with the `gdbstub` feature hands every breakpoint and fatal
/// fault to its GDB stub, on its second serial port.
pub const GDBSTUB: &str = "gdbstub";
/// `gdbstub.wait`: as `gdbstub`, and first wait for the debugger, before anything runs.
pub const GDBSTUB_WAIT: &str = "gdbstub.wait";

/// The most filters one command line carries.
pub const MAX_FILTERS: usize = 16;

/// What one boot is asked to do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request<'a> {
    pub run_tests: bool,
    pub list: bool,
    pub exact: bool,
    pub panic: bool,
    pub debug: bool,
    pub gdbstub: GdbStub,
    pub filters: Filters<'a>,
    pub after: Option<&'a str>,
    pub partition: Option<Partition>,
    pub attempt: u32,
    pub boot: u32,
}

/// What the kernel's GDB stub is asked to do (`gdbstub`, `gdbstub.wait`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum GdbStub {
    #[default]
    Off,
    /// Stop in the debugger on breakpoints and fatal faults.
    On,
    /// The same, and wait for the debugger at boot.
    Wait,
}

/// A fixed-capacity list of filters (the kernel parses it before it has a heap).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Filters<'a> {
    items: [&'a str; MAX_FILTERS],
    len: usize,
}

impl<'a> Filters<'a> {
    pub fn push(&mut self, filter: &'a str) -> Result<(), Error<'a>> {
        if filter.is_empty() {
            return Ok(());
        }
        if !is_word(filter) || filter.contains(',') {
            return Err(Error::BadValue { key: FILTER, value: filter });
        }
        let slot = self.items.get_mut(self.len).ok_or(Error::TooManyFilters)?;
        *slot = filter;
        self.len += 1;
        Ok(())
    }

    pub fn as_slice(&self) -> &[&'a str] {
        &self.items[..self.len]
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A command line the parser rejects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error<'a> {
    BadValue { key: &'static str, value: &'a str },
    TooManyFilters,
}

impl fmt::Display for Error<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadValue { key, value } => write!(f, "bad value `{value}` for `{key}`"),
            Error::TooManyFilters => write!(f, "more than {MAX_FILTERS} test filters"),
        }
    }
}

/// A value that fits in one command-line word: non-empty printable ASCII, no spaces.
fn is_word(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_graphic())
}

impl<'a> Request<'a> {
    /// Reads the words this crate knows from a command line; other words are ignored.
    pub fn parse(cmdline: &'a str) -> Result<Self, Error<'a>> {
        let mut request = Request::default();
        for word in cmdline.split_ascii_whitespace() {
            let (key, value) = match word.split_once('=') {
                Some((key, value)) => (key, Some(value)),
                None => (word, None),
            };
            match (key, value) {
                (RUN_TESTS, None) => request.run_tests = true,
                (LIST, None) => request.list = true,
                (EXACT, None) => request.exact = true,
                (PANIC, None) => request.panic = true,
                (DEBUG, None) => request.debug = true,
                (GDBSTUB, None) => request.gdbstub = request.gdbstub.max(GdbStub::On),
                (GDBSTUB_WAIT, None) => request.gdbstub = GdbStub::Wait,
                (FILTER, Some(value)) => {
                    for filter in value.split(',') {
                        request.filters.push(filter)?;
                    }
                }
                (AFTER, Some(value)) if is_word(value) => request.after = Some(value),
                (AFTER, Some(value)) => return Err(Error::BadValue { key: AFTER, value }),
                (PARTITION, Some(value)) => {
                    request.partition =
                        Some(Partition::parse(value).map_err(|_| Error::BadValue { key: PARTITION, value })?)
                }
                (ATTEMPT, Some(value)) => {
                    request.attempt = value.parse().map_err(|_| Error::BadValue { key: ATTEMPT, value })?
                }
                (BOOT, Some(value)) => {
                    request.boot = value.parse().map_err(|_| Error::BadValue { key: BOOT, value })?
                }
                _ => {}
            }
        }
        Ok(request)
    }

    /// Writes the command line that [`Request::parse`] reads back as `self`.
    pub fn write_to(&self, out: &mut impl fmt::Write) -> fmt::Result {
        let mut words = WordWriter { out, first: true };
        if self.run_tests {
            words.word(format_args!("{RUN_TESTS}"))?;
        }
        if self.list {
            words.word(format_args!("{LIST}"))?;
        }
        if self.exact {
            words.word(format_args!("{EXACT}"))?;
        }
        if self.panic {
            words.word(format_args!("{PANIC}"))?;
        }
        if self.debug {
            words.word(format_args!("{DEBUG}"))?;
        }
        match self.gdbstub {
            GdbStub::Off => {}
            GdbStub::On => words.word(format_args!("{GDBSTUB}"))?,
            GdbStub::Wait => words.word(format_args!("{GDBSTUB_WAIT}"))?,
        }
        if !self.filters.is_empty() {
            words.word(format_args!("{FILTER}={}", Joined(self.filters.as_slice())))?;
        }
        if let Some(after) = self.after {
            words.word(format_args!("{AFTER}={after}"))?;
        }
        if let Some(partition) = self.partition {
            words.word(format_args!("{PARTITION}={partition}"))?;
        }
        if self.attempt != 0 {
            words.word(format_args!("{ATTEMPT}={}", self.attempt))?;
        }
        if self.boot != 0 {
            words.word(format_args!("{BOOT}={}", self.boot))?;
        }
        Ok(())
    }

    /// Whether test `name` is selected by the filters (before `after` is applied).
    pub fn selects(&self, name: &str) -> bool {
        let filters = self.filters.as_slice();
        filters.is_empty()
            || filters.iter().any(|filter| if self.exact { name == *filter } else { name.contains(filter) })
    }

    /// Whether test `name` runs in this boot: selected, and after the resume point.
    pub fn runs(&self, name: &str) -> bool {
        self.selects(name) && self.after.is_none_or(|after| name > after)
    }
}

struct WordWriter<'w, W: fmt::Write> {
    out: &'w mut W,
    first: bool,
}

impl<W: fmt::Write> WordWriter<'_, W> {
    fn word(&mut self, word: fmt::Arguments<'_>) -> fmt::Result {
        if !self.first {
            self.out.write_char(' ')?;
        }
        self.first = false;
        self.out.write_fmt(word)
    }
}

struct Joined<'s, 'a>(&'s [&'a str]);

impl fmt::Display for Joined<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, item) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            f.write_str(item)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    fn filters<'a>(items: &[&'a str]) -> Filters<'a> {
        let mut filters = Filters::default();
        for item in items {
            filters.push(item).unwrap();
        }
        filters
    }

    #[test]
    fn round_trips_every_field() {
        let request = Request {
            run_tests: true,
            list: true,
            exact: true,
            panic: true,
            debug: true,
            gdbstub: GdbStub::Wait,
            filters: filters(&["mm::heap", "fmt"]),
            after: Some("mm::heap::big"),
            partition: Some(Partition::parse("hash:2/5").unwrap()),
            attempt: 2,
            boot: 3,
        };
        let mut line = String::new();
        request.write_to(&mut line).unwrap();
        assert_eq!(
            line,
            "ktest ktest.list ktest.exact panic ktest.debug gdbstub.wait ktest.filter=mm::heap,fmt ktest.after=mm::heap::big ktest.partition=hash:2/5 ktest.attempt=2 ktest.boot=3"
        );
        assert_eq!(Request::parse(&line).unwrap(), request);
    }

    #[test]
    fn gdbstub_wait_implies_gdbstub_in_either_order() {
        for line in ["gdbstub gdbstub.wait", "gdbstub.wait gdbstub", "gdbstub.wait"] {
            assert_eq!(Request::parse(line).unwrap().gdbstub, GdbStub::Wait, "{line}");
        }
        assert_eq!(Request::parse("gdbstub").unwrap().gdbstub, GdbStub::On);
        let mut line = String::new();
        Request { gdbstub: GdbStub::On, ..Request::default() }.write_to(&mut line).unwrap();
        assert_eq!(line, "gdbstub");
    }

    #[test]
    fn empty_request_writes_nothing_and_parses_from_anything_unknown() {
        let mut line = String::new();
        Request::default().write_to(&mut line).unwrap();
        assert_eq!(line, "");
        assert_eq!(Request::parse("console=ttyS0 quiet  root=/dev/vda").unwrap(), Request::default());
    }

    #[test]
    fn rejects_bad_values_naming_them() {
        let cases = [
            ("ktest.boot=x", Error::BadValue { key: BOOT, value: "x" }),
            ("ktest.after=", Error::BadValue { key: AFTER, value: "" }),
            ("ktest.partition=slice:4/3", Error::BadValue { key: PARTITION, value: "slice:4/3" }),
        ];
        for (line, expected) in cases {
            assert_eq!(Request::parse(line), Err(expected), "{line}");
        }
        let too_many = "ktest.filter=a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q";
        assert_eq!(Request::parse(too_many), Err(Error::TooManyFilters));
    }

    #[test]
    fn selection_by_substring_exact_and_resume_point() {
        let request = Request::parse("ktest.filter=heap,fmt").unwrap();
        assert!(request.selects("mm::heap::big"));
        assert!(request.selects("fmt::integers"));
        assert!(!request.selects("traps::breakpoint"));

        let exact = Request::parse("ktest.exact ktest.filter=fmt::integers").unwrap();
        assert!(exact.selects("fmt::integers"));
        assert!(!exact.selects("fmt::integers_wide"));

        let resumed = Request::parse("ktest.after=b::two").unwrap();
        assert!(!resumed.runs("a::one"));
        assert!(!resumed.runs("b::two"));
        assert!(resumed.runs("b::two_more"));
        assert!(resumed.runs("c::three"));
    }
}
