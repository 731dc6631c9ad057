//! Replaying a recording: under QEMU's GDB server with gdb stopped at the failure and
//! reverse execution available (`cargo xtask gdb --replay`), or to its end without a
//! debugger to check that the replay gives the recorded serial output byte for byte
//! (`--replay ... --check`).

use super::{Capture, Manifest, Mode};
use crate::arch::Arch;
use crate::debugger::GdbStart;
use crate::qemu::{GdbServer, Launch};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A recording found, and checked against its image.
pub struct Recording {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

/// Finds the recording `spec` names: `latest` (the latest run's first recording),
/// `RUN/ARCH/TEST` (RUN a run's id or `latest`), or a recording's directory.
pub fn find(runs: &Path, spec: &str) -> Result<Recording> {
    let dir = if Path::new(spec).join(super::MANIFEST).is_file() {
        PathBuf::from(spec)
    } else if spec == "latest" {
        let run = runs.join("latest");
        let found = super::recordings_in(&run);
        let Some((_, _, dir)) = found.first() else {
            bail!(
                "the latest run (`{}`) has no recording: `cargo xtask test --record-failures` makes them",
                run.display()
            );
        };
        if found.len() > 1 {
            let others: Vec<String> =
                found[1..].iter().map(|(arch, test, _)| format!("latest/{arch}/{test}")).collect();
            eprintln!("note: replaying the first of {} recordings; the others: {}", found.len(), others.join(", "));
        }
        dir.clone()
    } else {
        let parts: Vec<&str> = spec.splitn(3, '/').collect();
        let [run, arch, test] = parts[..] else {
            bail!("`--replay {spec}`: expected `latest`, `RUN/ARCH/TEST` or a recording's directory");
        };
        super::recording_dir(&runs.join(run), arch, test)
    };
    if !dir.join(super::MANIFEST).is_file() {
        bail!("no recording at `{}` (`cargo xtask report` lists a run's recordings)", dir.display());
    }
    let manifest = Manifest::load(&dir)?;
    check_image(&manifest)?;
    Ok(Recording { dir, manifest })
}

/// Refuses a recording whose image is gone or is now another build.
fn check_image(manifest: &Manifest) -> Result<()> {
    let found = crate::symbolize::build_id(&manifest.image);
    match found {
        Some(found) if found == manifest.build_id => Ok(()),
        Some(found) => bail!(
            "the recording was made with the image of build-id {}, but `{}` now has build-id {found}: \
             a replay must run the very image that was recorded (record again after rebuilding)",
            manifest.build_id,
            manifest.image.display()
        ),
        None => bail!(
            "the recording was made with the image of build-id {}, and `{}` is missing or has no build-id",
            manifest.build_id,
            manifest.image.display()
        ),
    }
}

impl Recording {
    /// The replaying QEMU: the recorded boot's command with `rr=replay`, and a GDB server.
    pub fn launch<'a>(&'a self, arch: &'a Arch, binary: PathBuf, gdb: Option<GdbServer>) -> Launch<'a> {
        Launch {
            arch,
            binary,
            kernel: &self.manifest.image,
            cmdline: self.manifest.cmdline.clone(),
            machine: self.manifest.machine.as_deref(),
            gdb,
            extra_args: &self.manifest.extra_args,
            record: Some((Mode::Replay, &self.dir)),
            cpus: None,
        }
    }

    /// The recorded serial output.
    pub fn recorded_serial(&self) -> Result<Vec<u8>> {
        let path = self.dir.join(super::SERIAL);
        std::fs::read(&path).with_context(|| format!("cannot read `{}`", path.display()))
    }

