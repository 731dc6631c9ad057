//! The local APIC timer, one-shot, its rate measured against the TSC (which `ticks()` reads):
//! one interrupt at a deadline on the TSC. `crate::timer` decides the deadlines.

use super::apic::{read, write};
use super::ticks;
use core::sync::atomic::{AtomicU32, Ordering};
use x86_64::instructions::port::Port;

// The local APIC's registers, where apic.rs finds them (IA32_APIC_BASE).
const EOI: usize = 0xb0;
const SPURIOUS: usize = 0xf0;
const LVT_TIMER: usize = 0x320;
const INITIAL_COUNT: usize = 0x380;
const CURRENT_COUNT: usize = 0x390;
const DIVIDE: usize = 0x3e0;

pub const TIMER_VECTOR: u8 = 0x20;
pub const SPURIOUS_VECTOR: u8 = 0xff;
const MASKED: u32 = 1 << 16;

/// APIC timer counts per second (0: not measured yet).
static RATE: AtomicU32 = AtomicU32::new(0);

/// Sets up the local APIC for its timer (the legacy PICs masked), its rate measured once.
pub fn enable() {
    // SAFETY: masking every line of the legacy PICs: the kernel uses the local APIC only.
    unsafe {
        Port::<u8>::new(0x21).write(0xff);
        Port::<u8>::new(0xa1).write(0xff);
    }
    write(SPURIOUS, 0x100 | u32::from(SPURIOUS_VECTOR)); // APIC software-enabled
    write(DIVIDE, 0b1011); // divide by 1
    if RATE.load(Ordering::Relaxed) == 0 {
        measure_rate();
    }
}

/// An interrupt once the TSC reaches `deadline` (at least one APIC count from now).
pub fn arm(deadline: u64) {
    let tsc_hz = super::ticks_per_second().map_or(1, |hz| hz.get());
    let rate = u64::from(RATE.load(Ordering::Relaxed).max(1));
    let counts = u128::from(deadline.saturating_sub(ticks())) * u128::from(rate) / u128::from(tsc_hz);
    write(LVT_TIMER, u32::from(TIMER_VECTOR));
    write(INITIAL_COUNT, counts.clamp(1, u128::from(u32::MAX)) as u32);
}

/// No timer interrupt.
pub fn disarm() {
    write(LVT_TIMER, MASKED);
    write(INITIAL_COUNT, 0);
}

/// Counts the APIC timer makes in 10 ms of TSC time.
fn measure_rate() {
    let tsc_hz = super::ticks_per_second().expect("the TSC frequency is needed to measure the APIC timer").get();
    write(LVT_TIMER, MASKED);
    write(INITIAL_COUNT, u32::MAX);
    let until = ticks() + tsc_hz / 100;
    while ticks() < until {
        core::hint::spin_loop();
    }
    let counted = u32::MAX - read(CURRENT_COUNT);
    write(INITIAL_COUNT, 0);
    RATE.store(counted.saturating_mul(100).max(1), Ordering::Relaxed);
}

/// The timer's interrupt (through `trap.S`, with every register in the frame): ended at the
/// APIC first, since the debugger's poll may keep the CPU here for long.
pub fn interrupt(frame: &mut super::TrapFrame) {
    write(EOI, 0);
    crate::timer::interrupt(frame);
}

/// The APIC's spurious interrupt: nothing to do, and no EOI.
pub extern "x86-interrupt" fn spurious(_frame: x86_64::structures::idt::InterruptStackFrame) {}
