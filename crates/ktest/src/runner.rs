//! Runs the selected tests and writes their KTAP stream; gives a test that panicked or
//! faulted its verdict, then has it abandoned (a panic, when the platform recovers: the
//! next test runs in the same boot) or ends the boot (a fault).
//!
//! A test of several CPUs (`#[ktest(cpus = N)]`) has its body run on CPUs 1..N, which the
//! platform starts, and on this one, CPU 0; the test ends when all have returned. A panic or
//! fault on any of them ends the boot with the test's verdict (the other CPUs may still be
//! running its body, so nothing is abandoned), and the panic's diagnostic names the CPU.

use crate::console::{Truncated, line};
use crate::{Crash, Platform, ShouldPanic, Test};
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use kernel_abi::{ExitCode, cmdline::Request, ktap};
use spin::Once;

/// The kernel's platform, for the panic and fault paths ([`end_running_test`]).
static PLATFORM: Once<&'static dyn Platform> = Once::new();
/// The test being run (null: none).
static RUNNING: AtomicPtr<Test> = AtomicPtr::new(core::ptr::null_mut());
/// Its KTAP test number.
static RUNNING_NUMBER: AtomicUsize = AtomicUsize::new(0);
/// When it started, by the platform's counter.
static STARTED: AtomicU64 = AtomicU64::new(0);
/// `ktest.debug`: stop for a debugger when a test fails by panic or fault.
static DEBUG_FAILURES: AtomicBool = AtomicBool::new(false);
/// `ktest.attempt`: 0 for a test's first run, K for its K-th retry.
static ATTEMPT: AtomicUsize = AtomicUsize::new(0);
/// Whether the last abandoned test failed (its verdict was printed on the panic path).
static ABANDONED_FAILED: AtomicBool = AtomicBool::new(false);
/// The CPUs still running the current test's body, a bit each (CPU 0's is never set).
static OTHER_CPUS_RUNNING: AtomicU64 = AtomicU64::new(0);
/// Seconds CPU 0 waits for the others before it says which are still running (well inside
/// the shortest timeout a run uses, 3 s in the e2e tests).
const WAITING_NOTE_SECONDS: u64 = 1;

/// The CPU the caller runs on: 0 for the runner's, 1..N for the others a test of N CPUs runs
/// on (`#[ktest(cpus = N)]`).
pub fn current_cpu() -> usize {
    PLATFORM.get().map_or(0, |platform| platform.cpu_id())
}

/// Where another CPU runs the current test's body (`Platform::start_cpu`).
extern "C" fn run_on_other_cpu(cpu: usize) {
    // SAFETY: RUNNING only ever holds null or a pointer into the static registry.
    if let Some(test) = unsafe { RUNNING.load(Ordering::SeqCst).as_ref() } {
        (test.run)();
    }
    OTHER_CPUS_RUNNING.fetch_and(!(1 << cpu), Ordering::SeqCst);
}

/// Starts CPUs 1..cpus on the running test's body; false (with a diagnostic) if one did not
/// start.
fn start_other_cpus(platform: &dyn Platform, cpus: usize) -> bool {
    for cpu in 1..cpus {
        OTHER_CPUS_RUNNING.fetch_or(1 << cpu, Ordering::SeqCst);
        if !platform.start_cpu(cpu, run_on_other_cpu) {
            OTHER_CPUS_RUNNING.fetch_and(!(1 << cpu), Ordering::SeqCst);
            line!(platform, "# CPU {cpu} did not start");
            return false;
        }
    }
    true
}

/// Waits until every other CPU returned from the test's body; says which are still running
/// after a while (a hang then ends in the harness's timeout, with that line in the output).
fn wait_for_other_cpus(platform: &dyn Platform) {
    let started = platform.ticks();
    let note_after = platform.ticks_per_second().map(|hz| hz.get() * WAITING_NOTE_SECONDS);
    let mut noted = false;
    loop {
        let running = OTHER_CPUS_RUNNING.load(Ordering::SeqCst);
        if running == 0 {
            return;
        }
        if !noted && note_after.is_some_and(|after| platform.ticks().wrapping_sub(started) > after) {
            noted = true;
            let mut cpus = Truncated::<256>::new();
            for cpu in (1..64).filter(|cpu| running & (1 << cpu) != 0) {
                let _ = write!(cpus, "{}{cpu}", if cpus.as_str().is_empty() { "" } else { " " });
            }
            line!(platform, "{}{} to finish", ktap::WAITING_FOR_CPUS, cpus.as_str());
        }
        core::hint::spin_loop();
    }
}

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

