//! `cargo xtask gdb` and `cargo xtask test --debug-failures` with the real gdb-multiarch in
//! batch mode against the real QEMU, on every architecture.

use crate::harness::{ARCHES, exclusive, gdb_script as script, qemu_processes, spawn_xtask, xtask};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn the_entry_breakpoint_is_hit_with_rust_frames_and_the_kernel_then_finishes() {
    let _lock = exclusive();
    let batch = script("gdb-entry", &["continue", "bt", "info registers pc", "continue"]);
    for arch in ARCHES {
        let run = xtask(&["gdb", "--arch", arch, "--batch", &batch]);
        let output = run.all_output();
        assert_eq!(run.status, Some(0), "{arch}:\n{output}");
        // The kernel's serial output reaches the same terminal on its own schedule and can
        // split gdb's lines; gdb's `Breakpoint N, ` prefix and its bt lines stay whole.
        assert!(output.contains("Breakpoint 1, "), "{arch}: entry breakpoint:\n{output}");
        assert!(output.contains("#0  kernel::kernel_main"), "{arch}: bt names the Rust function:\n{output}");
        assert!(output.contains(&format!("arch::{arch}::{arch}_entry")), "{arch}: bt shows the caller:\n{output}");
        let pc = output.lines().find(|line| line.starts_with("pc ") || line.starts_with("rip ")).unwrap_or("");
        assert!(pc.contains("<kernel::kernel_main+"), "{arch}: the pc is in kernel_main: {pc:?}\n{output}");
        assert!(output.contains(&format!("hello from {arch}")), "{arch}: the kernel ran on:\n{output}");
        assert!(output.contains(&format!("{arch}: kernel exited with success")), "{arch}:\n{output}");
    }
}

#[test]
fn test_mode_stops_inside_the_test_function() {
    let _lock = exclusive();
    let batch = script("gdb-test", &["continue", "continue", "bt", "continue"]);
    for arch in ARCHES {
        let run = xtask(&["gdb", "--arch", arch, "--test", "kernel::tests::fmt_integers", "--batch", &batch]);
        let output = run.all_output();
        assert_eq!(run.status, Some(0), "{arch}:\n{output}");
        assert!(output.contains("Breakpoint 2, "), "{arch}: the test's breakpoint:\n{output}");
        assert!(output.contains("#0  kernel::tests::fmt_integers"), "{arch}:\n{output}");
        // The runner calls each test through the arch's run with recovery; gdb shows the
        // runner's frame that called the test (its unwinding stops in the recovery assembly).
        assert!(output.contains("ktest::runner::call_test"), "{arch}: the runner called it:\n{output}");
        assert!(output.contains("ok 1 kernel::tests::fmt_integers"), "{arch}: only that test ran:\n{output}");
    }
}

#[test]
fn an_unknown_test_or_a_taken_port_is_a_clear_error() {
    let _lock = exclusive();
    let run = xtask(&["gdb", "--arch", "riscv64", "--test", "kernel::tests::no_such_test"]);
    assert_eq!(run.status, Some(2));
    assert!(run.stderr.contains("no test `kernel::tests::no_such_test` in the riscv64 test image"), "{}", run.stderr);

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let run = xtask(&["gdb", "--arch", "x86_64", "--port", &port]);
    assert_eq!(run.status, Some(2));
    assert!(run.stderr.contains(&format!("port {port} on 127.0.0.1 is taken")), "{}", run.stderr);
}

#[test]
fn debug_failures_stops_at_the_failure_and_the_printed_command_attaches_there() {
    let _lock = exclusive();
    for arch in ARCHES {
        let args = ["test", "--arch", arch, "--features", "selftest", "--debug-failures", "--exact"];
        let mut xtask = spawn_xtask(&[&args[..], &["kernel::selftest::assertion_fails"]].concat());
        let mut lines = BufReader::new(xtask.stdout.take().unwrap()).lines();
        let mut seen = Vec::new();
        let command = loop {
            let line =
                lines.next().unwrap_or_else(|| panic!("{arch}: no attach command in:\n{}", seen.join("\n"))).unwrap();
            seen.push(line.clone());
            if line.ends_with("Attach with:") {
                break lines.next().unwrap().unwrap().split_once("]").unwrap().1.trim().to_string();
            }
        };
        let words: Vec<&str> = command.split_whitespace().collect();
        let gdb = Command::new(words[0])
            .args(&words[1..])
            .args(["-batch", "-ex", "bt", "-ex", "detach"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let gdb_output = String::from_utf8_lossy(&gdb.stdout).into_owned() + &String::from_utf8_lossy(&gdb.stderr);
        // `frame function` selected the failed test's frame, and bt shows it under the panic.
        let selected = gdb_output.lines().find(|line| line.starts_with('#')).unwrap_or("");
        assert!(
            selected.contains("kernel::selftest::assertion_fails"),
            "{arch}: selected frame {selected:?}:\n{gdb_output}"
        );
        assert!(gdb_output.contains("kernel::fatal::panic"), "{arch}:\n{gdb_output}");
        // Detaching released the kernel: the run finishes, with the test failed.
        let rest: Vec<String> = lines.map_while(Result::ok).collect();
        let status = xtask.wait().unwrap();
        assert_eq!(status.code(), Some(1), "{arch}:\n{}", rest.join("\n"));
        assert!(rest.iter().any(|line| line.contains("0 passed, 1 failed")), "{arch}:\n{}", rest.join("\n"));
        assert!(qemu_processes().is_empty(), "{arch}: QEMU left behind");
    }
}

#[test]
fn server_only_prints_a_complete_gdb_command_and_editor_configuration_and_ends_when_qemu_does() {
    let _lock = exclusive();
    let mut xtask = spawn_xtask(&["gdb", "--arch", "aarch64", "--server-only"]);
    let mut lines = BufReader::new(xtask.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    while let Some(Ok(line)) = lines.next() {
        printed.push(line.clone());
        if line.starts_with("Waiting until QEMU exits") {
            break;
        }
    }
    let text = printed.join("\n");
    assert!(text.contains("`--port "), "names --port for a fixed port: {text}");
    // The VS Code configuration is whole JSON with everything cppdbg needs.
    let from = printed.iter().position(|line| line.starts_with("An editor's debug configuration")).unwrap() + 1;
    let to = printed.iter().position(|line| line == "    }").unwrap();
    let configuration: serde_json::Value = serde_json::from_str(&printed[from..=to].join("\n")).expect("JSON");
    for key in
        ["type", "request", "program", "cwd", "MIMode", "miDebuggerPath", "miDebuggerServerAddress", "sourceFileMap"]
    {
        assert!(configuration.get(key).is_some(), "`{key}` in {configuration:#}");
    }
    assert_eq!(configuration["type"], "cppdbg");
    // The printed gdb command, run from outside the repository, finds the sources.
    let command = printed.iter().find(|line| line.contains("target remote")).expect("a gdb command").trim().to_string();
    let words = xtask::qemu::shell_words(&command);
    let gdb = Command::new(&words[0])
        .args(&words[1..])
        .args(["-batch", "-ex", "list kernel_main", "-ex", "info registers pc", "-ex", "kill"])
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let gdb_output = String::from_utf8_lossy(&gdb.stdout);
    assert!(gdb_output.contains("pub fn kernel_main"), "kernel_main's source is listed:\n{gdb_output}");
    assert!(gdb_output.contains("pc "), "QEMU was waiting, paused:\n{gdb_output}");
    let status = xtask.wait().unwrap();
    assert!(status.code().is_some(), "the xtask ended on its own when QEMU did");
    assert!(qemu_processes().is_empty(), "QEMU left behind");
}
