//! Deliberately bad tests (`selftest` feature) that prove the harness's failure paths.
//!
//! The harness's end-to-end test runs these on every arch and expects exactly these
//! verdicts: names start with `selftest::` so they sort together, and `zz_after_all` sorts
//! after every one of them, proving the run went on after each crash and hang.

use crate::ktest::ktest;

#[ktest]
fn assertion_fails() {
    let answer = core::hint::black_box(41);
    assert_eq!(answer, 42, "the answer is off by one");
}

#[ktest]
fn hangs_forever() {
    loop {
        core::hint::spin_loop();
    }
}

#[ktest]
fn cpu_exception() {
    crate::arch::undefined_instruction();
}

#[ktest(should_panic = "expected boom")]
fn should_panic_and_does() {
    panic!("expected boom");
}

#[ktest(should_panic)]
fn should_panic_but_does_not() {}

#[ktest]
fn zz_after_all() {
    assert_eq!(core::hint::black_box(2) + 2, 4);
}

/// Panics three calls deep: the report must name `backtrace_outer`, `backtrace_middle` and
/// `backtrace_inner`, innermost first.
#[ktest]
fn backtrace_three_deep() {
    backtrace_outer(core::hint::black_box(3));
}

#[inline(never)]
fn backtrace_outer(depth: u32) {
    backtrace_middle(depth - 1);
    core::hint::black_box(depth);
}

#[inline(never)]
fn backtrace_middle(depth: u32) {
    backtrace_inner(depth - 1);
    core::hint::black_box(depth);
}

#[inline(never)]
fn backtrace_inner(depth: u32) {
    panic!("deliberate panic {depth} calls down");
}

/// Reads memory that does not exist: a page fault, a data abort, an access fault.
#[ktest]
fn memory_fault() {
    // Canonical on x86_64 but outside the boot page tables; beyond RAM and devices elsewhere.
    let address = core::hint::black_box(0x4000_0000_0000usize);
    // SAFETY: none: this read is meant to fault.
    let value = unsafe { (address as *const u64).read_volatile() };
    core::hint::black_box(value);
}

/// Recurses until the stack runs out. x86_64 has a guard page under its stack: the overflow
/// is a fault. The other arches run with the MMU off and have none (ARCHITECTURE.md).
#[ktest(arch = "x86_64")]
fn stack_overflow() {
    #[inline(never)]
    fn recurse(depth: u64) -> u64 {
        let frame = core::hint::black_box([depth; 32]);
        // Never true: 256 KiB of stack runs out long before.
        if frame[0] == u64::MAX {
            return 0;
        }
        recurse(depth + 1).wrapping_add(frame[31])
    }
    core::hint::black_box(recurse(0));
}

/// Loads an empty IDT and traps: no handler, no double-fault handler, a triple fault. With
/// `-no-reboot` QEMU then exits with status 0, which must never read as a pass.
#[ktest(arch = "x86_64")]
fn triple_fault() {
    crate::arch::triple_fault();
}

/// Writes bytes that are not text between the KTAP lines; the test itself passes.
#[ktest]
fn garbage_output() {
    crate::arch::console_write(b"\xff\xfe\x00\x1b[2J\x07 not utf-8: \xc3\x28\n");
    crate::arch::console_write(b"ok 99 not a real result, just kernel noise\n");
}

/// A line of 200 KiB without a newline (longer than the harness keeps), then a passing test.
#[ktest]
fn overlong_line() {
    let chunk = [b'x'; 1024];
    for _ in 0..200 {
        crate::arch::console_write(&chunk);
    }
    crate::arch::console_write(b"\n");
}

/// Floods the serial line forever; the harness must end it at its timeout, memory bounded.
#[ktest(timeout = 3)]
fn flood_forever() {
    loop {
        crate::arch::console_write(b"flooding the serial line with the same words, again and again\n");
    }
}

/// Fails on its first run and passes when retried: `--retries 1` must report it FLAKY,
/// never as a plain pass.
#[ktest]
fn flaky_first_attempt_fails() {
    assert!(crate::ktest::attempt() > 0, "fails on the first attempt, on purpose");
}
