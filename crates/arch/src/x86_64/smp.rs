//! x86_64's CPUs: the enabled processors of the ACPI MADT (acpi.rs), by local APIC id, the
//! boot CPU first; where there is no MADT (`-machine microvm,acpi=off`), as many as QEMU's
//! fw_cfg says it booted (`-smp`), local APIC ids 0..N. A CPU starts with INIT-SIPI-SIPI in
//! `trampoline.S`, copied below 1 MiB, and halts when its function returns (the next INIT
//! takes it out). The GS base points at each CPU's `CpuLocal`.

use super::acpi::Madt;
use super::apic;
use super::paging::TRAMPOLINE;
use crate::smp::{CpuLocal, MAX_CPUS, StartError};
use core::sync::atomic::{AtomicUsize, Ordering};
use x86_64::instructions::port::Port;
use x86_64::registers::model_specific::GsBase;

const MAILBOX: usize = 0x9000;
const LAPIC_ID: usize = 0x20;
const LAPIC_SPURIOUS: usize = 0xf0;
const ICR_LOW: usize = 0x300;
const ICR_HIGH: usize = 0x310;
const ICR_INIT: u32 = 0x4500;
const ICR_STARTUP: u32 = 0x4600;
const ICR_PENDING: u32 = 1 << 12;
/// QEMU's fw_cfg: selector and data ports, and the key of the number of CPUs booted.
const FW_CFG_SELECTOR: u16 = 0x510;
const FW_CFG_DATA: u16 = 0x511;
const FW_CFG_NB_CPUS: u16 = 0x05;

/// The index of the CPU that last reached Rust code: the mailbox is free again.
static ARRIVED: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" {
    static trampoline_start: u8;
    static trampoline_end: u8;
    static boot_cpu_local: CpuLocal;
}

/// The number of CPUs QEMU booted, from fw_cfg (1 without it: the signature is checked).
pub fn fw_cfg_cpus() -> usize {
    // SAFETY: fw_cfg's ports; selecting an item and reading it has no other effect.
    unsafe {
        let mut selector = Port::<u16>::new(FW_CFG_SELECTOR);
        let mut data = Port::<u8>::new(FW_CFG_DATA);
        selector.write(0); // the signature, "QEMU"
        let signature = [data.read(), data.read(), data.read(), data.read()];
        if &signature != b"QEMU" {
            return 1;
        }
        selector.write(FW_CFG_NB_CPUS);
        usize::from(u16::from_le_bytes([data.read(), data.read()]))
    }
}

/// This CPU's local APIC id.
pub fn apic_id() -> usize {
    (apic::read(LAPIC_ID) >> 24) as usize
}

/// Points this CPU's GS base at the boot CPU's local, copies the trampoline below 1 MiB (before
/// paging.rs makes that page read-execute) and records the CPUs: the MADT's, else fw_cfg's.
pub fn init_boot_cpu(madt: Option<&Madt>) {
    GsBase::write(x86_64::VirtAddr::from_ptr(&raw const boot_cpu_local));
    let code = (&raw const trampoline_start) as usize..(&raw const trampoline_end) as usize;
    // SAFETY: the page is RAM below the image, which nothing else uses; writable until
    // paging::init runs.
    unsafe { core::ptr::copy_nonoverlapping(code.start as *const u8, TRAMPOLINE as *mut u8, code.len()) };
    let boot = apic_id();
    let listed = madt.filter(|madt| madt.processors > 0).map(|madt| &madt.apic_ids[..madt.processors.min(MAX_CPUS)]);
    let counted = if listed.is_none() { fw_cfg_cpus() } else { 0 };
    let others = listed.into_iter().flatten().map(|&id| usize::from(id)).chain(0..counted);
    crate::smp::set_cpus(core::iter::once(boot).chain(others.filter(move |&id| id != boot)));
}

pub fn local() -> *const CpuLocal {
    GsBase::read().as_ptr()
}

fn send_ipi(apic_id: usize, command: u32) {
    apic::write(ICR_HIGH, (apic_id as u32) << 24);
    apic::write(ICR_LOW, command);
    while apic::read(ICR_LOW) & ICR_PENDING != 0 {
        core::hint::spin_loop();
    }
}

fn wait_microseconds(microseconds: u64) {
    let per_second = super::ticks_per_second().map_or(3_000_000_000, |hz| hz.get());
    let until = super::ticks() + per_second / 1_000_000 * microseconds;
    while super::ticks() < until {
        core::hint::spin_loop();
    }
}

/// Starts the CPU of `local`: INIT (whatever it was doing, halted after its last function),
/// then two STARTUP IPIs to the trampoline, as Intel's MP specification has it; returns
/// once the CPU is in Rust code (it has read the mailbox), or fails after a second.
pub fn start(local: &mut CpuLocal) -> Result<(), StartError> {
    ARRIVED.store(0, Ordering::SeqCst);
    let cr3 = x86_64::registers::control::Cr3::read().0.start_address().as_u64();
    // SAFETY: the mailbox page is the trampoline's, below the image; the CPU it is for is
    // stopped, and no other CPU is being started.
    unsafe {
        let mailbox = MAILBOX as *mut u64;
        mailbox.write_volatile(cr3);
        mailbox.add(1).write_volatile(local.stack_top as u64);
        mailbox.add(2).write_volatile(local as *mut CpuLocal as u64);
        mailbox.add(3).write_volatile(x86_64_secondary as *const () as u64);
    }
    // Software-enabled, so that this APIC sends IPIs.
    apic::write(LAPIC_SPURIOUS, apic::read(LAPIC_SPURIOUS) | 0x100);
    send_ipi(local.hardware_id, ICR_INIT);
    wait_microseconds(10_000);
    for _ in 0..2 {
        send_ipi(local.hardware_id, ICR_STARTUP | (TRAMPOLINE >> 12) as u32);
        wait_microseconds(200);
    }
    let per_second = super::ticks_per_second().map_or(3_000_000_000, |hz| hz.get());
    let until = super::ticks() + per_second;
    while ARRIVED.load(Ordering::SeqCst) != local.index {
        if super::ticks() > until {
            return Err(StartError::Refused(-1));
        }
        core::hint::spin_loop();
    }
    Ok(())
}

/// Where the trampoline goes, in long mode on the CPU's stack.
extern "C" fn x86_64_secondary(local: &'static CpuLocal) -> ! {
    GsBase::write(x86_64::VirtAddr::from_ptr(local));
    ARRIVED.store(local.index, Ordering::SeqCst);
    super::segments::init(local.index, local.fatal_stack_top);
    super::traps::load();
    crate::smp::run_secondary(local);
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
