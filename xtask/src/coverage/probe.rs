//! One boot's coverage probe: attached to QEMU's GDB server for the whole boot, it stops the
//! guest at the kernel's checkpoints (`ktest_checkpoint_test` after each test,
//! `ktest_checkpoint_exit` before the kernel exits), reads the counters and lets it go on; on
//! a hang the runner asks it to interrupt the guest and read them one last time before QEMU is
//! ended. Nothing the guest does can keep its counters from being read, short of QEMU itself
//! ending (a triple fault, a kill from outside): that boot's counters are then lost, and said so.

use super::rsp::{Connection, Stop};
use anyhow::Result;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::Duration;

/// A counter snapshot's difference from the one before: (counter index, increase), nonzero only.
pub type Delta = Vec<(u32, u64)>;

/// What a boot's probe read.
#[derive(Debug, Default)]
pub struct BootCounters {
    /// At each stop, the increase since the stop before (the first: since the boot began).
    pub deltas: Vec<Delta>,
    /// The counters at the last stop: the boot's total.
    pub last: Option<Vec<u64>>,
    /// Why no counters came out, if none did.
    pub lost: Option<String>,
}

/// Where the guest is stopped and what it reads.
#[derive(Clone, Debug)]
pub struct Plan {
    pub port: u16,
    /// Addresses to stop at.
    pub checkpoints: Vec<u64>,
    pub counters_address: u64,
    pub counters_size: usize,
}

pub struct Probe {
    interrupt: Sender<()>,
    /// Told when the counters were read after an interrupt.
    read: Receiver<()>,
    thread: JoinHandle<BootCounters>,
}

impl Probe {
    /// Attaches to the paused QEMU of `plan.port`, sets the checkpoints and lets it run.
    pub fn start(plan: Plan) -> Probe {
        let (interrupt, requests) = mpsc::channel();
        let (done, read) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let mut counters = BootCounters::default();
            let result = watch(&plan, &requests, &mut counters);
            let _ = done.send(());
            if let Err(error) = result {
                counters.lost.get_or_insert(format!("{error:#}"));
            }
            if counters.last.is_none() {
                counters.lost.get_or_insert("QEMU ended before the kernel's exit checkpoint".to_string());
            }
            counters
        });
        Probe { interrupt, read, thread }
    }

    /// The guest hangs and QEMU is about to be ended: reads the counters now, waiting at most
    /// `patience` for them.
    pub fn interrupt(&self, patience: Duration) {
        if self.interrupt.send(()).is_ok() {
            let _ = self.read.recv_timeout(patience);
        }
    }

    /// The boot is over: what the probe read.
    pub fn finish(self) -> BootCounters {
        drop(self.interrupt);
        self.thread.join().unwrap_or_else(|_| BootCounters {
            lost: Some("the coverage probe failed".into()),
            ..BootCounters::default()
        })
    }
}

fn watch(plan: &Plan, requests: &Receiver<()>, counters: &mut BootCounters) -> Result<()> {
    let mut gdb = Connection::connect(plan.port, Duration::from_secs(10))?;
    for address in &plan.checkpoints {
        gdb.break_at(*address, 1)?;
    }
    let mut previous = vec![0u64; plan.counters_size / 8];
    gdb.resume()?;
    loop {
        let interrupted = match requests.try_recv() {
            Ok(()) => {
                gdb.interrupt()?;
                true
            }
            Err(TryRecvError::Empty) => false,
            // The runner is done with this boot: QEMU is gone or going.
            Err(TryRecvError::Disconnected) => return Ok(()),
        };
        let wait = if interrupted { Duration::from_secs(5) } else { Duration::from_millis(20) };
        match gdb.wait_stop(wait)? {
            None => continue,
            Some(Stop::Ended) => return Ok(()),
            Some(Stop::Stopped(_)) => {
                let bytes = gdb.read_memory(plan.counters_address, plan.counters_size)?;
                let now = super::profraw::counters_of(&bytes);
                counters.deltas.push(delta(&previous, &now));
                counters.last = Some(now.clone());
                previous = now;
                if interrupted {
                    gdb.kill();
                    return Ok(());
                }
                // Stopped on a checkpoint: QEMU would stop there again at once, so step past it
                // with the checkpoints out of the way, as gdb does.
                for address in &plan.checkpoints {
                    gdb.unbreak_at(*address, 1)?;
                }
                if gdb.step()? == Stop::Ended {
                    return Ok(());
                }
                for address in &plan.checkpoints {
                    gdb.break_at(*address, 1)?;
                }
                gdb.resume()?;
            }
        }
    }
}

/// `now - before`, nonzero entries only (counters only grow within a boot).
pub fn delta(before: &[u64], now: &[u64]) -> Delta {
    now.iter()
        .zip(before)
        .enumerate()
        .filter(|(_, (now, before))| now > before)
        .map(|(index, (now, before))| (index as u32, now - before))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_delta_keeps_only_what_grew() {
        assert_eq!(super::delta(&[1, 5, 0, 7], &[1, 8, 2, 7]), [(1, 3), (2, 2)]);
    }
}
