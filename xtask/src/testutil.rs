//! Helpers for the xtask's own unit tests.

use std::path::PathBuf;

/// A fresh, empty directory for one test, under `target/xtask/unit-tests/`.
pub fn scratch_dir(name: &str) -> PathBuf {
    let directory = crate::workspace::Workspace::locate().xtask_dir().join("unit-tests").join(name);
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("can create a scratch directory under target/");
    directory
}
