//! The kernel heap: a linked-list allocator over frames the frame allocator gave at boot.
//!
//! The kernel declares it as its global allocator and hands it to [`crate::init`]:
//!
//! ```ignore
//! #[global_allocator]
//! static HEAP: mm::Heap = mm::Heap::empty();
//! ```

use crate::Region;
use core::alloc::{GlobalAlloc, Layout};
use linked_list_allocator::LockedHeap;

/// A heap that allocates from one region, once it has it ([`Heap::init`]).
pub struct Heap(LockedHeap);

impl Heap {
    /// A heap with no memory yet: every allocation fails until `init`.
    pub const fn empty() -> Heap {
        Heap(LockedHeap::empty())
    }

    /// Hands `region` to the allocator.
    ///
    /// # Safety
    /// Once; `region` must be memory nothing else uses, mapped and writable.
    pub unsafe fn init(&self, region: Region) {
        // SAFETY: the caller vouches for the region.
        unsafe { self.0.lock().init(region.start as *mut u8, region.size()) };
    }

    /// Bytes handed out and not yet returned; None while the heap is locked (a panic
    /// inside the allocator must not wait for it).
    pub fn used(&self) -> Option<usize> {
        self.0.try_lock().map(|heap| heap.used())
    }

    /// Bytes the heap can still hand out.
    pub fn free(&self) -> usize {
        self.0.lock().free()
    }
}

// SAFETY: forwards to the linked-list allocator, which is a correct `GlobalAlloc`.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { self.0.alloc(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: as for `alloc`.
        unsafe { self.0.dealloc(pointer, layout) }
    }
}
