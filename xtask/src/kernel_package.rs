//! The kernels the xtask drives, as their own `Cargo.toml`s describe them: which package and
//! binary to build, the features of a test image and of the GDB stub, the symbol a debugger
//! stops at first, and how QEMU boots the image (`[package.metadata.xtask]`). The
//! workspace's `Cargo.toml` lists the kernels, the default first
//! (`[workspace.metadata.xtask] kernels`); `--kernel DIR` picks another.

use crate::workspace::Workspace;
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One kernel package.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelPackage {
    /// The cargo package (`--package`).
    pub package: String,
    /// The binary cargo builds (`target/<arch>/<profile>/<binary>`).
    pub binary: String,
    /// Its directory, as given (relative to the workspace root, usually).
    pub directory: PathBuf,
    /// Every feature it declares (`cargo xtask lint` checks it with all of them).
    pub features: Vec<String>,
    /// What `[package.metadata.xtask]` says.
    pub metadata: Metadata,
}

/// `[package.metadata.xtask]` of a kernel package.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Metadata {
    /// Where `cargo xtask gdb` puts its first breakpoint: the kernel's Rust entry, the same
    /// symbol on every arch.
    pub entry_symbol: String,
    /// The features of a test image (`cargo xtask test`): they compile the `#[ktest]`s in.
    pub test_features: Vec<String>,
    /// The feature that adds the kernel's own GDB stub (`cargo xtask gdb --stub kernel`).
    pub gdbstub_feature: Option<String>,
    /// How QEMU boots the image.
    pub boot: BootProtocol,
}

/// How QEMU boots a kernel image.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum BootProtocol {
    /// A 64-bit ELF executable for the arch, through QEMU's `-kernel` (with a PVH note on
    /// x86_64; aarch64 and riscv64 `virt` load the ELF as it is).
    Elf,
}

#[derive(Deserialize)]
struct Manifest {
    package: Package,
    #[serde(default)]
    bin: Vec<Binary>,
    #[serde(default)]
    features: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    #[serde(default)]
    metadata: Option<PackageMetadata>,
}

#[derive(Deserialize)]
struct PackageMetadata {
    xtask: Option<Metadata>,
}

#[derive(Deserialize)]
struct Binary {
    name: String,
}

#[derive(Deserialize)]
struct WorkspaceManifest {
    workspace: WorkspaceTable,
}

#[derive(Deserialize)]
struct WorkspaceTable {
    metadata: WorkspaceMetadata,
}

#[derive(Deserialize)]
struct WorkspaceMetadata {
    xtask: WorkspaceXtask,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkspaceXtask {
    kernels: Vec<PathBuf>,
}

impl KernelPackage {
    /// The kernel in `directory` (relative to the current directory or the workspace
    /// root), or the workspace's default kernel.
    pub fn select(workspace: &Workspace, directory: Option<&Path>) -> Result<KernelPackage> {
        match directory {
            Some(directory) if directory.join("Cargo.toml").is_file() => KernelPackage::load(directory),
            Some(directory) => KernelPackage::load(&workspace.root().join(directory)),
            None => {
                let default = KernelPackage::listed(workspace)?.into_iter().next();
                let default = default.context("`[workspace.metadata.xtask] kernels` in Cargo.toml lists no kernel")?;
                KernelPackage::load(&workspace.root().join(default))
            }
        }
    }

    /// Every kernel the workspace lists, the default first.
    pub fn all(workspace: &Workspace) -> Result<Vec<KernelPackage>> {
        KernelPackage::listed(workspace)?
            .into_iter()
            .map(|directory| KernelPackage::load(&workspace.root().join(directory)))
            .collect()
    }

    fn listed(workspace: &Workspace) -> Result<Vec<PathBuf>> {
        let path = workspace.root().join("Cargo.toml");
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read `{}`", path.display()))?;
        let manifest: WorkspaceManifest = toml::from_str(&text)
            .with_context(|| format!("`{}` has no valid `[workspace.metadata.xtask] kernels`", path.display()))?;
        Ok(manifest.workspace.metadata.xtask.kernels)
    }

