//! The local APICs as the ACPI tables list them: the MADT (signature "APIC"), reached from
//! the RSDP that the PVH start info names, through the XSDT (ACPI 2.0 and later) or the RSDT.
//!
//! QEMU 7.2 builds these tables for `microvm` too (its `acpi` option is `auto`, which is on),
//! and the firmware it runs before a PVH kernel there (qboot, `bios-microvm.bin`) installs
//! them and the PVH start info points at the RSDP: seen here at 0xf34d0 on microvm and
//! 0xf59e0 on q35. With `-machine microvm,acpi=off` the start info names none, and the
//! kernel does without: the CPUs come from fw_cfg then (smp.rs), and the local APIC's
//! address never came from here (apic.rs reads IA32_APIC_BASE).
//!
//! Read once at boot, before the frame allocator may hand out the memory the tables are in.

use crate::smp::MAX_CPUS;
use spin::Once;

/// What the MADT says about the local APICs.
pub struct Madt {
    /// The local APICs' physical address: the table's 32-bit field, or the 64-bit one of an
    /// address override entry (type 5) if it has one.
    pub local_apic: u64,
    /// The APIC ids of the processors marked enabled (type 0 entries), in the table's order;
    /// the first `min(processors, MAX_CPUS)` are valid.
    pub apic_ids: [u8; MAX_CPUS],
    /// How many processors are marked enabled.
    pub processors: usize,
}

/// What the boot found: the RSDP's address (from the start info) and the MADT it leads to.
pub struct Tables {
    pub rsdp: Option<u64>,
    pub madt: Option<Madt>,
}

static TABLES: Once<Tables> = Once::new();

/// Reads the MADT from the RSDP at `rsdp`, once.
///
/// # Safety
/// `rsdp` must be None or the RSDP address the boot protocol gave: firmware's tables, not
/// yet overwritten (every table is checked for its signature and checksum before use).
pub unsafe fn init(rsdp: Option<u64>) -> &'static Tables {
    // SAFETY: the caller vouches for the address.
    TABLES.call_once(|| Tables { rsdp, madt: rsdp.and_then(|rsdp| unsafe { madt(rsdp) }) })
}

/// What `init` found (None before it ran).
#[cfg_attr(not(feature = "ktest"), allow(dead_code))] // the tests look again
pub fn tables() -> Option<&'static Tables> {
    TABLES.get()
}

/// `length` bytes of physical memory at `address`, if the boot page tables map them.
///
/// # Safety
/// The memory must hold firmware's tables (or at least be readable memory).
unsafe fn memory(address: u64, length: usize) -> Option<&'static [u8]> {
    let start = usize::try_from(address).ok()?;
    if start == 0 || !super::paging::is_identity_mapped(start..start.checked_add(length)?) {
        return None;
    }
    // SAFETY: identity-mapped and readable, as the caller vouches.
    Some(unsafe { core::slice::from_raw_parts(start as *const u8, length) })
}

fn sums_to_zero(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |sum, byte| sum.wrapping_add(*byte)) == 0
}

fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(offset..offset + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], offset: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(offset..offset + 8)?.try_into().ok()?))
}

/// The system description table at `address`: its header's length, checksum checked.
///
/// # Safety
/// As for [`memory`].
unsafe fn table(address: u64) -> Option<&'static [u8]> {
    // SAFETY: as the caller vouches; the header (36 bytes) first, then its length.
    let header = unsafe { memory(address, 36)? };
    let length = usize::try_from(u32_at(header, 4)?).ok()?.max(36);
    // SAFETY: as above.
    let table = unsafe { memory(address, length)? };
    sums_to_zero(table).then_some(table)
}

/// The MADT the RSDP at `rsdp` leads to.
///
/// # Safety
/// As for [`init`].
unsafe fn madt(rsdp: u64) -> Option<Madt> {
    // SAFETY: as the caller vouches. ACPI 1.0's RSDP is 20 bytes, checksummed alone.
    let rsdp_v1 = unsafe { memory(rsdp, 20)? };
    if &rsdp_v1[..8] != b"RSD PTR " || !sums_to_zero(rsdp_v1) {
        return None;
    }
    let revision = rsdp_v1[15];
    // ACPI 2.0 and later: the XSDT's 64-bit entries (the RSDP is 36 bytes, with an extended
    // checksum); else the RSDT's 32-bit ones.
    let (root, entry_size) = if revision >= 2 {
        // SAFETY: as above.
        let rsdp_v2 = unsafe { memory(rsdp, 36)? };
        if !sums_to_zero(rsdp_v2) {
            return None;
        }
        (u64_at(rsdp_v2, 24)?, 8)
    } else {
        (u64::from(u32_at(rsdp_v1, 16)?), 4)
    };
    // SAFETY: the root table's address, from a checked RSDP.
    let root = unsafe { table(root)? };
    root[36..].chunks_exact(entry_size).find_map(|entry| {
        let address = if entry_size == 8 { u64_at(entry, 0)? } else { u64::from(u32_at(entry, 0)?) };
        // SAFETY: an address from the checked root table.
        let table = unsafe { table(address)? };
        (&table[..4] == b"APIC").then(|| parse_madt(table)).flatten()
    })
}

/// The MADT's local APIC address and its enabled processors' APIC ids (ACPI 6.5, 5.2.12).
fn parse_madt(table: &[u8]) -> Option<Madt> {
    let mut madt = Madt { local_apic: u64::from(u32_at(table, 36)?), apic_ids: [0; MAX_CPUS], processors: 0 };
    // Entries after the header and the two fields: type, length, then the type's fields.
    let mut entries = table.get(44..)?;
    while let [kind, length, ..] = *entries {
        let length = usize::from(length);
        if length < 2 || length > entries.len() {
            break;
        }
        let entry = &entries[..length];
        match kind {
            // Processor Local APIC: processor UID, APIC id, flags (bit 0: enabled). Type 9
            // (x2APIC) is for the ids its 8-bit field cannot hold, which the xAPIC mode the
            // kernel uses cannot address either.
            0 if length >= 8 && u32_at(entry, 4)? & 1 != 0 => {
                if madt.processors < MAX_CPUS {
                    madt.apic_ids[madt.processors] = entry[3];
                }
                madt.processors += 1;
            }
            // Local APIC Address Override.
            5 if length >= 12 => madt.local_apic = u64_at(entry, 4)?,
            _ => {}
        }
        entries = &entries[length..];
    }
    Some(madt)
}
