//! The edges a user hits by accident: nothing tested is never green, odd numbers on the
//! command line get a message that names them, and what is not a log is refused.

use crate::harness::{exclusive, root, scratch, xtask};

#[test]
fn an_empty_log_or_a_filter_that_matches_nothing_is_no_success() {
    let _lock = exclusive();
    let empty = scratch("edges-empty").join("empty.serial.log");
    std::fs::write(&empty, "").unwrap();
    let run = xtask(&["report", empty.to_str().unwrap()]);
    assert_eq!(run.status, Some(1), "{}", run.all_output());
    assert!(run.stderr.contains("no tests ran"), "{}", run.stderr);
    assert!(run.stdout.contains("test result: no tests ran."), "{}", run.stdout);
    // Allowed on request, as cargo-nextest allows it.
    assert_eq!(xtask(&["report", "--no-tests", "pass", empty.to_str().unwrap()]).status, Some(0));

    let run = xtask(&["test", "--arch", "riscv64", "no_such_test_anywhere"]);
    assert_eq!(run.status, Some(1), "a filter that matches nothing fails: {}", run.all_output());
    assert!(run.stderr.contains("no tests ran"), "{}", run.stderr);
    let warned = xtask(&["test", "--arch", "riscv64", "--no-tests", "warn", "no_such_test_anywhere"]);
    assert_eq!(warned.status, Some(0), "{}", warned.all_output());
    assert!(warned.stderr.contains("no tests ran"), "{}", warned.stderr);
}

#[test]
fn a_log_with_no_ktap_fails_and_a_binary_file_is_refused() {
    let _lock = exclusive();
    let dir = scratch("edges-not-logs");
    let prose = dir.join("prose.log");
    std::fs::write(&prose, "OpenSBI v1.1\nkernel 0.1.0 booting\nthen nothing at all\n").unwrap();
    let run = xtask(&["report", prose.to_str().unwrap()]);
    assert_eq!(run.status, Some(1), "{}", run.all_output());
    assert!(run.stdout.contains("never started its tests"), "{}", run.stdout);

    let image = root().join("target/xtask/e2e/edges-not-logs/kernel.elf");
    std::fs::write(&image, b"\x7fELF\x02\x01\x01\x00").unwrap();
    let run = xtask(&["report", image.to_str().unwrap()]);
    assert_eq!(run.status, Some(2), "{}", run.all_output());
    assert!(run.stderr.contains("is an ELF file"), "one clear error: {}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn odd_numbers_on_the_command_line_are_named() {
    let _lock = exclusive();
    let cases: [(&[&str], &str); 5] = [
        (&["test", "--timeout", "-1"], "expected a whole number of seconds (0: no timeout)"),
        (&["test", "--retries", "1000000"], "at most 10: each retry boots the kernel again"),
        (&["test", "--partition", "slice:1/0"], "N must be at least 1"),
        (&["test", "--partition", "slice:4/3"], "K must be between 1 and N"),
        (&["run", "--arch", "mips"], "valid: aarch64"),
    ];
    for (args, message) in cases {
        let run = xtask(args);
        assert_eq!(run.status, Some(2), "{args:?}: {}", run.all_output());
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("-- -1"), "no advice to pass it to QEMU: {}", run.stderr);
    }
    let run = xtask(&["run", "--arch", "mips"]);
    assert!(!run.stderr.contains(", all"), "`run` takes one arch, not `all`: {}", run.stderr);
}

#[test]
fn a_timeout_of_zero_means_none() {
    let _lock = exclusive();
    let run = xtask(&["test", "--arch", "x86_64", "--timeout", "0", "fmt_"]);
    assert_eq!(run.status, Some(0), "{}", run.all_output());
    assert!(run.stdout.contains("test result: ok."), "{}", run.stdout);
}

#[test]
fn doctor_checks_what_lint_and_gdb_need() {
    let _lock = exclusive();
    let run = xtask(&["doctor"]);
    for row in ["component rustfmt", "component clippy", "component llvm-tools", "debugger"] {
        assert!(run.stdout.contains(row), "doctor checks {row}:\n{}", run.stdout);
    }
}

#[test]
fn control_bytes_from_the_kernel_never_reach_the_terminal() {
    let _lock = exclusive();
    let args = ["test", "--jobs", "3", "--features", "selftest", "--color", "never"];
    let run = xtask(&[&args[..], &["--exact", "kernel::selftest::control_bytes_then_fails"]].concat());
    assert_eq!(run.status, Some(1), "{}", run.all_output());
    let output = run.all_output();
    for byte in ['\u{0}', '\u{7}', '\u{1b}'] {
        assert!(!output.contains(byte), "{byte:?} reached the output unescaped:\n{}", output.escape_debug());
    }
    // What the test printed and its panic message are there, escaped, for every arch.
    for shown in [r"about to clear the screen:\0\x07\x1b[2J", r"control bytes \x1b[31min red"] {
        assert!(output.matches(shown).count() >= 3, "`{shown}` for each arch in:\n{output}");
    }
    // The serial logs keep the raw bytes.
    let logs: Vec<&str> = output.lines().filter_map(|line| line.trim().strip_prefix("serial log: ")).collect();
    assert!(!logs.is_empty(), "{output}");
    for log in logs {
        let path = log.split(" (boot").next().unwrap();
        let bytes = std::fs::read(root().join(path)).unwrap_or_else(|error| panic!("{path}: {error}"));
        assert!(bytes.windows(6).any(|window| window == b"\x00\x07\x1b[2J"), "{path} lost the raw bytes");
    }
}
