//! `cargo xtask test`: builds a test image per architecture, boots them in parallel, and
//! reports every test's verdict per arch.

use super::{BuildFlags, Context, QemuFlags, parse_arch};
use crate::arch::ArchSelection;
use crate::build::{Image, build};
use crate::plan::Shard;
use crate::plan::durations::Durations;
use crate::report::{Destinations, Format};
use crate::runner::parallel::run_and_report;
use crate::runner::{DebugFailures, RunOptions, Target};
use crate::summary::NoTests;
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Clone)]
pub struct Test {
    /// Architecture to test, or `all`.
    #[arg(long, default_value = "all", value_parser = parse_arch)]
    arch: ArchSelection,
    /// Run only tests whose name contains one of these.
    filters: Vec<String>,
    /// Filters are whole test names.
    #[arg(long)]
    exact: bool,
    /// Run only the tests of this crate (repeatable; default: every crate in the image).
    #[arg(short = 'p', long = "package", value_name = "CRATE")]
    packages: Vec<String>,
    /// Print the tests each architecture would run, without running them.
    #[arg(long)]
    list: bool,
    /// Run one of N disjoint slices of the selected tests: `slice:K/N` (round-robin in name
    /// order), `hash:K/N` (by name hash, stable as tests come and go) or `duration:K/N`
    /// (balanced by the durations earlier runs took, longest first).
    #[arg(long, value_name = "KIND:K/N", value_parser = crate::plan::Shard::parse)]
    partition: Option<crate::plan::Shard>,
    /// Run only the tests that failed or did not run in the latest run, on the arches where
    /// they did.
    #[arg(long)]
    rerun_failed: bool,
    /// What a flaky test (failed, then passed on a retry) makes of the run: `pass` (the
    /// default) or `fail`.
    #[arg(long, value_enum, value_name = "WHAT", default_value = "pass")]
    flaky_result: crate::summary::FlakyResult,
    /// Stop an arch's run at its first failure (after its retries); the tests after it are
    /// reported as not run.
    #[arg(long, overrides_with = "no_fail_fast")]
    fail_fast: bool,
    /// Run every test whatever fails (the default).
    #[arg(long, overrides_with = "fail_fast")]
    no_fail_fast: bool,
    /// Default per-test timeout in seconds, 0 for none (a test's own `timeout` wins).
    #[arg(long, value_name = "SECS", default_value = super::DEFAULT_TIMEOUT_SECS, value_parser = super::parse_timeout, allow_negative_numbers = true)]
    timeout: super::Timeout,
    /// QEMU instances at once [default: the number of CPUs, and at least one per selected
    /// arch: three single-CPU QEMUs on two cores finish sooner together]. Beyond one per
    /// arch, an arch with enough work is split over several (see README, "Parallel boots").
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Also write a JUnit XML report here.
    #[arg(long, value_name = "PATH")]
    junit: Option<PathBuf>,
    /// Also write libtest's JSON lines here (whatever `--format` prints).
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Run again after every saved change to the kernel's sources, the last failures
    /// first, until Ctrl-C (which exits 0).
    #[arg(long, conflicts_with_all = ["list", "rerun_failed", "debug_failures"])]
    watch: bool,
    /// Show each boot (QEMU's command line), plan and note as it happens.
    #[arg(short, long)]
    verbose: bool,
    /// Colour in the human display: `auto` (on a terminal, unless NO_COLOR is set), `always`,
    /// `never` [default: CARGO_TERM_COLOR, else auto].
    #[arg(long, value_enum, value_name = "WHEN")]
    color: Option<crate::report::text::Color>,
    /// What a run in which no test ran comes to: `fail` (exit 1, the default), `warn` or
    /// `pass`. A filter that matches nothing is no success.
    #[arg(long, value_enum, value_name = "WHAT", default_value = "fail")]
    no_tests: NoTests,
    /// Run each failed test again, up to N times, in a fresh boot; one that then passes is
    /// reported FLAKY, never as a plain pass.
    #[arg(long, value_name = "N", default_value = "0", value_parser = super::parse_retries, allow_negative_numbers = true)]
    retries: u32,
    /// When a test panics or faults, keep the kernel stopped at the failure with QEMU's GDB
    /// server open, print the command that attaches gdb there, and wait.
    #[arg(long)]
    debug_failures: bool,
    /// Measure source-based coverage of the kernel's own crates: `lcov.info` (per arch and
    /// merged), an HTML report and a summary under target/xtask/coverage/; `per-test` also
    /// records each test's own coverage (`cargo xtask coverage which FILE:LINE`).
    #[arg(long, value_enum, value_name = "WHAT", num_args = 0..=1, require_equals = true, default_missing_value = "run")]
    coverage: Option<crate::coverage::Mode>,
    /// After the run, boot each failed test again alone, on the same image, under QEMU's
    /// recorder, and keep the recording if the test failed again (`cargo xtask gdb --replay`
    /// replays it with reverse execution); see README, "Time-travel debugging".
    #[arg(long, conflicts_with_all = ["debug_failures", "coverage", "list"])]
    record_failures: bool,
    /// Record every boot under QEMU's recorder as it runs; keep the recordings of the boots
    /// in which a test failed (each boot runs under `-icount`; `cargo xtask bench` measures the cost).
    #[arg(long, conflicts_with_all = ["debug_failures", "coverage", "list", "record_failures"])]
    record: bool,
    /// How many recording boots a failure gets to fail again (a flaky one may pass).
    #[arg(long, value_name = "N", default_value_t = crate::record::failures::DEFAULT_TRIES, requires = "record_failures")]
    record_tries: u32,
    /// The debugger `--debug-failures` names [default: gdb-multiarch, or a gdb that supports the arch].
    #[arg(long, value_name = "PATH")]
    gdb: Option<PathBuf>,
    #[command(flatten)]
    build: BuildFlags,
    #[command(flatten)]
    qemu: QemuFlags,
    /// Extra arguments for QEMU.
    #[arg(last = true)]
    qemu_args: Vec<String>,
}

