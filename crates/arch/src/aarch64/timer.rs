//! The generic timer's virtual timer (PPI 27), through the virt board's GICv2: one interrupt
//! at a deadline on the virtual counter (`CNTV_CVAL_EL0` against `CNTVCT_EL0`, which
//! `ticks()` reads). `crate::timer` decides the deadlines.

const GICD: usize = 0x0800_0000;
const GICC: usize = 0x0801_0000;
const GICD_CTLR: usize = 0x000;
const GICD_ISENABLER0: usize = 0x100;
const GICD_IPRIORITYR: usize = 0x400;
const GICC_CTLR: usize = 0x000;
const GICC_PMR: usize = 0x004;
const GICC_IAR: usize = 0x00c;
const GICC_EOIR: usize = 0x010;
const VIRTUAL_TIMER: u32 = 27;
/// CNTV_CTL_EL0: the timer enabled, its interrupt not masked.
const ENABLED: u64 = 1;

fn write(address: usize, value: u32) {
    // SAFETY: a GIC register of the virt board (identity-mapped as a device, paging.rs).
    unsafe { (address as *mut u32).write_volatile(value) }
}

fn read(address: usize) -> u32 {
    // SAFETY: as for `write`.
    unsafe { (address as *const u32).read_volatile() }
}

/// Sets up the GIC to deliver the virtual timer's interrupt to this CPU.
pub fn enable() {
    write(GICD + GICD_CTLR, 1);
    // SAFETY: one byte of the priority registers belongs to the virtual timer's PPI.
    unsafe { ((GICD + GICD_IPRIORITYR + VIRTUAL_TIMER as usize) as *mut u8).write_volatile(0x80) };
    write(GICD + GICD_ISENABLER0, 1 << VIRTUAL_TIMER);
    write(GICC + GICC_PMR, 0xff);
    write(GICC + GICC_CTLR, 1);
}

/// An interrupt once the virtual counter reaches `deadline`.
pub fn arm(deadline: u64) {
    // SAFETY: programming the EL1 virtual timer's compare value, then enabling it.
    unsafe {
        core::arch::asm!("msr cntv_cval_el0, {}", "msr cntv_ctl_el0, {}", "isb",
            in(reg) deadline, in(reg) ENABLED, options(nostack))
    };
}

/// No timer interrupt (a disabled timer also drops its pending interrupt).
pub fn disarm() {
    // SAFETY: disabling the EL1 virtual timer.
    unsafe { core::arch::asm!("msr cntv_ctl_el0, {}", "isb", in(reg) 0u64, options(nostack)) };
}

/// An IRQ: acknowledge it at the GIC, hand it on if it is the timer's, end it.
pub fn interrupt(frame: &mut super::TrapFrame) {
    let acknowledged = read(GICC + GICC_IAR);
    if acknowledged & 0x3ff == VIRTUAL_TIMER {
        crate::timer::interrupt(frame);
    }
    write(GICC + GICC_EOIR, acknowledged);
}
