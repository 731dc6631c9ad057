//! Generated runs: a model kernel (tests that pass, panic, fault, hang, get killed, skip,
//! fail only the first time, print look-alike results; console prefixes; noise; a SIGINT at
//! a random test) run by a model runner exactly as `runner/` runs a real one. Its serial
//! bytes are fed in random chunk sizes, and some tests may run last (a lane's `ktest.late`,
//! which takes them out of name order); the live events must equal the replay of its serial
//! log and the re-reading of its merged KTAP, and the verdicts must be the model's.

use super::tests::{CRASHED, SUCCESS, Sim, assert_consistent};
use super::{Next, Reason};
use crate::events::{BootEnd, Status};
use crate::exit::KernelExit;
use proptest::prelude::*;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Behaviour {
    Pass,
    Panic,
    Fault,
    Hang,
    Killed,
    Skip,
    /// Panics on its first attempt, passes on a retry.
    Flaky,
    /// A `should_panic` test that panics: it passes and ends the boot.
    ShouldPanic,
    /// Prints a line that reads as another test's result, then passes.
    Impostor,
}

#[derive(Clone, Debug)]
struct Scenario {
    tests: Vec<(String, Behaviour)>,
    /// Which tests (by index) run after the others, as `ktest.late` asks.
    late: Vec<bool>,
    retries: u32,
    /// SIGINT arrives while this test (by index in name order) runs.
    interrupt_at: Option<usize>,
    chunk: usize,
    noise: bool,
    prefix: &'static str,
}

/// How one boot of the model kernel went.
struct Boot {
    serial: String,
    end: BootEnd,
    test_time: Option<Duration>,
}

/// The tests' indices in the order the model kernel runs them: name order, the late ones last.
fn run_order(scenario: &Scenario) -> Vec<usize> {
    let (early, late): (Vec<usize>, Vec<usize>) = (0..scenario.tests.len()).partition(|&at| !scenario.late[at]);
    [early, late].concat()
}

fn model_boot(scenario: &Scenario, after: Option<&str>, retry: Option<(&str, u32)>) -> Boot {
    let mut lines = vec!["kernel 0.1.0 booting".to_string()];
    let order: Vec<&(String, Behaviour)> = run_order(scenario).into_iter().map(|at| &scenario.tests[at]).collect();
    // After a resume point, the tests that follow it in this order.
    let resume = after.and_then(|after| order.iter().position(|(name, _)| name == after)).map_or(0, |at| at + 1);
    let selected: Vec<&(String, Behaviour)> = match retry {
        Some((test, _)) => order.into_iter().filter(|(name, _)| name == test).collect(),
        None => order[resume..].to_vec(),
    };
    let attempt = retry.map_or(0, |(_, attempt)| attempt);
    lines.push("KTAP version 1".into());
    lines.push(format!("1..{}", selected.len()));
    lines.extend(selected.iter().map(|(name, _)| format!("# test: {name}")));
    let mut end = None;
    for (index, (name, behaviour)) in selected.iter().enumerate() {
        let number = index + 1;
        if *behaviour == Behaviour::Skip {
            lines.push(format!("ok {number} {name} # SKIP not here"));
            continue;
        }
        lines.push(format!("# start {name} timeout=0"));
        if scenario.noise {
            lines.push(format!("{name} says hello"));
        }
        let position = scenario.tests.iter().position(|(test, _)| test == name);
        if retry.is_none() && position == scenario.interrupt_at {
            end = Some((BootEnd::Interrupted { signal: 2 }, None));
            break;
        }
        let panic = |lines: &mut Vec<String>| {
            lines.push("# panicked at src/t.rs:1:5: boom".into());
            lines.push("#   left: 1".into());
            lines.push("# backtrace: 0x1000 0x2000".into());
        };
        match behaviour {
            Behaviour::Pass | Behaviour::Impostor => {
                if *behaviour == Behaviour::Impostor {
                    lines.push("ok 77 somebody::else".into());
                }
                lines.push("# duration_ns: 1200".into());
                lines.push(format!("ok {number} {name}"));
            }
            Behaviour::Flaky if attempt > 0 => lines.push(format!("ok {number} {name}")),
            Behaviour::Panic | Behaviour::Flaky => {
                panic(&mut lines);
                lines.push(format!("not ok {number} {name}"));
                end = Some((CRASHED, None));
                break;
            }
            Behaviour::Fault => {
                lines.push("# fault: page fault at 0x0, pc 0x1234".into());
                lines.push("# registers: x0=0x0".into());
                lines.push(format!("not ok {number} {name}"));
                end = Some((CRASHED, None));
                break;
            }
            Behaviour::ShouldPanic => {
                panic(&mut lines);
                lines.push(format!("ok {number} {name}"));
                end = Some((CRASHED, None));
                break;
            }
            Behaviour::Hang => {
                end = Some((BootEnd::TimedOut { seconds: 3 }, Some(Duration::from_secs(3))));
                break;
            }
            Behaviour::Killed => {
                end = Some((BootEnd::Exited(KernelExit::Signal(9)), Some(Duration::from_millis(40))));
                break;
            }
            Behaviour::Skip => unreachable!(),
        }
    }
    let (end, test_time) = end.unwrap_or((SUCCESS, None));
    let serial = lines
        .iter()
        .map(|line| format!("{}{line}\n", if line.starts_with("kernel ") { "" } else { scenario.prefix }))
        .collect();
    Boot { serial, end, test_time }
}