impl Test {
    /// One run of this command for `--watch`: as given, or just the latest run's failures.
    pub fn once(&self, failures_only: bool) -> Test {
        Test { watch: false, rerun_failed: failures_only, ..self.clone() }
    }

    /// `--watch`: `commands::watch` runs this command again and again.
    pub fn watching(&self) -> bool {
        self.watch
    }

    /// The directory of the kernel this command tests.
    pub fn kernel_dir(&self, context: &Context) -> Result<PathBuf> {
        let kernel = crate::kernel_package::KernelPackage::select(&context.workspace, self.build.kernel.as_deref())?;
        Ok(context.workspace.root().join(&kernel.directory))
    }

    pub fn run(self, context: &Context) -> Result<ExitCode> {
        crate::process::winds_down_by_itself();
        crate::ui::quiet_unless(self.verbose);
        let destinations = Destinations {
            format: self.format,
            json: self.json.clone(),
            junit: self.junit.clone(),
            verbose: self.verbose,
            color: self.color,
            show_output: false,
        };
        destinations.check_writable()?;
        let kernel = crate::kernel_package::KernelPackage::select(&context.workspace, self.build.kernel.as_deref())?;
        let sources = crate::session::Sources {
            root: context.workspace.root().to_path_buf(),
            entry_symbol: Some(kernel.metadata.entry_symbol.clone()),
        };
        let xtask_dir = context.workspace.xtask_dir();
        let mut arches = context.arches.select(&self.arch);
        let only = match self.rerun_failed {
            true => match rerun_selection(&xtask_dir, &sources, &mut arches)? {
                Some(only) => Some(only),
                None => return Ok(ExitCode::SUCCESS),
            },
            false => None,
        };
        let allow_install = crate::tools::installs_allowed(self.qemu.no_install);
        let binaries =
            arches.iter().map(|arch| self.qemu.qemu_binary(arch, &context.workspace)).collect::<Result<Vec<_>>>()?;
        let gdb = match self.debug_failures {
            true => Some(crate::debugger::find(&arches[0], self.gdb.as_deref(), allow_install)?),
            false => None,
        };
        let options = self.build.options(context, &kernel.metadata.test_features)?;
        if self.coverage.is_some() && self.debug_failures {
            anyhow::bail!("`--coverage` and `--debug-failures` both need QEMU's GDB server: use one at a time");
        }
        let durations_path = crate::plan::durations::path(&xtask_dir);
        // The remembered durations are read while cargo builds (tens of milliseconds for
        // 10,000 tests in a debug build, otherwise spent waiting for cargo).
        let (images, durations) = std::thread::scope(|scope| {
            let durations = (!self.list).then(|| scope.spawn(|| Durations::load(&durations_path)));
            let images = match self.coverage {
                Some(_) => crate::coverage::instrumented_crates(&context.workspace).and_then(|crates| {
                    crate::build::build_for_coverage(&context.workspace, &arches, &options, &crates, true)
                }),
                None => build(&context.workspace, &arches, &options, true),
            };
            (images, durations.map(|loading| loading.join().expect("reading the durations does not panic")))
        });
        let images = images?;
        if self.record || self.record_failures {
            // Before any boot: a recording needs the snapshot image `qemu-img` makes.
            crate::tools::require("qemu-img", &crate::tools::qemu_img_packages(), allow_install)?;
        }
        let coverage = match self.coverage {
            Some(mode) => {
                let collector = crate::coverage::Collector::new(mode);
                for image in &images {
                    collector.prepare(&image.arch.name, &image.path)?;
                }
                Some(std::sync::Arc::new(collector))
            }
            None => None,
        };
        let targets: Vec<Target<'_>> = images
            .iter()
            .zip(binaries)
            .map(|(image, qemu_binary): (&Image, PathBuf)| Target {
                arch: &image.arch,
                qemu_binary,
                image: &image.path,
            })
            .collect();
        let mut run_options = RunOptions {
            filters: self.filters.clone(),
            packages: self.packages.clone(),
            exact: self.exact,
            include_ignored: false,
            timeout: self.timeout.0,
            machine: self.qemu.machine.clone(),
            extra_qemu_args: self.qemu_args.clone(),
            debug_failures: None,
            sources,
            partition: self.partition.and_then(|shard| shard.kernel()),
            retries: self.retries,
            coverage: coverage.clone(),
            fail_fast: self.fail_fast,
            record_boots: None,
        };
        if self.list {
            return list(&targets, &run_options, &xtask_dir);
        }
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let jobs = self.jobs.unwrap_or(cpus.max(targets.len())).max(1);
        let durations = durations.unwrap_or_default();
        let request = crate::plan::Request {
            jobs,
            duration_shard: match self.partition {
                Some(Shard::Duration { index, count }) => Some((index, count)),
                _ => None,
            },
            only,
            may_split: self.coverage.is_none() && !self.debug_failures,
        };
        let lanes = crate::plan::plan(&targets, &run_options, &request, &durations, &xtask_dir)?;
        if self.verbose {
            for (target, lanes) in targets.iter().zip(&lanes) {
                if let Some(line) = crate::plan::describe(&target.arch.name, lanes) {
                    eprintln!("{line}");
                }
            }
        }
        let run = crate::runs::create(&xtask_dir)?;
        let run_dir = &run.path;
        if self.record {
            run_options.record_boots = Some(run_dir.clone());
        }
        run_options.debug_failures = match gdb {
            Some(gdb) => Some(DebugFailures {
                gdb,
                script_dir: run_dir.clone(),
                sources: crate::debugger::SourcePaths::of(&context.workspace)?,
            }),
            None => None,
        };
        let summary = run_and_report(&targets, &lanes, &run_options, run_dir, jobs, &destinations, self.no_tests)?;
        let status = summary.exit_status(self.no_tests, self.flaky_result);
        // The page compares with the durations of the runs before this one; splits to come
        // balance on what this run took. Both at once: the cores are idle now, and each takes
        // a debug build tens of milliseconds for 10,000 tests.
        let page = run_dir.join("report.html");
        let title = format!("cargo xtask test: run {}", run_dir.file_name().unwrap_or_default().to_string_lossy());
        let (page_written, durations_saved) = std::thread::scope(|scope| {
            let page_written = scope.spawn(|| crate::report::html::write(&summary, &durations, &title, &page));
            let mut updated = durations.clone();
            updated.record_run(&summary);
            let saved = updated.save(&durations_path);
            (page_written.join().expect("writing the page does not panic"), saved)
        });
        match page_written {
            Ok(()) if self.verbose => eprintln!("report: {}", page.display()),
            Ok(()) => {}
            Err(error) => eprintln!("note: the HTML report was not written: {error:#}"),
        }
        // A durations file that cannot be written costs balance, never the verdicts.
        if let Err(error) = durations_saved {
            eprintln!("note: the test durations were not saved: {error:#}");
        }
        if self.record_failures {
            crate::record::failures::record_failures(&targets, &run_options, &summary, run_dir, self.record_tries)?;
        }
        if self.record {
            crate::record::failures::print_kept(run_dir);
        }
        drop(run_options);
        if let Some(collector) = coverage {
            // The verdicts are reported whatever happens to the coverage.
            crate::coverage::report_run(collector, &context.workspace, self.format)?;
        }
        Ok(ExitCode::from(status))
    }
}

