//! Building and booting the kernel on every architecture.

use crate::harness::{ARCHES, exclusive, scratch, xtask, xtask_with};

#[test]
fn build_all_checks_and_lists_an_image_per_arch() {
    let _lock = exclusive();
    let run = xtask(&["build", "--arch", "all"]);
    assert_eq!(run.status, Some(0), "{}", run.all_output());
    for arch in ARCHES {
        let line = run
            .stdout
            .lines()
            .find(|line| line.starts_with(arch))
            .unwrap_or_else(|| panic!("no {arch} line:\n{}", run.stdout));
        assert!(line.contains(&format!("{arch}-debug-kernel.elf")) && line.contains("bytes"), "{line}");
    }
    // One cargo invocation, from the JSON specs, with build-std.
    let cargo_lines: Vec<_> = run.stderr.lines().filter(|line| line.starts_with("$ cargo build")).collect();
    assert_eq!(cargo_lines.len(), 1, "{}", run.stderr);
    for arch in ARCHES {
        assert!(cargo_lines[0].contains(&format!("targets/{arch}.json")), "{}", cargo_lines[0]);
    }
    assert!(cargo_lines[0].contains("-Zbuild-std=core,alloc"));
}

#[test]
fn each_arch_boots_prints_its_banner_and_exits_with_success() {
    let _lock = exclusive();
    for arch in ARCHES {
        let run = xtask(&["run", "--arch", arch]);
        assert_eq!(run.status, Some(0), "{arch}:\n{}", run.all_output());
        assert!(run.stdout.contains(&format!("booting on {arch} (")), "{arch}:\n{}", run.stdout);
        assert!(run.stdout.contains(&format!("hello from {arch}")), "{arch}:\n{}", run.stdout);
        assert!(
            run.stderr.contains("$ ") && run.stderr.contains("qemu-system-"),
            "the QEMU command is echoed:\n{}",
            run.stderr
        );
    }
}

#[test]
fn a_kernel_panic_comes_back_as_a_failure_with_message_and_location() {
    let _lock = exclusive();
    for arch in ARCHES {
        let run = xtask(&["run", "--arch", arch, "--append", "panic"]);
        assert_eq!(run.status, Some(1), "{arch}: a panic exits 1:\n{}", run.all_output());
        assert!(
            run.stdout.contains("# panicked at kernel/src/main.rs:")
                && run.stdout.contains("panic requested on the kernel command line"),
            "{arch}:\n{}",
            run.stdout
        );
        assert!(run.stderr.contains(&format!("{arch}: kernel panicked")), "{arch}:\n{}", run.stderr);
    }
}

#[test]
fn aliases_select_their_arch_and_unknown_arches_list_the_valid_ones() {
    let _lock = exclusive();
    let run = xtask(&["run", "--arch", "riscv64gc"]);
    assert_eq!(run.status, Some(0), "{}", run.all_output());
    assert!(run.stdout.contains("booting on riscv64"));

    let run = xtask(&["build", "--arch", "mips"]);
    assert_eq!(run.status, Some(2));
    assert!(run.stderr.contains("invalid value 'mips'") && run.stderr.contains("x86_64 (or amd64"), "{}", run.stderr);
}

#[test]
fn a_missing_qemu_names_the_package_to_install_and_exits_2() {
    let _lock = exclusive();
    // A PATH with apt-get but no QEMU.
    let bin = scratch("path-without-qemu");
    std::os::unix::fs::symlink("/usr/bin/apt-get", bin.join("apt-get")).unwrap();
    let run = xtask_with(&["run", "--arch", "riscv64", "--no-install"], |command| {
        command.env("PATH", &bin);
    });
    assert_eq!(run.status, Some(2), "{}", run.all_output());
    assert!(run.stderr.contains("`qemu-system-riscv64` is not installed"), "{}", run.stderr);
    assert!(run.stderr.contains("sudo apt-get install -y qemu-system-misc"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "no stack trace: {}", run.stderr);
}
