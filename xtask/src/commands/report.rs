//! `cargo xtask report LOG...`: the report of saved logs (a CI artifact, say), exactly as
//! the live run printed it, with the same exit status: a serial log, a merged `<arch>.ktap`,
//! or any KTAP stream. Each log is read as it streams, through the same session as a live
//! run, into the same reporters.

use super::Context;
use crate::report::{Collector, Destinations, Format};
use crate::session::{Marker, replay_reader};
use crate::summary::NoTests;
use anyhow::{Context as _, Result};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Report {
    /// Serial logs (`target/xtask/runs/latest/<arch>.serial.log`), merged KTAP documents
    /// (`<arch>.ktap`), or any KTAP stream.
    #[arg(required = true)]
    logs: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Also write a JUnit XML report here.
    #[arg(long, value_name = "PATH")]
    junit: Option<PathBuf>,
    /// Also write libtest's JSON lines here (whatever `--format` prints).
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Also write the run as one HTML page here (verdict matrix, durations against the
    /// remembered ones, failures in full, links to the logs).
    #[arg(long, value_name = "PATH")]
    html: Option<PathBuf>,
    /// Show each boot (QEMU's command line), plan and note as it happens.
    #[arg(short, long)]
    verbose: bool,
    /// Colour in the human display: `auto` (on a terminal, unless NO_COLOR is set), `always`,
    /// `never` [default: CARGO_TERM_COLOR, else auto].
    #[arg(long, value_enum, value_name = "WHEN")]
    color: Option<crate::report::text::Color>,
    /// What logs in which no test ran come to: `fail` (exit 1, the default), `warn`, `pass`.
    #[arg(long, value_enum, value_name = "WHAT", default_value = "fail")]
    no_tests: NoTests,
}

/// The first line of a log (whose arch it is, if the harness wrote it) and the rest; a file
/// that is not text is refused, naming what it looks like.
fn open(path: &Path) -> Result<(Option<Marker>, impl Read + use<>)> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot read the log `{}`", path.display()))?;
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let head = reader.fill_buf().with_context(|| format!("cannot read the log `{}`", path.display()))?;
    if let Some(what) = binary_kind(head) {
        anyhow::bail!(
            "`{}` is {what}, not a log: `report` reads serial logs, merged `<arch>.ktap` documents and KTAP text",
            path.display()
        );
    }
    let mut first = Vec::new();
    (&mut reader)
        .take(ktap::MAX_LINE as u64)
        .read_until(b'\n', &mut first)
        .with_context(|| format!("cannot read the log `{}`", path.display()))?;
    let marker = Marker::parse(String::from_utf8_lossy(&first).trim_end());
    Ok((marker, std::io::Cursor::new(first).chain(reader)))
}

/// What the start of a file says it is, if it is not text: an ELF image, or binary data (a
/// tenth of its first bytes NUL or control characters; a kernel's stray bytes in a serial
/// log are far fewer).
fn binary_kind(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"\x7fELF") {
        return Some("an ELF file (a kernel image?)");
    }
    let head = &head[..head.len().min(4096)];
    let odd = head.iter().filter(|&&byte| byte == 0 || (byte < 0x20 && !b"\t\n\r\x1b".contains(&byte))).count();
    (head.len() >= 64 && odd * 10 >= head.len()).then_some("binary data")
}

/// Where a log's sources are: this checkout, and the default kernel's entry (where its
/// backtraces end; a log does not say which kernel made it).
pub fn default_sources(context: &Context) -> crate::session::Sources {
    let entry_symbol = crate::kernel_package::KernelPackage::select(&context.workspace, None)
        .ok()
        .map(|kernel| kernel.metadata.entry_symbol);
    crate::session::Sources { root: context.workspace.root().to_path_buf(), entry_symbol }
}

/// A log to read: its path and its bytes.
type Opened = (PathBuf, Box<dyn Read>);

/// The serial logs of every lane of an arch split over `of` lanes, from the directory of
/// one of them; a missing one is an error naming it.
fn lane_logs(dir: &Path, arch: &str, of: u32) -> Result<Vec<Opened>> {
    (1..=of as usize)
        .map(|lane| {
            let path = crate::runner::parallel::lane_log(dir, arch, lane);
            let file = std::fs::File::open(&path).with_context(|| {
                format!("{arch} ran in {of} lanes, and lane {lane}'s log `{}` cannot be read", path.display())
            })?;
            Ok((path, Box::new(BufReader::with_capacity(64 * 1024, file)) as Box<dyn Read>))
        })
        .collect()
}

