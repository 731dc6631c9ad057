//! Fuzz target: serial bytes, live in arbitrary chunks and replayed: same events. The body is `xtask::fuzzing::serial_stream`, which
//! the regression test (`xtask/tests/fuzz_regressions.rs`) runs on every saved crash too.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xtask::fuzzing::serial_stream(data));
