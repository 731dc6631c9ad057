//! A small client of the GDB remote serial protocol, for QEMU's GDB server: enough to stop
//! the guest at a symbol, read its memory and let it go on.
//!
//! Only what coverage needs: acks (or no-ack mode where offered), hardware breakpoints (`Z1`), continue, interrupt,
//! memory reads in packets of the size the server announces, kill. (The `gdbstub` crate the
//! kernel uses is the other side of this protocol.)

use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

pub struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
    /// The server wants each of its packets acknowledged (`+`): QEMU 7.2 refuses no-ack
    /// mode after `qSupported`.
    acks: bool,
    /// The most bytes of memory one `m` packet asks for.
    read_chunk: usize,
}

/// What a stop reply says.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// The guest stopped (a breakpoint, or an interrupt), with the reply's text.
    Stopped(String),
    /// QEMU ended (`W`/`X`), or closed the connection.
    Ended,
}

fn checksum(body: &[u8]) -> u8 {
    body.iter().fold(0u8, |sum, byte| sum.wrapping_add(*byte))
}

/// `$body#xx`.
pub fn packet(body: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 4);
    out.push(b'$');
    out.extend_from_slice(body.as_bytes());
    out.extend_from_slice(format!("#{:02x}", checksum(body.as_bytes())).as_bytes());
    out
}

/// The first whole packet in `buffer`: its body and the bytes it took (acks and noise before
/// it included); None if more bytes are needed.
pub fn take_packet(buffer: &[u8]) -> Option<(Vec<u8>, usize)> {
    let start = buffer.iter().position(|byte| *byte == b'$')?;
    let end = start + buffer[start..].iter().position(|byte| *byte == b'#')?;
    (buffer.len() >= end + 3).then(|| (buffer[start + 1..end].to_vec(), end + 3))
}

