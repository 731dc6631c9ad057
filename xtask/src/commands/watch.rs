//! `cargo xtask test --watch`: runs the tests, then again after every saved change to the
//! kernel's sources, the last failures first; Ctrl-C ends it with status 0 and no QEMU left.
//!
//! A change is any write, creation or removal under the kernel's directory, `crates/`,
//! `targets/` or `linker-scripts/` (inotify, through the notify crate), except in build
//! output and editors' scratch files; changes within [`SETTLE`] of each other are one
//! change. After a run with failures, the next run first reruns just those
//! (`--rerun-failed`) and, if they pass, everything.

use super::Context;
use super::test::Test;
use anyhow::{Context as _, Result};
use notify::{EventKind, RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

/// How long the sources must stay quiet before a run starts (an editor's save is several
/// events; a `git checkout` many).
const SETTLE: Duration = Duration::from_millis(300);

/// The watch loop; `test` is the command as given (its `--watch` is ignored from here on).
pub fn run(test: Test, context: &Context) -> Result<ExitCode> {
    crate::process::winds_down_by_itself();
    let kernel_dir = test.kernel_dir(context)?;
    let root = context.workspace.root();
    let watched: Vec<PathBuf> = [kernel_dir, root.join("crates"), root.join("targets"), root.join("linker-scripts")]
        .into_iter()
        .filter(|dir| dir.is_dir())
        .collect();
    let (sender, changes) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let _ = sender.send(event);
    })
    .context("cannot watch the sources (inotify)")?;
    for dir in &watched {
        watcher.watch(dir, RecursiveMode::Recursive).with_context(|| format!("cannot watch `{}`", dir.display()))?;
    }
    let shown: Vec<String> = watched.iter().map(|dir| relative(dir, root)).collect();
    let mut failed_last_time = false;
    for round in 1.. {
        if round > 1 {
            eprintln!("\nwatching {} for changes (Ctrl-C to stop)", shown.join(", "));
            match wait_for_change(&changes, root)? {
                Some(path) => eprintln!("── run {round}: `{path}` changed ──"),
                None => return Ok(ExitCode::SUCCESS), // Ctrl-C while waiting
            }
        }
        if failed_last_time {
            eprintln!("── the last failures first ──");
            let status = test.once(true).run(context).map_err(|error| eprintln!("error: {error:#}"));
            if crate::process::interrupted().is_some() {
                return Ok(ExitCode::SUCCESS);
            }
            if status != Ok(ExitCode::SUCCESS) {
                continue; // still failing: the whole suite can wait for the next change
            }
            eprintln!("── they pass: the whole selection ──");
        }
        let status = test.once(false).run(context);
        if crate::process::interrupted().is_some() {
            return Ok(ExitCode::SUCCESS);
        }
        // A build error is shown and waited out like a failing test.
        failed_last_time = match status {
            Ok(code) => code != ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error:#}");
                false
            }
        };
    }
    unreachable!("the watch loop ends only by returning")
}

/// Blocks until a relevant change has settled; its path (relative to `root`), or None when
/// the xtask was interrupted.
fn wait_for_change(changes: &mpsc::Receiver<notify::Result<notify::Event>>, root: &Path) -> Result<Option<String>> {
    // A source saved during the run counts (the build's own writes are not sources).
    let mut first: Option<String> = None;
    loop {
        if crate::process::interrupted().is_some() {
            return Ok(None);
        }
        let wait = if first.is_some() { SETTLE } else { Duration::from_millis(100) };
        match changes.recv_timeout(wait) {
            Ok(Ok(event)) if counts(&event.kind) => {
                if let Some(path) = event.paths.iter().find(|path| is_source(path)) {
                    first.get_or_insert_with(|| relative(path, root));
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => eprintln!("note: watching: {error}"),
            Err(mpsc::RecvTimeoutError::Timeout) if first.is_some() => return Ok(first),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => anyhow::bail!("the file watcher stopped"),
        }
    }
}

fn counts(kind: &EventKind) -> bool {
    matches!(kind, EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_))
}

/// Whether a changed path is a source: not build output, not an editor's scratch file.
fn is_source(path: &Path) -> bool {
    let in_output = path.components().any(|part| part.as_os_str() == "target");
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let scratch = name.starts_with('.') || name.ends_with('~') || name.ends_with(".swp") || name.ends_with(".tmp");
    !in_output && !scratch
}

fn relative(path: &Path, root: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_output_and_editor_scratch_files_are_not_changes() {
        assert!(is_source(Path::new("/w/kernel/src/main.rs")));
        assert!(is_source(Path::new("/w/targets/riscv64.toml")));
        assert!(!is_source(Path::new("/w/kernel/target/debug/build/x")));
        for scratch in [".main.rs.swp", "main.rs~", "4913", ".#main.rs"] {
            let expected = scratch == "4913"; // vim's probe file is a plain name: a change
            assert_eq!(is_source(&Path::new("/w/kernel/src").join(scratch)), expected, "{scratch}");
        }
    }

    #[test]
    fn a_settled_burst_of_changes_is_one_change_named_by_its_first_source() {
        let (sender, receiver) = mpsc::channel();
        let event = |path: &str| {
            Ok(notify::Event::new(EventKind::Modify(notify::event::ModifyKind::Any)).add_path(PathBuf::from(path)))
        };
        let waiter = std::thread::spawn(move || wait_for_change(&receiver, Path::new("/w")).unwrap());
        std::thread::sleep(Duration::from_millis(50));
        sender.send(event("/w/kernel/target/x")).unwrap();
        sender.send(event("/w/kernel/src/lib.rs")).unwrap();
        sender.send(event("/w/crates/mm/src/frames.rs")).unwrap();
        assert_eq!(waiter.join().unwrap().as_deref(), Some("kernel/src/lib.rs"));
    }
}
