//! The in-kernel test runner: finds the `#[ktest]` tests in the image, runs the ones the
//! command line selects in name order, and reports each as KTAP version 1 on serial.
//!
//! Tests are registered by the `#[ktest]` attribute as `Test` records in the
//! `.ktest_array` linker section (see `linker-scripts/`); the runner reads the section as
//! a slice. A test that ends the boot (panic, CPU exception) gets its verdict from
//! [`end_running_test`], then the kernel exits with `ExitCode::TestCrashed` and the harness
//! boots again with `ktest.after=NAME` to run the rest.

use core::fmt;

pub use ktest_macros::ktest;

/// Whether a test is expected to panic.
#[repr(C)]
pub enum ShouldPanic {
    No,
    Yes,
    /// It must panic, with a message containing this text.
    WithMessage(&'static str),
}

/// One kernel test, as `#[ktest]` registers it. `repr(C)`: the runner reads an array of
/// these that the linker assembled.
#[repr(C)]
pub struct Test {
    /// `module_path!()` of the test, e.g. `kernel::mm::heap::tests`.
    pub module: &'static str,
    /// The test function's name.
    pub function: &'static str,
    pub run: fn(),
    pub should_panic: ShouldPanic,
    /// `Some(reason)`: reported as skipped, never run.
    pub ignore: Option<&'static str>,
    /// Seconds the harness allows this test; 0 means the harness's default.
    pub timeout_secs: u32,
}

impl Test {
    /// The test's stable name: its module path without the crate, then the function.
    pub fn name(&self) -> TestName<'_> {
        TestName(self)
    }
}

pub struct TestName<'t>(&'t Test);

impl fmt::Display for TestName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let module = self.0.module;
        match module.split_once("::") {
            Some((_crate, rest)) => write!(f, "{rest}::{}", self.0.function),
            None => f.write_str(self.0.function),
        }
    }
}

/// What rustc's `--test` harness calls (never, here: the kernel's entry is its boot code).
/// The tests themselves are `#[ktest]`s, found in `.ktest_array`.
#[cfg(test)]
pub fn rustc_test_harness(_tests: &[&dyn Fn()]) {}

/// Marks an image built by `cargo test` (its `.kernel_cargo_test` section): cargo's runner
/// then runs its tests and answers the libtest protocol (`cargo xtask cargo-runner`).
#[cfg(test)]
#[used(linker)]
#[unsafe(link_section = ".kernel_cargo_test")]
static BUILT_BY_CARGO_TEST: [u8; 1] = [1];

/// How a test ended the boot.
pub enum Crash<'a, 'p> {
    Panic(&'a core::panic::PanicInfo<'p>),
    Fault,
}

#[cfg(any(test, feature = "ktest"))]
mod runner;

#[cfg(any(test, feature = "ktest"))]
pub use runner::{attempt, end_running_test, run};

#[cfg(not(any(test, feature = "ktest")))]
pub fn run(_request: &kernel_abi::cmdline::Request<'_>) -> ! {
    println!("# this image has no tests: build it with the `ktest` feature (`cargo xtask test`)");
    crate::arch::exit(crate::ExitCode::Panic)
}

#[cfg(not(any(test, feature = "ktest")))]
pub fn end_running_test(_crash: Crash<'_, '_>) {}
