//! Links the kernel with the arch crate's linker script for the target's arch (the same
//! scripts as the main kernel's; see kernel/build.rs).

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default() != "none" {
        return; // a host build: nothing to link
    }
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").expect("cargo sets CARGO_CFG_TARGET_ARCH");
    let scripts = std::env::var("DEP_ARCH_LINKER_SCRIPTS").expect("the arch crate names its linker scripts");
    let script = std::path::Path::new(&scripts).join(format!("{arch}.ld"));
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rustc-link-arg=-T{}", script.display());
    println!("cargo:rustc-link-arg=--gc-sections");
}
