//! Deliberately bad tests (`selftest` feature) that prove the harness's failure paths.
//!
//! The harness's end-to-end test runs these on every arch and expects exactly these
//! verdicts: names start with `selftest::` so they sort together, and `zz_after_all` sorts
//! after every one of them, proving the run went on after each crash and hang.

use ktest::ktest;

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
    arch::undefined_instruction();
}

#[ktest(should_panic = "expected boom")]
fn should_panic_and_does() {
    panic!("expected boom");
}

#[ktest(should_panic)]
fn should_panic_but_does_not() {}

/// Panics on CPU 2 only, while CPUs 0, 1 and 3 return: the verdict is a failure, and the
/// panic's line names the CPU.
#[ktest(cpus = 4)]
fn panics_on_another_cpu() {
    if ktest::current_cpu() == 2 {
        panic!("CPU 2 fails on purpose");
    }
}

/// Hangs on CPU 1 while CPU 0 returns: the verdict is a timeout, and its message names CPU 1.
#[ktest(cpus = 2)]
fn hangs_on_another_cpu() {
    while ktest::current_cpu() == 1 {
        core::hint::spin_loop();
    }
}

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

/// Recurses until the stack runs out. Every arch has a guard page under the boot stack: the
/// overflow is a fault, reported as `stack overflow` from a stack of its own.
#[ktest]
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
    arch::triple_fault();
}

/// Writes bytes that are not text between the KTAP lines; the test itself passes.
#[ktest]
fn garbage_output() {
    arch::console_write(b"\xff\xfe\x00\x1b[2J\x07 not utf-8: \xc3\x28\n");
    arch::console_write(b"ok 99 not a real result, just kernel noise\n");
}

/// Prints a NUL, a bell and `ESC[2J` (clear screen), then fails with an escape sequence in
/// its message: the report shows all of it escaped, so a kernel under test cannot drive the
/// terminal of the person reading it (tests/e2e/edges.rs); the serial log keeps the bytes.
#[ktest]
fn control_bytes_then_fails() {
    arch::console_write(b"about to clear the screen:\x00\x07\x1b[2J\n");
    panic!("failed after printing control bytes \x1b[31min red");
}

/// A line of 200 KiB without a newline (longer than the harness keeps), then a passing test.
#[ktest]
fn overlong_line() {
    let chunk = [b'x'; 1024];
    for _ in 0..200 {
        arch::console_write(&chunk);
    }
    arch::console_write(b"\n");
}

/// Floods the serial line forever; the harness must end it at its timeout, memory bounded.
#[ktest(timeout = 3)]
fn flood_forever() {
    loop {
        arch::console_write(b"flooding the serial line with the same words, again and again\n");
    }
}

/// Fails on its first run and passes when retried: `--retries 1` must report it FLAKY,
/// never as a plain pass.
#[ktest]
fn flaky_first_attempt_fails() {
    assert!(ktest::attempt() > 0, "fails on the first attempt, on purpose");
}

/// Asks the host, through semihosting's SYS_OPEN, to create and write files and to read
/// existing ones: every call must be refused (README, "Security"). On riscv64 QEMU runs with
/// semihosting off (the exit goes through the `sifive_test` device), so each call traps into
/// the kernel as a plain breakpoint and never reaches the host; on aarch64 semihosting is on
/// (the exit status needs it) and the harness's Landlock rules make the host's open fail.
#[ktest(arch = "aarch64", arch = "riscv64")]
fn semihosting_cannot_open_host_files() {
    use semihosting::fd::AsFd;
    use semihosting::sys::arm_compat::{OpenMode, sys_open, sys_read_orig, sys_write_orig};

    /// Host files a kernel must not reach through semihosting (checked by tests/e2e/security.rs):
    /// one to create and write, absolute and relative to QEMU's working directory, and existing
    /// ones to read (a canary the end-to-end test writes, the password file, and the
    /// repository's `Cargo.toml` as seen from the directory the harness runs in).
    const SEMIHOSTING_CREATE: [&core::ffi::CStr; 2] =
        [c"/tmp/xtask-semihosting-created.txt", c"xtask-semihosting-created.txt"];
    const SEMIHOSTING_READ: [&core::ffi::CStr; 3] =
        [c"/tmp/xtask-semihosting-canary.txt", c"/etc/passwd", c"Cargo.toml"];

    // Whether `call` reached the host: a call that QEMU does not serve is a breakpoint
    // the trap handler counts and returns from, leaving a0 as it was (which reads as fd 1).
    let reached_host = |call: &mut dyn FnMut() -> bool| {
        let before = crate::interrupts::breakpoints();
        let succeeded = call();
        succeeded && crate::interrupts::breakpoints() == before
    };
    // Uses a handle and never closes it: a handle that only trapped would trap again on
    // SYS_CLOSE, which the crate checks; one the host really opened lives until the boot ends.
    fn keep_open(file: semihosting::fd::OwnedFd, work: impl FnOnce(&semihosting::fd::OwnedFd) -> bool) -> bool {
        let done = work(&file);
        core::mem::forget(file);
        done
    }
    let mut reached = 0;
    for path in SEMIHOSTING_CREATE {
        let opened = reached_host(&mut || match sys_open(path, OpenMode::WRONLY_TRUNC) {
            Ok(file) => {
                keep_open(file, |file| sys_write_orig(file.as_fd(), b"written by the kernel under test\n").is_ok())
            }
            Err(_) => false,
        });
        println!("# semihosting create {path:?}: {}", if opened { "DONE ON THE HOST" } else { "refused" });
        reached += usize::from(opened);
    }
    for path in SEMIHOSTING_READ {
        let mut contents = [0u8; 64];
        let opened = reached_host(&mut || match sys_open(path, OpenMode::RDONLY) {
            Ok(file) => keep_open(file, |file| sys_read_orig(file.as_fd(), &mut contents).is_ok()),
            Err(_) => false,
        });
        if opened {
            let text = core::str::from_utf8(&contents).unwrap_or("(not UTF-8)");
            println!("# semihosting read {path:?}: READ FROM THE HOST: {:?}", text.trim_end_matches('\0'));
        } else {
            println!("# semihosting read {path:?}: refused");
        }
        reached += usize::from(opened);
    }
    assert_eq!(reached, 0, "semihosting opened host files");
}

/// Writes over the kernel's own code: every arch maps `.text` read-execute (W^X), so the
/// store faults.
#[ktest]
fn write_to_kernel_text_faults() {
    // A byte: with compressed instructions a function may start on any even address, and a
    // wider store there would be an unaligned-pointer panic, not the fault under test.
    let code = write_to_kernel_text_faults as *const () as *mut u8;
    // SAFETY: none, on purpose: the store must fault before it lands.
    unsafe { code.write_volatile(0) };
}
