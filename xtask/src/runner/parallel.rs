//! Several architectures at once, and an arch's lanes at once: a thread per QEMU instance
//! (at most `jobs`), the longest lanes first; their events gathered on one channel, each
//! arch's lanes merged into one stream (`session::lanes`), folded and reported in arrival
//! order; the run's files (each arch's merged KTAP as soon as all its lanes finish, JUnit at
//! the end) and its exit status.

use super::{LaneRun, RunOptions, Target, run_arch};
use crate::events::Event;
use crate::plan::Lane;
use crate::report::{self, Collector, Destinations};
use crate::session::Session;
use crate::session::lanes::Lanes;
use crate::session::marker::Marker;
use crate::summary::{NoTests, RunSummary};
use anyhow::Result;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU32;
use std::sync::{Mutex, mpsc};

/// The serial log of lane `lane` (1-based) of `arch`: lane 1's is the arch's usual log.
pub fn lane_log(run_dir: &Path, arch: &str, lane: usize) -> PathBuf {
    match lane {
        1 => run_dir.join(format!("{arch}.serial.log")),
        lane => run_dir.join(format!("{arch}.lane{lane}.serial.log")),
    }
}

/// One QEMU instance's work: a target's lane.
struct Work<'r, 't> {
    target: usize,
    lane: usize,
    of: usize,
    spec: &'r Lane,
    log: PathBuf,
    boots: &'r AtomicU32,
    stopped_by: &'r Mutex<Option<String>>,
    run: &'r Target<'t>,
}

