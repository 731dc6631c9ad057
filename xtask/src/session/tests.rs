//! Verdicts from serial streams and boot endings, without QEMU.

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(crate::workspace::Workspace::locate().root().join("tests/fixtures/ktap").join(name)).unwrap()
}

fn feed(session: &mut Session, text: &str) -> Vec<Event> {
    text.lines()
        .flat_map(|line| session.line(&Line { bytes: line.as_bytes().to_vec(), dropped: 0, unterminated: false }))
        .collect()
}

fn verdicts(session: &Session) -> Vec<(String, Status)> {
    session.outcomes.iter().map(|outcome| (outcome.name.clone(), outcome.status.clone())).collect()
}

const CRASHED: BootEnd = BootEnd::Exited(KernelExit::Kernel(ExitCode::TestCrashed));

#[test]
fn a_complete_boot_with_a_matching_exit_is_complete_and_clean() {
    let mut session = Session::new();
    session.begin_boot(1, false);
    feed(&mut session, "KTAP version 1\n1..2\n# start a timeout=0\n# duration_ns: 1500\nok 1 a\nok 2 b # SKIP later\n");
    let (_, next) = session.end_boot(BootEnd::Exited(KernelExit::Kernel(ExitCode::Success)));
    assert_eq!(next, Next::Complete);
    assert_eq!(verdicts(&session), [("a".into(), Status::Passed), ("b".into(), Status::Ignored("later".into()))]);
    assert_eq!(session.outcomes[0].duration, Some(Duration::from_nanos(1500)));
    assert!(session.problems.is_empty(), "{:?}", session.problems);
}

#[test]
fn a_panic_in_a_test_fails_it_with_message_and_resumes_after_it() {
    let mut session = Session::new();
    session.begin_boot(1, false);
    feed(&mut session, "KTAP version 1\n1..3\n# start a timeout=0\n# panicked at src/a.rs:3:5: boom\nnot ok 1 a\n");
    let (_, next) = session.end_boot(CRASHED);
    assert_eq!(next, Next::ResumeAfter("a".into()));
    let outcome = &session.outcomes[0];
    assert_eq!(outcome.status, Status::Failed(Reason::Panic));
    assert_eq!(outcome.message.as_deref(), Some("panicked at src/a.rs:3:5: boom"));
    assert!(outcome.excerpt.iter().any(|line| line.contains("boom")));
}

#[test]
fn a_test_that_never_reports_is_a_timeout_or_a_crash_by_how_the_boot_ended() {
    let cases = [
        (BootEnd::TimedOut { seconds: 3 }, Reason::Timeout, "timed out after 3 s"),
        (BootEnd::Exited(KernelExit::Other(0)), Reason::Crash, "QEMU exited with status 0"),
        (BootEnd::Exited(KernelExit::Signal(9)), Reason::Crash, "killed by signal 9"),
    ];
    for (end, reason, message) in cases {
        let mut session = Session::new();
        session.begin_boot(1, false);
        feed(&mut session, "KTAP version 1\n1..2\n# start hangs timeout=0\n");
        let (_, next) = session.end_boot(end);
        assert_eq!(next, Next::ResumeAfter("hangs".into()), "{end:?}");
        assert_eq!(session.outcomes[0].status, Status::Failed(reason), "{end:?}");
        assert!(session.outcomes[0].message.as_deref().unwrap().contains(message), "{:?}", session.outcomes[0].message);
    }
}

#[test]
fn a_fault_diagnostic_makes_the_reason_fault() {
    let mut session = Session::new();
    session.begin_boot(1, false);
    feed(&mut session, "KTAP version 1\n1..1\n# start f timeout=0\n# fault: invalid opcode, pc 0x1234\nnot ok 1 f\n");
    session.end_boot(CRASHED);
    assert_eq!(session.outcomes[0].status, Status::Failed(Reason::Fault));
    assert_eq!(session.outcomes[0].message.as_deref(), Some("fault: invalid opcode, pc 0x1234"));
}

#[test]
fn a_passing_should_panic_test_that_ended_the_boot_resumes_after_itself() {
    let mut session = Session::new();
    session.begin_boot(1, false);
    feed(&mut session, "KTAP version 1\n1..2\n# start p timeout=0\n# panicked at x.rs:1:1: expected\nok 1 p\n");
    let (_, next) = session.end_boot(CRASHED);
    assert_eq!(next, Next::ResumeAfter("p".into()));
    assert_eq!(session.outcomes[0].status, Status::Passed);
}

