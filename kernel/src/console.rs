//! The serial console: `print!` and `println!` over the arch's UART.
//!
//! Its lock masks interrupts while held (`arch::IrqMutex`): an interrupt handler may print
//! (the timer's does in a test) without deadlocking on the code it interrupted. Trap paths
//! that may stop the CPU anywhere (the GDB stub) use [`print_from_trap`], which never waits.

use arch::IrqMutex;
use core::fmt::{self, Write};

struct Console;

impl Write for Console {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        arch::console_write(text.as_bytes());
        Ok(())
    }
}

static CONSOLE: IrqMutex<Console> = IrqMutex::new(Console);

/// Writes bytes as they are (a test's raw output goes through here too).
pub fn write_bytes(bytes: &[u8]) {
    let _console = CONSOLE.lock();
    arch::console_write(bytes);
}

pub fn print(args: fmt::Arguments<'_>) {
    // Ignoring the result: the console itself cannot fail, only a `Display` impl can.
    let _ = CONSOLE.lock().write_fmt(args);
}

/// `fmt::Write` over `arch::console_write_from_trap`.
struct TrapConsole;

impl Write for TrapConsole {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        arch::console_write_from_trap(text.as_bytes());
        Ok(())
    }
}

/// Prints from a trap handler: takes the console's lock if it is free, and otherwise writes
/// without it (the interrupted code holds it and cannot run until the trap returns). No
/// allocation.
pub fn print_from_trap(args: fmt::Arguments<'_>) {
    let _console = CONSOLE.try_lock();
    let _ = TrapConsole.write_fmt(args);
}

/// Holds the console's lock while `operation` runs (for the test that interrupts cannot
/// deadlock on it).
#[cfg(any(test, feature = "ktest"))]
pub fn with_lock<T>(operation: impl FnOnce() -> T) -> T {
    let _console = CONSOLE.lock();
    operation()
}

/// Takes the console away from whoever held it: the panic and fault paths use it, since
/// the code that was interrupted may have held the lock and will never release it.
pub fn force_unlock() {
    // SAFETY: only called on the way to ending the boot, on the one CPU that runs.
    unsafe { CONSOLE.force_unlock() };
}

/// Writes lines as KTAP diagnostics: every line it starts begins with `# `.
pub struct Diagnostic {
    at_line_start: bool,
}

impl Diagnostic {
    pub fn new() -> Self {
        Diagnostic { at_line_start: true }
    }

    /// Ends the current line, if one was started.
    pub fn finish(mut self) {
        if !self.at_line_start {
            let _ = self.write_str("\n");
        }
    }
}

impl Write for Diagnostic {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for piece in text.split_inclusive('\n') {
            if self.at_line_start {
                print(format_args!("# "));
            }
            print(format_args!("{piece}"));
            self.at_line_start = piece.ends_with('\n');
        }
        Ok(())
    }
}

#[allow(unused_macros)]
macro_rules! print {
    ($($arg:tt)*) => { $crate::console::print(format_args!($($arg)*)) };
}

macro_rules! println {
    () => { $crate::console::print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::print(format_args!("{}\n", format_args!($($arg)*))) };
}
