//! Child processes the harness owns (QEMU, gdb): each runs in its own process group and is
//! ended (SIGTERM, a grace period, SIGKILL) when its owner drops it, and on SIGINT, SIGTERM
//! or SIGHUP to the xtask.

use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// Process groups alive right now, for the signal handler.
static LIVE_GROUPS: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());
/// The signal that interrupted the xtask (0: none).
static INTERRUPTED_BY: AtomicI32 = AtomicI32::new(0);

const GRACE: Duration = Duration::from_millis(500);

/// A child process in its own process group, ended when dropped.
pub struct OwnedChild {
    child: Child,
    status: Option<ExitStatus>,
}

impl OwnedChild {
    /// Starts `command` in a new process group.
    pub fn spawn(command: &mut Command) -> Result<OwnedChild> {
        command.process_group(0);
        let program = command.get_program().to_string_lossy().into_owned();
        // Register under the lock so a signal arriving now cannot miss the new group.
        let mut groups = LIVE_GROUPS
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let child = command
            .spawn()
            .with_context(|| format!("cannot start `{program}`"))?;
        groups.insert(child.id() as i32);
        Ok(OwnedChild {
            child,
            status: None,
        })
    }

    #[cfg(test)]
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Waits for the child to exit.
    pub fn wait(&mut self) -> Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let status = self
            .child
            .wait()
            .context("cannot wait for a child process")?;
        self.reaped(status);
        Ok(status)
    }

    /// Ends the whole process group: SIGTERM, then SIGKILL after a grace period.
    pub fn terminate(&mut self) -> Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let group = self.child.id() as i32;
        signal_group(group, libc::SIGTERM);
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                // The leader is gone; make sure nothing else of its group lives on.
                signal_group(group, libc::SIGKILL);
                self.reaped(status);
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        signal_group(group, libc::SIGKILL);
        self.wait()
    }

    fn reaped(&mut self, status: ExitStatus) {
        self.status = Some(status);
        LIVE_GROUPS
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .remove(&(self.child.id() as i32));
    }
}

impl Drop for OwnedChild {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.terminate();
        } else {
            // The leader exited by itself; anything it left in its group goes too.
            signal_group(self.child.id() as i32, libc::SIGKILL);
        }
    }
}

fn signal_group(group: i32, signal: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
    unsafe { libc::kill(-group, signal) };
}

/// Ends every live child group: used when the xtask itself is told to stop.
fn terminate_all_groups() {
    let groups: Vec<i32> = LIVE_GROUPS
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
        .iter()
        .copied()
        .collect();
    for group in &groups {
        signal_group(*group, libc::SIGTERM);
    }
    std::thread::sleep(GRACE);
    for group in &groups {
        signal_group(*group, libc::SIGKILL);
    }
}

/// On SIGINT, SIGTERM or SIGHUP: remember the signal and end every child group. The code
/// waiting on those children then sees them exit and winds down, writing what it has.
pub fn install_signal_handlers() -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .context("cannot install signal handlers")?;
    std::thread::spawn(move || {
        for signal in signals.forever() {
            INTERRUPTED_BY.store(signal, Ordering::SeqCst);
            terminate_all_groups();
        }
    });
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Running or sleeping: a zombie (state `Z`) waiting to be reaped counts as ended.
    fn alive(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z'))
        })
    }

    #[test]
    fn dropping_an_owned_child_ends_its_whole_group() {
        // A shell that starts a grandchild in the same group, then waits.
        let mut command = Command::new("sh");
        command
            .args(["-c", "sleep 30 & echo $!; wait"])
            .stdout(std::process::Stdio::piped());
        let mut owned = OwnedChild::spawn(&mut command).unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(owned.child_mut().stdout.take().unwrap()),
            &mut line,
        )
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
        assert!(
            !alive(grandchild),
            "grandchild {grandchild} of group {leader} outlived the owner"
        );
    }

    #[test]
    fn signal_exit_statuses_follow_the_shell_convention() {
        assert_eq!(exit_status_for_signal(libc::SIGINT), 130);
        assert_eq!(exit_status_for_signal(libc::SIGTERM), 143);
    }
}