    /// Reads the kernel package in `directory`.
    pub fn load(directory: &Path) -> Result<KernelPackage> {
        let path = directory.join("Cargo.toml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read `{}`: no kernel package there", path.display()))?;
        let manifest: Manifest =
            toml::from_str(&text).with_context(|| format!("`{}` is not a valid package manifest", path.display()))?;
        let Some(metadata) = manifest.package.metadata.and_then(|metadata| metadata.xtask) else {
            bail!(
                "`{}` has no `[package.metadata.xtask]` (entry-symbol, test-features, boot): not a kernel the xtask can drive",
                path.display()
            );
        };
        let binary = manifest.bin.into_iter().next().map_or_else(|| manifest.package.name.clone(), |bin| bin.name);
        for feature in metadata.test_features.iter().chain(&metadata.gdbstub_feature) {
            if !manifest.features.contains_key(feature) {
                bail!(
                    "`{}`: `[package.metadata.xtask]` names the feature `{feature}`, which the package does not have",
                    path.display()
                );
            }
        }
        Ok(KernelPackage {
            package: manifest.package.name,
            binary,
            directory: directory.to_path_buf(),
            features: manifest.features.into_keys().collect(),
            metadata,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_package(name: &str, manifest: &str) -> PathBuf {
        let directory = crate::testutil::scratch_dir(name);
        std::fs::write(directory.join("Cargo.toml"), manifest).unwrap();
        directory
    }

    #[test]
    fn every_listed_kernel_loads_and_the_default_is_the_first() {
        let workspace = Workspace::locate();
        let kernels = KernelPackage::all(&workspace).unwrap();
        assert!(kernels.len() >= 2, "the kernel and the example kernel: {kernels:?}");
        let default = KernelPackage::select(&workspace, None).unwrap();
        assert_eq!(default, kernels[0]);
        assert_eq!(default.package, "kernel");
        assert_eq!(default.metadata.entry_symbol, "kernel_main");
        assert_eq!(default.metadata.boot, BootProtocol::Elf);
        for kernel in &kernels {
            assert!(kernel.metadata.test_features.iter().all(|feature| kernel.features.contains(feature)));
        }
    }

    #[test]
    fn the_binary_is_the_first_bin_target_else_the_package() {
        let manifest = r#"
            [package]
            name = "tiny-os"
            [features]
            ktest = []
            [package.metadata.xtask]
            entry-symbol = "tiny_main"
            test-features = ["ktest"]
            boot = "elf"
        "#;
        let kernel = KernelPackage::load(&write_package("kernel-package-plain", manifest)).unwrap();
        assert_eq!((kernel.package.as_str(), kernel.binary.as_str()), ("tiny-os", "tiny-os"));
        assert_eq!(kernel.metadata.gdbstub_feature, None);
        let with_bin = format!("{manifest}\n[[bin]]\nname = \"tiny\"\npath = \"src/main.rs\"\n");
        let kernel = KernelPackage::load(&write_package("kernel-package-bin", &with_bin)).unwrap();
        assert_eq!(kernel.binary, "tiny");
    }

    #[test]
    fn missing_metadata_unknown_keys_and_undeclared_features_are_errors_naming_the_file() {
        let cases = [
            ("[package]\nname = \"x\"\n", "has no `[package.metadata.xtask]`"),
            (
                "[package]\nname = \"x\"\n[package.metadata.xtask]\nentry-symbol = \"m\"\ntest-features = []\nboot = \"elf\"\nspeed = 1\n",
                "is not a valid package manifest",
            ),
            (
                "[package]\nname = \"x\"\n[package.metadata.xtask]\nentry-symbol = \"m\"\ntest-features = []\nboot = \"floppy\"\n",
                "is not a valid package manifest",
            ),
            (
                "[package]\nname = \"x\"\n[package.metadata.xtask]\nentry-symbol = \"m\"\ntest-features = [\"ktest\"]\nboot = \"elf\"\n",
                "names the feature `ktest`, which the package does not have",
            ),
        ];
        for (index, (manifest, expected)) in cases.iter().enumerate() {
            let directory = write_package(&format!("kernel-package-bad-{index}"), manifest);
            let error = format!("{:#}", KernelPackage::load(&directory).unwrap_err());
            assert!(error.contains(expected) && error.contains("Cargo.toml"), "{manifest}: {error}");
        }
    }
}
