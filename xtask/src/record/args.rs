//! QEMU's record/replay options: what `qemu.rs` adds to a command line. Apart from the rest
//! of `record` (which reads runs through the session), so that QEMU's command line depends
//! on nothing above it.

use std::path::Path;

/// The replay log's file name in a recording.
pub const REPLAY_LOG: &str = "replay.bin";
/// The snapshot image's file name in a recording.
pub const SNAPSHOT: &str = "snapshot.qcow2";

/// Record or replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Record,
    Replay,
}

/// QEMU's options for recording into (or replaying from) the recording directory `dir`
/// (whose path `record::prepare` checked).
pub fn qemu_args(mode: Mode, dir: &Path) -> Vec<String> {
    let rr = match mode {
        Mode::Record => "record",
        Mode::Replay => "replay",
    };
    vec![
        "-icount".into(),
        format!("shift=auto,rr={rr},rrfile={},rrsnapshot=init", dir.join(REPLAY_LOG).display()),
        "-drive".into(),
        format!("file={},if=none,id=rr", dir.join(SNAPSHOT).display()),
        "-net".into(),
        "none".into(),
    ]
}
