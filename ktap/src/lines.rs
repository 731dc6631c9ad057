//! Bytes to lines, with bounded memory: what a serial line or a log file gives a reader.
//!
//! A kernel can print anything: no newline for megabytes, binary garbage, a flood that never
//! ends. Lines are cut at [`MAX_LINE`] bytes (the rest of that line is dropped, and the cut
//! is recorded in [`Line::dropped`]), so memory stays bounded whatever arrives.

use std::io::{self, Read};

/// The longest line kept; the rest of a longer line is dropped.
pub const MAX_LINE: usize = 64 * 1024;

/// One line of a stream, without its line terminator (`\n` or `\r\n`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub bytes: Vec<u8>,
    /// Bytes dropped from the end of this line because it was longer than [`MAX_LINE`].
    pub dropped: usize,
    /// The stream ended before this line's newline.
    pub unterminated: bool,
}

impl Line {
    /// A complete line of text.
    pub fn from_text(text: &str) -> Line {
        Line { bytes: text.as_bytes().to_vec(), dropped: 0, unterminated: false }
    }

    /// The line as text, invalid UTF-8 replaced by U+FFFD.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Splits bytes into [`Line`]s as they arrive, in chunks of any size.
///
/// ```
/// let mut splitter = ktap::LineSplitter::default();
/// let mut lines = splitter.push(b"ok 1 a\r\nok 2");
/// lines.extend(splitter.push(b" b\n"));
/// let texts: Vec<String> = lines.iter().map(ktap::Line::text).collect();
/// assert_eq!(texts, ["ok 1 a", "ok 2 b"]);
/// assert!(splitter.finish().is_none());
/// ```
#[derive(Default)]
pub struct LineSplitter {
    current: Vec<u8>,
    dropped: usize,
}

impl LineSplitter {
    /// Feeds a chunk; returns the lines it completed.
    pub fn push(&mut self, mut chunk: &[u8]) -> Vec<Line> {
        let mut lines = Vec::new();
        while let Some(newline) = chunk.iter().position(|byte| *byte == b'\n') {
            self.append(&chunk[..newline]);
            lines.push(self.take(false));
            chunk = &chunk[newline + 1..];
        }
        self.append(chunk);
        lines
    }

    /// The stream ended: the unterminated last line, if any.
    pub fn finish(&mut self) -> Option<Line> {
        (!self.current.is_empty() || self.dropped > 0).then(|| self.take(true))
    }

    /// Bytes held for the line in progress (at most [`MAX_LINE`]).
    pub fn pending(&self) -> usize {
        self.current.len()
    }

    fn append(&mut self, bytes: &[u8]) {
        let room = MAX_LINE - self.current.len();
        let kept = bytes.len().min(room);
        self.current.extend_from_slice(&bytes[..kept]);
        self.dropped = self.dropped.saturating_add(bytes.len() - kept);
    }

    fn take(&mut self, unterminated: bool) -> Line {
        let mut bytes = std::mem::take(&mut self.current);
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        let dropped = std::mem::take(&mut self.dropped);
        Line { bytes, dropped, unterminated }
    }
}

/// Reads `reader` to its end, calling `on_line` for every line as it completes: memory stays
/// bounded whatever the stream's size.
pub fn for_each_line(reader: impl Read, mut on_line: impl FnMut(Line)) -> io::Result<()> {
    for_each_read(reader, |lines| lines.into_iter().for_each(&mut on_line))
}

/// [`for_each_line`], with the lines each read completed handed over together (never none):
/// a reader that passes lines to another thread wakes it once per read, not once per line.
pub fn for_each_read(mut reader: impl Read, mut on_lines: impl FnMut(Vec<Line>)) -> io::Result<()> {
    let mut splitter = LineSplitter::default();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(count) => {
                let lines = splitter.push(&buffer[..count]);
                if !lines.is_empty() {
                    on_lines(lines);
                }
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        }
    }
    if let Some(line) = splitter.finish() {
        on_lines(vec![line]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(chunks: &[&[u8]]) -> Vec<Line> {
        let mut splitter = LineSplitter::default();
        let mut lines: Vec<Line> = chunks.iter().flat_map(|chunk| splitter.push(chunk)).collect();
        lines.extend(splitter.finish());
        lines
    }

    #[test]
    fn splits_across_chunks_and_strips_carriage_returns() {
        let lines = lines_of(&[b"ok 1 a\r\nok 2", b" b\nnot ok", b" 3 c"]);
        let texts: Vec<_> = lines.iter().map(Line::text).collect();
        assert_eq!(texts, ["ok 1 a", "ok 2 b", "not ok 3 c"]);
        assert!(lines[2].unterminated && !lines[1].unterminated);
    }

    #[test]
    fn an_endless_line_is_cut_and_memory_stays_bounded() {
        let mut splitter = LineSplitter::default();
        let megabyte = vec![b'x'; 1024 * 1024];
        for _ in 0..10 {
            assert!(splitter.push(&megabyte).is_empty());
            assert!(splitter.pending() <= MAX_LINE);
        }
        let lines = splitter.push(b"\nnext\n");
        assert_eq!(lines[0].bytes.len(), MAX_LINE);
        assert_eq!(lines[0].dropped, 10 * 1024 * 1024 - MAX_LINE);
        assert_eq!(lines[1].text(), "next");
    }

    #[test]
    fn invalid_utf8_is_kept_as_bytes_and_shown_lossily() {
        let lines = lines_of(&[b"ok 1 \xff\xfe name\n"]);
        assert_eq!(lines[0].bytes, b"ok 1 \xff\xfe name");
        assert_eq!(lines[0].text(), "ok 1 \u{fffd}\u{fffd} name");
    }

    #[test]
    fn empty_input_has_no_lines() {
        assert!(lines_of(&[]).is_empty());
        assert_eq!(lines_of(&[b"\n"]).len(), 1);
    }

    #[test]
    fn a_reader_is_read_to_its_end_line_by_line() {
        let mut texts = Vec::new();
        for_each_line(&b"a\nb\nc"[..], |line| texts.push((line.text(), line.unterminated))).unwrap();
        assert_eq!(texts, [("a".into(), false), ("b".into(), false), ("c".to_string(), true)]);
    }
}
