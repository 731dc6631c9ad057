//! `cargo xtask test`: builds a test image per architecture, boots them in parallel, and
//! reports every test's verdict per arch.

use super::{BuildFlags, Context, QemuFlags, parse_arch};
use crate::arch::{Arch, ArchSelection};
use crate::build::{BuildOptions, Image, build};
use crate::report::{self, Format};
use crate::runner::{self, ArchRun, DebugFailures, Progress, RunOptions, Target};
use anyhow::{Context as _, Result};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Mutex, mpsc};
use std::time::Duration;

#[derive(clap::Args)]
pub struct Test {
    /// Architecture to test, or `all`.
    #[arg(long, default_value = "all", value_parser = parse_arch)]
    arch: ArchSelection,
    /// Run only tests whose name contains one of these.
    filters: Vec<String>,
    /// Filters are whole test names.
    #[arg(long)]
    exact: bool,
    /// Print the tests each architecture would run, without running them.
    #[arg(long)]
    list: bool,
    /// Run one of N disjoint slices of the selected tests: `slice:K/N` (round-robin in name
    /// order) or `hash:K/N` (by name hash, stable as tests come and go).
    #[arg(long, value_name = "KIND:K/N", value_parser = parse_partition)]
    partition: Option<kernel_abi::partition::Partition>,
    /// Default per-test timeout in seconds (a test's own `timeout` wins).
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    timeout: u64,
    /// Architectures tested at once [default: the number of CPUs, and at least all the
    /// selected arches: three single-CPU QEMUs on two cores finish sooner together].
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Also write a JUnit XML report here.
    #[arg(long, value_name = "PATH")]
    junit: Option<PathBuf>,
    /// Run each failed test again, up to N times, in a fresh boot; one that then passes is
    /// reported FLAKY, never as a plain pass.
    #[arg(long, value_name = "N", default_value_t = 0)]
    retries: u32,
    /// When a test panics or faults, keep the kernel stopped at the failure with QEMU's GDB
    /// server open, print the command that attaches gdb there, and wait.
    #[arg(long)]
    debug_failures: bool,
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

fn parse_partition(text: &str) -> Result<kernel_abi::partition::Partition, String> {
    kernel_abi::partition::Partition::parse(text).map_err(|error| error.to_string())
}

impl Test {
    pub fn run(self, context: &Context) -> Result<ExitCode> {
        crate::process::winds_down_by_itself();
        if let Some(path) = &self.junit {
            crate::fsutil::check_writable(path)?;
        }
        let arches = context.arches.select(&self.arch);
        let allow_install = crate::tools::installs_allowed(self.qemu.no_install);
        let binaries =
            arches.iter().map(|arch| self.qemu.qemu_binary(arch, &context.workspace)).collect::<Result<Vec<_>>>()?;
        let gdb = match self.debug_failures {
            true => Some(crate::debugger::find(&arches[0], self.gdb.as_deref(), allow_install)?),
            false => None,
        };
        let mut features = vec!["ktest".to_string()];
        features.extend(self.build.features.iter().cloned());
        let options = BuildOptions { release: self.build.release, features };
        let images = build(&context.workspace, &arches, &options, true)?;
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
            exact: self.exact,
            timeout: Duration::from_secs(self.timeout.max(1)),
            machine: self.qemu.machine.clone(),
            extra_qemu_args: self.qemu_args.clone(),
            debug_failures: None,
            source_root: context.workspace.root().to_path_buf(),
            partition: self.partition,
            retries: self.retries,
        };
        if self.list {
            return list(&targets, &run_options);
        }
        let run_dir = new_run_dir(&context.workspace.xtask_dir())?;
        run_options.debug_failures = match gdb {
            Some(gdb) => Some(DebugFailures {
                gdb,
                script_dir: run_dir.clone(),
                sources: crate::debugger::SourcePaths::of(&context.workspace)?,
            }),
            None => None,
        };
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let jobs = self.jobs.unwrap_or(cpus.max(targets.len())).max(1);
        run_and_report(&targets, &run_options, &run_dir, jobs, self.format, self.junit.as_deref())
    }
}

