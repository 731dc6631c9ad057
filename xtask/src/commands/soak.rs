//! `cargo xtask soak`: runs the self-test suite again and again with a fault injected at a
//! random moment (QEMU killed, the harness interrupted by SIGINT or SIGTERM, or none) and
//! checks every run against a clean reference run: no verdict misreported or lost, no QEMU
//! left behind, every report file complete and valid.

use super::Context;
use anyhow::{Context as _, Result, bail};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Soak {
    /// How many faulted runs after the reference run.
    #[arg(long, default_value_t = 20)]
    runs: u32,
    /// Architecture, or `all`.
    #[arg(long, default_value = "all", value_parser = super::parse_arch)]
    arch: crate::arch::ArchSelection,
    /// Seed for the choice of faults and moments (default: from the clock; printed).
    #[arg(long)]
    seed: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    None,
    KillQemu,
    Interrupt,
    Terminate,
}

/// (arch, test) → (event, reason), from `--format json` output.
type Verdicts = BTreeMap<(String, String), (String, String)>;

struct Outcome {
    status: Option<i32>,
    verdicts: Verdicts,
    reports_valid: Result<(), String>,
    orphans: usize,
    took: Duration,
}

#[derive(Default)]
struct Tally {
    runs: u32,
    verdicts_checked: usize,
    misreported: usize,
    orphans: usize,
    invalid_reports: usize,
    by_fault: BTreeMap<&'static str, u32>,
}

/// A small xorshift generator: the soak needs spread, not cryptography.
struct Random(u64);

impl Random {
    /// A generator for `seed`. Xorshift's state must never be 0 (it would stay 0: every run
    /// the same fault at the same moment), so the seed is first mixed (splitmix64's
    /// finalizer, which maps only one input to 0, and that one is not 0).
    fn new(seed: u64) -> Random {
        let mut mixed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^= mixed >> 31;
        Random(if mixed == 0 { 1 } else { mixed })
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

impl Soak {
    pub fn run(self, context: &Context) -> Result<ExitCode> {
        crate::process::winds_down_by_itself();
        let seed = self.seed.unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1
        });
        let mut random = Random::new(seed);
        let directory = context.workspace.xtask_dir().join("soak");
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory)?;
        let arch = match &self.arch {
            crate::arch::ArchSelection::All => "all".to_string(),
            crate::arch::ArchSelection::One(name) => name.clone(),
        };
        let images = context.workspace.xtask_dir().join("images");
        println!("soak: seed {seed}, {} faulted run(s) of the self-tests on {arch}", self.runs);

        let reference = run_once(&arch, &directory.join("reference"), Fault::None, Duration::ZERO, &images)?;
        reference.reports_valid.clone().map_err(|error| anyhow::anyhow!("the reference run's reports: {error}"))?;
        if reference.status != Some(1) || reference.verdicts.is_empty() {
            bail!("the reference run did not fail as the self-tests should (status {:?})", reference.status);
        }
        println!("reference: {} verdicts in {:.1} s", reference.verdicts.len(), reference.took.as_secs_f64());

        let mut tally = Tally::default();
        for index in 1..=self.runs {
            if crate::process::interrupted().is_some() {
                break;
            }
            let fault =
                [Fault::None, Fault::KillQemu, Fault::Interrupt, Fault::Terminate][(random.next() % 4) as usize];
            let moment = Duration::from_millis(random.next() % reference.took.as_millis().max(1) as u64);
            let outcome = run_once(&arch, &directory.join(format!("run-{index}")), fault, moment, &images)?;
            let misreported = check(&reference.verdicts, &outcome, fault);
            tally.runs += 1;
            tally.verdicts_checked += outcome.verdicts.len();
            tally.misreported += misreported.len();
            tally.orphans += outcome.orphans;
            tally.invalid_reports += usize::from(outcome.reports_valid.is_err());
            *tally.by_fault.entry(fault_name(fault)).or_default() += 1;
            let verdict = if misreported.is_empty() && outcome.orphans == 0 && outcome.reports_valid.is_ok() {
                "ok"
            } else {
                "BAD"
            };
            println!(
                "run {index:>4}: {:<10} at {:>5} ms  exit {:?}  {} verdicts  {verdict}",
                fault_name(fault),
                moment.as_millis(),
                outcome.status,
                outcome.verdicts.len()
            );
            for line in misreported {
                println!("    misreported: {line}");
            }
            if let Err(error) = &outcome.reports_valid {
                println!("    invalid report: {error}");
            }
        }
        println!(
            "\nruns: {}  verdicts checked: {}  misreported verdicts: {}  orphan processes: {}  report files invalid: {}",
            tally.runs, tally.verdicts_checked, tally.misreported, tally.orphans, tally.invalid_reports
        );
        println!(
            "faults: {}",
            tally.by_fault.iter().map(|(name, count)| format!("{name} {count}")).collect::<Vec<_>>().join(", ")
        );
        let clean = tally.misreported == 0 && tally.orphans == 0 && tally.invalid_reports == 0;
        Ok(if clean { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }
}

fn fault_name(fault: Fault) -> &'static str {
    match fault {
        Fault::None => "none",
        Fault::KillQemu => "kill-qemu",
        Fault::Interrupt => "sigint",
        Fault::Terminate => "sigterm",
    }
}

