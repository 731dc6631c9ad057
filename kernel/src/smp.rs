//! Kernel tests on several CPUs at once (`#[ktest(cpus = 4)]`): atomics and locks under
//! contention, where a lost update shows as a count that is not exact.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};
use ktest::ktest;

const CPUS: usize = 4;
const INCREMENTS: usize = 100_000;
/// Increments per CPU under a lock: fewer, since each may wait for another CPU's turn.
const LOCKED_INCREMENTS: usize = 10_000;
/// Under a ticket lock fewer still: every increment is a hand-over to the next CPU in line,
/// which costs a host thread switch when QEMU's vCPUs share the host's cores (2 here). With
/// 1,000 the x86_64 test took 40-65 ms in most of 23 runs, but 4.8 s once and past its 10 s
/// timeout twice with the host's 2 cores loaded 5x (2026-12-03): a hand-over waits until the
/// host schedules the one vCPU whose turn it is.
const TICKET_INCREMENTS: usize = 250;

/// Every CPU has arrived at the start line: resets `counter` once all four are there, so that a
/// test gives the same result however many times the boot runs it (a retry, `--repeat`).
struct StartLine {
    arrived: AtomicUsize,
}

impl StartLine {
    const fn new() -> StartLine {
        StartLine { arrived: AtomicUsize::new(0) }
    }

    /// Waits for all `CPUS`, then returns; the last to arrive runs `reset` first.
    fn wait(&self, reset: impl FnOnce()) {
        let generation = self.arrived.load(Ordering::SeqCst) / CPUS;
        if self.arrived.fetch_add(1, Ordering::SeqCst) + 1 == (generation + 1) * CPUS {
            reset();
            self.arrived.fetch_add(CPUS, Ordering::SeqCst);
        }
        while self.arrived.load(Ordering::SeqCst) < (generation + 2) * CPUS {
            core::hint::spin_loop();
        }
    }
}

/// The count all four CPUs' increments came to, read once every CPU is done.
struct FinishLine {
    done: AtomicUsize,
}

impl FinishLine {
    const fn new() -> FinishLine {
        FinishLine { done: AtomicUsize::new(0) }
    }

    /// True on the last CPU to finish (the one to check the total); each round counts `CPUS`.
    fn last(&self) -> bool {
        self.done.fetch_add(1, Ordering::SeqCst) % CPUS == CPUS - 1
    }
}

#[ktest(cpus = 4)]
fn counter_incremented_by_every_cpu_is_exact() {
    static START: StartLine = StartLine::new();
    static FINISH: FinishLine = FinishLine::new();
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    START.wait(|| COUNTER.store(0, Ordering::SeqCst));
    for _ in 0..INCREMENTS {
        COUNTER.fetch_add(1, Ordering::Relaxed);
    }
    if FINISH.last() {
        assert_eq!(COUNTER.load(Ordering::SeqCst), CPUS * INCREMENTS, "increments were lost");
    }
}

/// A count that is not atomic: only the lock keeps the increments from being lost.
struct Unprotected(UnsafeCell<usize>);

// SAFETY: every access is under a lock (that is what the tests check).
unsafe impl Sync for Unprotected {}

impl Unprotected {
    /// Reads, then writes one more, in two steps another CPU could come between.
    fn increment(&self) {
        // SAFETY: the caller holds the lock that guards it.
        unsafe {
            let value = core::ptr::read_volatile(self.0.get());
            core::ptr::write_volatile(self.0.get(), value + 1);
        }
    }

    fn get(&self) -> usize {
        // SAFETY: read after every CPU is done.
        unsafe { core::ptr::read_volatile(self.0.get()) }
    }

    fn reset(&self) {
        // SAFETY: only the last CPU at the start line, while the others wait.
        unsafe { core::ptr::write_volatile(self.0.get(), 0) }
    }
}

#[ktest(cpus = 4)]
fn spinlock_protects_a_plain_counter_across_cpus() {
    static START: StartLine = StartLine::new();
    static FINISH: FinishLine = FinishLine::new();
    static LOCK: spin::Mutex<()> = spin::Mutex::new(());
    static COUNT: Unprotected = Unprotected(UnsafeCell::new(0));
    START.wait(|| COUNT.reset());
    for _ in 0..LOCKED_INCREMENTS {
        let _guard = LOCK.lock();
        COUNT.increment();
    }
    if FINISH.last() {
        assert_eq!(COUNT.get(), CPUS * LOCKED_INCREMENTS, "the spinlock let increments be lost");
    }
}

/// A ticket lock: each CPU takes the next ticket and waits until it is served, so the lock is
/// handed out in the order it was asked for.
struct TicketLock {
    next: AtomicUsize,
    serving: AtomicUsize,
}

impl TicketLock {
    const fn new() -> TicketLock {
        TicketLock { next: AtomicUsize::new(0), serving: AtomicUsize::new(0) }
    }

    fn lock(&self) -> TicketGuard<'_> {
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        // No `spin_loop()` hint here: under QEMU's TCG, x86's PAUSE leaves the vCPU's loop
        // and takes QEMU's global lock, and three waiters doing so starve the vCPU whose
        // turn it is (the test hung for 10 s; see ARCHITECTURE.md, "Several CPUs").
        #[allow(clippy::missing_spin_loop)]
        while self.serving.load(Ordering::Acquire) != ticket {}
        TicketGuard(self)
    }
}

struct TicketGuard<'a>(&'a TicketLock);

impl Drop for TicketGuard<'_> {
    fn drop(&mut self) {
        self.0.serving.fetch_add(1, Ordering::Release);
    }
}

#[ktest(cpus = 4)]
fn ticket_lock_protects_a_plain_counter_across_cpus() {
    static START: StartLine = StartLine::new();
    static FINISH: FinishLine = FinishLine::new();
    static LOCK: TicketLock = TicketLock::new();
    static COUNT: Unprotected = Unprotected(UnsafeCell::new(0));
    START.wait(|| COUNT.reset());
    for _ in 0..TICKET_INCREMENTS {
        let _guard = LOCK.lock();
        COUNT.increment();
    }
    if FINISH.last() {
        assert_eq!(COUNT.get(), CPUS * TICKET_INCREMENTS, "the ticket lock let increments be lost");
        assert_eq!(LOCK.next.load(Ordering::SeqCst), LOCK.serving.load(Ordering::SeqCst));
    }
}

/// Each CPU of a test runs its body once, and knows which it is.
#[ktest(cpus = 4)]
fn every_cpu_runs_the_body_once_with_its_own_index() {
    static START: StartLine = StartLine::new();
    static FINISH: FinishLine = FinishLine::new();
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    START.wait(|| SEEN.store(0, Ordering::SeqCst));
    let cpu = ktest::current_cpu();
    assert!(cpu < CPUS, "CPU index {cpu}");
    assert_eq!(cpu, arch::cpu_id());
    let before = SEEN.fetch_or(1 << cpu, Ordering::SeqCst);
    assert_eq!(before & (1 << cpu), 0, "CPU {cpu} ran the body twice");
    if FINISH.last() {
        assert_eq!(SEEN.load(Ordering::SeqCst), (1 << CPUS) - 1);
    }
}
