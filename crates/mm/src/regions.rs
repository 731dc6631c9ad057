//! Physical memory as a sorted set of disjoint address ranges, with a fixed capacity (the
//! kernel builds it before it has a heap). Host-tested.

use core::fmt;

pub const PAGE_SIZE: usize = 4096;

/// `[start, end)` of physical memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Region {
    pub start: usize,
    pub end: usize,
}

impl Region {
    pub const fn new(start: usize, end: usize) -> Region {
        Region { start, end }
    }

    pub fn with_size(start: usize, size: usize) -> Region {
        Region { start, end: start.saturating_add(size) }
    }

    pub fn size(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    pub fn overlaps(&self, other: &Region) -> bool {
        self.start < other.end && other.start < self.end
    }

    pub fn contains(&self, other: &Region) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// The whole pages inside this region.
    pub fn page_aligned(&self) -> Region {
        let start = self.start.div_ceil(PAGE_SIZE) * PAGE_SIZE;
        let end = self.end / PAGE_SIZE * PAGE_SIZE;
        Region { start, end: end.max(start) }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{:#x}, {:#x})", self.start, self.end)
    }
}

/// Up to `N` disjoint regions, sorted by address; adjacent or overlapping ones merge.
#[derive(Clone, Copy, Debug)]
pub struct Regions<const N: usize> {
    items: [Region; N],
    len: usize,
    /// Bytes that did not fit (more than `N` pieces): never lost silently.
    pub dropped: usize,
}

impl<const N: usize> Default for Regions<N> {
    fn default() -> Self {
        Regions { items: [Region::default(); N], len: 0, dropped: 0 }
    }
}

impl<const N: usize> Regions<N> {
    pub fn iter(&self) -> impl Iterator<Item = &Region> {
        self.items[..self.len].iter()
    }

    pub fn total(&self) -> usize {
        self.iter().map(Region::size).sum()
    }

    pub fn overlaps(&self, region: &Region) -> bool {
        self.iter().any(|item| item.overlaps(region))
    }

    /// Adds `region`, merging it with any region it touches.
    pub fn add(&mut self, region: Region) {
        if region.is_empty() {
            return;
        }
        let mut merged = region;
        let mut kept = [Region::default(); N];
        let mut count = 0;
        for item in self.iter() {
            if item.end < merged.start || merged.end < item.start {
                kept[count] = *item;
                count += 1;
            } else {
                merged = Region::new(merged.start.min(item.start), merged.end.max(item.end));
            }
        }
        self.items = kept;
        self.len = count;
        self.insert_sorted(merged);
    }

    /// Removes `region` from every region it overlaps (splitting one if it lies inside).
    pub fn remove(&mut self, region: Region) {
        if region.is_empty() {
            return;
        }
        let old = *self;
        self.len = 0;
        for item in old.iter() {
            if !item.overlaps(&region) {
                self.insert_sorted(*item);
                continue;
            }
            self.insert_sorted(Region::new(item.start, region.start.max(item.start).min(item.end)));
            self.insert_sorted(Region::new(region.end.min(item.end).max(item.start), item.end));
        }
    }

    fn insert_sorted(&mut self, region: Region) {
        if region.is_empty() {
            return;
        }
        if self.len == N {
            self.dropped += region.size();
            return;
        }
        let at = self.items[..self.len].iter().position(|item| item.start > region.start).unwrap_or(self.len);
        self.items.copy_within(at..self.len, at + 1);
        self.items[at] = region;
        self.len += 1;
    }
}

#[cfg(all(test, not(target_os = "none")))]
mod tests {
    use super::*;

    fn list<const N: usize>(regions: &Regions<N>) -> Vec<(usize, usize)> {
        regions.iter().map(|region| (region.start, region.end)).collect()
    }

    #[test]
    fn adding_merges_touching_and_overlapping_regions_and_keeps_order() {
        let mut regions = Regions::<8>::default();
        regions.add(Region::new(0x3000, 0x4000));
        regions.add(Region::new(0x1000, 0x2000));
        regions.add(Region::new(0x2000, 0x2800)); // touches the first
        regions.add(Region::new(0x3800, 0x5000)); // overlaps the last
        assert_eq!(list(&regions), [(0x1000, 0x2800), (0x3000, 0x5000)]);
        regions.add(Region::new(0x0, 0x10000)); // swallows everything
        assert_eq!(list(&regions), [(0x0, 0x10000)]);
    }

    #[test]
    fn removing_cuts_edges_and_splits_inner_ranges() {
        let cases: [(Region, &[(usize, usize)]); 5] = [
            (Region::new(0x0, 0x1000), &[(0x1000, 0x8000)]),
            (Region::new(0x7000, 0x9000), &[(0x0, 0x7000)]),
            (Region::new(0x2000, 0x3000), &[(0x0, 0x2000), (0x3000, 0x8000)]),
            (Region::new(0x0, 0x8000), &[]),
            (Region::new(0x9000, 0xa000), &[(0x0, 0x8000)]),
        ];
        for (removed, expected) in cases {
            let mut regions = Regions::<4>::default();
            regions.add(Region::new(0x0, 0x8000));
            regions.remove(removed);
            assert_eq!(list(&regions), expected, "removing {removed}");
        }
    }

    #[test]
    fn pieces_beyond_the_capacity_are_counted_not_lost_silently() {
        let mut regions = Regions::<2>::default();
        regions.add(Region::new(0x0, 0x1000));
        regions.add(Region::new(0x2000, 0x3000));
        regions.add(Region::new(0x4000, 0x5000));
        assert_eq!(regions.iter().count(), 2);
        assert_eq!(regions.dropped, 0x1000);
    }

    #[test]
    fn page_alignment_keeps_whole_pages_only() {
        assert_eq!(Region::new(0x1001, 0x3fff).page_aligned(), Region::new(0x2000, 0x3000));
        assert!(Region::new(0x1001, 0x1fff).page_aligned().is_empty());
    }
}