/// What a log is called in the report: the arch it names, else its file name.
fn label_of(path: &Path, marker: Option<&Marker>) -> String {
    if let Some(Marker::Arch { arch, .. }) = marker {
        return arch.clone();
    }
    let file_name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
    [".serial.log", ".ktap"]
        .iter()
        .find_map(|suffix| file_name.strip_suffix(suffix))
        .map_or(file_name.clone(), str::to_string)
}

impl Report {
    pub fn run(self, context: &Context) -> Result<ExitCode> {
        crate::ui::quiet_unless(self.verbose);
        let destinations = Destinations {
            format: self.format,
            json: self.json.clone(),
            junit: self.junit.clone(),
            verbose: self.verbose,
            color: self.color,
            show_output: false,
        };
        destinations.check_writable()?;
        if let Some(path) = &self.html {
            crate::fsutil::check_writable(path)?;
        }
        let mut labels: Vec<(String, PathBuf)> = Vec::new();
        let mut opened: Vec<(String, Vec<Opened>)> = Vec::new();
        let mut lane_groups_seen: Vec<PathBuf> = Vec::new();
        for path in &self.logs {
            let (marker, reader) = open(path)?;
            // A lane's log brings its whole arch: every lane of the split, read as one stream.
            let lanes = match &marker {
                Some(Marker::Arch { arch, lane: Some((_, of)), .. }) => {
                    let dir = path.parent().unwrap_or(Path::new("."));
                    let first = crate::runner::parallel::lane_log(dir, arch, 1);
                    if lane_groups_seen.contains(&first) {
                        continue;
                    }
                    lane_groups_seen.push(first);
                    Some(lane_logs(dir, arch, *of)?)
                }
                _ => None,
            };
            let mut label = label_of(path, marker.as_ref());
            if labels.iter().any(|(used, _)| *used == label) {
                label = format!("{label} ({})", path.display());
            }
            // A merged document names the serial log of its run: that is where to look.
            let log = match &marker {
                Some(Marker::Arch { serial_log: Some(log), .. }) => PathBuf::from(log),
                _ if lanes.is_some() => lanes.as_ref().map(|lanes| lanes[0].0.clone()).unwrap_or_default(),
                _ => path.clone(),
            };
            labels.push((label.clone(), log));
            let readers = match lanes {
                Some(lanes) => lanes,
                None => vec![(path.clone(), Box::new(reader) as Box<dyn Read>)],
            };
            opened.push((label, readers));
        }
        let mut collector = Collector::new(destinations.replay_reporters(), &labels);
        for (label, readers) in opened {
            let mut merge = crate::session::lanes::Lanes::new(readers.len());
            for (path, reader) in readers {
                replay_reader(reader, default_sources(context), |event| {
                    if let Some(event) = merge.pass(event) {
                        collector.event(&label, &event);
                    }
                })
                .with_context(|| format!("cannot read the log `{}`", path.display()))?;
            }
        }
        let (summary, written) = collector.finish();
        written?;
        if let Some(path) = &self.html {
            let history =
                crate::plan::durations::Durations::load(&crate::plan::durations::path(&context.workspace.xtask_dir()));
            let title = format!("cargo xtask report: {} log(s)", self.logs.len());
            crate::report::html::write(&summary, &history, &title, path)?;
        }
        if self.format == Format::Human {
            // Which failures can be replayed, for logs in a run directory with recordings.
            for line in crate::record::failures::recordings_of_failures(&summary, &labels) {
                println!("{line}");
            }
        }
        if summary.verdict() == crate::summary::ArchVerdict::NoTests && self.no_tests != NoTests::Pass {
            eprintln!("no tests ran: no test result in {}", self.logs.len().to_string() + " log(s)");
        }
        Ok(ExitCode::from(summary.exit_status(self.no_tests, crate::summary::FlakyResult::Pass)))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn binary_files_are_told_from_logs_with_a_stray_byte() {
        assert_eq!(super::binary_kind(b"\x7fELF\x02\x01\x01"), Some("an ELF file (a kernel image?)"));
        assert_eq!(super::binary_kind(&[0u8; 512]), Some("binary data"));
        let log = format!("KTAP version 1\n1..1\n{}\0 and a bell \x07\nok 1 a\n", "x".repeat(200));
        assert_eq!(super::binary_kind(log.as_bytes()), None);
        assert_eq!(super::binary_kind(b""), None);
    }
}
