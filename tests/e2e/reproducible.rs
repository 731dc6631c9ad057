//! Reproducible kernel images: the same bytes from two checkouts at different paths, and
//! `cargo xtask build --check-reproducible`.

use crate::harness::{ARCHES, exclusive, root, scratch, xtask, xtask_with};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// `arch -> sha256` from `cargo xtask build` output.
fn hashes(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let arch = words.next()?.to_string();
            let sha = words.skip_while(|word| *word != "sha256").nth(1)?.to_string();
            Some((arch, sha))
        })
        .collect()
}

/// Copies the repository's files (tracked and untracked, not ignored) to `to`.
fn copy_checkout(to: &Path) {
    let listed = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(root())
        .output()
        .expect("git lists the files");
    for file in listed.stdout.split(|byte| *byte == 0).filter(|name| !name.is_empty()) {
        let relative = Path::new(std::str::from_utf8(file).unwrap());
        let (from, into) = (root().join(relative), to.join(relative));
        if from.is_file() {
            std::fs::create_dir_all(into.parent().unwrap()).unwrap();
            std::fs::copy(&from, &into).unwrap();
        }
    }
}

#[test]
fn two_checkouts_at_different_paths_build_identical_images() {
    let _lock = exclusive();
    let here = xtask(&["build", "--arch", "all"]);
    assert_eq!(here.status, Some(0), "{}", here.all_output());
    let copy = scratch("checkout-elsewhere").join("a/different/path");
    copy_checkout(&copy);
    let there = xtask_with(&["build", "--arch", "all"], |command| {
        command.env("XTASK_WORKSPACE", &copy).current_dir(&copy);
    });
    assert_eq!(there.status, Some(0), "{}", there.all_output());
    let (here, there) = (hashes(&here.stdout), hashes(&there.stdout));
    assert!(ARCHES.iter().all(|arch| here.contains_key(*arch)), "a hash per arch: {here:?}");
    assert_eq!(here, there, "the images differ between {} and {}", root().display(), copy.display());
}

#[test]
fn check_reproducible_builds_twice_and_agrees() {
    let _lock = exclusive();
    let run = xtask(&["build", "--arch", "riscv64", "--check-reproducible"]);
    assert_eq!(run.status, Some(0), "{}", run.all_output());
    assert!(run.stdout.contains("riscv64  reproducible  sha256 "), "{}", run.stdout);
}

#[test]
fn the_first_differing_section_is_named() {
    let _lock = exclusive();
    let run = xtask(&["build", "--arch", "all"]);
    assert_eq!(run.status, Some(0), "{}", run.all_output());
    let images = root().join("target/xtask/images");
    let riscv = std::fs::read(images.join("riscv64-debug-kernel.elf")).unwrap();
    let mut changed = riscv.clone();
    // Flip a byte inside the first section with contents (an ELF's sections follow its header).
    let text = xtask::build::first_difference(&riscv, &riscv);
    assert_eq!(text, "the ELF headers or section table", "identical files have no differing section");
    let offset = section_offset(&riscv, ".text");
    changed[offset] ^= 0xff;
    assert_eq!(xtask::build::first_difference(&riscv, &changed), "section `.text`");
}

fn section_offset(elf: &[u8], name: &str) -> usize {
    use object::{Object, ObjectSection};
    let file = object::File::parse(elf).unwrap();
    let section = file.section_by_name(name).unwrap();
    section.file_range().unwrap().0 as usize
}
