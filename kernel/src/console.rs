//! The serial console: `print!` and `println!` over the arch's UART.

use core::fmt::{self, Write};
use spin::Mutex;

struct Console;

impl Write for Console {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        crate::arch::console_write(text.as_bytes());
        Ok(())
    }
}

static CONSOLE: Mutex<Console> = Mutex::new(Console);

pub fn print(args: fmt::Arguments<'_>) {
    // Ignoring the result: the console itself cannot fail, only a `Display` impl can.
    let _ = CONSOLE.lock().write_fmt(args);
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
