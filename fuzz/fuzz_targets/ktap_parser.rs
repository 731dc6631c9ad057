//! Any bytes, split into lines as the serial reader does, through the KTAP parser and the
//! session that turns it into verdicts: nothing may panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use xtask::serial::LineSplitter;
use xtask::session::{self, BootEnd};

fuzz_target!(|data: &[u8]| {
    // The replay path covers the parser, the session and the harness markers.
    let _ = session::replay(data, None);

    // The live path: arbitrary chunking, then a boot ending.
    let mut splitter = LineSplitter::default();
    let mut live = session::Session::new();
    live.begin_boot(1, false);
    for chunk in data.chunks(7) {
        for line in splitter.push(chunk) {
            let _ = live.line(&line);
        }
    }
    if let Some(line) = splitter.finish() {
        let _ = live.line(&line);
    }
    let _ = live.end_boot(BootEnd::TimedOut { seconds: 1 });
});