impl Connection {
    /// Connects to the server at 127.0.0.1:`port`, trying for `patience` while QEMU starts.
    pub fn connect(port: u16, patience: Duration) -> Result<Connection> {
        let deadline = Instant::now() + patience;
        let stream = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(stream) => break stream,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                Err(error) => {
                    return Err(error).with_context(|| format!("cannot reach QEMU's GDB server on 127.0.0.1:{port}"));
                }
            }
        };
        stream.set_nodelay(true)?;
        let mut connection = Connection { stream, buffer: Vec::new(), acks: true, read_chunk: 512 };
        let supported = connection.request("qSupported:swbreak+;hwbreak+")?;
        if let Some(size) = supported.split(';').find_map(|feature| feature.strip_prefix("PacketSize=")) {
            // Hex bytes per packet; a memory reply is hex, two characters a byte.
            let size = usize::from_str_radix(size, 16).unwrap_or(1024);
            connection.read_chunk = (size.saturating_sub(16) / 2).clamp(64, 64 * 1024);
        }
        if connection.request("QStartNoAckMode")? == "OK" {
            connection.acks = false;
        }
        Ok(connection)
    }

    fn send(&mut self, body: &str) -> Result<()> {
        self.stream.write_all(&packet(body)).context("cannot write to QEMU's GDB server")
    }

    /// The next packet from the server, waiting at most `timeout` (forever if None).
    fn receive(&mut self, timeout: Option<Duration>) -> Result<Option<String>> {
        self.stream.set_read_timeout(timeout)?;
        loop {
            if let Some((body, used)) = take_packet(&self.buffer) {
                self.buffer.drain(..used);
                if self.acks {
                    self.stream.write_all(b"+").context("cannot write to QEMU's GDB server")?;
                }
                return Ok(Some(String::from_utf8_lossy(&body).into_owned()));
            }
            let mut chunk = [0u8; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => bail!("QEMU's GDB server closed the connection"),
                Ok(count) => {
                    self.buffer.extend_from_slice(&chunk[..count]);
                    // Before no-ack mode the server acks with `+`; nothing to do with them.
                }
                Err(error) if matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    return Ok(None);
                }
                Err(error) => return Err(error).context("cannot read from QEMU's GDB server"),
            }
        }
    }

    /// Sends a packet and waits for its reply.
    fn request(&mut self, body: &str) -> Result<String> {
        self.send(body)?;
        self.receive(Some(Duration::from_secs(30)))?.context("QEMU's GDB server did not answer")
    }

    /// A hardware breakpoint at `address` (`kind`: the instruction size gdb would give).
    pub fn break_at(&mut self, address: u64, kind: u8) -> Result<()> {
        match self.request(&format!("Z1,{address:x},{kind}"))?.as_str() {
            "OK" => Ok(()),
            reply => bail!("QEMU's GDB server refused a breakpoint at {address:#x}: `{reply}`"),
        }
    }

    /// Removes the hardware breakpoint at `address`.
    pub fn unbreak_at(&mut self, address: u64, kind: u8) -> Result<()> {
        match self.request(&format!("z1,{address:x},{kind}"))?.as_str() {
            "OK" => Ok(()),
            reply => bail!("QEMU's GDB server did not remove the breakpoint at {address:#x}: `{reply}`"),
        }
    }

    /// Runs one instruction and waits for the stop after it (or QEMU's end).
    pub fn step(&mut self) -> Result<Stop> {
        self.send("s")?;
        Ok(self.wait_stop(Duration::from_secs(10))?.unwrap_or(Stop::Ended))
    }

    /// Lets the guest run; the stop comes later through [`Connection::wait_stop`].
    pub fn resume(&mut self) -> Result<()> {
        self.send("c")
    }

    /// Stops a running guest (the stop reply follows).
    pub fn interrupt(&mut self) -> Result<()> {
        self.stream.write_all(&[0x03]).context("cannot interrupt through QEMU's GDB server")
    }

    /// Waits up to `timeout` for the guest to stop; None if it is still running.
    pub fn wait_stop(&mut self, timeout: Duration) -> Result<Option<Stop>> {
        match self.receive(Some(timeout)) {
            Ok(Some(reply)) if reply.starts_with('W') || reply.starts_with('X') => Ok(Some(Stop::Ended)),
            Ok(Some(reply)) => Ok(Some(Stop::Stopped(reply))),
            Ok(None) => Ok(None),
            Err(_) => Ok(Some(Stop::Ended)),
        }
    }

    /// `length` bytes of guest memory at `address` (as the stopped CPU sees it).
    pub fn read_memory(&mut self, address: u64, length: usize) -> Result<Vec<u8>> {
        let mut memory = Vec::with_capacity(length);
        while memory.len() < length {
            let at = address + memory.len() as u64;
            let size = self.read_chunk.min(length - memory.len());
            let reply = self.request(&format!("m{at:x},{size:x}"))?;
            let bytes = decode_hex(&reply)
                .filter(|bytes| !bytes.is_empty())
                .with_context(|| format!("cannot read guest memory at {at:#x}: `{reply}`"))?;
            memory.extend_from_slice(&bytes);
        }
        memory.truncate(length);
        Ok(memory)
    }

    /// Ends QEMU.
    pub fn kill(&mut self) {
        let _ = self.send("k");
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.starts_with('E') && text.len() == 3 {
        return None;
    }
    (0..text.len()).step_by(2).map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_carry_their_checksum_and_are_found_among_acks() {
        assert_eq!(packet("QStartNoAckMode"), b"$QStartNoAckMode#b0");
        let (body, used) = take_packet(b"+$OK#9a$T05").unwrap();
        assert_eq!((body.as_slice(), used), (&b"OK"[..], 7));
        assert_eq!(take_packet(b"$T05thread:01;#0"), None, "a checksum not yet complete");
    }

    #[test]
    fn memory_replies_decode_and_errors_do_not() {
        assert_eq!(decode_hex("00ff10"), Some(vec![0, 0xff, 0x10]));
        assert_eq!(decode_hex("E14"), None);
        assert_eq!(decode_hex("abc"), None);
    }
}
