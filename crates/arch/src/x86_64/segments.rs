//! The kernel's GDT with a TSS, whose interrupt stack table gives the double-fault handler a
//! stack of its own: after a stack overflow the faulting stack cannot take an exception frame.
//! One of each per CPU (a TSS is marked busy in the GDT that loads it); the boot CPU's
//! double-fault stack is here, a secondary CPU's is the fatal stack above its stack (smp.rs).

use crate::smp::MAX_CPUS;
use spin::Once;
use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable};
use x86_64::structures::tss::TaskStateSegment;

/// The IST slot of the double-fault handler.
pub const DOUBLE_FAULT_STACK: u16 = 0;
const STACK_SIZE: usize = 32 * 1024;

#[repr(C, align(16))]
struct Stack([u8; STACK_SIZE]);

static mut DOUBLE_FAULT_STACK_MEMORY: Stack = Stack([0; STACK_SIZE]);
static TSS: [Once<TaskStateSegment>; MAX_CPUS] = [const { Once::new() }; MAX_CPUS];
/// Each CPU's GDT, built again each time the CPU starts: `ltr` marks the TSS descriptor busy,
/// and loading a busy one faults, so a restarted CPU needs a fresh descriptor.
static mut GDT: [GlobalDescriptorTable; MAX_CPUS] = [const { GlobalDescriptorTable::new() }; MAX_CPUS];

/// Loads CPU `cpu`'s GDT and TSS; `double_fault_stack` is the top of its double-fault stack
/// (0: the boot CPU's, here). On the CPU itself.
pub fn init(cpu: usize, double_fault_stack: usize) {
    let tss = TSS[cpu].call_once(|| {
        let mut tss = TaskStateSegment::new();
        let top = match double_fault_stack {
            0 => VirtAddr::from_ptr(&raw const DOUBLE_FAULT_STACK_MEMORY) + STACK_SIZE as u64,
            top => VirtAddr::new(top as u64),
        };
        tss.interrupt_stack_table[DOUBLE_FAULT_STACK as usize] = top;
        tss
    });
    // SAFETY: only CPU `cpu` uses its GDT, and it is not loaded (the CPU is starting).
    let gdt: &'static mut GlobalDescriptorTable =
        unsafe { &mut *(&raw mut GDT).cast::<GlobalDescriptorTable>().add(cpu) };
    *gdt = GlobalDescriptorTable::new();
    // The same selectors as boot.S's GDT (0x08 code, 0x10 data), then the TSS.
    let code = gdt.append(Descriptor::kernel_code_segment());
    let data = gdt.append(Descriptor::kernel_data_segment());
    let task = gdt.append(Descriptor::tss_segment(tss));
    let gdt: &'static GlobalDescriptorTable = gdt;
    gdt.load();
    // SAFETY: the selectors come from the GDT just loaded.
    unsafe {
        CS::set_reg(code);
        SS::set_reg(data);
        load_tss(task);
    }
}
