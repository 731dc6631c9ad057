//! Kernel tests that the trap entry saves and restores the FP/SIMD registers (q0..q31, FPCR,
//! FPSR on aarch64; f0..f31 and fcsr on riscv64) around timer interrupts and breakpoint
//! traps. While a test runs, the trap handler scrambles every FP register first (`on_trap`),
//! so a register the entry code did not save would come back changed.
//!
//! Not on x86_64: its kernel target is soft-float with SSE off (`targets/x86_64.json`), so
//! no kernel code, trap handlers included, touches an FP or SSE register.

use super::imp::fp_test::{self, FpState};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use ktest::ktest;

/// Set while a test wants every trap to scramble the FP registers.
static SCRAMBLE: AtomicBool = AtomicBool::new(false);
/// Timer interrupts taken (the arch's timer handler counts them here).
static TIMER_INTERRUPTS: AtomicU64 = AtomicU64::new(0);

/// Called first by the trap handler, in Rust, after the entry code saved the registers.
pub fn on_trap() {
    if SCRAMBLE.load(Ordering::Relaxed) {
        fp_test::scramble();
    }
}

/// Called by the timer interrupt handler.
pub fn timer_interrupt() {
    TIMER_INTERRUPTS.fetch_add(1, Ordering::SeqCst);
}

fn differences(expected: &FpState, found: &FpState) -> usize {
    let registers = expected.registers.iter().zip(found.registers.iter()).filter(|(a, b)| a != b).count();
    registers + usize::from(expected.control != found.control) + usize::from(expected.status != found.status)
}

/// Every FP register holds a distinct value, untouched by code, while 1000 timer interrupts
/// (each scrambling every FP register in its handler) come and go.
#[ktest(timeout = 60)]
fn fp_registers_survive_a_thousand_timer_interrupts() {
    const INTERRUPTS: u64 = 1000;
    let expected = FpState::distinct();
    SCRAMBLE.store(true, Ordering::SeqCst);
    let start = TIMER_INTERRUPTS.load(Ordering::SeqCst);
    crate::timer_start(1000);
    let found = fp_test::hold_until(&expected, &TIMER_INTERRUPTS, start + INTERRUPTS);
    crate::timer_stop();
    SCRAMBLE.store(false, Ordering::SeqCst);
    let taken = TIMER_INTERRUPTS.load(Ordering::SeqCst) - start;
    assert!(taken >= INTERRUPTS, "only {taken} timer interrupts");
    assert_eq!(differences(&expected, &found), 0, "FP state changed across {taken} interrupts: {found:x?}");
}

/// The same across a breakpoint trap (whose handler scrambles every FP register).
#[ktest]
fn fp_registers_survive_a_breakpoint_trap() {
    let expected = FpState::distinct();
    SCRAMBLE.store(true, Ordering::SeqCst);
    let found = fp_test::hold_across_breakpoint(&expected);
    SCRAMBLE.store(false, Ordering::SeqCst);
    assert_eq!(differences(&expected, &found), 0, "FP state changed across a breakpoint: {found:x?}");
}
