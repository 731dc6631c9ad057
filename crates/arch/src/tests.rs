//! Kernel tests of the arch contract itself, on every arch (the `ktest` feature).

use ktest::ktest;

/// The kernel runs on the boot stack, and its frame records can be walked there.
#[ktest]
fn the_current_frame_is_on_the_boot_stack_and_has_a_caller() {
    let stack = crate::boot_stack();
    let frame_pointer = crate::frame_pointer();
    assert!(stack.contains(&frame_pointer), "frame pointer {frame_pointer:#x} outside the boot stack {stack:x?}");
    let (caller, return_address) =
        crate::frame_record(frame_pointer, &stack).expect("a frame record at the frame pointer");
    assert_ne!(return_address, 0, "a test is called by the runner");
    assert!(caller > frame_pointer, "the caller's frame is above ours: {caller:#x} <= {frame_pointer:#x}");
}

/// The counter never goes backwards.
#[ktest]
fn the_counter_is_monotonic() {
    let mut previous = crate::ticks();
    for _ in 0..10_000 {
        let now = crate::ticks();
        assert!(now >= previous, "the counter went from {previous} back to {now}");
        previous = now;
    }
}

/// A breakpoint instruction traps and the handler resumes after it, on every arch.
#[ktest]
fn a_breakpoint_returns_to_the_next_instruction() {
    let mut reached = 0;
    crate::breakpoint();
    reached += core::hint::black_box(1);
    crate::breakpoint();
    reached += core::hint::black_box(1);
    assert_eq!(reached, 2);
}
