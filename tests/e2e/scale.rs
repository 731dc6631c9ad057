//! Large suites: an arch split over several QEMU instances at once gives exactly the
//! verdicts of one instance and reads back the same; `--fail-fast` stops each arch at its
//! first failure; `--rerun-failed` runs exactly what failed last time.

use crate::harness::{ARCHES, exclusive, json_lines, root, verdicts, xtask};
use crate::kernel_tests::{SELFTEST_VERDICTS, arch_only_verdicts};
use std::collections::BTreeMap;

/// A durations file that makes every self-test look long, every third four times as long as
/// the others: the planner then splits an arch over as many lanes as `--jobs` allows, and
/// the lanes take turns with their long tests (`ktest.late`), crashes and hangs included.
fn pretend_the_selftests_take_one_to_four_seconds(arch: &str) {
    let tests: serde_json::Map<String, serde_json::Value> = SELFTEST_VERDICTS
        .iter()
        .chain(arch_only_verdicts(arch))
        .enumerate()
        .map(|(at, (name, _, _))| {
            let micros = if at % 3 == 0 { 4_000_000 } else { 1_000_000 };
            (name.to_string(), serde_json::json!([micros]))
        })
        .collect();
    let file = serde_json::json!({ "version": 1, "arches": { arch: tests } });
    std::fs::write(root().join("target/xtask/durations.json"), file.to_string()).unwrap();
}

#[test]
fn an_arch_split_over_four_qemus_gives_the_verdicts_of_one_and_reads_back_the_same() {
    let _lock = exclusive();
    for arch in ARCHES {
        pretend_the_selftests_take_one_to_four_seconds(arch);
        let args = ["test", "--arch", arch, "--jobs", "4", "--features", "selftest", "--timeout", "3"];
        let run = xtask(&[&args[..], &["--format", "json", "-v", "kernel::selftest::"]].concat());
        assert_eq!(run.status, Some(1), "{}", run.all_output());
        assert!(run.stderr.contains("4 lanes"), "the plan says how {arch} is split:\n{}", run.stderr);
        let events = json_lines(&run.stdout);
        let got = verdicts(&events);
        let expected: BTreeMap<(String, String), (String, String)> = SELFTEST_VERDICTS
            .iter()
            .chain(arch_only_verdicts(arch))
            .map(|(name, event, reason)| {
                ((arch.to_string(), name.to_string()), (event.to_string(), reason.to_string()))
            })
            .collect();
        assert_eq!(got, expected, "{arch}: every verdict exactly once, as one QEMU gives it");
        let suite = events.iter().find(|event| event["type"] == "suite").unwrap();
        let log = suite["log"].as_str().unwrap();
        assert!(std::path::Path::new(&log.replace(".serial.log", ".lane4.serial.log")).exists(), "{log}");
        let lane2 = std::fs::read_to_string(log.replace(".serial.log", ".lane2.serial.log")).unwrap();
        assert!(lane2.contains(" ktest.late="), "{arch}: the lanes take turns with their long tests:\n{lane2}");
        // Read back from the first lane's log (its siblings come with it) and from the
        // merged KTAP: the same verdicts.
        for file in [log.to_string(), log.replace(".serial.log", ".ktap")] {
            let report = xtask(&["report", "--format", "json", &file]);
            assert_eq!(report.status, Some(1), "{file}: {}", report.all_output());
            assert_eq!(verdicts(&json_lines(&report.stdout)), expected, "{file}");
        }
        // The run's HTML page, and the one `report --html` writes from the logs: every
        // verdict in the matrix, the failures first.
        let run_page = std::path::Path::new(log).parent().unwrap().join("report.html");
        let again = crate::harness::scratch("scale-html").join("page.html");
        let report = xtask(&["report", "--html", again.to_str().unwrap(), log]);
        assert_eq!(report.status, Some(1), "{}", report.all_output());
        for page in [run_page, again] {
            let html = std::fs::read_to_string(&page).unwrap();
            assert_eq!(html.matches("data-status=").count(), expected.len(), "{}", page.display());
            for ((_, name), (event, _)) in &expected {
                let row = html.find(&format!("<tr><td>{name}</td>")).unwrap_or_else(|| panic!("{name} in {html}"));
                let status = &html[row..][html[row..].find("data-status=\"").unwrap() + 13..];
                let status = &status[..status.find('"').unwrap()];
                assert_eq!(status, if event == "ok" { "ok" } else { "failed" }, "{arch} {name}");
            }
            let first_pass = html.find("data-status=\"ok\"").unwrap();
            assert!(html.rfind("data-status=\"failed\"").unwrap() < first_pass, "failures first");
        }
    }
}

