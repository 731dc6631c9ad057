//! The session, without QEMU: serial text and boot endings in, events out; and every run
//! read three ways (live, replayed from its serial log, re-read from its merged KTAP) gives
//! the same outcomes, diagnostics and counts.

use super::*;
use crate::events::{BootEnd, Status};
use crate::exit::KernelExit;
use crate::summary::ArchSummary;
use kernel_abi::ExitCode;
use std::time::Duration;

pub(crate) const CRASHED: BootEnd = BootEnd::Exited(KernelExit::Kernel(ExitCode::TestCrashed));
pub(crate) const SUCCESS: BootEnd = BootEnd::Exited(KernelExit::Kernel(ExitCode::Success));
pub(crate) const FAILED: BootEnd = BootEnd::Exited(KernelExit::Kernel(ExitCode::TestsFailed));

/// Feeds a session as the live runner does, writing the serial log it would write.
pub(crate) struct Sim {
    pub session: Session,
    pub log: Vec<u8>,
    pub events: Vec<Event>,
    boot: u32,
}

impl Sim {
    pub fn new() -> Sim {
        let mut sim = Sim { session: Session::new("/"), log: Vec::new(), events: Vec::new(), boot: 0 };
        sim.mark(Marker::Arch { arch: "testarch".into(), serial_log: None, lane: None });
        sim
    }

    pub fn mark(&mut self, marker: Marker) {
        self.log.extend_from_slice(format!("{marker}\n").as_bytes());
        self.events.extend(self.session.marker(&marker));
    }

    /// One boot: its serial bytes fed in `chunk`-byte pieces, then its end.
    pub fn boot_chunked(
        &mut self,
        command: &str,
        serial: &[u8],
        chunk: usize,
        end: BootEnd,
        test_time: Option<Duration>,
    ) -> Next {
        self.boot += 1;
        self.mark(Marker::BootStarted { boot: self.boot, command: format!("qemu -kernel /k -append '{command}'") });
        let mut splitter = ktap::LineSplitter::default();
        let mut lines = Vec::new();
        for piece in serial.chunks(chunk.max(1)) {
            lines.extend(splitter.push(piece));
        }
        lines.extend(splitter.finish());
        for line in lines {
            marker::write_serial_line(&mut self.log, &line).unwrap();
            self.events.extend(self.session.line(&line));
        }
        self.mark(Marker::BootEnded { boot: self.boot, end, test_time });
        self.session.next().clone()
    }

    pub fn boot(&mut self, command: &str, serial: &str, end: BootEnd) -> Next {
        self.boot_chunked(command, serial.as_bytes(), usize::MAX, end, None)
    }

    pub fn finish(&mut self, interrupted: Option<i32>) {
        let boots = self.boot;
        self.mark(Marker::Finished { boots, wall_time: Some(Duration::from_millis(1234)), interrupted });
    }

    pub fn summary(&self) -> ArchSummary {
        ArchSummary::of("testarch", "log".into(), &self.events)
    }
}

/// What a person or a tool can read of a summary: diagnostics by their text.
pub(crate) fn view(summary: &ArchSummary) -> impl PartialEq + std::fmt::Debug {
    let diagnostics: Vec<_> =
        summary.diagnostics.iter().map(|d| (d.boot, d.severity, d.kind.to_string(), d.excerpt.clone())).collect();
    (summary.outcomes.clone(), diagnostics, summary.unreported, summary.boots, summary.wall_time, summary.interrupted)
}

/// The run read back from its serial log, and from its merged KTAP document.
pub(crate) fn read_back(sim: &Sim) -> (ArchSummary, ArchSummary) {
    let replayed = ArchSummary::of("testarch", "log".into(), &replay_file(&sim.log, Path::new("/")));
    let merged = crate::report::ktap::merged(&sim.summary());
    let reread = ArchSummary::of("testarch", "log".into(), &replay_file(merged.as_bytes(), Path::new("/")));
    (replayed, reread)
}

