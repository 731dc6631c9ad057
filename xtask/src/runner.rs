//! Runs a test image on one architecture, boot after boot, until every selected test has
//! a verdict; and runs several architectures in parallel.
//!
//! Each boot is one QEMU; its serial lines go to the arch's log and through a [`Session`],
//! which decides the verdicts. A test that ends the boot (panic, fault, timeout) costs one
//! more boot, resumed after it with `ktest.after=NAME`.

use crate::arch::Arch;
use crate::exit::KernelExit;
use crate::qemu::{GdbServer, Launch, Next as QemuNext, RunningQemu};
use crate::session::{BootEnd, Event, Marker, Next, Problem, Session, Status};
use anyhow::{Context, Result};
use kernel_abi::cmdline::{Filters, Request};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

/// What every arch's run shares.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub filters: Vec<String>,
    pub exact: bool,
    /// Default per-test timeout (a test's own `timeout` overrides it).
    pub timeout: Duration,
    pub machine: Option<String>,
    pub extra_qemu_args: Vec<String>,
    /// `--debug-failures`: a failed test stops the kernel for this debugger.
    pub debug_failures: Option<DebugFailures>,
    /// Backtraces show source paths relative to this (the repository root).
    pub source_root: PathBuf,
    /// `--partition`: run one slice of the selected tests.
    pub partition: Option<kernel_abi::partition::Partition>,
    /// `--retries`: how many times a failed test is run again.
    pub retries: u32,
}

/// How `--debug-failures` lets a person attach to a stopped kernel.
#[derive(Clone, Debug)]
pub struct DebugFailures {
    /// The debugger named in the attach command.
    pub gdb: PathBuf,
    /// Where the attach scripts go (the run directory).
    pub script_dir: PathBuf,
    /// Where the sources are, for the attach script.
    pub sources: crate::debugger::SourcePaths,
}

/// What one arch's run reports as it goes.
#[derive(Clone, Debug)]
pub enum Progress {
    BootStarted {
        boot: u32,
        command: String,
    },
    Session(Event),
    Problem(Problem),
    /// `--debug-failures`: `test` failed and the kernel waits; `command` attaches to it.
    DebugStop {
        test: String,
        command: String,
    },
}

/// One arch's finished run.
#[derive(Debug)]
pub struct ArchRun {
    pub arch: String,
    pub session: Session,
    pub log: PathBuf,
    pub boots: u32,
    pub wall_time: Duration,
}

/// Everything needed to boot one arch's test image.
pub struct Target<'a> {
    pub arch: &'a Arch,
    pub qemu_binary: PathBuf,
    pub image: &'a Path,
}

