//! `ktest`: a `no_std` test framework for kernels, whose tests run inside the kernel and
//! report as KTAP (the format of Linux's KUnit) on the console, where `cargo xtask test`
//! reads them.
//!
//! # Writing tests, in any crate
//!
//! ```ignore
//! #[cfg(feature = "ktest")]
//! mod tests {
//!     use ktest::ktest;
//!
//!     #[ktest]
//!     fn adds() { assert_eq!(1 + 1, 2); }
//!
//!     #[ktest(should_panic = "out of range", timeout = 30)]
//!     fn rejects() { /* ... */ }
//!
//!     #[ktest(ignore = "not yet", arch = "x86_64")]
//!     fn later() {}
//!
//!     #[ktest(cpus = 4)]
//!     fn on_four_cpus() { let _cpu = ktest::current_cpu(); /* runs on CPUs 0..4 at once */ }
//! }
//! ```
//!
//! The crate depends on `ktest` and declares a `ktest` feature (`[features] ktest = []`):
//! `#[ktest]` compiles a test only under `cfg(any(test, feature = "ktest"))` of the crate
//! it is in. The kernel's own `ktest` feature turns on the `ktest` feature of every crate
//! with tests (`ktest = ["mm/ktest", ...]`); a normal image then carries none. A test's
//! name is its module path and function, crate first: `mm::tests::heap_grows`.
//!
//! # What a kernel provides, once
//!
//! ```ignore
//! struct Platform;
//!
//! impl ktest::Platform for Platform {
//!     fn console_write(&self, bytes: &[u8]) { arch::console_write(bytes) }
//!     fn exit(&self, code: ktest::ExitCode) -> ! { arch::exit(code) }
//!     fn ticks(&self) -> u64 { arch::ticks() }
//!     fn ticks_per_second(&self) -> Option<core::num::NonZeroU64> { arch::ticks_per_second() }
//! }
//!
//! fn kernel_main(cmdline: &str) -> ! {
//!     let request = ktest::Request::parse(cmdline).expect("a valid command line");
//!     if request.run_tests || request.list {
//!         ktest::run(&Platform, &request); // runs what the command line selects, then exits
//!     }
//!     // ... the kernel's normal work
//! }
//!
//! #[panic_handler]
//! fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
//!     // print `# panicked at ...` (a KTAP diagnostic), then:
//!     ktest::end_running_test(ktest::Crash::Panic(info)); // a test's verdict, and exit
//!     arch::exit(ktest::ExitCode::Panic)
//! }
//! ```
//!
//! and, in its linker script, the section the tests are collected in and the image's build-id
//! (linked with `--build-id`; the runner prints it so that the harness symbolizes a saved log
//! only with the image that made it):
//!
//! ```text
//! .ktest_array : ALIGN(8) { __ktest_start = .; KEEP(*(.ktest_array)) __ktest_end = .; }
//! .note.gnu.build-id : ALIGN(4) { __build_id_start = .; KEEP(*(.note.gnu.build-id)) __build_id_end = .; }
//! ```
//!
//! plus a global allocator (the runner sorts the tests by name). A fatal CPU exception's
//! path calls `end_running_test(Crash::Fault)` the same way. A crashed test gets its
//! verdict there. After a panic, a kernel whose platform [`recovers`](Platform::recovers)
//! (the arch's `call_with_recovery`/`abandon`) has the test abandoned and the runner goes
//! on with the next test in the same boot. A fault, or a panic without recovery, ends the
//! boot with [`ExitCode::TestCrashed`]; the harness boots again with `ktest.after=NAME` to
//! run the rest.

#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod build_id;
mod console;
mod registry;
mod runner;
mod select;

pub use kernel_abi::ExitCode;
pub use kernel_abi::cmdline::Request;
pub use ktest_macros::ktest;
pub use runner::{attempt, current_cpu, end_running_test, run};

use core::fmt;
use core::num::NonZeroU64;

