//! Kernel tests of the arch-independent basics: formatting, the heap, and the runner's own
//! options (`should_panic`, `ignore`, `arch`). Arch-specific tests live under `arch/`.

use alloc::{boxed::Box, format, string::String, vec, vec::Vec};
use core::sync::atomic::{AtomicBool, Ordering};
use ktest::ktest;

#[ktest]
fn fmt_integers() {
    assert_eq!(format!("{} {:#x} {:08b} {:+}", 42, 255, 5u8, 7), "42 0xff 00000101 +7");
    assert_eq!(format!("{}", u64::MAX), "18446744073709551615");
    assert_eq!(format!("{}", i64::MIN), "-9223372036854775808");
    // A passing test's own output: shown under its verdict with `--nocapture` (e2e).
    println!("formatted u64::MAX as {}", u64::MAX);
}

#[ktest]
fn fmt_padding_and_debug() {
    assert_eq!(format!("[{:>6}|{:<4}|{:^7}]", "ab", 1, "mid"), "[    ab|1   |  mid  ]");
    assert_eq!(format!("{:?}", (1, "two", Some('3'))), "(1, \"two\", Some('3'))");
}

#[ktest]
fn heap_vec_grows_and_keeps_contents() {
    let mut numbers = Vec::new();
    for index in 0..10_000u32 {
        numbers.push(index.wrapping_mul(2_654_435_761));
    }
    assert_eq!(numbers.len(), 10_000);
    assert!(numbers.iter().enumerate().all(|(index, value)| *value == (index as u32).wrapping_mul(2_654_435_761)));
}

#[ktest]
fn heap_box_and_string() {
    let boxed = Box::new([7u64; 64]);
    assert!(boxed.iter().all(|value| *value == 7));
    let mut text = String::from("kernel");
    text.push_str(" heap");
    assert_eq!(text, "kernel heap");
}

#[ktest]
fn heap_large_allocation_is_usable_and_returned() {
    let free_before = mm::heap_free();
    let size = 2 * 1024 * 1024;
    let mut block = vec![0u8; size];
    block[0] = 1;
    block[size - 1] = 2;
    assert_eq!((block[0], block[size - 1]), (1, 2));
    assert!(mm::heap_free() <= free_before - size);
    drop(block);
    assert_eq!(mm::heap_free(), free_before);
}

/// Called by no test, on purpose: the coverage end-to-end test (tests/e2e/coverage.rs)
/// finds its lines not hit.
#[allow(dead_code)]
#[inline(never)]
pub fn coverage_never_called(value: u32) -> u32 {
    value.wrapping_mul(3) ^ 0x5a5a
}

#[ktest(should_panic = "index out of bounds")]
fn should_panic_out_of_bounds_index() {
    let numbers = [1, 2, 3];
    let index = numbers.len() + core::hint::black_box(1);
    let _ = numbers[index];
}

#[ktest(ignore = "shows how an ignored test is reported")]
fn ignored_example() {
    panic!("an ignored test must never run");
}

/// Limited to the boards whose counter frequency comes from the platform (CNTFRQ_EL0, the
/// device tree's timebase-frequency).
#[ktest(arch = "aarch64", arch = "riscv64")]
fn counter_frequency_comes_from_the_platform() {
    let frequency = arch::ticks_per_second().expect("the platform states the counter frequency");
    assert!((1_000_000..=1_000_000_000).contains(&frequency.get()), "implausible counter frequency {frequency} Hz");
}

/// x86_64 only: the TSC frequency is measured against the PIT, so check the measurement.
#[ktest(arch = "x86_64")]
fn tsc_calibration_is_plausible() {
    let frequency = arch::ticks_per_second().expect("the PIT is there to calibrate against");
    assert!((100_000_000..=10_000_000_000).contains(&frequency.get()), "implausible TSC frequency {frequency} Hz");
}

#[ktest]
fn counter_moves_forward() {
    let first = arch::ticks();
    let mut spins = 0u64;
    while arch::ticks() == first {
        spins += 1;
        assert!(spins < 100_000_000, "the counter did not move");
    }
    assert!(arch::ticks() > first);
}

/// Adds up `values`; a function of its own for the debugger tests to break in and step over.
#[inline(never)]
fn sum(values: &[u32]) -> u32 {
    values.iter().sum()
}

/// A walk for the debugger (`cargo xtask gdb --test tests::debugger_walk`): locals to read and
/// change, a call to step over, and the result on the serial line.
#[ktest]
fn debugger_walk() {
    let values = [3u32, 5, 7];
    let total = sum(&values);
    println!("# debugger_walk: total {total}");
    assert!(total >= 15, "the values add up to at least 3 + 5 + 7");
}

/// Set by a debugger before [`debugger_interrupt`] runs, cleared by it to let the test end.
#[unsafe(no_mangle)]
static KERNEL_DEBUGGER_HOLD: AtomicBool = AtomicBool::new(false);

/// A loop for a debugger to interrupt (gdb's Ctrl-C through the kernel's stub): with
/// `KERNEL_DEBUGGER_HOLD` set it spins until the debugger clears it; otherwise it ends at once.
#[ktest]
fn debugger_interrupt() {
    let mut rounds = 0u64;
    while KERNEL_DEBUGGER_HOLD.load(Ordering::SeqCst) {
        rounds = core::hint::black_box(rounds + 1);
        core::hint::spin_loop();
    }
    println!("# debugger_interrupt: released after {rounds} rounds");
}
