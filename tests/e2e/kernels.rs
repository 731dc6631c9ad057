//! Tests from many crates, and a second kernel: `--list` shows the crates, `-p CRATE` runs
//! one crate's tests, and `--kernel examples/minimal-kernel` runs the example kernel's
//! tests, on every architecture.

use crate::harness::{ARCHES, exclusive, json_lines, verdicts, xtask};
use std::collections::BTreeSet;

#[test]
fn list_shows_tests_of_at_least_three_crates_on_every_arch() {
    let _lock = exclusive();
    let run = xtask(&["test", "--list"]);
    assert_eq!(run.status, Some(0), "{}", run.all_output());
    for arch in ARCHES {
        let crates: BTreeSet<&str> = run
            .stdout
            .lines()
            .filter_map(|line| line.strip_prefix(&format!("{arch}: ")))
            .map(|name| name.split("::").next().unwrap())
            .collect();
        for expected in ["arch", "kernel", "mm"] {
            assert!(crates.contains(expected), "{arch}: no `{expected}` tests listed: {crates:?}\n{}", run.stdout);
        }
    }
}

#[test]
fn a_package_runs_only_that_crates_tests() {
    let _lock = exclusive();
    let run = xtask(&["test", "-p", "mm", "--format", "json"]);
    assert_eq!(run.status, Some(0), "{}", run.all_output());
    let verdicts = verdicts(&json_lines(&run.stdout));
    for arch in ARCHES {
        let names: Vec<&str> =
            verdicts.keys().filter(|(run_arch, _)| run_arch == arch).map(|(_, name)| name.as_str()).collect();
        assert!(names.len() >= 5, "{arch}: mm's tests ran: {names:?}");
        assert!(names.iter().all(|name| name.starts_with("mm::")), "{arch}: only mm's tests: {names:?}");
    }
    assert!(verdicts.values().all(|(event, _)| event == "ok"), "{verdicts:?}");
}

#[test]
fn the_example_kernel_runs_its_own_tests_on_every_arch() {
    let _lock = exclusive();
    let run = xtask(&["test", "-v", "--kernel", "examples/minimal-kernel", "--format", "json"]);
    assert_eq!(run.status, Some(0), "{}", run.all_output());
    let verdicts = verdicts(&json_lines(&run.stdout));
    let verdict = |arch: &str, name: &str| verdicts.get(&(arch.to_string(), name.to_string())).map(|v| v.0.as_str());
    for arch in ARCHES {
        for name in [
            "minimal_kernel::tests::adds",
            "minimal_kernel::tests::allocates_from_its_heap",
            "minimal_kernel::tests::an_index_out_of_range_panics",
            // The arch layer's own tests, collected from its crate into this kernel too.
            "arch::tests::a_breakpoint_returns_to_the_next_instruction",
            "arch::tests::the_counter_is_monotonic",
            "arch::tests::the_current_frame_is_on_the_boot_stack_and_has_a_caller",
        ] {
            assert_eq!(verdict(arch, name), Some("ok"), "{arch} {name}\n{}", run.all_output());
        }
        assert_eq!(verdict(arch, "minimal_kernel::tests::ignored"), Some("ignored"), "{arch}");
        let riscv_only = verdict(arch, "minimal_kernel::tests::only_on_riscv64");
        assert_eq!(riscv_only, (arch == "riscv64").then_some("ok"), "{arch}: compiled for riscv64 only");
        assert!(
            !verdicts.keys().any(|(run_arch, name)| run_arch == arch && name.starts_with("kernel::")),
            "{arch}: none of the main kernel's tests"
        );
    }
    // The image is the example kernel's, named by its package.
    assert!(run.stderr.contains("--package minimal-kernel"), "{}", run.stderr);
}

#[test]
fn the_example_kernel_boots_and_exits_with_success() {
    let _lock = exclusive();
    let run = xtask(&["run", "--kernel", "examples/minimal-kernel", "--arch", "aarch64"]);
    assert_eq!(run.status, Some(0), "{}", run.all_output());
    assert!(run.stdout.contains("minimal kernel on aarch64"), "{}", run.stdout);
}
