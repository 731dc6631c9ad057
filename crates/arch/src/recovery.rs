//! "Run with recovery", the same on every arch over each arch's `recover.rs`: call a
//! function so that code deep inside it can abandon it and return to the caller, the way a
//! panicking test is abandoned so that the next one runs in the same boot.
//!
//! Each arch's `recover.rs` defines its [`RecoverySlot`] and, in assembly, the two symbols
//! `arch_call_with_recovery(slot, function, argument) -> usize` (saves the callee-saved
//! registers, the stack pointer and the interrupt state in the slot, calls
//! `function(argument)` on the same stack, returns 0 when it returns) and
//! `arch_abandon(slot) -> !` (restores all that, so that the call returns 1).

use crate::imp::RecoverySlot;

unsafe extern "C" {
    fn arch_call_with_recovery(slot: *mut RecoverySlot, function: extern "C" fn(*mut u8), argument: *mut u8) -> usize;
    fn arch_abandon(slot: *const RecoverySlot) -> !;
}

/// Calls `function(argument)`, first saving in `slot` what [`abandon`] needs to return here:
/// 0 when the function returned, 1 when something inside it called `abandon(slot)`.
///
/// # Safety
/// `slot` must stay valid, and be used by nothing else, until this returns. Whatever the
/// function owned when abandoned is never dropped (its stack is simply reused).
pub unsafe fn call_with_recovery(
    slot: *mut RecoverySlot,
    function: extern "C" fn(*mut u8),
    argument: *mut u8,
) -> usize {
    // SAFETY: the caller vouches for the slot; the assembly follows the C calling convention.
    unsafe { arch_call_with_recovery(slot, function, argument) }
}

/// Returns from the [`call_with_recovery`] that saved `slot` (which then returns 1), with
/// its registers, stack pointer and interrupt state (enabled or masked) as they were.
///
/// # Safety
/// Only from inside the function that `call_with_recovery(slot, ..)` is running, on the
/// same stack (not from an interrupt stack of its own); nothing of that function's frames
/// may be used afterwards.
pub unsafe fn abandon(slot: *const RecoverySlot) -> ! {
    // SAFETY: as the caller vouches; the slot holds the state saved by the call.
    unsafe { arch_abandon(slot) }
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use core::sync::atomic::{AtomicPtr, Ordering};
    use ktest::ktest;

    static SLOT: AtomicPtr<RecoverySlot> = AtomicPtr::new(core::ptr::null_mut());

    extern "C" fn add_one(argument: *mut u8) {
        // SAFETY: the tests pass a pointer to a u64.
        unsafe { *argument.cast::<u64>() += 1 };
    }

    #[inline(never)]
    extern "C" fn add_one_then_abandon(argument: *mut u8) {
        add_one(argument);
        // SAFETY: inside the call that saved SLOT, on its stack.
        unsafe { abandon(SLOT.load(Ordering::SeqCst)) };
    }

    #[ktest]
    fn a_function_that_returns_makes_the_call_return_0() {
        let mut slot = RecoverySlot::new();
        let mut value = 41u64;
        // SAFETY: the slot outlives the call.
        let result = unsafe { call_with_recovery(&raw mut slot, add_one, (&raw mut value).cast()) };
        assert_eq!((result, value), (0, 42));
    }

    /// Abandoned twice in a row, with live values in callee-saved registers around the call.
    #[ktest]
    fn an_abandoned_function_makes_the_call_return_1_with_the_callers_state() {
        let mut slot = RecoverySlot::new();
        SLOT.store(&raw mut slot, Ordering::SeqCst);
        let live = core::hint::black_box([3u64, 5, 7, 11, 13, 17]);
        let mut value = 0u64;
        for round in 1..=2 {
            // SAFETY: the slot outlives the call; the function abandons from inside it.
            let result = unsafe { call_with_recovery(&raw mut slot, add_one_then_abandon, (&raw mut value).cast()) };
            assert_eq!((result, value), (1, round));
        }
        assert_eq!(core::hint::black_box(live), [3, 5, 7, 11, 13, 17]);
        SLOT.store(core::ptr::null_mut(), Ordering::SeqCst);
    }
}
