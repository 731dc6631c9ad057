//! Files written so that a reader never sees half of one: a temporary file in the same
//! directory, then a rename.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

/// Writes `contents` to `path` atomically. On any error (a full disk, say) `path` keeps its
/// old contents, or stays absent, and the temporary file is removed.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    let directory = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file_name = path.file_name().with_context(|| format!("`{}` is not a file path", path.display()))?;
    let temporary = directory.join(format!(".{}.{}.tmp", file_name.to_string_lossy(), std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if let Err(error) = result {
        let _ = std::fs::remove_file(&temporary);
        return Err(error).with_context(|| format!("cannot write `{}`", path.display()));
    }
    Ok(())
}

/// Fails now, naming `path`, if a report could not be written there later (its directory is
/// missing or not writable), rather than after a long run.
pub fn check_writable(path: &Path) -> Result<()> {
    let directory = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !directory.is_dir() {
        anyhow::bail!("cannot write `{}`: the directory `{}` does not exist", path.display(), directory.display());
    }
    let probe = directory.join(format!(".xtask-write-probe.{}", std::process::id()));
    std::fs::File::create(&probe).map(|_| ()).with_context(|| {
        format!("cannot write `{}`: the directory `{}` is not writable", path.display(), directory.display())
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Makes `to` a hard link to `from`, replacing `to` atomically; copies where links cannot
/// be made (another file system).
pub fn link_atomically(from: &Path, to: &Path) -> Result<()> {
    if same_file(from, to) {
        return Ok(());
    }
    let temporary = to.with_extension(format!("link.{}", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    if std::fs::hard_link(from, &temporary).is_ok() {
        let renamed = std::fs::rename(&temporary, to);
        // rename(2) between two links to one file succeeds and does nothing: a concurrent
        // run may have linked `to` in the meantime, so the temporary link can still be there.
        let _ = std::fs::remove_file(&temporary);
        return renamed.with_context(|| format!("cannot write `{}`", to.display()));
    }
    let contents = std::fs::read(from).with_context(|| format!("cannot read `{}`", from.display()))?;
    write_atomically(to, &contents)
}

/// Whether both paths name one file (the same inode on the same device).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_contents_and_leaves_no_temporary_file() {
        let directory = crate::testutil::scratch_dir("write-atomically");
        let path = directory.join("report.json");
        write_atomically(&path, b"first").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(&directory).unwrap().map(|entry| entry.unwrap().file_name()).collect();
        assert_eq!(names, ["report.json"]);
    }

    #[test]
    fn an_unwritable_path_is_an_error_naming_it() {
        let error = format!("{:#}", write_atomically(Path::new("/proc/no-such-dir/report.xml"), b"x").unwrap_err());
        assert!(error.contains("/proc/no-such-dir/report.xml"), "{error}");
    }

    #[test]
    fn linking_again_leaves_only_the_link() {
        let directory = crate::testutil::scratch_dir("link-atomically");
        let from = directory.join("kernel.elf");
        let to = directory.join("image.elf");
        std::fs::write(&from, b"first build").unwrap();
        for _ in 0..3 {
            link_atomically(&from, &to).unwrap();
        }
        assert_eq!(std::fs::read(&to).unwrap(), b"first build");
        std::fs::remove_file(&from).unwrap();
        std::fs::write(&from, b"second build").unwrap();
        link_atomically(&from, &to).unwrap();
        assert_eq!(std::fs::read(&to).unwrap(), b"second build");
        let mut names: Vec<_> =
            std::fs::read_dir(&directory).unwrap().map(|entry| entry.unwrap().file_name()).collect();
        names.sort();
        assert_eq!(names, ["image.elf", "kernel.elf"]);
    }
}
