//! The kernel under test cannot reach the host: semihosting's SYS_OPEN creates and reads no
//! host file (aarch64, riscv64), and QEMU runs under its seccomp sandbox and Landlock with
//! no monitor, no network device and its servers on 127.0.0.1 only (README, "Security").

use crate::harness::{exclusive, json_lines, qemu_pids_and_commands, root, spawn_xtask, xtask, xtask_with};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

const SELFTEST: &str = "kernel::selftest::semihosting_cannot_open_host_files";
/// A secret only a host file holds: it must never reach the serial line.
const CANARY: &str = "xtask-canary-5b1d: a host secret no kernel may read\n";

/// Every place the self-test's files to create could land: absolute, and relative to the
/// directories QEMU could run in (its empty one, or the repository's root).
fn created_files() -> Vec<PathBuf> {
    let name = "xtask-semihosting-created.txt";
    vec![PathBuf::from("/tmp").join(name), root().join("target/xtask/qemu-cwd").join(name), root().join(name)]
}

fn remove_created_files() {
    for file in created_files() {
        let _ = std::fs::remove_file(file);
    }
}

/// Runs the self-test on `arch`; the JSON events and the serial log.
fn run_selftest(arch: &str, sandbox_off: bool) -> (Option<i32>, Vec<serde_json::Value>, String) {
    let args = ["test", "--arch", arch, "--features", "selftest", "--format", "json", "--exact", SELFTEST];
    let run = xtask_with(&args, |command| {
        if sandbox_off {
            command.env("XTASK_QEMU_SANDBOX", "0");
        }
    });
    let events = json_lines(&run.stdout);
    let suite = events.iter().find(|event| event["type"] == "suite").expect("a suite line").clone();
    let log = std::fs::read_to_string(suite["log"].as_str().unwrap()).unwrap();
    (run.status, events, log)
}

#[test]
fn semihosting_creates_and_reads_no_host_file_on_aarch64_and_riscv64() {
    let _lock = exclusive();
    std::fs::write("/tmp/xtask-semihosting-canary.txt", CANARY).unwrap();
    for arch in ["aarch64", "riscv64"] {
        remove_created_files();
        let (status, events, log) = run_selftest(arch, false);
        assert_eq!(status, Some(0), "{arch}: the self-test passes (every call refused):\n{log}");
        let verdict = events.iter().rfind(|e| e["name"] == SELFTEST && e["event"] != "started").unwrap();
        assert_eq!(verdict["event"], "ok", "{arch}: {verdict}");
        for file in created_files() {
            assert!(!file.exists(), "{arch}: the kernel created `{}`", file.display());
        }
        assert_eq!(log.matches(": refused").count(), 5, "{arch}: each of the five calls refused:\n{log}");
        for secret in [CANARY.trim(), "root:x:0:0", "[workspace]"] {
            assert!(!log.contains(secret), "{arch}: `{secret}` reached the serial line:\n{log}");
        }
    }
}

/// The control: the same self-test with the confinement turned off does reach the host on
/// aarch64, whose exit needs semihosting. So the refusals above are the sandbox's doing, and
/// the self-test can tell.
#[test]
fn without_the_confinement_aarch64_semihosting_reaches_host_files() {
    let _lock = exclusive();
    std::fs::write("/tmp/xtask-semihosting-canary.txt", CANARY).unwrap();
    remove_created_files();
    let (status, _, log) = run_selftest("aarch64", true);
    let created: Vec<PathBuf> = created_files().into_iter().filter(|file| file.exists()).collect();
    remove_created_files();
    assert_eq!(status, Some(1), "the self-test fails when QEMU is unconfined:\n{log}");
    assert!(log.contains(CANARY.trim()), "the canary was read:\n{log}");
    assert_eq!(created.len(), 2, "absolute and relative files created: {created:?}");
}

