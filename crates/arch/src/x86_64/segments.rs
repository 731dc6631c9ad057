//! The kernel's GDT with a TSS, whose interrupt stack table gives the double-fault handler a
//! stack of its own: after a stack overflow the faulting stack cannot take an exception frame.

use spin::Once;
use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;

/// The IST slot of the double-fault handler.
pub const DOUBLE_FAULT_STACK: u16 = 0;
const STACK_SIZE: usize = 32 * 1024;

#[repr(C, align(16))]
struct Stack([u8; STACK_SIZE]);

static mut DOUBLE_FAULT_STACK_MEMORY: Stack = Stack([0; STACK_SIZE]);
static TSS: Once<TaskStateSegment> = Once::new();
static GDT: Once<(GlobalDescriptorTable, [SegmentSelector; 3])> = Once::new();

pub fn init() {
    let tss = TSS.call_once(|| {
        let mut tss = TaskStateSegment::new();
        let top = VirtAddr::from_ptr(&raw const DOUBLE_FAULT_STACK_MEMORY) + STACK_SIZE as u64;
        tss.interrupt_stack_table[DOUBLE_FAULT_STACK as usize] = top;
        tss
    });
    let (gdt, [code, data, task]) = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        // The same selectors as boot.S's GDT (0x08 code, 0x10 data), then the TSS.
        let code = gdt.append(Descriptor::kernel_code_segment());
        let data = gdt.append(Descriptor::kernel_data_segment());
        let task = gdt.append(Descriptor::tss_segment(tss));
        (gdt, [code, data, task])
    });
    gdt.load();
    // SAFETY: the selectors come from the GDT just loaded.
    unsafe {
        CS::set_reg(*code);
        SS::set_reg(*data);
        load_tss(*task);
    }
}
