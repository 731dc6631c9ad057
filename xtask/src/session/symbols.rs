//! Backtraces for the session: symbolized only with the kernel image that made the log.
//!
//! The image is the one the boot markers name (`-kernel PATH`); it is used only if its GNU
//! build-id equals the one the kernel printed at boot. Otherwise the addresses stay raw
//! and a note says which build the log wanted.

use crate::events::DiagnosticKind;
use crate::symbolize::Symbolizer;
use std::path::{Path, PathBuf};

/// Where a log's sources are, for its backtraces.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// Source paths are shown relative to this (the repository root).
    pub root: PathBuf,
    /// The kernel's entry (`entry-symbol` in its `[package.metadata.xtask]`): backtraces end
    /// there, since what called it is boot code.
    pub entry_symbol: Option<String>,
}

impl From<PathBuf> for Sources {
    fn from(root: PathBuf) -> Sources {
        Sources { root, entry_symbol: None }
    }
}

impl From<&str> for Sources {
    fn from(root: &str) -> Sources {
        Sources::from(PathBuf::from(root))
    }
}

#[derive(Debug)]
pub(super) struct Symbols {
    sources: Sources,
    image: Option<PathBuf>,
    /// Loaded on the first backtrace: most runs need none, and DWARF takes time to load.
    loaded: Option<Loaded>,
    /// The note about unsymbolized backtraces was given.
    noted: bool,
}

#[derive(Debug)]
struct Loaded {
    build_id: Option<String>,
    symbolizer: Option<Symbolizer>,
}

impl Symbols {
    pub(super) fn new(sources: Sources) -> Symbols {
        Symbols { sources, image: None, loaded: None, noted: false }
    }

    /// The image a boot's QEMU command line names (the first one counts).
    pub(super) fn image_from_command(&mut self, command: &str) {
        if self.image.is_some() {
            return;
        }
        let words = crate::qemu::shell_words(command);
        let kernel = words.iter().skip_while(|word| *word != "-kernel").nth(1);
        self.image = kernel.map(PathBuf::from);
    }

    /// The frames of a failure, innermost first (`pc`: the faulting instruction), and a note
    /// the first time they cannot be symbolized for a reason worth saying.
    pub(super) fn backtrace(
        &mut self,
        wanted: Option<&str>,
        pc: Option<u64>,
        addresses: &[u64],
    ) -> (Vec<String>, Option<DiagnosticKind>) {
        let raw = || pc.into_iter().chain(addresses.iter().copied()).map(|address| format!("{address:#x}")).collect();
        let Some(image) = self.image.clone() else { return (raw(), None) };
        let sources = self.sources.clone();
        let loaded = self.loaded.get_or_insert_with(|| load(&image, &sources));
        match (wanted, &loaded.build_id, &loaded.symbolizer) {
            (Some(wanted), Some(found), Some(symbolizer)) if wanted == found => {
                (symbolizer.backtrace(pc, addresses), None)
            }
            _ => {
                let note = (!self.noted).then(|| DiagnosticKind::NotSymbolized {
                    image: image.display().to_string(),
                    wanted: wanted.map(str::to_string),
                    found: loaded.build_id.clone(),
                });
                self.noted = true;
                (raw(), note)
            }
        }
    }
}

fn load(image: &Path, sources: &Sources) -> Loaded {
    let symbolizer = Symbolizer::new(image, &sources.root, sources.entry_symbol.as_deref());
    Loaded { build_id: crate::symbolize::build_id(image), symbolizer }
}
