//! Links the kernel with `linker-scripts/<arch>.ld` when it is built for a bare-metal target.
//!
//! The script is found by the arch's name alone, so a new architecture brings its own file
//! and nothing here changes.

use std::{env, path::PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = env::var("CARGO_CFG_TARGET_ARCH").expect("cargo sets CARGO_CFG_TARGET_ARCH");
    write_generated_tests();
    if target_os != "none" {
        return; // A host build (clippy, `cargo build --workspace`): nothing to link.
    }
    let script = manifest_dir.join("../linker-scripts").join(format!("{arch}.ld"));
    if !script.is_file() {
        panic!("no linker script for arch `{arch}`: expected {}", script.display());
    }
    println!("cargo:rerun-if-changed={}", script.display());
    // Every link of the kernel: its binary, and the test image `cargo test` builds of it.
    println!("cargo:rustc-link-arg=-T{}", script.display());
    println!("cargo:rustc-link-arg=--gc-sections");
}

/// With the `generated-tests` feature: `KTEST_GENERATED` trivial tests, for the benchmark
/// that measures what each added test costs.
fn write_generated_tests() {
    println!("cargo:rerun-if-env-changed=KTEST_GENERATED");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("generated_tests.rs");
    let count: usize = match env::var("KTEST_GENERATED") {
        Ok(value) => value.parse().unwrap_or_else(|_| panic!("KTEST_GENERATED=`{value}` is not a number")),
        Err(_) => 0,
    };
    let mut source = String::new();
    if env::var_os("CARGO_FEATURE_GENERATED_TESTS").is_some() {
        for index in 0..count {
            source.push_str(&format!("#[crate::ktest::ktest]\nfn t{index:04}() {{}}\n"));
        }
    }
    std::fs::write(&out, source).expect("cannot write the generated tests");
}
