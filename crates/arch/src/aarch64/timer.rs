//! The generic timer's virtual timer, through the GICv2 (gic.rs: where it is, and which
//! interrupt the timer raises there, from the device tree).

use super::gic;
use core::sync::atomic::{AtomicU64, Ordering};

/// Counter ticks between two interrupts.
static INTERVAL: AtomicU64 = AtomicU64::new(0);

fn set_next(interval: u64) {
    // SAFETY: programming the EL1 virtual timer.
    unsafe { core::arch::asm!("msr cntv_tval_el0, {}", "isb", in(reg) interval, options(nostack)) };
}

/// Starts periodic timer interrupts at `hz` (the arch contract's `timer_start`).
pub fn start(hz: u32) {
    let interval = super::ticks_per_second().map_or(1, |frequency| frequency.get() / u64::from(hz)).max(1);
    INTERVAL.store(interval, Ordering::SeqCst);
    gic::init();
    gic::enable(gic::virtual_timer());
    set_next(interval);
    // SAFETY: enable the virtual timer, then unmask IRQs at EL1.
    unsafe { core::arch::asm!("msr cntv_ctl_el0, {}", "isb", "msr daifclr, #2", in(reg) 1u64, options(nostack)) };
}

/// Stops the timer interrupts (the arch contract's `timer_stop`).
pub fn stop() {
    // SAFETY: mask IRQs, then disable the virtual timer.
    unsafe { core::arch::asm!("msr daifset, #2", "msr cntv_ctl_el0, {}", "isb", in(reg) 0u64, options(nostack)) };
}

/// An IRQ: acknowledge it at the GIC, count it if it is the timer's, re-arm the timer.
pub fn interrupt() {
    let acknowledged = gic::acknowledge();
    if acknowledged.id() == gic::virtual_timer() {
        #[cfg(feature = "ktest")]
        crate::fp_tests::timer_interrupt();
        crate::kernel::timer_tick();
        set_next(INTERVAL.load(Ordering::SeqCst));
    }
    gic::end_of_interrupt(acknowledged);
}
