//! Child processes the harness owns (QEMU, gdb). Each is ended (SIGTERM, a grace period,
//! SIGKILL) when its owner drops it and when the xtask is told to stop; QEMU runs in its own
//! process group, so the whole group goes with it.

use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};
use wait_timeout::ChildExt;

/// Children alive right now, for the signal handler: (pid, leads its own process group).
static LIVE: Mutex<BTreeSet<(i32, bool)>> = Mutex::new(BTreeSet::new());
/// The signal that interrupted the xtask (0: none).
static INTERRUPTED_BY: AtomicI32 = AtomicI32::new(0);

const GRACE: Duration = Duration::from_millis(500);

fn live() -> std::sync::MutexGuard<'static, BTreeSet<(i32, bool)>> {
    LIVE.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// A child process, ended when dropped: with its whole process group when it leads one.
pub struct OwnedChild {
    child: Child,
    status: Option<ExitStatus>,
    /// It leads its own process group (QEMU); else it shares the xtask's (gdb).
    own_group: bool,
}

impl OwnedChild {
    /// Starts `command` in a new process group (a terminal's Ctrl-C does not reach it).
    pub fn spawn(command: &mut Command) -> Result<OwnedChild> {
        command.process_group(0);
        Self::start(command, true)
    }

    /// Starts `command` in the xtask's process group, so that it can use the terminal and
    /// receives its Ctrl-C (an interactive debugger).
    pub fn spawn_in_foreground(command: &mut Command) -> Result<OwnedChild> {
        Self::start(command, false)
    }

    fn start(command: &mut Command, own_group: bool) -> Result<OwnedChild> {
        let program = command.get_program().to_string_lossy().into_owned();
        // Register under the lock so that a signal arriving now cannot miss the new child.
        let mut live = live();
        let child = command.spawn().with_context(|| format!("cannot start `{program}`"))?;
        live.insert((child.id() as i32, own_group));
        drop(live);
        let mut owned = OwnedChild { child, status: None, own_group };
        // A signal that came while this child started may have missed it (the handler
        // records the signal before it looks at the live children): end it here.
        if let Some(signal) = interrupted() {
            let _ = owned.terminate();
            anyhow::bail!("interrupted by signal {signal} while starting `{program}`");
        }
        Ok(owned)
    }

    #[cfg(test)]
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    fn target(&self) -> (i32, bool) {
        (self.child.id() as i32, self.own_group)
    }

    /// Waits for the child to exit.
    pub fn wait(&mut self) -> Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let status = self.child.wait().context("cannot wait for a child process")?;
        self.reaped(status);
        Ok(status)
    }

    /// Waits for the child to exit, at most `limit`: None if it still runs then, or if the
    /// xtask was told to stop meanwhile (the caller ends it).
    pub fn wait_for(&mut self, limit: Duration) -> Result<Option<ExitStatus>> {
        let deadline = Instant::now() + limit;
        while self.status.is_none() {
            // Short slices, so that a signal to the xtask is noticed while waiting.
            let slice = deadline.saturating_duration_since(Instant::now()).min(Duration::from_millis(100));
            if let Some(status) = self.child.wait_timeout(slice).context("cannot wait for a child process")? {
                self.reaped(status);
            } else if Instant::now() >= deadline || interrupted().is_some() {
                return Ok(None);
            }
        }
        Ok(self.status)
    }

    /// Its exit status if it has exited, without waiting.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        if self.status.is_none()
            && let Some(status) = self.child.try_wait()?
        {
            self.reaped(status);
        }
        Ok(self.status)
    }

    /// Ends the child (its whole group, if it leads one): SIGTERM, then SIGKILL after a
    /// grace period.
    pub fn terminate(&mut self) -> Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        send(self.target(), libc::SIGTERM);
        if let Some(status) = self.child.wait_timeout(GRACE)? {
            // The leader is gone; make sure nothing else of its group lives on.
            send(self.target(), libc::SIGKILL);
            self.reaped(status);
            return Ok(status);
        }
        send(self.target(), libc::SIGKILL);
        self.wait()
    }

    fn reaped(&mut self, status: ExitStatus) {
        self.status = Some(status);
        live().remove(&self.target());
    }
}

impl Drop for OwnedChild {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.terminate();
        } else if self.own_group {
            // The leader exited by itself; anything it left in its group goes too.
            send(self.target(), libc::SIGKILL);
        }
    }
}

/// Signals a child: its whole process group if it leads one.
fn send((pid, own_group): (i32, bool), signal: i32) {
    let target = if own_group { -pid } else { pid };
    // SAFETY: kill(2) has no memory effects; a negative pid names a process group.
    unsafe { libc::kill(target, signal) };
}