    /// Replays to the end without a debugger; the serial output it gave.
    pub fn replay_to_end(&self, arch: &Arch, binary: PathBuf) -> Result<Vec<u8>> {
        let launch = self.launch(arch, binary, None);
        crate::ui::echo(&launch.display());
        let captured = Capture::start(&launch, false)?.finish(Some(REPLAY_LIMIT))?;
        if captured.status.is_none() {
            bail!("the replay did not end within {} s; QEMU was ended", REPLAY_LIMIT.as_secs());
        }
        Ok(captured.serial)
    }
}

/// How long a replay without a debugger may take.
const REPLAY_LIMIT: Duration = Duration::from_secs(120);

/// Where a replay stops, as gdb breakpoint locations: where a failing test ends up, a panic
/// or a fault. The panic handler is `rust_begin_unwind` in every `no_std` kernel
/// (`__rustc::rust_begin_unwind` as newer compilers mangle it; gdb knows it only by its
/// source name, so it is given by address); `ktest`'s end of a crashed test is where every
/// fault path of a kernel on `ktest` goes. Without a handler of that name, `core`'s
/// `panic_fmt` stands in.
pub fn failure_breakpoints(elf: &Path) -> Result<Vec<String>> {
    let mut found = Vec::new();
    match symbol_address(elf, &["__rustc::rust_begin_unwind", "rust_begin_unwind"])? {
        Some(address) => found.push(format!("*{address:#x}")),
        None if crate::debugger::has_function(elf, "core::panicking::panic_fmt")? => {
            found.push("core::panicking::panic_fmt".to_string())
        }
        None => {}
    }
    if crate::debugger::has_function(elf, CRASH_PATH)? {
        found.push(CRASH_PATH.to_string());
    }
    if found.is_empty() {
        bail!("`{}` has neither a panic handler nor `ktest`'s crash path to stop at", elf.display());
    }
    Ok(found)
}

/// The address of the first of `names` (demangled, hash suffix ignored) the ELF defines.
fn symbol_address(elf: &Path, names: &[&str]) -> Result<Option<u64>> {
    use object::{Object, ObjectSymbol};
    let data = std::fs::read(elf).with_context(|| format!("cannot read `{}`", elf.display()))?;
    let file = object::File::parse(&*data).with_context(|| format!("`{}` is not an ELF file", elf.display()))?;
    for wanted in names {
        let address = file.symbols().find_map(|symbol| {
            let name = symbol.name().ok()?;
            (format!("{:#}", rustc_demangle::demangle(name)) == *wanted && symbol.address() != 0)
                .then_some(symbol.address())
        });
        if address.is_some() {
            return Ok(address);
        }
    }
    Ok(None)
}

/// Where `ktest` ends a test that panicked or faulted.
const CRASH_PATH: &str = "ktest::runner::end_running_test";

/// gdb's arguments for a replay: symbols and sources as `cargo xtask gdb` loads them,
/// connected, breakpoints at the failure, run to it; then the user's batch file and arguments.
pub fn gdb_args(start: &GdbStart<'_>, batch: Option<&Path>, extra: &[String]) -> Vec<String> {
    let mut args = start.args();
    args.extend(["-ex".into(), "continue".into()]);
    if let Some(batch) = batch {
        args.extend(["-batch".to_string(), "-x".to_string(), batch.display().to_string()]);
    }
    args.extend(extra.iter().cloned());
    args
}

/// Compares a replay's serial output with the recorded one: whether equal, and a phrase
/// that follows "the replay's serial output".
pub fn compare(recorded: &[u8], replayed: &[u8]) -> (bool, String) {
    if recorded == replayed {
        return (true, format!("is identical to the recorded one ({} bytes)", recorded.len()));
    }
    let at = recorded.iter().zip(replayed).position(|(a, b)| a != b).unwrap_or(recorded.len().min(replayed.len()));
    let sizes = format!("{} bytes recorded, {} replayed", recorded.len(), replayed.len());
    (false, format!("differs from the recorded one at byte {at} ({sizes})"))
}

/// Where a replay's serial output is kept, beside the recording's.
pub fn replayed_serial_path(dir: &Path) -> PathBuf {
    dir.join("replayed.out")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comparison_names_the_first_differing_byte() {
        assert!(compare(b"ok 1 a\n", b"ok 1 a\n").0);
        assert_eq!(
            compare(b"ok 1 a\n", b"ok 1 b\n").1,
            "differs from the recorded one at byte 5 (7 bytes recorded, 7 replayed)"
        );
        assert_eq!(
            compare(b"ok", b"ok more").1,
            "differs from the recorded one at byte 2 (2 bytes recorded, 7 replayed)"
        );
    }

    #[test]
    fn a_recording_of_another_build_is_refused_naming_both_build_ids() {
        let image = std::env::current_exe().unwrap();
        let manifest = Manifest {
            test: "kernel::a".into(),
            arch: "x86_64".into(),
            image: image.clone(),
            build_id: "00ff".into(),
            cmdline: String::new(),
            machine: None,
            extra_args: Vec::new(),
            command: String::new(),
            verdict: "failed: panic".into(),
            tries: 1,
            serial_bytes: 0,
            serial_from_lines: false,
        };
        let error = check_image(&manifest).unwrap_err().to_string();
        assert!(error.contains("build-id 00ff") && error.contains(&image.display().to_string()), "{error}");
        if let Some(found) = crate::symbolize::build_id(&image) {
            assert!(error.contains(&format!("now has build-id {found}")), "{error}");
            assert!(check_image(&Manifest { build_id: found, ..manifest }).is_ok());
        }
    }

    #[test]
    fn a_spec_that_names_nothing_says_what_it_expected() {
        let error = find(Path::new("/nowhere"), "x").err().unwrap().to_string();
        assert!(error.contains("expected `latest`, `RUN/ARCH/TEST`"), "{error}");
        let error = find(Path::new("/nowhere"), "1/x86_64/a::b").err().unwrap().to_string();
        assert!(error.contains("no recording at `/nowhere/1/record/x86_64/a::b`"), "{error}");
    }
}
