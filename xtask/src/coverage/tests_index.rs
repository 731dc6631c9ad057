//! Per-test coverage: which tests execute each line, per arch (`--coverage=per-test`).
//! Written as `tests.json` (what `cargo xtask coverage which FILE:LINE` reads) and as
//! `html/tests.html` beside llvm-cov's HTML report.

use super::report::{ArchInput, lines_of_test};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// arch → file → line → the tests that execute it.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Index {
    pub arches: BTreeMap<String, BTreeMap<String, BTreeMap<u32, BTreeSet<String>>>>,
}

pub const FILE: &str = "tests.json";

pub fn write(inputs: &[ArchInput], directory: &Path, html: &Path, root: &Path) -> Result<PathBuf> {
    let scratch = directory.join("per-test-scratch");
    std::fs::create_dir_all(&scratch)?;
    let mut index = Index::default();
    for input in inputs {
        let files = index.arches.entry(input.arch.clone()).or_default();
        for (test, own) in &input.per_test {
            for (file, line) in lines_of_test(&input.layout, &input.image, own, &scratch, root)? {
                files.entry(file).or_default().entry(line).or_default().insert(test.clone());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let path = directory.join(FILE);
    let json = serde_json::to_vec(&index).expect("the index serializes");
    crate::fsutil::write_atomically(&path, &json)?;
    crate::fsutil::write_atomically(&html.join("tests.html"), page(&index).as_bytes())?;
    Ok(path)
}

/// The tests that execute `file:line`, per arch, from a per-test run's index in `directory`.
pub fn which(directory: &Path, file: &str, line: u32) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let path = directory.join(FILE);
    let text = std::fs::read(&path).with_context(|| {
        format!("no per-test coverage at `{}`: run `cargo xtask test --coverage=per-test` first", path.display())
    })?;
    let index: Index = serde_json::from_slice(&text)
        .with_context(|| format!("`{}` does not read: run the tests again", path.display()))?;
    let file = file.trim_start_matches("./");
    Ok(index
        .arches
        .into_iter()
        .map(|(arch, files)| {
            let tests = files.get(file).and_then(|lines| lines.get(&line)).cloned().unwrap_or_default();
            (arch, tests)
        })
        .collect())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// For each file, each executed line, and for each arch the tests that ran it.
type LinesByFile<'a> = BTreeMap<&'a str, BTreeMap<u32, Vec<(&'a str, &'a BTreeSet<String>)>>>;

/// One self-contained page: for each file, each executed line and the tests per arch.
fn page(index: &Index) -> String {
    let mut by_file: LinesByFile = BTreeMap::new();
    for (arch, files) in &index.arches {
        for (file, lines) in files {
            for (line, tests) in lines {
                by_file.entry(file).or_default().entry(*line).or_default().push((arch, tests));
            }
        }
    }
    let mut html = String::from(
        "<!doctype html><meta charset=\"utf-8\"><title>Which tests execute each line</title>\
         <style>body{font-family:sans-serif}td{vertical-align:top;padding:0 1em}code{white-space:pre}</style>\
         <h1>Which tests execute each line</h1><p>From <code>cargo xtask test --coverage=per-test</code>; \
         <code>cargo xtask coverage which FILE:LINE</code> gives the same from the terminal.</p>",
    );
    for (file, lines) in by_file {
        html.push_str(&format!(
            "<details><summary><code>{}</code> ({} lines)</summary><table>",
            escape(file),
            lines.len()
        ));
        for (line, arches) in lines {
            let cells: Vec<String> = arches
                .iter()
                .map(|(arch, tests)| {
                    let names: Vec<String> = tests.iter().map(|test| escape(test)).collect();
                    format!("<b>{}</b>: {}", escape(arch), names.join(", "))
                })
                .collect();
            html.push_str(&format!("<tr><td>{line}</td><td>{}</td></tr>", cells.join("<br>")));
        }
        html.push_str("</table></details>");
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_reads_the_index_and_the_page_escapes_names() {
        let directory = crate::testutil::scratch_dir("coverage-which");
        let mut index = Index::default();
        let tests: BTreeSet<String> = ["kernel::tests::a<b>".to_string()].into();
        index
            .arches
            .entry("x86_64".into())
            .or_default()
            .entry("kernel/src/main.rs".into())
            .or_default()
            .insert(7, tests);
        std::fs::write(directory.join(FILE), serde_json::to_vec(&index).unwrap()).unwrap();
        let found = which(&directory, "./kernel/src/main.rs", 7).unwrap();
        assert_eq!(found["x86_64"].iter().collect::<Vec<_>>(), ["kernel::tests::a<b>"]);
        assert!(which(&directory, "kernel/src/main.rs", 8).unwrap()["x86_64"].is_empty());
        assert!(page(&index).contains("kernel::tests::a&lt;b&gt;"));
        let missing = which(&directory.join("nowhere"), "a.rs", 1).unwrap_err().to_string();
        assert!(missing.contains("--coverage=per-test"), "{missing}");
    }
}