#[test]
fn fail_fast_stops_each_arch_at_its_first_failure_and_says_so_for_the_rest() {
    let _lock = exclusive();
    let args = ["test", "--fail-fast", "--jobs", "3", "--features", "selftest", "--timeout", "3"];
    let run = xtask(&[&args[..], &["--format", "json", "kernel::selftest::"]].concat());
    assert_eq!(run.status, Some(1), "{}", run.all_output());
    let events = json_lines(&run.stdout);
    let got = verdicts(&events);
    let first = "kernel::selftest::assertion_fails";
    for arch in ARCHES {
        assert_eq!(got[&(arch.to_string(), first.to_string())].0, "failed", "{arch}");
        for (name, _, _) in
            SELFTEST_VERDICTS.iter().chain(arch_only_verdicts(arch)).filter(|(name, _, _)| *name != first)
        {
            let event = events.iter().find(|e| e["arch"] == arch && e["name"] == *name && e["event"] != "started");
            let event = event.unwrap_or_else(|| panic!("{arch} {name}: no verdict"));
            assert_eq!(event["reason"], "not-run", "{arch} {name}: {event}");
            let message = event["message"].as_str().unwrap();
            assert_eq!(message, format!("--fail-fast: the run stopped after `{first}` failed"), "{arch} {name}");
        }
        let suite = events.iter().find(|e| e["type"] == "suite" && e["arch"] == arch).unwrap();
        assert_eq!(suite["boots"], 1, "{arch}: one boot, stopped at the failure: {suite}");
        assert!(suite.get("problems").is_none(), "{arch}: stopping is no problem: {suite}");
    }
}

#[test]
fn rerun_failed_runs_exactly_the_last_failures_and_nothing_after_a_green_run() {
    let _lock = exclusive();
    let build = ["--features", "selftest", "--timeout", "3", "--format", "json"];
    let first = xtask(&[&["test"][..], &build, &["kernel::selftest::should_panic_"]].concat());
    assert_eq!(first.status, Some(1), "{}", first.all_output());
    let rerun = xtask(&[&["test", "--rerun-failed"][..], &build].concat());
    assert_eq!(rerun.status, Some(1), "{}", rerun.all_output());
    let names: Vec<(String, String)> = verdicts(&json_lines(&rerun.stdout)).into_keys().collect();
    let expected: Vec<(String, String)> = ["aarch64", "riscv64", "x86_64"]
        .iter()
        .map(|arch| (arch.to_string(), "kernel::selftest::should_panic_but_does_not".to_string()))
        .collect();
    assert_eq!(names, expected, "only the failed test, on every arch");

    let green = xtask(&[&["test"][..], &build, &["kernel::selftest::should_panic_and_does"]].concat());
    assert_eq!(green.status, Some(0), "{}", green.all_output());
    let nothing = xtask(&["test", "--rerun-failed", "--features", "selftest"]);
    assert_eq!(nothing.status, Some(0), "{}", nothing.all_output());
    assert!(nothing.stdout.contains("nothing to rerun"), "{}", nothing.all_output());
}

#[test]
fn watch_reruns_the_last_failures_first_after_a_saved_change_and_ctrl_c_exits_0() {
    let _lock = exclusive();
    let args = ["test", "--watch", "--arch", "riscv64", "--features", "selftest", "kernel::selftest::should_panic_"];
    let mut watch = crate::harness::spawn_xtask(&args);
    let stdout = watch.stdout.take().unwrap();
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    // One run's lines, up to its `test result:` line.
    let next_run = || -> Vec<String> {
        let mut run = Vec::new();
        loop {
            let line = received.recv_timeout(std::time::Duration::from_secs(600)).expect("a run's output");
            let done = line.starts_with("test result:");
            run.push(line);
            if done {
                return run;
            }
        }
    };
    let first = next_run().join("\n");
    assert!(first.contains("should_panic_and_does") && first.contains("should_panic_but_does_not"), "{first}");
    // Saving a source (the same bytes) is a change.
    let source = root().join("kernel/src/selftest.rs");
    std::fs::write(&source, std::fs::read(&source).unwrap()).unwrap();
    let second = next_run().join("\n");
    assert!(second.contains("should_panic_but_does_not"), "the last failure reruns: {second}");
    assert!(!second.contains("should_panic_and_does"), "and only it, while it fails: {second}");
    std::thread::sleep(std::time::Duration::from_millis(500)); // back to waiting
    // SAFETY: kill(2) on the child this test started.
    assert_eq!(unsafe { libc::kill(watch.id() as i32, libc::SIGINT) }, 0);
    let status = watch.wait_with_output().status;
    assert_eq!(status.code(), Some(0), "Ctrl-C ends watching with success");
    assert!(crate::harness::qemu_processes().is_empty(), "no QEMU outlives --watch");
}