#[test]
fn a_kernel_that_never_starts_its_tests_stops_the_run_with_the_last_lines() {
    let mut session = Session::new();
    session.begin_boot(1, false);
    feed(&mut session, "firmware banner\nkernel booting\n");
    let (_, next) = session.end_boot(BootEnd::Exited(KernelExit::Kernel(ExitCode::Panic)));
    assert_eq!(next, Next::Stop);
    let problem = &session.problems[0];
    assert!(problem.message.contains("never started its tests"), "{}", problem.message);
    assert_eq!(problem.excerpt, ["firmware banner", "kernel booting"]);
}

#[test]
fn an_exit_status_that_disagrees_with_a_complete_stream_is_a_problem() {
    let mut session = Session::new();
    session.begin_boot(1, false);
    feed(&mut session, "KTAP version 1\n1..1\nok 1 a\n");
    let (_, next) = session.end_boot(BootEnd::Exited(KernelExit::Other(0)));
    assert_eq!(next, Next::Complete);
    assert!(session.problems[0].message.contains("ended unexpectedly"), "{:?}", session.problems);
}

#[test]
fn a_result_line_for_another_test_printed_by_the_running_one_is_output_not_a_verdict() {
    let mut session = Session::new();
    session.begin_boot(1, false);
    let events = feed(&mut session, "KTAP version 1\n1..1\n# start a timeout=0\nok 1 b\nok 1 a\n");
    assert!(events.contains(&Event::Output("ok 1 b".into())));
    assert_eq!(verdicts(&session), [("a".into(), Status::Passed)], "nothing is pinned on `b`, `a` keeps its own");
    assert!(session.notes[0].message.contains("reads as a result for `b`"), "{:?}", session.notes);
    assert!(session.problems.is_empty(), "{:?}", session.problems);
    let (_, next) = session.end_boot(BootEnd::Exited(KernelExit::Kernel(ExitCode::Success)));
    assert_eq!(next, Next::Complete);
}

#[test]
fn announcements_carry_the_test_timeout() {
    let mut session = Session::new();
    session.begin_boot(1, false);
    let events = feed(&mut session, "KTAP version 1\n1..1\n# start slow::one timeout=30\n");
    assert_eq!(events, [Event::Started { name: "slow::one".into(), timeout_secs: 30 }]);
}

#[test]
fn flat_fixture_attaches_a_trailing_panic_to_the_failed_test() {
    let session = replay(&fixture("flat.log"), None);
    assert_eq!(
        verdicts(&session),
        [
            ("fmt::integers".into(), Status::Passed),
            ("fmt::padding".into(), Status::Passed),
            ("mm::heap::big_alloc".into(), Status::Failed(Reason::Panic)),
            ("arch::smp_boot".into(), Status::Ignored("only one CPU".into())),
        ]
    );
    assert!(session.outcomes[2].message.as_deref().unwrap().contains("heap.rs:88:9"));
    assert!(session.outcomes[3].message.is_none());
}

#[test]
fn nested_fixture_counts_leaf_tests_only() {
    let session = replay(&fixture("nested.log"), None);
    let names: Vec<_> = session.outcomes.iter().map(|outcome| outcome.name.as_str()).collect();
    assert_eq!(names, ["heap::alloc_small", "heap::alloc_aligned", "traps::breakpoint", "traps::page_fault"]);
    assert_eq!(session.outcomes[3].status, Status::Failed(Reason::Fault));
}

#[test]
fn truncated_fixture_reports_the_cut_test_as_crashed() {
    let session = replay(&fixture("noisy-truncated.log"), None);
    assert_eq!(
        verdicts(&session),
        [
            ("fmt::integers".into(), Status::Passed),
            ("mm::frames::no_overlap".into(), Status::Passed),
            ("sync::spin".into(), Status::Failed(Reason::Crash)),
        ]
    );
}

#[test]
fn harness_log_replays_every_boot_with_its_ending() {
    let session = replay(&fixture("harness-multi-boot.log"), None);
    assert_eq!(
        verdicts(&session),
        [
            ("selftest::a".into(), Status::Passed),
            ("selftest::b".into(), Status::Failed(Reason::Panic)),
            ("selftest::c".into(), Status::Failed(Reason::Timeout)),
            ("selftest::d".into(), Status::Ignored("not here".into())),
        ]
    );
    assert_eq!(session.outcomes.iter().map(|outcome| outcome.boot).collect::<Vec<_>>(), [1, 1, 2, 3]);
    assert!(session.problems.is_empty(), "{:?}", session.problems);
}

