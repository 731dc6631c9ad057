//! The large-suite rows: what a suite of ten thousand tests costs, and what parallel boots,
//! duration shards and lanes win back. One arch (riscv64, the slowest to boot) with the
//! `generated-tests` feature: 10,000 trivial tests and 20 that spin for 100 ms each.
//!
//! - the green suite's boots per arch (the whole default suite, `cargo xtask test`);
//! - `--jobs 2` against `--jobs 1` on the generated suite (target: at most 0.6);
//! - the harness's own peak memory on that run (target: under 100 MB);
//! - `cargo xtask report` of 30,000 verdicts to JSON and JUnit, and `--list` of the three
//!   arches (target: under a second each);
//! - `duration:K/4` shards against `hash:K/4`: the largest shard's share over the smallest,
//!   from the durations just measured (target: at most 1.10);
//! - the cost of a hang in one lane: the run with one hanging test minus the run without,
//!   against the timeout (target: at most one timeout).

use super::{Bencher, Stats, bench_xtask};
use crate::commands::Context;
use crate::plan::durations::Durations;
use anyhow::{Context as _, Result, bail};
use std::process::{Command, Stdio};

const ARCH: &str = "riscv64";
const TRIVIAL: usize = 10_000;
const SLOW: usize = 20;
/// The per-test timeout, which is also how long the kernel may stay silent before its plan:
/// selecting and sorting 10,020 tests takes the debug kernel 1.4 s under TCG, and two lanes
/// at once on a shared two-core machine took more than 3 s (2026-12-03), a false hang.
const TIMEOUT_SECS: u64 = 5;

pub(super) fn rows(bench: &mut Bencher, context: &Context) -> Result<()> {
    let root = context.workspace.root().to_path_buf();
    let xtask_dir = context.workspace.xtask_dir();

    // The green suite, one run: its boots per arch.
    let run = bench_xtask(&root, &["test", "--format", "json"]).stderr(Stdio::null()).output()?;
    for line in String::from_utf8_lossy(&run.stdout).lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        if value["type"] == "suite" {
            let boots = value["boots"].as_f64().unwrap_or(f64::NAN);
            bench.record(
                &format!("green suite: boots, {} (target 1)", value["arch"].as_str().unwrap_or("?")),
                Stats::value(boots),
            );
        }
    }

    let generated = |jobs: &str, hang: bool| {
        let timeout = TIMEOUT_SECS.to_string();
        let args = ["test", "--arch", ARCH, "--features", "generated-tests", "--jobs", jobs, "--timeout", &timeout];
        let mut command = bench_xtask(&root, &[&args[..], &["kernel::generated::"]].concat());
        command.env("KTEST_GENERATED", TRIVIAL.to_string()).env("KTEST_GENERATED_SLOW", SLOW.to_string());
        command.env("KTEST_GENERATED_HANG", if hang { "1" } else { "0" });
        command
    };
    // Builds the image and records every test's duration, which the split needs.
    bench.once(&format!("suite: {TRIVIAL} + {SLOW} slow tests, {ARCH}, first run"), &mut generated("1", false))?;
    // In turns, one of each at a time: the ratio is the median of the pairs' ratios.
    let labels = [
        &format!("suite: {ARCH}, --jobs 1") as &str,
        &format!("suite: {ARCH}, --jobs 2"),
        "suite: --jobs 2 / --jobs 1, median of pairs (target <= 0.6)",
    ];
    bench.measure_pair(labels, || generated("1", false), || generated("2", false))?;

    let rss_file = xtask_dir.join("bench-peak-rss");
    let mut measured = generated("2", false);
    quiet(measured.env("XTASK_PEAK_RSS_FILE", &rss_file)).status()?;
    let kib: f64 = std::fs::read_to_string(&rss_file).context("the xtask wrote no peak memory")?.trim().parse()?;
    bench.record("suite: the harness's peak memory, MB (target < 100)", Stats::value(kib / 1024.0));

    // 30,000 verdicts: three logs of 10,000 results each, reported to JSON and JUnit.
    let dir = xtask_dir.join("bench-verdicts");
    std::fs::create_dir_all(&dir)?;
    let logs: Vec<String> = (1..=3)
        .map(|index| {
            let path = dir.join(format!("log{index}.ktap"));
            let mut text = format!("KTAP version 1\n1..{TRIVIAL}\n");
            for test in 1..=TRIVIAL {
                text.push_str(&format!("# duration_ns: 1200\nok {test} generated::t{test:05}\n"));
            }
            std::fs::write(&path, text).map(|()| path.display().to_string())
        })
        .collect::<std::io::Result<_>>()?;
    let junit = dir.join("junit.xml").display().to_string();
    bench.measure(
        "report: 30,000 verdicts to JSON and JUnit (target < 1 s)",
        || {
            let mut command = bench_xtask(&root, &["report", "--format", "json", "--junit", &junit]);
            command.args(&logs);
            command
        },
        true,
    )?;
    bench.measure(
        &format!("list: {TRIVIAL} tests on each of the 3 arches (cached list boots)"),
        || {
            let mut command = bench_xtask(&root, &["test", "--list", "--features", "generated-tests"]);
            command.env("KTEST_GENERATED", TRIVIAL.to_string()).env("KTEST_GENERATED_SLOW", SLOW.to_string());
            command.env("KTEST_GENERATED_HANG", "0");
            command
        },
        true,
    )?;

    // Shards, from the durations the runs above recorded.
    let durations = Durations::load(&crate::plan::durations::path(&xtask_dir));
    let (by_duration, by_hash) = shard_spreads(&durations, 4)?;
    bench.record("shards: duration:K/4, largest / smallest (target <= 1.10)", Stats::value(by_duration));
    bench.record("shards: hash:K/4, largest / smallest (for comparison)", Stats::value(by_hash));

    // A hang in one lane costs that lane its timeout, not the run the sum.
    let without = bench.measure(&format!("hang: {ARCH}, --jobs 2, no hang"), || generated("2", false), true)?;
    let with = bench.measure(&format!("hang: {ARCH}, --jobs 2, one test hangs"), || generated("2", true), false)?;
    let timeouts = (with.median - without.median) / TIMEOUT_SECS as f64;
    bench.record("hang: added time in timeouts (target <= 1)", Stats::value(timeouts));
    Ok(())
}

