//! The PVH boot protocol's `hvm_start_info`, as QEMU fills it (Xen's `arch-x86/hvm/start_info.h`).

use mm::{MemoryMap, Region};

const MAGIC: u32 = 0x336e_c578;

#[repr(C)]
struct StartInfo {
    magic: u32,
    version: u32,
    flags: u32,
    nr_modules: u32,
    modlist_paddr: u64,
    cmdline_paddr: u64,
    rsdp_paddr: u64,
    memmap_paddr: u64,
    memmap_entries: u32,
    reserved: u32,
}

/// One `hvm_memmap_table_entry`.
#[repr(C)]
struct MemoryMapEntry {
    address: u64,
    size: u64,
    kind: u32,
    reserved: u32,
}

/// E820 type of usable RAM.
const RAM: u32 = 1;

/// The memory map QEMU passed (PVH version 1): RAM as usable, everything else it lists as
/// reserved.
///
/// # Safety
/// As for [`cmdline`].
pub unsafe fn memory_map(address: usize) -> MemoryMap {
    let mut map = MemoryMap::default();
    // SAFETY: the caller vouches for the address; the magic is checked before use.
    let Some(info) = (unsafe { start_info(address) }) else { return map };
    if info.version < 1 || info.memmap_paddr == 0 {
        return map;
    }
    // SAFETY: version 1 start_info points at `memmap_entries` entries, identity-mapped.
    let entries = unsafe {
        core::slice::from_raw_parts(info.memmap_paddr as *const MemoryMapEntry, info.memmap_entries as usize)
    };
    for entry in entries {
        let region = Region::with_size(entry.address as usize, entry.size as usize);
        if entry.kind == RAM { map.usable.add(region) } else { map.reserved.add(region) }
    }
    map
}

/// # Safety
/// `address` is 0 or the start_info address the PVH entry received.
unsafe fn start_info(address: usize) -> Option<&'static StartInfo> {
    // SAFETY: the caller vouches for the address.
    let info = unsafe { (address as *const StartInfo).as_ref()? };
    (info.magic == MAGIC).then_some(info)
}

/// The command line QEMU passed with `-append` (empty if none, or if `address` holds no
/// start_info).
///
/// # Safety
/// `address` must be the start_info address the PVH entry received, identity-mapped.
pub unsafe fn cmdline(address: usize) -> &'static str {
    // SAFETY: the caller vouches for the address; the magic is checked before use.
    let Some(info) = (unsafe { start_info(address) }) else { return "" };
    if info.cmdline_paddr == 0 {
        return "";
    }
    // SAFETY: PVH's cmdline is a NUL-terminated string at an identity-mapped address.
    let text = unsafe { core::ffi::CStr::from_ptr(info.cmdline_paddr as *const core::ffi::c_char) };
    text.to_str().unwrap_or("")
}

/// The ACPI RSDP's physical address, if the start info gives one (QEMU's does where the
/// machine has ACPI tables: acpi.rs).
///
/// # Safety
/// As for [`cmdline`].
pub unsafe fn rsdp(address: usize) -> Option<u64> {
    // SAFETY: the caller vouches for the address; the magic is checked before use.
    let info = unsafe { start_info(address) }?;
    (info.rsdp_paddr != 0).then_some(info.rsdp_paddr)
}
