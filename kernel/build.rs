//! Links the kernel with `linker-scripts/<arch>.ld` when it is built for a bare-metal target.
//!
//! The script is found by the arch's name alone, so a new architecture brings its own file
//! and nothing here changes.

use std::{env, path::PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = env::var("CARGO_CFG_TARGET_ARCH").expect("cargo sets CARGO_CFG_TARGET_ARCH");
    if target_os != "none" {
        return; // A host build (clippy, `cargo build --workspace`): nothing to link.
    }
    let script = manifest_dir.join("../linker-scripts").join(format!("{arch}.ld"));
    if !script.is_file() {
        panic!("no linker script for arch `{arch}`: expected {}", script.display());
    }
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rustc-link-arg-bins=-T{}", script.display());
    println!("cargo:rustc-link-arg-bins=--gc-sections");
}
