//! One event stream behind every output: a run's live human summary, JSON lines, JUnit
//! report and exit status equal, field by field, those of `cargo xtask report` on its
//! serial logs and on its merged KTAP documents: for the self-test run on every arch, plain,
//! with `--retries 1`, and interrupted by SIGINT in the middle.

use crate::harness::{ARCHES, exclusive, qemu_processes, root, scratch, wait_until_every_arch_hangs, xtask};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What one command printed and wrote.
#[derive(Debug, PartialEq)]
struct Outputs {
    status: Option<i32>,
    /// The human summary: every stdout line that is not a live `[arch]` line.
    summary: Vec<String>,
    /// libtest JSON lines, sorted (arches interleave differently live).
    json: Vec<String>,
    junit: String,
}

fn files(name: &str) -> (PathBuf, PathBuf) {
    let dir = scratch(name);
    (dir.join("report.json"), dir.join("report.xml"))
}

fn outputs(status: Option<i32>, stdout: &str, json: &Path, junit: &Path) -> Outputs {
    let summary = stdout.lines().filter(|line| !line.starts_with('[')).map(str::to_string).collect();
    let mut lines: Vec<String> = std::fs::read_to_string(json).unwrap().lines().map(str::to_string).collect();
    lines.sort();
    Outputs { status, summary, json: lines, junit: std::fs::read_to_string(junit).unwrap() }
}

/// The serial logs of the run that wrote `json`, from its suite lines.
fn serial_logs(json: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(json).unwrap();
    let logs: Vec<String> = crate::harness::json_lines(&text)
        .iter()
        .filter(|event| event["type"] == "suite")
        .map(|event| event["log"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(logs.len(), ARCHES.len(), "a suite line per arch");
    logs
}

fn report(name: &str, logs: &[String]) -> Outputs {
    let (json, junit) = files(name);
    let (json_arg, junit_arg) = (json.to_string_lossy().into_owned(), junit.to_string_lossy().into_owned());
    let mut args = vec!["report", "--json", &json_arg, "--junit", &junit_arg];
    args.extend(logs.iter().map(String::as_str));
    let run = xtask(&args);
    outputs(run.status, &run.stdout, &json, &junit)
}

/// The live run equals the report of its serial logs and of its merged KTAP documents.
fn assert_every_reading_agrees(name: &str, live: &Outputs, json: &Path) {
    let logs = serial_logs(json);
    let merged: Vec<String> = logs.iter().map(|log| log.replace(".serial.log", ".ktap")).collect();
    for (what, reported) in [
        ("serial logs", report(&format!("{name}-serial"), &logs)),
        ("merged KTAP", report(&format!("{name}-ktap"), &merged)),
    ] {
        assert_eq!(reported.status, live.status, "{name}: exit status of the report of its {what}");
        assert_eq!(reported.summary, live.summary, "{name}: human summary of the report of its {what}");
        assert_eq!(reported.json, live.json, "{name}: JSON of the report of its {what}");
        assert_eq!(reported.junit, live.junit, "{name}: JUnit of the report of its {what}");
    }
}

fn live_run(name: &str, extra: &[&str]) -> (Outputs, PathBuf) {
    let (json, junit) = files(name);
    let (json_arg, junit_arg) = (json.to_string_lossy().into_owned(), junit.to_string_lossy().into_owned());
    let mut args = vec!["test", "--features", "selftest", "--timeout", "3", "--json", &json_arg, "--junit", &junit_arg];
    args.extend_from_slice(extra);
    let run = xtask(&args);
    (outputs(run.status, &run.stdout, &json, &junit), json)
}

#[test]
fn a_self_test_run_reads_back_the_same_from_its_logs_and_its_merged_ktap() {
    let _lock = exclusive();
    let (live, json) = live_run("consistency-plain", &[]);
    assert_eq!(live.status, Some(1), "the self-tests fail by design: {:?}", live.summary);
    assert_every_reading_agrees("plain", &live, &json);
}

#[test]
fn a_retried_run_keeps_its_flaky_tests_flaky_when_read_back() {
    let _lock = exclusive();
    let (live, json) = live_run("consistency-retries", &["--retries", "1", "selftest::"]);
    assert!(live.json.iter().any(|line| line.contains("\"flaky\":true")), "a flaky test: {:?}", live.json);
    assert!(live.summary.iter().any(|line| line.contains(" flaky")), "{:?}", live.summary);
    assert_every_reading_agrees("retries", &live, &json);
}

#[test]
fn an_interrupted_run_exits_130_when_read_back_and_reports_what_never_ran() {
    let _lock = exclusive();
    let (json, junit) = files("consistency-interrupted");
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["test", "--jobs", "3", "--features", "selftest", "--timeout", "600", "selftest::"])
        .args(["--json", json.to_str().unwrap(), "--junit", junit.to_str().unwrap()])
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).unwrap();
        text
    });
    wait_until_every_arch_hangs(&mut child);
    // SAFETY: kill(2) on the child this test started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = child.wait().unwrap();
    let live = outputs(status.code(), &reader.join().unwrap(), &json, &junit);
    assert_eq!(live.status, Some(130));
    assert!(qemu_processes().is_empty(), "QEMU outlived the interrupted run");
    assert!(
        live.json.iter().filter(|line| line.contains("\"reason\":\"not-run\"")).count() >= 2 * ARCHES.len(),
        "the interrupted test and the ones after it are not run: {:?}",
        live.json
    );
    assert_every_reading_agrees("interrupted", &live, &json);
}
