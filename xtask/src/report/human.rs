//! The human display. Quiet by default: a line per verdict (a failure's message under it)
//! and per problem as they happen, labelled with the arch; at the end each failure in full
//! (message, backtrace, what the test printed, where the log is), the problems, a table per
//! arch, the failed tests by name, and the result. `-v` adds the boots (QEMU's command
//! lines), plans and notes as they happen. Everything from the kernel is shown escaped.

use super::text::{printable, style, styled};
use super::{Reporter, format_duration};
use crate::events::{Attempt, Event, Outcome, Severity, Status, Verdict};
use crate::summary::{ArchSummary, ArchVerdict, RunSummary};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// Lines of a failed test's own output shown in the summary (the log has them all).
const OUTPUT_SHOWN: usize = 10;
/// Serial lines shown with a problem.
const EXCERPT_SHOWN: usize = 10;

pub struct Human<W: Write> {
    out: W,
    verbose: bool,
    /// Every test's own output under its verdict (libtest's `--nocapture`/`--show-output`).
    show_output: bool,
    label_width: usize,
}

impl<W: Write> Human<W> {
    pub fn new(out: W, verbose: bool) -> Human<W> {
        Human { out, verbose, show_output: false, label_width: 7 }
    }

    /// Shows what each test printed under its verdict line.
    pub fn showing_output(self, show_output: bool) -> Human<W> {
        Human { show_output, ..self }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn label(&mut self, arch: &str) -> String {
        self.label_width = self.label_width.max(arch.len());
        format!("[{arch:<width$}]", width = self.label_width)
    }
}

/// The word for a status, and its style: `FAILED (reason)` only where the reason says more
/// than `FAILED` does.
fn status_word(status: &Status) -> (String, anstyle::Style) {
    match status {
        Status::Passed => ("ok".into(), style::OK),
        Status::Failed(crate::events::Reason::Failed) => ("FAILED".into(), style::FAILED),
        Status::Failed(reason) => (format!("FAILED ({})", reason.as_str()), style::FAILED),
        Status::Ignored(_) => ("ignored".into(), style::MUTED),
        Status::NotRun(_) => ("NOT RUN".into(), style::FAILED),
        Status::Flaky(reason) => (format!("FLAKY ({})", reason.as_str()), style::FLAKY),
    }
}

/// A path as short as it can be read: relative to the current directory when inside it.
fn shown(path: &Path) -> String {
    let relative = std::env::current_dir().ok().and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf));
    relative.unwrap_or_else(|| path.to_path_buf()).display().to_string()
}

/// The line a finished attempt gets, in the light of the attempts before it, and its
/// message's lines under it.
fn attempt_lines(label: &str, attempt: &Attempt, outcome: Option<&Outcome>) -> Vec<String> {
    let status = match outcome {
        Some(outcome) if outcome.last() == attempt => outcome.status(),
        _ => Outcome { name: attempt.name.clone(), attempts: vec![attempt.clone()] }.status(),
    };
    let (word, word_style) = status_word(&status);
    let mut line = format!("{label} {} {}", styled(word_style, &format!("{word:<16}")), printable(&attempt.name));
    if let Some(duration) = attempt.duration {
        line.push_str(&format!(" {}", styled(style::MUTED, &format_duration(duration))));
    }
    if let Verdict::Ignored(reason) | Verdict::NotRun(reason) = &attempt.verdict {
        line.push_str(&format!(" ({})", printable(reason)));
    }
    if attempt.number > 1 {
        line.push_str(&format!(" [attempt {}]", attempt.number));
    }
    let mut lines = vec![line];
    if matches!(attempt.verdict, Verdict::Failed(_)) {
        for message_line in attempt.message.iter().flat_map(|message| message.lines()) {
            lines.push(format!("{label}     {}", printable(message_line)));
        }
    }
    lines
}

