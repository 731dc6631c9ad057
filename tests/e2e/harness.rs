//! Running `cargo xtask` from a test, and checking what it left behind.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use wait_timeout::ChildExt;

pub const ARCHES: [&str; 3] = ["x86_64", "aarch64", "riscv64"];

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

thread_local! {
    /// Whether this test's thread holds [`ONE_AT_A_TIME`].
    static HOLDS_THE_LOCK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The lock every test that runs the xtask holds: one command at a time, so that the
/// process-table check after each command sees only that command's processes.
pub struct Exclusive(#[allow(dead_code)] MutexGuard<'static, ()>);

impl Drop for Exclusive {
    fn drop(&mut self) {
        HOLDS_THE_LOCK.with(|holds| holds.set(false));
    }
}

/// Serializes the tests that run the xtask (a failed test must not poison the others).
/// The first call runs `cargo xtask setup`, so no test depends on another having
/// installed what it needs; if setup fails (installs off, say), every test fails with its
/// message, which names the install command of each missing program.
pub fn exclusive() -> Exclusive {
    let guard = ONE_AT_A_TIME.lock().unwrap_or_else(|poison| poison.into_inner());
    HOLDS_THE_LOCK.with(|holds| holds.set(true));
    let exclusive = Exclusive(guard);
    if let Err(message) = SETUP.get_or_init(setup) {
        panic!("{message}");
    }
    exclusive
}

/// The outcome of the suite's one `cargo xtask setup`.
static SETUP: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();

fn setup() -> Result<(), String> {
    let run = xtask(&["setup"]);
    match run.status {
        Some(0) => Ok(()),
        _ => Err(format!("`cargo xtask setup` failed, so this test cannot run:\n{}", run.stderr)),
    }
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The result of one `cargo xtask` command.
pub struct Run {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs `cargo xtask ARGS` with stdin closed, as CI does, and checks that it left no QEMU.
pub fn xtask(args: &[&str]) -> Run {
    xtask_with(args, |_| {})
}

/// Like [`xtask`], with a chance to change the command (environment, say).
pub fn xtask_with(args: &[&str], adjust: impl FnOnce(&mut Command)) -> Run {
    assert!(
        HOLDS_THE_LOCK.with(|holds| holds.get()),
        "a test that runs the xtask must hold `exclusive()`: the check for leftover QEMU processes needs it"
    );
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.args(args).current_dir(root());
    adjust(&mut command);
    run_checked(command, &format!("cargo xtask {}", args.join(" ")))
}

/// Runs plain `cargo ARGS` in `kernel/` (where its `.cargo/config.toml` applies), as a
/// developer would, and checks that it left no QEMU.
pub fn cargo_in_kernel(args: &[&str]) -> Run {
    cargo_in_kernel_with(args, |_| {})
}

/// Like [`cargo_in_kernel`], with a chance to change the command (environment, say).
pub fn cargo_in_kernel_with(args: &[&str], adjust: impl FnOnce(&mut Command)) -> Run {
    assert!(HOLDS_THE_LOCK.with(|holds| holds.get()), "a test that boots kernels must hold `exclusive()`");
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or("cargo".into()));
    command.args(args).current_dir(root().join("kernel"));
    adjust(&mut command);
    run_checked(command, &format!("cargo {}", args.join(" ")))
}

/// How long one command of a test may run. Past it the command's process group is ended
/// (SIGTERM, which makes the xtask end its QEMU; SIGKILL ten seconds later) and the test
/// fails with what the command printed: a hang costs one test, not the whole suite.
const COMMAND_LIMIT: Duration = Duration::from_secs(20 * 60);

fn run_checked(mut command: Command, what: &str) -> Run {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = command.spawn().unwrap_or_else(|error| panic!("`{what}` cannot start: {error}"));
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = read(child.stdout.take().map(|pipe| Box::new(pipe) as Box<_>));
    let stderr = read(child.stderr.take().map(|pipe| Box::new(pipe) as Box<_>));
    let finished = child.wait_timeout(COMMAND_LIMIT).expect("the command can be waited for");
    if finished.is_none() {
        let group = -(child.id() as i32);
        // SAFETY: kill(2) on the process group this test started.
        unsafe { libc::kill(group, libc::SIGTERM) };
        if child.wait_timeout(Duration::from_secs(10)).ok().flatten().is_none() {
            // SAFETY: as above.
            unsafe { libc::kill(group, libc::SIGKILL) };
            let _ = child.wait();
        }
    }
    let run = Run {
        status: finished.and_then(|status| status.code()),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    assert!(
        finished.is_some(),
        "`{what}` ran longer than {} s and was ended:\n{}",
        COMMAND_LIMIT.as_secs(),
        run.all_output()
    );
    let left = qemu_processes();
    assert!(left.is_empty(), "QEMU outlived `{what}`: {left:?}\n{}", run.all_output());
    run
}

/// QEMU processes running images of this repository, from /proc: their command lines.
pub fn qemu_processes() -> Vec<String> {
    qemu_pids_and_commands().into_iter().map(|(_, cmdline)| cmdline).collect()
}

pub fn qemu_pids_and_commands() -> Vec<(u32, String)> {
    xtask::process::live_qemu_processes(&root().join("target/xtask/images"))
}

/// Waits until `child`, a self-test run of every arch, sits in `kernel::selftest::hangs_forever`
/// on each (a boot resuming after `flood_forever`, the test before it), then half a second
/// more. The build comes first and has the command's own limit (a cold one, when this is the
/// suite's first self-test run, took over a minute on 2 cores); from the first boot, the
/// arches reach the hang within seconds (minutes on a loaded machine: several boots come
/// first). Panics, naming the cause, if the run ends before.
pub fn wait_until_every_arch_hangs(child: &mut std::process::Child) {
    let started = std::time::Instant::now();
    let mut booted: Option<std::time::Instant> = None;
    loop {
        let running = qemu_processes();
        if booted.is_none() && !running.is_empty() {
            booted = Some(std::time::Instant::now());
        }
        let hanging =
            running.iter().filter(|cmdline| cmdline.contains("ktest.after=kernel::selftest::flood_forever")).count();
        if hanging == ARCHES.len() {
            std::thread::sleep(Duration::from_millis(500));
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the run ended ({status}) before it reached kernel::selftest::hangs_forever on every arch");
        }
        match booted {
            None => assert!(started.elapsed() < COMMAND_LIMIT, "the run never booted QEMU (still building?)"),
            Some(booted) => assert!(
                booted.elapsed() < Duration::from_secs(300),
                "the run never reached kernel::selftest::hangs_forever on every arch: {hanging} of {}",
                ARCHES.len()
            ),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts `cargo xtask ARGS` in the background: stdin closed, stdout piped, stderr dropped.
/// The xtask is ended (SIGTERM, which ends its QEMU, then SIGKILL) if the test drops it
/// still running: a failed test leaves no run behind for the next one.
pub fn spawn_xtask(args: &[&str]) -> Spawned {
    let child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the xtask starts");
    Spawned(Some(child))
}

/// A background xtask, ended when dropped.
pub struct Spawned(Option<std::process::Child>);

impl Spawned {
    /// Waits for it to end by itself, with what it printed.
    pub fn wait_with_output(mut self) -> std::process::Output {
        self.0.take().expect("not yet waited for").wait_with_output().expect("the xtask can be waited for")
    }
}

impl std::ops::Deref for Spawned {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        self.0.as_ref().expect("not yet waited for")
    }
}

impl std::ops::DerefMut for Spawned {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.0.as_mut().expect("not yet waited for")
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let Some(child) = &mut self.0 else { return };
        if child.try_wait().ok().flatten().is_none() {
            // SAFETY: kill(2) on the child this test started.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The libtest-style JSON objects of a `--format json` run, one per stdout line.
pub fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}")))
        .collect()
}

/// `(arch, name) -> (event, reason)` for every finished test in JSON output.
pub fn verdicts(events: &[serde_json::Value]) -> std::collections::BTreeMap<(String, String), (String, String)> {
    events
        .iter()
        .filter(|event| event["type"] == "test" && event["event"] != "started")
        .map(|event| {
            (
                (event["arch"].as_str().unwrap().to_string(), event["name"].as_str().unwrap().to_string()),
                (event["event"].as_str().unwrap().to_string(), event["reason"].as_str().unwrap_or("").to_string()),
            )
        })
        .collect()
}

/// A fresh scratch directory under target/.
pub fn scratch(name: &str) -> PathBuf {
    let dir = root().join("target/xtask/e2e").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A gdb command file in a scratch directory named `name`; its path.
pub fn gdb_script(name: &str, commands: &[&str]) -> String {
    let path = scratch(name).join("commands.gdb");
    std::fs::write(&path, commands.join("\n") + "\n").unwrap();
    path.to_string_lossy().into_owned()
}