/// `/proc/<pid>/net/tcp{,6}` lines in LISTEN state: (local address, socket inode).
fn listening_tcp_sockets(pid: u32) -> Vec<(String, String)> {
    ["tcp", "tcp6"]
        .iter()
        .flat_map(|table| {
            std::fs::read_to_string(format!("/proc/{pid}/net/{table}"))
                .unwrap_or_default()
                .lines()
                .skip(1)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.get(3) == Some(&"0A")).then(|| (fields[1].to_string(), fields[9].to_string()))
        })
        .collect()
}

/// The socket inodes QEMU holds open.
fn socket_inodes(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|target| Some(target.to_str()?.strip_prefix("socket:[")?.trim_end_matches(']').to_string()))
        .collect()
}

#[test]
fn qemu_runs_sandboxed_with_no_monitor_no_network_and_its_gdb_server_on_loopback_only() {
    let _lock = exclusive();
    let mut session = spawn_xtask(&["gdb", "--arch", "riscv64", "--server-only"]);
    let mut lines = BufReader::new(session.stdout.take().unwrap()).lines();
    while let Some(Ok(line)) = lines.next() {
        if line.starts_with("Waiting until QEMU exits") {
            break;
        }
    }
    let (pid, cmdline) = qemu_pids_and_commands().into_iter().next().expect("QEMU is running, paused");
    // The xtask says it waits as soon as QEMU starts; QEMU then sets itself up. Its GDB
    // server's socket is listening from the start (the xtask binds it and hands it over), so
    // look once QEMU has also installed its seccomp filter, or after 20 s.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let (status, ours, listening, unix) = loop {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let unix = std::fs::read_to_string(format!("/proc/{pid}/net/unix")).unwrap();
        let ours = socket_inodes(pid);
        let listening: Vec<String> = listening_tcp_sockets(pid)
            .into_iter()
            .filter(|(_, inode)| ours.contains(inode))
            .map(|(address, _)| address)
            .collect();
        let sandboxed = status.lines().any(|line| line == "Seccomp:\t2");
        if (sandboxed && !listening.is_empty()) || std::time::Instant::now() > deadline {
            break (status, ours, listening, unix);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    unsafe { libc::kill(session.id() as i32, libc::SIGINT) };
    let _ = session.wait();

    // QEMU's seccomp filter is installed (mode 2), and no new privileges (Landlock's condition).
    assert!(status.lines().any(|line| line == "Seccomp:\t2"), "{status}");
    assert!(status.lines().any(|line| line == "NoNewPrivs:\t1"), "{status}");
    for words in [" -sandbox on,obsolete=deny", " -monitor none", " -nic none", " -m 128M"] {
        assert!(cmdline.contains(words), "`{words}` missing: {cmdline}");
    }
    // One listening socket, the GDB server, on 127.0.0.1 (0100007F): no monitor, no other.
    assert_eq!(listening.len(), 1, "QEMU listens on exactly one TCP socket: {listening:?}");
    assert!(listening[0].starts_with("0100007F:"), "the GDB server listens on {}, not 127.0.0.1", listening[0]);
    let listening_unix = unix.lines().skip(1).filter(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.get(5) == Some(&"01") && fields.get(6).is_some_and(|inode| ours.iter().any(|ours| ours == inode))
    });
    assert_eq!(listening_unix.count(), 0, "QEMU listens on no Unix socket (a monitor would)");
}

/// `cargo xtask doctor` says what confines QEMU here.
#[test]
fn doctor_reports_the_sandbox_per_qemu_and_landlock() {
    let _lock = exclusive();
    let run = xtask(&["doctor"]);
    for arch in ["x86_64", "aarch64", "riscv64"] {
        let row = run.stdout.lines().find(|line| line.trim_start().starts_with(&format!("{arch} sandbox")));
        assert!(row.is_some_and(|row| row.contains(" ok ") && row.contains("-sandbox")), "{arch}: {}", run.stdout);
    }
    let landlock = run.stdout.lines().find(|line| line.starts_with("Landlock")).expect("a Landlock row");
    assert!(landlock.contains("ABI "), "{landlock}");
}
