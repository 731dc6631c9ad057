//! Fuzz target: backtrace addresses against a small ELF with DWARF. The body is `xtask::fuzzing::symbolize`, which
//! the regression test (`xtask/tests/fuzz_regressions.rs`) runs on every saved crash too.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xtask::fuzzing::symbolize(data));
