//! Kernel tests of where x86_64 finds its local APIC and its CPUs: the APIC base from
//! IA32_APIC_BASE answers there and agrees with the ACPI MADT's, and the CPUs in use are the
//! MADT's, as many as fw_cfg says QEMU booted. Without ACPI tables (`-machine
//! microvm,acpi=off`) there is nothing to compare, which the MADT tests print and pass.

use super::{acpi, apic, smp};
use crate::smp::MAX_CPUS;
use alloc::vec::Vec;
use ktest::ktest;

const LAPIC_ID: usize = 0x20;
const LAPIC_VERSION: usize = 0x30;

/// The MADT the boot read; None (and a note) if the start info named no RSDP.
fn madt() -> Option<&'static acpi::Madt> {
    let tables = acpi::tables().expect("the boot looked for ACPI tables");
    match (tables.rsdp, &tables.madt) {
        (_, Some(madt)) => Some(madt),
        (Some(rsdp), None) => panic!("the start info names an RSDP at {rsdp:#x}, but no MADT was read from it"),
        (None, None) => {
            super::console_write(b"# no ACPI tables: the PVH start info names no RSDP\n");
            None
        }
    }
}

#[ktest]
fn the_local_apic_answers_at_the_base_ia32_apic_base_gives() {
    let initial_apic_id = core::arch::x86_64::__cpuid(1).ebx >> 24;
    assert_eq!(apic::read(LAPIC_ID) >> 24, initial_apic_id, "the ID register disagrees with CPUID");
    // An integrated local APIC's version is 0x10..=0x15 (Intel SDM, vol. 3A, 11.4.8).
    let version = apic::read(LAPIC_VERSION) & 0xff;
    assert!((0x10..=0x15).contains(&version), "no local APIC version at {:#x}: {version:#x}", apic::base());
}

#[ktest]
fn the_local_apic_base_from_ia32_apic_base_is_the_madt_s() {
    if let Some(madt) = madt() {
        assert_eq!(apic::base() as u64, madt.local_apic, "IA32_APIC_BASE and the MADT disagree");
    }
}

#[ktest]
fn the_madt_lists_as_many_processors_as_fw_cfg_says_qemu_booted() {
    if let Some(madt) = madt() {
        assert_eq!(madt.processors, smp::fw_cfg_cpus());
    }
}

#[ktest]
fn the_cpus_in_use_are_the_madt_s_the_boot_cpu_first() {
    if let Some(madt) = madt() {
        let in_use: Vec<usize> = crate::smp::hardware_ids().collect();
        assert_eq!(in_use.first(), Some(&smp::apic_id()), "the boot CPU is CPU 0");
        let mut listed: Vec<usize> =
            madt.apic_ids[..madt.processors.min(MAX_CPUS)].iter().map(|&id| id.into()).collect();
        let mut sorted = in_use.clone();
        listed.sort_unstable();
        sorted.sort_unstable();
        assert_eq!(sorted, listed, "the CPUs in use ({in_use:?}) are not the MADT's");
    }
}