/// Runs the tests of every target in its lanes (at most `jobs` QEMU instances at once),
/// reports them, writes the merged KTAP of each and the JUnit report, and gives the run's
/// summary.
pub fn run_and_report(
    targets: &[Target<'_>],
    lanes: &[Vec<Lane>],
    options: &RunOptions,
    run_dir: &Path,
    jobs: usize,
    destinations: &Destinations,
    no_tests: NoTests,
) -> Result<RunSummary> {
    let logs: Vec<(String, PathBuf)> =
        targets.iter().map(|target| (target.arch.name.clone(), lane_log(run_dir, &target.arch.name, 1))).collect();
    let boots: Vec<AtomicU32> = targets.iter().map(|_| AtomicU32::new(0)).collect();
    let stopped_by: Vec<Mutex<Option<String>>> = targets.iter().map(|_| Mutex::new(None)).collect();
    let mut work: Vec<Work<'_, '_>> = Vec::new();
    for (index, (target, specs)) in targets.iter().zip(lanes).enumerate() {
        for (lane, spec) in specs.iter().enumerate() {
            let log = lane_log(run_dir, &target.arch.name, lane + 1);
            work.push(Work {
                target: index,
                lane: lane + 1,
                of: specs.len(),
                spec,
                log,
                boots: &boots[index],
                stopped_by: &stopped_by[index],
                run: target,
            });
        }
    }
    // The longest first, so that the last to start are the shortest (LPT over the jobs).
    work.sort_by_key(|work| std::cmp::Reverse(work.spec.estimate));
    let mut merges: Vec<Lanes> = lanes.iter().map(|specs| Lanes::new(specs.len())).collect();
    let mut collector = Collector::new(destinations.reporters(), &logs);
    let finished_lanes = std::cell::RefCell::new(Vec::new());
    let (summary, written, merged_written) = std::thread::scope(|scope| {
        let mut merged_writes = Vec::new();
        let mut on_event = |target: usize, lane: usize, event: Event| {
            if matches!(event, Event::Finished { .. }) {
                finished_lanes.borrow_mut().push((target, lane));
            }
            let Some(event) = merges[target].pass(event) else { return };
            let arch = &targets[target].arch.name;
            let done = matches!(event, Event::Finished { .. });
            let fold = collector.event(arch, &event);
            if done {
                // Written beside the rest of the run (the other arches' events, the
                // summary): a copy of the fold, as the document of 10,000 tests takes a
                // debug build a tenth of a second.
                let path = run_dir.join(format!("{arch}.ktap"));
                let fold = fold.clone();
                merged_writes.push(
                    scope.spawn(move || crate::fsutil::write_atomically(&path, report::ktap::merged(&fold).as_bytes())),
                );
            }
        };
        let failures = run_in_parallel(&work, options, jobs, &mut on_event);
        // A lane that never reached its end (a signal kept it from starting, or its log could
        // not be written) is still reported, saying why.
        for item in &work {
            if finished_lanes.borrow().contains(&(item.target, item.lane)) {
                continue;
            }
            let arch = &item.run.arch.name;
            let why =
                failures.iter().find(|(failed, _)| *failed == (item.target, item.lane)).map(|(_, error)| error.clone());
            let lane = (item.of > 1).then_some((item.lane as u32, item.of as u32));
            for event in never_finished(arch, lane, &item.log, why, options) {
                on_event(item.target, item.lane, event);
            }
        }
        let (summary, written) = collector.finish();
        let merged_written: Result<()> =
            merged_writes.into_iter().try_for_each(|write| write.join().expect("writing a merged KTAP does not panic"));
        (summary, written, merged_written)
    });
    written?;
    merged_written.map_err(|error| error.context("cannot write the merged KTAP report"))?;
    if summary.verdict() == crate::summary::ArchVerdict::NoTests && no_tests != NoTests::Pass {
        eprintln!("no tests ran: no selected test exists on the selected architectures (filters, `--partition`, `-p`)");
    }
    Ok(summary)
}

/// The events of a lane that did not run to its end, written to its log too.
fn never_finished(
    arch: &str,
    lane: Option<(u32, u32)>,
    log: &Path,
    error: Option<String>,
    options: &RunOptions,
) -> Vec<Event> {
    let interrupted = crate::process::interrupted();
    let mut markers = vec![Marker::Arch { arch: arch.to_string(), serial_log: None, lane }];
    if interrupted.is_none() {
        let message = error.unwrap_or_else(|| format!("the run of {arch} never started"));
        markers.push(Marker::HarnessError { message });
    }
    markers.push(Marker::Finished { boots: 0, wall_time: Some(Default::default()), interrupted });
    let text: String = markers.iter().map(|marker| format!("{marker}\n")).collect();
    let _ = std::fs::write(log, text);
    let mut session = Session::new(options.sources.clone());
    markers.iter().flat_map(|marker| session.marker(marker)).collect()
}

/// Runs every lane, at most `jobs` at once, handing each event to `on_event` as it comes.
/// Returns the lanes whose run could not even write its log, with the error.
fn run_in_parallel(
    work: &[Work<'_, '_>],
    options: &RunOptions,
    jobs: usize,
    on_event: &mut dyn FnMut(usize, usize, Event),
) -> Vec<((usize, usize), String)> {
    let queue: Mutex<VecDeque<&Work<'_, '_>>> = Mutex::new(work.iter().collect());
    let failures: Mutex<Vec<((usize, usize), String)>> = Mutex::new(Vec::new());
    let (sender, receiver) = mpsc::channel::<(usize, usize, Vec<Event>)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, work.len().max(1)) {
            let sender = sender.clone();
            let (queue, failures) = (&queue, &failures);
            scope.spawn(move || {
                loop {
                    // Take the next lane and let go of the queue before running it (a guard
                    // in a `while let` condition would hold the lock for the whole run).
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                    let Some(item) = next else { break };
                    if crate::process::interrupted().is_some() {
                        break; // an interrupted run starts nothing new
                    }
                    // The receiver only goes away when the whole run is over.
                    let send = |events: Vec<Event>| {
                        let _ = sender.send((item.target, item.lane, events));
                    };
                    let lane = LaneRun {
                        number: item.lane as u32,
                        of: item.of as u32,
                        tests: crate::runner::LaneTests {
                            set: item.spec.set.as_deref(),
                            late: item.spec.late.as_deref(),
                        },
                        boots: item.boots,
                        stopped_by: item.stopped_by,
                    };
                    if let Err(error) = run_arch(item.run, lane, options, &item.log, send) {
                        let mut failures = failures.lock().unwrap_or_else(|p| p.into_inner());
                        failures.push(((item.target, item.lane), format!("{error:#}")));
                    }
                }
            });
        }
        drop(sender);
        for (target, lane, events) in receiver {
            events.into_iter().for_each(|event| on_event(target, lane, event));
        }
    });
    failures.into_inner().unwrap_or_else(|p| p.into_inner())
}
