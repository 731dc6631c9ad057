//! Fuzz target: the kernel command line: no panic, and what it accepts round-trips. The body is `xtask::fuzzing::kernel_cmdline`, which
//! the regression test (`xtask/tests/fuzz_regressions.rs`) runs on every saved crash too.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xtask::fuzzing::kernel_cmdline(data));
