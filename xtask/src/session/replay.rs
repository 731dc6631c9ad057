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
    let mut source = ReplaySource::default();
    // What the log recorded of the next serial line beyond its bytes.
    let mut next_line = None;
    ktap::for_each_line(reader, |mut line| {
        source.lines += 1;
        let marker = Marker::parse(&String::from_utf8_lossy(&line.bytes));
        if let Some(Marker::NextLine { dropped, unterminated }) = marker {
            next_line = Some((dropped, unterminated));
            return;
        }
        let events = match marker {
            Some(Marker::Serial { text }) => {
                let mut line = ktap::Line::from_text(&text);
                (line.dropped, line.unterminated) = next_line.take().unwrap_or_default();
                session.line(&line)
            }
            Some(marker) => {
                if let Marker::Arch { arch, .. } = &marker {
                    source.arch.get_or_insert_with(|| arch.clone());
                }
                session.marker(&marker)
            }
            None => {
                (line.dropped, line.unterminated) = next_line.take().unwrap_or((line.dropped, line.unterminated));
                session.line(&line)
            }
        };
        events.into_iter().for_each(&mut on_event);
    })?;
    session.end_of_stream().into_iter().for_each(&mut on_event);
    Ok(source)
}

/// Replays a whole log held in memory (tests, fuzzing): its events.
pub fn replay_file(bytes: &[u8], source_root: &Path) -> Vec<Event> {
    let mut events = Vec::new();
    let sources = Sources::from(source_root.to_path_buf());
    replay_reader(bytes, sources, |event| events.push(event)).expect("reading from memory cannot fail");
    events
}
