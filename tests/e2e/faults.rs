//! Fault injection with the real QEMU: the harness interrupted by SIGINT and SIGTERM
//! mid-run, QEMU killed from outside mid-test. Each time: the verdicts, complete and valid
//! reports, and no QEMU left (from the process table).

use crate::harness::{
    ARCHES, Spawned, exclusive, json_lines, qemu_processes, scratch, spawn_xtask, verdicts, wait_until_every_arch_hangs,
};
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

/// Starts `cargo xtask ARGS` with its stdout piped.
fn start(args: &[&str]) -> Spawned {
    spawn_xtask(args)
}

/// Reads stdout lines until one satisfies `until`; returns them all.
fn read_until(child: &mut Spawned, until: impl Fn(&str) -> bool) -> Vec<String> {
    let stdout = child.stdout.take().unwrap();
    let mut reader = BufReader::new(stdout);
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            panic!("the run ended before the expected line:\n{}", lines.join(""));
        }
        let done = until(&line);
        lines.push(line);
        if done {
            break;
        }
    }
    let rest = std::thread::spawn(move || reader.lines().map_while(Result::ok).collect::<Vec<_>>());
    lines.extend(rest.join().unwrap().into_iter().map(|line| line + "\n"));
    lines
}

fn signal(pid: u32, signal: i32) {
    // SAFETY: kill(2) on a child this test started.
    assert_eq!(unsafe { libc::kill(pid as i32, signal) }, 0);
}

/// A run in the middle of `kernel::selftest::hangs_forever` (60 s timeout) on every arch.
fn run_until_hanging(junit: &std::path::Path) -> (Spawned, std::sync::mpsc::Receiver<Vec<String>>) {
    let junit = junit.to_str().unwrap().to_string();
    // --jobs 3: every arch at once (the default is one per CPU).
    let mut args = vec!["test", "--jobs", "3", "--features", "selftest", "--timeout", "60", "--format", "json"];
    args.extend(["--junit", junit.as_str(), "kernel::selftest::"]);
    let mut child = start(&args);
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let lines: Vec<String> = BufReader::new(stdout).lines().map_while(Result::ok).collect();
        let _ = sender.send(lines);
    });
    (child, receiver)
}

fn interrupted_run_reports_and_cleans_up(signal_number: i32, expected_status: i32) {
    let junit = scratch(&format!("interrupted-{signal_number}")).join("report.xml");
    let (mut child, output) = run_until_hanging(&junit);
    wait_until_every_arch_hangs(&mut child);
    let sent = Instant::now();
    signal(child.id(), signal_number);
    let status = child.wait().unwrap();
    let took = sent.elapsed();
    assert_eq!(status.code(), Some(expected_status), "exit status after signal {signal_number}");
    assert!(took < Duration::from_secs(5), "the run ended {took:?} after the signal");
    assert!(qemu_processes().is_empty(), "QEMU outlived the interrupted run: {:?}", qemu_processes());

    let lines = output.recv().unwrap();
    let events = json_lines(&lines.join("\n")); // every line is JSON
    let verdicts = verdicts(&events);
    for arch in ARCHES {
        // What ran before the signal has its verdict; the interrupted test and the ones after
        // it are reported as not run.
        let verdict = |name: &str| verdicts.get(&(arch.to_string(), name.to_string())).cloned();
        assert_eq!(verdict("kernel::selftest::assertion_fails"), Some(("failed".into(), "panic".into())), "{arch}");
        assert_eq!(verdict("kernel::selftest::hangs_forever"), Some(("failed".into(), "not-run".into())), "{arch}");
        assert_eq!(verdict("kernel::selftest::zz_after_all"), Some(("failed".into(), "not-run".into())), "{arch}");
        let suite = events.iter().find(|e| e["type"] == "suite" && e["arch"] == arch).expect("a suite line per arch");
        assert_eq!(suite["event"], "failed");
    }
    let xml = std::fs::read_to_string(&junit).expect("the JUnit report is written on a signal");
    let document = roxmltree::Document::parse(&xml).expect("a complete XML document");
    let not_run = document
        .descendants()
        .filter(|node| node.has_tag_name("error") && node.attribute("type") == Some("not-run"))
        .count();
    assert!(not_run >= ARCHES.len() * 2, "not-run tests are errors in the JUnit report, never skipped: {not_run}");
}

