//! The kernel runner's KTAP conventions (`kernel_abi::ktap`), read in one place: each
//! diagnostic line becomes a typed [`KernelLine`], and nothing else in the harness matches
//! their prefixes.

use kernel_abi::ktap as abi;
use std::time::Duration;

/// What one diagnostic line (the text after `# `) says, by the kernel runner's conventions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelLine {
    /// `start NAME timeout=S`: the test begins; 0 means the harness's default.
    Start { name: String, timeout_secs: u64 },
    /// `test: NAME`: a test of the plan (or of a `ktest.list` answer), `ignored` if skipped.
    Listed { name: String, ignored: bool },
    /// `duration_ns: N`.
    Duration(Duration),
    /// `panicked at ...`: the failure's message starts here.
    Panic,
    /// `fault: KIND at ADDRESS, pc PC`.
    Fault { pc: Option<u64> },
    /// `backtrace: 0x... 0x...`.
    Backtrace(Vec<u64>),
    /// `registers: ...`.
    Registers,
    /// `debug: stopped NAME`: the kernel waits for a debugger (`--debug-failures`).
    DebugStop { name: String },
    /// `build-id: HEX`: the kernel image's GNU build-id.
    BuildId(String),
    /// `waiting for CPUs 1 3 to finish`: the CPUs still in a test of several CPUs.
    WaitingForCpus(String),
    /// A line the kernel's runner writes about a failure it saw (`test did not panic ...`).
    RunnerNote,
    /// Anything else: part of a message, or the test's own diagnostic.
    Other,
}

impl KernelLine {
    pub fn read(text: &str) -> KernelLine {
        // The conventions are whole lines, `# ` and all; `text` is what follows the `# `
        // (read without building the line again: this runs for every diagnostic line).
        let after = |prefix: &'static str| text.strip_prefix(prefix.strip_prefix("# ").unwrap_or(prefix));
        if let Some(announced) = after(abi::START) {
            let (name, timeout_secs) = match announced.rsplit_once(" timeout=") {
                Some((name, seconds)) => (name.trim().to_string(), seconds.trim().parse().unwrap_or(0)),
                None => (announced.trim().to_string(), 0),
            };
            KernelLine::Start { name, timeout_secs }
        } else if let Some(listed) = after(abi::LISTED) {
            let listed = listed.trim();
            match listed.strip_suffix(abi::LISTED_IGNORED) {
                Some(name) => KernelLine::Listed { name: name.trim().to_string(), ignored: true },
                None => KernelLine::Listed { name: listed.to_string(), ignored: false },
            }
        } else if let Some(nanoseconds) = after(abi::DURATION_NS) {
            match nanoseconds.trim().parse() {
                Ok(nanoseconds) => KernelLine::Duration(Duration::from_nanos(nanoseconds)),
                Err(_) => KernelLine::Other,
            }
        } else if after(abi::PANICKED_AT).is_some() {
            KernelLine::Panic
        } else if let Some(fault) = after(abi::FAULT) {
            let pc = fault.rsplit_once(", pc 0x").and_then(|(_, pc)| u64::from_str_radix(pc.trim(), 16).ok());
            KernelLine::Fault { pc }
        } else if let Some(addresses) = after(abi::BACKTRACE) {
            let addresses = addresses
                .split_whitespace()
                .filter_map(|word| u64::from_str_radix(word.strip_prefix("0x")?, 16).ok())
                .collect();
            KernelLine::Backtrace(addresses)
        } else if after(abi::REGISTERS).is_some() {
            KernelLine::Registers
        } else if let Some(name) = after(abi::DEBUG_STOP) {
            KernelLine::DebugStop { name: name.trim().to_string() }
        } else if let Some(id) = after(abi::BUILD_ID) {
            KernelLine::BuildId(id.trim().to_ascii_lowercase())
        } else if let Some(cpus) = after(abi::WAITING_FOR_CPUS).and_then(|rest| rest.strip_suffix(" to finish")) {
            KernelLine::WaitingForCpus(cpus.trim().to_string())
        } else if abi::RUNNER_NOTES.iter().any(|note| text.starts_with(note)) {
            KernelLine::RunnerNote
        } else {
            KernelLine::Other
        }
    }

