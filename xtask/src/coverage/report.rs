//! What a coverage run leaves, under `target/xtask/coverage/`: each arch's raw profile,
//! indexed profile and `lcov.info`; a merged `lcov.info`; an HTML report (`html/`); with
//! `--coverage=per-test`, which tests execute each line (`tests.json`, `html/tests.html`);
//! and the summary printed at the end of the run. Source paths are relative to the
//! repository (the images are built with the checkout remapped to `.`), so editors and
//! Codecov/Coveralls read `lcov.info` as it is; code outside the repository is left out.

use super::profraw::{Layout, bytes_of};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Sources outside the repository: the standard library's and the registry's.
const OUTSIDE: &str = "^/(rustc-src|cargo-registry)/";

pub struct ArchInput {
    pub arch: String,
    pub image: PathBuf,
    pub layout: Layout,
    pub total: Vec<u64>,
    pub per_test: BTreeMap<String, BTreeMap<u32, u64>>,
    pub lost: Vec<(u32, String)>,
}

/// Lines and functions covered, of all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Counts {
    pub count: u64,
    pub covered: u64,
}

impl Counts {
    pub fn percent(&self) -> f64 {
        if self.count == 0 { 100.0 } else { self.covered as f64 * 100.0 / self.count as f64 }
    }

    fn add(&mut self, other: Counts) {
        self.count += other.count;
        self.covered += other.covered;
    }
}

/// One source file's coverage.
#[derive(Clone, Debug, PartialEq)]
pub struct FileCoverage {
    pub file: String,
    pub lines: Counts,
    pub functions: Counts,
}

/// One arch's coverage.
#[derive(Clone, Debug)]
pub struct ArchCoverage {
    pub arch: String,
    pub lcov: PathBuf,
    pub files: Vec<FileCoverage>,
    pub lost: Vec<(u32, String)>,
}

/// What the run's coverage came to.
#[derive(Clone, Debug)]
pub struct Summary {
    pub arches: Vec<ArchCoverage>,
    pub lcov: PathBuf,
    pub html: PathBuf,
    pub tests_index: Option<PathBuf>,
}

/// Runs an llvm tool, failing with its own words.
fn run(tool: &Path, args: &[&std::ffi::OsStr], root: &Path) -> Result<Vec<u8>> {
    let output = Command::new(tool)
        .args(args)
        .current_dir(root)
        .output()
        .with_context(|| format!("cannot run `{}`", tool.display()))?;
    if !output.status.success() {
        bail!(
            "`{} {}` failed: {}",
            tool.display(),
            args.iter().map(|arg| arg.to_string_lossy()).collect::<Vec<_>>().join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output.stdout)
}

/// An indexed profile from counters: the raw profile, then `llvm-profdata merge`.
fn profdata(layout: &Layout, counters: &[u64], raw: &Path, indexed: &Path, root: &Path) -> Result<()> {
    std::fs::write(raw, layout.write(&bytes_of(counters))?)
        .with_context(|| format!("cannot write `{}`", raw.display()))?;
    index(raw, indexed, root)
}

/// `llvm-profdata merge` of one raw profile.
fn index(raw: &Path, indexed: &Path, root: &Path) -> Result<()> {
    let profdata = crate::build::llvm_tool("llvm-profdata")?;
    run(&profdata, &["merge".as_ref(), "-sparse".as_ref(), raw.as_os_str(), "-o".as_ref(), indexed.as_os_str()], root)
        .with_context(|| {
            format!(
                "the raw profile `{}` does not read (corrupted, or the toolchain's LLVM changed its format): \
                 the verdicts above stand; run the tests again",
                raw.display()
            )
        })?;
    Ok(())
}

/// `llvm-cov export` of `profile` for `images`, in `format` (`lcov` or `text`).
fn export(profile: &Path, images: &[&Path], format: &str, summary_only: bool, root: &Path) -> Result<Vec<u8>> {
    let cov = crate::build::llvm_tool("llvm-cov")?;
    let format = format!("-format={format}");
    let profile_arg = format!("-instr-profile={}", profile.display());
    let ignore = format!("-ignore-filename-regex={OUTSIDE}");
    let mut args: Vec<std::ffi::OsString> = vec!["export".into(), format.into(), profile_arg.into(), ignore.into()];
    if summary_only {
        args.push("-summary-only".into());
    }
    for (index, image) in images.iter().enumerate() {
        if index > 0 {
            args.push("-object".into());
        }
        args.push(image.as_os_str().into());
    }
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|arg| arg.as_os_str()).collect();
    run(&cov, &args, root)
}

#[derive(Deserialize)]
struct Export {
    data: Vec<ExportData>,
}

#[derive(Deserialize)]
struct ExportData {
    files: Vec<ExportFile>,
}

#[derive(Deserialize)]
struct ExportFile {
    filename: String,
    summary: ExportSummary,
}