/// What the test runner needs from the kernel it runs in.
pub trait Platform: Sync {
    /// Writes to the console the harness reads (the boot serial line).
    fn console_write(&self, bytes: &[u8]);
    /// Ends the boot, carrying `code` to the harness (an exit device, semihosting, ...).
    fn exit(&self, code: ExitCode) -> !;
    /// A free-running counter, for each test's duration.
    fn ticks(&self) -> u64;
    /// The counter's frequency, if known (no durations are reported otherwise).
    fn ticks_per_second(&self) -> Option<NonZeroU64>;

    /// Whether [`Platform::call_recoverable`] and [`Platform::abandon_test`] work: then a
    /// panicking test is abandoned and the next one runs in the same boot; otherwise the
    /// panic ends the boot with [`ExitCode::TestCrashed`] (the harness boots again).
    fn recovers(&self) -> bool {
        false
    }

    /// Calls `function(argument)`; returns false when it returned, true when
    /// [`Platform::abandon_test`] was called inside it (the panic path does).
    fn call_recoverable(&self, function: extern "C" fn(*mut u8), argument: *mut u8) -> bool {
        function(argument);
        false
    }

    /// From inside a panicking test: resets what the test may have left behind (the
    /// console's lock, interrupts, the timer) and returns from its `call_recoverable` with
    /// true.
    fn abandon_test(&self) -> ! {
        self.exit(ExitCode::TestCrashed)
    }

    /// The CPUs a test may run on at once (`#[ktest(cpus = N)]`); a test that wants more is
    /// skipped.
    fn cpu_count(&self) -> usize {
        1
    }

    /// The CPU this runs on, 0 for the one the runner runs on.
    fn cpu_id(&self) -> usize {
        0
    }

    /// Starts CPU `cpu` (1..cpu_count()) on `entry(cpu)`; the CPU stops when `entry`
    /// returns. False if it cannot.
    fn start_cpu(&self, _cpu: usize, _entry: extern "C" fn(usize)) -> bool {
        false
    }

    /// Bytes of heap in use, if the heap can tell: a test after which more is in use than
    /// before is reported as leaking (`# leaked: N bytes`).
    fn heap_used(&self) -> Option<usize> {
        None
    }
}

/// Whether a test is expected to panic.
#[repr(C)]
pub enum ShouldPanic {
    No,
    Yes,
    /// It must panic, with a message containing this text.
    WithMessage(&'static str),
}

/// One kernel test, as `#[ktest]` registers it. `repr(C)`: the runner reads an array of
/// these that the linker assembled from every crate.
#[repr(C)]
pub struct Test {
    /// `module_path!()` of the test, crate first, e.g. `mm::tests`.
    pub module: &'static str,
    /// The test function's name.
    pub function: &'static str,
    pub run: fn(),
    pub should_panic: ShouldPanic,
    /// `Some(reason)`: reported as skipped, never run.
    pub ignore: Option<&'static str>,
    /// Seconds the harness allows this test; 0 means the harness's default.
    pub timeout_secs: u32,
    /// CPUs the body runs on at once (`#[ktest(cpus = N)]`), 1 for most tests.
    pub cpus: u32,
}

impl Test {
    /// The test's stable name: its module path, crate first, then the function
    /// (`kernel::tests::fmt_integers`). The same text names the function in a debugger.
    pub fn name(&self) -> TestName<'_> {
        TestName(self)
    }

    /// The crate the test is in (the first segment of its name).
    pub fn crate_name(&self) -> &'static str {
        self.module.split("::").next().unwrap_or(self.module)
    }
}

/// A test's name, formatted without allocating.
pub struct TestName<'t>(&'t Test);

impl fmt::Display for TestName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}::{}", self.0.module, self.0.function)
    }
}

/// How a test ended the boot.
pub enum Crash<'a, 'p> {
    Panic(&'a core::panic::PanicInfo<'p>),
    Fault,
}
