//! Deliberately bad tests (`selftest` feature) that prove the harness's failure paths.
//!
//! The harness's end-to-end test runs these on every arch and expects exactly these
//! verdicts: names start with `selftest::` so they sort together, and `zz_after_all` sorts
//! after every one of them, proving the run went on after each crash and hang.

use crate::ktest::ktest;

#[ktest]
fn assertion_fails() {
    let answer = core::hint::black_box(41);
    assert_eq!(answer, 42, "the answer is off by one");
}

#[ktest]
fn hangs_forever() {
    loop {
        core::hint::spin_loop();
    }
}

#[ktest]
fn cpu_exception() {
    crate::arch::undefined_instruction();
}

#[ktest(should_panic = "expected boom")]
fn should_panic_and_does() {
    panic!("expected boom");
}

#[ktest(should_panic)]
fn should_panic_but_does_not() {}

#[ktest]
fn zz_after_all() {
    assert_eq!(core::hint::black_box(2) + 2, 4);
}