/// Runs the tests of every target (at most `jobs` at once), reports them in `format` (and as
/// JUnit to `junit`), and gives the exit status: 0 if every test passed.
pub fn run_and_report(
    targets: &[Target<'_>],
    options: &RunOptions,
    run_dir: &Path,
    jobs: usize,
    format: Format,
    junit: Option<&Path>,
) -> Result<ExitCode> {
    let mut reporter = report::reporter(format);
    let runs = run_in_parallel(targets, options, run_dir, jobs, reporter.as_mut())?;
    reporter.finish(&runs);
    if let Some(path) = junit {
        report::write_junit(path, &runs)?;
        eprintln!("JUnit report: {}", path.display());
    }
    if let Some(signal) = crate::process::interrupted() {
        return Ok(ExitCode::from(crate::process::exit_status_for_signal(signal)));
    }
    Ok(if report::all_passed(&runs) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn list(targets: &[Target<'_>], options: &RunOptions) -> Result<ExitCode> {
    for target in targets {
        let names = runner::list_tests(target, options)?;
        for test in &names {
            let ignored = if test.ignored { " (ignored)" } else { "" };
            println!("{}: {}{ignored}", target.arch, test.name);
        }
        eprintln!("{}: {} test(s)", target.arch, names.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// A directory of its own for this run's logs (`target/xtask/runs/<id>/`), and the
/// `latest` link to it: two runs at once never write the same files.
pub fn new_run_dir(xtask_dir: &Path) -> Result<PathBuf> {
    let runs = xtask_dir.join("runs");
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let name = format!("{seconds}-{}", std::process::id());
    let dir = runs.join(&name);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create the run directory `{}`", dir.display()))?;
    let link = runs.join("latest");
    let temporary = runs.join(format!(".latest.{}", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    if std::os::unix::fs::symlink(&name, &temporary).is_ok() {
        let _ = std::fs::rename(&temporary, &link);
    }
    Ok(dir)
}

/// Runs every target, at most `jobs` at once; progress goes to `reporter` as it happens.
fn run_in_parallel(
    targets: &[Target<'_>],
    options: &RunOptions,
    run_dir: &Path,
    jobs: usize,
    reporter: &mut dyn report::Reporter,
) -> Result<Vec<ArchRun>> {
    let queue: Mutex<VecDeque<&Target<'_>>> = Mutex::new(targets.iter().collect());
    let (sender, receiver) = mpsc::channel::<(String, Progress)>();
    let results: Mutex<Vec<Result<ArchRun>>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(targets.len()) {
            let sender = sender.clone();
            let (queue, results) = (&queue, &results);
            scope.spawn(move || {
                loop {
                    // Take the next arch and let go of the queue before running it (a guard in
                    // a `while let` condition would hold the lock for the whole run).
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                    let Some(target) = next else { break };
                    if crate::process::interrupted().is_some() {
                        break; // an interrupted run starts nothing new
                    }
                    let log = run_dir.join(format!("{}.serial.log", target.arch.name));
                    let result = runner::run_arch(target, options, &log, &sender)
                        .with_context(|| format!("{}: the test run failed", target.arch));
                    results.lock().unwrap_or_else(|p| p.into_inner()).push(result);
                }
            });
        }
        drop(sender);
        for (arch, progress) in receiver {
            reporter.progress(&arch, &progress);
        }
    });
    let mut runs = results.into_inner().unwrap_or_else(|p| p.into_inner()).into_iter().collect::<Result<Vec<_>>>()?;
    // An arch a signal kept from starting is still in the reports, saying so.
    for target in targets {
        if !runs.iter().any(|run| run.arch == target.arch.name) {
            let log = run_dir.join(format!("{}.serial.log", target.arch.name));
            std::fs::File::create(&log).with_context(|| format!("cannot create `{}`", log.display()))?;
            let mut session = crate::session::Session::new();
            let why = match crate::process::interrupted() {
                Some(signal) => format!("the run was interrupted by signal {signal} before {} started", target.arch),
                None => format!("{} never started", target.arch),
            };
            session.add_problem(why);
            runs.push(ArchRun { arch: target.arch.name.clone(), session, log, boots: 0, wall_time: Duration::ZERO });
        }
    }
    let order: Vec<&Arch> = targets.iter().map(|target| target.arch).collect();
    runs.sort_by_key(|run| order.iter().position(|arch| arch.name == run.arch));
    Ok(runs)
}
