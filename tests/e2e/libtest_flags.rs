//! libtest's flags through cargo's runner (`cargo test --target ../targets/<arch>.json --
//! FLAGS` in `kernel/`, and what cargo-nextest passes): each one does to a kernel test what
//! it does to a host test.

use crate::harness::{cargo_in_kernel, cargo_in_kernel_with, exclusive, json_lines};

fn target(arch: &str) -> String {
    format!("../targets/{arch}.json")
}

/// `cargo test --target ARCH -- FLAGS`, with JSON output: the names of the tests that
/// finished, each with its event (`ok`, `failed`, `ignored`).
fn verdicts(arch: &str, flags: &[&str]) -> Vec<(String, String)> {
    let target = target(arch);
    let mut args = vec!["test", "--target", &target, "--"];
    args.extend(flags);
    args.extend(["--format", "json", "-Zunstable-options"]);
    let run = cargo_in_kernel(&args);
    json_lines(&run.stdout)
        .iter()
        .filter(|event| event["type"] == "test" && event["event"] != "started")
        .map(|event| (event["name"].as_str().unwrap().to_string(), event["event"].as_str().unwrap().to_string()))
        .collect()
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(name, event)| (name.to_string(), event.to_string())).collect()
}

/// rust-analyzer's "Run test" on a kernel test: `NAME --exact --nocapture` runs it alone and
/// shows what it printed; without `--nocapture` its output stays in the serial log.
#[test]
fn run_test_from_an_editor_exact_nocapture_shows_the_tests_output() {
    let _lock = exclusive();
    let target = target("riscv64");
    let name = "kernel::tests::fmt_integers";
    for flag in ["--nocapture", "--show-output"] {
        let run = cargo_in_kernel(&["test", "--target", &target, "--", name, "--exact", flag, "--test-threads", "1"]);
        assert_eq!(run.status, Some(0), "{flag}: {}", run.all_output());
        assert!(run.stdout.contains("| formatted u64::MAX as 18446744073709551615"), "{flag}: {}", run.stdout);
        assert!(run.stdout.contains("test result: ok. 1 passed, 0 failed"), "{flag}: {}", run.stdout);
    }
    let quiet = cargo_in_kernel(&["test", "--target", &target, "--", name, "--exact"]);
    assert_eq!(quiet.status, Some(0), "{}", quiet.all_output());
    assert!(!quiet.stdout.contains("formatted u64::MAX"), "captured without --nocapture: {}", quiet.stdout);
}

#[test]
fn skip_leaves_out_tests_by_substring_or_with_exact_by_name() {
    let _lock = exclusive();
    let by_substring = verdicts("x86_64", &["kernel::tests::fmt_", "--skip", "padding"]);
    assert_eq!(by_substring, owned(&[("kernel::tests::fmt_integers", "ok")]));
    let exact = verdicts(
        "aarch64",
        &[
            "--exact",
            "kernel::tests::fmt_integers",
            "kernel::tests::fmt_padding_and_debug",
            "--skip",
            "kernel::tests::fmt_integers",
            "--skip",
            "fmt_padding",
        ],
    );
    assert_eq!(exact, owned(&[("kernel::tests::fmt_padding_and_debug", "ok")]), "--exact --skip is by whole name");
}

/// `--ignored` runs only the ignored tests, `--include-ignored` them too; the kernel's
/// ignored example panics when run, which shows it ran.
#[test]
fn ignored_and_include_ignored_run_the_ignored_tests() {
    let _lock = exclusive();
    let only = verdicts("riscv64", &["--ignored"]);
    assert_eq!(only, owned(&[("kernel::tests::ignored_example", "failed")]));
    let also = verdicts("riscv64", &["--include-ignored", "kernel::tests::"]);
    assert!(also.contains(&("kernel::tests::ignored_example".into(), "failed".into())), "{also:?}");
    assert!(also.contains(&("kernel::tests::fmt_integers".into(), "ok".into())), "{also:?}");
    let without = verdicts("riscv64", &["kernel::tests::ignored_example"]);
    assert_eq!(without, owned(&[("kernel::tests::ignored_example", "ignored")]));
}

/// The per-test timeout is `cargo xtask test`'s default (10 s), or `XTASK_TIMEOUT`.
#[test]
fn the_runner_timeout_comes_from_xtask_timeout() {
    let _lock = exclusive();
    let target = target("riscv64");
    let args =
        ["test", "--target", &target, "--features", "selftest", "--", "--exact", "kernel::selftest::hangs_forever"];
    // Built first, so that the time measured is the run's, not a cold build's.
    let built = cargo_in_kernel(&["test", "--no-run", "--target", &target, "--features", "selftest"]);
    assert_eq!(built.status, Some(0), "{}", built.all_output());
    // 3 s, not 1: the timeout also bounds the boot's first output, which a loaded host (2
    // cores, other QEMUs) once delayed past 1 s.
    let run = cargo_in_kernel_with(&args, |command| {
        command.env("XTASK_TIMEOUT", "3");
    });
    assert_ne!(run.status, Some(0), "{}", run.all_output());
    assert!(run.stdout.contains("FAILED (timeout) after 3.00 s"), "the 3 s timeout applied:\n{}", run.all_output());
    let bad = cargo_in_kernel_with(&args, |command| {
        command.env("XTASK_TIMEOUT", "soon");
    });
    assert!(bad.stderr.contains("XTASK_TIMEOUT=`soon`: expected a whole number of seconds"), "{}", bad.stderr);
}

/// cargo-nextest runs each test as `NAME --exact --nocapture`, `--run-ignored` passes
/// `--ignored`/`--include-ignored`.
#[test]
fn cargo_nextest_runs_the_ignored_tests_on_request() {
    let _lock = exclusive();
    let target = target("x86_64");
    let run = cargo_in_kernel(&[
        "nextest",
        "run",
        "--target",
        &target,
        "--run-ignored",
        "only",
        "--no-fail-fast",
        "-E",
        "test(/^kernel::tests::/)",
    ]);
    let output = run.all_output();
    assert_ne!(run.status, Some(0), "{output}");
    assert!(output.contains("an ignored test must never run"), "the ignored test ran: {output}");
    assert!(output.contains("1 test run: 0 passed, 1 failed"), "{output}");
}
