//! The architecture table: every per-arch fact the harness uses, read from
//! `targets/<arch>.toml`.
//!
//! Adding an architecture means adding files (its `.toml` and `.json` here, its linker
//! script, its `crates/arch/src/` directory); no code in the xtask names an architecture.

use crate::exit::ExitProtocol;
use crate::workspace::Workspace;
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::{
    fmt,
    path::{Path, PathBuf},
};

/// One architecture, as its `targets/<name>.toml` describes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Arch {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// ELF `e_machine` of the kernel image.
    pub elf_machine: u16,
    /// What gdb calls the architecture (`set architecture`).
    pub gdb_architecture: String,
    /// The rustc built-in target the spec was derived from.
    pub builtin_target: String,
    pub exit_protocol: ExitProtocol,
    pub qemu: Qemu,
    /// The kernel's own GDB stub (`cargo xtask gdb --stub kernel`).
    pub gdbstub: GdbStubPort,
    /// The package that provides `qemu.binary`, per package manager.
    pub packages: Packages,
    /// The arch `run` and `gdb` pick when this machine's own arch is not in the table
    /// (exactly one arch says so).
    #[serde(default)]
    pub fallback: bool,
    /// What reverse execution under QEMU's record/replay cannot do on this arch, as measured
    /// (`cargo xtask doctor` shows it); absent where it all works.
    #[serde(default)]
    pub reverse_execution_limit: Option<String>,
    /// Filled in from the file's location, not read from it.
    #[serde(skip)]
    pub target_json: PathBuf,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Qemu {
    pub binary: String,
    pub machine: String,
    pub cpu: String,
    pub memory: String,
    /// CPUs the machine has (`-smp`; 1 when not said): the most a kernel test may run on at
    /// once (`#[ktest(cpus = N)]`). CPUs the kernel does not start stay halted.
    #[serde(default = "one_cpu")]
    pub cpus: u32,
    /// `-bios` value, if the arch boots through firmware.
    pub firmware: Option<String>,
    /// The file that firmware is, looked for in QEMU's data directories by `doctor`.
    pub firmware_file: Option<String>,
    /// Whether `-kernel` boots a raw binary of the image (`cargo xtask run --raw`).
    #[serde(default)]
    pub boots_raw_binary: bool,
    /// Further arguments, always passed.
    #[serde(default)]
    pub args: Vec<String>,
    /// The serial device the kernel's console uses (documentation only).
    pub serial: String,
}

fn one_cpu() -> u32 {
    1
}

/// Where the kernel's GDB stub (the `gdbstub` feature) talks to the debugger under QEMU.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GdbStubPort {
    /// The QEMU devices that give the kernel its stub's port, on the character device
    /// [`GdbStubPort::CHARDEV`] (which the harness adds, as a socket on 127.0.0.1).
    pub qemu_args: Vec<String>,
    /// The port, as the kernel knows it (documentation only).
    pub port: String,
    /// gdb commands before it connects to the stub.
    #[serde(default)]
    pub gdb_setup: Vec<String>,
}

