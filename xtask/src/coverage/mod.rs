//! Source-based code coverage of the kernel's tests (`cargo xtask test --coverage`).
//!
//! The test images are built with `-Cinstrument-coverage -Zno-profiler-runtime` for the
//! kernel's own crates (`build.rs`), in a target directory of their own. Every boot runs
//! under QEMU's GDB server with a probe attached (`probe.rs`): it reads the counters out of
//! guest memory at the kernel's checkpoints, and at a hang before QEMU is ended, so a panic,
//! a fault or a hang still yields its coverage. The host builds the raw profiles itself
//! (`profraw.rs`) and hands them to the toolchain's `llvm-profdata` and `llvm-cov` for lcov,
//! HTML and the summary (`report.rs`). With `--coverage=per-test`, the counters are also read
//! after every test, so each test's own coverage is known (`cargo xtask coverage which`).

pub mod probe;
pub mod profraw;
pub mod report;
mod rsp;
pub mod tests_index;

use anyhow::{Context, Result};
use object::{Object, ObjectSymbol};
use probe::{BootCounters, Plan};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where `ktest`'s runner calls in after each test that returns.
pub const TEST_CHECKPOINT: &str = "ktest_checkpoint_test";
/// Where it calls in just before it ends the boot (a test crashed, or every test ran).
pub const EXIT_CHECKPOINT: &str = "ktest_checkpoint_exit";

/// What `--coverage` measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// The run's coverage, per arch and merged.
    Run,
    /// Also each test's own, for `cargo xtask coverage which FILE:LINE`.
    PerTest,
}

/// One arch's counters so far.
struct ArchCoverage {
    image: PathBuf,
    layout: profraw::Layout,
    checkpoints: Vec<u64>,
    /// Every boot's counters, summed (counters start at zero in each boot).
    total: Vec<u64>,
    /// Each test's own increase, summed over its attempts.
    per_test: BTreeMap<String, BTreeMap<u32, u64>>,
    /// Boots whose counters could not be read, and why.
    lost: Vec<(u32, String)>,
}

/// The coverage of one run, filled by every arch's runner.
pub struct Collector {
    mode: Mode,
    arches: Mutex<BTreeMap<String, ArchCoverage>>,
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector").field("mode", &self.mode).finish_non_exhaustive()
    }
}