/// Live, replayed and re-read agree.
pub(crate) fn assert_consistent(sim: &Sim) {
    let live = sim.summary();
    let (replayed, reread) = read_back(sim);
    assert_eq!(
        view(&replayed),
        view(&live),
        "the serial log replays to the live run:\n{}",
        String::from_utf8_lossy(&sim.log)
    );
    assert_eq!(
        view(&reread),
        view(&live),
        "the merged KTAP reads back as the live run:\n{}",
        crate::report::ktap::merged(&live)
    );
}

fn statuses(summary: &ArchSummary) -> Vec<(String, Status)> {
    summary.outcomes.iter().map(|outcome| (outcome.name.clone(), outcome.status())).collect()
}

fn problems(summary: &ArchSummary) -> Vec<String> {
    summary.with_severity(Severity::Problem).map(|d| d.kind.to_string()).collect()
}

fn notes(summary: &ArchSummary) -> Vec<String> {
    summary.with_severity(Severity::Note).map(|d| d.kind.to_string()).collect()
}

fn replayed(text: &str) -> ArchSummary {
    ArchSummary::of("x", "log".into(), &replay_file(text.as_bytes(), Path::new("/")))
}

use std::path::Path;

#[test]
fn a_complete_boot_with_a_matching_exit_is_complete_and_clean() {
    let mut sim = Sim::new();
    let next = sim.boot("ktest", "KTAP version 1\n1..2\n# test: a\n# test: b\n# start a timeout=0\n# duration_ns: 1500\nok 1 a\nok 2 b # SKIP later\n", SUCCESS);
    assert_eq!(next, Next::Complete);
    sim.finish(None);
    let summary = sim.summary();
    assert_eq!(statuses(&summary), [("a".into(), Status::Passed), ("b".into(), Status::Ignored("later".into()))]);
    assert_eq!(summary.outcomes[0].last().duration, Some(Duration::from_nanos(1500)));
    assert!(summary.diagnostics.is_empty(), "{:?}", summary.diagnostics);
    assert_consistent(&sim);
}

#[test]
fn a_panic_in_a_test_fails_it_with_message_and_resumes_after_it() {
    let mut sim = Sim::new();
    let next = sim.boot("ktest", "KTAP version 1\n1..3\n# start a timeout=0\nprinted by a\n# panicked at src/a.rs:3:5: boom\n#   left: 1\nnot ok 1 a\n", CRASHED);
    assert_eq!(next, Next::ResumeAfter("a".into()));
    let attempt = sim.summary().outcomes[0].last().clone();
    assert_eq!(attempt.verdict, Verdict::Failed(Reason::Panic));
    assert_eq!(attempt.message.as_deref(), Some("panicked at src/a.rs:3:5: boom\n  left: 1"));
    assert_eq!(attempt.output, ["printed by a"]);
    assert!(attempt.excerpt.iter().any(|line| line.contains("boom")));
    sim.finish(None);
    assert_consistent(&sim);
}

#[test]
fn a_test_that_never_reports_is_a_timeout_or_a_crash_by_how_the_boot_ended() {
    let cases = [
        (BootEnd::TimedOut { seconds: 3 }, Reason::Timeout, "timed out after 3 s", Duration::from_secs(3)),
        (BootEnd::Exited(KernelExit::Other(0)), Reason::Crash, "QEMU exited with status 0", Duration::from_millis(250)),
        (BootEnd::Exited(KernelExit::Signal(9)), Reason::Crash, "killed by signal 9", Duration::from_millis(250)),
    ];
    for (end, reason, message, duration) in cases {
        let mut sim = Sim::new();
        let next = sim.boot_chunked(
            "ktest",
            b"KTAP version 1\n1..2\n# start hangs timeout=0\n",
            5,
            end,
            Some(Duration::from_millis(250)),
        );
        assert_eq!(next, Next::ResumeAfter("hangs".into()), "{end:?}");
        let attempt = sim.summary().outcomes[0].last().clone();
        assert_eq!(attempt.verdict, Verdict::Failed(reason), "{end:?}");
        assert!(attempt.message.as_deref().unwrap().contains(message), "{:?}", attempt.message);
        assert_eq!(attempt.duration, Some(duration), "{end:?}: a failure has a duration");
        sim.finish(None);
        assert_consistent(&sim);
    }
}

