//! Links the kernel with `linker-scripts/<arch>.ld` when it is built for a bare-metal target.
//!
//! The arch crate says where the scripts are (`DEP_ARCH_LINKER_SCRIPTS`), and the script is
//! found by the arch's name alone, so a new architecture brings its own file and nothing
//! here changes.

use std::{env, path::PathBuf};

fn main() {
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = env::var("CARGO_CFG_TARGET_ARCH").expect("cargo sets CARGO_CFG_TARGET_ARCH");
    write_generated_tests();
    if target_os != "none" {
        return; // A host build (clippy, `cargo build --workspace`): nothing to link.
    }
    let scripts = env::var_os("DEP_ARCH_LINKER_SCRIPTS").expect("the arch crate names its linker scripts");
    let script = PathBuf::from(scripts).join(format!("{arch}.ld"));
    if !script.is_file() {
        panic!("no linker script for arch `{arch}`: expected {}", script.display());
    }
    println!("cargo:rerun-if-changed={}", script.display());
    // Every link of the kernel: its binary, and the test image `cargo test` builds of it.
    println!("cargo:rustc-link-arg=-T{}", script.display());
    println!("cargo:rustc-link-arg=--gc-sections");
    // A GNU build-id note (a hash of the image, so builds stay reproducible): the kernel
    // prints it at boot and the harness symbolizes a saved log only with the same image.
    println!("cargo:rustc-link-arg=--build-id=sha1");
}

/// With the `generated-tests` feature: `KTEST_GENERATED` trivial tests, for the benchmark
/// that measures what each added test costs, and `KTEST_GENERATED_SLOW` that each sleep for
/// 100 ms (`slow0000`, ...; the CPU idle on its timer, as a test waiting for a device would
/// be), for the one that measures parallel boots and duration shards.
fn write_generated_tests() {
    println!("cargo:rerun-if-env-changed=KTEST_GENERATED");
    println!("cargo:rerun-if-env-changed=KTEST_GENERATED_SLOW");
    println!("cargo:rerun-if-env-changed=KTEST_GENERATED_HANG");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("generated_tests.rs");
    let count: usize = match env::var("KTEST_GENERATED") {
        Ok(value) => value.parse().unwrap_or_else(|_| panic!("KTEST_GENERATED=`{value}` is not a number")),
        Err(_) => 0,
    };
    let slow: usize = match env::var("KTEST_GENERATED_SLOW") {
        Ok(value) => value.parse().unwrap_or_else(|_| panic!("KTEST_GENERATED_SLOW=`{value}` is not a number")),
        Err(_) => 0,
    };
    let mut source = String::new();
    if env::var_os("CARGO_FEATURE_GENERATED_TESTS").is_some() {
        for index in 0..count {
            source.push_str(&format!("#[ktest::ktest]\nfn t{index:04}() {{}}\n"));
        }
        for index in 0..slow {
            source.push_str(&format!("#[ktest::ktest]\nfn slow{index:04}() {{ sleep_ms(100); }}\n"));
        }
        // KTEST_GENERATED_HANG=1: one test that never ends (the cost of a hang in one lane).
        if env::var("KTEST_GENERATED_HANG").is_ok_and(|value| value == "1") {
            source.push_str("#[ktest::ktest]\nfn hang() { loop { core::hint::spin_loop(); } }\n");
        }
    }
    std::fs::write(&out, source).expect("cannot write the generated tests");
}
