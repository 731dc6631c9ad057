//! The kernel command line: what the harness asks of a boot.
//!
//! The format is whitespace-separated words, `key` or `key=value`, as Linux's. The harness
//! builds it with [`Request::write_to`] and the kernel reads it back with [`Request::parse`];
//! the round trip is tested here, so the two cannot drift apart. Words this crate does not
//! know are left for the kernel's other users.

use crate::partition::Partition;
use crate::set::TestSet;
use core::fmt;

/// Run the kernel's tests instead of its normal work.
pub const RUN_TESTS: &str = "ktest";
/// `ktest.list`: print the selected tests (`# test: NAME`) and exit.
pub const LIST: &str = "ktest.list";
/// `ktest.filter=A,B`: only tests whose name contains A or B.
pub const FILTER: &str = "ktest.filter";
/// `ktest.exact`: the filters are whole test names.
pub const EXACT: &str = "ktest.exact";
/// `ktest.ignored`: run `#[ktest(ignore)]` tests too, instead of reporting them skipped
/// (libtest's `--include-ignored`; with a set of their positions, `--ignored`).
pub const IGNORED: &str = "ktest.ignored";
/// `ktest.crate=A,B`: only tests of crates A and B (a test's crate is the first segment of
/// its name; `-` and `_` are the same here, so a package name works too).
pub const CRATE: &str = "ktest.crate";
/// `ktest.after=NAME`: skip every test up to and including NAME (in the order the boot runs
/// them: name order, or with `ktest.late` as that reorders them): where a new boot resumes
/// after a test that ended the previous one.
pub const AFTER: &str = "ktest.after";
/// `ktest.boot=N`: the harness's boot counter for this run (1, 2, ...). Tests may read it.
pub const BOOT: &str = "ktest.boot";
/// `ktest.partition=slice:K/N` (or `hash:K/N`): run one of N slices of the selected tests.
pub const PARTITION: &str = "ktest.partition";
/// `ktest.set=BITS`: of the tests selected so far (after the partition), only those the
/// bitmap names (see [`crate::set`]).
pub const SET: &str = "ktest.set";
/// `ktest.late=BITS`: of the tests the boot runs, those at these positions (counted as for
/// `ktest.set`) run after the others, each group in name order. Lanes that share the host's
/// cores use it to take turns with their long tests.
pub const LATE: &str = "ktest.late";
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
    /// `ktest.ignored`: ignored tests run as well.
    pub include_ignored: bool,
    pub panic: bool,
    pub debug: bool,
    pub gdbstub: GdbStub,
    pub filters: Filters<'a>,
    /// `ktest.crate`: the crates whose tests run (empty: every crate's).
    pub crates: Filters<'a>,
    pub after: Option<&'a str>,
    pub partition: Option<Partition>,
    pub set: Option<TestSet<'a>>,
    pub late: Option<TestSet<'a>>,
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

/// A fixed-capacity list of words, the filters or the crates (the kernel parses it before it
/// has a heap).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Filters<'a> {
    items: [&'a str; MAX_FILTERS],
    len: usize,
}

impl<'a> Filters<'a> {
    /// Adds a test-name filter (any word without a comma).
    pub fn push(&mut self, filter: &'a str) -> Result<(), Error<'a>> {
        self.push_checked(FILTER, filter, |filter| is_word(filter) && !filter.contains(','))
    }

    /// Adds a crate name (letters, digits, `_` and `-`).
    pub fn push_crate(&mut self, name: &'a str) -> Result<(), Error<'a>> {
        self.push_checked(CRATE, name, is_crate_name)
    }

    fn push_checked(&mut self, key: &'static str, word: &'a str, valid: fn(&str) -> bool) -> Result<(), Error<'a>> {
        if word.is_empty() {
            return Ok(());
        }
        if !valid(word) {
            return Err(Error::BadValue { key, value: word });
        }
        let slot = self.items.get_mut(self.len).ok_or(Error::TooManyFilters)?;
        *slot = word;
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
            Error::TooManyFilters => write!(f, "more than {MAX_FILTERS} test filters or crates"),
        }
    }
}

/// A value that fits in one command-line word: non-empty printable ASCII, no spaces.
fn is_word(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_graphic())
}

