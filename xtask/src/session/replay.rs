//! Reading a saved log back into events: a serial log (`<arch>.serial.log`, with the
//! harness's markers), a merged KTAP document (`<arch>.ktap`), or any KTAP stream. The
//! lines go through the same [`Session`] as a live run's, read as they stream (memory stays
//! bounded whatever the log's size).

use super::{Marker, Session, Sources};
use crate::events::Event;
use std::io::Read;
use std::path::Path;

/// What a replay learned about its source besides the events.
#[derive(Debug, Default)]
pub struct ReplaySource {
    /// The arch the log says it is of (its first `arch` marker).
    pub arch: Option<String>,
    /// Lines read.
    pub lines: usize,
}

/// Replays `reader`, handing each event to `on_event` as it is made. Backtraces are
/// symbolized with the image the log's boot markers name, if its build-id matches.
pub fn replay_reader(
    reader: impl Read,
    sources: Sources,
    mut on_event: impl FnMut(Event),
) -> std::io::Result<ReplaySource> {
    let mut session = Session::new(sources);
    let mut log = LogReader::default();
    ktap::for_each_line(reader, |line| log.line(&mut session, line).into_iter().for_each(&mut on_event))?;
    session.end_of_stream().into_iter().for_each(&mut on_event);
    Ok(log.source)
}

/// Reads a serial log's lines, one at a time, into a session: the harness's markers, and the
/// serial lines between them with what the log recorded of each beyond its bytes.
#[derive(Default)]
pub struct LogReader {
    pub source: ReplaySource,
    /// A `next line:` marker's record (bytes dropped, unterminated), for the line right after
    /// it only.
    next_line: Option<(usize, bool)>,
}

impl LogReader {
    /// One line of the log: the events it makes.
    pub fn line(&mut self, session: &mut Session, mut line: ktap::Line) -> Vec<Event> {
        self.source.lines += 1;
        let marker = Marker::parse(&String::from_utf8_lossy(&line.bytes));
        let recorded = self.next_line.take();
        match marker {
            Some(Marker::NextLine { dropped, unterminated }) => {
                self.next_line = Some((dropped, unterminated));
                Vec::new()
            }
            Some(Marker::Serial { text }) => {
                let mut line = ktap::Line::from_text(&text);
                (line.dropped, line.unterminated) = recorded.unwrap_or_default();
                session.line(&line)
            }
            Some(marker) => {
                if let Marker::Arch { arch, .. } = &marker {
                    self.source.arch.get_or_insert_with(|| arch.clone());
                }
                session.marker(&marker)
            }
            None => {
                (line.dropped, line.unterminated) = recorded.unwrap_or((line.dropped, line.unterminated));
                session.line(&line)
            }
        }
    }
}

/// Replays a whole log held in memory (tests, fuzzing): its events.
pub fn replay_file(bytes: &[u8], source_root: &Path) -> Vec<Event> {
    let mut events = Vec::new();
    let sources = Sources::from(source_root.to_path_buf());
    replay_reader(bytes, sources, |event| events.push(event)).expect("reading from memory cannot fail");
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truncation_noted(log: &[u8]) -> bool {
        let events = replay_file(log, Path::new("/"));
        let finding = |event: &Event| format!("{event:?}").contains("TruncatedLine");
        events.iter().any(finding)
    }

    #[test]
    fn a_next_line_marker_describes_the_line_right_after_it_only() {
        // The log ends in the middle of a line: a note says so.
        assert!(truncation_noted(b"KTAP version 1\n1..1\nok 1 a"));
        // A `next line:` record before another marker does not reach the last line.
        assert!(truncation_noted(b"KTAP version 1\n1..1\n# xtask: next line:\n# xtask: fail-fast after a\nok 1 a"));
        // It does describe the line right after it.
        assert!(truncation_noted(b"KTAP version 1\n1..1\n# xtask: next line: unterminated\nok 1 a\n"));
        assert!(!truncation_noted(b"KTAP version 1\n1..1\n# xtask: next line:\nok 1 a"));
    }
}
