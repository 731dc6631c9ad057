//! Small mistakes that used to panic get a clear error: end to end where only the real
//! binary shows it.

use crate::harness::{exclusive, root, scratch, xtask, xtask_with};

/// With a broken `targets/*.toml` (here in a copy of the repository's targets, named by
/// `XTASK_WORKSPACE`) `--help` still prints help; any other command names the broken file.
#[test]
fn help_prints_even_with_a_broken_arch_table() {
    let _lock = exclusive();
    let copy = scratch("broken-arch-table");
    std::fs::create_dir_all(copy.join("targets")).unwrap();
    for entry in std::fs::read_dir(root().join("targets")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, copy.join("targets").join(path.file_name().unwrap())).unwrap();
    }
    std::fs::write(copy.join("targets/riscv64.toml"), "name = \"riscv64\"\nthis is not toml\n").unwrap();
    for args in [&["--help"][..], &["test", "--help"]] {
        let run = xtask_with(args, |command| {
            command.env("XTASK_WORKSPACE", &copy);
        });
        assert_eq!(run.status, Some(0), "{args:?}: {}", run.all_output());
        assert!(!run.stderr.contains("panicked"), "{args:?}: {}", run.stderr);
    }
    let run = xtask_with(&["doctor"], |command| {
        command.env("XTASK_WORKSPACE", &copy);
    });
    assert_eq!(run.status, Some(2), "{}", run.all_output());
    assert!(run.stderr.contains("riscv64.toml"), "the broken file is named: {}", run.stderr);
}

#[test]
fn bench_with_zero_runs_is_a_usage_error() {
    let _lock = exclusive();
    let run = xtask(&["bench", "--runs", "0"]);
    assert_eq!(run.status, Some(2), "{}", run.all_output());
    assert!(run.stderr.contains("at least 1: a median needs a sample"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

/// `cargo xtask test --list | head -1`: the reader goes after one line; the listing ends
/// quietly with status 0, and leaves no QEMU behind.
#[test]
fn a_listing_into_a_closed_pipe_ends_quietly() {
    let _lock = exclusive();
    let xtask = env!("CARGO_BIN_EXE_xtask");
    let output = std::process::Command::new("bash")
        .args([
            "-c",
            &format!("'{xtask}' test --arch riscv64 --list 2>/dev/null | head -1; echo \"status ${{PIPESTATUS[0]}}\""),
        ])
        .current_dir(root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("riscv64: "), "{stdout}");
    assert!(stdout.contains("status 0"), "{stdout}");
    assert!(crate::harness::qemu_processes().is_empty());
}
