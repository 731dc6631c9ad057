//! Builds kernel images: one cargo invocation for every selected arch, from the custom
//! target JSONs with `-Zbuild-std`, then checks each ELF against its arch.

use crate::arch::Arch;
use crate::kernel_package::{BootProtocol, KernelPackage};
use crate::workspace::Workspace;
use anyhow::{Context, Result, bail, ensure};
use object::Endianness;
use object::read::elf::FileHeader;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What to build.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Which kernel (its package, binary and boot protocol).
    pub kernel: KernelPackage,
    pub release: bool,
    /// Kernel cargo features (`ktest` for a test image).
    pub features: Vec<String>,
}

impl BuildOptions {
    pub fn profile(&self) -> &'static str {
        if self.release { "release" } else { "debug" }
    }

    /// A short name for the image these options produce: the package, then the features
    /// (`kernel`, `kernel-ktest-selftest`).
    fn image_name(&self) -> String {
        let mut features = self.features.clone();
        features.sort();
        features.dedup();
        std::iter::once(self.kernel.package.clone()).chain(features).collect::<Vec<_>>().join("-")
    }
}

/// A built kernel image.
#[derive(Clone, Debug)]
pub struct Image {
    pub arch: Arch,
    /// A hard link to cargo's output: cargo replaces its file on the next build (other
    /// features), so this name keeps this build's bytes.
    pub path: PathBuf,
    pub size: u64,
}

impl Image {
    /// The image's SHA-256, as hex.
    pub fn sha256(&self) -> Result<String> {
        let contents = std::fs::read(&self.path).with_context(|| format!("cannot read `{}`", self.path.display()))?;
        Ok(sha256_hex(&contents))
    }
}

/// Where cargo puts what it builds for `arch` in `profile` (`debug`, `release`): the target
/// spec's name, as cargo names the directory of a custom target.
pub fn cargo_output_dir(target_dir: &Path, arch: &Arch, profile: &str) -> PathBuf {
    target_dir.join(&arch.name).join(profile)
}

/// Builds the kernel for every arch in `arches` with one cargo invocation.
pub fn build(workspace: &Workspace, arches: &[Arch], options: &BuildOptions, quiet: bool) -> Result<Vec<Image>> {
    let built = cargo_build(workspace, workspace.target_dir(), arches, options, &[], quiet)?;
    link_images(workspace, arches, options, built, "")
}

/// Builds test images whose own crates (`crates`: the workspace's, not the standard
/// library's) are instrumented for source-based coverage (`-Cinstrument-coverage
/// -Zno-profiler-runtime`, the counters read by the host: see `coverage/`), in a target
/// directory of their own so that the normal images' build is untouched.
pub fn build_for_coverage(
    workspace: &Workspace,
    arches: &[Arch],
    options: &BuildOptions,
    crates: &[String],
    quiet: bool,
) -> Result<Vec<Image>> {
    let profile = if options.release { "release" } else { "dev" };
    let mut extra = vec!["-Zprofile-rustflags".to_string()];
    for krate in crates {
        extra.push("--config".into());
        extra.push(format!(
            r#"profile.{profile}.package.{krate}.rustflags=["-Cinstrument-coverage","-Zno-profiler-runtime"]"#
        ));
    }
    let target_dir = workspace.root().join("target/coverage");
    let built = cargo_build(workspace, &target_dir, arches, options, &extra, quiet)?;
    link_images(workspace, arches, options, built, "-coverage")
}

/// Hard links to cargo's outputs under `target/xtask/images/`, named by arch, profile,
/// package, features (and `suffix`).
fn link_images(
    workspace: &Workspace,
    arches: &[Arch],
    options: &BuildOptions,
    built: Vec<PathBuf>,
    suffix: &str,
) -> Result<Vec<Image>> {
    let images_dir = workspace.xtask_dir().join("images");
    std::fs::create_dir_all(&images_dir).with_context(|| format!("cannot create `{}`", images_dir.display()))?;
    arches
        .iter()
        .zip(built)
        .map(|(arch, built)| {
            let name = format!("{}-{}-{}{suffix}.elf", arch.name, options.profile(), options.image_name());
            let path = images_dir.join(name);
            crate::fsutil::link_atomically(&built, &path)?;
            let size = std::fs::metadata(&path)?.len();
            Ok(Image { arch: arch.clone(), path, size })
        })
        .collect()
}

