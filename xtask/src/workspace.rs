//! Where things are: the repository root, cargo's target directory, the xtask's own files.

use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Workspace {
    root: PathBuf,
    target_dir: PathBuf,
}

impl Workspace {
    /// The repository this xtask was built from (the parent of `xtask/`), or the checkout
    /// `XTASK_WORKSPACE` names (to build another copy of the repository with this xtask).
    /// The target directory honours `CARGO_TARGET_DIR`, as cargo does.
    pub fn locate() -> Workspace {
        let root = match std::env::var_os("XTASK_WORKSPACE") {
            Some(root) => PathBuf::from(root),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask/ has a parent").to_path_buf(),
        };
        let target_dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .map(|dir| if dir.is_relative() { root.join(dir) } else { dir })
            .unwrap_or_else(|| root.join("target"));
        Workspace { root, target_dir }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn target_dir(&self) -> &Path {
        &self.target_dir
    }

    /// Logs, reports and scratch files of the xtask: `target/xtask/`.
    pub fn xtask_dir(&self) -> PathBuf {
        self.target_dir.join("xtask")
    }
}
