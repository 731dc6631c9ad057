//! Fuzz target: the libtest arguments the cargo runner accepts. The body is `xtask::fuzzing::libtest_args`, which
//! the regression test (`xtask/tests/fuzz_regressions.rs`) runs on every saved crash too.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xtask::fuzzing::libtest_args(data));
