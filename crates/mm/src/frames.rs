//! The physical frame allocator: a bitmap of 4 KiB frames over the usable memory, one bit
//! per frame (set: in use). Frees are checked: a frame freed twice, or never handed out, is
//! a kernel bug and panics. Host-tested.

use super::regions::{PAGE_SIZE, Region, Regions};

/// A physical frame's start address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Frame(pub usize);

pub struct FrameAllocator<'b> {
    /// The address of the bitmap's first frame.
    base: usize,
    bitmap: &'b mut [u64],
    frames: usize,
    free: usize,
    /// Where the next search starts (a rotor keeps allocation O(1) on average).
    next: usize,
}

impl<'b> FrameAllocator<'b> {
    /// Manages the whole pages of `usable`, as far as `bitmap` reaches from the lowest one.
    pub fn new<const N: usize>(usable: &Regions<N>, bitmap: &'b mut [u64]) -> FrameAllocator<'b> {
        bitmap.fill(u64::MAX);
        let base = usable.iter().next().map_or(0, |region| region.page_aligned().start);
        let frames = bitmap.len() * 64;
        let mut allocator = FrameAllocator { base, bitmap, frames, free: 0, next: 0 };
        for region in usable.iter() {
            let region = region.page_aligned();
            let mut address = region.start;
            while address < region.end {
                if let Some(index) = allocator.index(address) {
                    allocator.set(index, false);
                    allocator.free += 1;
                }
                address += PAGE_SIZE;
            }
        }
        allocator
    }

    fn index(&self, address: usize) -> Option<usize> {
        let index = address.checked_sub(self.base)? / PAGE_SIZE;
        (index < self.frames).then_some(index)
    }

    fn is_used(&self, index: usize) -> bool {
        self.bitmap[index / 64] & (1 << (index % 64)) != 0
    }

    fn set(&mut self, index: usize, used: bool) {
        if used {
            self.bitmap[index / 64] |= 1 << (index % 64);
        } else {
            self.bitmap[index / 64] &= !(1 << (index % 64));
        }
    }

    pub fn free_frames(&self) -> usize {
        self.free
    }

    /// One free frame.
    pub fn allocate(&mut self) -> Option<Frame> {
        self.allocate_contiguous(1).map(|region| Frame(region.start))
    }

    /// `count` physically contiguous free frames.
    pub fn allocate_contiguous(&mut self, count: usize) -> Option<Region> {
        if count == 0 || count > self.free {
            return None;
        }
        let next = self.next.min(self.frames);
        // First from the rotor to the end, then from the start up to the last index a run
        // that begins before the rotor can end at: a run that crosses the rotor is found in
        // the second pass (stopping that pass at the rotor itself misses it).
        for (from, to) in [(next, self.frames), (0, (next + count - 1).min(self.frames))] {
            let mut run_start = from;
            let mut index = from;
            while index < to {
                // Skip a whole word of used frames at once.
                if index.is_multiple_of(64) && self.bitmap[index / 64] == u64::MAX {
                    index += 64;
                    run_start = index;
                    continue;
                }
                if self.is_used(index) {
                    run_start = index + 1;
                } else if index + 1 - run_start == count {
                    for taken in run_start..=index {
                        self.set(taken, true);
                    }
                    self.free -= count;
                    self.next = index + 1;
                    let start = self.base + run_start * PAGE_SIZE;
                    return Some(Region::with_size(start, count * PAGE_SIZE));
                }
                index += 1;
            }
        }
        None
    }

    /// Returns a frame. Panics if it was not handed out (a double free, say).
    pub fn deallocate(&mut self, frame: Frame) {
        let index = self.index(frame.0).filter(|_| frame.0.is_multiple_of(PAGE_SIZE));
        let Some(index) = index.filter(|index| self.is_used(*index)) else {
            panic!("frame {:#x} freed but not allocated (double free?)", frame.0);
        };
        self.set(index, false);
        self.free += 1;
    }
}

#[cfg(all(test, not(target_os = "none")))]
mod tests {
    use super::*;

    fn usable(pieces: &[(usize, usize)]) -> Regions<8> {
        let mut regions = Regions::default();
        for (start, end) in pieces {
            regions.add(Region::new(*start, *end));
        }
        regions
    }

    #[test]
    fn hands_out_only_usable_frames_each_once() {
        let mut bitmap = [0u64; 4];
        let usable = usable(&[(0x10_0000, 0x10_4000), (0x10_8000, 0x10_a000)]);
        let mut allocator = FrameAllocator::new(&usable, &mut bitmap);
        assert_eq!(allocator.free_frames(), 6);
        let mut seen: Vec<usize> = (0..6).map(|_| allocator.allocate().unwrap().0).collect();
        assert!(allocator.allocate().is_none(), "only six frames exist");
        seen.sort();
        assert_eq!(seen, [0x10_0000, 0x10_1000, 0x10_2000, 0x10_3000, 0x10_8000, 0x10_9000]);
    }

