//! Physical memory: the map the boot path gives, the frame allocator over what is free, and
//! the heap on frames from it.
//!
//! Everything below the end of the kernel image is reserved (firmware, boot structures and
//! the device tree on aarch64 live there), as is whatever the arch reports as reserved
//! above it (riscv64's device tree, for one).
//!
//! Nothing here knows the architecture: the arch layer describes memory in this crate's
//! types ([`MemoryMap`]), and the kernel hands the map to [`init`]. `regions` and `frames`
//! are plain Rust, tested on the host (`cargo test -p mm`); the kernel tests (`tests.rs`,
//! the `ktest` feature) check the allocators the kernel runs on.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod frames;
pub mod heap;
pub mod regions;
#[cfg(all(target_os = "none", any(test, feature = "ktest")))]
mod tests;

pub use heap::Heap;
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
    use super::{Heap, MemoryMap, PAGE_SIZE, Region};
    use core::fmt;
    use spin::{Mutex, Once};

    /// The heap's size, taken from the frame allocator at boot.
    const HEAP_SIZE: usize = 8 * 1024 * 1024;
    /// Frames the bitmap can describe: 2 GiB from the lowest usable address.
    const BITMAP_WORDS: usize = 2 * 1024 * 1024 * 1024 / PAGE_SIZE / 64;

    static FRAMES: Mutex<Option<FrameAllocator<'static>>> = Mutex::new(None);
    static HEAP: Mutex<Region> = Mutex::new(Region::new(0, 0));
    /// The kernel's global allocator, as `init` was given it.
    static GLOBAL_HEAP: Once<&'static Heap> = Once::new();

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

    /// What `init` set up, for the boot log.
    pub struct Summary {
        usable: usize,
        free_after: usize,
        kernel: Region,
    }

    impl fmt::Display for Summary {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(
                f,
                "memory: {} MiB usable, {} MiB free after the kernel {} and the {} MiB heap",
                self.usable >> 20,
                self.free_after >> 20,
                self.kernel,
                HEAP_SIZE >> 20
            )
        }
    }

    /// Sets up the frame allocator from `memory`, then `heap` (the kernel's global
    /// allocator) on frames from it. Once, at boot.
    pub fn init(memory: &MemoryMap, heap: &'static Heap) -> Summary {
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
        let heap_frames = allocator
            .allocate_contiguous(HEAP_SIZE / PAGE_SIZE)
            .unwrap_or_else(|| panic!("no {} MiB of contiguous memory for the heap", HEAP_SIZE >> 20));
        // SAFETY: the frames are ours alone from now on, and identity-mapped.
        unsafe { heap.init(heap_frames) };
        GLOBAL_HEAP.call_once(|| heap);
        *HEAP.lock() = heap_frames;
        let summary = Summary {
            usable: memory.usable.total(),
            free_after: allocator.free_frames() * PAGE_SIZE,
            kernel: kernel_image(),
        };
        *FRAMES.lock() = Some(allocator);
        summary
    }

    /// Bytes the kernel heap can still hand out (0 before `init`).
    pub fn heap_free() -> usize {
        GLOBAL_HEAP.get().map_or(0, |heap| heap.free())
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