impl<W: Write> Reporter for Human<W> {
    fn event(&mut self, arch: &str, event: &Event, fold: &ArchSummary) {
        let label = self.label(arch);
        let lines: Vec<String> = match event {
            Event::BootStarted { boot, command, .. } if self.verbose => {
                vec![styled(style::MUTED, &format!("{label} boot {boot}: $ {}", printable(command)))]
            }
            Event::BootEnded { boot, end } if self.verbose => {
                vec![styled(style::MUTED, &format!("{label} boot {boot} ended: {end}"))]
            }
            Event::Planned { boot, names } if self.verbose => {
                vec![styled(style::MUTED, &format!("{label} boot {boot} runs {} test(s)", names.len()))]
            }
            Event::AttemptFinished(attempt) => {
                let outcome = fold.outcome(&attempt.name);
                let mut lines = attempt_lines(&label, attempt, outcome);
                if self.show_output {
                    lines.extend(attempt.output.iter().map(|line| format!("{label}     | {}", printable(line))));
                }
                lines
            }
            Event::Diagnostic(diagnostic) => match diagnostic.severity {
                Severity::Note if !self.verbose => Vec::new(),
                Severity::Note => {
                    vec![styled(style::NOTE, &format!("{label} note: {}", printable(&diagnostic.kind.to_string())))]
                }
                Severity::Problem => vec![styled(
                    style::PROBLEM,
                    &format!(
                        "{label} problem in boot {}: {}",
                        diagnostic.boot,
                        printable(&diagnostic.kind.to_string())
                    ),
                )],
                Severity::Error => {
                    vec![styled(style::FAILED, &format!("{label} error: {}", printable(&diagnostic.kind.to_string())))]
                }
            },
            Event::DebugAttach { test, command } => {
                debug_stop_text(&label, test, command).lines().map(String::from).collect()
            }
            Event::Unreported { count, why } => {
                vec![styled(
                    style::FAILED,
                    &format!("{label} {count} planned test(s) never reported ({})", printable(why)),
                )]
            }
            _ => Vec::new(),
        };
        for line in lines {
            let _ = writeln!(self.out, "{line}");
        }
    }

    fn finish(&mut self, summary: &RunSummary) -> anyhow::Result<()> {
        let _ = print_summary(&mut self.out, summary);
        if std::env::var("GITHUB_ACTIONS").is_ok_and(|value| value == "true") {
            for arch in &summary.arches {
                for outcome in arch.outcomes.iter().filter(|outcome| outcome.status().is_failure()) {
                    let _ = writeln!(self.out, "{}", super::github::annotation(&arch.arch, outcome));
                }
            }
        }
        let _ = self.out.flush();
        Ok(())
    }
}

/// What `--debug-failures` prints when a failed test stops the kernel.
pub fn debug_stop_text(label: &str, test: &str, command: &str) -> String {
    let test = printable(test);
    format!(
        "{label} {test} failed; the kernel is stopped with its state intact. Attach with:\n\
         {label}     {command}\n\
         {label} (`detach` in gdb lets the run go on; Ctrl-C here ends it)"
    )
}

/// One failure in full.
fn print_failure(out: &mut impl Write, arch: &ArchSummary, outcome: &Outcome) -> std::io::Result<()> {
    let attempt = outcome.explaining_attempt();
    let (word, word_style) = status_word(&outcome.status());
    let after = attempt.duration.map(|duration| format!(" after {}", format_duration(duration))).unwrap_or_default();
    writeln!(
        out,
        "\n{}: {} {}{after}",
        arch.arch,
        styled(style::HEADING, &printable(&outcome.name)),
        styled(word_style, &word)
    )?;
    for line in attempt.message.iter().flat_map(|message| message.lines()) {
        writeln!(out, "    {}", printable(line))?;
    }
    if !attempt.backtrace.is_empty() {
        writeln!(out, "    backtrace:")?;
        for (index, frame) in attempt.backtrace.iter().enumerate() {
            writeln!(out, "      {index:>2}: {}", printable(frame))?;
        }
    }
    if !attempt.output.is_empty() {
        let skipped = attempt.output.len().saturating_sub(OUTPUT_SHOWN);
        writeln!(
            out,
            "    it printed{}:",
            if skipped > 0 { format!(" (last {OUTPUT_SHOWN} lines)") } else { String::new() }
        )?;
        for line in &attempt.output[skipped..] {
            writeln!(out, "      | {}", printable(line))?;
        }
    }
    writeln!(out, "    serial log: {} (boot {})", shown(&arch.log), attempt.boot)
}

