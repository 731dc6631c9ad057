//! The two ways a boot ends badly, a panic and a fatal CPU exception, and what they print.
//!
//! Both print KTAP diagnostics (lines starting with `# `) so that a test's failure carries
//! its message, location and fault, then either hand over to the test runner (a test was
//! running: a panicking one is abandoned and the boot goes on, see [`recovered`]) or exit
//! with [`ExitCode::Panic`].

use crate::{ExitCode, console};
use arch::Fault;
use core::fmt::Write;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicUsize, Ordering};

/// The CPU on its way to ending the boot, plus one (0: none).
static ENDING: AtomicUsize = AtomicUsize::new(0);

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    begin_ending();
    let mut diagnostic = console::Diagnostic::new();
    // The runner's CPU (0) says nothing of itself: a test of one CPU runs there.
    let cpu = arch::cpu_id();
    match (info.location(), cpu) {
        (Some(location), 0) => {
            let _ = write!(diagnostic, "panicked at {location}: {}", info.message());
        }
        (Some(location), cpu) => {
            let _ = write!(diagnostic, "panicked at {location} on CPU {cpu}: {}", info.message());
        }
        (None, 0) => {
            let _ = write!(diagnostic, "panicked: {}", info.message());
        }
        (None, cpu) => {
            let _ = write!(diagnostic, "panicked on CPU {cpu}: {}", info.message());
        }
    }
    diagnostic.finish();
    crate::backtrace::print_from(arch::frame_pointer());
    ktest::end_running_test(ktest::Crash::Panic(info));
    arch::exit(ExitCode::Panic)
}

/// An exception the arch's trap handler cannot return from (through `arch::Kernel::fault`).
pub fn fault(fault: Fault<'_>) -> ! {
    begin_ending();
    let mut diagnostic = console::Diagnostic::new();
    let _ = write!(diagnostic, "fault: {}", fault.kind);
    if let Some(address) = fault.address {
        let _ = write!(diagnostic, " at {address:#x}");
    }
    let _ = write!(diagnostic, ", pc {:#x}", fault.pc);
    if arch::cpu_id() != 0 {
        let _ = write!(diagnostic, ", on CPU {}", arch::cpu_id());
    }
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

/// The runner abandoned a panicking test and goes on: the next panic is a test's again,
/// not one inside the panic path. The console may still be locked by the abandoned code.
pub fn recovered() {
    console::force_unlock();
    ENDING.store(0, Ordering::SeqCst);
}

/// Makes sure the console can be written, and that a second panic (one inside the panic
/// path) ends the boot at once instead of looping. A CPU that panics or faults while another
/// is ending the boot stops here: the first one's verdict is the one the harness gets.
fn begin_ending() {
    let cpu = arch::cpu_id();
    match ENDING.compare_exchange(0, cpu + 1, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => console::force_unlock(),
        Err(ending) if ending == cpu + 1 => {
            console::force_unlock();
            console::print(format_args!("# panicked while ending the boot\n"));
            arch::exit(ExitCode::Panic);
        }
        Err(_) => loop {
            arch::interrupts_disable();
            core::hint::spin_loop();
        },
    }
}
