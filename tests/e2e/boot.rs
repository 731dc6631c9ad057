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

#[test]
fn doctor_reports_everything_present_and_names_the_fix_for_a_hidden_qemu() {
    let _lock = exclusive();
    let run = xtask(&["doctor"]);
    assert_eq!(run.status, Some(0), "{}", run.all_output());
    for line in [
        "qemu-system-x86_64 ",
        "qemu-system-aarch64 ",
        "qemu-system-riscv64 ",
        "riscv64 firmware",
        "debugger",
        "rust-src",
    ] {
        let row = run
            .stdout
            .lines()
            .find(|row| row.contains(line))
            .unwrap_or_else(|| panic!("no `{line}` row:\n{}", run.stdout));
        assert!(row.contains(" ok "), "{row}");
    }

    // The same machine with qemu-system-riscv64 hidden: a PATH of links to everything else.
    let bin = scratch("path-without-riscv-qemu");
    let programs =
        ["qemu-system-x86_64", "qemu-system-aarch64", "gdb-multiarch", "apt-get", "rustc", "cargo", "rustup"];
    for program in programs {
        let found = std::env::split_paths(&std::env::var_os("PATH").unwrap())
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
            .unwrap_or_else(|| panic!("{program} is installed"));
        std::os::unix::fs::symlink(found, bin.join(program)).unwrap();
    }
    let run = xtask_with(&["doctor"], |command| {
        command.env("PATH", &bin);
    });
    assert_eq!(run.status, Some(1), "{}", run.all_output());
    let lines: Vec<&str> = run.stdout.lines().collect();
    let row = lines.iter().position(|line| line.starts_with("qemu-system-riscv64")).expect("a riscv64 row");
    assert!(lines[row].contains("MISSING") && lines[row].contains("not on PATH"), "{}", lines[row]);
    assert!(lines[row + 1].contains("fix: sudo apt-get install -y qemu-system-misc"), "{}", lines[row + 1]);
    let x86 = lines.iter().find(|line| line.starts_with("qemu-system-x86_64")).unwrap();
    assert!(x86.contains(" ok "), "{x86}");
}

#[test]
fn release_images_are_stripped_with_their_debug_info_beside_them_and_boot() {
    let _lock = exclusive();
    let run = xtask(&["build", "--release"]);
    assert_eq!(run.status, Some(0), "{}", run.all_output());
    for arch in ARCHES {
        let images = crate::harness::root().join("target/xtask/images");
        let elf = images.join(format!("{arch}-release-kernel.elf"));
        let debug = images.join(format!("{arch}-release-kernel.debug"));
        let raw = images.join(format!("{arch}-release-kernel.bin"));
        let size = |path: &std::path::Path| {
            std::fs::metadata(path).unwrap_or_else(|_| panic!("{} exists", path.display())).len()
        };
        assert!(size(&elf) < size(&debug), "{arch}: the stripped image is smaller than its debug info");
        assert!(size(&raw) > 0 && size(&raw) < size(&elf) * 4, "{arch}: a raw binary");
        for line in ["stripped", "debug info", "raw binary"] {
            assert!(run.stdout.contains(line), "{arch}: `{line}` reported:\n{}", run.stdout);
        }
        let boot = xtask(&["run", "--release", "--arch", arch]);
        assert_eq!(boot.status, Some(0), "{arch}: the stripped release image boots:\n{}", boot.all_output());
        assert!(boot.stdout.contains(&format!("hello from {arch}")));
    }
    let raw = xtask(&["run", "--raw", "--arch", "riscv64"]);
    assert_eq!(raw.status, Some(0), "the raw binary boots on riscv64:\n{}", raw.all_output());
    let refused = xtask(&["run", "--raw", "--arch", "aarch64"]);
    assert_eq!(refused.status, Some(2));
    assert!(refused.stderr.contains("does not boot a raw binary"), "{}", refused.stderr);
}

#[test]
fn the_kernel_tests_pass_on_the_optimized_image() {
    let _lock = exclusive();
    let run = xtask(&["test", "-v", "--release", "--arch", "riscv64", "fmt_", "mm::"]);
    assert_eq!(run.status, Some(0), "{}", run.all_output());
    assert!(run.stdout.contains("riscv64-release-kernel-ktest.elf"), "the release test image ran:\n{}", run.stdout);
}
