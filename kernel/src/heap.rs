//! The kernel heap: a linked-list allocator over a region reserved in the image.
//!
//! A fixed region keeps the first boot simple and the same on every arch; it moves onto
//! frames from the discovered memory map once the kernel has one.

use linked_list_allocator::LockedHeap;

const HEAP_SIZE: usize = 8 * 1024 * 1024;

#[repr(C, align(4096))]
struct Region([u8; HEAP_SIZE]);

static mut REGION: Region = Region([0; HEAP_SIZE]);

#[global_allocator]
static ALLOCATOR: LockedHeap = LockedHeap::empty();

pub fn init() {
    // SAFETY: called once at boot, before anything allocates; the region is used by
    // nothing else.
    unsafe {
        let start = (&raw mut REGION).cast::<u8>();
        ALLOCATOR.lock().init(start, HEAP_SIZE);
    }
}

/// Bytes the heap can still hand out.
pub fn free() -> usize {
    ALLOCATOR.lock().free()
}
