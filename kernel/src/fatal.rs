//! The two ways a boot ends badly, a panic and a fatal CPU exception, and what they print.
//!
//! Both print KTAP diagnostics (lines starting with `# `) so that a test's failure carries
//! its message, location and fault, then either hand over to the test runner (a test was
//! running) or exit with [`ExitCode::Panic`].

use crate::{ExitCode, arch, console, ktest};
use core::fmt::Write;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, Ordering};

static ENDING: AtomicBool = AtomicBool::new(false);

/// A CPU exception the kernel cannot return from.
pub struct Fault<'r> {
    /// What the CPU reported, e.g. "page fault", "undefined instruction".
    pub kind: &'static str,
    /// The address that faulted, when the CPU reports one.
    pub address: Option<usize>,
    /// The program counter of the faulting instruction.
    pub pc: usize,
    /// The interrupted code's frame pointer: where its backtrace starts.
    pub frame_pointer: usize,
    /// The CPU state the trap saw, by register name.
    pub registers: &'r [(&'static str, u64)],
}

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    begin_ending();
    let mut diagnostic = console::Diagnostic::new();
    match info.location() {
        Some(location) => {
            let _ = write!(diagnostic, "panicked at {location}: {}", info.message());
        }
        None => {
            let _ = write!(diagnostic, "panicked: {}", info.message());
        }
    }
    diagnostic.finish();
    crate::backtrace::print_from(arch::frame_pointer());
    ktest::end_running_test(ktest::Crash::Panic(info));
    arch::exit(ExitCode::Panic)
}

/// Called by the arch's trap handler for an exception it cannot return from.
pub fn fault(fault: Fault<'_>) -> ! {
    begin_ending();
    let mut diagnostic = console::Diagnostic::new();
    let _ = write!(diagnostic, "fault: {}", fault.kind);
    if let Some(address) = fault.address {
        let _ = write!(diagnostic, " at {address:#x}");
    }
    let _ = write!(diagnostic, ", pc {:#x}", fault.pc);
    diagnostic.finish();
    for row in fault.registers.chunks(4) {
        print!("{}", kernel_abi::ktap::REGISTERS);
        for (name, value) in row {
            print!("{name}={value:#x} ");
        }
        println!();
    }
    crate::backtrace::print_from(fault.frame_pointer);
    ktest::end_running_test(ktest::Crash::Fault);
    arch::exit(ExitCode::Panic)
}

/// Makes sure the console can be written, and that a second panic (one inside the panic
/// path) ends the boot at once instead of looping.
fn begin_ending() {
    console::force_unlock();
    if ENDING.swap(true, Ordering::SeqCst) {
        console::print(format_args!("# panicked while ending the boot\n"));
        arch::exit(ExitCode::Panic);
    }
}