/// Ends every live child: used when the xtask itself is told to stop.
fn terminate_all() {
    let children: Vec<(i32, bool)> = live().iter().copied().collect();
    for child in &children {
        send(*child, libc::SIGTERM);
    }
    std::thread::sleep(GRACE);
    for child in &children {
        send(*child, libc::SIGKILL);
    }
}

/// While set, Ctrl-C (SIGINT) belongs to a foreground debugger (it interrupts its target)
/// and the xtask ignores it; otherwise it ends the children and the run, like SIGTERM.
static CTRL_C_BELONGS_TO_THE_DEBUGGER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Set by commands that wind down by themselves on a signal (ending their children, writing
/// their reports); for every other command the signal ends the xtask at once, as it would
/// without a handler.
static WINDS_DOWN_BY_ITSELF: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// This command notices `interrupted()` and winds down by itself on a signal.
pub fn winds_down_by_itself() {
    WINDS_DOWN_BY_ITSELF.store(true, Ordering::SeqCst);
}

/// From now on, Ctrl-C is the debugger's (`cargo xtask gdb`).
pub fn leave_ctrl_c_to_the_debugger() {
    CTRL_C_BELONGS_TO_THE_DEBUGGER.store(true, Ordering::SeqCst);
}

/// On SIGTERM, SIGHUP and SIGINT: remembers the signal and ends every child. The code
/// waiting on those children then sees them exit and winds down, writing what it has.
/// Installed first thing in `main`, so that only the process's own start is uncovered.
pub fn install_signal_handlers() -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]).context("cannot install signal handlers")?;
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if signal == SIGINT && CTRL_C_BELONGS_TO_THE_DEBUGGER.load(Ordering::SeqCst) {
                continue;
            }
            INTERRUPTED_BY.store(signal, Ordering::SeqCst);
            terminate_all();
            if !WINDS_DOWN_BY_ITSELF.load(Ordering::SeqCst) {
                std::process::exit(i32::from(exit_status_for_signal(signal)));
            }
        }
    });
    Ok(())
}

/// The most memory this process has held at once (its peak resident set), in KiB; not its
/// children's.
pub fn peak_rss_kib() -> u64 {
    // SAFETY: getrusage(2) fills the zeroed struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_SELF is always valid.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0;
    }
    u64::try_from(usage.ru_maxrss).unwrap_or(0)
}

/// The signal that interrupted the xtask, if one did.
pub fn interrupted() -> Option<i32> {
    match INTERRUPTED_BY.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// The exit status a shell gives a process ended by `signal` (130 for SIGINT, 143 for SIGTERM).
pub fn exit_status_for_signal(signal: i32) -> u8 {
    (128 + signal) as u8
}

/// QEMU processes alive now that boot images from `images` (a directory of kernel images):
/// (pid, command line). Zombies, which are already dead, do not count.
pub fn live_qemu_processes(images: &std::path::Path) -> Vec<(u32, String)> {
    let images = images.display().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline =
                String::from_utf8_lossy(&std::fs::read(entry.path().join("cmdline")).ok()?).replace('\0', " ");
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let zombie = stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z'));
            (cmdline.contains("qemu-system-") && cmdline.contains(&images) && !zombie).then_some((pid, cmdline))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Running or sleeping: a zombie (state `Z`) waiting to be reaped counts as ended.
    fn alive(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z')))
    }

    #[test]
    fn dropping_an_owned_child_ends_its_whole_group() {
        // A shell that starts a grandchild in the same group, then waits.
        let mut command = Command::new("sh");
        command.args(["-c", "sleep 30 & echo $!; wait"]).stdout(std::process::Stdio::piped());
        let mut owned = OwnedChild::spawn(&mut command).unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(owned.child_mut().stdout.take().unwrap()), &mut line)
            .unwrap();
        let grandchild: i32 = line.trim().parse().unwrap();
        let leader = owned.id() as i32;
        assert!(alive(grandchild));
        drop(owned);
        // Reap-independent check: the grandchild is re-parented and killed; give init a moment.
        let deadline = Instant::now() + Duration::from_secs(2);
        while alive(grandchild) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!alive(grandchild), "grandchild {grandchild} of group {leader} outlived the owner");
    }

    #[test]
    fn signal_exit_statuses_follow_the_shell_convention() {
        assert_eq!(exit_status_for_signal(libc::SIGINT), 130);
        assert_eq!(exit_status_for_signal(libc::SIGTERM), 143);
    }
}
