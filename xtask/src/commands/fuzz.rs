//! `cargo xtask fuzz [TARGET] [--time 10m]`: runs one fuzz target, or all of them, with
//! cargo-fuzz (installed with `cargo install` if missing, the command printed first).
//!
//! Each target fuzzes from its committed corpus (`fuzz/corpus/<target>`) plus a working
//! corpus under `target/xtask/fuzz/<target>/`; afterwards the committed corpus is replaced by
//! a minimized one of at most [`MAX_CORPUS`] files, and every crash libFuzzer saved is copied
//! to `tests/fixtures/fuzz-regressions/<target>/`, where the workspace's tests replay it.

use super::Context;
use crate::fuzzing::{TARGETS, Target};
use anyhow::{Context as _, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

/// The most files a committed corpus keeps: enough to start from, small enough to review.
pub const MAX_CORPUS: usize = 30;

#[derive(clap::Args)]
pub struct Fuzz {
    /// The target to fuzz (every target when omitted): serial_stream, merged_ktap,
    /// kernel_cmdline, symbolize, arch_table, libtest_args.
    target: Option<String>,
    /// How long to fuzz each target: `90s`, `10m`, `1h` (a bare number is seconds).
    #[arg(long, value_name = "TIME", default_value = "1m", value_parser = parse_time)]
    time: Duration,
    /// Never install cargo-fuzz (also `XTASK_NO_INSTALL=1`).
    #[arg(long)]
    no_install: bool,
    /// A quick check that every target builds and runs (CI's): an unoptimized build without
    /// a sanitizer (minutes less to compile), and the committed corpus left as it is.
    #[arg(long)]
    smoke: bool,
}

/// What one target's run came to.
struct Figures {
    runs: Option<u64>,
    coverage: Option<u64>,
    crashes: Vec<PathBuf>,
    corpus: usize,
}

impl Fuzz {
    pub fn run(self, context: &Context) -> Result<ExitCode> {
        let targets: Vec<&Target> = match &self.target {
            Some(name) => vec![crate::fuzzing::target(name).ok_or_else(|| unknown_target(name))?],
            None => TARGETS.iter().collect(),
        };
        require_cargo_fuzz(crate::tools::installs_allowed(self.no_install))?;
        let root = context.workspace.root();
        let mut crashed = false;
        for target in targets {
            let figures = fuzz_one(root, &context.workspace.xtask_dir(), target, self.time, self.smoke)?;
            let number = |value: Option<u64>| value.map_or("?".to_string(), |value| value.to_string());
            eprintln!(
                "fuzz {}: {} runs in {} s, coverage {} edges, {} crash(es), corpus {} file(s)",
                target.name,
                number(figures.runs),
                self.time.as_secs(),
                number(figures.coverage),
                figures.crashes.len(),
                figures.corpus
            );
            for crash in &figures.crashes {
                eprintln!("  saved {} (a regression test now: fix it, then commit it)", crash.display());
            }
            crashed |= !figures.crashes.is_empty();
        }
        Ok(if crashed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
    }
}

fn unknown_target(name: &str) -> anyhow::Error {
    let known: Vec<&str> = TARGETS.iter().map(|target| target.name).collect();
    anyhow::anyhow!("unknown fuzz target `{name}`; known: {}", known.join(", "))
}

/// `--time`: `90s`, `10m`, `1h`, or seconds.
pub fn parse_time(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    let (number, unit) = match value.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => value.split_at(at),
        None => (value, "s"),
    };
    let number: u64 =
        number.parse().map_err(|_| format!("expected a time such as `90s`, `10m` or `1h`, not `{value}`"))?;
    let seconds = match unit {
        "s" => Some(number),
        "m" => number.checked_mul(60),
        "h" => number.checked_mul(3600),
        _ => return Err(format!("unknown unit `{unit}`: use s, m or h")),
    };
    match seconds {
        Some(0) => Err("the time must be at least one second".to_string()),
        Some(seconds) => Ok(Duration::from_secs(seconds)),
        None => Err(format!("`{value}` is too long")),
    }
}

/// cargo-fuzz, installed from crates.io when missing and allowed.
fn require_cargo_fuzz(allow_install: bool) -> Result<()> {
    let cargo = cargo();
    let found = Command::new(&cargo).args(["fuzz", "--version"]).stdout(Stdio::null()).stderr(Stdio::null()).status();
    if found.is_ok_and(|status| status.success()) {
        return Ok(());
    }
    let install = ["install", "cargo-fuzz", "--locked"];
    if !allow_install {
        bail!(
            "cargo-fuzz is not installed (installs are turned off); install it with:\n    cargo {}",
            install.join(" ")
        );
    }
    eprintln!("$ cargo {}", install.join(" "));
    let status = Command::new(&cargo).args(install).status().context("cannot run cargo")?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", install.join(" "));
    }
    Ok(())
}

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

