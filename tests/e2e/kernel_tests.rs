//! `cargo xtask test`, `--list`, filters, the self-test failure paths, JSON, JUnit and
//! `report`, on every architecture.

use crate::harness::{ARCHES, exclusive, json_lines, scratch, verdicts, xtask};

/// The starter tests every arch runs (arch-limited ones are checked separately).
const COMMON_TESTS: [&str; 7] = [
    "kernel::tests::counter_moves_forward",
    "kernel::tests::fmt_integers",
    "kernel::tests::fmt_padding_and_debug",
    "kernel::tests::heap_box_and_string",
    "kernel::tests::heap_large_allocation_is_usable_and_returned",
    "kernel::tests::heap_vec_grows_and_keeps_contents",
    "kernel::tests::should_panic_out_of_bounds_index",
];

#[test]
fn the_kernel_tests_pass_on_every_arch_with_per_test_verdicts() {
    let _lock = exclusive();
    let run = xtask(&["test", "--format", "json"]);
    assert_eq!(run.status, Some(0), "{}", run.all_output());
    let events = json_lines(&run.stdout);
    let verdicts = verdicts(&events);
    for arch in ARCHES {
        for name in COMMON_TESTS {
            assert_eq!(verdicts.get(&(arch.into(), name.into())).map(|v| v.0.as_str()), Some("ok"), "{arch} {name}");
        }
        assert_eq!(verdicts[&(arch.into(), "kernel::tests::ignored_example".into())].0, "ignored");
        let suite = events.iter().find(|e| e["type"] == "suite" && e["arch"] == arch).expect("a suite event per arch");
        assert_eq!(suite["event"], "ok");
        // The green suite's panics (`should_panic` tests) are abandoned, not rebooted after.
        assert_eq!(suite["boots"], 1, "{arch}: the green suite runs in one boot: {suite}");
        assert!(std::path::Path::new(suite["log"].as_str().unwrap()).is_file());
    }
    // Limited to some architectures: compiled, and run, only there.
    let x86_only = "kernel::tests::tsc_calibration_is_plausible";
    let platform_counter = "kernel::tests::counter_frequency_comes_from_the_platform";
    assert!(verdicts.contains_key(&("x86_64".into(), x86_only.into())));
    assert!(!verdicts.contains_key(&("aarch64".into(), x86_only.into())));
    assert!(!verdicts.contains_key(&("x86_64".into(), platform_counter.into())));
    assert!(verdicts.contains_key(&("riscv64".into(), platform_counter.into())));
    // Tests run in name order, and their durations come from the kernel.
    let x86_names: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "test" && e["arch"] == "x86_64" && e["event"] == "ok")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    let mut sorted = x86_names.clone();
    sorted.sort();
    assert_eq!(x86_names, sorted);
    assert!(events.iter().any(|e| e["name"] == "kernel::tests::fmt_integers"
        && e["event"] == "ok"
        && e["exec_time"].as_f64().unwrap() > 0.0));
}

#[test]
fn the_human_summary_has_a_row_per_arch_and_a_verdict() {
    let _lock = exclusive();
    let run = xtask(&["test", "--arch", "aarch64"]);
    assert_eq!(run.status, Some(0), "{}", run.all_output());
    assert!(run.stdout.contains("[aarch64] ok"), "{}", run.stdout);
    let row = run.stdout.lines().find(|line| line.starts_with("aarch64 ")).expect("a summary row");
    assert!(row.contains("aarch64.serial.log"), "{row}");
    let verdict = run.stdout.lines().find(|line| line.starts_with("test result: ")).expect("a verdict line");
    let passed: usize = verdict["test result: ok. ".len()..].split(' ').next().unwrap().parse().expect("a count");
    assert_eq!(verdict, format!("test result: ok. {passed} passed, 0 failed, 1 ignored"));
    let ok_lines = run.stdout.lines().filter(|line| line.starts_with("[aarch64] ok ")).count();
    assert_eq!(passed, ok_lines, "the count matches the verdicts shown");
}

