//! The one boot loop: start QEMU, hand each serial line to the caller (who may move the
//! deadline), and say how the boot ended. `test`, `--list` and `run` all boot through it.

use crate::events::BootEnd;
use crate::qemu::{Launch, Next, RunningQemu};
use anyhow::Result;
use ktap::Line;
use std::time::{Duration, Instant};

/// When the boot is ended for want of progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deadline {
    /// This long after now.
    After(Duration),
    /// Never (a kernel stopped for a debugger waits as long as the person does).
    Never,
    /// As it was.
    Keep,
    /// End the boot now (`--fail-fast`): QEMU is ended and the boot reports
    /// [`BootEnd::Stopped`].
    StopNow,
}

/// How a boot ended.
pub struct Ended {
    pub end: BootEnd,
    /// What QEMU printed on stderr (its last bytes), trimmed.
    pub stderr: String,
}

/// Boots `launch` and feeds each serial line to `on_line` until QEMU exits or the deadline
/// passes (then QEMU is ended and the boot times out). The xtask being interrupted ends
/// QEMU too, and the boot reports the signal.
pub fn boot(launch: &Launch<'_>, first: Deadline, on_line: impl FnMut(Line) -> Result<Deadline>) -> Result<Ended> {
    boot_watched(launch, first, on_line, || {}, || {})
}

/// [`boot`], with `on_wait` called before the loop waits for more serial lines (the caller
/// passes on what the lines so far made, a read's worth at a time), and `on_timeout` before
/// QEMU is ended for want of progress (to read the guest's state while it still exists).
pub fn boot_watched(
    launch: &Launch<'_>,
    first: Deadline,
    mut on_line: impl FnMut(Line) -> Result<Deadline>,
    mut on_wait: impl FnMut(),
    on_timeout: impl FnOnce(),
) -> Result<Ended> {
    let mut qemu = RunningQemu::start(launch)?;
    let mut allowed = match first {
        Deadline::After(duration) => Some(duration),
        Deadline::Never | Deadline::Keep | Deadline::StopNow => None,
    };
    let mut deadline = allowed.map(|allowed| Instant::now() + allowed);
    let end = loop {
        if !qemu.has_received() {
            on_wait();
        }
        match qemu.next_line(deadline) {
            Next::Line(line) => match on_line(line)? {
                Deadline::After(duration) => {
                    allowed = Some(duration);
                    deadline = Some(Instant::now() + duration);
                }
                Deadline::Never => deadline = None,
                Deadline::Keep => {}
                Deadline::StopNow => {
                    qemu.kill()?;
                    break BootEnd::Stopped;
                }
            },
            Next::Ended => {
                let status = qemu.wait()?;
                break match crate::process::interrupted() {
                    Some(signal) => BootEnd::Interrupted { signal },
                    None => BootEnd::Exited(launch.arch.exit_protocol.decode(status)),
                };
            }
            Next::TimedOut => {
                on_timeout();
                qemu.kill()?;
                break BootEnd::TimedOut { seconds: allowed.unwrap_or_default().as_secs() };
            }
        }
    };
    Ok(Ended { end, stderr: qemu.stderr_text() })
}
