//! An arch's serial log: every serial line as the kernel printed it, and the harness's
//! markers between them; capped, so a kernel that floods its serial line cannot fill the
//! disk (the harness's own markers are always written).

use crate::session::marker::Marker;
use anyhow::{Context, Result};
use ktap::Line;
use std::io::Write;
use std::path::Path;

/// The most serial output kept per arch and run.
pub const CAP: u64 = 32 << 20;

pub struct SerialLog {
    file: std::io::BufWriter<std::fs::File>,
    written: u64,
}

impl SerialLog {
    pub fn create(path: &Path) -> Result<SerialLog> {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create the serial log `{}`", path.display()))?;
        Ok(SerialLog { file: std::io::BufWriter::new(file), written: 0 })
    }

    /// Writes one serial line; true if this line reached the cap (say so once).
    pub fn line(&mut self, line: &Line) -> std::io::Result<bool> {
        let before = self.written;
        self.written = self.written.saturating_add(line.bytes.len() as u64 + 1);
        if self.written > CAP {
            return Ok(before <= CAP);
        }
        crate::session::marker::write_serial_line(&mut self.file, line)?;
        Ok(false)
    }

    pub fn marker(&mut self, marker: &Marker) -> std::io::Result<()> {
        writeln!(self.file, "{marker}")
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}
