//! Reading a pipe whose writer writes a few bytes at a time, in gathered chunks.
//!
//! QEMU writes its emulated UART's output to the serial pipe a byte (or a FIFO's worth) per
//! `write`, so a reader that is always waiting wakes for every few bytes: measured on a run
//! of 10,000 tests on riscv64, 160,000 context switches of the reader thread and as many
//! preemptions of QEMU's, 2.5 s of CPU besides the guest's on a two-core machine. After a
//! read that did not fill its buffer, [`Gathered`] waits [`PAUSE`] before the next, so the
//! bytes gather in the pipe (64 KiB) and a read takes them all: at most 250 reads a second
//! while output trickles, none held back while it floods (a full buffer reads on at once).
//! Each read wakes the boot loop and the reporters after it: at 1 ms the 10,020-test riscv64
//! run with `--jobs 2` still made 13,000-18,000 context switches of the xtask and took 2.9 s
//! (median of 6); at 4 ms, 6,500 and 2.7 s (2026-12-03). A few milliseconds are nothing
//! against a test's timeout (a boot's end is read at most two pauses late).

use std::io::{self, Read};
use std::time::Duration;

/// How long a reader waits after a short read.
pub const PAUSE: Duration = Duration::from_millis(4);

/// A reader that pauses after each short read (see the module's documentation).
pub struct Gathered<R> {
    inner: R,
    pause: bool,
}

impl<R: Read> Gathered<R> {
    pub fn new(inner: R) -> Gathered<R> {
        Gathered { inner, pause: false }
    }
}

impl<R: Read> Read for Gathered<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if self.pause {
            std::thread::sleep(PAUSE);
        }
        let count = self.inner.read(buffer)?;
        self.pause = count < buffer.len();
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_arrives_in_order_whatever_the_chunks() {
        let bytes: Vec<u8> = (0..=255).cycle().take(100_000).collect();
        let mut read = Vec::new();
        Gathered::new(&bytes[..]).read_to_end(&mut read).unwrap();
        assert_eq!(read, bytes);
    }

    #[test]
    fn it_pauses_only_after_a_short_read() {
        let mut reader = Gathered::new(&[1u8, 2, 3][..]);
        let mut buffer = [0u8; 2];
        assert_eq!(reader.read(&mut buffer).unwrap(), 2);
        assert!(!reader.pause, "a full buffer reads on at once");
        assert_eq!(reader.read(&mut buffer).unwrap(), 1);
        assert!(reader.pause, "a short read waits for more to gather");
    }
}
