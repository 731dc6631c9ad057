//! Runs the selected tests and writes their KTAP stream (compiled only into test images).

use super::{Crash, ShouldPanic, Test};
use crate::{ExitCode, arch};
use alloc::{string::String, string::ToString, vec::Vec};
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use kernel_abi::{cmdline::Request, ktap};

// Linker-defined addresses (see linker-scripts/): the bounds of `.ktest_array`.
unsafe extern "C" {
    static __ktest_start: u8;
    static __ktest_end: u8;
}

/// Every test in the image, in link order.
fn registry() -> &'static [Test] {
    // SAFETY: the linker script brackets `.ktest_array` with these two symbols, and the
    // section holds nothing but `Test` records placed there by `#[ktest]`.
    unsafe {
        let start = (&raw const __ktest_start).cast::<Test>();
        let end = (&raw const __ktest_end).cast::<Test>();
        let count = (end as usize - start as usize) / size_of::<Test>();
        core::slice::from_raw_parts(start, count)
    }
}

/// The test being run, for the panic and fault paths (null: none).
static RUNNING: AtomicPtr<Test> = AtomicPtr::new(core::ptr::null_mut());
/// Its KTAP test number.
static RUNNING_NUMBER: AtomicUsize = AtomicUsize::new(0);
/// `ktest.debug`: stop for a debugger when a test fails by panic or fault.
static DEBUG_FAILURES: AtomicBool = AtomicBool::new(false);
/// `ktest.attempt`: 0 for a test's first run, K for its K-th retry.
static ATTEMPT: AtomicUsize = AtomicUsize::new(0);

/// Which attempt at the current test this boot is (0: the first run; `--retries` makes more).
pub fn attempt() -> usize {
    ATTEMPT.load(Ordering::SeqCst)
}

/// While set, [`ktest_debug_stop`] holds the failed test's state for a debugger; the
/// debugger clears it (`set var KTEST_DEBUG_HOLD = 0`) to let the kernel go on.
#[unsafe(no_mangle)]
static KTEST_DEBUG_HOLD: AtomicBool = AtomicBool::new(true);

/// Where a failed test waits for a debugger (`--debug-failures`), its frames below this one.
#[unsafe(no_mangle)]
#[inline(never)]
extern "C" fn ktest_debug_stop() {
    while KTEST_DEBUG_HOLD.load(Ordering::SeqCst) {
        core::hint::spin_loop();
    }
}

/// Runs what `request` selects and exits; never returns.
pub fn run(request: &Request<'_>) -> ! {
    DEBUG_FAILURES.store(request.debug, Ordering::SeqCst);
    ATTEMPT.store(request.attempt as usize, Ordering::SeqCst);
    let mut tests: Vec<(String, &'static Test)> = registry()
        .iter()
        .map(|test| (test.name().to_string(), test))
        .filter(|(name, _)| request.selects(name))
        .collect();
    tests.sort_by(|a, b| a.0.cmp(&b.0));
    // The slice is taken from the whole selection, before resuming, so every boot agrees.
    if let Some(partition) = request.partition {
        let mut position = 0;
        tests.retain(|(name, _)| {
            position += 1;
            partition.contains(position - 1, name)
        });
    }
    tests.retain(|(name, _)| request.runs(name));

    if request.list {
        for (name, test) in &tests {
            let ignored = if test.ignore.is_some() { ktap::LISTED_IGNORED } else { "" };
            println!("{}{name}{ignored}", ktap::LISTED);
        }
        arch::exit(ExitCode::Success);
    }

    println!("KTAP version 1");
    println!("1..{}", tests.len());
    // The plan by name: the harness can then say which tests never ran, if it comes to that.
    for (name, _) in &tests {
        println!("{}{name}", ktap::LISTED);
    }
    let mut failed = 0;
    for (index, (name, test)) in tests.iter().enumerate() {
        let number = index + 1;
        if let Some(reason) = test.ignore {
            println!("ok {number} {name} # SKIP {reason}");
            continue;
        }
        println!("{}{name} timeout={}", ktap::START, test.timeout_secs);
        RUNNING_NUMBER.store(number, Ordering::SeqCst);
        RUNNING.store(core::ptr::from_ref(*test).cast_mut(), Ordering::SeqCst);
        let started = arch::ticks();
        (test.run)();
        let elapsed = arch::ticks().wrapping_sub(started);
        RUNNING.store(core::ptr::null_mut(), Ordering::SeqCst);
        print_duration(elapsed);
        match test.should_panic {
            ShouldPanic::No => println!("ok {number} {name}"),
            ShouldPanic::Yes | ShouldPanic::WithMessage(_) => {
                println!("# test did not panic as expected");
                println!("not ok {number} {name}");
                failed += 1;
            }
        }
    }
    arch::exit(if failed == 0 { ExitCode::Success } else { ExitCode::TestsFailed })
}

fn print_duration(ticks: u64) {
    if let Some(frequency) = arch::ticks_per_second() {
        let nanoseconds = u128::from(ticks) * 1_000_000_000 / u128::from(frequency.get());
        println!("{}{nanoseconds}", ktap::DURATION_NS);
    }
}

/// Called on the way out of a panic or fatal fault: if a test was running, prints its
/// verdict and exits with `TestCrashed` so the harness resumes after it.
pub fn end_running_test(crash: Crash<'_, '_>) {
    let test = RUNNING.swap(core::ptr::null_mut(), Ordering::SeqCst);
    // SAFETY: RUNNING only ever holds null or a pointer into the static registry.
    let Some(test) = (unsafe { test.as_ref() }) else {
        return;
    };
    let number = RUNNING_NUMBER.load(Ordering::SeqCst);
    let name = test.name();
    let passed = match (&crash, &test.should_panic) {
        (Crash::Panic(_), ShouldPanic::Yes) => true,
        (Crash::Panic(info), ShouldPanic::WithMessage(expected)) => {
            let mut message = Truncated::<512>::new();
            let _ = write!(message, "{}", info.message());
            if !message.as_str().contains(expected) {
                println!("# panic message did not contain the expected text `{expected}`");
            }
            message.as_str().contains(expected)
        }
        (Crash::Fault, ShouldPanic::Yes | ShouldPanic::WithMessage(_)) => {
            println!("# expected a panic, got a CPU exception");
            false
        }
        (_, ShouldPanic::No) => false,
    };
    if passed {
        println!("ok {number} {name}");
    } else {
        println!("not ok {number} {name}");
        if DEBUG_FAILURES.load(Ordering::SeqCst) {
            println!("{}{name}", ktap::DEBUG_STOP);
            ktest_debug_stop();
        }
    }
    arch::exit(ExitCode::TestCrashed)
}

/// A fixed-size buffer that keeps the start of what is written into it (the panic path
/// must not allocate: the heap may be what failed).
struct Truncated<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Truncated<N> {
    fn new() -> Self {
        Truncated { bytes: [0; N], len: 0 }
    }

    fn as_str(&self) -> &str {
        match core::str::from_utf8(&self.bytes[..self.len]) {
            Ok(text) => text,
            // Cut inside a character: keep the valid prefix.
            Err(error) => core::str::from_utf8(&self.bytes[..error.valid_up_to()]).unwrap_or(""),
        }
    }
}

impl<const N: usize> fmt::Write for Truncated<N> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let room = N - self.len;
        let taken = text.len().min(room);
        self.bytes[self.len..self.len + taken].copy_from_slice(&text.as_bytes()[..taken]);
        self.len += taken;
        Ok(())
    }
}
