//! `cargo xtask bench`: what the harness costs, next to what it cannot avoid. Prints a table
//! (median, min, max over repeated runs) and writes `target/xtask/bench.json`.
//!
//! - floor: the QEMU command lines a warm test run used, run directly (per arch, and all
//!   arches in parallel), plus a no-op cargo build of the three kernels;
//! - warm test: `cargo xtask test` with nothing changed, per arch and for all; its ratio to
//!   the floor;
//! - scaling: 0, 100 and 1000 generated trivial tests, and the time per added test;
//! - record: `cargo xtask test --record` on a passing run, as a ratio to the warm run;
//! - crash cost: the self-test suite's wall time against the boots it needed;
//! - builds: the cold build of all three kernels in one cargo invocation, a no-op and an
//!   incremental one, and the xtask's own cold compile.
//!
//! - suite (`suite.rs`; alone with `--suite`): ten thousand generated tests, parallel boots,
//!   memory, 30,000 verdicts reported, duration shards, the cost of a hang.
//!
//! Every measurement runs real commands as a user would; nothing is timed inside a test.

mod suite;

use super::Context;
use anyhow::{Context as _, Result, bail};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

#[derive(clap::Args)]
pub struct Bench {
    /// Repetitions of each timed measurement (at least 1).
    #[arg(long, default_value_t = 5, value_parser = parse_runs)]
    runs: usize,
    /// Leave out the cold builds (the kernels' and the xtask's): about two minutes.
    #[arg(long)]
    no_cold: bool,
    /// Only the large-suite rows (parallel boots, memory, shards, a hang's cost).
    #[arg(long)]
    suite: bool,
}

/// Median, min and max of repeated timings, in seconds.
#[derive(Clone, Copy, Debug)]
struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

impl Stats {
    fn of(mut samples: Vec<f64>) -> Stats {
        if samples.is_empty() {
            return Stats { median: f64::NAN, min: f64::NAN, max: f64::NAN };
        }
        samples.sort_by(f64::total_cmp);
        Stats { median: samples[samples.len() / 2], min: samples[0], max: samples[samples.len() - 1] }
    }

    /// A ratio or a count, recorded as a row of its own.
    fn value(value: f64) -> Stats {
        Stats { median: value, min: value, max: value }
    }
}

/// Runs `command` with no stdio and returns its wall time in seconds; with `expect_success`,
/// a failure is an error naming `label`.
fn time(label: &str, command: &mut Command, expect_success: bool) -> Result<f64> {
    let started = Instant::now();
    let status = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status()?;
    let took = started.elapsed().as_secs_f64();
    if expect_success && !status.success() {
        bail!("`{label}` failed ({status}) while benchmarking");
    }
    Ok(took)
}

struct Bencher {
    root: PathBuf,
    xtask: PathBuf,
    runs: usize,
    rows: Vec<(String, Stats)>,
}

impl Bencher {
    /// Times `command` `self.runs` times (after one untimed run that warms every cache).
    fn measure(&mut self, label: &str, mut command: impl FnMut() -> Command, expect_success: bool) -> Result<Stats> {
        time(label, &mut command(), expect_success)?;
        let samples =
            (0..self.runs).map(|_| time(label, &mut command(), expect_success)).collect::<Result<Vec<_>>>()?;
        let stats = Stats::of(samples);
        self.record(label, stats);
        Ok(stats)
    }

    /// Two commands timed in turn, `a` then `b`, `runs` times (after one untimed run of
    /// each): their rows, and the median of each pair's `b / a` as the row `ratio`. Taken in
    /// pairs, a busy spell on a shared host slows both sides of a ratio, not one.
    fn measure_pair(
        &mut self,
        labels: [&str; 3],
        mut a: impl FnMut() -> Command,
        mut b: impl FnMut() -> Command,
    ) -> Result<[Stats; 3]> {
        time(labels[0], &mut a(), true)?;
        time(labels[1], &mut b(), true)?;
        let (mut first, mut second, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..self.runs {
            let (took_a, took_b) = (time(labels[0], &mut a(), true)?, time(labels[1], &mut b(), true)?);
            first.push(took_a);
            second.push(took_b);
            ratios.push(took_b / took_a);
        }
        let stats = [Stats::of(first), Stats::of(second), Stats::of(ratios)];
        for (label, stats) in labels.iter().zip(stats) {
            self.record(label, stats);
        }
        Ok(stats)
    }

    fn record(&mut self, label: &str, stats: Stats) {
        println!("{label:<58} {:>8.3} {:>8.3} {:>8.3}", stats.median, stats.min, stats.max);
        self.rows.push((label.to_string(), stats));
    }

    fn once(&mut self, label: &str, command: &mut Command) -> Result<f64> {
        let took = time(label, command, true)?;
        self.record(label, Stats::value(took));
        Ok(took)
    }

    fn cargo(&self) -> Command {
        let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        command.current_dir(&self.root);
        command
    }

    fn xtask(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.xtask);
        command.args(args).current_dir(&self.root);
        command
    }
}

