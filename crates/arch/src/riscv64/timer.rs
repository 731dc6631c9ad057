//! The SBI timer (the TIME extension): OpenSBI raises the supervisor timer interrupt.

use core::sync::atomic::{AtomicU64, Ordering};

const SBI_TIME_EXTENSION: usize = 0x5449_4d45; // "TIME"
const SIE_TIMER: usize = 1 << 5;
const SSTATUS_SIE: usize = 1 << 1;

/// Counter ticks between two interrupts.
static INTERVAL: AtomicU64 = AtomicU64::new(0);

fn set_timer(at: u64) {
    // SAFETY: an SBI call; it only programs the next timer interrupt.
    unsafe {
        core::arch::asm!("ecall", inlateout("a0") at as usize => _, lateout("a1") _,
            in("a6") 0, in("a7") SBI_TIME_EXTENSION, options(nostack));
    }
}

/// Starts periodic timer interrupts at `hz` (the arch contract's `timer_start`).
pub fn start(hz: u32) {
    let interval = super::ticks_per_second().map_or(1, |frequency| frequency.get() / u64::from(hz)).max(1);
    INTERVAL.store(interval, Ordering::SeqCst);
    set_timer(super::ticks() + interval);
    // SAFETY: enable the supervisor timer interrupt, then interrupts in S-mode.
    unsafe {
        core::arch::asm!("csrs sie, {}", "csrs sstatus, {}", in(reg) SIE_TIMER, in(reg) SSTATUS_SIE, options(nostack))
    };
}

/// Stops the timer interrupts (the arch contract's `timer_stop`).
pub fn stop() {
    // SAFETY: disable interrupts in S-mode and the timer interrupt, then push the timer away.
    unsafe {
        core::arch::asm!("csrc sstatus, {}", "csrc sie, {}", in(reg) SSTATUS_SIE, in(reg) SIE_TIMER, options(nostack))
    };
    set_timer(u64::MAX);
}

/// The supervisor timer interrupt: count it and program the next one.
pub fn interrupt() {
    #[cfg(feature = "ktest")]
    crate::fp_tests::timer_interrupt();
    crate::kernel::timer_tick();
    set_timer(super::ticks() + INTERVAL.load(Ordering::SeqCst));
}
