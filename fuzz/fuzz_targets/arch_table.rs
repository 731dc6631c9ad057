//! Fuzz target: a `targets/<arch>.toml` description. The body is `xtask::fuzzing::arch_table`, which
//! the regression test (`xtask/tests/fuzz_regressions.rs`) runs on every saved crash too.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xtask::fuzzing::arch_table(data));
