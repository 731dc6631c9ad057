//! One QEMU under record or replay, its serial output kept byte for byte (not as lines: a
//! replay is checked against the recording to the last byte, `\r` and all).

use crate::process::OwnedChild;
use crate::qemu::Launch;
use anyhow::{Context, Result};
use std::io::{Read, Write};
use std::process::{ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A running QEMU whose serial output (its stdout) is being collected.
pub struct Capture {
    child: OwnedChild,
    serial: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
}

/// How a captured QEMU ended.
pub struct Captured {
    /// Every byte the guest wrote to its serial port.
    pub serial: Vec<u8>,
    /// QEMU's exit status; None if the deadline passed and the harness ended it.
    pub status: Option<ExitStatus>,
    /// What QEMU said on stderr, trimmed.
    pub stderr: String,
}

impl Capture {
    /// Starts `launch` confined as every QEMU is (its recording directory writable). With `echo`, the serial output is also copied to the terminal as it comes.
    pub fn start(launch: &Launch<'_>, echo: bool) -> Result<Capture> {
        let mut command = launch.command()?;
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child =
            OwnedChild::spawn(&mut command).with_context(|| format!("cannot run QEMU for {}", launch.arch))?;
        let stdout = child.child_mut().stdout.take().context("QEMU's stdout is piped")?;
        let stderr = child.child_mut().stderr.take().context("QEMU's stderr is piped")?;
        let serial = std::thread::spawn(move || read_all(stdout, echo));
        let stderr = std::thread::spawn(move || read_all(stderr, false));
        Ok(Capture { child, serial: Some(serial), stderr: Some(stderr) })
    }

    /// Waits for QEMU to exit, at most `allowed` (forever if None), then ends it.
    pub fn finish(mut self, allowed: Option<Duration>) -> Result<Captured> {
        let deadline = allowed.map(|allowed| Instant::now() + allowed);
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break Some(status);
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) || crate::process::interrupted().is_some() {
                self.child.terminate()?;
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.collect(status)
    }

    /// Whether QEMU has exited.
    pub fn exited(&mut self) -> Result<bool> {
        Ok(self.child.try_wait()?.is_some())
    }

    /// Ends QEMU now (a replay whose debugger left) and returns what it wrote.
    pub fn end(mut self) -> Result<Captured> {
        let status = match self.child.try_wait()? {
            Some(status) => Some(status),
            None => {
                self.child.terminate()?;
                None
            }
        };
        self.collect(status)
    }

    fn collect(&mut self, status: Option<ExitStatus>) -> Result<Captured> {
        let join =
            |handle: Option<JoinHandle<Vec<u8>>>| handle.and_then(|handle| handle.join().ok()).unwrap_or_default();
        let serial = join(self.serial.take());
        let stderr = String::from_utf8_lossy(&join(self.stderr.take())).trim().to_string();
        Ok(Captured { serial, status, stderr })
    }
}

fn read_all(mut pipe: impl Read, echo: bool) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match pipe.read(&mut buffer) {
            Ok(0) => break,
            Ok(count) => {
                all.extend_from_slice(&buffer[..count]);
                if echo {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(&buffer[..count]).and_then(|()| out.flush());
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    all
}