impl Collector {
    pub fn new(mode: Mode) -> Collector {
        Collector { mode, arches: Mutex::new(BTreeMap::new()) }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Reads an arch's instrumented image: where its counters and checkpoints are. Fails,
    /// naming the fix, for an image built without instrumentation.
    pub fn prepare(&self, arch: &str, image: &Path) -> Result<()> {
        let layout = profraw::Layout::of(image)?;
        let bytes = std::fs::read(image).with_context(|| format!("cannot read `{}`", image.display()))?;
        let file = object::File::parse(&*bytes)?;
        let address = |name: &str| {
            file.symbols().find(|symbol| symbol.name() == Ok(name)).map(|symbol| symbol.address()).with_context(|| {
                format!("`{}` has no `{name}`: its tests do not run under `ktest`'s runner", image.display())
            })
        };
        let mut checkpoints = vec![address(EXIT_CHECKPOINT)?];
        if self.mode == Mode::PerTest {
            checkpoints.push(address(TEST_CHECKPOINT)?);
        }
        let total = vec![0; layout.counters_size as usize / 8];
        let coverage = ArchCoverage {
            image: image.to_path_buf(),
            layout,
            checkpoints,
            total,
            per_test: BTreeMap::new(),
            lost: Vec::new(),
        };
        self.lock().insert(arch.to_string(), coverage);
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ArchCoverage>> {
        self.arches.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// What a boot's probe does, for QEMU's GDB server on `port`.
    pub fn plan(&self, arch: &str, port: u16) -> Option<Plan> {
        let arches = self.lock();
        let coverage = arches.get(arch)?;
        Some(Plan {
            port,
            checkpoints: coverage.checkpoints.clone(),
            counters_address: coverage.layout.counters_address,
            counters_size: coverage.layout.counters_size as usize,
        })
    }

    /// A boot's counters: added to the arch's total, and (per test) to the tests that ran in
    /// it, in order (`ran`), the last one taking the final stop's share if it ended the boot.
    pub fn add_boot(&self, arch: &str, boot: u32, counters: BootCounters, ran: &[String], ended_by_test: bool) {
        let mut arches = self.lock();
        let Some(coverage) = arches.get_mut(arch) else { return };
        if let Some(reason) = counters.lost {
            coverage.lost.push((boot, reason));
        }
        if let Some(last) = &counters.last {
            coverage.total.iter_mut().zip(last).for_each(|(total, counter)| *total = total.saturating_add(*counter));
        }
        if self.mode == Mode::PerTest {
            for (test, delta) in attribute(&counters.deltas, ran, ended_by_test) {
                let own = coverage.per_test.entry(test.clone()).or_default();
                for (index, increase) in delta {
                    let counter = own.entry(*index).or_default();
                    *counter = counter.saturating_add(*increase);
                }
            }
        }
    }

    /// The run is over: the profiles, lcov, HTML and the summary under `directory`.
    pub fn finish(self, directory: &Path, root: &Path) -> Result<report::Summary> {
        let arches = self.arches.into_inner().unwrap_or_else(|poison| poison.into_inner());
        let inputs: Vec<report::ArchInput> = arches
            .into_iter()
            .map(|(arch, coverage)| report::ArchInput {
                arch,
                image: coverage.image,
                layout: coverage.layout,
                total: coverage.total,
                per_test: coverage.per_test,
                lost: coverage.lost,
            })
            .collect();
        let mut summary = report::write(&inputs, directory, root)?;
        if self.mode == Mode::PerTest {
            summary.tests_index = Some(tests_index::write(&inputs, directory, &directory.join("html"), root)?);
        }
        Ok(summary)
    }
}

/// The workspace's crates a coverage image instruments: every member that is built for the
/// kernel (not a proc-macro, not a host tool); the standard library is left as it is.
pub fn instrumented_crates(workspace: &crate::workspace::Workspace) -> Result<Vec<String>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(workspace.root())
        .output()
        .context("cannot run `cargo metadata`")?;
    anyhow::ensure!(output.status.success(), "`cargo metadata` failed: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("`cargo metadata` does not read")?;
    let host_tools = ["xtask", "ktap"];
    Ok(metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|package| {
            let proc_macro = package["targets"].as_array().is_some_and(|targets| {
                targets.iter().any(|target| {
                    target["kind"].as_array().is_some_and(|kinds| kinds.iter().any(|kind| kind == "proc-macro"))
                })
            });
            !proc_macro
        })
        .filter_map(|package| package["name"].as_str().map(str::to_string))
        .filter(|name| !host_tools.contains(&name.as_str()))
        .collect())
}

/// After a coverage run: the files and the summary (on stdout, or stderr beside JSON). A
/// failure here is reported after the verdicts, which stand.
pub fn report_run(
    collector: std::sync::Arc<Collector>,
    workspace: &crate::workspace::Workspace,
    format: crate::report::Format,
) -> Result<()> {
    let collector = std::sync::Arc::into_inner(collector).context("the coverage collector is still shared")?;
    let directory = workspace.xtask_dir().join("coverage");
    let summary = collector.finish(&directory, workspace.root()).context("coverage")?;
    match format {
        crate::report::Format::Human => report::print_summary(&mut std::io::stdout().lock(), &summary)?,
        crate::report::Format::Json => report::print_summary(&mut std::io::stderr().lock(), &summary)?,
    }
    Ok(())
}

/// One boot's probe, as the runner holds it.
pub struct BootWatch<'c> {
    collector: &'c Collector,
    arch: String,
    probe: probe::Probe,
}

impl<'c> BootWatch<'c> {
    /// Attaches a probe to the paused QEMU on `port` (None if the arch was not prepared).
    pub fn start(collector: &'c Collector, arch: &str, port: u16) -> Option<BootWatch<'c>> {
        let plan = collector.plan(arch, port)?;
        Some(BootWatch { collector, arch: arch.to_string(), probe: probe::Probe::start(plan) })
    }

    /// The kernel hangs: its counters are read before QEMU is ended.
    pub fn hang(&self) {
        self.probe.interrupt(std::time::Duration::from_secs(10));
    }

    /// The boot is over; `ran`: its tests in order, `ended_by_test`: the last one ended it.
    pub fn finish(self, boot: u32, ran: &[String], ended_by_test: bool) {
        let counters = self.probe.finish();
        self.collector.add_boot(&self.arch, boot, counters, ran, ended_by_test);
    }
}

/// Which test each stop's increase belongs to: the stops after tests, in order, belong to the
/// tests that ran; the final stop (the exit, or the interrupt of a hang) belongs to the last
/// test if it ended the boot, else to no test (the runner's own ending).
fn attribute<'a>(
    deltas: &'a [probe::Delta],
    ran: &'a [String],
    ended_by_test: bool,
) -> Vec<(&'a String, &'a probe::Delta)> {
    let Some((final_stop, after_tests)) = deltas.split_last() else { return Vec::new() };
    let mut owners: Vec<(&String, &probe::Delta)> = ran.iter().zip(after_tests).collect();
    if ended_by_test && let Some(last) = ran.get(after_tests.len()) {
        owners.push((last, final_stop));
    }
    owners
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stop_belongs_to_the_test_before_it_and_a_crash_takes_the_last() {
        let ran: Vec<String> = ["a", "b", "c"].iter().map(|name| name.to_string()).collect();
        let deltas = vec![vec![(0, 1)], vec![(1, 1)], vec![(2, 5)]];
        // a and b returned (two test checkpoints), c crashed: the exit stop is c's.
        let owners: Vec<_> =
            attribute(&deltas, &ran, true).into_iter().map(|(test, delta)| (test.as_str(), delta[0])).collect();
        assert_eq!(owners, [("a", (0, 1)), ("b", (1, 1)), ("c", (2, 5))]);
        // All three returned and the kernel exited: the exit stop is nobody's.
        let deltas = vec![vec![(0, 1)], vec![(1, 1)], vec![(2, 1)], vec![(3, 9)]];
        let owners: Vec<_> = attribute(&deltas, &ran, false).into_iter().map(|(test, _)| test.as_str()).collect();
        assert_eq!(owners, ["a", "b", "c"]);
        assert!(attribute(&[], &ran, true).is_empty(), "no stop, nothing to give");
    }
}