#[test]
fn a_fault_diagnostic_makes_the_reason_fault() {
    let mut sim = Sim::new();
    sim.boot(
        "ktest",
        "KTAP version 1\n1..1\n# start f timeout=0\n# fault: invalid opcode, pc 0x1234\nnot ok 1 f\n",
        CRASHED,
    );
    let attempt = sim.summary().outcomes[0].last().clone();
    assert_eq!(attempt.verdict, Verdict::Failed(Reason::Fault));
    assert_eq!(attempt.message.as_deref(), Some("fault: invalid opcode, pc 0x1234"));
}

#[test]
fn a_passing_should_panic_test_that_ended_the_boot_resumes_after_itself() {
    let mut sim = Sim::new();
    let next = sim.boot(
        "ktest",
        "KTAP version 1\n1..2\n# start p timeout=0\n# panicked at x.rs:1:1: expected\nok 1 p\n",
        CRASHED,
    );
    assert_eq!(next, Next::ResumeAfter("p".into()));
    assert_eq!(statuses(&sim.summary()), [("p".into(), Status::Passed)]);
}

#[test]
fn a_kernel_that_never_starts_its_tests_stops_the_run_with_the_last_lines() {
    let mut sim = Sim::new();
    let next =
        sim.boot("ktest", "firmware banner\nkernel booting\n", BootEnd::Exited(KernelExit::Kernel(ExitCode::Panic)));
    assert_eq!(next, Next::Stop);
    let summary = sim.summary();
    let problem = summary.with_severity(Severity::Problem).next().unwrap();
    assert!(problem.kind.to_string().contains("never started its tests"), "{}", problem.kind);
    assert_eq!(problem.excerpt, ["firmware banner", "kernel booting"]);
}

#[test]
fn an_exit_status_that_disagrees_with_a_complete_stream_is_a_problem() {
    let mut sim = Sim::new();
    assert_eq!(
        sim.boot("ktest", "KTAP version 1\n1..1\nok 1 a\n", BootEnd::Exited(KernelExit::Other(0))),
        Next::Complete
    );
    assert!(problems(&sim.summary())[0].contains("ended unexpectedly"), "{:?}", problems(&sim.summary()));
}

#[test]
fn more_results_than_the_plan_announced_are_a_problem() {
    let mut sim = Sim::new();
    sim.boot("ktest", "KTAP version 1\n1..1\nok 1 a\nok 2 b\n", SUCCESS);
    sim.finish(None);
    assert!(problems(&sim.summary()).iter().any(|p| p.contains("plan announced 1 test(s) at depth 0, 2 result(s)")));
    assert_consistent(&sim);
}

#[test]
fn a_result_line_for_another_test_printed_by_the_running_one_is_output_not_a_verdict() {
    let mut sim = Sim::new();
    let next = sim.boot("ktest", "KTAP version 1\n1..1\n# start a timeout=0\nok 1 b\nok 1 a\n", SUCCESS);
    assert_eq!(next, Next::Complete);
    let summary = sim.summary();
    assert_eq!(statuses(&summary), [("a".into(), Status::Passed)], "nothing is pinned on `b`, `a` keeps its own");
    assert!(notes(&summary)[0].contains("reads as a result for `b`"), "{:?}", notes(&summary));
    assert!(problems(&summary).is_empty(), "{:?}", problems(&summary));
}

#[test]
fn ktap_structure_printed_by_a_running_test_is_its_output() {
    let mut sim = Sim::new();
    let serial = "KTAP version 1\n1..1\n# start a timeout=0\nKTAP version 1\n1..5\n# Subtest: fake\nok 1 a\n";
    assert_eq!(sim.boot("ktest", serial, SUCCESS), Next::Complete);
    sim.finish(None);
    let summary = sim.summary();
    assert_eq!(statuses(&summary), [("a".into(), Status::Passed)]);
    assert!(summary.diagnostics.is_empty(), "{:?}", summary.diagnostics);
    assert_consistent(&sim);
}