/// Where a coverage probe (`cargo xtask test --coverage=per-test`, with QEMU's GDB server)
/// stops after each test that returns, to read the counters: the test's own coverage.
/// Unmangled and never inlined, so the harness finds it by name; it does nothing.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn ktest_checkpoint_test() {
    core::hint::black_box(());
}

/// Where a coverage probe stops just before the runner ends the boot (every test ran, or a
/// test crashed), to read the counters while the guest still exists.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn ktest_checkpoint_exit() {
    core::hint::black_box(());
}

/// `# duration_ns: N` since `started` (by the platform's counter), if it has a frequency.
fn print_duration(platform: &dyn Platform, started: u64) {
    let elapsed = platform.ticks().wrapping_sub(started);
    if let Some(frequency) = platform.ticks_per_second() {
        let nanoseconds = u128::from(elapsed) * 1_000_000_000 / u128::from(frequency.get());
        line!(platform, "{}{nanoseconds}", ktap::DURATION_NS);
    }
}

/// `# leaked: N bytes` if more heap is in use than `before` (a panicking test's
/// allocations are never freed, nor are those a test forgets).
fn report_leak(platform: &dyn Platform, before: Option<usize>) {
    if let (Some(before), Some(after)) = (before, platform.heap_used())
        && after > before
    {
        line!(platform, "{}{} bytes", ktap::LEAKED, after - before);
    }
}

/// Calls a test's function: `argument` is the `&'static Test`, as `run` passes it to
/// [`Platform::call_recoverable`].
extern "C" fn call_test(argument: *mut u8) {
    // SAFETY: `run` passes a pointer to a test of the static registry.
    let test = unsafe { &*argument.cast::<Test>() };
    (test.run)();
    // Not a tail call, so that this frame stays in a debugger's backtrace of the test (the
    // runner's frame that called it), optimized or not.
    core::hint::black_box(());
}

/// Runs what `request` selects (or, with `ktest.list`, lists it) and ends the boot through
/// `platform`; never returns.
pub fn run(platform: &'static dyn Platform, request: &Request<'_>) -> ! {
    let platform = *PLATFORM.call_once(|| platform);
    DEBUG_FAILURES.store(request.debug, Ordering::SeqCst);
    ATTEMPT.store(request.attempt as usize, Ordering::SeqCst);
    let tests = crate::select::select(crate::registry::tests(), request);

    if request.list {
        for (name, test) in &tests {
            let ignored = if test.ignore.is_some() { ktap::LISTED_IGNORED } else { "" };
            line!(platform, "{}{name}{ignored}", ktap::LISTED);
        }
        platform.exit(ExitCode::Success);
    }

    crate::build_id::print(platform);
    line!(platform, "KTAP version 1");
    line!(platform, "1..{}", tests.len());
    // The plan by name: the harness can then say which tests never ran, if it comes to that.
    for (name, _) in &tests {
        line!(platform, "{}{name}", ktap::LISTED);
    }
    let mut failed = 0;
    for (index, (name, test)) in tests.iter().enumerate() {
        let number = index + 1;
        if let Some(reason) = test.ignore.filter(|_| !request.include_ignored) {
            line!(platform, "ok {number} {name} # SKIP {reason}");
            continue;
        }
        let cpus = test.cpus.max(1) as usize;
        if cpus > platform.cpu_count().min(64) {
            line!(platform, "ok {number} {name} # SKIP needs {cpus} CPUs, this machine has {}", platform.cpu_count());
            continue;
        }
        line!(platform, "{}{name} timeout={}", ktap::START, test.timeout_secs);
        RUNNING_NUMBER.store(number, Ordering::SeqCst);
        RUNNING.store(core::ptr::from_ref(*test).cast_mut(), Ordering::SeqCst);
        let heap_before = platform.heap_used();
        let started = platform.ticks();
        STARTED.store(started, Ordering::SeqCst);
        let all_started = start_other_cpus(platform, cpus);
        let abandoned = platform.call_recoverable(call_test, core::ptr::from_ref(*test).cast_mut().cast());
        wait_for_other_cpus(platform);
        // After an abandoned test too: per-test coverage attributes its counters to it.
        ktest_checkpoint_test();
        RUNNING.store(core::ptr::null_mut(), Ordering::SeqCst);
        if abandoned {
            // The panic path printed the verdict.
            failed += usize::from(ABANDONED_FAILED.load(Ordering::SeqCst));
            report_leak(platform, heap_before);
            continue;
        }
        print_duration(platform, started);
        match test.should_panic {
            ShouldPanic::No if !all_started => {
                line!(platform, "not ok {number} {name}");
                failed += 1;
            }
            ShouldPanic::No => line!(platform, "ok {number} {name}"),
            ShouldPanic::Yes | ShouldPanic::WithMessage(_) => {
                line!(platform, "# test did not panic as expected");
                line!(platform, "not ok {number} {name}");
                failed += 1;
            }
        }
        report_leak(platform, heap_before);
    }
    ktest_checkpoint_exit();
    platform.exit(if failed == 0 { ExitCode::Success } else { ExitCode::TestsFailed })
}

