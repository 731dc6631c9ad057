//! `cargo xtask test --coverage` on every arch: lines a known test executes are hit and a
//! function no test calls is not; a run with panics, faults and a hang still yields coverage
//! (the panicking test's lines before the panic hit); per-test coverage names the test that
//! executes a line.

use crate::harness::{ARCHES, exclusive, root, xtask};

/// The 1-based number of the first line of `file` (in the repository) containing `needle`.
fn line_of(file: &str, needle: &str) -> u32 {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    let index = text.lines().position(|line| line.contains(needle)).unwrap_or_else(|| panic!("`{needle}` in {file}"));
    index as u32 + 1
}

/// The count lcov gives `file:line` (None: not an instrumented line).
fn lcov_count(lcov: &str, file: &str, line: u32) -> Option<u64> {
    let mut in_file = false;
    for entry in lcov.lines() {
        if let Some(path) = entry.strip_prefix("SF:") {
            in_file = path.trim_start_matches("./") == file;
        } else if in_file && let Some(data) = entry.strip_prefix("DA:") {
            let (number, count) = data.split_once(',').unwrap();
            if number.parse::<u32>() == Ok(line) {
                return count.split(',').next().unwrap().parse().ok();
            }
        }
    }
    None
}

fn lcov_of(arch: &str) -> String {
    let path = root().join("target/xtask/coverage").join(arch).join("lcov.info");
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn coverage_hits_what_a_test_executes_and_not_what_no_test_calls() {
    let _lock = exclusive();
    let run = xtask(&["test", "--coverage"]);
    assert_eq!(run.status, Some(0), "{}", run.all_output());
    assert!(run.stdout.contains("coverage:") && run.stdout.contains("overall: "), "{}", run.stdout);
    let tests = "kernel/src/tests.rs";
    let executed = line_of(tests, r#"assert_eq!(format!("{} {:#x} {:08b} {:+}", 42"#);
    let never = line_of(tests, "value.wrapping_mul(3) ^ 0x5a5a");
    for arch in ARCHES {
        let lcov = lcov_of(arch);
        assert!(lcov_count(&lcov, tests, executed).is_some_and(|count| count > 0), "{arch}: line {executed} hit");
        assert_eq!(lcov_count(&lcov, tests, never), Some(0), "{arch}: line {never} of a function no test calls");
        assert!(!lcov.contains("SF:/rustc-src"), "{arch}: only the repository's files");
    }
    let merged = std::fs::read_to_string(root().join("target/xtask/coverage/lcov.info")).unwrap();
    assert!(lcov_count(&merged, tests, executed).is_some_and(|count| count > 0));
    assert!(root().join("target/xtask/coverage/html/index.html").is_file(), "the HTML report");
}

#[test]
fn a_run_with_panics_faults_and_a_hang_still_yields_coverage_on_every_arch() {
    let _lock = exclusive();
    let run = xtask(&["test", "--features", "selftest", "--timeout", "3", "--coverage", "kernel::selftest::"]);
    assert_eq!(run.status, Some(1), "the self-tests fail by design: {}", run.all_output());
    let selftest = "kernel/src/selftest.rs";
    let before_panic = line_of(selftest, "let answer = core::hint::black_box(41);");
    let in_hang = line_of(selftest, "core::hint::spin_loop();");
    let passing_after = line_of(selftest, "assert_eq!(core::hint::black_box(2) + 2, 4);");
    for arch in ARCHES {
        let lcov = lcov_of(arch);
        for (line, what) in [
            (before_panic, "the panicking test before its panic"),
            (in_hang, "the hanging test"),
            (passing_after, "the test after the crashes"),
        ] {
            assert!(
                lcov_count(&lcov, selftest, line).is_some_and(|count| count > 0),
                "{arch}: {what} (line {line}) hit"
            );
        }
    }
}

#[test]
fn per_test_coverage_names_the_test_that_executes_a_line() {
    let _lock = exclusive();
    let run = xtask(&["test", "--coverage=per-test", "kernel::tests::fmt_"]);
    assert_eq!(run.status, Some(0), "{}", run.all_output());
    let line = line_of("kernel/src/tests.rs", r#"assert_eq!(format!("{}", u64::MAX)"#);
    let which = xtask(&["coverage", "which", &format!("kernel/src/tests.rs:{line}")]);
    assert_eq!(which.status, Some(0), "{}", which.all_output());
    for arch in ARCHES {
        assert!(which.stdout.contains(&format!("{arch}: kernel::tests::fmt_integers")), "{}", which.stdout);
    }
    assert!(!which.stdout.contains("fmt_padding_and_debug"), "no unrelated test: {}", which.stdout);
    assert!(root().join("target/xtask/coverage/html/tests.html").is_file());
}
