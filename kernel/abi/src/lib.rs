//! What the kernel and the harness agree on: exit codes, the kernel command line and the
//! KTAP conventions of the kernel's test runner.
//!
//! Both sides depend on this crate, so a change here changes both at once. It is `no_std`
//! and allocation-free so that the kernel can use it before its heap exists.

#![no_std]

#[cfg(test)]
extern crate std;

pub mod cmdline;
#[cfg(test)]
mod limits;
pub mod partition;
pub mod set;

/// How a boot ended, as the kernel reports it through the arch's exit device.
///
/// The arch's exit protocol (semihosting, `isa-debug-exit`) carries this number to the
/// host; the harness maps the host-side status back with [`ExitCode::from_code`].
/// The verdict of a test always comes from the serial stream: this is a cross-check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// The kernel finished its work: the boot banner for a plain boot, every selected test
    /// for a test image (whatever their verdicts).
    Success = 0,
    /// The kernel panicked or hit a fatal CPU exception outside any test.
    Panic = 1,
    /// Every selected test ran and at least one failed.
    TestsFailed = 2,
    /// A test ended the boot (panic, CPU exception); its verdict is on the serial line and
    /// the harness boots again to run the tests after it.
    TestCrashed = 3,
}

impl ExitCode {
    pub const ALL: [ExitCode; 4] = [ExitCode::Success, ExitCode::Panic, ExitCode::TestsFailed, ExitCode::TestCrashed];

    pub const fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<ExitCode> {
        Self::ALL.into_iter().find(|exit| exit.code() == code)
    }
}

/// The x86 `isa-debug-exit` device as the harness configures it and the kernel uses it.
///
/// QEMU turns a write of `value` into the host exit status `(value << 1) | 1`. The kernel
/// writes `BASE | code`, so success reaches the host as 65 and never as 1, which is what
/// QEMU itself returns for its own errors.
pub mod isa_debug_exit {
    pub const PORT: u16 = 0xf4;
    pub const BASE: u32 = 0x20;
}

/// The KTAP conventions of the kernel's test runner beyond KTAP version 1 itself.
///
/// Each one is a KTAP diagnostic line (it starts with `# `), so any KTAP consumer reads
/// the stream; the harness reads these to know which test is running, for how long it may
/// run, and how long it took.
pub mod ktap {
    /// `# start NAME timeout=SECS`: the kernel is about to run test NAME; the harness
    /// allows it SECS seconds (0: the harness's default).
    pub const START: &str = "# start ";
    /// `# duration_ns: N` before a result line: the test took N nanoseconds by the
    /// arch's own counter.
    pub const DURATION_NS: &str = "# duration_ns: ";
    /// `# leaked: N bytes` after a test's result line: N more bytes of heap were in use
    /// after the test than before it (a panicking test never frees what it allocated).
    pub const LEAKED: &str = "# leaked: ";
    /// `# panicked at FILE:LINE:COL: MESSAGE`: the test (or the kernel) panicked.
    pub const PANICKED_AT: &str = "# panicked at ";
    /// `# fault: KIND at ADDRESS, pc PC`: a CPU exception ended the test.
    pub const FAULT: &str = "# fault: ";
    /// `# backtrace: 0x... 0x...`: return addresses of the call chain, innermost first.
    pub const BACKTRACE: &str = "# backtrace:";
    /// `# registers: NAME=0x... ...`: the CPU state at a fault.
    pub const REGISTERS: &str = "# registers: ";
    /// `# waiting for CPUs 1 3 to finish`: in a test of several CPUs, CPU 0 returned from the
    /// body and has waited a second for the others listed; if the test then times out, they
    /// are where it hangs (the harness's timeout message names them).
    pub const WAITING_FOR_CPUS: &str = "# waiting for CPUs ";
    /// `# test: NAME`, one per test: the answer to `ktest.list`, and the plan by name after
    /// the `1..N` line of a run.
    pub const LISTED: &str = "# test: ";
    /// Ends a `# test: NAME` line of the `ktest.list` answer when the test is `ignore`d.
    pub const LISTED_IGNORED: &str = " # SKIP";
    /// `# debug: stopped NAME`: with `ktest.debug`, the kernel stopped in `ktest_debug_stop`
    /// after NAME failed; it waits there until a debugger clears `KTEST_DEBUG_HOLD`.
    pub const DEBUG_STOP: &str = "# debug: stopped ";
    /// `# build-id: HEX` at boot: the GNU build-id of the kernel image, so that a saved log
    /// is symbolized only with the image that made it.
    pub const BUILD_ID: &str = "# build-id: ";
    /// How the runner's own statements about a failure begin (they end a multi-line panic
    /// message in a failure's diagnostics).
    pub const RUNNER_NOTES: [&str; 3] = ["test did not panic", "panic message did not contain", "expected a panic"];
    /// The function the kernel waits in, and the flag that holds it there (unmangled).
    pub const DEBUG_STOP_FUNCTION: &str = "ktest_debug_stop";
    pub const DEBUG_HOLD_FLAG: &str = "KTEST_DEBUG_HOLD";
}
