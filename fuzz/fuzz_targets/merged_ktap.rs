//! Fuzz target: `cargo xtask report` of a KTAP document, through every reporter. The body is `xtask::fuzzing::merged_ktap`, which
//! the regression test (`xtask/tests/fuzz_regressions.rs`) runs on every saved crash too.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xtask::fuzzing::merged_ktap(data));