/// The files of a release image beside the ELF: its debug info, split off, and a raw binary
/// for boards that load flat images.
#[derive(Clone, Debug)]
pub struct ReleaseFiles {
    /// The stripped ELF (what boots); debug info lives in `debug`, linked by name.
    pub elf: PathBuf,
    pub debug: PathBuf,
    pub raw: PathBuf,
}

/// `llvm-objcopy` from the toolchain's `llvm-tools` component.
fn llvm_objcopy() -> Result<PathBuf> {
    llvm_tool("llvm-objcopy")
}

/// A program of the toolchain's `llvm-tools` component (`llvm-objcopy`, `llvm-cov`, ...).
pub fn llvm_tool(name: &str) -> Result<PathBuf> {
    let sysroot = check_rust_src()?;
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let host = Command::new(rustc).args(["--print", "host-tuple"]).output().context("cannot run rustc")?;
    let host = String::from_utf8_lossy(&host.stdout).trim().to_string();
    let tool = sysroot.join("lib/rustlib").join(host).join("bin").join(name);
    ensure!(
        tool.is_file(),
        "the toolchain has no `llvm-tools` component (`{}` is missing): run `rustup component add llvm-tools` \
         in the repository (or `rustup toolchain install`, which reads rust-toolchain.toml)",
        tool.display()
    );
    Ok(tool)
}

/// Splits a release image: `<image>.debug` (debug info only), the image stripped with a
/// debug link to it, and `<image>.bin` (raw, from the lowest loaded address).
pub fn release_files(image: &Image) -> Result<ReleaseFiles> {
    let objcopy = llvm_objcopy()?;
    let files = ReleaseFiles {
        elf: image.path.clone(),
        debug: image.path.with_extension("debug"),
        raw: image.path.with_extension("bin"),
    };
    let run = |args: &[&std::ffi::OsStr]| -> Result<()> {
        let status = Command::new(&objcopy).args(args).status().context("cannot run llvm-objcopy")?;
        ensure!(status.success(), "`llvm-objcopy {:?}` failed ({status})", args);
        Ok(())
    };
    // Work on a private copy: the image is a hard link to cargo's output, which must keep
    // its symbols.
    let full = image.path.with_extension("full");
    std::fs::copy(&image.path, &full)?;
    run(&["--only-keep-debug".as_ref(), full.as_os_str(), files.debug.as_os_str()])?;
    let stripped = image.path.with_extension("stripped");
    let debuglink = format!("--add-gnu-debuglink={}", files.debug.display());
    run(&["--strip-debug".as_ref(), debuglink.as_ref(), full.as_os_str(), stripped.as_os_str()])?;
    run(&["-O".as_ref(), "binary".as_ref(), full.as_os_str(), files.raw.as_os_str()])?;
    std::fs::rename(&stripped, &files.elf)?;
    std::fs::remove_file(&full)?;
    Ok(files)
}

