//! Cargo's own front doors: `cargo run`/`cargo test --target ../targets/<arch>.json` in
//! `kernel/` boot through the runner in `.cargo/config.toml`, and a test image answers the
//! libtest protocol (what cargo-nextest speaks), on all three architectures.

use crate::harness::{ARCHES, cargo_in_kernel, exclusive, json_lines, xtask};
use std::collections::BTreeSet;

fn target(arch: &str) -> String {
    format!("../targets/{arch}.json")
}

/// Builds the three arches' plain-cargo images in one cargo invocation (one cold build-std),
/// so the tests below only link and boot.
fn build_all() {
    let mut args = vec!["test", "--no-run"];
    let targets: Vec<String> = ARCHES.iter().map(|arch| target(arch)).collect();
    for target in &targets {
        args.extend(["--target", target]);
    }
    let run = cargo_in_kernel(&args);
    assert_eq!(run.status, Some(0), "{}", run.all_output());
}

#[test]
fn cargo_run_boots_the_kernel_on_every_arch() {
    let _lock = exclusive();
    for arch in ARCHES {
        let run = cargo_in_kernel(&["run", "--target", &target(arch)]);
        assert_eq!(run.status, Some(0), "{arch}: {}", run.all_output());
        assert!(run.stdout.contains(&format!("hello from {arch}: nothing to do")), "{arch}: {}", run.all_output());
        assert!(run.stderr.contains(&format!("{arch}: kernel exited with success")), "{arch}: {}", run.stderr);
    }
}

#[test]
fn cargo_test_runs_the_kernel_tests_like_cargo_xtask_test() {
    let _lock = exclusive();
    build_all();
    for arch in ARCHES {
        let through_cargo =
            cargo_in_kernel(&["test", "--target", &target(arch), "--", "--format", "json", "-Zunstable-options"]);
        assert_eq!(through_cargo.status, Some(0), "{arch}: {}", through_cargo.all_output());
        let through_xtask = xtask(&["test", "--arch", arch, "--format", "json"]);
        assert_eq!(through_xtask.status, Some(0), "{arch}: {}", through_xtask.all_output());
        let verdicts = |stdout: &str| -> BTreeSet<(String, String)> {
            json_lines(stdout)
                .iter()
                .filter(|event| event["type"] == "test" && event["event"] != "started")
                .map(|event| {
                    (event["name"].as_str().unwrap().to_string(), event["event"].as_str().unwrap().to_string())
                })
                .collect()
        };
        let (cargo, xtask) = (verdicts(&through_cargo.stdout), verdicts(&through_xtask.stdout));
        assert!(cargo.len() >= 10, "{arch}: too few verdicts through cargo: {cargo:?}");
        assert_eq!(cargo, xtask, "{arch}: `cargo test` and `cargo xtask test` disagree");
    }
}

#[test]
fn a_failing_kernel_test_fails_cargo_test_with_its_panic() {
    let _lock = exclusive();
    let run = cargo_in_kernel(&[
        "test",
        "--target",
        &target("riscv64"),
        "--features",
        "selftest",
        "--",
        "--exact",
        "kernel::selftest::assertion_fails",
    ]);
    assert_ne!(run.status, Some(0), "{}", run.all_output());
    assert!(run.stdout.contains("kernel::selftest::assertion_fails"), "{}", run.all_output());
    assert!(run.all_output().contains("kernel/src/selftest.rs:"), "the panic location is shown: {}", run.all_output());
    assert!(run.all_output().contains("test result: FAILED. 0 passed, 1 failed"), "{}", run.all_output());
}

