//! Each arch's list of selected tests, from a `ktest.list` boot, kept under
//! `target/xtask/lists/` by the image's build-id and the list boot's command line: an image
//! lists the same tests for the same request, so a warm run boots no list at all.

use crate::runner::{self, RunOptions, Target};
use anyhow::Result;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// The selected tests' names of every target, in name order (the order `ktest.set` counts
/// in), listed at once on all of them.
pub fn lists(targets: &[Target<'_>], options: &RunOptions, xtask_dir: &Path) -> Result<Vec<Vec<String>>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            targets.iter().map(|target| scope.spawn(move || list(target, options, xtask_dir))).collect();
        handles.into_iter().map(|handle| handle.join().expect("a list thread does not panic")).collect()
    })
}

fn list(target: &Target<'_>, options: &RunOptions, xtask_dir: &Path) -> Result<Vec<String>> {
    let cache = cache_path(target, options, xtask_dir);
    if let Some(path) = &cache
        && let Ok(text) = std::fs::read_to_string(path)
    {
        return Ok(text.lines().map(str::to_string).collect());
    }
    let names: Vec<String> = runner::list_tests(target, options)?.into_iter().map(|test| test.name).collect();
    if let Some(path) = &cache {
        let text: String = names.iter().map(|name| format!("{name}\n")).collect();
        // A cache that cannot be written costs a list boot next time, nothing more.
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let _ = crate::fsutil::write_atomically(path, text.as_bytes());
    }
    Ok(names)
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