/// The end-of-run summary.
pub fn print_summary(out: &mut impl Write, summary: &RunSummary) -> std::io::Result<()> {
    let failures: Vec<(&ArchSummary, &Outcome)> = summary
        .arches
        .iter()
        .flat_map(|arch| arch.outcomes.iter().filter(|o| o.status().is_failure()).map(move |o| (arch, o)))
        .collect();
    if !failures.is_empty() {
        writeln!(out, "\n{}", styled(style::HEADING, "failures:"))?;
        for (arch, outcome) in &failures {
            print_failure(out, arch, outcome)?;
        }
    }
    for (severity, title) in [(Severity::Problem, "problems"), (Severity::Error, "errors"), (Severity::Note, "notes")] {
        let found: Vec<_> = summary
            .arches
            .iter()
            .flat_map(|arch| arch.with_severity(severity).map(move |diagnostic| (arch, diagnostic)))
            .collect();
        if found.is_empty() {
            continue;
        }
        writeln!(out, "\n{}", styled(style::HEADING, &format!("{title}:")))?;
        for (arch, diagnostic) in found {
            let boot = if diagnostic.boot > 0 { format!(" (boot {})", diagnostic.boot) } else { String::new() };
            writeln!(out, "  {}{boot}: {}", arch.arch, printable(&diagnostic.kind.to_string()))?;
            if severity > Severity::Note {
                let skipped = diagnostic.excerpt.len().saturating_sub(EXCERPT_SHOWN);
                for line in &diagnostic.excerpt[skipped..] {
                    writeln!(out, "      | {}", printable(line))?;
                }
                writeln!(out, "    serial log: {}", shown(&arch.log))?;
            }
        }
    }
    let flaky: Vec<String> = summary
        .arches
        .iter()
        .flat_map(|arch| {
            arch.outcomes.iter().filter(|o| matches!(o.status(), Status::Flaky(_))).map(move |outcome| {
                let first = outcome.explaining_attempt().message.as_deref().and_then(|m| m.lines().next());
                let first = first.map(|line| format!(": first {}", printable(line))).unwrap_or_default();
                format!("  {}: {} ({} attempts){first}", arch.arch, printable(&outcome.name), outcome.attempts.len())
            })
        })
        .collect();
    if !flaky.is_empty() {
        writeln!(
            out,
            "
{}",
            styled(style::HEADING, "flaky (failed, then passed when run again):")
        )?;
        for line in flaky {
            writeln!(out, "{line}")?;
        }
    }
    print_table(out, summary)?;
    let differences = cross_arch_differences(summary);
    if !differences.is_empty() {
        writeln!(out, "\ndiffering between architectures:")?;
        for line in differences {
            writeln!(out, "  {line}")?;
        }
    }
    let unsuccessful: Vec<String> = summary
        .arches
        .iter()
        .flat_map(|arch| {
            arch.outcomes
                .iter()
                .filter(|o| matches!(o.status(), Status::Failed(_) | Status::NotRun(_)))
                .map(move |o| format!("    {}: {}", arch.arch, printable(&o.name)))
        })
        .collect();
    if !unsuccessful.is_empty() {
        writeln!(out, "\n{}", styled(style::HEADING, "failures:"))?;
        for line in unsuccessful.iter().take(50) {
            writeln!(out, "{line}")?;
        }
        if unsuccessful.len() > 50 {
            writeln!(out, "    ... and {} more (the JSON and JUnit reports list them all)", unsuccessful.len() - 50)?;
        }
    }
    let total = summary.counts();
    let (verdict, verdict_style) = match summary.verdict() {
        ArchVerdict::Passed => ("ok", style::OK),
        ArchVerdict::NoTests => ("no tests ran", style::FAILED),
        ArchVerdict::Failed | ArchVerdict::HarnessError => ("FAILED", style::FAILED),
    };
    let mut extra = String::new();
    if total.not_run > 0 {
        extra.push_str(&format!(", {} not run", total.not_run));
    }
    if total.flaky > 0 {
        extra.push_str(&format!(", {} flaky", total.flaky));
    }
    if let Some(signal) = summary.interrupted() {
        extra.push_str(&format!("; interrupted by signal {signal}"));
    }
    writeln!(
        out,
        "\ntest result: {}. {} passed, {} failed, {} ignored{extra}",
        styled(verdict_style, verdict),
        total.passed,
        total.failed,
        total.ignored
    )
}

