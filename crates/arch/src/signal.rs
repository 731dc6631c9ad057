//! Why the CPU stopped, as the GDB remote protocol numbers it (gdb's own signal numbers,
//! `gdb/signals.def`, the same on every host). Compiled with or without the stub, so the
//! arch trap handlers name the signal of each exception in one place either way.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(dead_code)] // each arch raises a subset (x86_64 no bus error, the others no arithmetic one)
pub enum Signal {
    /// A breakpoint or a finished step.
    Trap,
    /// An undefined or illegal instruction.
    IllegalInstruction,
    /// An arithmetic fault (x86_64's divide error; no other arch traps on one).
    ArithmeticError,
    /// A misaligned access.
    BusError,
    /// An access to memory that is not there or not allowed (page fault, data abort).
    SegmentationFault,
}

impl Signal {
    pub const fn number(self) -> u8 {
        match self {
            Signal::IllegalInstruction => 4,
            Signal::Trap => 5,
            Signal::ArithmeticError => 8,
            Signal::BusError => 10,
            Signal::SegmentationFault => 11,
        }
    }
}