#[test]
fn a_kernel_line_that_looks_like_a_harness_marker_is_kept_as_serial_output() {
    let mut sim = Sim::new();
    let serial = "KTAP version 1\n1..1\n# start a timeout=0\n# xtask: boot 7 ended: exit kernel 0\n# xtask: finished: 9 boots\nok 1 a\n";
    sim.boot("ktest", serial, SUCCESS);
    sim.finish(None);
    assert_eq!(statuses(&sim.summary()), [("a".into(), Status::Passed)]);
    assert_eq!(sim.summary().boots, 1);
    assert_consistent(&sim);
}

#[test]
fn long_unterminated_and_invalid_lines_replay_as_they_were_read() {
    let mut sim = Sim::new();
    let mut serial = b"KTAP version 1\n1..1\n# start a timeout=0\n".to_vec();
    serial.extend(std::iter::repeat_n(b'x', ktap::MAX_LINE + 100));
    serial.extend(b"\nbad \xff byte\nok 1 a\nthe end without a newline");
    sim.boot_chunked("ktest", &serial, 4096, SUCCESS, None);
    sim.finish(None);
    let notes = notes(&sim.summary());
    assert!(notes.iter().any(|n| n.contains("100 byte(s) dropped")), "{notes:?}");
    assert!(notes.iter().any(|n| n.contains("invalid UTF-8")), "{notes:?}");
    assert!(notes.iter().any(|n| n.contains("ended in the middle of a line")), "{notes:?}");
    assert_consistent(&sim);
}

#[test]
fn announcements_carry_the_test_timeout() {
    let mut session = Session::new("/");
    let events: Vec<Event> = ["KTAP version 1", "1..1", "# start slow::one timeout=30"]
        .iter()
        .flat_map(|line| session.line(&Line::from_text(line)))
        .collect();
    assert_eq!(events, [Event::TestStarted { boot: 1, name: "slow::one".into(), timeout_secs: Some(30) }]);
}

#[test]
fn retries_keep_every_attempt_a_pass_after_a_failure_is_flaky_and_leaves_no_false_problem() {
    let mut sim = Sim::new();
    sim.boot(
        "ktest",
        "KTAP version 1\n1..2\n# test: f\n# test: g\n# start f timeout=0\n# panicked at f.rs:1:1: first\nnot ok 1 f\n",
        CRASHED,
    );
    sim.boot(
        "ktest ktest.after=f",
        "KTAP version 1\n1..1\n# test: g\n# start g timeout=0\n# panicked at g.rs:1:1: always\nnot ok 1 g\n",
        CRASHED,
    );
    assert_eq!(sim.session.failing_tests(), ["f", "g"]);
    sim.boot(
        "ktest ktest.exact ktest.filter=f ktest.attempt=1",
        "KTAP version 1\n1..1\n# test: f\n# start f timeout=0\nok 1 f\n",
        SUCCESS,
    );
    sim.boot(
        "ktest ktest.exact ktest.filter=g ktest.attempt=1",
        "KTAP version 1\n1..1\n# test: g\n# start g timeout=0\n# panicked at g.rs:1:1: always\nnot ok 1 g\n",
        FAILED,
    );
    sim.finish(None);
    let summary = sim.summary();
    assert_eq!(
        statuses(&summary),
        [("f".into(), Status::Flaky(Reason::Panic)), ("g".into(), Status::Failed(Reason::Panic))]
    );
    assert_eq!(summary.outcomes.iter().map(|o| o.attempts.len()).collect::<Vec<_>>(), [2, 2]);
    assert_eq!(summary.outcomes[0].explaining_attempt().message.as_deref(), Some("panicked at f.rs:1:1: first"));
    assert!(summary.diagnostics.is_empty(), "a retry that passes leaves no problem: {:?}", summary.diagnostics);
    assert_eq!(summary.counts().flaky, 1);
    assert_consistent(&sim);
}