/// Runs cargo for the kernel with `target_dir` as its target directory, checks each ELF,
/// and returns their paths (in `arches` order).
fn cargo_build(
    workspace: &Workspace,
    target_dir: &Path,
    arches: &[Arch],
    options: &BuildOptions,
    extra: &[String],
    quiet: bool,
) -> Result<Vec<PathBuf>> {
    let sysroot = check_rust_src()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .current_dir(workspace.root())
        .args(cargo_args("build", arches, options))
        .args(extra)
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("RUSTFLAGS")
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags(workspace, &sysroot));
    if quiet {
        command.arg("--quiet");
    }
    crate::ui::echo(&format!("cargo {} {}", cargo_args("build", arches, options).join(" "), extra.join(" ")));
    let heartbeat = crate::ui::heartbeat(
        format!(
            "building the kernel for {}",
            arches.iter().map(|arch| arch.name.as_str()).collect::<Vec<_>>().join(", ")
        ),
        std::time::Duration::from_secs(15),
    );
    let status = command.status().context("cannot run cargo");
    drop(heartbeat);
    let status = status?;
    if !status.success() {
        bail!(
            "building the kernel for {} failed (cargo: {status}); the compiler's messages are above",
            arches.iter().map(|arch| arch.name.as_str()).collect::<Vec<_>>().join(", ")
        );
    }
    arches
        .iter()
        .map(|arch| {
            let built = cargo_output_dir(target_dir, arch, options.profile()).join(&options.kernel.binary);
            match options.kernel.metadata.boot {
                BootProtocol::Elf => check_elf(&built, arch)?,
            }
            Ok(built)
        })
        .collect()
}

/// Where sources live on this machine, remapped so that no image depends on it: the
/// checkout (`.`), the standard library's source (`/rustc-src`), cargo's registry
/// (`/cargo-registry`). Anything already in RUSTFLAGS comes first.
pub fn path_remaps(workspace: &Workspace, sysroot: &Path) -> Vec<(PathBuf, &'static str)> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .unwrap_or_default();
    vec![
        (workspace.root().to_path_buf(), "."),
        (sysroot.join("lib/rustlib/src/rust"), RUST_SRC),
        (cargo_home.join("registry/src"), CARGO_REGISTRY),
    ]
}

/// What the standard library's source path is remapped to.
pub const RUST_SRC: &str = "/rustc-src";
const CARGO_REGISTRY: &str = "/cargo-registry";

/// The kernel build's flags as `CARGO_ENCODED_RUSTFLAGS` carries them (separated by 0x1f),
/// so that a path with a space (the checkout's, say) stays one flag. The user's flags come
/// first: `CARGO_ENCODED_RUSTFLAGS` if set, else `RUSTFLAGS` split on whitespace, as cargo
/// reads them.
pub fn rustflags(workspace: &Workspace, sysroot: &Path) -> String {
    let mut flags = user_rustflags(
        std::env::var("CARGO_ENCODED_RUSTFLAGS").ok().as_deref(),
        std::env::var("RUSTFLAGS").ok().as_deref(),
    );
    for (from, to) in path_remaps(workspace, sysroot) {
        flags.push(format!("--remap-path-prefix={}={to}", from.display()));
    }
    flags.join("\x1f")
}

fn user_rustflags(encoded: Option<&str>, plain: Option<&str>) -> Vec<String> {
    match (encoded, plain) {
        (Some(encoded), _) if !encoded.is_empty() => encoded.split('\x1f').map(String::from).collect(),
        (_, Some(plain)) => plain.split_whitespace().map(String::from).collect(),
        _ => Vec::new(),
    }
}

