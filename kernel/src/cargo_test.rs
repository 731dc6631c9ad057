//! What makes an image built by `cargo test --target ../targets/<arch>.json` a test image
//! the harness recognizes (only under `cfg(test)`).

/// What rustc's `--test` harness calls (never, here: the kernel's entry is its boot code).
/// The tests themselves are `#[ktest]`s, found in `.ktest_array`.
pub fn rustc_test_harness(_tests: &[&dyn Fn()]) {}

/// Marks an image built by `cargo test` (its `.kernel_cargo_test` section): cargo's runner
/// then runs its tests and answers the libtest protocol (`cargo xtask cargo-runner`).
#[used(linker)]
#[unsafe(link_section = ".kernel_cargo_test")]
static BUILT_BY_CARGO_TEST: [u8; 1] = [1];
