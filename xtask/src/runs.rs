//! The run history, `target/xtask/runs/`: a directory per run (`<seconds>-<pid>`) with its
//! serial logs, merged KTAP, report page, gdb scripts and recordings, and `latest`, a link
//! to the newest. The newest [`KEEP`] runs stay; older ones are removed as a run starts,
//! except `latest`'s and any still running (its process holds the lock on the directory's
//! `.running` file, which the operating system lets go when the process ends, however it
//! ends). Durations remembered for the splits are not in it (`plan::durations`).

use anyhow::{Context as _, Result};
use std::fs::File;
use std::path::{Path, PathBuf};

/// How many runs the history keeps, besides any still running: a few MB each for this
/// kernel's suites, so a few hundred MB at most. 418 runs, never pruned, had filled 1.2 GB.
pub const KEEP: usize = 50;

/// The file a running run holds locked.
const CLAIM: &str = ".running";

/// A run's directory, claimed for as long as this value lives: no other run removes it.
pub struct RunDir {
    pub path: PathBuf,
    _claim: File,
}

/// A directory of its own for a new run, and the `latest` link to it (two runs at once never
/// write the same files); then the history pruned to the newest [`KEEP`].
pub fn create(xtask_dir: &Path) -> Result<RunDir> {
    let runs = xtask_dir.join("runs");
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let name = format!("{seconds}-{}", std::process::id());
    let path = runs.join(&name);
    std::fs::create_dir_all(&path).with_context(|| format!("cannot create the run directory `{}`", path.display()))?;
    let claim_path = path.join(CLAIM);
    let claim = File::create(&claim_path).with_context(|| format!("cannot create `{}`", claim_path.display()))?;
    if claim.try_lock().is_err() {
        anyhow::bail!("cannot claim the run directory `{}`: another run holds it", path.display());
    }
    let link = runs.join("latest");
    let temporary = runs.join(format!(".latest.{}", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    if std::os::unix::fs::symlink(&name, &temporary).is_ok() {
        let _ = std::fs::rename(&temporary, &link);
    }
    prune(&runs, KEEP);
    Ok(RunDir { path, _claim: claim })
}

/// A run directory's name as (seconds, pid), newest last when sorted; None for anything else.
fn run_id(name: &str) -> Option<(u64, u32)> {
    let (seconds, pid) = name.split_once('-')?;
    Some((seconds.parse().ok()?, pid.parse().ok()?))
}

/// Removes the runs in `runs` beyond the newest `keep`, but for `latest`'s and those still
/// running. Best effort: what cannot be removed stays, and nothing but run directories is
/// touched.
fn prune(runs: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(runs) else { return };
    let mut found: Vec<((u64, u32), PathBuf)> = entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .filter_map(|entry| Some((run_id(entry.file_name().to_str()?)?, entry.path())))
        .collect();
    if found.len() <= keep {
        return;
    }
    found.sort_unstable_by_key(|(id, _)| std::cmp::Reverse(*id));
    let latest = std::fs::read_link(runs.join("latest")).ok().map(|target| runs.join(target));
    for (_, dir) in found.into_iter().skip(keep) {
        if latest.as_ref() != Some(&dir) && !running(&dir) {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// Whether a run's process still holds its claim on `dir`.
fn running(dir: &Path) -> bool {
    File::open(dir.join(CLAIM)).is_ok_and(|file| matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(runs: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(runs).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        names
    }

    #[test]
    fn the_history_keeps_the_newest_runs_latest_and_those_still_running() {
        let runs = crate::testutil::scratch_dir("runs-prune");
        // Six finished runs (the newest by their seconds, not by name), and what is not a run.
        for name in ["100-7", "90-1", "1000-3", "20-5", "30-2", "40-9", "notes", ".latest.1"] {
            std::fs::create_dir(runs.join(name)).unwrap();
        }
        std::fs::write(runs.join("200-4"), "a file, not a run").unwrap();
        std::os::unix::fs::symlink("20-5", runs.join("latest")).unwrap();
        // 30-2 is still running: another open file description holds its claim.
        let claim = File::create(runs.join("30-2").join(CLAIM)).unwrap();
        claim.lock().unwrap();
        // 40-9 finished: its claim file is there, unlocked.
        File::create(runs.join("40-9").join(CLAIM)).unwrap();

        prune(&runs, 3);
        assert_eq!(names(&runs), [".latest.1", "100-7", "1000-3", "20-5", "200-4", "30-2", "90-1", "latest", "notes"]);

        // Once it ends, the run is pruned like any other.
        drop(claim);
        prune(&runs, 3);
        assert_eq!(names(&runs), [".latest.1", "100-7", "1000-3", "20-5", "200-4", "90-1", "latest", "notes"]);
        // Within the limit nothing goes.
        prune(&runs, 4);
        assert_eq!(names(&runs).len(), 8);
    }

    #[test]
    fn a_new_run_is_claimed_until_it_is_dropped_and_becomes_latest() {
        let xtask_dir = crate::testutil::scratch_dir("runs-create");
        let run = create(&xtask_dir).unwrap();
        assert!(running(&run.path));
        let latest = std::fs::read_link(xtask_dir.join("runs/latest")).unwrap();
        assert_eq!(xtask_dir.join("runs").join(latest), run.path);
        let path = run.path.clone();
        drop(run);
        assert!(!running(&path));
    }
}
