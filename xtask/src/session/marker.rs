//! The harness's own lines in a serial log or a merged KTAP document: each starts with
//! [`MARKER`] (a KTAP diagnostic, so any KTAP reader passes over it) and records a fact the
//! serial line cannot carry (a boot's start and end, QEMU's complaints, the run's end), so
//! that a replay rebuilds the live run's events exactly.

use crate::events::BootEnd;
use crate::exit::KernelExit;
use kernel_abi::ExitCode;
use std::fmt;
use std::time::Duration;

/// How the harness marks its own lines.
pub const MARKER: &str = "# xtask: ";

/// One harness line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Marker {
    /// The first line of an arch's log: whose run it is (and, in a merged KTAP document,
    /// where that run's serial log is).
    Arch {
        arch: String,
        serial_log: Option<String>,
        /// Of a run split over several QEMU instances at once: which lane's log this is,
        /// of how many (see `session::lanes`).
        lane: Option<(u32, u32)>,
    },
    BootStarted {
        boot: u32,
        command: String,
    },
    /// `test_time`: how long the test that was running when the boot ended had run, by the
    /// harness's clock (absent when no test was running).
    BootEnded {
        boot: u32,
        end: BootEnd,
        test_time: Option<Duration>,
    },
    /// QEMU's own error output after a boot that did not end by the kernel's exit.
    QemuSaid {
        boot: u32,
        text: String,
    },
    HarnessError {
        message: String,
    },
    LogCapped {
        mib: u64,
    },
    Finished {
        boots: u32,
        wall_time: Option<Duration>,
        interrupted: Option<i32>,
    },
    /// A structured record of a merged KTAP document (`kind` says what the JSON holds),
    /// written over as many lines as it needs; see `session::merged`.
    Record {
        kind: String,
        json: String,
    },
    /// `--fail-fast`: the arch's run stops because `after` failed (here or in a sibling
    /// lane); every test still without a verdict is not run.
    FailFast {
        after: String,
    },
    /// The continuation of the record before it.
    RecordContinued {
        json: String,
    },
    /// A serial line that itself starts with [`MARKER`], kept apart from the harness's own
    /// lines (escaped); a replay reads it as the serial line it was.
    Serial {
        text: String,
    },
    /// What the log cannot show of the serial line after it: bytes dropped from its end (it
    /// was too long), or no newline (the stream ended in it).
    NextLine {
        dropped: usize,
        unterminated: bool,
    },
}

/// Writes one serial line to a log as the replay reads it back: the bytes as they came, or
/// kept apart if they could be taken for the harness's own, with what was cut recorded.
pub fn write_serial_line(out: &mut impl std::io::Write, line: &ktap::Line) -> std::io::Result<()> {
    if line.dropped > 0 || line.unterminated {
        writeln!(out, "{}", Marker::NextLine { dropped: line.dropped, unterminated: line.unterminated })?;
    }
    if line.bytes.starts_with(MARKER.as_bytes()) {
        writeln!(out, "{}", Marker::Serial { text: line.text() })
    } else {
        out.write_all(&line.bytes)?;
        out.write_all(b"\n")
    }
}

/// Text that may hold line breaks, on one line: `\` and line breaks escaped.
pub fn escape_line(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n").replace('\r', "\\r")
}

/// The inverse of [`escape_line`].
pub fn unescape_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn seconds(duration: Duration) -> String {
    format!("{:.3}", duration.as_secs_f64())
}

fn parse_seconds(text: &str) -> Option<Duration> {
    let value: f64 = text.trim().parse().ok()?;
    (0.0..1e12).contains(&value).then(|| Duration::from_secs_f64(value))
}

