//! `cargo xtask build`: builds the kernel and checks each image is an ELF for its arch.

use super::{BuildFlags, Context, parse_arch};
use crate::arch::ArchSelection;
use crate::build::build;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Build {
    /// Architecture to build for, or `all`.
    #[arg(long, default_value = "all", value_parser = parse_arch)]
    arch: ArchSelection,
    #[command(flatten)]
    build: BuildFlags,
    /// Build twice in two fresh target directories and fail, naming the first differing
    /// section, unless the images are byte-identical.
    #[arg(long)]
    check_reproducible: bool,
}

impl Build {
    pub fn run(self, context: &Context) -> anyhow::Result<ExitCode> {
        let arches = context.arches.select(&self.arch);
        let options = self.build.options(context, &[])?;
        if self.check_reproducible {
            crate::build::check_reproducible(&context.workspace, &arches, &options)?;
            return Ok(ExitCode::SUCCESS);
        }
        let images = build(&context.workspace, &arches, &options, false)?;
        for image in &images {
            println!(
                "{:<8} {:>9} bytes  sha256 {}  {}",
                image.arch.name,
                image.size,
                image.sha256()?,
                image.path.display()
            );
            if options.release {
                let files = crate::build::release_files(image)?;
                for (what, path) in [("stripped", &files.elf), ("debug info", &files.debug), ("raw binary", &files.raw)]
                {
                    let size = std::fs::metadata(path)?.len();
                    println!("{:<8} {:>9} bytes  {what:<10}  {}", "", size, path.display());
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