/// Called on the way out of a panic or fatal fault, after its diagnostics: if a test was
/// running, prints its verdict, then abandons the test after a panic (when the platform
/// recovers: the runner goes on with the next test) or ends the boot with `TestCrashed`
/// (a fault, whose state may be corrupt; the harness resumes after the test). Returns if no
/// test was running.
pub fn end_running_test(crash: Crash<'_, '_>) {
    let test = RUNNING.swap(core::ptr::null_mut(), Ordering::SeqCst);
    // SAFETY: RUNNING only ever holds null or a pointer into the static registry.
    let Some(test) = (unsafe { test.as_ref() }) else {
        return;
    };
    // A test runs only after `run` set the platform.
    let Some(&platform) = PLATFORM.get() else { return };
    let number = RUNNING_NUMBER.load(Ordering::SeqCst);
    let name = test.name();
    // A failure's time too: from the test's start to the panic or fault.
    print_duration(platform, STARTED.load(Ordering::SeqCst));
    let passed = match (&crash, &test.should_panic) {
        (Crash::Panic(_), ShouldPanic::Yes) => true,
        (Crash::Panic(info), ShouldPanic::WithMessage(expected)) => {
            let mut message = Truncated::<512>::new();
            let _ = write!(message, "{}", info.message());
            if !message.as_str().contains(expected) {
                line!(platform, "# panic message did not contain the expected text `{expected}`");
            }
            message.as_str().contains(expected)
        }
        (Crash::Fault, ShouldPanic::Yes | ShouldPanic::WithMessage(_)) => {
            line!(platform, "# expected a panic, got a CPU exception");
            false
        }
        (_, ShouldPanic::No) => false,
    };
    if passed {
        line!(platform, "ok {number} {name}");
    } else {
        line!(platform, "not ok {number} {name}");
        if DEBUG_FAILURES.load(Ordering::SeqCst) {
            line!(platform, "{}{name}", ktap::DEBUG_STOP);
            ktest_debug_stop();
        }
    }
    // Only the runner's CPU can be brought back, and only when no other CPU runs the test.
    let alone = platform.cpu_id() == 0 && OTHER_CPUS_RUNNING.load(Ordering::SeqCst) == 0;
    if matches!(crash, Crash::Panic(_)) && platform.recovers() && alone {
        ABANDONED_FAILED.store(!passed, Ordering::SeqCst);
        platform.abandon_test();
    }
    ktest_checkpoint_exit();
    platform.exit(ExitCode::TestCrashed)
}