impl GdbStubPort {
    pub const CHARDEV: &str = "gdbstub";
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Packages {
    pub debian: String,
    pub fedora: String,
    pub arch: String,
    pub brew: String,
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Arch {
    fn matches(&self, name: &str) -> bool {
        self.name == name || self.aliases.iter().any(|alias| alias == name)
    }
}

/// Every architecture found in `targets/`, sorted by name.
#[derive(Clone, Debug)]
pub struct Arches(Vec<Arch>);

impl Arches {
    /// Reads `targets/*.toml`; each must have its `.json` beside it.
    pub fn load(workspace: &Workspace) -> Result<Arches> {
        let directory = workspace.root().join("targets");
        let entries = std::fs::read_dir(&directory)
            .with_context(|| format!("cannot read the architecture directory `{}`", directory.display()))?;
        let mut arches = Vec::new();
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_some_and(|extension| extension == "toml") {
                arches.push(Self::load_one(path)?);
            }
        }
        if arches.is_empty() {
            bail!("no architectures: `{}` holds no `<arch>.toml`", directory.display());
        }
        arches.sort_by(|a, b| a.name.cmp(&b.name));
        let fallbacks: Vec<&str> = arches.iter().filter(|arch| arch.fallback).map(|arch| arch.name.as_str()).collect();
        if fallbacks.len() != 1 {
            bail!(
                "exactly one `targets/<arch>.toml` must say `fallback = true` (the arch `run` and `gdb` pick on a \
                 machine whose own arch is not in the table); found {}",
                if fallbacks.is_empty() { "none".to_string() } else { fallbacks.join(", ") }
            );
        }
        Ok(Arches(arches))
    }

    /// One `targets/<stem>.toml` from its text: what the file says, before the files beside
    /// it are checked (the `arch_table` fuzz target reads any text through this).
    pub fn parse_one(text: &str, stem: &str) -> Result<Arch> {
        let arch: Arch = toml::from_str(text)
            .map_err(|error| anyhow::anyhow!("bad architecture description: {}", error.to_string().trim_end()))?;
        if arch.name != stem {
            bail!("it says `name = \"{}\"`: it must match the file name `{stem}`", arch.name);
        }
        Ok(arch)
    }

    fn load_one(path: PathBuf) -> Result<Arch> {
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read `{}`", path.display()))?;
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        let mut arch = Self::parse_one(&text, &stem).with_context(|| format!("in `{}`", path.display()))?;
        arch.target_json = path.with_extension("json");
        if !arch.target_json.is_file() {
            bail!(
                "architecture `{}` has no target spec: expected `{}` beside `{}`",
                arch.name,
                arch.target_json.display(),
                path.display()
            );
        }
        check_target_json(&arch.target_json)?;
        let linker_script =
            path.parent().unwrap_or(Path::new(".")).join("../linker-scripts").join(format!("{}.ld", arch.name));
        if !linker_script.is_file() {
            bail!("architecture `{}` has no linker script: expected `{}`", arch.name, linker_script.display());
        }
        Ok(arch)
    }

    pub fn all(&self) -> &[Arch] {
        &self.0
    }

    /// The architecture called `name` (or one of its aliases).
    pub fn find(&self, name: &str) -> Option<&Arch> {
        self.0.iter().find(|arch| arch.matches(name))
    }

    /// Every name and alias `--arch` accepts.
    #[cfg(test)]
    pub fn names_and_aliases(&self) -> Vec<String> {
        self.0.iter().flat_map(|arch| std::iter::once(arch.name.clone()).chain(arch.aliases.iter().cloned())).collect()
    }

    /// The arch `run` and `gdb` pick when none is named: this machine's, if the table has
    /// it, else the table's fallback.
    pub fn default_arch(&self) -> &Arch {
        self.find(std::env::consts::ARCH).or_else(|| self.0.iter().find(|arch| arch.fallback)).unwrap_or(&self.0[0])
    }

    /// The selection `--arch` asked for: one arch, or every one for `all`.
    pub fn select(&self, selection: &ArchSelection) -> Vec<Arch> {
        match selection {
            ArchSelection::All => self.0.clone(),
            ArchSelection::One(name) => self.find(name).into_iter().cloned().collect(),
        }
    }
}

/// Reads a target spec as rustc will, so that a broken one is reported by file, line and
/// column before cargo runs.
fn check_target_json(path: &Path) -> Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let spec: serde_json::Value = serde_json::from_str(&text).map_err(|error| {
        anyhow::anyhow!(
            "`{}` is not valid JSON: line {}, column {}: {error}",
            path.display(),
            error.line(),
            error.column()
        )
    })?;
    for key in ["arch", "data-layout", "llvm-target", "target-pointer-width"] {
        if spec.get(key).is_none() {
            bail!("`{}` has no `{key}`: rustc requires it in a target spec", path.display());
        }
    }
    Ok(())
}

