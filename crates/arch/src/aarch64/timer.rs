//! The generic timer's virtual timer (PPI 27), through the virt board's GICv2.

use core::sync::atomic::{AtomicU64, Ordering};

const GICD: usize = 0x0800_0000;
const GICC: usize = 0x0801_0000;
const GICD_CTLR: usize = 0x000;
const GICD_ISENABLER0: usize = 0x100;
const GICD_IPRIORITYR: usize = 0x400;
const GICC_CTLR: usize = 0x000;
const GICC_PMR: usize = 0x004;
const GICC_IAR: usize = 0x00c;
const GICC_EOIR: usize = 0x010;
const VIRTUAL_TIMER: u32 = 27;

/// Counter ticks between two interrupts.
static INTERVAL: AtomicU64 = AtomicU64::new(0);

fn write(address: usize, value: u32) {
    // SAFETY: a GIC register of the virt board (identity-mapped as a device, paging.rs).
    unsafe { (address as *mut u32).write_volatile(value) }
}

fn read(address: usize) -> u32 {
    // SAFETY: as for `write`.
    unsafe { (address as *const u32).read_volatile() }
}

fn set_next(interval: u64) {
    // SAFETY: programming the EL1 virtual timer.
    unsafe { core::arch::asm!("msr cntv_tval_el0, {}", "isb", in(reg) interval, options(nostack)) };
}

/// Starts periodic timer interrupts at `hz` (the arch contract's `timer_start`).
pub fn start(hz: u32) {
    let interval = super::ticks_per_second().map_or(1, |frequency| frequency.get() / u64::from(hz)).max(1);
    INTERVAL.store(interval, Ordering::SeqCst);
    write(GICD + GICD_CTLR, 1);
    // SAFETY: one byte of the priority registers belongs to the virtual timer's PPI.
    unsafe { ((GICD + GICD_IPRIORITYR + VIRTUAL_TIMER as usize) as *mut u8).write_volatile(0x80) };
    write(GICD + GICD_ISENABLER0, 1 << VIRTUAL_TIMER);
    write(GICC + GICC_PMR, 0xff);
    write(GICC + GICC_CTLR, 1);
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
    let acknowledged = read(GICC + GICC_IAR);
    if acknowledged & 0x3ff == VIRTUAL_TIMER {
        #[cfg(feature = "ktest")]
        crate::fp_tests::timer_interrupt();
        crate::kernel::timer_tick();
        set_next(INTERVAL.load(Ordering::SeqCst));
    }
    write(GICC + GICC_EOIR, acknowledged);
}
