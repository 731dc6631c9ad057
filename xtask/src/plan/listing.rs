//! Each arch's list of selected tests, from a `ktest.list` boot, kept under
//! `target/xtask/lists/` by the image's build-id and the list boot's command line: an image
//! lists the same tests for the same request, so a warm run (and a second `test --list`)
//! boots no list at all.

use crate::runner::{self, Listed, RunOptions, Target};
use anyhow::Result;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// The selected tests' names of every target, in name order (the order `ktest.set` counts
/// in), listed at once on all of them.
pub fn lists(targets: &[Target<'_>], options: &RunOptions, xtask_dir: &Path) -> Result<Vec<Vec<String>>> {
    let lists = listed(targets, options, xtask_dir)?;
    Ok(lists.into_iter().map(|list| list.into_iter().map(|test| test.name).collect()).collect())
}

/// The selected tests of every target, as [`lists`] finds them, each with whether it is
/// `#[ktest(ignore)]`d (for `test --list`).
pub fn listed(targets: &[Target<'_>], options: &RunOptions, xtask_dir: &Path) -> Result<Vec<Vec<Listed>>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            targets.iter().map(|target| scope.spawn(move || list(target, options, xtask_dir))).collect();
        handles.into_iter().map(|handle| handle.join().expect("a list thread does not panic")).collect()
    })
}

/// How the cache keeps a test: its name, after `ignored ` if it is ignored.
const IGNORED: &str = "ignored ";
const RUN: &str = "run ";

fn list(target: &Target<'_>, options: &RunOptions, xtask_dir: &Path) -> Result<Vec<Listed>> {
    let cache = cache_path(target, options, xtask_dir);
    if let Some(path) = &cache
        && let Ok(text) = std::fs::read_to_string(path)
        && let Some(tests) = text.lines().map(cached_test).collect::<Option<Vec<Listed>>>()
    {
        return Ok(tests);
    }
    let tests = runner::list_tests(target, options)?;
    if let Some(path) = &cache {
        let text: String =
            tests.iter().map(|test| format!("{}{}\n", if test.ignored { IGNORED } else { RUN }, test.name)).collect();
        // A cache that cannot be written costs a list boot next time, nothing more.
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let _ = crate::fsutil::write_atomically(path, text.as_bytes());
    }
    Ok(tests)
}

/// A line of the cache; None if it is not one (then the list is booted again).
fn cached_test(line: &str) -> Option<Listed> {
    match line.strip_prefix(IGNORED) {
        Some(name) => Some(Listed { name: name.to_string(), ignored: true }),
        None => Some(Listed { name: line.strip_prefix(RUN)?.to_string(), ignored: false }),
    }
}

/// Where the list of `target` under `options` is kept; None for an image without a
/// build-id (nothing safe to key it by).
fn cache_path(target: &Target<'_>, options: &RunOptions, xtask_dir: &Path) -> Option<PathBuf> {
    let build_id = crate::symbolize::build_id(target.image)?;
    let line = runner::list_request_line(options).ok()?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (build_id.as_str(), line.as_str()).hash(&mut hasher);
    Some(xtask_dir.join("lists").join(format!("{}-{:016x}.txt", target.arch.name, hasher.finish())))
}
