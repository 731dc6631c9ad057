//! Exit protocols: how the kernel's exit code leaves QEMU and how the host reads it back.
//!
//! An arch names its protocol in `targets/<arch>.toml`; the protocol decides the QEMU
//! arguments and the decoding. The status is a cross-check of the serial verdict, never
//! the verdict itself: QEMU also exits on its own (a triple fault with `-no-reboot` exits 0
//! on x86_64, whatever the kernel was doing).

use kernel_abi::{ExitCode, isa_debug_exit};
use serde::Deserialize;
use std::{fmt, process::ExitStatus};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExitProtocol {
    /// Arm/RISC-V semihosting SYS_EXIT: QEMU exits with the code itself.
    Semihosting,
    /// x86's `isa-debug-exit`: QEMU exits with `(value << 1) | 1`.
    IsaDebugExit,
    /// The `sifive_test` device of QEMU's RISC-V virt board, always present: QEMU exits with
    /// the code itself, as with semihosting, and semihosting stays off.
    SifiveTest,
}

/// How one QEMU run ended, as far as the host can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelExit {
    /// The kernel exited through the protocol with this code.
    Kernel(ExitCode),
    /// QEMU exited with a status the protocol does not produce (its own error, a triple
    /// fault, an exit code the kernel does not define).
    Other(i32),
    /// QEMU was ended by a signal (the harness's timeout, or someone else).
    Signal(i32),
}

impl ExitProtocol {
    /// What QEMU needs on its command line for this protocol.
    pub fn qemu_args(self) -> Vec<String> {
        match self {
            ExitProtocol::Semihosting => vec!["-semihosting-config".into(), "enable=on,target=native".into()],
            ExitProtocol::SifiveTest => vec![],
            ExitProtocol::IsaDebugExit => {
                vec!["-device".into(), format!("isa-debug-exit,iobase={:#x},iosize=0x04", isa_debug_exit::PORT)]
            }
        }
    }

    /// Maps QEMU's exit status back to what the kernel reported.
    pub fn decode(self, status: ExitStatus) -> KernelExit {
        use std::os::unix::process::ExitStatusExt;
        match status.code() {
            Some(code) => self.decode_code(code),
            None => KernelExit::Signal(status.signal().unwrap_or(0)),
        }
    }

    fn decode_code(self, code: i32) -> KernelExit {
        let kernel_code = match self {
            ExitProtocol::Semihosting | ExitProtocol::SifiveTest => u8::try_from(code).ok(),
            ExitProtocol::IsaDebugExit => {
                let value = (code >> 1) as u32;
                (code & 1 == 1 && value & isa_debug_exit::BASE != 0)
                    .then(|| u8::try_from(value & !isa_debug_exit::BASE).ok())
                    .flatten()
            }
        };
        match kernel_code.and_then(ExitCode::from_code) {
            Some(exit) => KernelExit::Kernel(exit),
            None => KernelExit::Other(code),
        }
    }

    /// The host status QEMU gives for a kernel exit `code`.
    #[cfg(test)]
    pub fn encode(self, code: ExitCode) -> i32 {
        match self {
            ExitProtocol::Semihosting | ExitProtocol::SifiveTest => i32::from(code.code()),
            ExitProtocol::IsaDebugExit => (((isa_debug_exit::BASE | u32::from(code.code())) << 1) | 1) as i32,
        }
    }
}

impl fmt::Display for KernelExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelExit::Kernel(ExitCode::Success) => write!(f, "kernel exited with success"),
            KernelExit::Kernel(ExitCode::Panic) => write!(f, "kernel panicked"),
            KernelExit::Kernel(ExitCode::TestsFailed) => write!(f, "kernel reported failed tests"),
            KernelExit::Kernel(ExitCode::TestCrashed) => write!(f, "a test ended the boot"),
            KernelExit::Other(code) => {
                write!(f, "QEMU exited with status {code}, not a kernel exit code")
            }
            KernelExit::Signal(signal) => write!(f, "QEMU was killed by signal {signal}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exit_code_round_trips_through_both_protocols() {
        for protocol in [ExitProtocol::Semihosting, ExitProtocol::IsaDebugExit, ExitProtocol::SifiveTest] {
            for code in ExitCode::ALL {
                assert_eq!(
                    protocol.decode_code(protocol.encode(code)),
                    KernelExit::Kernel(code),
                    "{protocol:?} {code:?}"
                );
            }
        }
    }

    #[test]
    fn statuses_the_kernel_never_produces_are_not_taken_for_kernel_exits() {
        let cases = [
            (ExitProtocol::IsaDebugExit, 0, "a triple fault with -no-reboot"),
            (ExitProtocol::IsaDebugExit, 1, "QEMU's own error"),
            (ExitProtocol::IsaDebugExit, 3, "a write of 1 without the base"),
            (ExitProtocol::IsaDebugExit, 64, "an even status"),
            (ExitProtocol::Semihosting, 77, "an undefined code"),
            (ExitProtocol::Semihosting, -1, "a negative status"),
        ];
        for (protocol, status, why) in cases {
            assert_eq!(protocol.decode_code(status), KernelExit::Other(status), "{why}");
        }
    }

    #[test]
    fn x86_success_is_65_as_documented() {
        assert_eq!(ExitProtocol::IsaDebugExit.encode(ExitCode::Success), 65);
        assert_eq!(ExitProtocol::Semihosting.encode(ExitCode::Success), 0);
    }
}