/// A duration as the markers keep it: whole milliseconds, so that the live run reports
/// exactly what a replay reads back.
pub fn to_millis(duration: Duration) -> Duration {
    Duration::from_millis(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

impl fmt::Display for Marker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MARKER)?;
        match self {
            Marker::Arch { arch, serial_log, lane } => {
                write!(f, "arch {arch}")?;
                if let Some((lane, lanes)) = lane {
                    write!(f, "; lane {lane} of {lanes}")?;
                }
                match serial_log {
                    Some(log) => write!(f, "; serial log {}", escape_line(log)),
                    None => Ok(()),
                }
            }
            Marker::BootStarted { boot, command } => write!(f, "boot {boot}: {command}"),
            Marker::BootEnded { boot, end, test_time } => {
                write!(f, "boot {boot} ended: ")?;
                match end {
                    BootEnd::Exited(KernelExit::Kernel(code)) => write!(f, "exit kernel {}", code.code())?,
                    BootEnd::Exited(KernelExit::Other(status)) => write!(f, "exit status {status}")?,
                    BootEnd::Exited(KernelExit::Signal(signal)) => write!(f, "exit signal {signal}")?,
                    BootEnd::TimedOut { seconds } => write!(f, "timeout {seconds}")?,
                    BootEnd::Interrupted { signal } => write!(f, "interrupted {signal}")?,
                    BootEnd::StreamEnded => write!(f, "unknown")?,
                    BootEnd::Stopped => write!(f, "stopped")?,
                }
                match test_time {
                    Some(time) => write!(f, "; test ran {} s", seconds(*time)),
                    None => Ok(()),
                }
            }
            Marker::QemuSaid { boot, text } => write!(f, "boot {boot} qemu said: {}", escape_line(text)),
            Marker::HarnessError { message } => write!(f, "harness error: {}", escape_line(message)),
            Marker::LogCapped { mib } => {
                write!(f, "serial log capped at {mib} MiB: later serial lines are not kept")
            }
            Marker::Finished { boots, wall_time, interrupted } => {
                write!(f, "finished: {boots} boots")?;
                if let Some(wall_time) = wall_time {
                    write!(f, " in {} s", seconds(*wall_time))?;
                }
                match interrupted {
                    Some(signal) => write!(f, ", interrupted by signal {signal}"),
                    None => Ok(()),
                }
            }
            Marker::Record { kind, json } => write!(f, "record {kind} {json}"),
            Marker::RecordContinued { json } => write!(f, "record+ {json}"),
            Marker::FailFast { after } => write!(f, "fail-fast after {}", escape_line(after)),
            Marker::Serial { text } => write!(f, "serial: {}", escape_line(text)),
            Marker::NextLine { dropped, unterminated } => {
                write!(f, "next line:")?;
                if *dropped > 0 {
                    write!(f, " cut {dropped}")?;
                }
                if *unterminated {
                    write!(f, " unterminated")?;
                }
                Ok(())
            }
        }
    }
}

impl Marker {
    /// Reads a harness line back: None for any other line, and for a line that starts like
    /// one but says nothing this harness writes (it is then kernel output).
    pub fn parse(line: &str) -> Option<Marker> {
        let rest = line.strip_prefix(MARKER)?;
        if let Some(arch) = rest.strip_prefix("arch ") {
            let (arch, serial_log) = match arch.split_once("; serial log ") {
                Some((arch, log)) => (arch, Some(unescape_line(log))),
                None => (arch, None),
            };
            let (arch, lane) = match arch.split_once("; lane ") {
                Some((arch, lane)) => {
                    let (lane, lanes) = lane.split_once(" of ")?;
                    (arch, Some((lane.trim().parse().ok()?, lanes.trim().parse().ok()?)))
                }
                None => (arch, None),
            };
            return Some(Marker::Arch { arch: arch.trim().to_string(), serial_log, lane });
        }
        if let Some(message) = rest.strip_prefix("harness error: ") {
            return Some(Marker::HarnessError { message: unescape_line(message) });
        }
        if let Some(capped) = rest.strip_prefix("serial log capped at ") {
            let mib = capped.split_whitespace().next()?.parse().ok()?;
            return Some(Marker::LogCapped { mib });
        }
        if let Some(finished) = rest.strip_prefix("finished: ") {
            return parse_finished(finished);
        }
        if let Some(record) = rest.strip_prefix("record ") {
            let (kind, json) = record.split_once(' ')?;
            return Some(Marker::Record { kind: kind.to_string(), json: json.to_string() });
        }
        if let Some(flags) = rest.strip_prefix("next line:") {
            let words: Vec<&str> = flags.split_whitespace().collect();
            let dropped = match words.iter().position(|word| *word == "cut") {
                Some(at) => words.get(at + 1)?.parse().ok()?,
                None => 0,
            };
            return Some(Marker::NextLine { dropped, unterminated: words.contains(&"unterminated") });
        }
        if let Some(text) = rest.strip_prefix("serial: ") {
            return Some(Marker::Serial { text: unescape_line(text) });
        }
        if let Some(after) = rest.strip_prefix("fail-fast after ") {
            return Some(Marker::FailFast { after: unescape_line(after) });
        }
        if let Some(json) = rest.strip_prefix("record+ ") {
            return Some(Marker::RecordContinued { json: json.to_string() });
        }
        let rest = rest.strip_prefix("boot ")?;
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let boot = rest[..digits].parse().ok()?;
        let rest = &rest[digits..];
        if let Some(command) = rest.strip_prefix(": ") {
            return Some(Marker::BootStarted { boot, command: command.to_string() });
        }
        if let Some(text) = rest.strip_prefix(" qemu said: ") {
            return Some(Marker::QemuSaid { boot, text: unescape_line(text) });
        }
        let ended = rest.strip_prefix(" ended: ")?;
        let (end, test_time) = match ended.split_once("; test ran ") {
            Some((end, time)) => (end, Some(parse_seconds(time.strip_suffix(" s")?)?)),
            None => (ended, None),
        };
        Some(Marker::BootEnded { boot, end: parse_end(end)?, test_time })
    }
}