fn print_table(out: &mut impl Write, summary: &RunSummary) -> std::io::Result<()> {
    writeln!(
        out,
        "\n{:<10} {:>6} {:>6} {:>7} {:>7} {:>5} {:>5} {:>8}  serial log",
        "arch", "passed", "failed", "ignored", "not run", "flaky", "boots", "time"
    )?;
    for arch in &summary.arches {
        let counts = arch.counts();
        let time = arch.wall_time.map(|time| format!("{:.2} s", time.as_secs_f64())).unwrap_or_else(|| "-".into());
        writeln!(
            out,
            "{:<10} {:>6} {:>6} {:>7} {:>7} {:>5} {:>5} {:>8}  {}",
            arch.arch,
            counts.passed,
            counts.failed,
            counts.ignored,
            counts.not_run,
            counts.flaky,
            arch.boots,
            time,
            shown(&arch.log)
        )?;
    }
    if summary.arches.len() > 1 {
        let total = summary.counts();
        writeln!(
            out,
            "{:<10} {:>6} {:>6} {:>7} {:>7} {:>5}",
            "total", total.passed, total.failed, total.ignored, total.not_run, total.flaky
        )?;
    }
    print_crate_table(out, summary)
}

/// The same counts by crate (the first segment of a test's name), over every arch, when the
/// tests come from more than one crate.
fn print_crate_table(out: &mut impl Write, summary: &RunSummary) -> std::io::Result<()> {
    let mut by_crate: BTreeMap<String, crate::summary::Counts> = BTreeMap::new();
    for arch in &summary.arches {
        for outcome in &arch.outcomes {
            let name = printable(&outcome.name).into_owned();
            let krate = name.split("::").next().unwrap_or_default().to_string();
            let counts = by_crate.entry(krate).or_default();
            match outcome.status() {
                Status::Passed => counts.passed += 1,
                Status::Failed(_) => counts.failed += 1,
                Status::Ignored(_) => counts.ignored += 1,
                Status::NotRun(_) => counts.not_run += 1,
                Status::Flaky(_) => counts.flaky += 1,
            }
        }
    }
    if by_crate.len() < 2 {
        return Ok(());
    }
    writeln!(
        out,
        "
{:<10} {:>6} {:>6} {:>7} {:>7} {:>5}",
        "crate", "passed", "failed", "ignored", "not run", "flaky"
    )?;
    for (krate, counts) in by_crate {
        writeln!(
            out,
            "{krate:<10} {:>6} {:>6} {:>7} {:>7} {:>5}",
            counts.passed, counts.failed, counts.ignored, counts.not_run, counts.flaky
        )?;
    }
    Ok(())
}

/// One line per test whose verdict is not the same on every arch that ran it.
pub fn cross_arch_differences(summary: &RunSummary) -> Vec<String> {
    if summary.arches.len() < 2 {
        return Vec::new();
    }
    let mut by_test: BTreeMap<&str, Vec<(&str, Status)>> = BTreeMap::new();
    for arch in &summary.arches {
        for outcome in &arch.outcomes {
            by_test.entry(&outcome.name).or_default().push((&arch.arch, outcome.status()));
        }
    }
    let width = by_test.keys().map(|name| name.len()).max().unwrap_or(0);
    by_test
        .into_iter()
        .filter(|(_, statuses)| {
            let failed = statuses.iter().filter(|(_, status)| status.is_failure()).count();
            failed > 0 && failed < statuses.len()
        })
        .map(|(name, statuses)| {
            let cells: Vec<String> = summary
                .arches
                .iter()
                .map(|arch| {
                    let status = statuses.iter().find(|(name, _)| *name == arch.arch).map(|(_, status)| status);
                    let word = match status {
                        None => "-".to_string(),
                        Some(Status::Failed(_)) => "FAILED".to_string(),
                        Some(status) => status_word(status).0,
                    };
                    format!("{}: {word}", arch.arch)
                })
                .collect();
            format!("{:<width$}  {}", printable(name), cells.join("  "))
        })
        .collect()
}

#[cfg(test)]
mod tests;
