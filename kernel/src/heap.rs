//! The kernel heap: a linked-list allocator over frames the frame allocator gave at boot.

use crate::mm::Region;
use linked_list_allocator::LockedHeap;

#[global_allocator]
static ALLOCATOR: LockedHeap = LockedHeap::empty();

/// Hands `region` to the allocator.
///
/// # Safety
/// Once, at boot; `region` must be memory nothing else uses, mapped and writable.
pub unsafe fn init(region: Region) {
    // SAFETY: the caller vouches for the region.
    unsafe { ALLOCATOR.lock().init(region.start as *mut u8, region.size()) };
}

/// Bytes the heap can still hand out.
pub fn free() -> usize {
    ALLOCATOR.lock().free()
}
