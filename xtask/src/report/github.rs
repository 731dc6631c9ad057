//! GitHub Actions annotations: an `::error` workflow command per failed test, at the
//! failure's location in the source.

use crate::events::Outcome;

/// Where a failure happened in the source: the panic's location, else the innermost
/// backtrace frame in the repository's own files. (file, line, column)
pub fn source_location(outcome: &Outcome) -> Option<(String, u32, u32)> {
    let attempt = outcome.explaining_attempt();
    let parse = |text: &str| -> Option<(String, u32, u32)> {
        let mut parts = text.rsplitn(3, ':');
        let column = parts.next()?.parse().ok()?;
        let line = parts.next()?.parse().ok()?;
        Some((parts.next()?.to_string(), line, column))
    };
    let panic_location = attempt.message.as_deref().and_then(|message| {
        let location = message.strip_prefix("panicked at ")?.split(": ").next()?;
        parse(location)
    });
    panic_location.or_else(|| {
        attempt.backtrace.iter().find_map(|frame| {
            let location = frame.split(" at ").nth(1)?;
            if location.starts_with('/') { None } else { parse(location) }
        })
    })
}

/// A GitHub Actions `::error` workflow command for a failed test.
pub fn annotation(arch: &str, outcome: &Outcome) -> String {
    // GitHub's escaping: data `%`, CR, LF; properties also `:` and `,`.
    let data = |text: &str| {
        let lines: Vec<String> =
            text.split('\n').map(|line| super::text::printable(line).replace('%', "%25")).collect();
        lines.join("%0A")
    };
    let property = |text: &str| data(text).replace(':', "%3A").replace(',', "%2C");
    let title = property(&format!("{} failed on {arch}", outcome.name));
    let message = data(outcome.explaining_attempt().message.as_deref().unwrap_or("failed"));
    match source_location(outcome) {
        Some((file, line, column)) => {
            format!("::error file={},line={line},col={column},title={title}::{message}", property(&file))
        }
        None => format!("::error title={title}::{message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Attempt, Reason, Verdict};

    fn failed(message: &str, backtrace: &[&str]) -> Outcome {
        let attempt = Attempt {
            message: Some(message.into()),
            backtrace: backtrace.iter().map(|frame| frame.to_string()).collect(),
            ..Attempt::first("selftest::x", Verdict::Failed(Reason::Panic))
        };
        Outcome { name: attempt.name.clone(), attempts: vec![attempt] }
    }

    #[test]
    fn annotations_point_at_the_panic_location_and_escape_what_github_needs() {
        let outcome = failed("panicked at kernel/src/selftest.rs:12:5: off by one\n  left: 41", &[]);
        assert_eq!(
            annotation("riscv64", &outcome),
            "::error file=kernel/src/selftest.rs,line=12,col=5,title=selftest%3A%3Ax failed on riscv64::\
             panicked at kernel/src/selftest.rs:12:5: off by one%0A  left: 41"
        );
    }

    #[test]
    fn a_fault_is_located_by_its_innermost_frame_in_the_repository() {
        let outcome = failed(
            "fault: page fault at 0x1000, pc 0x1234",
            &[
                "core::ptr::read_volatile at /rustc/abc/library/core/src/ptr/mod.rs:1:1",
                "kernel::selftest::memory_fault at kernel/src/selftest.rs:70:29",
            ],
        );
        assert_eq!(source_location(&outcome), Some(("kernel/src/selftest.rs".into(), 70, 29)));
        let unlocated = failed("fault: x, pc 0x1", &["??"]);
        assert!(annotation("x86_64", &unlocated).starts_with("::error title="));
    }
}
