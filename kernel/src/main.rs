//! The kernel: boots on x86_64, aarch64 and riscv64, prints a banner, and either does its
//! (small) work or runs its own tests (`ktest` feature) and reports them as KTAP on serial.
//!
//! Everything arch-specific is behind `arch::*`; this file and the modules next to it are
//! the same on every architecture.

#![cfg_attr(target_os = "none", no_std, no_main)]
#![cfg_attr(all(target_os = "none", target_arch = "x86_64"), feature(abi_x86_interrupt))]
// Parts of the arch contract and of the test runner serve only the self-tests; other images
// leave a few unused. CI runs clippy on the `selftest` image, where everything is used.
#![cfg_attr(not(feature = "selftest"), allow(dead_code, unused_imports))]
// `cargo test --target targets/<arch>.json` builds a test image: `cfg(test)` compiles the
// `#[ktest]` tests in like the `ktest` feature does, and rustc's own test harness (which needs
// `std`) is replaced by a no-op; cargo's runner (`.cargo/config.toml`) boots the image.
#![cfg_attr(all(test, target_os = "none"), feature(custom_test_frameworks, used_with_arg))]
#![cfg_attr(all(test, target_os = "none"), test_runner(crate::ktest::rustc_test_harness))]
#![cfg_attr(all(test, target_os = "none"), reexport_test_harness_main = "rustc_test_main")]

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("the kernel runs on bare metal: build and boot it with `cargo xtask run`");
    std::process::exit(2);
}

#[cfg(target_os = "none")]
extern crate alloc;

// First: its macros are then visible in every module below.
#[cfg(target_os = "none")]
#[macro_use]
mod console;
#[cfg(target_os = "none")]
mod arch;
#[cfg(target_os = "none")]
mod backtrace;
#[cfg(target_os = "none")]
mod fatal;
#[cfg(target_os = "none")]
#[cfg_attr(not(any(feature = "gdbstub", test)), path = "gdbstub/off.rs")]
mod gdbstub;
#[cfg(target_os = "none")]
mod heap;
#[cfg(target_os = "none")]
mod interrupts;
// On the host only its tests use it (`cargo test -p kernel`).
#[cfg(target_os = "none")]
mod ktest;
#[cfg_attr(not(target_os = "none"), allow(dead_code))]
mod mm;
#[cfg(all(target_os = "none", feature = "selftest"))]
mod selftest;
/// `generated-tests`: trivial tests for the benchmark (kernel/build.rs writes them).
#[cfg(all(target_os = "none", feature = "generated-tests"))]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/generated_tests.rs"));
}
#[cfg(all(target_os = "none", any(test, feature = "ktest")))]
mod tests;

#[cfg(target_os = "none")]
pub use kernel_abi::ExitCode;

/// What the arch's boot code found, handed to [`kernel_main`].
#[cfg(target_os = "none")]
pub struct BootInfo {
    /// How the kernel was entered, for the banner (e.g. "PVH, 64-bit long mode").
    pub method: &'static str,
    /// The kernel command line (empty if the boot path gave none).
    pub cmdline: &'static str,
    /// Physical memory, as the boot path describes it.
    pub memory: mm::MemoryMap,
}

/// The arch-independent kernel, entered once by the arch's boot code. Unmangled: debuggers
/// break here by name on every arch (`cargo xtask gdb`).
#[cfg(target_os = "none")]
#[unsafe(no_mangle)]
pub fn kernel_main(boot: BootInfo) -> ! {
    println!("kernel {} booting on {} ({})", env!("CARGO_PKG_VERSION"), arch::NAME, boot.method);
    println!("command line: {:?}", boot.cmdline);
    mm::init(&boot.memory);
    let request = match kernel_abi::cmdline::Request::parse(boot.cmdline) {
        Ok(request) => request,
        Err(error) => panic!("bad kernel command line `{}`: {error}", boot.cmdline),
    };
    gdbstub::init(request.gdbstub, &boot.memory);
    if request.panic {
        panic!("panic requested on the kernel command line");
    }
    if request.run_tests || request.list {
        ktest::run(&request);
    }
    println!("hello from {}: nothing to do, exiting", arch::NAME);
    arch::exit(ExitCode::Success)
}