fn fuzz_one(root: &Path, xtask_dir: &Path, target: &Target, time: Duration, smoke: bool) -> Result<Figures> {
    let fuzz_dir = root.join("fuzz");
    let committed = fuzz_dir.join("corpus").join(target.name);
    let work = xtask_dir.join("fuzz").join(target.name);
    let (corpus, artifacts) = (work.join("corpus"), work.join("artifacts"));
    for directory in [&committed, &corpus, &artifacts] {
        std::fs::create_dir_all(directory).with_context(|| format!("cannot create `{}`", directory.display()))?;
    }
    let before = files(&artifacts)?;
    let log = work.join("fuzz.log");
    let mut args = vec!["fuzz".to_string(), "run".into(), target.name.into()];
    if smoke {
        args.extend(["--dev".into(), "--sanitizer".into(), "none".into()]);
    }
    args.extend([path(&corpus), path(&committed), "--".into()]);
    args.extend([
        format!("-max_total_time={}", time.as_secs()),
        format!("-artifact_prefix={}/", path(&artifacts)),
        "-timeout=10".into(),
        "-rss_limit_mb=2048".into(),
        "-print_final_stats=1".into(),
    ]);
    let status = run_cargo(&fuzz_dir, &args, &log)?;
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    let new_crashes: Vec<PathBuf> = files(&artifacts)?.into_iter().filter(|file| !before.contains(file)).collect();
    if !status.success() && new_crashes.is_empty() {
        bail!(
            "`cargo {}` failed ({status}) without saving a crash; its output is in `{}`",
            args.join(" "),
            log.display()
        );
    }
    let regressions = root.join("tests/fixtures/fuzz-regressions").join(target.name);
    let mut crashes = Vec::new();
    for crash in new_crashes {
        std::fs::create_dir_all(&regressions)?;
        let saved = regressions.join(crash.file_name().unwrap_or_default());
        std::fs::copy(&crash, &saved).with_context(|| format!("cannot copy `{}`", crash.display()))?;
        crashes.push(saved);
    }
    let kept = match smoke {
        true => files(&committed)?.len(),
        false => minimize(&fuzz_dir, target, &corpus, &committed, &work)?,
    };
    Ok(Figures {
        runs: stat(&output, "stat::number_of_executed_units:"),
        coverage: coverage(&output),
        crashes,
        corpus: kept,
    })
}

/// Merges the working and committed corpora into a minimal one (libFuzzer's `-merge=1`), and
/// makes the committed corpus its [`MAX_CORPUS`] largest files (larger inputs tend to reach
/// more of the code; the working corpus keeps everything).
fn minimize(fuzz_dir: &Path, target: &Target, corpus: &Path, committed: &Path, work: &Path) -> Result<usize> {
    let merged = work.join("merged");
    if merged.exists() {
        std::fs::remove_dir_all(&merged)?;
    }
    std::fs::create_dir_all(&merged)?;
    let args = vec![
        "fuzz".to_string(),
        "run".into(),
        target.name.into(),
        path(&merged),
        path(corpus),
        path(committed),
        "--".into(),
        "-merge=1".into(),
        "-timeout=10".into(),
    ];
    let status = run_cargo(fuzz_dir, &args, &work.join("merge.log"))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status}); its output is in `{}`", args.join(" "), work.join("merge.log").display());
    }
    let mut chosen: Vec<(u64, PathBuf)> =
        files(&merged)?.into_iter().map(|file| (file.metadata().map_or(0, |meta| meta.len()), file)).collect();
    chosen.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    chosen.truncate(MAX_CORPUS);
    for old in files(committed)? {
        std::fs::remove_file(&old)?;
    }
    for (_, file) in &chosen {
        std::fs::copy(file, committed.join(file.file_name().unwrap_or_default()))?;
    }
    Ok(chosen.len())
}

/// Runs `cargo ARGS` in `directory` (the fuzz crate), its output to `log`, echoing the command.
fn run_cargo(directory: &Path, args: &[String], log: &Path) -> Result<std::process::ExitStatus> {
    eprintln!("$ (cd {} && cargo {}) 2> {}", directory.display(), args.join(" "), log.display());
    let file = std::fs::File::create(log).with_context(|| format!("cannot create `{}`", log.display()))?;
    Command::new(cargo())
        .args(args)
        .current_dir(directory)
        .stdout(file.try_clone()?)
        .stderr(file)
        .status()
        .with_context(|| format!("cannot run `cargo {}`", args.join(" ")))
}

fn files(directory: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(directory).with_context(|| format!("cannot read `{}`", directory.display()))? {
        let path = entry?.path();
        if path.is_file() {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

fn path(path: &Path) -> String {
    path.display().to_string()
}

/// A libFuzzer final statistic (`-print_final_stats=1`).
fn stat(output: &str, key: &str) -> Option<u64> {
    output.lines().rev().find_map(|line| line.strip_prefix(key)).and_then(|value| value.trim().parse().ok())
}

/// The coverage libFuzzer last reported (`cov: N` in its status lines).
fn coverage(output: &str) -> Option<u64> {
    output.lines().rev().find_map(|line| line.split_once(" cov: ")?.1.split_whitespace().next()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_take_seconds_minutes_and_hours_and_refuse_the_rest() {
        assert_eq!(parse_time("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_time("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_time("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_time("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_time("0s").is_err());
        assert!(parse_time("10d").unwrap_err().contains("unknown unit"));
        assert!(parse_time("m").is_err());
        assert!(parse_time("18446744073709551615h").unwrap_err().contains("too long"));
        assert!(parse_time("99999999999999999999").is_err(), "past u64 is refused, not wrapped");
    }

    #[test]
    fn an_unknown_target_lists_the_known_ones() {
        let error = unknown_target("ktap").to_string();
        assert!(error.starts_with("unknown fuzz target `ktap`; known: serial_stream, merged_ktap"), "{error}");
    }

    #[test]
    fn libfuzzer_figures_are_read_from_its_output() {
        let output = "#2\tINITED cov: 12 ft: 13 corp: 1/1b\n#4096\tpulse  cov: 120 ft: 300 corp: 9/77b\n\
                      Done 5000 runs in 2 second(s)\nstat::number_of_executed_units: 5000\n";
        assert_eq!(stat(output, "stat::number_of_executed_units:"), Some(5000));
        assert_eq!(coverage(output), Some(120));
        assert_eq!(coverage("nothing"), None);
    }
}