#[derive(Deserialize)]
struct ExportSummary {
    lines: Counts,
    functions: Counts,
}

fn files_of(json: &[u8]) -> Result<Vec<FileCoverage>> {
    let export: Export = serde_json::from_slice(json).context("llvm-cov's summary does not read")?;
    let mut files: Vec<FileCoverage> = export
        .data
        .into_iter()
        .flat_map(|data| data.files)
        .map(|file| FileCoverage {
            file: file.filename.trim_start_matches("./").to_string(),
            lines: file.summary.lines,
            functions: file.summary.functions,
        })
        .collect();
    files.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(files)
}

/// Writes everything for `inputs` under `directory`.
pub fn write(inputs: &[ArchInput], directory: &Path, root: &Path) -> Result<Summary> {
    std::fs::create_dir_all(directory).with_context(|| format!("cannot create `{}`", directory.display()))?;
    let mut arches = Vec::new();
    let mut indexed = Vec::new();
    for input in inputs {
        let arch_dir = directory.join(&input.arch);
        std::fs::create_dir_all(&arch_dir)?;
        let profile = arch_dir.join("kernel.profdata");
        profdata(&input.layout, &input.total, &arch_dir.join("kernel.profraw"), &profile, root)?;
        let lcov = arch_dir.join("lcov.info");
        crate::fsutil::write_atomically(&lcov, &export(&profile, &[&input.image], "lcov", false, root)?)?;
        let files = files_of(&export(&profile, &[&input.image], "text", true, root)?)?;
        arches.push(ArchCoverage { arch: input.arch.clone(), lcov, files, lost: input.lost.clone() });
        indexed.push(profile);
    }
    // Every arch together: one profile over the three images.
    let merged = directory.join("merged.profdata");
    let profdata = crate::build::llvm_tool("llvm-profdata")?;
    let mut args: Vec<&std::ffi::OsStr> = vec!["merge".as_ref(), "-sparse".as_ref()];
    args.extend(indexed.iter().map(|path| path.as_os_str()));
    args.extend(["-o".as_ref(), merged.as_os_str()]);
    run(&profdata, &args, root)?;
    let images: Vec<&Path> = inputs.iter().map(|input| input.image.as_path()).collect();
    let lcov = directory.join("lcov.info");
    crate::fsutil::write_atomically(&lcov, &export(&merged, &images, "lcov", false, root)?)?;
    let html = directory.join("html");
    let cov = crate::build::llvm_tool("llvm-cov")?;
    let mut args: Vec<std::ffi::OsString> = vec![
        "show".into(),
        "-format=html".into(),
        format!("-output-dir={}", html.display()).into(),
        format!("-instr-profile={}", merged.display()).into(),
        format!("-ignore-filename-regex={OUTSIDE}").into(),
        "-show-line-counts-or-regions".into(),
    ];
    for (index, image) in images.iter().enumerate() {
        if index > 0 {
            args.push("-object".into());
        }
        args.push(image.as_os_str().into());
    }
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|arg| arg.as_os_str()).collect();
    run(&cov, &args, root)?;
    // The per-test index (`--coverage=per-test`) is the caller's to add.
    Ok(Summary { arches, lcov, html: html.join("index.html"), tests_index: None })
}

/// A test's own coverage as lcov: the lines (file, line) it executed.
pub fn lines_of_test(
    layout: &Layout,
    image: &Path,
    own: &BTreeMap<u32, u64>,
    scratch: &Path,
    root: &Path,
) -> Result<Vec<(String, u32)>> {
    let mut counters = vec![0u64; layout.counters_size as usize / 8];
    for (index, increase) in own {
        if let Some(counter) = counters.get_mut(*index as usize) {
            *counter = *increase;
        }
    }
    let profile = scratch.join("test.profdata");
    profdata(layout, &counters, &scratch.join("test.profraw"), &profile, root)?;
    let lcov = export(&profile, &[image], "lcov", false, root)?;
    Ok(lcov_hits(&String::from_utf8_lossy(&lcov)))
}

/// The (file, line) pairs an lcov document counts as executed.
pub fn lcov_hits(lcov: &str) -> Vec<(String, u32)> {
    let mut hits = Vec::new();
    let mut file = String::new();
    for line in lcov.lines() {
        if let Some(path) = line.strip_prefix("SF:") {
            file = path.trim_start_matches("./").to_string();
        } else if let Some(data) = line.strip_prefix("DA:") {
            let mut parts = data.split(',');
            if let (Some(number), Some(count)) = (parts.next(), parts.next())
                && count.trim() != "0"
                && let Ok(number) = number.parse()
            {
                hits.push((file.clone(), number));
            }
        }
    }
    hits
}

