//! Every file under `tests/fixtures/fuzz-regressions/<target>/` (crashes fuzzing found, and
//! inputs an issue reported) through the same function as the fuzz target `<target>`: none
//! may panic again. `cargo xtask fuzz` copies each new crash there.

use std::path::Path;

#[test]
fn every_saved_input_runs_through_its_fuzz_target_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/fuzz-regressions");
    let mut ran = 0;
    for directory in std::fs::read_dir(&root).expect("the regression corpus exists") {
        let directory = directory.unwrap().path();
        let name = directory.file_name().unwrap().to_string_lossy().into_owned();
        let known: Vec<&str> = xtask::fuzzing::TARGETS.iter().map(|target| target.name).collect();
        let target = xtask::fuzzing::target(&name)
            .unwrap_or_else(|| panic!("`{}` names no fuzz target (known: {})", directory.display(), known.join(", ")));
        let mut files: Vec<_> = std::fs::read_dir(&directory).unwrap().map(|entry| entry.unwrap().path()).collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| (target.run)(&data));
            assert!(outcome.is_ok(), "{} panics again: `cargo xtask fuzz` found it; fix it", file.display());
            ran += 1;
        }
    }
    assert!(ran > 0, "no regression input under {}", root.display());
}

#[test]
fn every_fuzz_target_runs_on_empty_and_small_inputs() {
    for target in xtask::fuzzing::TARGETS {
        for data in [&b""[..], b"\0", b"\x01KTAP version 1\n1..1\nok 1 a\n", &[0xff; 64]] {
            (target.run)(data);
        }
    }
}
