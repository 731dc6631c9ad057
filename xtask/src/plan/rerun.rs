//! `--rerun-failed`: the tests that failed or did not run in a finished run, per arch, read
//! back from its merged KTAP documents (`<arch>.ktap`) through the same session as any
//! report, so "failed" means exactly what that run reported.

use crate::events::Status;
use crate::session::{Sources, replay_reader};
use crate::summary::ArchSummary;
use anyhow::{Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Per arch, the tests of the run in `run_dir` whose final status is failed or not run.
/// Arches where everything passed are left out.
pub fn failed_in(run_dir: &Path, sources: &Sources) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let entries =
        std::fs::read_dir(run_dir).with_context(|| format!("cannot read the run directory `{}`", run_dir.display()))?;
    let mut failed = BTreeMap::new();
    let mut documents = 0;
    for entry in entries {
        let path = entry?.path();
        let Some(arch) = path.file_name().and_then(|name| name.to_str()).and_then(|name| name.strip_suffix(".ktap"))
        else {
            continue;
        };
        documents += 1;
        let file = std::fs::File::open(&path).with_context(|| format!("cannot read `{}`", path.display()))?;
        let mut fold = ArchSummary::new(arch, path.clone());
        replay_reader(std::io::BufReader::new(file), sources.clone(), |event| fold.apply(&event))
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        let names: BTreeSet<String> = fold
            .outcomes
            .iter()
            .filter(|outcome| matches!(outcome.status(), Status::Failed(_) | Status::NotRun(_)))
            .map(|outcome| outcome.name.clone())
            .collect();
        if !names.is_empty() {
            failed.insert(arch.to_string(), names);
        }
    }
    anyhow::ensure!(
        documents > 0,
        "`{}` holds no `<arch>.ktap` report: the run did not finish, so what failed is unknown",
        run_dir.display()
    );
    Ok(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_and_not_run_tests_are_found_per_arch_and_passes_left_out() {
        let dir = crate::testutil::scratch_dir("rerun-failed");
        let document = |arch: &str, results: &str| format!("# xtask: arch {arch}\nKTAP version 1\n{results}");
        std::fs::write(
            dir.join("riscv64.ktap"),
            document("riscv64", "1..3\nok 1 a::passes\nnot ok 2 a::fails\nok 3 a::skipped # SKIP not here\n"),
        )
        .unwrap();
        std::fs::write(dir.join("x86_64.ktap"), document("x86_64", "1..1\nok 1 a::passes\n")).unwrap();
        std::fs::write(dir.join("riscv64.serial.log"), "not a merged report\n").unwrap();
        let failed = failed_in(&dir, &Sources::from(dir.clone())).unwrap();
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!(failed["riscv64"], BTreeSet::from(["a::fails".to_string()]));

        let empty = crate::testutil::scratch_dir("rerun-failed-unfinished");
        let error = failed_in(&empty, &Sources::from(empty.clone())).unwrap_err().to_string();
        assert!(error.contains("holds no `<arch>.ktap`"), "{error}");
    }
}
