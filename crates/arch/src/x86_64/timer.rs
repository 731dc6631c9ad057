//! The local APIC timer, periodic, its rate measured against the TSC.

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
const PERIODIC: u32 = 1 << 17;

/// APIC timer counts per second (0: not measured yet).
static RATE: AtomicU32 = AtomicU32::new(0);

/// Starts periodic timer interrupts at `hz` (the arch contract's `timer_start`).
pub fn start(hz: u32) {
    // SAFETY: masking every line of the legacy PICs: the kernel uses the local APIC only.
    unsafe {
        Port::<u8>::new(0x21).write(0xff);
        Port::<u8>::new(0xa1).write(0xff);
    }
    write(SPURIOUS, 0x100 | u32::from(SPURIOUS_VECTOR)); // APIC software-enabled
    write(DIVIDE, 0b1011); // divide by 1
    let rate = match RATE.load(Ordering::Relaxed) {
        0 => measure_rate(),
        rate => rate,
    };
    write(LVT_TIMER, u32::from(TIMER_VECTOR) | PERIODIC);
    write(INITIAL_COUNT, (rate / hz).max(1));
    x86_64::instructions::interrupts::enable();
}

/// Stops the timer interrupts (the arch contract's `timer_stop`).
pub fn stop() {
    x86_64::instructions::interrupts::disable();
    write(LVT_TIMER, MASKED);
    write(INITIAL_COUNT, 0);
}

/// Counts the APIC timer makes in 10 ms of TSC time.
fn measure_rate() -> u32 {
    let tsc_hz = super::ticks_per_second().expect("the TSC frequency is needed to measure the APIC timer").get();
    write(LVT_TIMER, MASKED);
    write(INITIAL_COUNT, u32::MAX);
    let until = ticks() + tsc_hz / 100;
    while ticks() < until {
        core::hint::spin_loop();
    }
    let counted = u32::MAX - read(CURRENT_COUNT);
    write(INITIAL_COUNT, 0);
    let rate = counted.saturating_mul(100).max(1);
    RATE.store(rate, Ordering::Relaxed);
    rate
}

pub extern "x86-interrupt" fn interrupt(_frame: x86_64::structures::idt::InterruptStackFrame) {
    crate::kernel::timer_tick();
    write(EOI, 0);
}

/// The APIC's spurious interrupt: nothing to do, and no EOI.
pub extern "x86-interrupt" fn spurious(_frame: x86_64::structures::idt::InterruptStackFrame) {}