/// The terminal summary: per arch and per module, the overall figure, the least covered files.
pub fn print_summary(out: &mut impl std::io::Write, summary: &Summary) -> std::io::Result<()> {
    writeln!(out, "\ncoverage:")?;
    writeln!(out, "  {:<10} {:>16} {:>16}", "arch", "lines", "functions")?;
    let mut all = (Counts::default(), Counts::default());
    for arch in &summary.arches {
        let (mut lines, mut functions) = (Counts::default(), Counts::default());
        for file in &arch.files {
            lines.add(file.lines);
            functions.add(file.functions);
        }
        all.0.add(lines);
        all.1.add(functions);
        writeln!(out, "  {:<10} {:>16} {:>16}", arch.arch, figure(lines), figure(functions))?;
        for (boot, reason) in &arch.lost {
            writeln!(out, "    boot {boot}: counters lost ({reason})")?;
        }
    }
    let mut modules: BTreeMap<String, (Counts, Counts)> = BTreeMap::new();
    for file in summary.arches.iter().flat_map(|arch| &arch.files) {
        let entry = modules.entry(module_of(&file.file)).or_default();
        entry.0.add(file.lines);
        entry.1.add(file.functions);
    }
    writeln!(out, "  {:<24} {:>16} {:>16}", "module (every arch)", "lines", "functions")?;
    for (module, (lines, functions)) in &modules {
        writeln!(out, "  {module:<24} {:>16} {:>16}", figure(*lines), figure(*functions))?;
    }
    let mut files: Vec<&FileCoverage> =
        summary.arches.iter().flat_map(|arch| &arch.files).filter(|file| file.lines.count >= 10).collect();
    files.sort_by(|a, b| a.lines.percent().total_cmp(&b.lines.percent()).then(a.file.cmp(&b.file)));
    files.dedup_by(|a, b| a.file == b.file);
    writeln!(out, "  least covered:")?;
    for file in files.iter().take(5) {
        writeln!(out, "    {:>6.1}%  {}", file.lines.percent(), file.file)?;
    }
    writeln!(
        out,
        "  overall: {:.1}% of lines, {:.1}% of functions ({} lcov, {} HTML)",
        all.0.percent(),
        all.1.percent(),
        summary.lcov.display(),
        summary.html.display()
    )
}

fn figure(counts: Counts) -> String {
    format!("{:.1}% of {}", counts.percent(), counts.count)
}

/// A file's module: its crate, and the directory under `src/` if it is in one
/// (`crates/arch/src/riscv64/traps.rs` → `arch::riscv64`, `kernel/src/main.rs` → `kernel`).
pub fn module_of(file: &str) -> String {
    let parts: Vec<&str> = file.split('/').collect();
    let Some(src) = parts.iter().position(|part| *part == "src") else { return file.to_string() };
    let krate = parts[..src].last().copied().unwrap_or(file);
    match parts.get(src + 1..parts.len().saturating_sub(1)) {
        Some([directory, ..]) => format!("{krate}::{directory}"),
        _ => krate.to_string(),
    }
}

/// Per-test files (`tests.json`): for each arch, each test's own counters.
#[derive(Serialize, Deserialize)]
pub struct PerTestFile {
    pub image: PathBuf,
    pub tests: BTreeMap<String, BTreeMap<u32, u64>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_are_crates_and_their_first_directory() {
        let cases = [
            ("crates/arch/src/riscv64/traps.rs", "arch::riscv64"),
            ("kernel/src/main.rs", "kernel"),
            ("kernel/src/gdbstub/target.rs", "kernel::gdbstub"),
            ("crates/mm/src/frames.rs", "mm"),
            ("build.rs", "build.rs"),
        ];
        for (file, module) in cases {
            assert_eq!(module_of(file), module, "{file}");
        }
    }

    #[test]
    fn a_corrupted_profile_an_image_without_instrumentation_and_a_missing_tool_are_named() {
        let directory = crate::testutil::scratch_dir("coverage-errors");
        let raw = directory.join("bad.profraw");
        std::fs::write(&raw, b"not a profile at all").unwrap();
        let root = crate::workspace::Workspace::locate().root().to_path_buf();
        let error = format!("{:#}", index(&raw, &directory.join("bad.profdata"), &root).unwrap_err());
        assert!(error.contains("does not read") && error.contains("bad.profraw"), "{error}");
        let own_binary = std::env::current_exe().unwrap();
        let error = Layout::of(&own_binary).unwrap_err().to_string();
        assert!(error.contains("not instrumented for coverage") && error.contains("--coverage"), "{error}");
        let error = crate::build::llvm_tool("llvm-no-such-tool").unwrap_err().to_string();
        assert!(error.contains("rustup component add llvm-tools"), "{error}");
    }

    #[test]
    fn lcov_hits_are_the_lines_with_a_count() {
        let lcov = "SF:./kernel/src/main.rs\nDA:3,0\nDA:4,7\nend_of_record\nSF:crates/mm/src/lib.rs\nDA:10,1\n";
        assert_eq!(lcov_hits(lcov), [("kernel/src/main.rs".to_string(), 4), ("crates/mm/src/lib.rs".to_string(), 10)]);
    }
}