#[test]
fn a_boot_lost_to_an_outside_kill_is_tried_once_more_from_the_same_point() {
    let killed = BootEnd::Exited(KernelExit::Signal(9));
    let mut sim = Sim::new();
    assert_eq!(sim.boot("ktest", "kernel booting\n", killed), Next::RetrySameBoot, "killed before its plan: once more");
    assert!(problems(&sim.summary()).is_empty() && notes(&sim.summary())[0].contains("booting again"));
    assert_eq!(sim.boot("ktest", "kernel booting\n", killed), Next::Stop, "twice in a row: stop");
    assert!(problems(&sim.summary())[0].contains("never started its tests"));

    // Killed between tests after a plan but before any result: the same.
    let mut sim = Sim::new();
    assert_eq!(sim.boot("ktest", "KTAP version 1\n1..2\n", killed), Next::RetrySameBoot);
    let next = sim.boot("ktest", "KTAP version 1\n1..2\n# start a timeout=0\nok 1 a\n", killed);
    assert_eq!(next, Next::ResumeAfter("a".into()), "a result resets the count");
    assert!(problems(&sim.summary()).is_empty(), "an outside kill the run recovers from is a note");
}

#[test]
fn resuming_where_the_last_boot_resumed_stops_the_arch() {
    let mut sim = Sim::new();
    let serial = "KTAP version 1\n1..2\n# start a timeout=0\n# panicked at a.rs:1:1: x\nnot ok 1 a\n";
    assert_eq!(sim.boot("ktest", serial, CRASHED), Next::ResumeAfter("a".into()));
    assert_eq!(sim.boot("ktest ktest.after=a", serial, CRASHED), Next::Stop);
    sim.finish(None);
    assert!(problems(&sim.summary()).iter().any(|p| p.contains("resuming after `a` again")));
    assert_consistent(&sim);
}

#[test]
fn a_lane_that_runs_its_long_tests_last_resumes_by_its_plan_not_by_name() {
    // `ktest.late` put `a` and `c` after `z`: crashes in `z` and then in `a` are progress,
    // each resumed after; the same crash again is the loop, and `c` never runs.
    let mut sim = Sim::new();
    let crash = |name: &str, number: u32| {
        format!("# start {name} timeout=0\n# panicked at x.rs:1:1: boom\nnot ok {number} {name}\n")
    };
    let plan = "# test: m\n# test: z\n# test: a\n# test: c\n";
    let first = format!("KTAP version 1\n1..4\n{plan}# start m timeout=0\nok 1 m\n{}", crash("z", 2));
    assert_eq!(sim.boot("ktest ktest.late=I", &first, CRASHED), Next::ResumeAfter("z".into()));
    let second = format!("KTAP version 1\n1..2\n# test: a\n# test: c\n{}", crash("a", 1));
    assert_eq!(sim.boot("ktest ktest.late=I ktest.after=z", &second, CRASHED), Next::ResumeAfter("a".into()));
    assert_eq!(sim.boot("ktest ktest.late=I ktest.after=a", &second, CRASHED), Next::Stop);
    sim.finish(None);
    let summary = sim.summary();
    let verdicts: Vec<(String, bool)> =
        statuses(&summary).into_iter().map(|(name, status)| (name, matches!(status, Status::Passed))).collect();
    assert_eq!(verdicts.len(), 4, "{verdicts:?}");
    assert!(verdicts.contains(&("m".into(), true)) && !verdicts.contains(&("c".into(), true)), "{verdicts:?}");
    assert!(problems(&summary).iter().any(|p| p.contains("resuming after `a` again")), "{:?}", problems(&summary));
    assert_consistent(&sim);
}