fn sha256_hex(contents: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(contents).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Builds everything twice, in two fresh target directories, and fails naming the first
/// differing section of the first image that differs.
pub fn check_reproducible(workspace: &Workspace, arches: &[Arch], options: &BuildOptions) -> Result<()> {
    let base = workspace.xtask_dir().join("reproducible");
    let mut images = Vec::new();
    for run in ["first", "second"] {
        let target_dir = base.join(run);
        let _ = std::fs::remove_dir_all(&target_dir);
        images.push(cargo_build(workspace, &target_dir, arches, options, &[], true)?);
    }
    for (arch, (first, second)) in arches.iter().zip(images[0].iter().zip(&images[1])) {
        let (a, b) = (std::fs::read(first)?, std::fs::read(second)?);
        if a != b {
            bail!(
                "{arch}: two builds differ ({} and {}); first difference in {}",
                first.display(),
                second.display(),
                first_difference(&a, &b)
            );
        }
        println!("{:<8} reproducible  sha256 {}", arch.name, sha256_hex(&a));
    }
    Ok(())
}

/// The first section whose bytes differ between two ELF files (or the header).
pub fn first_difference(a: &[u8], b: &[u8]) -> String {
    use object::{Object, ObjectSection};
    let (Ok(first), Ok(second)) = (object::File::parse(a), object::File::parse(b)) else {
        return "the file (not ELF)".to_string();
    };
    for section in first.sections() {
        let name = section.name().unwrap_or("?");
        let other = second.section_by_name(name);
        let differs = match other {
            Some(other) => section.data().ok() != other.data().ok() || section.address() != other.address(),
            None => true,
        };
        if differs {
            return format!("section `{name}`");
        }
    }
    "the ELF headers or section table".to_string()
}

/// `cargo SUBCOMMAND` arguments for the kernel (`build`, `clippy`): every target JSON,
/// build-std, the features.
pub fn cargo_args(subcommand: &str, arches: &[Arch], options: &BuildOptions) -> Vec<String> {
    let mut args: Vec<String> = vec![subcommand.to_string(), "--package".into(), options.kernel.package.clone()];
    for arch in arches {
        args.extend(["--target".into(), arch.target_json.display().to_string()]);
    }
    // This nightly builds JSON targets only with -Zjson-target-spec; core and alloc come from
    // source, with compiler-builtins' memcpy/memset (the kernel has no libc).
    args.extend(
        ["-Zjson-target-spec", "-Zbuild-std=core,alloc", "-Zbuild-std-features=compiler-builtins-mem"]
            .map(String::from),
    );
    if options.release {
        args.push("--release".into());
    } else {
        // Debug images keep the kernel's own code unoptimized, for the debugger, but build
        // its dependencies (core, alloc, compiler_builtins and the crates) optimized: under
        // TCG, unoptimized `core::fmt` and friends cost a debug image about 0.2 s per boot
        // and 0.5 ms per test (`cargo xtask bench`). Given here, not in Cargo.toml, so that
        // the xtask's own dependencies stay quick to compile. The test runner (`ktest`) and
        // the command line it reads (`kernel-abi`) are the harness's code, not the code under
        // test: optimized too, as unoptimized they took seconds (longer than a timeout) to
        // select and sort 10,000 tests before the first line of KTAP.
        for package in [r#""*""#, "ktest", "kernel-abi"] {
            args.extend(["--config".into(), format!("profile.dev.package.{package}.opt-level=1")]);
        }
    }
    if !options.features.is_empty() {
        args.extend(["--features".into(), options.features.join(",")]);
    }
    args
}

/// The toolchain's sysroot: the parent of the `bin/` of the cargo that runs the xtask (cargo
/// says which in `CARGO`), which spares a `rustc` start through rustup's proxy on every
/// command; else what `rustc --print sysroot` says.
fn sysroot() -> Result<PathBuf> {
    if let Some(cargo) = std::env::var_os("CARGO").map(PathBuf::from)
        && let Some(sysroot) = cargo.parent().and_then(Path::parent)
        && sysroot.join("lib/rustlib").is_dir()
    {
        return Ok(sysroot.to_path_buf());
    }
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc).args(["--print", "sysroot"]).output().context("cannot run rustc")?;
    Ok(PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()))
}

/// Fails early, with the fix, when the toolchain lacks the standard library's source;
/// returns the sysroot.
pub fn check_rust_src() -> Result<PathBuf> {
    let sysroot = sysroot()?;
    let library = sysroot.join("lib/rustlib/src/rust/library");
    ensure!(
        library.is_dir(),
        "the toolchain has no `rust-src` component (needed by -Zbuild-std; expected `{}`): run `rustup toolchain install` \
         in the repository, which installs what rust-toolchain.toml lists",
        library.display()
    );
    Ok(sysroot)
}

