//! The GICv2 interrupt controller: where its distributor and CPU interface are, which
//! interrupt the generic timer's virtual timer raises there, and what timer.rs does with
//! it: turn it on, enable an interrupt, acknowledge, end.

/// QEMU virt's GICv2 (hw/arm/virt.c, `VIRT_GIC_DIST`, `VIRT_GIC_CPU`).
pub const BOARD_DISTRIBUTOR: usize = 0x0800_0000;
pub const BOARD_CPU_INTERFACE: usize = 0x0801_0000;
/// QEMU virt's virtual timer interrupt: PPI 11 (`ARCH_TIMER_VIRT_IRQ`), INTID 27.
pub const BOARD_VIRTUAL_TIMER: u32 = 27;

const GICD_CTLR: usize = 0x000;
const GICD_ISENABLER: usize = 0x100;
const GICD_IPRIORITYR: usize = 0x400;
const GICC_CTLR: usize = 0x000;
const GICC_PMR: usize = 0x004;
const GICC_IAR: usize = 0x00c;
const GICC_EOIR: usize = 0x010;
/// The middle priority, which the priority mask (0xff) lets through.
const PRIORITY: u8 = 0x80;

/// Where the distributor's registers are.
pub fn distributor() -> usize {
    BOARD_DISTRIBUTOR
}

/// Where this CPU's interface registers are (banked: every CPU sees its own there).
pub fn cpu_interface() -> usize {
    BOARD_CPU_INTERFACE
}

/// The INTID of the virtual timer's interrupt.
pub fn virtual_timer() -> u32 {
    BOARD_VIRTUAL_TIMER
}

fn write(address: usize, value: u32) {
    // SAFETY: a GIC register of the virt board (identity-mapped as a device, paging.rs).
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
