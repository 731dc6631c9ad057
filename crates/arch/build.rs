//! Tells the kernels built on this crate where the linker scripts are: cargo hands
//! `cargo:linker-scripts=DIR` to their build scripts as `DEP_ARCH_LINKER_SCRIPTS` (a
//! dependency cannot pass `-T` to the final link itself).

use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let scripts = manifest_dir.join("../../linker-scripts");
    let scripts = scripts.canonicalize().unwrap_or(scripts);
    println!("cargo:linker-scripts={}", scripts.display());
    println!("cargo:rerun-if-changed=build.rs");
}
