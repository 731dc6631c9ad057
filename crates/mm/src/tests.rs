//! Kernel tests of the frame allocator and the heap the kernel runs on, on every arch (the
//! `ktest` feature).

use super::frames::Frame;
use super::{PAGE_SIZE, Region};
use alloc::{vec, vec::Vec};
use ktest::ktest;

#[ktest]
fn frames_are_distinct_aligned_writable_and_outside_the_kernel_and_heap() {
    let before = super::free_frames();
    let frames: Vec<Frame> = (0..256).map(|_| super::allocate_frame().expect("256 free frames")).collect();
    let mut sorted: Vec<usize> = frames.iter().map(|frame| frame.0).collect();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), frames.len(), "a frame was handed out twice");
    for frame in &frames {
        let region = Region::with_size(frame.0, PAGE_SIZE);
        assert!(frame.0.is_multiple_of(PAGE_SIZE), "{region} is not page-aligned");
        assert!(!region.overlaps(&super::kernel_image()), "{region} overlaps the kernel {}", super::kernel_image());
        assert!(!region.overlaps(&super::heap_region()), "{region} overlaps the heap {}", super::heap_region());
        // SAFETY: the frame is ours until it is freed below; memory is identity-mapped.
        unsafe { (frame.0 as *mut u64).write_volatile(frame.0 as u64) };
    }
    for frame in &frames {
        // SAFETY: as above.
        assert_eq!(unsafe { (frame.0 as *const u64).read_volatile() }, frame.0 as u64, "frames overlap");
    }
    assert_eq!(super::free_frames(), before - frames.len());
    frames.into_iter().for_each(super::deallocate_frame);
    assert_eq!(super::free_frames(), before, "every frame came back");
}

#[ktest(should_panic = "freed but not allocated")]
fn freeing_a_frame_twice_is_caught() {
    let frame = super::allocate_frame().expect("a free frame");
    super::deallocate_frame(frame);
    super::deallocate_frame(frame);
}

#[ktest]
fn heap_allocations_of_many_sizes_and_alignments_do_not_overlap_and_are_reused() {
    use core::alloc::Layout;
    let mut live: Vec<(usize, Layout)> = Vec::with_capacity(200);
    let free_before = super::heap_free();
    for index in 0..200usize {
        let size = 1 + (index * 37) % 3000;
        let align = 1 << (index % 8); // 1 .. 128
        let layout = Layout::from_size_align(size, align).unwrap();
        // SAFETY: a non-zero size; freed below with the same layout.
        let pointer = unsafe { alloc::alloc::alloc(layout) };
        assert!(!pointer.is_null(), "allocating {layout:?}");
        assert!((pointer as usize).is_multiple_of(align), "{pointer:p} is not aligned to {align}");
        // SAFETY: the block is ours and `size` long.
        unsafe { pointer.write_bytes(index as u8, size) };
        live.push((pointer as usize, layout));
    }
    live.sort_unstable_by_key(|(address, _)| *address);
    for pair in live.windows(2) {
        assert!(pair[0].0 + pair[0].1.size() <= pair[1].0, "blocks at {:#x} and {:#x} overlap", pair[0].0, pair[1].0);
    }
    live.sort_unstable_by_key(|(_, layout)| layout.align() * 4096 + layout.size());
    for (address, layout) in &live {
        // SAFETY: allocated above with this layout; every byte was written with one value.
        let bytes = unsafe { core::slice::from_raw_parts(*address as *const u8, layout.size()) };
        assert!(bytes.iter().all(|byte| *byte == bytes[0]), "the block at {address:#x} was overwritten");
        // SAFETY: allocated above with this layout, freed once.
        unsafe { alloc::alloc::dealloc(*address as *mut u8, *layout) };
    }
    assert_eq!(super::heap_free(), free_before, "every block came back");
    // Freed memory is used again.
    let again = vec![0u8; 64 * 1024];
    assert!(super::heap_region().contains(&Region::with_size(again.as_ptr() as usize, again.len())));
}

#[ktest]
fn out_of_memory_is_an_error_not_a_hang() {
    let too_much = super::heap_region().size() + 1;
    let mut vector: Vec<u8> = Vec::new();
    assert!(vector.try_reserve_exact(too_much).is_err(), "{too_much} bytes cannot fit in the heap");
    // The heap still works afterwards.
    assert_eq!(vec![1u8; 4096].iter().map(|b| *b as usize).sum::<usize>(), 4096);
}

#[ktest(should_panic = "memory allocation of")]
fn an_infallible_allocation_that_cannot_fit_panics_with_its_size() {
    let too_much = super::heap_region().size() + 1;
    let vector: Vec<u8> = Vec::with_capacity(core::hint::black_box(too_much));
    core::hint::black_box(vector);
}
