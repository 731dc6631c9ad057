//! Snapshots of what people read: a green run, the self-test kinds of failure, a retried run
//! and an interrupted one (each change to the human display is reviewed in these files).

use super::*;
use crate::events::BootEnd;
use crate::exit::KernelExit;
use crate::session::tests::{CRASHED, SUCCESS, Sim};

/// What the human reporter prints for `sims` (one per arch), live lines and summary.
fn rendered(verbose: bool, sims: &[(&str, &Sim)]) -> String {
    let mut human = Human::new(anstream::StripStream::new(Vec::new()), verbose);
    let logs: Vec<(String, std::path::PathBuf)> =
        sims.iter().map(|(arch, _)| (arch.to_string(), format!("runs/1/{arch}.serial.log").into())).collect();
    let mut summary =
        RunSummary { arches: logs.iter().map(|(arch, log)| ArchSummary::new(arch, log.clone())).collect() };
    for (index, (arch, sim)) in sims.iter().enumerate() {
        for event in &sim.events {
            summary.arches[index].apply(event);
            human.event(arch, event, &summary.arches[index]);
        }
    }
    human.finish(&summary).unwrap();
    String::from_utf8(human.into_inner().into_inner()).unwrap()
}

fn green() -> Sim {
    let mut sim = Sim::new();
    sim.boot(
        "ktest",
        "KTAP version 1\n1..3\n# test: kernel::a\n# test: kernel::b\n# test: kernel::c\n\
         # start kernel::a timeout=0\n# duration_ns: 1500\nok 1 kernel::a\n\
         # start kernel::b timeout=0\n# duration_ns: 2500000\nok 2 kernel::b\nok 3 kernel::c # SKIP needs SMP\n",
        SUCCESS,
    );
    sim.finish(None);
    sim
}

fn failing() -> Sim {
    let mut sim = Sim::new();
    let plan = "KTAP version 1\n1..4\n# test: selftest::assertion_fails\n# test: selftest::hangs\n\
                # test: selftest::prints_escapes\n# test: selftest::zz_after\n";
    sim.boot(
        "ktest",
        &format!(
            "{plan}# start selftest::assertion_fails timeout=0\nabout to check the answer\n\
             # duration_ns: 3200000\n# panicked at kernel/src/selftest.rs:12:5: assertion `left == right` failed: off by one\n\
             #   left: 41\n#  right: 42\n# backtrace: 0x1000 0x2000\nnot ok 1 selftest::assertion_fails\n"
        ),
        CRASHED,
    );
    sim.boot_chunked(
        "ktest ktest.after=selftest::assertion_fails",
        b"KTAP version 1\n1..3\n# test: selftest::hangs\n# test: selftest::prints_escapes\n# test: selftest::zz_after\n\
          # start selftest::hangs timeout=0\n",
        7,
        BootEnd::TimedOut { seconds: 3 },
        Some(std::time::Duration::from_secs(3)),
    );
    sim.boot(
        "ktest ktest.after=selftest::hangs",
        "KTAP version 1\n1..2\n# test: selftest::prints_escapes\n# test: selftest::zz_after\n\
         # start selftest::prints_escapes timeout=0\n\u{1b}[2Jclear \0 and ring \u{7}\n\
         # panicked at kernel/src/selftest.rs:40:5: a message with \u{1b}[31m colour\nnot ok 1 selftest::prints_escapes\n",
        CRASHED,
    );
    sim.boot(
        "ktest ktest.after=selftest::prints_escapes",
        "KTAP version 1\n1..1\n# test: selftest::zz_after\n# start selftest::zz_after timeout=0\n# duration_ns: 900\n\
         ok 1 selftest::zz_after\n",
        SUCCESS,
    );
    sim.finish(None);
    sim
}

#[test]
fn a_green_run() {
    insta::assert_snapshot!(rendered(false, &[("x86_64", &green()), ("riscv64", &green())]));
}

#[test]
fn a_green_run_verbose() {
    insta::assert_snapshot!(rendered(true, &[("aarch64", &green())]));
}

#[test]
fn the_kinds_of_failure() {
    let text = rendered(false, &[("aarch64", &failing()), ("x86_64", &green())]);
    assert!(!text.contains('\u{1b}') && !text.contains('\0') && !text.contains('\u{7}'), "escaped: {text}");
    insta::assert_snapshot!(text);
}

#[test]
fn a_retried_run() {
    let mut sim = Sim::new();
    let first = "KTAP version 1\n1..2\n# test: a::flaky\n# test: a::solid\n# start a::flaky timeout=0\n\
                 # panicked at a.rs:1:1: first time\nnot ok 1 a::flaky\n";
    sim.boot("ktest", first, CRASHED);
    sim.boot(
        "ktest ktest.after=a::flaky",
        "KTAP version 1\n1..1\n# start a::solid timeout=0\n# duration_ns: 1000\nok 1 a::solid\n",
        SUCCESS,
    );
    sim.boot(
        "ktest ktest.exact ktest.filter=a::flaky ktest.attempt=1",
        "KTAP version 1\n1..1\n# start a::flaky timeout=0\n# duration_ns: 2000\nok 1 a::flaky\n",
        SUCCESS,
    );
    sim.finish(None);
    insta::assert_snapshot!(rendered(false, &[("riscv64", &sim)]));
}

#[test]
fn an_interrupted_run() {
    let mut sim = Sim::new();
    let serial = "KTAP version 1\n1..3\n# test: a\n# test: b\n# test: c\n# start a timeout=0\n# duration_ns: 1000\n\
                  ok 1 a\n# start b timeout=0\n";
    sim.boot("ktest", serial, BootEnd::Interrupted { signal: 2 });
    sim.finish(Some(2));
    insta::assert_snapshot!(rendered(false, &[("x86_64", &sim)]));
}

#[test]
fn colour_marks_the_verdicts_where_it_is_on() {
    let mut human = Human::new(Vec::new(), false);
    let sim = failing();
    let mut summary = ArchSummary::new("riscv64", "log".into());
    for event in &sim.events {
        summary.apply(event);
        human.event("riscv64", event, &summary);
    }
    let text = String::from_utf8(human.into_inner()).unwrap();
    let red = format!("{}", crate::report::text::style::FAILED);
    let green = format!("{}", crate::report::text::style::OK);
    assert!(text.lines().any(|line| line.contains(&red) && line.contains("FAILED (panic)")), "{text}");
    assert!(text.lines().any(|line| line.contains(&green) && line.contains("ok")), "{text}");
}

#[test]
fn a_harness_error_and_a_kernel_that_never_started() {
    let mut broken = Sim::new();
    broken.mark(crate::session::Marker::HarnessError {
        message: "cannot run QEMU for riscv64: permission denied".into(),
    });
    broken.finish(None);
    let mut silent = Sim::new();
    silent.boot(
        "ktest",
        "OpenSBI v1.1\nkernel booting\n",
        BootEnd::Exited(KernelExit::Kernel(kernel_abi::ExitCode::Panic)),
    );
    silent.finish(None);
    insta::assert_snapshot!(rendered(false, &[("riscv64", &broken), ("aarch64", &silent)]));
}
