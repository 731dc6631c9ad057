//! The boot CPU's timer, shared by its two users: the kernel's periodic tick (`timer_start`
//! and `timer_stop` of the arch contract) and the kernel debugger's poll
//! ([`debugger_poll_start`]), which looks at the debugger's port while the kernel runs so that
//! gdb's Ctrl-C stops a running kernel.
//!
//! A third user is one-shot: [`sleep_until`] wakes the CPU from its wait at a deadline.
//!
//! Each arch's `timer.rs` only arms one interrupt at a deadline on its counter (`ticks()`) and
//! hands the interrupt here; which deadline comes next is decided in this file, the same for
//! every arch. Either user can start and stop without disturbing the other: the tick's rate
//! is kept while the poll runs, and `timer_stop` still means "no more ticks" (the rate test
//! checks it) even when the poll goes on.

use crate::{TrapFrame, imp, kernel};
use core::sync::atomic::{AtomicU64, Ordering};

/// One periodic user of the timer: its interval in counter ticks (0: stopped) and when it is
/// due next.
struct Periodic {
    interval: AtomicU64,
    next: AtomicU64,
}

impl Periodic {
    const fn new() -> Periodic {
        Periodic { interval: AtomicU64::new(0), next: AtomicU64::new(0) }
    }

    fn begin(&self, hz: u32) {
        let per_second = imp::ticks_per_second().map_or(1, |frequency| frequency.get());
        let interval = (per_second / u64::from(hz.max(1))).max(1);
        self.next.store(imp::ticks() + interval, Ordering::SeqCst);
        self.interval.store(interval, Ordering::SeqCst);
    }

    fn end(&self) {
        self.interval.store(0, Ordering::SeqCst);
    }

    fn running(&self) -> bool {
        self.interval.load(Ordering::SeqCst) != 0
    }

    /// When it is due next, if it runs.
    fn deadline(&self) -> Option<u64> {
        self.running().then(|| self.next.load(Ordering::SeqCst))
    }

    /// True if it is due at `now`, and then moves its deadline on by one interval (from the
    /// missed deadline, so the rate holds; from `now` if even that is past, after a long stop
    /// in the debugger, so a backlog is not replayed as a burst).
    fn take_due(&self, now: u64) -> bool {
        let interval = self.interval.load(Ordering::SeqCst);
        let next = self.next.load(Ordering::SeqCst);
        if interval == 0 || now < next {
            return false;
        }
        let following = next + interval;
        self.next.store(if following > now { following } else { now + interval }, Ordering::SeqCst);
        true
    }
}

static TICK: Periodic = Periodic::new();
static POLL: Periodic = Periodic::new();
/// The deadline [`sleep_until`] waits for (0: nobody sleeps).
static WAKE: AtomicU64 = AtomicU64::new(0);

/// Arms the earliest deadline of the users that run, or disarms the timer if none does.
fn rearm() {
    let wake = Some(WAKE.load(Ordering::SeqCst)).filter(|&deadline| deadline != 0);
    match [TICK.deadline(), POLL.deadline(), wake].into_iter().flatten().min() {
        Some(deadline) => imp::timer::arm(deadline),
        None => imp::timer::disarm(),
    }
}

/// Starts periodic timer interrupts at `hz`, each reported to `Kernel::timer_tick` (the arch
/// contract's `timer_start`); unmasks interrupts.
pub fn timer_start(hz: u32) {
    imp::timer::enable();
    TICK.begin(hz);
    rearm();
    imp::interrupts_enable();
}

/// Stops the timer interrupts (the arch contract's `timer_stop`); masks interrupts unless the
/// debugger's poll still needs them.
pub fn timer_stop() {
    TICK.end();
    if !POLL.running() {
        imp::interrupts_disable();
    }
    rearm();
}

/// Starts calling `Kernel::debugger_poll` `hz` times a second with the interrupted state, on
/// this (the boot) CPU, and unmasks interrupts: while the kernel runs with its GDB stub, a
/// Ctrl-C from gdb reaches the stub within one period. Interrupts then stay unmasked while
/// the kernel runs, except where it masks them itself.
pub fn debugger_poll_start(hz: u32) {
    imp::timer::enable();
    POLL.begin(hz);
    rearm();
    imp::interrupts_enable();
}

/// Stops the debugger's poll (the kernel tick, if running, goes on); masks interrupts unless
/// the tick still needs them.
pub fn debugger_poll_stop() {
    POLL.end();
    if !TICK.running() {
        imp::interrupts_disable();
    }
    rearm();
}

/// Waits until the counter (`ticks()`) reaches `deadline` with the CPU idle: the timer wakes
/// it then, and it sleeps again after any other interrupt that comes first (a tick, the
/// debugger's poll), whose handler runs as usual. Under emulation an idle vCPU leaves its host
/// core to others, where a spin would not. Returns how many times the CPU woke on the way.
///
/// On the boot CPU, whose timer this is; any other CPU spins instead (and returns 0).
/// Interrupts are masked while it waits, between wake-ups, and left as they were. Each
/// wake-up takes interrupts: never call it holding a lock an interrupt handler takes.
pub fn sleep_until(deadline: u64) -> u64 {
    if crate::cpu_id() != 0 {
        while imp::ticks() < deadline {
            core::hint::spin_loop();
        }
        return 0;
    }
    let were_enabled = imp::interrupts_disable();
    imp::timer::enable();
    WAKE.store(deadline, Ordering::SeqCst);
    rearm();
    let mut wake_ups = 0;
    while imp::ticks() < deadline {
        imp::wait_for_interrupt();
        wake_ups += 1;
    }
    WAKE.store(0, Ordering::SeqCst);
    rearm();
    if were_enabled {
        imp::interrupts_enable();
    }
    wake_ups
}

/// The arch's timer interrupt, after it acknowledged it: reports whatever is due, with the
/// next deadline armed first (the debugger's poll may stop the CPU here for a long time).
pub(crate) fn interrupt(frame: &mut TrapFrame) {
    let now = imp::ticks();
    let tick = TICK.take_due(now);
    let poll = POLL.take_due(now);
    // A sleeper's deadline is due once: it is done with the timer (`sleep_until` sees the
    // counter past it when this returns).
    let _ = WAKE.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |wake| (wake != 0 && now >= wake).then_some(0));
    rearm();
    if tick {
        #[cfg(all(feature = "ktest", any(target_arch = "aarch64", target_arch = "riscv64")))]
        crate::fp_tests::timer_interrupt();
        kernel::timer_tick();
    }
    if poll {
        kernel::debugger_poll(frame);
    }
}