/// The model runner: boots as `runner::ArchRunner::run` does, then retries.
fn run(scenario: &Scenario) -> Sim {
    let mut sim = Sim::new();
    let mut after: Option<String> = None;
    let mut interrupted = None;
    for _ in 0..100 {
        let boot = model_boot(scenario, after.as_deref(), None);
        let command = match &after {
            Some(after) => format!("ktest ktest.after={after}"),
            None => "ktest".into(),
        };
        if let BootEnd::Interrupted { signal } = boot.end {
            interrupted = Some(signal);
        }
        let next = sim.boot_chunked(&command, boot.serial.as_bytes(), scenario.chunk, boot.end, boot.test_time);
        if interrupted.is_some() {
            break;
        }
        match next {
            Next::Complete | Next::Stop => break,
            Next::RetrySameBoot => {}
            Next::ResumeAfter(name) => after = Some(name),
        }
    }
    if interrupted.is_none() {
        for test in sim.session.failing_tests() {
            for attempt in 1..=scenario.retries {
                if !sim.session.is_failing(&test) {
                    break;
                }
                let boot = model_boot(scenario, None, Some((&test, attempt)));
                let command = format!("ktest ktest.exact ktest.filter={test} ktest.attempt={attempt}");
                sim.boot_chunked(&command, boot.serial.as_bytes(), scenario.chunk, boot.end, boot.test_time);
            }
        }
    }
    sim.finish(interrupted);
    sim
}

/// What the model says each test comes to (without an interruption).
fn expected(behaviour: Behaviour, retries: u32) -> Status {
    match behaviour {
        Behaviour::Pass | Behaviour::Impostor | Behaviour::ShouldPanic => Status::Passed,
        Behaviour::Skip => Status::Ignored("not here".into()),
        Behaviour::Panic => Status::Failed(Reason::Panic),
        Behaviour::Fault => Status::Failed(Reason::Fault),
        Behaviour::Hang => Status::Failed(Reason::Timeout),
        Behaviour::Killed => Status::Failed(Reason::Crash),
        Behaviour::Flaky if retries > 0 => Status::Flaky(Reason::Panic),
        Behaviour::Flaky => Status::Failed(Reason::Panic),
    }
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let behaviour = prop_oneof![
        4 => Just(Behaviour::Pass),
        1 => Just(Behaviour::Panic),
        1 => Just(Behaviour::Fault),
        1 => Just(Behaviour::Hang),
        1 => Just(Behaviour::Killed),
        1 => Just(Behaviour::Skip),
        1 => Just(Behaviour::Flaky),
        1 => Just(Behaviour::ShouldPanic),
        1 => Just(Behaviour::Impostor),
    ];
    (
        proptest::collection::vec((behaviour, proptest::bool::weighted(0.3)), 0..9),
        0u32..3,
        proptest::option::weighted(0.3, 0usize..9),
        1usize..80,
        any::<bool>(),
        prop_oneof![Just(""), Just("[    0.412345] "), Just("<6>")],
    )
        .prop_map(|(behaviours, retries, interrupt_at, chunk, noise, prefix)| {
            let tests =
                behaviours.iter().enumerate().map(|(index, (b, _))| (format!("m{index}::t{index}"), *b)).collect();
            let late = behaviours.iter().map(|(_, late)| *late).collect();
            Scenario { tests, late, retries, interrupt_at, chunk, noise, prefix }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn live_replayed_and_reread_runs_agree_and_give_the_models_verdicts(scenario in scenario()) {
        let sim = run(&scenario);
        assert_consistent(&sim);
        let summary = sim.summary();
        let interrupted_at = scenario
            .interrupt_at
            .filter(|index| scenario.tests.get(*index).is_some_and(|(_, behaviour)| *behaviour != Behaviour::Skip));
        let order = run_order(&scenario);
        let runs_at = |index: usize| order.iter().position(|&at| at == index);
        for (index, (name, behaviour)) in scenario.tests.iter().enumerate() {
            let status = summary.outcomes.iter().find(|outcome| &outcome.name == name).map(|outcome| outcome.status());
            match interrupted_at {
                // Interrupted: nothing is retried, and nothing from the interrupted test on (in
                // the order they run) ran.
                Some(at) if runs_at(index) >= runs_at(at) => prop_assert!(matches!(status, Some(Status::NotRun(_))), "{name}: {status:?}"),
                Some(_) => prop_assert_eq!(status, Some(expected(*behaviour, 0)), "{}", name),
                None => prop_assert_eq!(status, Some(expected(*behaviour, scenario.retries)), "{}", name),
            }
        }
        let problems: Vec<String> =
            summary.with_severity(crate::events::Severity::Problem).map(|d| d.kind.to_string()).collect();
        match interrupted_at {
            Some(_) => prop_assert_eq!(problems.len(), 1, "{:?}", problems),
            None => prop_assert!(problems.is_empty(), "{:?}", problems),
        }
    }
}