/// The QEMU command lines of every boot in a run's serial logs, per arch, as argv.
fn boots_of_run(run_dir: &Path) -> Result<Vec<(String, Vec<Vec<String>>)>> {
    let mut arches = Vec::new();
    for entry in std::fs::read_dir(run_dir)? {
        let path = entry?.path();
        let Some(arch) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".serial.log")) else {
            continue;
        };
        // Lossy: a kernel may print anything (the self-tests print invalid UTF-8 on purpose).
        let text = String::from_utf8_lossy(&std::fs::read(&path)?).into_owned();
        let boots = text
            .lines()
            .filter_map(|line| match crate::session::Marker::parse(line)? {
                crate::session::Marker::BootStarted { command, .. } => Some(crate::qemu::shell_words(&command)),
                _ => None,
            })
            .collect();
        arches.push((arch.to_string(), boots));
    }
    arches.sort();
    Ok(arches)
}

/// Runs every boot of every arch directly; `parallel`: the arches at once.
fn raw_boots(boots: &[(String, Vec<Vec<String>>)], parallel: bool) -> Result<f64> {
    let run_arch = |argvs: &Vec<Vec<String>>| -> Result<()> {
        for argv in argvs {
            Command::new(&argv[0])
                .args(&argv[1..])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()?;
        }
        Ok(())
    };
    let started = Instant::now();
    if parallel {
        std::thread::scope(|scope| {
            let handles: Vec<_> = boots.iter().map(|(_, argvs)| scope.spawn(move || run_arch(argvs))).collect();
            handles.into_iter().try_for_each(|handle| handle.join().expect("a boot thread panicked"))
        })?;
    } else {
        boots.iter().try_for_each(|(_, argvs)| run_arch(argvs))?;
    }
    Ok(started.elapsed().as_secs_f64())
}

