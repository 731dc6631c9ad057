//! The kernel: boots on x86_64, aarch64 and riscv64, prints a banner, and either does its
//! (small) work or runs its own tests (`ktest` feature) and reports them as KTAP on serial.
//!
//! Everything arch-specific is behind `arch::*`; this file and the modules next to it are
//! the same on every architecture.

#![cfg_attr(target_os = "none", no_std, no_main)]
// Parts of the kernel (and of the arch contract it uses) serve only the self-tests; other images
// leave a few unused. CI runs clippy on the `selftest` image, where everything is used.
#![cfg_attr(not(feature = "selftest"), allow(dead_code, unused_imports))]
// `cargo test --target targets/<arch>.json` builds a test image: `cfg(test)` compiles the
// `#[ktest]` tests in like the `ktest` feature does, and rustc's own test harness (which needs
// `std`) is replaced by a no-op; cargo's runner (`.cargo/config.toml`) boots the image.
#![cfg_attr(all(test, target_os = "none"), feature(custom_test_frameworks, used_with_arg))]
#![cfg_attr(all(test, target_os = "none"), test_runner(crate::cargo_test::rustc_test_harness))]
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
mod backtrace;
#[cfg(all(test, target_os = "none"))]
mod cargo_test;
#[cfg(target_os = "none")]
mod fatal;
#[cfg(target_os = "none")]
#[cfg_attr(not(any(feature = "gdbstub", test)), path = "gdbstub/off.rs")]
mod gdbstub;
#[cfg(target_os = "none")]
mod interrupts;
#[cfg(target_os = "none")]
mod platform;
#[cfg(all(target_os = "none", feature = "selftest"))]
mod selftest;
#[cfg(all(target_os = "none", any(test, feature = "ktest")))]
mod smp;
/// `generated-tests`: trivial tests for the benchmark (kernel/build.rs writes them).
#[cfg(all(target_os = "none", feature = "generated-tests"))]
mod generated {
    #[allow(unused_imports)] // the slow tests (KTEST_GENERATED_SLOW) sleep
    use crate::time::sleep_ms;

    include!(concat!(env!("OUT_DIR"), "/generated_tests.rs"));
}
#[cfg(all(target_os = "none", any(test, feature = "ktest")))]
mod tests;
#[cfg(all(target_os = "none", any(test, feature = "ktest")))]
mod time;

#[cfg(target_os = "none")]
pub use kernel_abi::ExitCode;

/// The kernel heap, on frames `mm::init` takes at boot.
#[cfg(target_os = "none")]
#[global_allocator]
static HEAP: mm::Heap = mm::Heap::empty();

// The arch layer's boot code enters `kernel_main`; its trap handlers call the kernel's hooks.
#[cfg(target_os = "none")]
arch::entry!(kernel_main, &platform::Kernel);

/// The arch-independent kernel, entered once by the arch's boot code. Unmangled and never
/// inlined: debuggers break here by name on every arch (`entry-symbol` in Cargo.toml's
/// `[package.metadata.xtask]`, for `cargo xtask gdb`).
#[cfg(target_os = "none")]
#[unsafe(no_mangle)]
#[inline(never)]
pub fn kernel_main(boot: arch::BootInfo) -> ! {
    println!("kernel {} booting on {} ({})", env!("CARGO_PKG_VERSION"), arch::NAME, boot.method);
    println!("command line: {:?}", boot.cmdline);
    println!("{}", mm::init(&boot.memory, &HEAP));
    let request = match kernel_abi::cmdline::Request::parse(boot.cmdline) {
        Ok(request) => request,
        Err(error) => panic!("bad kernel command line `{}`: {error}", boot.cmdline),
    };
    gdbstub::init(request.gdbstub, &boot.memory);
    if request.panic {
        panic!("panic requested on the kernel command line");
    }
    if request.run_tests || request.list {
        platform::run_tests(&request);
    }
    println!("hello from {}: nothing to do, exiting", arch::NAME);
    arch::exit(ExitCode::Success)
}
