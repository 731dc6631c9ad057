//! A second kernel on the arch crate and `ktest`, in a few dozen lines: it boots on x86_64,
//! aarch64 and riscv64, and runs its tests (and the arch layer's) when the command line asks.
//! What it provides is the whole of what the harness needs from a kernel (ARCHITECTURE.md).

#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("a kernel: `cargo xtask run --kernel examples/minimal-kernel`");
    std::process::exit(2);
}

#[cfg(target_os = "none")]
mod kernel {
    use core::fmt::Write;
    use ktest::{Crash, ExitCode, Request};

    /// `ktest` sorts its tests on the heap: 256 KiB of `.bss` is plenty here.
    #[global_allocator]
    static HEAP: mm::Heap = mm::Heap::empty();
    const HEAP_SIZE: usize = 256 * 1024;
    static mut HEAP_MEMORY: [u8; HEAP_SIZE] = [0; HEAP_SIZE];

    struct Console;

    impl Write for Console {
        fn write_str(&mut self, text: &str) -> core::fmt::Result {
            arch::console_write(text.as_bytes());
            Ok(())
        }
    }

    /// This kernel, for the arch layer (a fatal fault) and the test runner.
    struct Minimal;

    impl arch::Kernel for Minimal {
        fn fault(&self, fault: arch::Fault<'_>) -> ! {
            let _ = writeln!(Console, "# fault: {}, pc {:#x}", fault.kind, fault.pc);
            ktest::end_running_test(Crash::Fault);
            arch::exit(ExitCode::Panic)
        }
    }

    impl ktest::Platform for Minimal {
        fn console_write(&self, bytes: &[u8]) {
            arch::console_write(bytes);
        }
        fn exit(&self, code: ExitCode) -> ! {
            arch::exit(code)
        }
        fn ticks(&self) -> u64 {
            arch::ticks()
        }
        fn ticks_per_second(&self) -> Option<core::num::NonZeroU64> {
            arch::ticks_per_second()
        }
    }

    arch::entry!(minimal_main, &Minimal);

    #[unsafe(no_mangle)]
    #[inline(never)]
    fn minimal_main(boot: arch::BootInfo) -> ! {
        let memory = mm::Region::with_size((&raw mut HEAP_MEMORY) as usize, HEAP_SIZE);
        // SAFETY: once, at boot; the array is used by nothing else.
        unsafe { HEAP.init(memory) };
        let _ = writeln!(Console, "minimal kernel on {} ({})", arch::NAME, boot.method);
        match Request::parse(boot.cmdline) {
            Ok(request) if request.run_tests || request.list => ktest::run(&Minimal, &request),
            Ok(_) => arch::exit(ExitCode::Success),
            Err(error) => panic!("bad command line: {error}"),
        }
    }

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
        // One line, as a KTAP diagnostic (a message with newlines would need a `# ` each).
        let location = info.location().map(|at| (at.file(), at.line(), at.column())).unwrap_or(("?", 0, 0));
        let _ = writeln!(Console, "# panicked at {}:{}:{}: {}", location.0, location.1, location.2, info.message());
        ktest::end_running_test(Crash::Panic(info));
        arch::exit(ExitCode::Panic)
    }
}

#[cfg(all(target_os = "none", feature = "ktest"))]
mod tests {
    extern crate alloc;
    use ktest::ktest;

    #[ktest]
    fn adds() {
        assert_eq!(core::hint::black_box(2) + 2, 4);
    }

    #[ktest]
    fn allocates_from_its_heap() {
        let numbers: alloc::vec::Vec<u32> = (0..1000).collect();
        assert_eq!(numbers.iter().sum::<u32>(), 499_500);
    }

    #[ktest(should_panic = "index out of bounds")]
    fn an_index_out_of_range_panics() {
        let numbers = [1, 2, 3];
        let _ = numbers[core::hint::black_box(3)];
    }

    #[ktest(ignore = "shows an ignored test in another kernel")]
    fn ignored() {}

    #[ktest(arch = "riscv64")]
    fn only_on_riscv64() {
        assert_eq!(arch::NAME, "riscv64");
    }
}