impl Bench {
    pub fn run(self, context: &Context) -> Result<ExitCode> {
        let root = context.workspace.root().to_path_buf();
        let xtask = std::env::current_exe().context("cannot find the xtask binary")?;
        let mut bench = Bencher { root: root.clone(), xtask, runs: self.runs.max(1), rows: Vec::new() };
        let arches: Vec<String> = context.arches.all().iter().map(|arch| arch.name.clone()).collect();
        println!("{:<58} {:>8} {:>8} {:>8}", "seconds", "median", "min", "max");
        if self.suite {
            suite::rows(&mut bench, context)?;
            return write_json(&bench, context);
        }

        // Builds.
        let build_args = crate::build::cargo_args(
            "build",
            context.arches.all(),
            &crate::build::BuildOptions {
                kernel: crate::kernel_package::KernelPackage::select(&context.workspace, None)?,
                release: false,
                features: vec!["ktest".into()],
            },
        );
        let kernel_build = |bench: &Bencher, target_dir: &Path| {
            let mut command = bench.cargo();
            command.args(&build_args).env("CARGO_TARGET_DIR", target_dir);
            command
        };
        if !self.no_cold {
            let cold = context.workspace.xtask_dir().join("bench-cold");
            let _ = std::fs::remove_dir_all(&cold);
            bench.once(
                "build: kernels, 3 arches, one cargo invocation, cold",
                &mut kernel_build(&bench, &cold.join("kernel")),
            )?;
            let mut xtask_cold = bench.cargo();
            xtask_cold.args(["build", "--package", "xtask"]).env("CARGO_TARGET_DIR", cold.join("xtask"));
            bench.once("build: the xtask itself, cold", &mut xtask_cold)?;
            let _ = std::fs::remove_dir_all(&cold);
        }
        // The test images, built the way `cargo xtask test` builds them (warm from here on).
        let status =
            bench.xtask(&["build", "--features", "ktest"]).stdout(Stdio::null()).stderr(Stdio::null()).status()?;
        if !status.success() {
            bail!("cannot build the test images");
        }
        // The floor's build: cargo itself, with the flags the harness gives it (so a no-op).
        let rustflags = crate::build::rustflags(&context.workspace, &crate::build::check_rust_src()?);
        let noop = bench.measure(
            "build: no-op, 3 arches (cargo build)",
            || {
                let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
                command
                    .current_dir(&root)
                    .args(&build_args)
                    .env_remove("RUSTFLAGS")
                    .env("CARGO_ENCODED_RUSTFLAGS", &rustflags);
                command
            },
            true,
        )?;
        let touched = root.join("kernel/src/tests.rs");
        bench.measure(
            "build: incremental after touching kernel/src/tests.rs",
            || {
                let file = std::fs::File::options().append(true).open(&touched).expect("kernel/src/tests.rs exists");
                file.set_modified(std::time::SystemTime::now()).expect("can touch kernel/src/tests.rs");
                bench_build(&root, "ktest")
            },
            true,
        )?;

        // Floor: the same boots, without the harness.
        let status = bench.xtask(&["test"]).stdout(Stdio::null()).stderr(Stdio::null()).status()?;
        if !status.success() {
            bail!("the kernel tests fail: fix them before benchmarking (`cargo xtask test`)");
        }
        let boots = boots_of_run(&context.workspace.xtask_dir().join("runs/latest"))?;
        for (arch, argvs) in &boots {
            let one = vec![(arch.clone(), argvs.clone())];
            let samples = (0..bench.runs).map(|_| raw_boots(&one, false)).collect::<Result<Vec<_>>>()?;
            bench.record(&format!("floor: raw QEMU, {arch} ({} boots)", argvs.len()), Stats::of(samples));
        }
        let samples = (0..bench.runs).map(|_| raw_boots(&boots, true)).collect::<Result<Vec<_>>>()?;
        let raw_parallel = Stats::of(samples);
        bench.record("floor: raw QEMU, all arches in parallel", raw_parallel);
        let floor = noop.median + raw_parallel.median;
        bench.record("floor: no-op build + raw QEMU in parallel", Stats { median: floor, min: floor, max: floor });

        // Warm runs, exactly as a developer types them.
        for arch in &arches {
            bench.measure(
                &format!("warm: cargo xtask test --arch {arch}"),
                || cargo_xtask(&root, &["test", "--arch", arch]),
                true,
            )?;
        }
        let warm = bench.measure("warm: cargo xtask test (all arches)", || cargo_xtask(&root, &["test"]), true)?;
        let ratio = warm.median / floor;
        bench.record("warm / floor (target <= 1.25)", Stats { median: ratio, min: ratio, max: ratio });

        // Coverage's cost: the same run with `--coverage` (its images built first, so warm),
        // as a ratio to the plain warm run measured just above.
        let status = bench.xtask(&["test", "--coverage"]).stdout(Stdio::null()).stderr(Stdio::null()).status()?;
        if !status.success() {
            bail!("`cargo xtask test --coverage` fails: fix it before benchmarking");
        }
        let covered = bench.measure(
            "coverage: cargo xtask test --coverage (all arches)",
            || cargo_xtask(&root, &["test", "--coverage"]),
            true,
        )?;
        let ratio = covered.median / warm.median;
        bench.record("coverage / warm (target <= 2)", Stats { median: ratio, min: ratio, max: ratio });

        // `--record`'s cost on a passing run: every boot recorded (under -icount), every
        // recording then dropped, as a ratio to the plain warm run.
        let recorded = bench.measure(
            "record: cargo xtask test --record (all arches)",
            || cargo_xtask(&root, &["test", "--record"]),
            true,
        )?;
        let ratio = recorded.median / warm.median;
        bench.record("record / warm", Stats { median: ratio, min: ratio, max: ratio });

        // Scaling with the number of tests: one image with 1000 generated tests, of which a
        // filter selects none, 100 (`kernel::generated::t00..`) or all.
        let selections: [(usize, &[&str]); 3] =
            [(0, &["--exact", "no-such-test"]), (100, &["kernel::generated::t00"]), (1000, &["kernel::generated::"])];
        let mut scopes: Vec<(String, Vec<&str>)> =
            arches.iter().map(|arch| (arch.clone(), vec!["--arch", arch.as_str()])).collect();
        scopes.push(("all arches".to_string(), Vec::new()));
        for (scope, arch_args) in &scopes {
            let mut medians = Vec::new();
            for (count, filter) in selections {
                let mut args = vec!["test", "--features", "generated-tests"];
                args.extend(arch_args.iter().copied());
                args.extend_from_slice(filter);
                let label = format!("scaling: {count} trivial tests, {scope}");
                let stats = bench.measure(
                    &label,
                    || {
                        let mut command = bench_xtask(&root, &args);
                        command.env("KTEST_GENERATED", "1000");
                        command
                    },
                    true,
                )?;
                medians.push(stats.median);
            }
            let added = medians[2] - medians[0];
            let per_test = added / 1000.0 * 1000.0;
            bench.record(
                &format!("scaling: 1000 tests add (s), {scope}"),
                Stats { median: added, min: added, max: added },
            );
            bench.record(
                &format!("scaling: ms per added test, {scope}"),
                Stats { median: per_test, min: per_test, max: per_test },
            );
        }

        // What a crash costs: the self-tests end boots on purpose.
        bench.measure(
            "crash cost: self-tests, all arches, --timeout 1",
            || bench_xtask(&root, &["test", "--features", "selftest", "--timeout", "1", "kernel::selftest::"]),
            false,
        )?;
        let boots_needed = boots_of_run(&context.workspace.xtask_dir().join("runs/latest"))?
            .iter()
            .map(|(arch, argvs)| format!("{arch} {}", argvs.len()))
            .collect::<Vec<_>>()
            .join(", ");
        println!("  (boots the self-tests needed: {boots_needed}; each hang adds its 1 s timeout, a flood its 3 s)");

        suite::rows(&mut bench, context)?;
        write_json(&bench, context)
    }
}

