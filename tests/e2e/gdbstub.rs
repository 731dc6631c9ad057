//! `cargo xtask gdb --stub kernel`: the real gdb-multiarch in batch mode against the kernel's
//! own GDB stub (not QEMU's server), over its second port, on every architecture.

use crate::harness::{ARCHES, exclusive, gdb_script as script, qemu_processes, xtask};

/// The values of gdb's `$N = 0x...` lines, in order.
fn printed_values(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|line| line.starts_with('$') && line.contains(" = 0x"))
        .map(|line| line.split(" = ").nth(1).unwrap().to_string())
        .collect()
}

#[test]
fn the_kernel_stub_breaks_reads_and_writes_steps_and_continues_to_a_clean_exit() {
    let _lock = exclusive();
    // gdb's words on the kernel's exit race with the kernel's last serial lines on the same
    // output (they interleave mid-line); gdb also logs them, alone, to a file.
    let exit_log = crate::harness::scratch("gdbstub-walk-exit").join("gdb.log");
    let log_to = format!("set logging file {}", exit_log.display());
    let batch = script(
        "gdbstub-walk",
        &[
            "continue",
            "next",
            "info locals",
            "x/3dw &values",
            "set var values[1] = 50",
            "x/3dw &values",
            "print/x $pc",
            "stepi",
            "print/x $pc",
            "break kernel::tests::sum",
            "continue",
            "bt 2",
            &log_to,
            "set logging overwrite on",
            "set logging enabled on",
            "continue",
        ],
    );
    for arch in ARCHES {
        let run = xtask(&[
            "gdb",
            "--stub",
            "kernel",
            "--arch",
            arch,
            "--test",
            "kernel::tests::debugger_walk",
            "--batch",
            &batch,
        ]);
        let output = run.all_output();
        assert_eq!(run.status, Some(0), "{arch}:\n{output}");
        assert!(output.contains("gdbstub: waiting for the debugger"), "{arch}: the kernel waited:\n{output}");
        assert!(output.contains("Breakpoint 1, kernel::tests::debugger_walk ()"), "{arch}: continued to it:\n{output}");
        assert!(output.contains("values = [3, 5, 7]"), "{arch}: a local read:\n{output}");
        let memory: Vec<&str> =
            output.lines().filter(|line| line.starts_with("0x") && line.contains(":\t3\t")).collect();
        assert_eq!(memory.len(), 2, "{arch}: memory read twice:\n{output}");
        assert!(memory[0].ends_with(":\t3\t5\t7") && memory[1].ends_with(":\t3\t50\t7"), "{arch}: written:\n{output}");
        let pcs = printed_values(&output);
        assert_eq!(pcs.len(), 2, "{arch}: pc printed before and after the step:\n{output}");
        assert_ne!(pcs[0], pcs[1], "{arch}: stepi moved the pc:\n{output}");
        assert!(
            output.contains("Breakpoint 2, kernel::tests::sum ("),
            "{arch}: a kernel function's breakpoint:\n{output}"
        );
        assert!(output.contains("in kernel::tests::debugger_walk () at kernel/src/tests.rs"), "{arch}: bt:\n{output}");
        // The kernel computed with what the debugger wrote, then the stub reported its exit.
        assert!(output.contains("# debugger_walk: total 60"), "{arch}: the write reached the kernel:\n{output}");
        assert!(output.contains("ok 1 kernel::tests::debugger_walk"), "{arch}:\n{output}");
        let gdb_saw = std::fs::read_to_string(&exit_log).unwrap_or_default();
        assert!(
            gdb_saw.contains("[Inferior 1 (process 1) exited normally]"),
            "{arch}: gdb saw the exit:\n{gdb_saw}\n{output}"
        );
        assert!(output.contains(&format!("{arch}: kernel exited with success")), "{arch}:\n{output}");
        assert!(qemu_processes().is_empty(), "{arch}: QEMU left behind");
    }
}

#[test]
fn a_cpu_exception_stops_in_the_kernel_stub_with_sigsegv_and_detaching_lets_the_kernel_report_it() {
    let _lock = exclusive();
    let batch = script("gdbstub-fault", &["continue", "continue", "bt 1", "detach"]);
    for arch in ARCHES {
        let args = ["gdb", "--stub", "kernel", "--arch", arch, "--features", "selftest", "--test"];
        let run = xtask(&[&args[..], &["kernel::selftest::memory_fault", "--batch", &batch]].concat());
        let output = run.all_output();
        assert!(output.contains("Program received signal SIGSEGV"), "{arch}: the fault's signal:\n{output}");
        assert!(output.contains("#0  ") && output.contains("kernel::selftest::memory_fault"), "{arch}: bt:\n{output}");
        // Detached, the kernel goes on as without a debugger: its fatal path reports the test.
        assert!(output.contains("gdbstub: the debugger detached"), "{arch}:\n{output}");
        assert!(output.contains("# fault: "), "{arch}: the kernel's own report:\n{output}");
        assert!(output.contains("not ok 1 kernel::selftest::memory_fault"), "{arch}:\n{output}");
        assert_eq!(run.status, Some(3), "{arch}: the test crashed the boot (exit code 3):\n{output}");
        assert!(qemu_processes().is_empty(), "{arch}: QEMU left behind");
    }
}