/// One self-test run, with `fault` injected `moment` after it starts.
fn run_once(arch: &str, directory: &Path, fault: Fault, moment: Duration, images: &Path) -> Result<Outcome> {
    std::fs::create_dir_all(directory)?;
    let junit = directory.join("junit.xml");
    let stdout = std::fs::File::create(directory.join("stdout.json"))?;
    let stderr = std::fs::File::create(directory.join("stderr.txt"))?;
    let started = Instant::now();
    let mut command = Command::new(std::env::current_exe().context("cannot find the xtask binary")?);
    command
        .args(["test", "--arch", arch, "--jobs", "3", "--features", "selftest", "--timeout", "2", "--format", "json"])
        .arg("--junit")
        .arg(&junit)
        .arg("kernel::selftest::")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    let mut child = command.spawn().context("cannot start the xtask")?;
    if fault != Fault::None {
        std::thread::sleep(moment);
        match fault {
            Fault::KillQemu => qemu_pids(images).into_iter().take(1).for_each(|pid| send(pid, libc::SIGKILL)),
            Fault::Interrupt => send(child.id(), libc::SIGINT),
            Fault::Terminate => send(child.id(), libc::SIGTERM),
            Fault::None => {}
        }
    }
    // A run that does not end is a failure of the harness: end it and say so.
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            send(child.id(), libc::SIGKILL);
            bail!("a run did not end within 120 s ({})", directory.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    let output = std::fs::read_to_string(directory.join("stdout.json"))?;
    let (verdicts, json_valid) = parse_json(&output);
    let reports_valid = json_valid.and_then(|()| check_junit(&junit));
    Ok(Outcome { status: status.code(), verdicts, reports_valid, orphans: qemu_pids(images).len(), took })
}

fn send(pid: u32, signal: i32) {
    // SAFETY: kill(2) on a process this command started (or its QEMU).
    unsafe { libc::kill(pid as i32, signal) };
}

fn parse_json(output: &str) -> (Verdicts, Result<(), String>) {
    let mut verdicts = Verdicts::new();
    let mut suites = 0;
    for line in output.lines() {
        let value: serde_json::Value = match serde_json::from_str(line) {
            Ok(value) => value,
            Err(error) => return (verdicts, Err(format!("a stdout line is not JSON ({error}): {line}"))),
        };
        if value["type"] == "suite" {
            suites += 1;
        }
        if value["type"] == "test" && value["event"] != "started" {
            let key =
                (value["arch"].as_str().unwrap_or("").to_string(), value["name"].as_str().unwrap_or("").to_string());
            let verdict =
                (value["event"].as_str().unwrap_or("").to_string(), value["reason"].as_str().unwrap_or("").to_string());
            if verdicts.insert(key.clone(), verdict).is_some() {
                return (verdicts, Err(format!("two verdicts for {key:?}")));
            }
        }
    }
    if suites == 0 {
        return (verdicts, Err("no suite line: the JSON report is incomplete".into()));
    }
    (verdicts, Ok(()))
}

fn check_junit(path: &Path) -> Result<(), String> {
    let xml = std::fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))?;
    let document = roxmltree::Document::parse(&xml).map_err(|error| format!("{}: {error}", path.display()))?;
    match document.root_element().has_tag_name("testsuites") {
        true => Ok(()),
        false => Err(format!("{}: no <testsuites>", path.display())),
    }
}

/// The verdicts of a faulted run that are wrong: each must be the reference's, or what the
/// fault explains (a crash of a test whose QEMU was killed; not run after an interruption).
fn check(reference: &Verdicts, outcome: &Outcome, fault: Fault) -> Vec<String> {
    let mut wrong = Vec::new();
    let expected_status = match fault {
        Fault::Interrupt => Some(130),
        Fault::Terminate => Some(143),
        Fault::None | Fault::KillQemu => Some(1),
    };
    // A signal that arrives after the run ended changes nothing: then the reference status.
    let signalled_after_end = matches!(fault, Fault::Interrupt | Fault::Terminate)
        && outcome.status == Some(1)
        && outcome.verdicts == *reference;
    if outcome.status != expected_status && !signalled_after_end {
        wrong.push(format!("exit status {:?}, expected {expected_status:?}", outcome.status));
    }
    for (key, expected) in reference {
        let Some(got) = outcome.verdicts.get(key) else {
            // Without a verdict at all only if the run was interrupted before that arch began.
            if !matches!(fault, Fault::Interrupt | Fault::Terminate) {
                wrong.push(format!("{} {}: no verdict (expected {expected:?})", key.0, key.1));
            }
            continue;
        };
        let explained = match fault {
            Fault::KillQemu => got == &("failed".to_string(), "crash".to_string()),
            Fault::Interrupt | Fault::Terminate => got == &("ignored".to_string(), "not-run".to_string()),
            Fault::None => false,
        };
        if got != expected && !explained {
            wrong.push(format!("{} {}: {got:?}, expected {expected:?}", key.0, key.1));
        }
    }
    for key in outcome.verdicts.keys().filter(|key| !reference.contains_key(*key)) {
        wrong.push(format!("{} {}: a verdict for a test the reference run does not have", key.0, key.1));
    }
    wrong
}

/// This repository's QEMU processes still alive.
fn qemu_pids(images: &Path) -> Vec<u32> {
    crate::process::live_qemu_processes(images).into_iter().map(|(pid, _)| pid).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_seed_gives_a_moving_generator_seed_zero_too() {
        for seed in [0, 1, u64::MAX, 0x9e37_79b9_7f4a_7c15u64.wrapping_neg()] {
            let mut random = Random::new(seed);
            let values: BTreeSet<u64> = (0..8).map(|_| random.next()).collect();
            assert_eq!(values.len(), 8, "seed {seed}: {values:?}");
        }
    }
}
