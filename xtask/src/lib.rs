//! The xtask's library: everything behind `cargo xtask`, so that the fuzz targets and the
//! tests can reach the pieces (the KTAP parser above all) without the command line.

pub mod arch;
pub mod build;
pub mod commands;
pub mod debugger;
pub mod exit;
pub mod fsutil;
pub mod ktap;
pub mod process;
pub mod qemu;
pub mod report;
pub mod runner;
pub mod serial;
pub mod session;
pub mod symbolize;
#[cfg(test)]
mod testutil;
pub mod tools;
pub mod workspace;