#[test]
fn sigint_mid_run_exits_130_with_complete_reports_and_no_qemu_left() {
    let _lock = exclusive();
    interrupted_run_reports_and_cleans_up(libc::SIGINT, 130);
}

#[test]
fn sigterm_mid_run_exits_143_with_complete_reports_and_no_qemu_left() {
    let _lock = exclusive();
    interrupted_run_reports_and_cleans_up(libc::SIGTERM, 143);
}

#[test]
fn qemu_killed_from_outside_is_a_crash_of_that_test_and_the_run_goes_on() {
    let _lock = exclusive();
    let mut child = start(&[
        "test",
        "--arch",
        "riscv64",
        "--features",
        "selftest",
        "--timeout",
        "60",
        "--format",
        "json",
        "--exact",
        "kernel::selftest::hangs_forever",
        "kernel::selftest::zz_after_all",
    ]);
    let lines = read_until(&mut child, |line| {
        if line.contains("\"event\":\"started\"") && line.contains("kernel::selftest::hangs_forever") {
            // The test is running: kill its QEMU, as the OOM killer or a person might.
            for pid in qemu_pids() {
                signal(pid, libc::SIGKILL);
            }
            return true;
        }
        false
    });
    let status = child.wait().unwrap();
    let verdicts = verdicts(&json_lines(&lines.join("")));
    let hang = &verdicts[&("riscv64".to_string(), "kernel::selftest::hangs_forever".to_string())];
    assert_eq!(hang, &("failed".to_string(), "crash".to_string()));
    let after = &verdicts[&("riscv64".to_string(), "kernel::selftest::zz_after_all".to_string())];
    assert_eq!(after.0, "ok", "the run resumed after the killed test");
    assert_eq!(status.code(), Some(1));
    let messages: Vec<String> = json_lines(&lines.join(""))
        .iter()
        .filter(|e| e["name"] == "kernel::selftest::hangs_forever" && e["event"] == "failed")
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    assert!(messages[0].contains("killed by signal 9"), "{messages:?}");
    assert!(qemu_processes().is_empty());
}

/// Waits until process `pid` has a handler for SIGINT (`SigCgt` in its /proc status).
fn wait_until_it_catches_sigint(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let caught = status
            .lines()
            .find_map(|line| line.strip_prefix("SigCgt:"))
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
            .unwrap_or(0);
        if caught & (1 << (libc::SIGINT - 1)) != 0 {
            return;
        }
        assert!(Instant::now() < deadline, "the xtask never installed its signal handlers:\n{status}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// PIDs of this repository's QEMU processes.
fn qemu_pids() -> Vec<u32> {
    crate::harness::qemu_pids_and_commands().into_iter().map(|(pid, _)| pid).collect()
}

#[test]
fn a_signal_before_any_arch_started_still_reports_every_arch() {
    let _lock = exclusive();
    let junit = scratch("interrupted-early").join("report.xml");
    let mut child = start(&["test", "--format", "json", "--junit", junit.to_str().unwrap()]);
    // As soon as it catches SIGINT (before that, the default action would kill it outright:
    // a fixed 20 ms was once not enough on a loaded machine).
    wait_until_it_catches_sigint(child.id());
    signal(child.id(), libc::SIGINT);
    let stdout = child.stdout.take().unwrap();
    let lines: Vec<String> = BufReader::new(stdout).lines().map_while(Result::ok).collect();
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let events = json_lines(&lines.join("\n"));
    for arch in ARCHES {
        let suite = events.iter().find(|e| e["type"] == "suite" && e["arch"] == arch).expect("a suite line per arch");
        assert_eq!(suite["event"], "failed");
        let problems = suite["problems"].to_string();
        assert!(problems.contains("interrupted by signal 2"), "{arch}: {problems}");
    }
    roxmltree::Document::parse(&std::fs::read_to_string(&junit).unwrap()).expect("a whole JUnit report");
    assert!(qemu_processes().is_empty());
}
