//! The generic timer's virtual timer, through the GICv2 (gic.rs: where it is, and which
//! interrupt the timer raises there, from the device tree): one interrupt at a deadline on
//! the virtual counter (`CNTV_CVAL_EL0` against `CNTVCT_EL0`, which `ticks()` reads).
//! `crate::timer` decides the deadlines.

use super::gic;

/// CNTV_CTL_EL0: the timer enabled, its interrupt not masked.
const ENABLED: u64 = 1;

/// Sets up the GIC to deliver the virtual timer's interrupt to this CPU.
pub fn enable() {
    gic::init();
    gic::enable(gic::virtual_timer());
}

/// An interrupt once the virtual counter reaches `deadline`.
pub fn arm(deadline: u64) {
    // SAFETY: programming the EL1 virtual timer's compare value, then enabling it.
    unsafe {
        core::arch::asm!("msr cntv_cval_el0, {}", "msr cntv_ctl_el0, {}", "isb",
            in(reg) deadline, in(reg) ENABLED, options(nostack))
    };
}

/// No timer interrupt (a disabled timer also drops its pending interrupt).
pub fn disarm() {
    // SAFETY: disabling the EL1 virtual timer.
    unsafe { core::arch::asm!("msr cntv_ctl_el0, {}", "isb", in(reg) 0u64, options(nostack)) };
}

/// An IRQ: acknowledge it at the GIC, hand it on if it is the timer's, end it.
pub fn interrupt(frame: &mut super::TrapFrame) {
    let acknowledged = gic::acknowledge();
    if acknowledged.id() == gic::virtual_timer() {
        crate::timer::interrupt(frame);
    }
    gic::end_of_interrupt(acknowledged);
}