#[test]
fn the_test_image_answers_the_libtest_protocol() {
    let _lock = exclusive();
    build_all();
    for arch in ARCHES {
        let listed = cargo_in_kernel(&["test", "--target", &target(arch), "--", "--list", "--format", "terse"]);
        assert_eq!(listed.status, Some(0), "{arch}: {}", listed.all_output());
        let names: Vec<&str> = listed.stdout.lines().map(|line| line.strip_suffix(": test").unwrap_or(line)).collect();
        assert!(listed.stdout.lines().all(|line| line.ends_with(": test")), "{arch}: terse lines: {}", listed.stdout);
        let xtask_list = xtask(&["test", "--arch", arch, "--list"]);
        let from_xtask: Vec<String> = xtask_list
            .stdout
            .lines()
            .map(|line| line.strip_prefix(&format!("{arch}: ")).unwrap().trim_end_matches(" (ignored)").to_string())
            .collect();
        assert_eq!(names, from_xtask, "{arch}: `--list --format terse` and `cargo xtask test --list` differ");

        let ignored =
            cargo_in_kernel(&["test", "--target", &target(arch), "--", "--list", "--format", "terse", "--ignored"]);
        assert_eq!(ignored.stdout.trim(), "kernel::tests::ignored_example: test", "{arch}: {}", ignored.all_output());

        let name = "kernel::tests::fmt_integers";
        let one = cargo_in_kernel(&[
            "test",
            "--target",
            &target(arch),
            "--",
            "--exact",
            name,
            "--format",
            "json",
            "-Z",
            "unstable-options",
        ]);
        assert_eq!(one.status, Some(0), "{arch}: {}", one.all_output());
        let events = json_lines(&one.stdout);
        let ran: Vec<&str> = events
            .iter()
            .filter(|event| event["event"] == "ok" && event["type"] == "test")
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(ran, [name], "{arch}: `--exact` runs that test alone");
        let suite = events.iter().find(|event| event["type"] == "suite").expect("a suite event");
        assert_eq!((suite["passed"].as_u64(), suite["arch"].as_str()), (Some(1), Some(arch)), "{arch}: {suite}");
    }
    let no_unstable = cargo_in_kernel(&["test", "--target", &target("x86_64"), "--", "--format", "json"]);
    assert_ne!(no_unstable.status, Some(0));
    assert!(no_unstable.stderr.contains("`--format json` needs `-Z unstable-options`"), "{}", no_unstable.stderr);
}

/// cargo-nextest drives the kernel targets through the same runner. The suite's setup
/// installs it (or fails naming `cargo install cargo-nextest --locked`): never a skip.
#[test]
fn cargo_nextest_lists_and_runs_kernel_tests() {
    let _lock = exclusive();
    build_all();
    let listed = cargo_in_kernel(&["nextest", "list", "--target", &target("aarch64")]);
    assert_eq!(listed.status, Some(0), "{}", listed.all_output());
    assert!(listed.stdout.contains("kernel::bin/kernel kernel::tests::fmt_integers"), "{}", listed.all_output());
    assert!(
        !listed.stdout.contains("kernel::tests::ignored_example"),
        "ignored tests are not listed: {}",
        listed.stdout
    );
    let run = cargo_in_kernel(&["nextest", "run", "--target", &target("x86_64"), "-E", "test(/^kernel::tests::fmt_/)"]);
    assert_eq!(run.status, Some(0), "{}", run.all_output());
    let output = run.all_output();
    assert!(output.contains("PASS") && output.contains("kernel::tests::fmt_integers"), "{output}");
    assert!(output.contains("2 tests run: 2 passed"), "{output}");
    let failing = cargo_in_kernel(&[
        "nextest",
        "run",
        "--target",
        &target("riscv64"),
        "--features",
        "selftest",
        "--no-fail-fast",
        "-E",
        "test(=kernel::selftest::assertion_fails) | test(=kernel::tests::fmt_integers)",
    ]);
    assert_ne!(failing.status, Some(0), "{}", failing.all_output());
    let output = failing.all_output();
    assert!(output.contains("FAIL") && output.contains("kernel::selftest::assertion_fails"), "{output}");
    assert!(output.contains("2 tests run: 1 passed, 1 failed"), "{output}");
}
