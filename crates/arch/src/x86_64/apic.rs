//! The local APIC's registers, at the address the IA32_APIC_BASE MSR gives: the
//! architectural source (0xfee0_0000 after reset, unless firmware moved it), and the one
//! place timer.rs and smp.rs find them. The ACPI MADT states the address too (acpi.rs); the
//! tests check that the two agree.

use core::sync::atomic::{AtomicUsize, Ordering};
use x86_64::registers::model_specific::Msr;

const IA32_APIC_BASE: u32 = 0x1b;
/// Bits 12..51: the registers' 4 KiB page (bits above the CPU's physical width read as 0).
const BASE_MASK: u64 = 0x000f_ffff_ffff_f000;
/// The APIC is on (bit 11) and in xAPIC mode, with memory-mapped registers (bit 10 clear:
/// x2APIC mode has MSRs instead, which QEMU's firmware leaves off).
const ENABLED: u64 = 1 << 11;
const X2APIC: u64 = 1 << 10;
const REGISTERS: usize = 4096;

/// The address, read once (0: not yet): the timer's handler writes the EOI register on
/// every tick, and RDMSR under TCG is a call out of the translated code. The boot CPU's:
/// only it uses its APIC (the others run no timer and send no IPIs), and firmware gives
/// every CPU the same base anyway.
static BASE: AtomicUsize = AtomicUsize::new(0);

/// Where this CPU's local APIC registers are.
pub fn base() -> usize {
    match BASE.load(Ordering::Relaxed) {
        0 => {
            // SAFETY: IA32_APIC_BASE exists on every x86_64 CPU; reading it has no effect.
            let value = unsafe { Msr::new(IA32_APIC_BASE).read() };
            assert!(value & (ENABLED | X2APIC) == ENABLED, "the local APIC is off or in x2APIC mode: {value:#x}");
            let base = (value & BASE_MASK) as usize;
            assert!(
                super::paging::is_identity_mapped(base..base + REGISTERS),
                "the local APIC at {base:#x} is outside the boot page tables' identity map"
            );
            BASE.store(base, Ordering::Relaxed);
            base
        }
        base => base,
    }
}

pub fn write(register: usize, value: u32) {
    // SAFETY: a local APIC register, identity-mapped (the check in `base`).
    unsafe { ((base() + register) as *mut u32).write_volatile(value) }
}

pub fn read(register: usize) -> u32 {
    // SAFETY: as for `write`.
    unsafe { ((base() + register) as *const u32).read_volatile() }
}