#[test]
fn an_interrupted_run_reports_what_never_ran_the_same_live_and_replayed() {
    let mut sim = Sim::new();
    let serial =
        "KTAP version 1\n1..3\n# test: a\n# test: b\n# test: c\n# start a timeout=0\nok 1 a\n# start b timeout=0\n";
    sim.boot("ktest", serial, BootEnd::Interrupted { signal: 2 });
    sim.finish(Some(2));
    let summary = sim.summary();
    assert_eq!(
        statuses(&summary),
        [
            ("a".into(), Status::Passed),
            ("b".into(), Status::NotRun("the run was interrupted by signal 2".into())),
            ("c".into(), Status::NotRun("the run was interrupted by signal 2".into())),
        ]
    );
    assert_eq!(summary.interrupted, Some(2));
    assert_eq!(problems(&summary), ["interrupted by signal 2 while `b` was running"]);
    assert_consistent(&sim);
}

#[test]
fn fail_fast_stops_after_a_verdict_and_the_rest_is_not_run_with_the_reason() {
    let mut sim = Sim::new();
    let serial = "KTAP version 1\n1..3\n# test: a\n# test: b\n# test: c\n# start a timeout=0\nnot ok 1 a\n";
    // The runner ends the boot right after the failure; the session would resume after it.
    assert_eq!(sim.boot("ktest", serial, BootEnd::Stopped), Next::ResumeAfter("a".into()));
    sim.mark(Marker::FailFast { after: "a".into() });
    sim.finish(None);
    let summary = sim.summary();
    let why = "--fail-fast: the run stopped after `a` failed";
    assert_eq!(
        statuses(&summary),
        [
            ("a".into(), Status::Failed(Reason::Failed)),
            ("b".into(), Status::NotRun(why.into())),
            ("c".into(), Status::NotRun(why.into())),
        ]
    );
    assert!(problems(&summary).is_empty(), "stopping on purpose is no problem: {:?}", problems(&summary));
    assert_consistent(&sim);
}

#[test]
fn a_boot_stopped_mid_test_leaves_that_test_not_run() {
    let mut sim = Sim::new();
    let serial = "KTAP version 1\n1..2\n# test: a\n# test: b\n# start a timeout=0\n";
    assert_eq!(sim.boot("ktest", serial, BootEnd::Stopped), Next::Stop);
    sim.mark(Marker::FailFast { after: "z".into() });
    sim.finish(None);
    let why = "--fail-fast: the run stopped after `z` failed";
    assert_eq!(
        statuses(&sim.summary()),
        [("a".into(), Status::NotRun(why.into())), ("b".into(), Status::NotRun(why.into()))]
    );
    assert_consistent(&sim);
}

#[test]
fn a_harness_error_is_an_error_of_its_arch() {
    let mut sim = Sim::new();
    sim.mark(Marker::HarnessError { message: "cannot run QEMU".into() });
    sim.finish(None);
    let summary = sim.summary();
    assert_eq!(summary.verdict(), crate::summary::ArchVerdict::HarnessError);
    assert_consistent(&sim);
}

#[test]
fn timestamp_and_log_level_prefixes_are_read_as_linux_reads_them() {
    for prefix in ["[    0.412345] ", "<6>", "myhost kernel: "] {
        let log: String =
            ["KTAP version 1", "1..2", "ok 1 a", "not ok 2 b"].iter().map(|line| format!("{prefix}{line}\n")).collect();
        let summary = replayed(&format!("firmware says hello\n{log}"));
        assert_eq!(
            statuses(&summary),
            [("a".into(), Status::Passed), ("b".into(), Status::Failed(Reason::Failed))],
            "{prefix:?}"
        );
    }
}

#[test]
fn planned_tests_that_never_report_are_counted_when_the_plan_names_none() {
    let summary = replayed("KTAP version 1\n1..4\nok 1 a\nok 2 b\n");
    assert_eq!(summary.unreported, 2);
    assert_eq!(summary.counts().not_run, 2);
    // The overflowing numbering from the fuzzer: a verdict and a finding, no panic.
    let summary = replayed("KTAP version 1\n1..2\nok 18446744073709551615 a\nok b\n");
    assert_eq!(statuses(&summary), [("a".into(), Status::Passed)]);
    assert_eq!(summary.unreported, 1, "kunit_parser reads it as one pass and one crash");
    assert!(problems(&summary).iter().any(|p| p.contains("test number 18446744073709551615 where 1 was expected")));
}

