//! The SBI timer (the TIME extension): OpenSBI raises the supervisor timer interrupt once the
//! `time` counter (which `ticks()` reads) reaches the deadline. `crate::timer` decides the
//! deadlines.

const SBI_TIME_EXTENSION: usize = 0x5449_4d45; // "TIME"
const SIE_TIMER: usize = 1 << 5;

fn set_timer(at: u64) {
    // SAFETY: an SBI call; it only programs the next timer interrupt.
    unsafe {
        core::arch::asm!("ecall", inlateout("a0") at as usize => _, lateout("a1") _,
            in("a6") 0, in("a7") SBI_TIME_EXTENSION, options(nostack));
    }
}

/// Lets the supervisor timer interrupt through (sstatus.SIE still masks it).
pub fn enable() {
    // SAFETY: enabling the supervisor timer interrupt; it is taken only with SIE set.
    unsafe { core::arch::asm!("csrs sie, {}", in(reg) SIE_TIMER, options(nostack)) };
}

/// An interrupt once `time` reaches `deadline`.
pub fn arm(deadline: u64) {
    set_timer(deadline);
}

/// No timer interrupt: the deadline pushed past the end of time, which also clears a pending
/// one.
pub fn disarm() {
    set_timer(u64::MAX);
}

/// The supervisor timer interrupt.
pub fn interrupt(frame: &mut super::TrapFrame) {
    crate::timer::interrupt(frame);
}