/// A crate or package name: letters, digits, `_` and `-`.
fn is_crate_name(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

/// Whether two crate names are the same crate: cargo turns a package's `-` into `_` for
/// its crate name.
fn same_crate(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes().zip(b.bytes()).all(|(x, y)| x == y || (matches!(x, b'-' | b'_') && matches!(y, b'-' | b'_')))
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
                (IGNORED, None) => request.include_ignored = true,
                (PANIC, None) => request.panic = true,
                (DEBUG, None) => request.debug = true,
                (GDBSTUB, None) => request.gdbstub = request.gdbstub.max(GdbStub::On),
                (GDBSTUB_WAIT, None) => request.gdbstub = GdbStub::Wait,
                (FILTER, Some(value)) => {
                    for filter in value.split(',') {
                        request.filters.push(filter)?;
                    }
                }
                (CRATE, Some(value)) => {
                    for name in value.split(',') {
                        request.crates.push_crate(name)?;
                    }
                }
                (AFTER, Some(value)) if is_word(value) => request.after = Some(value),
                (AFTER, Some(value)) => return Err(Error::BadValue { key: AFTER, value }),
                (PARTITION, Some(value)) => {
                    request.partition =
                        Some(Partition::parse(value).map_err(|_| Error::BadValue { key: PARTITION, value })?)
                }
                (SET, Some(value)) => {
                    request.set = Some(TestSet::parse(value).map_err(|_| Error::BadValue { key: SET, value })?)
                }
                (LATE, Some(value)) => {
                    request.late = Some(TestSet::parse(value).map_err(|_| Error::BadValue { key: LATE, value })?)
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
        if self.include_ignored {
            words.word(format_args!("{IGNORED}"))?;
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
        if !self.crates.is_empty() {
            words.word(format_args!("{CRATE}={}", Joined(self.crates.as_slice())))?;
        }
        if let Some(after) = self.after {
            words.word(format_args!("{AFTER}={after}"))?;
        }
        if let Some(partition) = self.partition {
            words.word(format_args!("{PARTITION}={partition}"))?;
        }
        if let Some(set) = self.set {
            words.word(format_args!("{SET}={set}"))?;
        }
        if let Some(late) = self.late {
            words.word(format_args!("{LATE}={late}"))?;
        }
        if self.attempt != 0 {
            words.word(format_args!("{ATTEMPT}={}", self.attempt))?;
        }
        if self.boot != 0 {
            words.word(format_args!("{BOOT}={}", self.boot))?;
        }
        Ok(())
    }

    /// Whether test `name` is selected by the crates and the filters (before `after` is
    /// applied). A test's name starts with its crate: `mm::tests::heap_grows`.
    pub fn selects(&self, name: &str) -> bool {
        let filters = self.filters.as_slice();
        self.selects_crate(name.split("::").next().unwrap_or(name))
            && (filters.is_empty()
                || filters.iter().any(|filter| if self.exact { name == *filter } else { name.contains(filter) }))
    }

    /// Whether tests of crate `name` are selected (`ktest.crate`; all are without it).
    pub fn selects_crate(&self, name: &str) -> bool {
        let crates = self.crates.as_slice();
        crates.is_empty() || crates.iter().any(|selected| same_crate(selected, name))
    }

    /// Whether test `name` runs in this boot: selected, and after the resume point in name
    /// order (with `ktest.late`, the resume point is a position: `ktest`'s `select` decides).
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
            include_ignored: true,
            panic: true,
            debug: true,
            gdbstub: GdbStub::Wait,
            filters: filters(&["mm::heap", "fmt"]),
            crates: crates(&["mm", "minimal-kernel"]),
            after: Some("mm::heap::big"),
            partition: Some(Partition::parse("hash:2/5").unwrap()),
            set: Some(TestSet::parse("gA-_").unwrap()),
            late: Some(TestSet::parse("Ag").unwrap()),
            attempt: 2,
            boot: 3,
        };
        let mut line = String::new();
        request.write_to(&mut line).unwrap();
        assert_eq!(
            line,
            "ktest ktest.list ktest.exact ktest.ignored panic ktest.debug gdbstub.wait ktest.filter=mm::heap,fmt ktest.crate=mm,minimal-kernel ktest.after=mm::heap::big ktest.partition=hash:2/5 ktest.set=gA-_ ktest.late=Ag ktest.attempt=2 ktest.boot=3"
        );
        assert_eq!(Request::parse(&line).unwrap(), request);
    }

    fn crates<'a>(items: &[&'a str]) -> Filters<'a> {
        let mut crates = Filters::default();
        for item in items {
            crates.push_crate(item).unwrap();
        }
        crates
    }

    #[test]
    fn crates_select_by_the_first_segment_of_a_name_with_dash_and_underscore_alike() {
        let request = Request::parse("ktest.crate=mm,minimal-kernel").unwrap();
        assert_eq!(request.crates.as_slice(), ["mm", "minimal-kernel"]);
        assert!(request.selects("mm::tests::heap_grows"));
        assert!(request.selects("minimal_kernel::tests::adds"));
        assert!(!request.selects("kernel::tests::fmt_integers"));
        assert!(!request.selects("mmx::tests::other"), "a crate is a whole segment, not a prefix");
        // With filters too, a test must pass both.
        let both = Request::parse("ktest.crate=kernel ktest.filter=fmt_").unwrap();
        assert!(both.selects("kernel::tests::fmt_integers"));
        assert!(!both.selects("kernel::tests::heap_box_and_string"));
        assert!(!both.selects("mm::fmt_like"));
        assert_eq!(Request::parse("ktest.crate=mm::x"), Err(Error::BadValue { key: CRATE, value: "mm::x" }));
    }

    #[test]
    fn a_set_that_is_not_base64url_is_named() {
        assert_eq!(Request::parse("ktest.set=ab+c"), Err(Error::BadValue { key: SET, value: "ab+c" }));
        assert_eq!(Request::parse("ktest.late=a.b"), Err(Error::BadValue { key: LATE, value: "a.b" }));
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