#[test]
fn flat_fixture_attaches_a_trailing_panic_to_the_failed_test() {
    let summary = replayed(include_str!("../../../ktap/tests/data/flat.log"));
    assert_eq!(
        statuses(&summary),
        [
            ("fmt::integers".into(), Status::Passed),
            ("fmt::padding".into(), Status::Passed),
            ("mm::heap::big_alloc".into(), Status::Failed(Reason::Panic)),
            ("arch::smp_boot".into(), Status::Ignored("only one CPU".into())),
        ]
    );
    assert!(summary.outcomes[2].last().message.as_deref().unwrap().contains("heap.rs:88:9"));
}

#[test]
fn nested_fixture_counts_leaf_tests_only() {
    let summary = replayed(include_str!("../../../ktap/tests/data/nested.log"));
    let names: Vec<_> = summary.outcomes.iter().map(|outcome| outcome.name.as_str()).collect();
    assert_eq!(names, ["heap::alloc_small", "heap::alloc_aligned", "traps::breakpoint", "traps::page_fault"]);
    assert_eq!(summary.outcomes[3].status(), Status::Failed(Reason::Fault));
}

#[test]
fn truncated_fixture_reports_the_cut_test_as_crashed() {
    let summary = replayed(include_str!("../../../ktap/tests/data/noisy-truncated.log"));
    assert_eq!(
        statuses(&summary),
        [
            ("fmt::integers".into(), Status::Passed),
            ("mm::frames::no_overlap".into(), Status::Passed),
            ("sync::spin".into(), Status::Failed(Reason::Crash)),
        ]
    );
    assert_eq!(summary.unreported, 0, "the crashed test is the third of the plan");
}

#[test]
fn harness_log_replays_every_boot_with_its_ending() {
    let log =
        std::fs::read(crate::workspace::Workspace::locate().root().join("tests/fixtures/ktap/harness-multi-boot.log"))
            .unwrap();
    let summary = ArchSummary::of("x", "log".into(), &replay_file(&log, Path::new("/")));
    assert_eq!(
        statuses(&summary),
        [
            ("selftest::a".into(), Status::Passed),
            ("selftest::b".into(), Status::Failed(Reason::Panic)),
            ("selftest::c".into(), Status::Failed(Reason::Timeout)),
            ("selftest::d".into(), Status::Ignored("not here".into())),
        ]
    );
    assert_eq!(summary.outcomes.iter().map(|outcome| outcome.last().boot).collect::<Vec<_>>(), [1, 1, 2, 3]);
    assert!(problems(&summary).is_empty(), "{:?}", problems(&summary));
}

#[test]
fn backtraces_are_symbolized_only_with_the_image_of_the_logs_build_id() {
    let log = "# xtask: arch x\n# xtask: boot 1: qemu -kernel /nonexistent/kernel.elf -append ktest\n\
               # build-id: 0123abcd\nKTAP version 1\n1..1\n# start t timeout=0\n\
               # panicked at t.rs:1:1: boom\n# backtrace: 0x1000 0x2000\nnot ok 1 t\n\
               # xtask: boot 1 ended: exit kernel 3\n# xtask: finished: 1 boots in 0.100 s\n";
    let summary = replayed(log);
    let attempt = summary.outcomes[0].last();
    assert_eq!(attempt.backtrace, ["0x1000", "0x2000"], "the addresses, unsymbolized");
    assert_eq!(attempt.message.as_deref(), Some("panicked at t.rs:1:1: boom"), "the verdict stands");
    let notes = notes(&summary);
    assert!(
        notes.iter().any(|n| n.contains("made by build-id 0123abcd") && n.contains("/nonexistent/kernel.elf")),
        "says which build it wanted: {notes:?}"
    );
}
