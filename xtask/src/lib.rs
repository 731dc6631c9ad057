//! The xtask's library: everything behind `cargo xtask`, so that the fuzz targets and the
//! tests can reach the pieces (the session and its event stream above all) without the
//! command line.

pub mod arch;
pub mod build;
pub mod commands;
pub mod confine;
pub mod coverage;
pub mod debugger;
pub mod events;
pub mod exit;
pub mod fsutil;
#[doc(hidden)]
pub mod fuzzing;
pub mod gathered;
pub mod json_object;
pub mod kernel_package;
pub mod listen;
pub mod plan;
pub mod process;
pub mod qemu;
pub mod record;
pub mod report;
pub mod runner;
pub mod runs;
pub mod sandbox;
pub mod session;
pub mod summary;
pub mod symbolize;
pub mod test_cpus;
#[cfg(test)]
mod testutil;
pub mod tools;
pub mod ui;
pub mod workflow;
pub mod workspace;