/// Writes every row to `target/xtask/bench.json`.
fn write_json(bench: &Bencher, context: &Context) -> Result<ExitCode> {
    {
        let json = json!({
            "machine": { "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()) },
            "runs": bench.runs,
            "rows": bench.rows.iter().map(|(label, stats)| json!({
                "what": label, "median": stats.median, "min": stats.min, "max": stats.max
            })).collect::<Vec<_>>(),
        });
        let path = context.workspace.xtask_dir().join("bench.json");
        crate::fsutil::write_atomically(&path, serde_json::to_string_pretty(&json)?.as_bytes())?;
        println!("\nwritten: {}", path.display());
        Ok(ExitCode::SUCCESS)
    }
}

/// This xtask binary with `args`, from the repository root.
fn bench_xtask(root: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("the xtask binary"));
    command.args(args).current_dir(root);
    command
}

fn bench_build(root: &Path, features: &str) -> Command {
    bench_xtask(root, &["build", "--features", features])
}

/// `cargo xtask ARGS`, as typed.
fn cargo_xtask(root: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.arg("xtask").args(args).current_dir(root);
    command
}

/// `--runs N`: a median needs at least one sample.
fn parse_runs(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(0) => Err("at least 1: a median needs a sample".into()),
        Ok(runs) => Ok(runs),
        Err(_) => Err("expected a whole number of runs".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_runs_is_a_usage_error_not_a_panic() {
        assert_eq!(parse_runs("0"), Err("at least 1: a median needs a sample".to_string()));
        assert_eq!(parse_runs("3"), Ok(3));
        assert!(parse_runs("x").is_err());
    }

    #[test]
    fn stats_take_the_median_and_the_extremes() {
        let stats = Stats::of(vec![3.0, 1.0, 2.0, 10.0, 4.0]);
        assert_eq!((stats.median, stats.min, stats.max), (3.0, 1.0, 10.0));
    }
}
