//! LLVM's raw profile (`.profraw`), written on the host from the instrumented image and the
//! counters read out of the guest.
//!
//! An image built with `-Cinstrument-coverage -Zno-profiler-runtime` carries its profile data
//! records (`__llvm_prf_data`) and function names (`__llvm_prf_names`) as constants, and its
//! counters (`__llvm_prf_cnts`) in RAM. The in-process runtime would write a header, the
//! data, the counters and the names; the same bytes come out here, with the counters taken
//! from the guest's memory. Layout: raw profile version 10 (LLVM 19 to 22, the toolchain's
//! `llvm-tools`): a header of 16 little-endian u64s, then the sections, each padded to 8.

use anyhow::{Context, Result, bail};
use object::{Object, ObjectSection, ObjectSymbol};
use std::path::Path;

/// `\xFFlprofr\x81`, the 64-bit raw profile's magic.
const MAGIC: u64 = (255 << 56)
    | ((b'l' as u64) << 48)
    | ((b'p' as u64) << 40)
    | ((b'r' as u64) << 32)
    | ((b'o' as u64) << 24)
    | ((b'f' as u64) << 16)
    | ((b'r' as u64) << 8)
    | 129;
/// The raw format's version when the image does not say (front-end instrumentation).
const DEFAULT_VERSION: u64 = 10;
/// One `__llvm_prf_data` record in version 10 (six u64s, a u32, three u16s, a u32, padding).
const DATA_RECORD: u64 = 64;
/// Value profiling kinds known to version 10 (indirect call, memory op size, vtable).
const VALUE_KIND_LAST: u64 = 2;

/// What an instrumented image says about its profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub version: u64,
    pub data: Vec<u8>,
    pub data_address: u64,
    pub names: Vec<u8>,
    pub names_address: u64,
    /// Where the counters live in the guest, and their size in bytes.
    pub counters_address: u64,
    pub counters_size: u64,
}

impl Layout {
    /// Reads the profile sections of an instrumented ELF image.
    pub fn of(image: &Path) -> Result<Layout> {
        let bytes = std::fs::read(image).with_context(|| format!("cannot read `{}`", image.display()))?;
        let file = object::File::parse(&*bytes).with_context(|| format!("`{}` is not an ELF file", image.display()))?;
        let section = |name: &str| file.section_by_name(name);
        let (Some(data), Some(names), Some(counters)) =
            (section("__llvm_prf_data"), section("__llvm_prf_names"), section("__llvm_prf_cnts"))
        else {
            bail!(
                "`{}` is not instrumented for coverage (no `__llvm_prf_*` sections): build it with \
                 `cargo xtask test --coverage`, which adds `-Cinstrument-coverage`",
                image.display()
            );
        };
        let version = file
            .symbols()
            .find(|symbol| symbol.name() == Ok("__llvm_profile_raw_version"))
            .and_then(|symbol| {
                let section = file.section_by_index(symbol.section_index()?).ok()?;
                let offset = symbol.address().checked_sub(section.address())?;
                let bytes = section.data().ok()?.get(offset as usize..offset as usize + 8)?;
                Some(u64::from_le_bytes(bytes.try_into().ok()?))
            })
            .unwrap_or(DEFAULT_VERSION);
        if version & 0xff != DEFAULT_VERSION {
            bail!(
                "`{}` holds raw profile version {} and this harness writes version {DEFAULT_VERSION}: \
                 the toolchain's LLVM changed its format (see xtask/src/coverage/profraw.rs)",
                image.display(),
                version & 0xff
            );
        }
        let data_bytes = data.data()?.to_vec();
        if !(data_bytes.len() as u64).is_multiple_of(DATA_RECORD) {
            bail!("`{}`: `__llvm_prf_data` is not a whole number of version-10 records", image.display());
        }
        Ok(Layout {
            version,
            data: data_bytes,
            data_address: data.address(),
            names: names.data()?.to_vec(),
            names_address: names.address(),
            counters_address: counters.address(),
            counters_size: counters.size(),
        })
    }

    /// The raw profile for `counters` (as many bytes as the counter section holds).
    pub fn write(&self, counters: &[u8]) -> Result<Vec<u8>> {
        if counters.len() as u64 != self.counters_size {
            bail!("{} bytes of counters where the image has {}", counters.len(), self.counters_size);
        }
        let padding = |length: usize| (8 - length % 8) % 8;
        let header = [
            MAGIC,
            self.version,
            0, // binary ids
            self.data.len() as u64 / DATA_RECORD,
            padding(self.data.len()) as u64,
            self.counters_size / 8,
            padding(counters.len()) as u64,
            0, // bitmap bytes
            0,
            self.names.len() as u64,
            self.counters_address.wrapping_sub(self.data_address),
            0, // bitmap delta: no record has bitmap bytes
            self.names_address,
            0, // virtual tables
            0,
            VALUE_KIND_LAST,
        ];
        let mut out = Vec::with_capacity(128 + self.data.len() + counters.len() + self.names.len() + 16);
        for word in header {
            out.extend_from_slice(&word.to_le_bytes());
        }
        for section in [&self.data[..], counters, &self.names[..]] {
            out.extend_from_slice(section);
            out.resize(out.len() + padding(section.len()), 0);
        }
        Ok(out)
    }
}

/// Counters as u64s (little-endian in every guest here).
pub fn counters_of(bytes: &[u8]) -> Vec<u64> {
    bytes.chunks_exact(8).map(|word| u64::from_le_bytes(word.try_into().expect("eight bytes"))).collect()
}

/// The bytes of `counters`.
pub fn bytes_of(counters: &[u64]) -> Vec<u8> {
    counters.iter().flat_map(|counter| counter.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout {
            version: 10,
            data: vec![7; 128],
            data_address: 0x8000_2000,
            names: b"abc".to_vec(),
            names_address: 0x8000_1000,
            counters_address: 0x8000_3000,
            counters_size: 16,
        }
    }

    #[test]
    fn the_header_counts_and_locates_every_section() {
        let raw = layout().write(&bytes_of(&[5, 9])).unwrap();
        let word = |index: usize| u64::from_le_bytes(raw[index * 8..index * 8 + 8].try_into().unwrap());
        assert_eq!(word(0), MAGIC);
        assert_eq!(&raw[..8], b"\x81rforpl\xff", "the magic reads `\\xFFlprofr\\x81` big-endian");
        assert_eq!((word(1), word(3), word(5), word(9)), (10, 2, 2, 3), "version, records, counters, names");
        assert_eq!(word(10), 0x1000, "counters relative to the data");
        assert_eq!(word(12), 0x8000_1000);
        assert_eq!(raw.len(), 16 * 8 + 128 + 16 + 8, "names padded to eight bytes");
        assert_eq!(counters_of(&raw[16 * 8 + 128..16 * 8 + 144]), [5, 9]);
    }

    #[test]
    fn counters_of_the_wrong_size_are_refused() {
        let error = layout().write(&[0; 8]).unwrap_err().to_string();
        assert!(error.contains("8 bytes of counters where the image has 16"), "{error}");
    }
}
