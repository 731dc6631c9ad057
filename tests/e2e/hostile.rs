//! Broken machines and bad input: each gets a clear error naming the thing that is wrong,
//! exit status 2, and nothing half-written.

use crate::harness::{exclusive, root, scratch, xtask, xtask_with};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// A PATH directory holding `apt-get` and the given files.
fn path_with(name: &str, files: &[(&str, &str, u32)]) -> std::path::PathBuf {
    let bin = scratch(name);
    std::os::unix::fs::symlink("/usr/bin/apt-get", bin.join("apt-get")).unwrap();
    for (file, contents, mode) in files {
        std::fs::write(bin.join(file), contents).unwrap();
        std::fs::set_permissions(bin.join(file), std::fs::Permissions::from_mode(*mode)).unwrap();
    }
    bin
}

#[test]
fn a_qemu_that_is_not_executable_is_named() {
    let _lock = exclusive();
    let bin = path_with("path-qemu-not-executable", &[("qemu-system-riscv64", "", 0o644)]);
    let run = xtask_with(&["run", "--arch", "riscv64", "--no-install"], |command| {
        command.env("PATH", &bin);
    });
    assert_eq!(run.status, Some(2), "{}", run.all_output());
    assert!(run.stderr.contains("qemu-system-riscv64` exists but is not executable"), "{}", run.stderr);
}

/// A stand-in QEMU that only answers `--version`: this test is about the version check.
#[test]
fn a_qemu_that_is_too_old_is_named_with_its_version() {
    let _lock = exclusive();
    let script = "#!/bin/sh\necho 'QEMU emulator version 5.2.0'\n";
    let bin = path_with("path-qemu-too-old", &[("qemu-system-riscv64", script, 0o755)]);
    let run = xtask_with(&["run", "--arch", "riscv64", "--no-install"], |command| {
        command.env("PATH", &bin);
    });
    assert_eq!(run.status, Some(2), "{}", run.all_output());
    assert!(run.stderr.contains("is QEMU 5.2.0; the harness needs 7.0 or newer"), "{}", run.stderr);
    assert!(run.stderr.contains("qemu-system-misc"), "names the package: {}", run.stderr);
}

#[test]
fn an_unwritable_report_path_is_refused_before_the_run() {
    let _lock = exclusive();
    let run = xtask(&["test", "-v", "--junit", "/nonexistent-directory/report.xml"]);
    assert_eq!(run.status, Some(2), "{}", run.all_output());
    assert!(run.stderr.contains("the directory `/nonexistent-directory` does not exist"), "{}", run.stderr);
    assert!(!run.stderr.contains("$ cargo build"), "nothing was built first: {}", run.stderr);
}

/// A report that does not fit on the disk: the error names it, the previous report stays
/// whole, and no temporary file is left. Needs root to mount a tiny tmpfs; says so otherwise.
#[test]
fn a_full_disk_leaves_the_previous_report_intact() {
    let _lock = exclusive();
    let mount_point = scratch("tiny-disk");
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16k", "tmpfs"])
        .arg(&mount_point)
        .status()
        .is_ok_and(|status| status.success());
    if !mounted {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root): the full-disk case is not checked");
        return;
    }
    struct Unmount<'p>(&'p Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(&mount_point);
    let report = mount_point.join("report.xml");
    std::fs::write(&report, "previous report").unwrap();
    // A log with enough failures for a JUnit report larger than what is left.
    let mut log = String::from("KTAP version 1\n1..400\n");
    for number in 1..=400 {
        log.push_str(&format!(
            "# panicked at kernel/src/long_file_name_for_a_big_report.rs:{number}:1: {}\n",
            "x".repeat(60)
        ));
        log.push_str(&format!("not ok {number} suite::a_test_with_a_long_name_{number}\n"));
    }
    let log_path = scratch("full-disk-log").join("x86_64.serial.log");
    std::fs::write(&log_path, log).unwrap();
    let run = xtask(&["report", "--junit", report.to_str().unwrap(), log_path.to_str().unwrap()]);
    assert_eq!(run.status, Some(2), "{}", run.all_output());
    assert!(run.stderr.contains(&format!("cannot write `{}`", report.display())), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&report).unwrap(), "previous report");
    let left: Vec<_> = std::fs::read_dir(&mount_point).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    assert_eq!(left, ["report.xml"], "no temporary file is left behind");
}

#[test]
fn a_broken_target_json_stops_every_command_with_its_line() {
    let _lock = exclusive();
    // A copy of the repository's description files with a broken JSON, built with this xtask.
    let copy = scratch("broken-json-checkout");
    for directory in ["targets", "linker-scripts"] {
        std::fs::create_dir_all(copy.join(directory)).unwrap();
        for entry in std::fs::read_dir(root().join(directory)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), copy.join(directory).join(entry.file_name())).unwrap();
        }
    }
    let json = copy.join("targets/aarch64.json");
    let broken = std::fs::read_to_string(&json).unwrap().replacen("\"arch\": \"aarch64\",", "\"arch\": \"aarch64\"", 1);
    std::fs::write(&json, broken).unwrap();
    let run = xtask_with(&["build", "--arch", "aarch64"], |command| {
        command.env("XTASK_WORKSPACE", &copy);
    });
    assert_eq!(run.status, Some(2), "{}", run.all_output());
    assert!(run.stderr.contains("targets/aarch64.json` is not valid JSON: line"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

/// A harness error on one arch (its QEMU cannot be started, after the checks passed: the
/// stand-in makes itself unexecutable while QEMU's sandbox support is probed) is reported
/// for that arch alone, with exit status 2; every other arch's verdicts are still printed
/// and written.
#[test]
fn a_harness_error_on_one_arch_leaves_the_others_reports_whole() {
    let _lock = exclusive();
    let real = "/usr/bin/qemu-system-riscv64";
    let script = format!("#!/bin/sh\ncase \"$*\" in *-qmp*) chmod a-x \"$0\";; esac\nexec {real} \"$@\"\n");
    let bin = path_with("path-qemu-vanishes", &[("qemu-system-riscv64", &script, 0o755)]);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let junit = scratch("harness-error").join("report.xml");
    let junit_arg = junit.to_string_lossy().into_owned();
    let run = xtask_with(&["test", "--format", "json", "--junit", &junit_arg, "fmt_"], |command| {
        command.env("PATH", &path);
    });
    assert_eq!(run.status, Some(2), "{}", run.all_output());
    let events = crate::harness::json_lines(&run.stdout);
    for arch in crate::harness::ARCHES {
        let suite = events.iter().find(|e| e["type"] == "suite" && e["arch"] == arch).expect("a suite line per arch");
        if arch == "riscv64" {
            let errors = suite["errors"].as_array().expect("the error is riscv64's");
            assert!(errors[0].as_str().unwrap().contains("cannot run QEMU for riscv64"), "{suite}");
        } else {
            assert_eq!(suite["event"], "ok", "{arch} still ran and passed: {suite}");
            assert!(suite["passed"].as_u64().unwrap() >= 2, "{suite}");
        }
    }
    let xml = std::fs::read_to_string(&junit).expect("the JUnit report is written");
    assert_eq!(
        roxmltree::Document::parse(&xml).unwrap().descendants().filter(|n| n.has_tag_name("testsuite")).count(),
        3
    );
}
