//! End-to-end tests: the real `cargo xtask` binary, the real QEMU, all three architectures.
//!
//! Each test holds a global lock while it runs, so one QEMU-using command runs at a time and
//! the check that no QEMU outlived a command (read from the process table, not inferred from
//! exit statuses) is meaningful.

mod boot;
mod cargo_native;
mod consistency;
mod coverage;
mod debugger;
mod edges;
mod faults;
mod gdbstub;
mod harness;
mod hostile;
mod kernel_tests;
mod kernels;
mod libtest_flags;
mod reproducible;
mod scale;
mod security;
mod setup;
mod small_errors;
mod time_travel;
