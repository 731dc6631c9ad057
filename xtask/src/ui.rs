//! How much the xtask says about what it runs. Commands that run kernels and report them
//! (`test`, `report`, cargo's runner) are quiet unless asked (`-v`): their output is the
//! verdicts. The others echo every command line they run, so a person can copy it.

use std::sync::atomic::{AtomicBool, Ordering};

static QUIET: AtomicBool = AtomicBool::new(false);

/// From now on, command lines are echoed only if `verbose`.
pub fn quiet_unless(verbose: bool) {
    QUIET.store(!verbose, Ordering::SeqCst);
}

/// Prints `$ COMMAND` on stderr, unless quiet.
pub fn echo(command: &str) {
    if !QUIET.load(Ordering::SeqCst) {
        eprintln!("$ {command}");
    }
}

/// Writes one line to `out`; `Ok(false)` when the reader went away (`cargo xtask test --list
/// | head -1`): the caller then stops quietly, as a Unix filter does, instead of panicking
/// as `println!` would.
pub fn write_line(out: &mut impl std::io::Write, line: std::fmt::Arguments<'_>) -> std::io::Result<bool> {
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(error) => Err(error),
    }
}

/// How progress on long work is shown: one line redrawn in place on a terminal, plain lines
/// where stdout is not a terminal or `CI` is set (a log keeps every line, and no `\r`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressStyle {
    Redraw,
    Lines,
}

impl ProgressStyle {
    pub fn choose(stdout_is_terminal: bool, ci: bool) -> ProgressStyle {
        if stdout_is_terminal && !ci { ProgressStyle::Redraw } else { ProgressStyle::Lines }
    }

    pub fn current() -> ProgressStyle {
        use std::io::IsTerminal;
        let ci = std::env::var_os("CI").is_some_and(|value| !value.is_empty() && value != "false");
        ProgressStyle::choose(std::io::stdout().is_terminal(), ci)
    }
}

/// Says on stderr, every `every`, that `what` is still going (a cold build of three kernels
/// takes minutes and prints nothing with `--quiet`), until dropped.
pub struct Heartbeat {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

pub fn heartbeat(what: String, every: std::time::Duration) -> Heartbeat {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let style = ProgressStyle::current();
    let started = std::time::Instant::now();
    let thread = std::thread::spawn(move || {
        let mut printed = false;
        while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
            let line = format!("{what}: still running after {} s", started.elapsed().as_secs());
            match style {
                ProgressStyle::Redraw => eprint!("\r{line}"),
                ProgressStyle::Lines => eprintln!("{line}"),
            }
            printed = true;
        }
        if printed && style == ProgressStyle::Redraw {
            eprintln!();
        }
    });
    Heartbeat { stop: Some(stop), thread: Some(thread) }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn progress_is_plain_lines_off_a_terminal_or_under_ci() {
        use super::ProgressStyle::{Lines, Redraw};
        let cases = [((true, false), Redraw), ((false, false), Lines), ((true, true), Lines), ((false, true), Lines)];
        for ((terminal, ci), expected) in cases {
            assert_eq!(super::ProgressStyle::choose(terminal, ci), expected, "terminal {terminal}, CI {ci}");
        }
    }

    #[test]
    fn a_heartbeat_dropped_early_says_nothing_and_ends_its_thread() {
        let heartbeat = super::heartbeat("build".into(), std::time::Duration::from_secs(3600));
        drop(heartbeat);
    }

    /// A writer whose reader has gone, as stdout is after `| head -1` has read its line.
    struct ClosedPipe;

    impl std::io::Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_ends_the_listing_quietly() {
        assert!(!super::write_line(&mut ClosedPipe, format_args!("x86_64: a")).unwrap());
        let mut written = Vec::new();
        assert!(super::write_line(&mut written, format_args!("x86_64: {}", "a")).unwrap());
        assert_eq!(written, b"x86_64: a\n");
    }
}
