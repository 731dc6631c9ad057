//! `cargo xtask setup` and `cargo xtask doctor --fix` on a machine that lacks programs: with
//! installs off, every missing program is named with its exact install command.

use crate::harness::{exclusive, scratch, xtask_with};
use std::path::PathBuf;

/// A directory of links to `programs` (found on this PATH): a PATH that has only them.
pub fn path_with_only(name: &str, programs: &[&str]) -> PathBuf {
    let bin = scratch(name);
    for program in programs {
        let found = std::env::split_paths(&std::env::var_os("PATH").unwrap())
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
            .unwrap_or_else(|| panic!("{program} is installed"));
        std::os::unix::fs::symlink(found, bin.join(program)).unwrap();
    }
    bin
}

/// What a machine with rust, apt and two of the three QEMUs has.
pub const ALL_BUT_GDB_NEXTEST_AND_RISCV: [&str; 6] =
    ["qemu-system-x86_64", "qemu-system-aarch64", "apt-get", "rustc", "cargo", "rustup"];

#[test]
fn setup_with_installs_off_names_the_install_command_of_each_missing_program() {
    let _lock = exclusive();
    let bin = path_with_only("path-for-setup", &ALL_BUT_GDB_NEXTEST_AND_RISCV);
    for args in [&["setup"][..], &["doctor", "--fix"]] {
        let run = xtask_with(args, |command| {
            command.env("PATH", &bin).env("XTASK_NO_INSTALL", "1");
        });
        assert_eq!(run.status, Some(2), "{args:?}: {}", run.all_output());
        for expected in [
            "`qemu-system-riscv64` is not installed (installs are turned off); install it with:\n    \
             sudo apt-get install -y qemu-system-misc",
            "`gdb-multiarch` is not installed (installs are turned off); install it with:\n    \
             sudo apt-get install -y gdb-multiarch",
            "`qemu-img` is not installed (installs are turned off); install it with:\n    \
             sudo apt-get install -y qemu-utils",
            "`cargo-nextest` is not installed (installs are turned off); install it with:\n    \
             cargo install cargo-nextest --locked",
        ] {
            assert!(run.stderr.contains(expected), "{args:?}: no `{expected}`:\n{}", run.stderr);
        }
        assert!(run.stderr.contains("setup: ok  "), "what is there is shown: {}", run.stderr);
    }
}

/// A directory of links to every program on this PATH except `hidden`: the machine as it
/// is, less those programs.
fn path_without(name: &str, hidden: &[&str]) -> PathBuf {
    let bin = scratch(name);
    for directory in std::env::split_paths(&std::env::var_os("PATH").unwrap()) {
        let Ok(entries) = std::fs::read_dir(&directory) else { continue };
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let link = bin.join(&file_name);
            if hidden.iter().any(|program| file_name == *program) || link.symlink_metadata().is_ok() {
                continue;
            }
            let _ = std::os::unix::fs::symlink(entry.path(), link);
        }
    }
    bin
}

/// A fresh checkout: the repository cloned to a scratch directory, its README's Quick start
/// read, and the first thing its test command does (the e2e suite's `cargo xtask setup`) run
/// in it with PATH lacking gdb-multiarch and qemu-system-riscv64 and installs off. The xtask
/// is this build's, pointed at the clone (`XTASK_WORKSPACE`), so the test does not compile
/// the workspace a second time; the clone's own target directory starts empty.
#[test]
fn a_fresh_clone_without_gdb_and_riscv_qemu_names_their_install_commands() {
    let _lock = exclusive();
    let clone = scratch("fresh-clone").join("repository");
    let status = std::process::Command::new("git")
        .args(["clone", "--quiet", "--no-hardlinks"])
        .arg(crate::harness::root())
        .arg(&clone)
        .status()
        .unwrap();
    assert!(status.success(), "git clone");
    let readme = std::fs::read_to_string(clone.join("README.md")).unwrap();
    let quick_start = &readme[readme.find("## Quick start").expect("a Quick start")..];
    let block = &quick_start[quick_start.find("```sh").unwrap()..];
    let block = &block[..block[3..].find("```").unwrap()];
    let commands: Vec<&str> = block.lines().skip(1).filter_map(|line| line.split('#').next()).map(str::trim).collect();
    assert_eq!(commands, ["cargo xtask setup", "cargo test"], "the README's two commands");

    let bin = path_without("path-without-gdb-and-riscv-qemu", &["gdb-multiarch", "qemu-system-riscv64"]);
    let run = xtask_with(&["setup"], |command| {
        command
            .current_dir(&clone)
            .env("PATH", &bin)
            .env("XTASK_NO_INSTALL", "1")
            .env("XTASK_WORKSPACE", &clone)
            .env_remove("CARGO_TARGET_DIR");
    });
    assert_eq!(run.status, Some(2), "{}", run.all_output());
    for expected in [
        "`qemu-system-riscv64` is not installed (installs are turned off); install it with:\n    \
         sudo apt-get install -y qemu-system-misc",
        "`gdb-multiarch` is not installed (installs are turned off); install it with:\n    \
         sudo apt-get install -y gdb-multiarch",
    ] {
        assert!(run.stderr.contains(expected), "no `{expected}`:\n{}", run.stderr);
    }
    assert!(run.stderr.contains("2 missing"), "only those two are missing here: {}", run.stderr);
}