fn parse_end(text: &str) -> Option<BootEnd> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let number = |index: usize| words.get(index).and_then(|word| word.parse::<i64>().ok());
    Some(match words.as_slice() {
        ["exit", "kernel", code] => BootEnd::Exited(KernelExit::Kernel(ExitCode::from_code(code.parse().ok()?)?)),
        ["exit", "status", _] => BootEnd::Exited(KernelExit::Other(number(2)?.try_into().ok()?)),
        ["exit", "signal", _] => BootEnd::Exited(KernelExit::Signal(number(2)?.try_into().ok()?)),
        ["timeout", _] => BootEnd::TimedOut { seconds: number(1)?.try_into().ok()? },
        ["interrupted", _] => BootEnd::Interrupted { signal: number(1)?.try_into().ok()? },
        ["stopped"] => BootEnd::Stopped,
        _ => BootEnd::StreamEnded,
    })
}

fn parse_finished(text: &str) -> Option<Marker> {
    let (main, interrupted) = match text.split_once(", interrupted by signal ") {
        Some((main, signal)) => (main, Some(signal.trim().parse().ok()?)),
        None => (text, None),
    };
    let (boots, wall_time) = match main.split_once(" boots in ") {
        Some((boots, time)) => (boots, Some(parse_seconds(time.strip_suffix(" s")?)?)),
        None => (main.strip_suffix(" boots")?, None),
    };
    Some(Marker::Finished { boots: boots.trim().parse().ok()?, wall_time, interrupted })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_marker_round_trips() {
        let markers = [
            Marker::Arch { arch: "riscv64".into(), serial_log: None, lane: None },
            Marker::Arch { arch: "riscv64".into(), serial_log: None, lane: Some((2, 3)) },
            Marker::Arch {
                arch: "x86_64".into(),
                serial_log: Some("target/x/runs/1-2/x86_64.serial.log".into()),
                lane: None,
            },
            Marker::BootStarted { boot: 3, command: "qemu-system-x86_64 -append 'ktest ktest.boot=3'".into() },
            Marker::BootEnded {
                boot: 1,
                end: BootEnd::Exited(KernelExit::Kernel(ExitCode::TestCrashed)),
                test_time: None,
            },
            Marker::BootEnded { boot: 2, end: BootEnd::Exited(KernelExit::Other(-1)), test_time: None },
            Marker::BootEnded {
                boot: 2,
                end: BootEnd::Exited(KernelExit::Signal(9)),
                test_time: Some(Duration::from_millis(512)),
            },
            Marker::BootEnded {
                boot: 4,
                end: BootEnd::TimedOut { seconds: 3 },
                test_time: Some(Duration::from_secs(3)),
            },
            Marker::BootEnded { boot: 5, end: BootEnd::Interrupted { signal: 2 }, test_time: None },
            Marker::BootEnded { boot: 6, end: BootEnd::StreamEnded, test_time: None },
            Marker::BootEnded { boot: 7, end: BootEnd::Stopped, test_time: None },
            Marker::FailFast { after: "kernel::tests::a\nb".into() },
            Marker::QemuSaid { boot: 2, text: "qemu: line one\nline \\two".into() },
            Marker::HarnessError { message: "cannot run QEMU\nbecause".into() },
            Marker::LogCapped { mib: 32 },
            Marker::Finished { boots: 4, wall_time: Some(Duration::from_millis(1234)), interrupted: None },
            Marker::Finished { boots: 2, wall_time: None, interrupted: None },
            Marker::Finished { boots: 1, wall_time: Some(Duration::from_millis(7)), interrupted: Some(15) },
            Marker::Record { kind: "attempt".into(), json: "{\"a\": 1".into() },
            Marker::RecordContinued { json: "}".into() },
            Marker::Serial { text: "# xtask: boot 9 ended: exit kernel 0".into() },
            Marker::NextLine { dropped: 139264, unterminated: false },
            Marker::NextLine { dropped: 0, unterminated: true },
            Marker::NextLine { dropped: 5, unterminated: true },
        ];
        for marker in markers {
            assert_eq!(Marker::parse(&marker.to_string()), Some(marker.clone()), "{marker}");
        }
    }

    #[test]
    fn lines_that_are_not_markers_are_none() {
        for line in ["ok 1 a", "# start a", "# xtask: something else", "# xtask: boot x: y", "# xtask: finished: soon"]
        {
            assert_eq!(Marker::parse(line), None, "{line}");
        }
    }

    #[test]
    fn escaping_round_trips_any_text() {
        for text in ["", "a\\b", "line\nbreak\r\n", "\\n literally", "trailing\\"] {
            assert_eq!(unescape_line(&escape_line(text)), text);
            assert!(!escape_line(text).contains('\n'));
        }
    }
}
