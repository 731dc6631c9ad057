//! QEMU's own sandbox: `-sandbox on,...`, QEMU's seccomp filter, which forbids the system
//! calls an emulator never needs (obsolete ones, changing privileges, starting processes,
//! changing scheduling and resource limits). The kernel under test is untrusted code, and a
//! bug in QEMU's device emulation would otherwise hand it everything QEMU's user may do.
//!
//! Not every QEMU has it (it is built with libseccomp, or not): each binary is asked once,
//! by starting it with the option and no machine, and the answer is kept (by the binary's
//! path, mtime and size, as the version check does) so that a run pays nothing for it.
//! `cargo xtask doctor` shows the answer. The filesystem side of the confinement, which QEMU
//! cannot do for itself, is `confine.rs`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What every QEMU the harness starts gets after `-sandbox`, where the binary supports it.
pub const SECCOMP: &str = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";

/// Turns the whole confinement off (`-sandbox`, Landlock, the memory cap) when `0`: for
/// debugging with QEMU options that write files (`-D log`), never in CI.
pub const ENV_OFF: &str = "XTASK_QEMU_SANDBOX";

/// How long the probe may take before it counts as "no sandbox" (0.1–0.2 s here, once per
/// binary).
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether a QEMU binary runs under its seccomp sandbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seccomp {
    Supported,
    /// Not supported; what QEMU said.
    Unsupported(String),
}

/// The answers of this process, by binary path.
static KNOWN: Mutex<BTreeMap<PathBuf, Seccomp>> = Mutex::new(BTreeMap::new());

/// Whether the user turned the confinement off ([`ENV_OFF`]`=0`).
pub fn turned_off() -> bool {
    std::env::var(ENV_OFF).is_ok_and(|value| value == "0")
}

/// Records an answer without asking QEMU (unit tests, where the binary is only a name).
pub fn remember(binary: &Path, answer: Seccomp) {
    KNOWN.lock().unwrap_or_else(|poison| poison.into_inner()).insert(binary.to_path_buf(), answer);
}

/// Whether `binary` supports [`SECCOMP`]: from this process's answers, else the cache file
/// `cache`, else by asking the binary (and recording the answer in both).
pub fn seccomp(binary: &Path, cache: &Path) -> Seccomp {
    if let Some(known) = KNOWN.lock().unwrap_or_else(|poison| poison.into_inner()).get(binary) {
        return known.clone();
    }
    let key = crate::tools::binary_key(binary).ok();
    let cached = std::fs::read_to_string(cache).unwrap_or_default();
    let from_cache = key.as_ref().and_then(|key| {
        cached.lines().find_map(|line| line.strip_prefix(key.as_str())?.strip_prefix('\t')).map(|answer| {
            match answer.strip_prefix("unsupported\t") {
                Some(reason) => Seccomp::Unsupported(reason.to_string()),
                None => Seccomp::Supported,
            }
        })
    });
    let answer = from_cache.unwrap_or_else(|| {
        let answer = probe(binary);
        if let Some(key) = &key {
            let prefix = format!("{}\t", binary.display());
            let mut lines: Vec<String> =
                cached.lines().filter(|line| !line.starts_with(&prefix)).map(str::to_string).collect();
            lines.push(match &answer {
                Seccomp::Supported => format!("{key}\tsupported"),
                Seccomp::Unsupported(reason) => format!("{key}\tunsupported\t{}", reason.replace(['\t', '\n'], " ")),
            });
            if let Some(directory) = cache.parent() {
                let _ = std::fs::create_dir_all(directory);
            }
            // Only a cache: if writing it fails, the next run asks QEMU again.
            let _ = crate::fsutil::write_atomically(cache, (lines.join("\n") + "\n").as_bytes());
        }
        answer
    });
    remember(binary, answer.clone());
    answer
}

/// Starts `binary` with the sandbox and no machine, and asks it to quit over QMP on stdin:
/// status 0 means the filter was installed (QEMU installs it before it reads any monitor).
fn probe(binary: &Path) -> Seccomp {
    let spawned = Command::new(binary)
        .args(["-sandbox", SECCOMP, "-machine", "none", "-nodefaults", "-display", "none"])
        .args(["-monitor", "none", "-serial", "none", "-qmp", "stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => return Seccomp::Unsupported(format!("`{}` does not start: {error}", binary.display())),
    };
    if let Some(mut stdin) = child.stdin.take() {
        // A QEMU that already exited closed its end: its status says why.
        let _ = stdin.write_all(b"{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"quit\"}\n");
    }
    let deadline = Instant::now() + PROBE_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Seccomp::Supported,
            Ok(Some(status)) => {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                let said = stderr.lines().next().unwrap_or("").trim().to_string();
                return Seccomp::Unsupported(if said.is_empty() { format!("QEMU exited with {status}") } else { said });
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Seccomp::Unsupported(format!("QEMU did not answer within {} s", PROBE_TIMEOUT.as_secs()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_qemu(name: &str, script: &str) -> (PathBuf, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let directory = crate::testutil::scratch_dir(name);
        let fake = directory.join("qemu-system-fake");
        std::fs::write(&fake, script).unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        (fake, directory.join("sandbox-cache"))
    }

    /// A QEMU built without libseccomp says so and exits 1, as this stand-in does.
    #[test]
    fn a_qemu_without_seccomp_is_unsupported_with_its_words_and_the_answer_is_kept() {
        let said = "qemu-system-fake: -sandbox on: seccomp support is disabled";
        let (fake, cache) = fake_qemu("sandbox-unsupported", &format!("#!/bin/sh\necho '{said}' >&2\nexit 1\n"));
        assert_eq!(seccomp(&fake, &cache), Seccomp::Unsupported(said.into()));
        let kept = std::fs::read_to_string(&cache).unwrap();
        assert!(kept.contains("\tunsupported\t") && kept.contains(said), "{kept}");
        // Another process finds the answer in the cache file.
        KNOWN.lock().unwrap().remove(&fake);
        assert_eq!(seccomp(&fake, &cache), Seccomp::Unsupported(said.into()));
        // A changed binary (another size) is asked again.
        KNOWN.lock().unwrap().remove(&fake);
        std::fs::write(&fake, "#!/bin/sh\ncat >/dev/null\nexit 0\n").unwrap();
        assert_eq!(seccomp(&fake, &cache), Seccomp::Supported);
    }

    #[test]
    fn a_qemu_that_quits_when_asked_supports_it() {
        let (fake, cache) = fake_qemu("sandbox-supported", "#!/bin/sh\ncat >/dev/null\nexit 0\n");
        assert_eq!(seccomp(&fake, &cache), Seccomp::Supported);
    }

    /// The real QEMUs of this machine (the harness's tests need them anyway).
    #[test]
    fn this_machines_qemu_supports_the_sandbox() {
        let Some(qemu) = crate::tools::find_on_path("qemu-system-x86_64") else { return };
        let started = Instant::now();
        assert_eq!(probe(&qemu), Seccomp::Supported);
        assert!(started.elapsed() < PROBE_TIMEOUT);
    }
}