#[test]
fn markers_round_trip() {
    let markers = [
        Marker::BootStarted { boot: 2, command: "qemu-system-x86_64 -kernel 'a b'".into() },
        Marker::BootEnded { boot: 1, end: CRASHED },
        Marker::BootEnded { boot: 3, end: BootEnd::Exited(KernelExit::Other(0)) },
        Marker::BootEnded { boot: 4, end: BootEnd::Exited(KernelExit::Signal(9)) },
        Marker::BootEnded { boot: 5, end: BootEnd::TimedOut { seconds: 10 } },
        Marker::BootEnded { boot: 6, end: BootEnd::Interrupted { signal: 2 } },
    ];
    for marker in markers {
        assert_eq!(Marker::parse(&marker.to_string()), Some(marker.clone()), "{marker}");
    }
    assert_eq!(Marker::parse("# start a timeout=0"), None);
}

#[test]
fn a_retry_that_passes_makes_the_test_flaky_and_one_that_fails_counts_the_attempt() {
    let mut session = Session::new();
    session.begin_boot(1, false);
    feed(&mut session, "KTAP version 1\n1..2\n# start f timeout=0\n# panicked at f.rs:1:1: first\nnot ok 1 f\n");
    session.end_boot(CRASHED);
    session.begin_boot(2, false);
    feed(&mut session, "KTAP version 1\n1..1\n# start g timeout=0\n# panicked at g.rs:1:1: always\nnot ok 1 g\n");
    session.end_boot(CRASHED);
    session.begin_boot(3, true);
    feed(&mut session, "KTAP version 1\n1..1\n# start f timeout=0\nok 1 f\n");
    session.end_boot(BootEnd::Exited(KernelExit::Kernel(ExitCode::Success)));
    session.begin_boot(4, true);
    feed(&mut session, "KTAP version 1\n1..1\n# start g timeout=0\n# panicked at g.rs:1:1: always\nnot ok 1 g\n");
    session.end_boot(CRASHED);
    assert_eq!(
        verdicts(&session),
        [("f".into(), Status::Flaky(Reason::Panic)), ("g".into(), Status::Failed(Reason::Panic))]
    );
    assert_eq!(session.outcomes.iter().map(|o| o.attempts).collect::<Vec<_>>(), [2, 2]);
    assert_eq!(
        session.outcomes[0].message.as_deref(),
        Some("panicked at f.rs:1:1: first"),
        "the first failure is kept"
    );
}

#[test]
fn a_boot_lost_to_an_outside_kill_is_tried_once_more_from_the_same_point() {
    let killed = BootEnd::Exited(KernelExit::Signal(9));
    let mut session = Session::new();
    session.begin_boot(1, false);
    feed(&mut session, "kernel booting\n");
    let (_, next) = session.end_boot(killed);
    assert_eq!(next, Next::RetrySameBoot, "killed before its plan: once more");
    assert!(session.problems.is_empty() && session.notes[0].message.contains("booting again"), "{:?}", session.notes);
    session.begin_boot(2, false);
    feed(&mut session, "kernel booting\n");
    let (_, next) = session.end_boot(killed);
    assert_eq!(next, Next::Stop, "twice in a row: stop");
    assert!(session.problems[0].message.contains("never started its tests"));

    // Killed between tests after a plan but before any result: the same.
    let mut session = Session::new();
    session.begin_boot(1, false);
    feed(&mut session, "KTAP version 1\n1..2\n");
    assert_eq!(session.end_boot(killed).1, Next::RetrySameBoot);
    session.begin_boot(2, false);
    feed(&mut session, "KTAP version 1\n1..2\n# start a timeout=0\nok 1 a\n");
    assert_eq!(session.end_boot(killed).1, Next::ResumeAfter("a".into()), "a result resets the count");
    assert!(session.problems.is_empty(), "an outside kill the run recovers from is a note: {:?}", session.problems);
}

#[test]
fn a_kernel_that_never_starts_its_tests_by_itself_is_not_retried() {
    let mut session = Session::new();
    session.begin_boot(1, false);
    feed(&mut session, "kernel booting\n");
    let (_, next) = session.end_boot(BootEnd::Exited(KernelExit::Kernel(ExitCode::Panic)));
    assert_eq!(next, Next::Stop);
}
