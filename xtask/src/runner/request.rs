//! What each boot asks of the kernel: its command line (the selection, the resume point, the
//! lane's set, the attempt) and the QEMU invocation that carries it.

use super::{RunOptions, Target};
use crate::qemu::{GdbServer, Launch};
use anyhow::Result;
use kernel_abi::cmdline::{Filters, Request};

/// A lane's share of its arch's tests, as the command line carries it: which it runs
/// (`ktest.set`) and which of those run last (`ktest.late`). Both None when the arch runs whole.
#[derive(Clone, Copy, Debug, Default)]
pub struct LaneTests<'a> {
    pub set: Option<&'a str>,
    pub late: Option<&'a str>,
}

/// A bitmap of the lane's, checked; `what` names it in the error.
fn bitmap<'b>(bits: Option<&'b str>, what: &str) -> Result<Option<kernel_abi::set::TestSet<'b>>> {
    bits.map(|bits| {
        kernel_abi::set::TestSet::parse(bits).map_err(|error| anyhow::anyhow!("the lane's {what} `{bits}`: {error}"))
    })
    .transpose()
}

/// What one boot is for.
#[derive(Clone, Copy)]
pub(super) enum Purpose<'n> {
    /// Run the selected tests, after this one (if any).
    Run { after: Option<&'n str> },
    /// Print the selected tests' names.
    List,
    /// Run this one failed test again, for the `attempt`-th time.
    Retry { test: &'n str, attempt: u32 },
}

/// The kernel command line for one boot; `lane`: the lane's tests, if the arch is split.
pub(super) fn request_line(
    options: &RunOptions,
    purpose: Purpose<'_>,
    boot: u32,
    lane: LaneTests<'_>,
) -> Result<String> {
    let mut filters = Filters::default();
    let mut exact = options.exact;
    let (mut after, mut partition, mut attempt) = (None, options.partition, 0);
    let (mut set, mut late) = (bitmap(lane.set, "test set")?, bitmap(lane.late, "late tests")?);
    let selection: Vec<&str> = match purpose {
        Purpose::Run { after: resume } => {
            after = resume;
            options.filters.iter().map(String::as_str).collect()
        }
        Purpose::List => {
            (set, late) = (None, None);
            options.filters.iter().map(String::as_str).collect()
        }
        Purpose::Retry { test, attempt: retry } => {
            // Just that test: by its exact name, whatever the run's slice and lane.
            (exact, partition, set, late, attempt) = (true, None, None, None, retry);
            vec![test]
        }
    };
    for filter in selection {
        filters.push(filter).map_err(|error| {
            anyhow::anyhow!("test filter `{filter}`: {error} (filters are single words without commas)")
        })?;
    }
    let mut crates = Filters::default();
    for package in &options.packages {
        crates.push_crate(package).map_err(|error| anyhow::anyhow!("package `{package}`: {error}"))?;
    }
    let request = Request {
        run_tests: !matches!(purpose, Purpose::List),
        list: matches!(purpose, Purpose::List),
        exact,
        include_ignored: options.include_ignored,
        panic: false,
        debug: options.debug_failures.is_some(),
        gdbstub: Default::default(),
        filters,
        crates,
        after,
        partition,
        set,
        late,
        attempt,
        boot,
    };
    let mut line = String::new();
    request.write_to(&mut line).expect("writing to a String cannot fail");
    Ok(line)
}

/// The kernel command line of a boot that lists the selected tests.
pub fn list_request_line(options: &RunOptions) -> Result<String> {
    request_line(options, Purpose::List, 1, LaneTests::default())
}

/// The kernel command line of a boot that runs `test` alone, as its `attempt`-th run (a
/// retry's; `--record-failures` records such a boot).
pub fn single_test_request_line(options: &RunOptions, test: &str, attempt: u32) -> Result<String> {
    request_line(options, Purpose::Retry { test, attempt }, 1, LaneTests::default())
}

/// The QEMU invocation for one boot of `target`.
pub(super) fn launch<'a>(
    target: &'a Target<'_>,
    options: &'a RunOptions,
    purpose: Purpose<'_>,
    boot: u32,
    lane: LaneTests<'_>,
) -> Result<Launch<'a>> {
    let cmdline = request_line(options, purpose, boot, lane)?;
    // Listing runs no test: one CPU. Otherwise as many as the selected tests need.
    let cpus = match purpose {
        Purpose::List => Some(1),
        Purpose::Run { .. } | Purpose::Retry { .. } => crate::test_cpus::needed(target.image, &cmdline)?,
    };
    Ok(Launch {
        arch: target.arch,
        binary: target.qemu_binary.clone(),
        kernel: target.image,
        cmdline,
        machine: options.machine.as_deref(),
        // Not paused: a debugger attaches only if a test stops the kernel. For coverage the
        // probe attaches before the first instruction.
        gdb: match (&options.debug_failures, &options.coverage) {
            (Some(_), _) => Some(GdbServer::Qemu { port: crate::listen::reserve(None)?, paused: false }),
            (None, Some(_)) => Some(GdbServer::Qemu { port: crate::listen::reserve(None)?, paused: true }),
            (None, None) => None,
        },
        extra_args: &options.extra_qemu_args,
        record: None,
        cpus,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn options(filters: &[&str], exact: bool) -> RunOptions {
        RunOptions {
            filters: filters.iter().map(|f| f.to_string()).collect(),
            packages: Vec::new(),
            exact,
            timeout: Some(Duration::from_secs(10)),
            machine: None,
            extra_qemu_args: Vec::new(),
            debug_failures: None,
            sources: "/".into(),
            partition: None,
            retries: 0,
            coverage: None,
            fail_fast: false,
            record_boots: None,
            include_ignored: false,
        }
    }

    #[test]
    fn the_command_line_carries_filters_resume_point_and_boot_number() {
        let line = request_line(
            &options(&["heap", "fmt"], true),
            Purpose::Run { after: Some("fmt::a") },
            2,
            LaneTests::default(),
        )
        .unwrap();
        assert_eq!(line, "ktest ktest.exact ktest.filter=heap,fmt ktest.after=fmt::a ktest.boot=2");
        let parsed = Request::parse(&line).unwrap();
        assert!(parsed.runs("heap") && !parsed.runs("fmt::a"));
    }

    #[test]
    fn a_retry_boot_runs_just_its_test_whatever_the_slice() {
        let mut options = options(&["heap"], false);
        options.partition = Some(kernel_abi::partition::Partition::parse("slice:1/2").unwrap());
        let line = request_line(&options, Purpose::Retry { test: "a::b", attempt: 2 }, 5, lane("g", "A")).unwrap();
        let parsed = Request::parse(&line).unwrap();
        assert!(parsed.exact && parsed.partition.is_none() && parsed.set.is_none() && parsed.attempt == 2, "{line}");
        assert!(parsed.selects("a::b") && !parsed.selects("heap"), "{line}");
    }

    #[test]
    fn packages_become_the_crate_selection_on_every_kind_of_boot() {
        let mut with_packages = options(&[], false);
        with_packages.packages = vec!["mm".into(), "minimal-kernel".into()];
        for purpose in [Purpose::Run { after: None }, Purpose::List] {
            let line = request_line(&with_packages, purpose, 1, LaneTests::default()).unwrap();
            assert!(line.contains("ktest.crate=mm,minimal-kernel"), "{line}");
            let parsed = Request::parse(&line).unwrap();
            assert!(parsed.selects("mm::tests::frames") && !parsed.selects("kernel::tests::fmt_integers"));
        }
        with_packages.packages = vec!["not a crate".into()];
        let error = request_line(&with_packages, Purpose::List, 1, LaneTests::default()).unwrap_err().to_string();
        assert!(error.contains("package `not a crate`"), "{error}");
    }

    fn lane(set: &'static str, late: &'static str) -> LaneTests<'static> {
        LaneTests { set: Some(set), late: Some(late) }
    }

    #[test]
    fn a_lanes_set_and_late_tests_go_on_its_run_boots_and_never_on_a_list() {
        let line = request_line(&options(&[], false), Purpose::Run { after: None }, 3, lane("gA", "g")).unwrap();
        assert_eq!(line, "ktest ktest.set=gA ktest.late=g ktest.boot=3");
        let list = request_line(&options(&[], false), Purpose::List, 1, lane("gA", "g")).unwrap();
        assert!(!list.contains("ktest.set") && !list.contains("ktest.late"), "{list}");
        let bad = request_line(&options(&[], false), Purpose::Run { after: None }, 1, lane("g+", "g")).unwrap_err();
        assert!(bad.to_string().contains("test set `g+`"), "{bad}");
        let bad = request_line(&options(&[], false), Purpose::Run { after: None }, 1, lane("g", "g.")).unwrap_err();
        assert!(bad.to_string().contains("late tests `g.`"), "{bad}");
    }

    #[test]
    fn a_filter_that_cannot_be_passed_is_an_error_naming_it() {
        let error =
            request_line(&options(&["two words"], false), Purpose::Run { after: None }, 1, LaneTests::default())
                .unwrap_err()
                .to_string();
        assert!(error.contains("test filter `two words`"), "{error}");
    }
}