    /// A line of the runner's own making (it ends a multi-line panic message).
    pub fn is_convention(&self) -> bool {
        !matches!(self, KernelLine::Other)
    }
}

/// The line that explains a failure, and the lines that continue it (a multi-line panic
/// message), up to the next line of the runner's own conventions.
pub fn failure_message(diagnostics: &[String]) -> Option<String> {
    let start = diagnostics
        .iter()
        .position(|line| matches!(KernelLine::read(line), KernelLine::Panic | KernelLine::Fault { .. }))?;
    let continuation =
        diagnostics[start + 1..].iter().take_while(|line| !KernelLine::read(line).is_convention()).map(String::as_str);
    Some(std::iter::once(diagnostics[start].as_str()).chain(continuation).collect::<Vec<_>>().join("\n"))
}

/// The CPUs a test of several CPUs was still running the last time CPU 0 said so (a test that
/// then times out hangs there).
pub fn cpus_still_running(diagnostics: &[String]) -> Option<String> {
    diagnostics.iter().rev().find_map(|line| match KernelLine::read(line) {
        KernelLine::WaitingForCpus(cpus) => Some(cpus),
        _ => None,
    })
}

/// Panic or fault, by the first such diagnostic.
pub fn failure_reason(diagnostics: &[String]) -> Option<crate::events::Reason> {
    diagnostics.iter().find_map(|line| match KernelLine::read(line) {
        KernelLine::Panic => Some(crate::events::Reason::Panic),
        KernelLine::Fault { .. } => Some(crate::events::Reason::Fault),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_convention_is_read_into_its_kind() {
        let cases = [
            ("start a::b timeout=30", KernelLine::Start { name: "a::b".into(), timeout_secs: 30 }),
            ("start a::b", KernelLine::Start { name: "a::b".into(), timeout_secs: 0 }),
            ("test: a::b", KernelLine::Listed { name: "a::b".into(), ignored: false }),
            ("test: a::b # SKIP", KernelLine::Listed { name: "a::b".into(), ignored: true }),
            ("duration_ns: 1500", KernelLine::Duration(Duration::from_nanos(1500))),
            ("duration_ns: soon", KernelLine::Other),
            ("panicked at k.rs:1:2: boom", KernelLine::Panic),
            ("fault: page fault at 0x1000, pc 0x80201234", KernelLine::Fault { pc: Some(0x8020_1234) }),
            ("fault: invalid opcode", KernelLine::Fault { pc: None }),
            ("backtrace: 0x10 0xff junk 0x4020", KernelLine::Backtrace(vec![0x10, 0xff, 0x4020])),
            ("registers: rax=0x1", KernelLine::Registers),
            ("debug: stopped a::b", KernelLine::DebugStop { name: "a::b".into() }),
            ("build-id: 0A1b", KernelLine::BuildId("0a1b".into())),
            ("test did not panic as expected", KernelLine::RunnerNote),
            ("waiting for CPUs 1 3 to finish", KernelLine::WaitingForCpus("1 3".into())),
            ("waiting for CPUs 1", KernelLine::Other),
            ("left: 1", KernelLine::Other),
        ];
        for (line, expected) in cases {
            assert_eq!(KernelLine::read(line), expected, "{line}");
        }
        // `read` matches each prefix after its `# `: every convention has one.
        let prefixes =
            [abi::START, abi::LISTED, abi::DURATION_NS, abi::PANICKED_AT, abi::FAULT, abi::BACKTRACE, abi::REGISTERS];
        for prefix in prefixes.into_iter().chain([abi::DEBUG_STOP, abi::BUILD_ID]) {
            assert!(prefix.starts_with("# "), "{prefix}");
        }
    }

    #[test]
    fn a_multi_line_panic_message_ends_at_the_next_convention() {
        let diagnostics: Vec<String> =
            ["start t", "panicked at k.rs:1:2: assertion failed", "  left: 1", " right: 2", "backtrace: 0x1"]
                .iter()
                .map(|line| line.to_string())
                .collect();
        assert_eq!(
            failure_message(&diagnostics).as_deref(),
            Some("panicked at k.rs:1:2: assertion failed\n  left: 1\n right: 2")
        );
        assert_eq!(failure_reason(&diagnostics), Some(crate::events::Reason::Panic));
        assert_eq!(failure_message(&["left: 1".to_string()]), None);
    }
}
