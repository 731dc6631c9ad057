//! Output through the kernel's console (`Platform::console_write`), and a fixed-size
//! buffer for text the panic path must not allocate for.

use crate::Platform;
use core::fmt;

/// `fmt::Write` over the platform's console.
pub struct Console<'p>(pub &'p dyn Platform);

impl fmt::Write for Console<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.0.console_write(text.as_bytes());
        Ok(())
    }
}

/// Writes one line (formatted, then a newline) to the platform's console.
macro_rules! line {
    ($platform:expr, $($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!($crate::console::Console($platform), $($arg)*);
    }};
}
pub(crate) use line;

/// A fixed-size buffer that keeps the start of what is written into it (the panic path
/// must not allocate: the heap may be what failed).
pub struct Truncated<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Truncated<N> {
    pub fn new() -> Self {
        Truncated { bytes: [0; N], len: 0 }
    }

    pub fn as_str(&self) -> &str {
        match core::str::from_utf8(&self.bytes[..self.len]) {
            Ok(text) => text,
            // Cut inside a character: keep the valid prefix.
            Err(error) => core::str::from_utf8(&self.bytes[..error.valid_up_to()]).unwrap_or(""),
        }
    }
}

impl<const N: usize> fmt::Write for Truncated<N> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let room = N - self.len;
        let taken = text.len().min(room);
        self.bytes[self.len..self.len + taken].copy_from_slice(&text.as_bytes()[..taken]);
        self.len += taken;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Truncated;
    use core::fmt::Write;

    #[test]
    fn truncation_keeps_the_start_and_whole_characters() {
        let mut buffer = Truncated::<5>::new();
        write!(buffer, "abcdé").unwrap(); // é is two bytes: only its first fits
        assert_eq!(buffer.as_str(), "abcd");
        write!(buffer, "more").unwrap();
        assert_eq!(buffer.as_str(), "abcd");
    }
}