/// The largest shard's summed duration over the smallest's, for `count` duration shards and
/// `count` hash shards of the generated suite.
fn shard_spreads(durations: &Durations, count: usize) -> Result<(f64, f64)> {
    let names: Vec<String> = (0..TRIVIAL)
        .map(|index| format!("kernel::generated::t{index:04}"))
        .chain((0..SLOW).map(|index| format!("kernel::generated::slow{index:04}")))
        .collect();
    let costs: Vec<u64> =
        durations.estimate(ARCH, &names).iter().map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)).collect();
    if costs.iter().all(|&cost| cost == costs[0]) {
        bail!("no durations were recorded for the generated suite on {ARCH}");
    }
    let spread = |loads: &[u64]| {
        let (max, min) = (loads.iter().max().copied().unwrap_or(0), loads.iter().min().copied().unwrap_or(0));
        max as f64 / min.max(1) as f64
    };
    let by_duration = crate::plan::lpt::loads(&costs, &crate::plan::lpt::split(&costs, count));
    let by_hash = (1..=count)
        .map(|shard| {
            let partition = kernel_abi::partition::Partition::parse(&format!("hash:{shard}/{count}"))
                .map_err(|error| anyhow::anyhow!("{error}"))?;
            Ok(names
                .iter()
                .enumerate()
                .filter(|(at, name)| partition.contains(*at, name))
                .map(|(at, _)| costs[at])
                .sum())
        })
        .collect::<Result<Vec<u64>>>()?;
    Ok((spread(&by_duration), spread(&by_hash)))
}

fn quiet(command: &mut Command) -> &mut Command {
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null())
}