#[test]
fn list_prints_each_arch_tests_without_running_them() {
    let _lock = exclusive();
    let run = xtask(&["test", "--list"]);
    assert_eq!(run.status, Some(0), "{}", run.all_output());
    for arch in ARCHES {
        for name in COMMON_TESTS {
            assert!(run.stdout.contains(&format!("{arch}: {name}\n")), "{arch} {name}:\n{}", run.stdout);
        }
    }
    assert!(run.stdout.contains("x86_64: kernel::tests::tsc_calibration_is_plausible"));
    assert!(!run.stdout.contains("riscv64: kernel::tests::tsc_calibration_is_plausible"));
    assert!(!run.stdout.contains("ok "), "nothing ran:\n{}", run.stdout);
}

#[test]
fn filters_select_tests_inside_the_kernel() {
    let _lock = exclusive();
    let run = xtask(&["test", "--arch", "riscv64", "--format", "json", "fmt_"]);
    assert_eq!(run.status, Some(0), "{}", run.all_output());
    let names: Vec<_> = verdicts(&json_lines(&run.stdout)).into_keys().map(|(_, name)| name).collect();
    assert_eq!(names, ["kernel::tests::fmt_integers", "kernel::tests::fmt_padding_and_debug"]);

    let run = xtask(&["test", "--arch", "x86_64", "--format", "json", "--exact", "kernel::tests::fmt_integers"]);
    let names: Vec<_> = verdicts(&json_lines(&run.stdout)).into_keys().map(|(_, name)| name).collect();
    assert_eq!(names, ["kernel::tests::fmt_integers"]);
}

/// A boot gets as many CPUs as the tests it selects need (`-smp`), one if none needs more.
#[test]
fn a_boot_gets_as_many_cpus_as_its_selected_tests_need() {
    let _lock = exclusive();
    for arch in ARCHES {
        let smp_of = |filter: &str| {
            let run = xtask(&["test", "--arch", arch, "-v", filter]);
            assert_eq!(run.status, Some(0), "{arch} {filter}:\n{}", run.all_output());
            let output = run.all_output();
            let boot = output.lines().find(|line| line.contains("boot 1: $ ")).unwrap_or_default().to_string();
            boot.split(" -smp ").nth(1).and_then(|rest| rest.split(' ').next()).map(str::to_string).unwrap_or(boot)
        };
        assert_eq!(smp_of("kernel::tests::fmt_integers"), "1", "{arch}: one-CPU tests");
        assert_eq!(smp_of("kernel::smp::every_cpu_runs_the_body_once_with_its_own_index"), "4", "{arch}: cpus = 4");
    }
}

/// The self-tests' exact expected verdicts on every arch: (name, event, reason).
pub(crate) const SELFTEST_VERDICTS: [(&str, &str, &str); 17] = [
    ("kernel::selftest::assertion_fails", "failed", "panic"),
    ("kernel::selftest::backtrace_three_deep", "failed", "panic"),
    ("kernel::selftest::control_bytes_then_fails", "failed", "panic"),
    ("kernel::selftest::cpu_exception", "failed", "fault"),
    ("kernel::selftest::flaky_first_attempt_fails", "failed", "panic"),
    ("kernel::selftest::flood_forever", "failed", "timeout"),
    ("kernel::selftest::garbage_output", "ok", ""),
    ("kernel::selftest::hangs_forever", "failed", "timeout"),
    ("kernel::selftest::hangs_on_another_cpu", "failed", "timeout"),
    ("kernel::selftest::memory_fault", "failed", "fault"),
    ("kernel::selftest::overlong_line", "ok", ""),
    ("kernel::selftest::panics_on_another_cpu", "failed", "panic"),
    ("kernel::selftest::should_panic_and_does", "ok", ""),
    ("kernel::selftest::should_panic_but_does_not", "failed", "failed"),
    ("kernel::selftest::stack_overflow", "failed", "fault"),
    ("kernel::selftest::write_to_kernel_text_faults", "failed", "fault"),
    ("kernel::selftest::zz_after_all", "ok", ""),
];

/// And on aarch64 and riscv64: semihosting, every call refused (on riscv64 the sequence is
/// a plain breakpoint).
const SEMIHOSTING_SELFTEST_VERDICTS: [(&str, &str, &str); 1] =
    [("kernel::selftest::semihosting_cannot_open_host_files", "ok", "")];