/// gdb's Ctrl-C stops a running kernel in its own stub (the timer's poll finds gdb's 0x03 on
/// the port), as SIGINT, in the frame of the test that spins; released, it ends cleanly.
#[test]
fn ctrl_c_in_gdb_stops_the_running_kernel_in_its_stub_with_sigint() {
    let _lock = exclusive();
    let hold = |value: u8| format!("set var *(unsigned char *)&KERNEL_DEBUGGER_HOLD = {value}");
    let (hold_on, hold_off) = (hold(1), hold(0));
    let batch = script(
        "gdbstub-interrupt",
        &[
            "set language c",
            &hold_on,
            "set language auto",
            "continue",
            // What a user's Ctrl-C does: SIGINT to gdb while the kernel runs.
            "python import os, signal, threading; threading.Timer(2.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()",
            "continue",
            "bt 3",
            "set language c",
            &hold_off,
            "set language auto",
            "continue",
        ],
    );
    for arch in ARCHES {
        let args = ["gdb", "--stub", "kernel", "--arch", arch, "--test", "kernel::tests::debugger_interrupt"];
        let run = xtask(&[&args[..], &["--batch", &batch]].concat());
        let output = run.all_output();
        assert_eq!(run.status, Some(0), "{arch}:\n{output}");
        assert!(output.contains("Program received signal SIGINT, Interrupt."), "{arch}: stopped by Ctrl-C:\n{output}");
        let backtrace = output.split("SIGINT, Interrupt.").nth(1).unwrap_or_default();
        assert!(
            backtrace.contains("kernel::tests::debugger_interrupt () at kernel/src/tests.rs"),
            "{arch}: stopped in the spinning test:\n{output}"
        );
        assert!(output.contains("# debugger_interrupt: released after "), "{arch}: released:\n{output}");
        assert!(output.contains("ok 1 kernel::tests::debugger_interrupt"), "{arch}:\n{output}");
        assert!(qemu_processes().is_empty(), "{arch}: QEMU left behind");
    }
}

/// The FP registers through the kernel stub, on the arches whose kernel uses them: written by
/// gdb, then read back after a single step (a trap whose entry saves and restores them).
/// - aarch64: fpsr and fpcr each keep their own value (gdbstub_arch serializes them in the
///   other order than its target description).
/// - riscv64: its own register layout (gdbstub_arch's has no FP registers); gdb steps in
///   software there (a breakpoint trap), and makes fflags and frm from fcsr.
#[test]
fn the_kernel_stub_writes_and_reads_fp_registers_across_a_step() {
    let _lock = exclusive();
    let cases: [(&str, &[&str], &[&str]); 2] = [
        (
            "aarch64",
            &[
                "set var $fpsr = 0x1f",
                "set var $fpcr = 0xc00000",
                "set var $v7.d.u[0] = 0x1122334455667788",
                "stepi",
                "print/x $fpsr",
                "print/x $fpcr",
                "print/x $v7.d.u[0]",
                "set var $fpcr = 0",
            ],
            &["0x1f", "0xc00000", "0x1122334455667788"],
        ),
        (
            "riscv64",
            &[
                "set var $fcsr = 0x85",
                "set var $ft7.double = 2.5",
                "set var $fa0.double = -1.25",
                "stepi",
                "print $ft7.double",
                "print $fa0.double",
                "print/x $fcsr",
                "print/x $frm",
                "print/x $fflags",
                "set var $fcsr = 0",
            ],
            &["2.5", "-1.25", "0x85", "0x4", "0x5"],
        ),
    ];
    for (arch, commands, expected) in cases {
        let commands: Vec<&str> = [&["continue"], commands, &["continue"]].concat();
        let batch = script(&format!("gdbstub-fp-{arch}"), &commands);
        let args = ["gdb", "--stub", "kernel", "--arch", arch, "--test", "kernel::tests::debugger_walk"];
        let run = xtask(&[&args[..], &["--batch", &batch]].concat());
        let output = run.all_output();
        assert_eq!(run.status, Some(0), "{arch}: {output}");
        let values: Vec<&str> = output
            .lines()
            .filter(|line| line.starts_with('$') && line.contains(" = "))
            .map(|line| line.split(" = ").nth(1).unwrap())
            .collect();
        assert_eq!(values, expected, "{arch}: {output}");
        assert!(output.contains("ok 1 kernel::tests::debugger_walk"), "{arch}: {output}");
    }
}