/// `--rerun-failed`: what failed in the latest run, with `arches` narrowed to where it did;
/// None when nothing failed (said so: there is nothing to run).
fn rerun_selection(
    xtask_dir: &Path,
    sources: &crate::session::Sources,
    arches: &mut Vec<crate::arch::Arch>,
) -> Result<Option<BTreeMap<String, BTreeSet<String>>>> {
    let latest = xtask_dir.join("runs/latest");
    if !latest.exists() {
        anyhow::bail!("`--rerun-failed`: there is no earlier run (`{}` does not exist)", latest.display());
    }
    let failed = crate::plan::rerun::failed_in(&latest, sources)?;
    let run = std::fs::read_link(&latest).unwrap_or_else(|_| latest.clone());
    if failed.is_empty() {
        println!("nothing to rerun: every test of the latest run (`{}`) passed", run.display());
        return Ok(None);
    }
    let selected: Vec<String> = arches.iter().map(|arch| arch.name.clone()).collect();
    arches.retain(|arch| failed.contains_key(&arch.name));
    if arches.is_empty() {
        let failed_on: Vec<&str> = failed.keys().map(String::as_str).collect();
        anyhow::bail!(
            "`--rerun-failed`: the latest run's failures were on {}, and the selected arches are {}",
            failed_on.join(", "),
            selected.join(", ")
        );
    }
    let count: usize = failed.values().map(BTreeSet::len).sum();
    eprintln!("rerunning {count} test(s) that failed or did not run in `{}`", run.display());
    Ok(Some(failed))
}

/// `--list`: every arch's tests, listed at once (a `ktest.list` boot each, or the list an
/// earlier run kept for the same image and request).
fn list(targets: &[Target<'_>], options: &RunOptions, xtask_dir: &Path) -> Result<ExitCode> {
    let lists = crate::plan::listing::listed(targets, options, xtask_dir)?;
    let mut stdout = std::io::stdout().lock();
    for (target, names) in targets.iter().zip(lists) {
        for test in &names {
            let ignored = if test.ignored { " (ignored)" } else { "" };
            if !crate::ui::write_line(&mut stdout, format_args!("{}: {}{ignored}", target.arch, test.name))? {
                return Ok(ExitCode::SUCCESS);
            }
        }
        eprintln!("{}: {} test(s)", target.arch, names.len());
    }
    Ok(ExitCode::SUCCESS)
}