/// The arch-limited self-tests' verdicts on `arch`.
pub(crate) fn arch_only_verdicts(arch: &str) -> &'static [(&'static str, &'static str, &'static str)] {
    match arch {
        "x86_64" => &X86_SELFTEST_VERDICTS,
        _ => &SEMIHOSTING_SELFTEST_VERDICTS,
    }
}

/// And on x86_64 only, where the test exists.
const X86_SELFTEST_VERDICTS: [(&str, &str, &str); 1] = [("kernel::selftest::triple_fault", "failed", "crash")];

#[test]
fn selftests_fail_exactly_as_designed_and_every_report_agrees() {
    let _lock = exclusive();
    let junit = scratch("selftest").join("report.xml");
    let junit_arg = junit.to_string_lossy().into_owned();
    let run = xtask(&[
        "test",
        "--features",
        "selftest",
        "--timeout",
        "3",
        "--format",
        "json",
        "--junit",
        &junit_arg,
        "kernel::selftest::",
    ]);
    assert_eq!(run.status, Some(1), "{}", run.all_output());
    let events = json_lines(&run.stdout); // every stdout line is JSON
    let verdicts = verdicts(&events);
    for arch in ARCHES {
        for (name, event, reason) in SELFTEST_VERDICTS.iter().chain(arch_only_verdicts(arch)) {
            let got = verdicts
                .get(&(arch.to_string(), name.to_string()))
                .unwrap_or_else(|| panic!("{arch} {name} has no verdict"));
            assert_eq!((got.0.as_str(), got.1.as_str()), (*event, *reason), "{arch} {name}");
        }
    }
    let finished = |name: &'static str| events.iter().filter(move |e| e["name"] == name && e["event"] != "started");
    for event in finished("kernel::selftest::assertion_fails") {
        let message = event["message"].as_str().unwrap();
        assert!(message.contains("kernel/src/selftest.rs:") && message.contains("off by one"), "{message}");
        assert!(message.contains("left: 41") && message.contains("right: 42"), "the whole panic message: {message}");
    }
    // Each arch names its CPU exception, and symbolizes the faulting pc.
    let fault_kinds =
        [("x86_64", "invalid opcode"), ("aarch64", "undefined instruction"), ("riscv64", "illegal instruction")];
    for event in finished("kernel::selftest::cpu_exception") {
        let message = event["message"].as_str().unwrap();
        let arch = event["arch"].as_str().unwrap();
        let kind = fault_kinds.iter().find(|(name, _)| *name == arch).unwrap().1;
        assert!(message.starts_with(&format!("fault: {kind}, pc 0x")), "{arch}: {message}");
        let backtrace = event["backtrace"].as_array().unwrap();
        assert!(backtrace[0].as_str().unwrap().starts_with("arch::"), "{arch}: {backtrace:?}");
        assert!(
            backtrace[1].as_str().unwrap().starts_with("kernel::selftest::cpu_exception at kernel/src/selftest.rs:")
        );
    }
    // A read from nowhere: each arch's kind of memory fault, with the address.
    let memory_faults = [("x86_64", "page fault"), ("aarch64", "data abort"), ("riscv64", "load page fault")];
    for event in finished("kernel::selftest::memory_fault") {
        let arch = event["arch"].as_str().unwrap();
        let kind = memory_faults.iter().find(|(name, _)| *name == arch).unwrap().1;
        let message = event["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("fault: {kind} at 0x400000000000, pc 0x")), "{arch}: {message}");
    }
    // Every arch's guard page turns a stack overflow into a fault, reported the same way.
    assert_eq!(finished("kernel::selftest::stack_overflow").count(), ARCHES.len());
    assert!(
        finished("kernel::selftest::stack_overflow")
            .all(|e| e["message"].as_str().unwrap().starts_with("fault: stack overflow at 0x"))
    );
    // A store to `.text`: each arch's kind of write fault, with the address.
    let text_write_faults = [("x86_64", "page fault"), ("aarch64", "data abort"), ("riscv64", "store page fault")];
    for event in finished("kernel::selftest::write_to_kernel_text_faults") {
        let arch = event["arch"].as_str().unwrap();
        let kind = text_write_faults.iter().find(|(name, _)| *name == arch).unwrap().1;
        let message = event["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("fault: {kind} at 0x")), "{arch}: {message}");
    }
    // A hang on CPU 1 of a test of two CPUs: the timeout names the CPU.
    assert_eq!(finished("kernel::selftest::hangs_on_another_cpu").count(), ARCHES.len());
    for event in finished("kernel::selftest::hangs_on_another_cpu") {
        let message = event["message"].as_str().unwrap();
        assert!(
            message.starts_with("timed out after 3 s with CPU 1 still in the test"),
            "{}: {message}",
            event["arch"]
        );
    }
    // A triple fault ends QEMU with status 0: a crash of that test, never a pass.
    assert!(
        finished("kernel::selftest::triple_fault")
            .all(|e| e["message"].as_str().unwrap().contains("QEMU exited with status 0"))
    );
    // Garbage, a fake result line and a 200 KiB line are noted, not failures of the run.
    for suite in events.iter().filter(|e| e["type"] == "suite") {
        let notes: Vec<&str> = suite["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
        assert!(notes.iter().any(|n| n.contains("invalid UTF-8")), "{notes:?}");
        assert!(notes.iter().any(|n| n.contains("line too long: 139264 byte(s) dropped")), "{notes:?}");
        assert!(notes.iter().any(|n| n.contains("reads as a result for `not a real result")), "{notes:?}");
        assert!(suite.get("problems").is_none(), "no problems: {suite}");
    }
    // Backtraces end at the kernel's entry (no boot code, no assembler labels after it).
    for event in finished("kernel::selftest::assertion_fails") {
        let frames: Vec<&str> = event["backtrace"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
        assert!(frames.last().unwrap().starts_with("kernel_main at "), "{}: {frames:#?}", event["arch"]);
    }
    // A panic three calls deep: the three functions, innermost first, then the test.
    for event in finished("kernel::selftest::backtrace_three_deep") {
        let frames: Vec<&str> = event["backtrace"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
        let names: Vec<&str> = frames.iter().take(4).map(|frame| frame.split(" at ").next().unwrap()).collect();
        assert_eq!(
            names,
            [
                "kernel::selftest::backtrace_inner",
                "kernel::selftest::backtrace_middle",
                "kernel::selftest::backtrace_outer",
                "kernel::selftest::backtrace_three_deep"
            ],
            "{}: {frames:#?}",
            event["arch"]
        );
    }

    // JUnit: one suite per arch, failures where JSON has them.
    let xml = std::fs::read_to_string(&junit).expect("the JUnit report was written");
    let document = roxmltree::Document::parse(&xml).expect("the JUnit report is XML");
    let suites: Vec<_> = document.descendants().filter(|node| node.has_tag_name("testsuite")).collect();
    assert_eq!(suites.len(), ARCHES.len());
    for suite in suites {
        let arch = suite.attribute("name").unwrap();
        let failed: Vec<_> = suite
            .children()
            .filter(|case| case.has_tag_name("testcase") && case.children().any(|c| c.has_tag_name("failure")))
            .map(|case| case.attribute("name").unwrap().to_string())
            .collect();
        let mut expected: Vec<String> = SELFTEST_VERDICTS
            .iter()
            .chain(arch_only_verdicts(arch))
            .filter(|v| v.1 == "failed")
            .map(|v| v.0.to_string())
            .collect();
        expected.sort(); // tests run, and are reported, in name order
        assert_eq!(failed, expected, "{arch}");
        assert_eq!(suite.attribute("failures"), Some(expected.len().to_string().as_str()), "{arch}");
    }

    // `report` on the saved logs gives the same verdicts and the same exit status.
    let logs: Vec<String> =
        events.iter().filter(|e| e["type"] == "suite").map(|e| e["log"].as_str().unwrap().to_string()).collect();
    assert_eq!(logs.len(), 3);
    let mut args = vec!["report", "--format", "json"];
    args.extend(logs.iter().map(String::as_str));
    let replay = xtask(&args);
    assert_eq!(replay.status, Some(1), "{}", replay.all_output());
    assert_eq!(crate::harness::verdicts(&json_lines(&replay.stdout)), verdicts);
}

#[test]
fn partitions_split_the_real_suite_into_disjoint_complete_slices() {
    let _lock = exclusive();
    let listed = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["test", "--arch", "x86_64", "--features", "selftest", "--list"];
        args.extend_from_slice(extra);
        let run = xtask(&args);
        assert_eq!(run.status, Some(0), "{}", run.all_output());
        run.stdout.lines().map(str::to_string).collect()
    };
    let mut everything = listed(&[]);
    everything.sort();
    for kind in ["slice", "hash"] {
        let slices: Vec<Vec<String>> = (1..=3).map(|k| listed(&["--partition", &format!("{kind}:{k}/3")])).collect();
        let mut union: Vec<String> = slices.concat();
        union.sort();
        assert_eq!(union, everything, "{kind}: the three slices together are the suite, each test once");
    }
    let run = xtask(&["test", "--partition", "slice:4/3"]);
    assert_eq!(run.status, Some(2));
    assert!(run.stderr.contains("K must be between 1 and N"), "{}", run.stderr);
}

#[test]
fn retries_report_a_test_that_fails_then_passes_as_flaky_never_as_a_pass() {
    let _lock = exclusive();
    let junit = scratch("retries").join("report.xml");
    let junit_arg = junit.to_string_lossy().into_owned();
    let args = ["test", "--features", "selftest", "--retries", "2", "--format", "json", "--junit", &junit_arg];
    let run = xtask(
        &[&args[..], &["--exact", "kernel::selftest::flaky_first_attempt_fails", "kernel::selftest::assertion_fails"]]
            .concat(),
    );
    assert_eq!(run.status, Some(1), "assertion_fails still fails: {}", run.all_output());
    let events = json_lines(&run.stdout);
    for arch in ARCHES {
        // The last verdict of each test counts (a retry revises the first).
        let last = |name: &str| {
            events.iter().rfind(|e| e["arch"] == arch && e["name"] == name && e["event"] != "started").cloned().unwrap()
        };
        let flaky = last("kernel::selftest::flaky_first_attempt_fails");
        assert_eq!((flaky["event"].as_str(), flaky["flaky"].as_bool()), (Some("ok"), Some(true)), "{arch}: {flaky}");
        assert_eq!(flaky["attempts"], 2, "{arch}: one failure, then a pass");
        let failing = last("kernel::selftest::assertion_fails");
        assert_eq!(failing["event"], "failed", "{arch}");
        let suite = events.iter().find(|e| e["type"] == "suite" && e["arch"] == arch).unwrap();
        assert_eq!(
            (suite["flaky"].as_u64(), suite["passed"].as_u64()),
            (Some(1), Some(0)),
            "{arch}: flaky is not counted as passed"
        );
    }
    let xml = std::fs::read_to_string(&junit).unwrap();
    let document = roxmltree::Document::parse(&xml).unwrap();
    let flaky_cases = document
        .descendants()
        .filter(|node| {
            node.has_tag_name("testcase")
                && node.attribute("name") == Some("kernel::selftest::flaky_first_attempt_fails")
        })
        .filter(|case| case.children().any(|child| child.has_tag_name("flakyFailure")))
        .count();
    assert_eq!(flaky_cases, ARCHES.len(), "a flakyFailure per arch");
}

#[test]
fn two_runs_at_once_in_one_checkout_keep_their_own_logs_and_reports() {
    let _lock = exclusive();
    let start = |name: &str| {
        let junit = scratch(name).join("report.xml");
        let junit_arg = junit.to_string_lossy().into_owned();
        let child = crate::harness::spawn_xtask(&[
            "test", "--arch", "riscv64", "--format", "json", "--junit", &junit_arg, "fmt_",
        ]);
        (child, junit)
    };
    let (first, first_junit) = start("concurrent-a");
    let (second, second_junit) = start("concurrent-b");
    let logs: Vec<String> = [first, second]
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output();
            assert_eq!(output.status.code(), Some(0));
            let events = json_lines(&String::from_utf8_lossy(&output.stdout));
            let suite = events.iter().find(|e| e["type"] == "suite").expect("a suite line").clone();
            suite["log"].as_str().unwrap().to_string()
        })
        .collect();
    assert_ne!(logs[0], logs[1], "each run has its own log");
    for log in &logs {
        let text = std::fs::read_to_string(log).unwrap();
        assert_eq!(text.matches("# xtask: boot 1: ").count(), 1, "{log} holds one run's boots:\n{text}");
    }
    for junit in [first_junit, second_junit] {
        roxmltree::Document::parse(&std::fs::read_to_string(&junit).unwrap()).expect("a whole JUnit report");
    }
}
