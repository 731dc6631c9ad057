//! Reporters: everything a person or a tool reads of a run, each a function of the event
//! stream.
//!
//! A reporter sees every event as it happens (with its arch's fold so far, for the events
//! whose meaning depends on what came before, like a retry that passes), then the finished
//! [`RunSummary`]. `human` prints lines and the summary, `libtest` libtest's JSON lines,
//! `junit` and `ktap` write files, `github` annotations. `cargo xtask report` replays
//! saved logs into the same calls, so a log and a live run report the same.

pub mod github;
pub mod html;
pub mod human;
pub mod junit;
pub mod ktap;
pub mod libtest;
pub mod text;

use crate::events::Event;
use crate::summary::{ArchSummary, RunSummary};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// Prints a run as it goes and sums it up at the end.
pub trait Reporter {
    /// `event` happened on `arch`; `fold` is that arch's summary with the event applied.
    fn event(&mut self, arch: &str, event: &Event, fold: &ArchSummary);
    /// The run is over: the summary, and any file this reporter writes.
    fn finish(&mut self, summary: &RunSummary) -> anyhow::Result<()>;
}

/// Where a run's reports go: stdout in one format, and files.
#[derive(Clone, Debug)]
pub struct Destinations {
    pub format: Format,
    /// libtest's JSON lines, also written to this file (`--json PATH`).
    pub json: Option<std::path::PathBuf>,
    /// JUnit XML, written to this file (`--junit PATH`).
    pub junit: Option<std::path::PathBuf>,
    /// The human display also shows boots, plans and notes as they happen (`-v`).
    pub verbose: bool,
    /// `--color`, if given.
    pub color: Option<text::Color>,
    /// The human display shows what each test printed (libtest's `--nocapture`).
    pub show_output: bool,
}

impl Destinations {
    /// The reporters these destinations need, for a live run (every JSON line on stdout as
    /// it is made).
    pub fn reporters(&self) -> Vec<Box<dyn Reporter>> {
        self.reporters_with(libtest::Json::to_stdout)
    }

    /// The reporters for a saved log read back: the same, with stdout's JSON lines written a
    /// block at a time.
    pub fn replay_reporters(&self) -> Vec<Box<dyn Reporter>> {
        self.reporters_with(libtest::Json::to_stdout_buffered)
    }

    fn reporters_with(&self, json_to_stdout: fn() -> libtest::Json) -> Vec<Box<dyn Reporter>> {
        let mut reporters: Vec<Box<dyn Reporter>> = vec![match self.format {
            Format::Human => {
                let stdout = anstream::AutoStream::new(std::io::stdout(), text::Color::resolve(self.color));
                Box::new(human::Human::new(stdout, self.verbose).showing_output(self.show_output))
            }
            Format::Json => Box::new(json_to_stdout()),
        }];
        if let Some(path) = &self.json {
            reporters.push(Box::new(libtest::Json::to_file(path)));
        }
        if let Some(path) = &self.junit {
            reporters.push(Box::new(junit::Junit(path.clone())));
        }
        reporters
    }

    /// Refuses a report path that could not be written, before anything runs.
    pub fn check_writable(&self) -> anyhow::Result<()> {
        for path in self.json.iter().chain(&self.junit) {
            crate::fsutil::check_writable(path)?;
        }
        Ok(())
    }
}

/// Folds each arch's events and hands them to the reporters: the one path from events to
/// reports, for live runs and replays alike.
pub struct Collector {
    reporters: Vec<Box<dyn Reporter>>,
    summary: RunSummary,
}

impl Collector {
    /// `arches`: every arch the run selected, with its serial log, in the order to report.
    pub fn new(reporters: Vec<Box<dyn Reporter>>, arches: &[(String, std::path::PathBuf)]) -> Collector {
        let arches = arches.iter().map(|(arch, log)| ArchSummary::new(arch, log.clone())).collect();
        Collector { reporters, summary: RunSummary { arches } }
    }

    /// Folds `event` into its arch and reports it; returns that arch's fold.
    pub fn event(&mut self, arch: &str, event: &Event) -> &ArchSummary {
        let index = match self.summary.arches.iter().position(|summary| summary.arch == arch) {
            Some(index) => index,
            None => {
                self.summary.arches.push(ArchSummary::new(arch, Default::default()));
                self.summary.arches.len() - 1
            }
        };
        let fold = &mut self.summary.arches[index];
        fold.apply(event);
        for reporter in &mut self.reporters {
            reporter.event(arch, event, fold);
        }
        fold
    }

    /// The run is over: every reporter's summary and files, and the folded run. Every
    /// reporter finishes even if one cannot write its file; the first error is returned.
    pub fn finish(mut self) -> (RunSummary, anyhow::Result<()>) {
        let mut result = Ok(());
        for reporter in &mut self.reporters {
            if let Err(error) = reporter.finish(&self.summary)
                && result.is_ok()
            {
                result = Err(error);
            }
        }
        (self.summary, result)
    }
}

/// How long something took, as people read it.
pub fn format_duration(duration: std::time::Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds < 1e-3 {
        format!("{:.1} µs", seconds * 1e6)
    } else if seconds < 1.0 {
        format!("{:.1} ms", seconds * 1e3)
    } else {
        format!("{seconds:.2} s")
    }
}
