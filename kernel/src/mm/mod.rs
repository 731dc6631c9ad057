//! Physical memory: the map the boot path gives, the frame allocator over what is free, and
//! the heap on frames from it.
//!
//! Everything below the end of the kernel image is reserved (firmware, boot structures and
//! the device tree on aarch64 live there), as is whatever the arch reports as reserved
//! above it (riscv64's device tree, for one).

pub mod frames;
pub mod regions;
#[cfg(all(target_os = "none", any(test, feature = "ktest")))]
mod tests;

pub use regions::{PAGE_SIZE, Region, Regions};

/// Physical memory as the boot path describes it.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryMap {
    pub usable: Regions<32>,
    pub reserved: Regions<32>,
}

#[cfg(target_os = "none")]
pub use self::kernel::*;

#[cfg(target_os = "none")]
mod kernel {
    use super::frames::{Frame, FrameAllocator};
    use super::{MemoryMap, PAGE_SIZE, Region};
    use spin::Mutex;

    /// The heap's size, taken from the frame allocator at boot.
    const HEAP_SIZE: usize = 8 * 1024 * 1024;
    /// Frames the bitmap can describe: 2 GiB from the lowest usable address.
    const BITMAP_WORDS: usize = 2 * 1024 * 1024 * 1024 / PAGE_SIZE / 64;

    static FRAMES: Mutex<Option<FrameAllocator<'static>>> = Mutex::new(None);
    static HEAP: Mutex<Region> = Mutex::new(Region::new(0, 0));

    unsafe extern "C" {
        static __kernel_start: u8;
        static __kernel_end: u8;
    }

    /// The kernel image in memory, `.bss` included.
    pub fn kernel_image() -> Region {
        Region::new((&raw const __kernel_start) as usize, (&raw const __kernel_end) as usize)
    }

    /// The heap's region (taken from the frame allocator at boot).
    pub fn heap_region() -> Region {
        *HEAP.lock()
    }

    /// Sets up the frame allocator from `memory`, then the heap on frames from it.
    pub fn init(memory: &MemoryMap) {
        let mut free = memory.usable;
        free.remove(Region::new(0, kernel_image().end));
        for reserved in memory.reserved.iter() {
            free.remove(*reserved);
        }
        if free.total() == 0 {
            panic!(
                "no usable memory: the boot memory map gives {} bytes, none above the kernel",
                memory.usable.total()
            );
        }
        static mut BITMAP: [u64; BITMAP_WORDS] = [0; BITMAP_WORDS];
        // SAFETY: init runs once, at boot; nothing else refers to the bitmap.
        let bitmap = unsafe { core::slice::from_raw_parts_mut((&raw mut BITMAP).cast::<u64>(), BITMAP_WORDS) };
        let mut allocator = FrameAllocator::new(&free, bitmap);
        let heap = allocator
            .allocate_contiguous(HEAP_SIZE / PAGE_SIZE)
            .unwrap_or_else(|| panic!("no {} MiB of contiguous memory for the heap", HEAP_SIZE >> 20));
        // SAFETY: the frames are ours alone from now on, and identity-mapped.
        unsafe { crate::heap::init(heap) };
        *HEAP.lock() = heap;
        println!(
            "memory: {} MiB usable, {} MiB free after the kernel {} and the {} MiB heap",
            memory.usable.total() >> 20,
            (allocator.free_frames() * PAGE_SIZE) >> 20,
            kernel_image(),
            HEAP_SIZE >> 20
        );
        *FRAMES.lock() = Some(allocator);
    }

    fn with_allocator<T>(operation: impl FnOnce(&mut FrameAllocator<'static>) -> T) -> T {
        operation(FRAMES.lock().as_mut().expect("the frame allocator is set up at boot"))
    }

    pub fn allocate_frame() -> Option<Frame> {
        with_allocator(FrameAllocator::allocate)
    }

    pub fn deallocate_frame(frame: Frame) {
        with_allocator(|allocator| allocator.deallocate(frame))
    }

    pub fn free_frames() -> usize {
        with_allocator(|allocator| allocator.free_frames())
    }
}