/// What one boot is for.
#[derive(Clone, Copy)]
enum Purpose<'n> {
    /// Run the selected tests, after this one (if any).
    Run { after: Option<&'n str> },
    /// Print the selected tests' names.
    List,
    /// Run this one failed test again, for the `attempt`-th time.
    Retry { test: &'n str, attempt: u32 },
}

/// The kernel command line for one boot.
fn request_line(options: &RunOptions, purpose: Purpose<'_>, boot: u32) -> Result<String> {
    let mut filters = Filters::default();
    let mut exact = options.exact;
    let (mut after, mut partition, mut attempt) = (None, options.partition, 0);
    let selection: Vec<&str> = match purpose {
        Purpose::Run { after: resume } => {
            after = resume;
            options.filters.iter().map(String::as_str).collect()
        }
        Purpose::List => options.filters.iter().map(String::as_str).collect(),
        Purpose::Retry { test, attempt: retry } => {
            // Just that test: by its exact name, whatever the run's slice.
            (exact, partition, attempt) = (true, None, retry);
            vec![test]
        }
    };
    for filter in selection {
        filters.push(filter).map_err(|error| {
            anyhow::anyhow!("test filter `{filter}`: {error} (filters are single words without commas)")
        })?;
    }
    let request = Request {
        run_tests: !matches!(purpose, Purpose::List),
        list: matches!(purpose, Purpose::List),
        exact,
        panic: false,
        debug: options.debug_failures.is_some(),
        gdbstub: Default::default(),
        filters,
        after,
        partition,
        attempt,
        boot,
    };
    let mut line = String::new();
    request.write_to(&mut line).expect("writing to a String cannot fail");
    Ok(line)
}

/// One arch's run in progress: its log, session and boot count.
struct ArchRunner<'a, 't> {
    target: &'a Target<'t>,
    options: &'a RunOptions,
    log: SerialLog,
    session: Session,
    boot: u32,
    progress: &'a Sender<(String, Progress)>,
}

impl ArchRunner<'_, '_> {
    fn send(&self, item: Progress) {
        // The receiver only goes away when the whole run is over.
        let _ = self.progress.send((self.target.arch.name.clone(), item));
    }

    /// One boot, start to end, through the session.
    fn boot(&mut self, purpose: Purpose<'_>) -> Result<Next> {
        self.boot += 1;
        let boot = self.boot;
        self.session.begin_boot(boot, matches!(purpose, Purpose::Retry { .. }));
        let options = self.options;
        let launch = Launch {
            arch: self.target.arch,
            binary: self.target.qemu_binary.clone(),
            kernel: self.target.image,
            cmdline: request_line(options, purpose, boot)?,
            machine: options.machine.as_deref(),
            // Not paused: a debugger attaches only if a test stops the kernel.
            gdb: match options.debug_failures {
                Some(_) => Some(GdbServer::Qemu { port: crate::debugger::free_port()?, paused: false }),
                None => None,
            },
            extra_args: &options.extra_qemu_args,
        };
        let command = launch.display();
        self.log.marker(&Marker::BootStarted { boot, command: command.clone() }.to_string())?;
        self.send(Progress::BootStarted { boot, command });
        let progress = self.progress;
        let arch = self.target.arch.name.clone();
        let send = |item: Progress| {
            let _ = progress.send((arch.clone(), item));
        };
        let end = boot_once(&launch, options, &mut self.session, &mut self.log, &send)?;
        self.log.marker(&Marker::BootEnded { boot, end }.to_string())?;
        self.log.flush()?;
        let problems_before = self.session.problems.len();
        let (events, next) = self.session.end_boot(end);
        events.into_iter().for_each(|event| self.send(Progress::Session(event)));
        let problems: Vec<Problem> = self.session.problems[problems_before..].to_vec();
        problems.into_iter().for_each(|problem| self.send(Progress::Problem(problem)));
        Ok(next)
    }
}

/// Runs the selected tests of `target`, reporting progress on `progress`: boots until every
/// test has a verdict, then re-runs each failed test up to `options.retries` times.
pub fn run_arch(
    target: &Target<'_>,
    options: &RunOptions,
    log_path: &Path,
    progress: &Sender<(String, Progress)>,
) -> Result<ArchRun> {
    let file = std::fs::File::create(log_path)
        .with_context(|| format!("cannot create the serial log `{}`", log_path.display()))?;
    let started = Instant::now();
    let mut runner = ArchRunner {
        target,
        options,
        log: SerialLog { file: std::io::BufWriter::new(file), written: 0 },
        session: Session::new().with_symbols(target.image, &options.source_root),
        boot: 0,
        progress,
    };
    let mut after: Option<String> = None;
    loop {
        if crate::process::interrupted().is_some() {
            break; // an interrupted run starts no new boot
        }
        match runner.boot(Purpose::Run { after: after.as_deref() })? {
            Next::Complete | Next::Stop => break,
            Next::RetrySameBoot => {}
            Next::ResumeAfter(name) => {
                if after.as_deref().is_some_and(|previous| name.as_str() <= previous) {
                    runner
                        .session
                        .add_problem(format!("no progress: resuming after `{name}` again; stopping this arch"));
                    break;
                }
                after = Some(name);
            }
        }
    }
    let failed: Vec<String> = runner
        .session
        .outcomes
        .iter()
        .filter(|outcome| matches!(outcome.status, Status::Failed(_)))
        .map(|outcome| outcome.name.clone())
        .collect();
    for test in &failed {
        for attempt in 1..=options.retries {
            if crate::process::interrupted().is_some() {
                break;
            }
            runner.boot(Purpose::Retry { test, attempt })?;
            let now = runner.session.outcomes.iter().find(|outcome| &outcome.name == test);
            if now.is_some_and(|outcome| !matches!(outcome.status, Status::Failed(_))) {
                break;
            }
        }
    }
    let why = match crate::process::interrupted() {
        Some(signal) => format!("the run was interrupted by signal {signal}"),
        None => match runner.session.problems.last() {
            Some(problem) => format!("the run stopped: {}", problem.message),
            None => "the kernel never ran it".to_string(),
        },
    };
    for event in runner.session.finish_run(&why) {
        runner.send(Progress::Session(event));
    }
    runner.log.flush()?;
    let merged = log_path.with_file_name(format!("{}.ktap", target.arch.name));
    crate::fsutil::write_atomically(&merged, crate::report::merged_ktap(&runner.session.outcomes).as_bytes())?;
    Ok(ArchRun {
        arch: target.arch.name.clone(),
        session: runner.session,
        log: log_path.to_path_buf(),
        boots: runner.boot,
        wall_time: started.elapsed(),
    })
}

/// An arch's serial log, capped: a kernel that floods its serial line cannot fill the disk.
/// The harness's own marker lines are always written.
struct SerialLog {
    file: std::io::BufWriter<std::fs::File>,
    written: u64,
}

/// The most serial output kept per arch and run.
const LOG_CAP: u64 = 32 << 20;

impl SerialLog {
    fn line(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let before = self.written;
        self.written += bytes.len() as u64 + 1;
        if self.written <= LOG_CAP {
            self.file.write_all(bytes)?;
            self.file.write_all(b"\n")?;
        } else if before <= LOG_CAP {
            let note = format!(
                "{}serial log capped at {} MiB: later serial lines are not kept",
                crate::session::MARKER,
                LOG_CAP >> 20
            );
            writeln!(self.file, "{note}")?;
        }
        Ok(())
    }

    fn marker(&mut self, text: &str) -> std::io::Result<()> {
        writeln!(self.file, "{text}")
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// One QEMU run: streams its lines through the session until it exits or stalls.
fn boot_once(
    launch: &Launch<'_>,
    options: &RunOptions,
    session: &mut Session,
    log: &mut SerialLog,
    send: &impl Fn(Progress),
) -> Result<BootEnd> {
    let default_timeout = options.timeout;
    let mut qemu = RunningQemu::start(launch)?;
    let mut allowed = default_timeout;
    // None: no deadline (a kernel stopped for a debugger waits as long as the person does).
    let mut deadline = Some(Instant::now() + allowed);
    let end = loop {
        match qemu.next_line(deadline) {
            QemuNext::Line(line) => {
                log.line(&line.bytes)?;
                let text = line.text();
                if let (Some(debug), Some(gdb)) = (&options.debug_failures, launch.gdb)
                    && let Some(test) = text.strip_prefix(kernel_abi::ktap::DEBUG_STOP)
                {
                    log.flush()?;
                    deadline = None;
                    let command = attach_command(debug, launch, gdb.port(), test.trim())?;
                    send(Progress::DebugStop { test: test.trim().to_string(), command });
                }
                for event in session.line(&line) {
                    match &event {
                        Event::Started { timeout_secs, .. } => {
                            allowed =
                                if *timeout_secs > 0 { Duration::from_secs(*timeout_secs) } else { default_timeout };
                            deadline = deadline.map(|_| Instant::now() + allowed);
                        }
                        Event::Finished(_) => {
                            allowed = default_timeout;
                            deadline = deadline.map(|_| Instant::now() + allowed);
                        }
                        // Kernel output is in the log; no reporter shows it, and a flooding
                        // kernel must not fill the channel to the reporters.
                        Event::Output(_) => continue,
                    }
                    send(Progress::Session(event));
                }
            }
            QemuNext::Ended => {
                let status = qemu.wait()?;
                break match crate::process::interrupted() {
                    Some(signal) => BootEnd::Interrupted { signal },
                    None => BootEnd::Exited(launch.arch.exit_protocol.decode(status)),
                };
            }
            QemuNext::TimedOut => {
                qemu.kill()?;
                break BootEnd::TimedOut { seconds: allowed.as_secs() };
            }
        }
    };
    let stderr = qemu.stderr_text();
    // After a kernel exit QEMU has nothing to add; after our own kill it only says so.
    if !stderr.is_empty() && matches!(end, BootEnd::Exited(KernelExit::Other(_) | KernelExit::Signal(_))) {
        session.add_problem(format!("QEMU said: {stderr}"));
    }
    Ok(end)
}

/// Writes the gdb script that attaches to the stopped kernel at the failed test's frame,
/// and returns the one command that runs it.
fn attach_command(debug: &DebugFailures, launch: &Launch<'_>, port: u16, test: &str) -> Result<String> {
    // The name came from the serial line: only safe characters reach a file name.
    let file_name: String = test.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' }).collect();
    let script = debug.script_dir.join(format!("{}-{file_name}.gdb", launch.arch.name));
    crate::fsutil::write_atomically(
        &script,
        crate::debugger::debug_failure_script(&debug.sources, port, test).as_bytes(),
    )?;
    let words = [
        debug.gdb.display().to_string(),
        "-q".into(),
        launch.kernel.display().to_string(),
        "-x".into(),
        script.display().to_string(),
    ];
    Ok(words.iter().map(|word| crate::qemu::shell_quote(word)).collect::<Vec<_>>().join(" "))
}

/// Boots `target` with `ktest.list` and returns the names of the tests it would run.
/// A test as the kernel lists it.
pub struct Listed {
    pub name: String,
    /// `#[ktest(ignore)]`: a run reports it skipped.
    pub ignored: bool,
}

pub fn list_tests(target: &Target<'_>, options: &RunOptions) -> Result<Vec<Listed>> {
    let launch = Launch {
        arch: target.arch,
        binary: target.qemu_binary.clone(),
        kernel: target.image,
        cmdline: request_line(options, Purpose::List, 1)?,
        machine: options.machine.as_deref(),
        gdb: None,
        extra_args: &options.extra_qemu_args,
    };
    let mut qemu = RunningQemu::start(&launch)?;
    let deadline = Instant::now() + options.timeout;
    let mut names = Vec::new();
    let mut recent = Vec::new();
    loop {
        match qemu.next_line(Some(deadline)) {
            QemuNext::Line(line) => {
                let text = line.text();
                match text.strip_prefix(kernel_abi::ktap::LISTED) {
                    Some(listed) => {
                        let listed = listed.trim();
                        let name = listed.strip_suffix(kernel_abi::ktap::LISTED_IGNORED);
                        names.push(Listed { name: name.unwrap_or(listed).to_string(), ignored: name.is_some() });
                    }
                    None => recent.push(text),
                }
            }
            QemuNext::Ended => break,
            QemuNext::TimedOut => {
                qemu.kill()?;
                anyhow::bail!(
                    "{}: listing the tests timed out; the kernel printed:\n{}",
                    target.arch,
                    recent.join("\n")
                );
            }
        }
    }
    let status = qemu.wait()?;
    match target.arch.exit_protocol.decode(status) {
        KernelExit::Kernel(kernel_abi::ExitCode::Success) => Ok(names),
        other => anyhow::bail!(
            "{}: listing the tests failed ({other}); the kernel printed:\n{}\n{}",
            target.arch,
            recent.join("\n"),
            qemu.stderr_text()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(filters: &[&str], exact: bool) -> RunOptions {
        RunOptions {
            filters: filters.iter().map(|f| f.to_string()).collect(),
            exact,
            timeout: Duration::from_secs(10),
            machine: None,
            extra_qemu_args: Vec::new(),
            debug_failures: None,
            source_root: PathBuf::from("/"),
            partition: None,
            retries: 0,
        }
    }

    #[test]
    fn the_command_line_carries_filters_resume_point_and_boot_number() {
        let line = request_line(&options(&["heap", "fmt"], true), Purpose::Run { after: Some("fmt::a") }, 2).unwrap();
        assert_eq!(line, "ktest ktest.exact ktest.filter=heap,fmt ktest.after=fmt::a ktest.boot=2");
        let parsed = Request::parse(&line).unwrap();
        assert!(parsed.runs("heap") && !parsed.runs("fmt::a"));
    }

    #[test]
    fn a_filter_that_cannot_be_passed_is_an_error_naming_it() {
        let error =
            request_line(&options(&["two words"], false), Purpose::Run { after: None }, 1).unwrap_err().to_string();
        assert!(error.contains("test filter `two words`"), "{error}");
    }
}
