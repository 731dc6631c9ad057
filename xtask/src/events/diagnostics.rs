//! What a run can say beyond its tests' verdicts, typed: each kind carries its facts, and
//! the sentence a person reads is made here, once.

use super::BootEnd;
use kernel_abi::ExitCode;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiagnosticKind {
    /// The stream departs from KTAP.
    Ktap(ktap::Finding),
    /// The running test printed a line that reads as another test's result.
    ForeignResult { running: String, printed: String },
    /// A test started while the previous one had no verdict.
    StartedWithoutVerdict { previous: String, next: String },
    /// A result for one test arrived while another was running.
    ResultWhileRunning { result: String, running: String },
    /// The xtask was interrupted (while `running` ran, if any test was).
    Interrupted { signal: i32, running: Option<String> },
    /// Every test reported, but the boot did not end the way the kernel ends a full run.
    ExitMismatch { end: BootEnd, expected: ExitCode },
    /// Nothing for `seconds` between two tests: the harness ended QEMU.
    NoProgress { seconds: u64 },
    /// The kernel stopped after `results` of `planned` tests without announcing the next.
    StoppedEarly { results: u64, planned: u64, end: BootEnd },
    /// The kernel never printed its plan; `trying_again`: the boot is tried once more.
    NeverStarted { end: BootEnd, trying_again: bool },
    /// Resuming after `after` again would repeat the last boot: the arch stops.
    ResumeLoop { after: String },
    /// QEMU's own error output, from a boot that did not end by the kernel's exit.
    QemuSaid { text: String },
    /// The serial log reached its cap; later lines are not kept.
    LogCapped { mib: u64 },
    /// The harness could not do its job for this arch.
    HarnessError { message: String },
    /// Backtraces were left as addresses: the image that would symbolize them is not the one
    /// that made the log (`wanted` is the build-id the kernel printed, `found` the image's).
    NotSymbolized { image: String, wanted: Option<String>, found: Option<String> },
    /// A diagnostic read back from a merged KTAP document: its text as it was written.
    Recorded { text: String },
    /// A record of a merged KTAP document that does not read.
    BadRecord { kind: String, error: String },
}

impl fmt::Display for DiagnosticKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiagnosticKind::Ktap(finding) => write!(f, "KTAP: {finding}"),
            DiagnosticKind::ForeignResult { running, printed } => {
                write!(f, "`{running}` printed a line that reads as a result for `{printed}`: taken as its output")
            }
            DiagnosticKind::StartedWithoutVerdict { previous, next } => {
                write!(f, "test `{previous}` was announced, then `{next}` started without its verdict")
            }
            DiagnosticKind::ResultWhileRunning { result, running } => {
                write!(f, "the result for `{result}` arrived while `{running}` was running")
            }
            DiagnosticKind::Interrupted { signal, running: Some(test) } => {
                write!(f, "interrupted by signal {signal} while `{test}` was running")
            }
            DiagnosticKind::Interrupted { signal, running: None } => write!(f, "interrupted by signal {signal}"),
            DiagnosticKind::ExitMismatch { end, expected } => write!(
                f,
                "every test reported, but the boot ended unexpectedly ({end}; expected the kernel's {expected:?} exit)"
            ),
            DiagnosticKind::NoProgress { seconds } => {
                write!(f, "no progress for {seconds} s between tests; QEMU was ended")
            }
            DiagnosticKind::StoppedEarly { results, planned, end } => {
                write!(f, "the kernel stopped after {results} of {planned} test(s) without announcing the next ({end})")
            }
            DiagnosticKind::NeverStarted { end, trying_again } => {
                write!(f, "the kernel never started its tests (no KTAP plan): {end}")?;
                if *trying_again {
                    write!(f, "; booting again from the same point")?;
                }
                Ok(())
            }
            DiagnosticKind::ResumeLoop { after } => {
                write!(f, "no progress: resuming after `{after}` again; stopping this arch")
            }
            DiagnosticKind::QemuSaid { text } => write!(f, "QEMU said: {text}"),
            DiagnosticKind::LogCapped { mib } => {
                write!(f, "serial log capped at {mib} MiB: later serial lines are not kept")
            }
            DiagnosticKind::HarnessError { message } => write!(f, "harness error: {message}"),
            DiagnosticKind::NotSymbolized { image, wanted, found } => {
                write!(f, "backtraces are not symbolized: ")?;
                match (wanted, found) {
                    (None, _) => write!(f, "the log names no build-id, so `{image}` cannot be checked against it"),
                    (Some(wanted), Some(found)) => write!(
                        f,
                        "the log was made by build-id {wanted}, but `{image}` has build-id {found}; \
                         rebuild that commit to symbolize"
                    ),
                    (Some(wanted), None) => {
                        write!(f, "the log was made by build-id {wanted}, and `{image}` is missing or has none")
                    }
                }
            }
            DiagnosticKind::Recorded { text } => f.write_str(text),
            DiagnosticKind::BadRecord { kind, error } => write!(f, "a `{kind}` record does not read: {error}"),
        }
    }
}