    #[test]
    fn freed_frames_come_back_and_double_frees_panic() {
        let mut bitmap = [0u64; 1];
        let usable = usable(&[(0x0, 0x4000)]);
        let mut allocator = FrameAllocator::new(&usable, &mut bitmap);
        let frame = allocator.allocate().unwrap();
        allocator.deallocate(frame);
        assert_eq!(allocator.free_frames(), 4);
        let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| allocator.deallocate(frame)));
        assert!(again.is_err(), "a double free panics");
    }

    #[test]
    fn contiguous_runs_skip_holes() {
        let mut bitmap = [0u64; 2];
        // Two frames, a hole, then four frames.
        let usable = usable(&[(0x0, 0x2000), (0x3000, 0x7000)]);
        let mut allocator = FrameAllocator::new(&usable, &mut bitmap);
        assert_eq!(allocator.allocate_contiguous(3), Some(Region::new(0x3000, 0x6000)));
        assert_eq!(allocator.allocate_contiguous(2), Some(Region::new(0x0, 0x2000)));
        assert_eq!(allocator.allocate_contiguous(2), None, "one frame is left");
        assert_eq!(allocator.allocate(), Some(Frame(0x6000)));
    }

    #[test]
    fn a_free_run_that_crosses_the_rotor_is_found() {
        let mut bitmap = [0u64; 1];
        let usable = usable(&[(0x0, 0x4000)]);
        let mut allocator = FrameAllocator::new(&usable, &mut bitmap);
        let frames: Vec<Frame> = (0..3).map(|_| allocator.allocate().unwrap()).collect();
        allocator.deallocate(frames[1]);
        allocator.deallocate(frames[2]);
        // Frames 1, 2 and 3 are free and the rotor is at 3: the only run of three starts
        // before the rotor and ends after it.
        assert_eq!(allocator.allocate_contiguous(3), Some(Region::new(0x1000, 0x4000)));
    }

    /// One step of a random sequence: allocate `count` contiguous frames, or free the
    /// allocated frame at (`index` modulo how many there are).
    #[derive(Clone, Debug)]
    enum Step {
        Allocate { count: usize },
        Free { index: usize },
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        prop_oneof![
            (1usize..6).prop_map(|count| Step::Allocate { count }),
            any::<usize>().prop_map(|index| Step::Free { index }),
        ]
    }

    /// The model: the set of free frame indices. A request for `count` frames can be met
    /// exactly when some `count` consecutive indices are all in it.
    fn model_has_run(free: &std::collections::BTreeSet<usize>, count: usize) -> bool {
        free.iter().any(|&start| (start..start + count).all(|index| free.contains(&index)))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Random allocate/free sequences over a random map of usable pieces (with holes)
        /// agree with the model: an allocation succeeds exactly when a free run exists, hands
        /// out only free usable frames, and the free count matches.
        #[test]
        fn allocator_agrees_with_a_set_of_free_frames(
            pieces in proptest::collection::vec((0usize..120, 1usize..12), 1..6),
            steps in proptest::collection::vec(step(), 1..200),
        ) {
            use std::collections::BTreeSet;
            let mut regions = Regions::<8>::default();
            for (start, length) in &pieces {
                let end = (start + length).min(128);
                regions.add(Region::new(start * PAGE_SIZE, end * PAGE_SIZE));
            }
            let base = regions.iter().next().map_or(0, |region| region.start) / PAGE_SIZE;
            let mut free: BTreeSet<usize> = regions
                .iter()
                .flat_map(|region| region.start / PAGE_SIZE..region.end / PAGE_SIZE)
                .filter(|frame| frame - base < 128)
                .collect();
            let mut bitmap = [0u64; 2];
            let mut allocator = FrameAllocator::new(&regions, &mut bitmap);
            let mut allocated: Vec<usize> = Vec::new();
            proptest::prop_assert_eq!(allocator.free_frames(), free.len());
            for step in steps {
                match step {
                    Step::Allocate { count } => {
                        let expected = model_has_run(&free, count);
                        let got = allocator.allocate_contiguous(count);
                        proptest::prop_assert_eq!(got.is_some(), expected, "{} frames from {:?}", count, free);
                        if let Some(region) = got {
                            proptest::prop_assert_eq!(region.end - region.start, count * PAGE_SIZE);
                            for frame in region.start / PAGE_SIZE..region.end / PAGE_SIZE {
                                proptest::prop_assert!(free.remove(&frame), "frame {} was not free", frame);
                                allocated.push(frame);
                            }
                        }
                    }
                    Step::Free { index } if !allocated.is_empty() => {
                        let frame = allocated.swap_remove(index % allocated.len());
                        allocator.deallocate(Frame(frame * PAGE_SIZE));
                        free.insert(frame);
                    }
                    Step::Free { .. } => {}
                }
                proptest::prop_assert_eq!(allocator.free_frames(), free.len());
            }
        }
    }
}
