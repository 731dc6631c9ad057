//! The PVH boot protocol's `hvm_start_info`, as QEMU fills it (Xen's `arch-x86/hvm/start_info.h`).

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

/// The command line QEMU passed with `-append` (empty if none, or if `address` holds no
/// start_info).
///
/// # Safety
/// `address` must be the start_info address the PVH entry received, identity-mapped.
pub unsafe fn cmdline(address: usize) -> &'static str {
    if address == 0 {
        return "";
    }
    // SAFETY: the caller vouches for the address; the magic is checked before use.
    let info = unsafe { &*(address as *const StartInfo) };
    if info.magic != MAGIC || info.cmdline_paddr == 0 {
        return "";
    }
    // SAFETY: PVH's cmdline is a NUL-terminated string at an identity-mapped address.
    let text = unsafe { core::ffi::CStr::from_ptr(info.cmdline_paddr as *const core::ffi::c_char) };
    text.to_str().unwrap_or("")
}