/// Checks that `path` is a 64-bit ELF executable for `arch`, as `file` would report.
pub fn check_elf(path: &Path, arch: &Arch) -> Result<()> {
    // Only the file header is read (a debug image is megabytes, checked on every run).
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read the kernel image `{}`", path.display()))?;
    let data = object::ReadCache::new(file);
    let not_elf = || format!("`{}` is not a 64-bit ELF file", path.display());
    let header = object::elf::FileHeader64::<Endianness>::parse(&data).with_context(not_elf)?;
    let endian = header.endian().with_context(not_elf)?;
    let machine = header.e_machine(endian).0;
    ensure!(
        machine == arch.elf_machine,
        "`{}` is an ELF for machine {machine}, not {} (e_machine {})",
        path.display(),
        arch.name,
        arch.elf_machine
    );
    let kind = header.e_type(endian);
    ensure!(kind == object::elf::ET_EXEC, "`{}` is not an executable (ELF type {})", path.display(), kind.0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arches;

    #[test]
    fn flags_with_spaces_stay_one_flag_each() {
        assert_eq!(user_rustflags(Some("-Cfoo=a b\x1f-Cbar"), Some("-Cignored")), ["-Cfoo=a b", "-Cbar"]);
        assert_eq!(user_rustflags(None, Some(" -Ca  -Cb ")), ["-Ca", "-Cb"]);
        assert!(user_rustflags(Some(""), None).is_empty());
        let workspace = Workspace::locate();
        let flags = rustflags(&workspace, Path::new("/opt/a toolchain"));
        let remap = flags.split('\x1f').find(|flag| flag.contains("/opt/a toolchain")).expect("the sysroot's remap");
        assert_eq!(remap, format!("--remap-path-prefix=/opt/a toolchain/lib/rustlib/src/rust={RUST_SRC}"));
    }

    fn arches() -> Arches {
        Arches::load(&Workspace::locate()).unwrap()
    }

    fn options(release: bool, features: &[&str]) -> BuildOptions {
        let kernel = KernelPackage::select(&Workspace::locate(), None).unwrap();
        BuildOptions { kernel, release, features: features.iter().map(|feature| feature.to_string()).collect() }
    }

    #[test]
    fn one_invocation_builds_every_target_from_its_json_with_build_std() {
        let arches = arches();
        let options = options(true, &["ktest"]);
        let args = cargo_args("build", arches.all(), &options);
        let targets: Vec<_> =
            args.windows(2).filter(|pair| pair[0] == "--target").map(|pair| pair[1].clone()).collect();
        assert_eq!(targets.len(), 3);
        assert!(targets.iter().all(|target| target.ends_with(".json")));
        for flag in ["kernel", "-Zjson-target-spec", "-Zbuild-std=core,alloc", "--release", "ktest"] {
            assert!(args.contains(&flag.to_string()), "{flag} missing from {args:?}");
        }
    }

    #[test]
    fn image_names_distinguish_feature_sets() {
        let plain = options(false, &[]);
        let test = options(false, &["selftest", "ktest"]);
        assert_eq!(plain.image_name(), "kernel");
        assert_eq!(test.image_name(), "kernel-ktest-selftest");
    }

    #[test]
    fn elf_check_rejects_the_wrong_machine_and_non_elf_files() {
        let arches = arches();
        let riscv = arches.find("riscv64").unwrap();
        // The xtask itself is an ELF for the host (x86_64 here, or whatever builds it).
        let host_binary = std::env::current_exe().unwrap();
        let error = check_elf(&host_binary, riscv).unwrap_err().to_string();
        assert!(error.contains("not riscv64") || error.contains("not an executable"), "{error}");

        let scratch = crate::testutil::scratch_dir("elf-check");
        let text = scratch.join("kernel");
        std::fs::write(&text, "not an elf").unwrap();
        let error = check_elf(&text, riscv).unwrap_err().to_string();
        assert!(error.contains("is not a 64-bit ELF file"), "{error}");
    }
}
