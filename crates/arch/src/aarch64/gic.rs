//! The GICv2 interrupt controller: where its distributor and CPU interface are (the device
//! tree's interrupt controller, `reg[0]` and `reg[1]`, else QEMU virt's), which interrupt
//! the generic timer's virtual timer raises there (the tree's `/timer`, else virt's), and
//! what timer.rs does with it: turn it on, enable an interrupt, acknowledge, end.
//!
//! Until the tree is read (and where it names no GICv2) the board's addresses are used:
//! QEMU's default for `virt` is a GICv2, and nothing takes an interrupt before the tree is
//! read anyway. A GICv3 (`-machine virt,gic-version=3`) has other registers; it is not
//! driven here.

use super::devicetree;
use core::ops::Range;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use fdt::Fdt;

/// QEMU virt's GICv2 (hw/arm/virt.c, `VIRT_GIC_DIST`, `VIRT_GIC_CPU`).
pub const BOARD_DISTRIBUTOR: usize = 0x0800_0000;
pub const BOARD_CPU_INTERFACE: usize = 0x0801_0000;
/// QEMU virt's virtual timer interrupt: PPI 11 (`ARCH_TIMER_VIRT_IRQ`), INTID 27.
pub const BOARD_VIRTUAL_TIMER: u32 = 27;

/// A GICv2's `compatible`, as the Linux binding (arm,gic.yaml) names them; QEMU's first.
pub const COMPATIBLE: &[&str] = &["arm,cortex-a15-gic", "arm,gic-400", "arm,gic-v2"];
/// The generic timer's node.
pub const TIMER_COMPATIBLE: &[&str] = &["arm,armv8-timer", "arm,armv7-timer"];

const GICD_CTLR: usize = 0x000;
const GICD_ISENABLER: usize = 0x100;
const GICD_IPRIORITYR: usize = 0x400;
const GICC_CTLR: usize = 0x000;
const GICC_PMR: usize = 0x004;
const GICC_IAR: usize = 0x00c;
const GICC_EOIR: usize = 0x010;
/// The middle priority, which the priority mask (0xff) lets through.
const PRIORITY: u8 = 0x80;

static DISTRIBUTOR: AtomicUsize = AtomicUsize::new(BOARD_DISTRIBUTOR);
static CPU_INTERFACE: AtomicUsize = AtomicUsize::new(BOARD_CPU_INTERFACE);
static VIRTUAL_TIMER: AtomicU32 = AtomicU32::new(BOARD_VIRTUAL_TIMER);

/// The distributor's and the CPU interface's registers, as the tree's first GICv2 has them.
pub fn find(tree: &Fdt<'_>) -> Option<(Range<usize>, Range<usize>)> {
    let gic = devicetree::first_compatible(tree, COMPATIBLE)?;
    Some((devicetree::registers(gic, 0)?, devicetree::registers(gic, 1)?))
}

/// The virtual timer's INTID: the third of `/timer`'s interrupts (secure physical,
/// non-secure physical, virtual, hypervisor: arm,arch_timer.yaml), if the tree routes them
/// to a GICv2, whose specifiers are three cells: type (0 SPI, 1 PPI), number, flags.
pub fn find_virtual_timer(tree: &Fdt<'_>) -> Option<u32> {
    let timer = devicetree::first_compatible(tree, TIMER_COMPATIBLE)?;
    let parent = timer.interrupt_parent().or_else(|| tree.find_node("/")?.interrupt_parent())?;
    if !devicetree::is_compatible(parent, COMPATIBLE) {
        return None;
    }
    let specifier = timer.property("interrupts")?.value.chunks_exact(12).nth(2)?;
    let cell = |index: usize| u32::from_be_bytes([0, 1, 2, 3].map(|byte| specifier[4 * index + byte]));
    match (cell(0), cell(1)) {
        (1, number) if number < 16 => Some(16 + number),
        (0, number) if number < 988 => Some(32 + number),
        _ => None,
    }
}

/// Takes the GIC's addresses and the timer's interrupt from the tree, each where paging
/// maps it (paging.rs maps what lies outside the first gigabyte); what the tree lacks stays
/// the board's. Once, at boot, before interrupts are enabled.
pub fn discover(tree: Option<&Fdt<'_>>) {
    let Some(tree) = tree else { return };
    if let Some((distributor, cpu_interface)) = find(tree)
        && super::paging::map_device(distributor.clone())
        && super::paging::map_device(cpu_interface.clone())
    {
        DISTRIBUTOR.store(distributor.start, Ordering::Relaxed);
        CPU_INTERFACE.store(cpu_interface.start, Ordering::Relaxed);
    }
    if let Some(intid) = find_virtual_timer(tree) {
        VIRTUAL_TIMER.store(intid, Ordering::Relaxed);
    }
}

/// Where the distributor's registers are.
pub fn distributor() -> usize {
    DISTRIBUTOR.load(Ordering::Relaxed)
}

/// Where this CPU's interface registers are (banked: every CPU sees its own there).
pub fn cpu_interface() -> usize {
    CPU_INTERFACE.load(Ordering::Relaxed)
}

/// The INTID of the virtual timer's interrupt.
pub fn virtual_timer() -> u32 {
    VIRTUAL_TIMER.load(Ordering::Relaxed)
}

fn write(address: usize, value: u32) {
    // SAFETY: a GIC register, identity-mapped as a device (paging.rs).
    unsafe { (address as *mut u32).write_volatile(value) }
}

fn read(address: usize) -> u32 {
    // SAFETY: as for `write`.
    unsafe { (address as *const u32).read_volatile() }
}

/// Turns the distributor and this CPU's interface on, every priority let through.
pub fn init() {
    write(distributor() + GICD_CTLR, 1);
    write(cpu_interface() + GICC_PMR, 0xff);
    write(cpu_interface() + GICC_CTLR, 1);
}

/// Enables interrupt `intid` at the middle priority.
pub fn enable(intid: u32) {
    let intid = intid as usize;
    // SAFETY: the priority registers are byte-accessible, one byte per interrupt.
    unsafe { ((distributor() + GICD_IPRIORITYR + intid) as *mut u8).write_volatile(PRIORITY) };
    write(distributor() + GICD_ISENABLER + 4 * (intid / 32), 1 << (intid % 32));
}

/// An interrupt acknowledged at the CPU interface (GICC_IAR's value), to be ended with
/// [`end_of_interrupt`].
#[derive(Clone, Copy)]
pub struct Acknowledged(u32);

impl Acknowledged {
    /// Its INTID (1023: none was pending).
    pub fn id(self) -> u32 {
        self.0 & 0x3ff
    }
}

/// Acknowledges the highest-priority pending interrupt.
pub fn acknowledge() -> Acknowledged {
    Acknowledged(read(cpu_interface() + GICC_IAR))
}

/// Ends the handling of an acknowledged interrupt.
pub fn end_of_interrupt(acknowledged: Acknowledged) {
    write(cpu_interface() + GICC_EOIR, acknowledged.0);
}