/// What `--arch` names: `all`, or one arch (validated against the table by clap).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArchSelection {
    All,
    One(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Arches {
        Arches::load(&Workspace::locate()).expect("the repository's arch table loads")
    }

    #[test]
    fn every_description_in_targets_is_in_the_table_in_name_order() {
        let directory = Workspace::locate().root().join("targets");
        let mut files: Vec<String> = std::fs::read_dir(&directory)
            .unwrap()
            .filter_map(|entry| {
                let path = entry.unwrap().path();
                (path.extension()? == "toml").then(|| path.file_stem().unwrap().to_string_lossy().into_owned())
            })
            .collect();
        files.sort();
        let names: Vec<_> = table().all().iter().map(|arch| arch.name.clone()).collect();
        assert_eq!(names, files);
        assert_eq!(table().all().iter().filter(|arch| arch.fallback).count(), 1, "one fallback arch");
    }

    #[test]
    fn aliases_find_their_architecture() {
        let arches = table();
        for (alias, expected) in [
            ("amd64", "x86_64"),
            ("x86-64", "x86_64"),
            ("arm64", "aarch64"),
            ("riscv64gc", "riscv64"),
            ("riscv64", "riscv64"),
        ] {
            assert_eq!(arches.find(alias).map(|arch| arch.name.as_str()), Some(expected), "{alias}");
        }
        assert!(arches.find("mips").is_none());
    }

    #[test]
    fn aliases_are_unique_across_architectures() {
        let names = table().names_and_aliases();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "a name or alias is claimed twice: {names:?}");
    }

    /// A toolchain bump that changes what LLVM expects of a target must fail here, clearly,
    /// rather than as a miscompiled kernel.
    #[test]
    fn each_target_json_agrees_with_this_rustc() {
        for arch in table().all() {
            let output = std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
                .args(["-Z", "unstable-options", "--print", "target-spec-json", "--target", &arch.builtin_target])
                .output()
                .expect("rustc runs");
            assert!(
                output.status.success(),
                "rustc does not know `{}`: {}",
                arch.builtin_target,
                String::from_utf8_lossy(&output.stderr)
            );
            let builtin: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            let ours: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&arch.target_json).unwrap()).unwrap();
            for key in ["data-layout", "llvm-target", "arch", "target-pointer-width"] {
                assert_eq!(
                    ours[key],
                    builtin[key],
                    "{}: `{key}` differs from what this rustc expects for `{}`; regenerate the spec from \
                     `rustc -Z unstable-options --print target-spec-json --target {}`",
                    arch.target_json.display(),
                    arch.builtin_target,
                    arch.builtin_target
                );
            }
        }
    }

    #[test]
    fn a_missing_field_is_reported_with_the_file() {
        let directory = crate::testutil::scratch_dir("arch-missing-field");
        let path = directory.join("mips.toml");
        std::fs::write(&path, "name = \"mips\"\nelf-machine = 8\n").unwrap();
        std::fs::write(directory.join("mips.json"), "{}").unwrap();
        let error = format!("{:#}", Arches::load_one(path.clone()).unwrap_err());
        assert!(error.contains(&path.display().to_string()), "{error}");
        assert!(error.contains("missing field"), "{error}");
    }

    /// A copy of a real arch description in a scratch `targets/`, with its JSON replaced.
    fn scratch_arch(name: &str, json: &str) -> PathBuf {
        let directory = crate::testutil::scratch_dir(name);
        let targets = directory.join("targets");
        std::fs::create_dir_all(&targets).unwrap();
        std::fs::create_dir_all(directory.join("linker-scripts")).unwrap();
        let real = Workspace::locate().root().to_path_buf();
        std::fs::copy(real.join("targets/riscv64.toml"), targets.join("riscv64.toml")).unwrap();
        std::fs::copy(real.join("linker-scripts/riscv64.ld"), directory.join("linker-scripts/riscv64.ld")).unwrap();
        std::fs::write(targets.join("riscv64.json"), json).unwrap();
        targets.join("riscv64.toml")
    }

    #[test]
    fn a_malformed_target_json_is_reported_by_file_line_and_column() {
        let toml = scratch_arch("arch-bad-json", "{\n  \"arch\": \"riscv64\",\n  \"data-layout\" \"e-m\"\n}\n");
        let error = format!("{:#}", Arches::load_one(toml).unwrap_err());
        assert!(error.contains("riscv64.json` is not valid JSON: line 3, column"), "{error}");
    }

    #[test]
    fn a_target_json_without_a_required_key_is_named() {
        let toml = scratch_arch(
            "arch-json-no-layout",
            r#"{"arch": "riscv64", "llvm-target": "riscv64", "target-pointer-width": 64}"#,
        );
        let error = format!("{:#}", Arches::load_one(toml).unwrap_err());
        assert!(error.contains("has no `data-layout`"), "{error}");
    }

    #[test]
    fn a_missing_linker_script_is_named() {
        let real = std::fs::read_to_string(Workspace::locate().root().join("targets/riscv64.json")).unwrap();
        let toml = scratch_arch("arch-no-linker-script", &real);
        std::fs::remove_file(toml.parent().unwrap().join("../linker-scripts/riscv64.ld")).unwrap();
        let error = format!("{:#}", Arches::load_one(toml).unwrap_err());
        assert!(error.contains("has no linker script: expected") && error.contains("riscv64.ld"), "{error}");
    }

    #[test]
    fn a_name_that_disagrees_with_the_file_is_rejected() {
        let directory = crate::testutil::scratch_dir("arch-bad-name");
        let path = directory.join("foo.toml");
        let text = std::fs::read_to_string(Workspace::locate().root().join("targets/riscv64.toml")).unwrap();
        std::fs::write(&path, text).unwrap();
        std::fs::write(directory.join("foo.json"), "{}").unwrap();
        let error = format!("{:#}", Arches::load_one(path).unwrap_err());
        assert!(error.contains("must match the file name `foo`"), "{error}");
    }
}
