//! Our reading of KTAP against Linux's own: every log Linux's kunit_parser parses (its
//! test_data, our fixtures, and merged documents of generated runs) gives the same counts of
//! passed, failed, crashed and skipped tests here as there.
//!
//! kunit_parser comes from Debian's linux-source-6.1 (`tests/tools/fetch-linux-kunit.sh`,
//! which `cargo xtask setup` runs; this test runs it too unless installing is off).

use super::replay_file;
use crate::events::{Reason, Status};
use crate::summary::ArchSummary;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Prints, as one JSON line, kunit_parser's counts for each file it is given.
const DRIVER: &str = r#"
import contextlib, io, json, sys
sys.path.insert(0, sys.argv[1])
import kunit_parser
counts = {}
for path in sys.argv[2:]:
    with open(path, errors="replace") as log:
        lines = log.read().splitlines()
    with contextlib.redirect_stdout(io.StringIO()):
        test = kunit_parser.parse_run_tests(lines)
    c = test.counts
    parsed = test.status.name != "FAILURE_TO_PARSE_TESTS"
    counts[path] = [parsed, c.passed, c.failed, c.crashed, c.skipped]
print("COUNTS " + json.dumps(counts))
"#;

/// (passed, failed, crashed, skipped), kunit_parser's categories.
type Counts = (u64, u64, u64, u64);

fn kunit_dir() -> PathBuf {
    let root = crate::workspace::Workspace::locate().root().to_path_buf();
    let dir = root.join("target/linux-kunit/linux-source-6.1/tools/testing/kunit");
    if !dir.join("kunit_parser.py").is_file() {
        let fetch = root.join("tests/tools/fetch-linux-kunit.sh");
        assert!(
            crate::tools::installs_allowed(false),
            "Linux's kunit_parser is not here and installing is off: run `{}` (or `cargo xtask setup`)",
            fetch.display()
        );
        let status = Command::new(&fetch).status().expect("the fetch script runs");
        assert!(status.success(), "`{}` failed: Linux's kunit_parser is needed for this test", fetch.display());
    }
    dir
}

/// kunit_parser's counts for each file it parses (files it cannot parse are left out).
fn linux_counts(files: &[PathBuf]) -> BTreeMap<PathBuf, Counts> {
    let output = Command::new("python3")
        .arg("-c")
        .arg(DRIVER)
        .arg(kunit_dir())
        .args(files)
        .output()
        .expect("python3 runs (Debian: `apt-get install python3`)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().find_map(|line| line.strip_prefix("COUNTS ")).unwrap_or_else(|| {
        panic!("kunit_parser gave no counts:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr))
    });
    let parsed: BTreeMap<String, (bool, u64, u64, u64, u64)> = serde_json::from_str(line).unwrap();
    parsed
        .into_iter()
        .filter(|(_, counts)| counts.0)
        .map(|(path, (_, passed, failed, crashed, skipped))| (PathBuf::from(path), (passed, failed, crashed, skipped)))
        .collect()
}

/// Our counts in kunit_parser's categories: a test cut short, not run or never reported is
/// what kunit_parser calls crashed.
fn our_counts(summary: &ArchSummary) -> Counts {
    let (mut passed, mut failed, mut crashed, mut skipped) = (0, 0, summary.unreported, 0);
    for outcome in &summary.outcomes {
        match outcome.status() {
            Status::Passed | Status::Flaky(_) => passed += 1,
            Status::Failed(Reason::Crash) | Status::NotRun(_) => crashed += 1,
            Status::Failed(_) => failed += 1,
            Status::Ignored(_) => skipped += 1,
        }
    }
    (passed, failed, crashed, skipped)
}

fn logs_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "log"))
        .collect();
    files.sort();
    files
}

#[test]
fn our_counts_equal_kunit_parsers_on_every_log_it_parses() {
    let root = crate::workspace::Workspace::locate().root().to_path_buf();
    let mut files = logs_in(&kunit_dir().join("test_data"));
    files.extend(logs_in(&root.join("ktap/tests/data")));
    let linux = linux_counts(&files);
    assert!(linux.len() >= 20, "kunit_parser parsed only {} logs", linux.len());
    let mut disagreements = Vec::new();
    for (file, expected) in &linux {
        let summary = ArchSummary::of("x", file.clone(), &replay_file(&std::fs::read(file).unwrap(), &root));
        let ours = our_counts(&summary);
        if ours != *expected {
            disagreements.push(format!("{}: ours {ours:?}, kunit_parser {expected:?}", file.display()));
        }
    }
    assert!(disagreements.is_empty(), "(passed, failed, crashed, skipped):\n{}", disagreements.join("\n"));
}

#[test]
fn kunit_parser_reads_our_merged_documents_with_not_run_tests_as_failures() {
    let dir = crate::testutil::scratch_dir("linux-merged");
    let mut sim = super::tests::Sim::new();
    let serial = "KTAP version 1\n1..4\n# test: a\n# test: b\n# test: c\n# test: d\n# start a timeout=0\nok 1 a\n\
                  ok 2 b # SKIP not here\n# start c timeout=0\n# panicked at c.rs:1:1: no\nnot ok 3 c\n";
    sim.boot("ktest", serial, super::tests::CRASHED);
    sim.boot(
        "ktest ktest.after=c",
        "KTAP version 1\n1..1\n# test: d\n# start d timeout=0\n",
        crate::events::BootEnd::Interrupted { signal: 2 },
    );
    sim.finish(Some(2));
    let path = dir.join("merged.ktap");
    std::fs::write(&path, crate::report::ktap::merged(&sim.summary())).unwrap();
    let linux = linux_counts(std::slice::from_ref(&path));
    // a passed, b skipped, c failed, d not run: a `not ok` for kunit_parser, never a pass.
    assert_eq!(linux.get(&path), Some(&(1, 2, 0, 1)), "{}", std::fs::read_to_string(&path).unwrap());
}
