//! Longest processing time first: items dealt to bins, the longest first, each to the bin
//! with the least work so far. Within 4/3 of the best split (Graham, 1969), and far closer
//! when there are many small items, as a test suite has.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Splits `costs` (one per item) into `bins` groups of item indices whose summed costs are
/// as even as LPT makes them. Each group is in index order; ties go to the lower bin, so the
/// same input always gives the same split.
pub fn split(costs: &[u64], bins: usize) -> Vec<Vec<usize>> {
    let bins = bins.max(1);
    let mut order: Vec<usize> = (0..costs.len()).collect();
    // Longest first; equal costs in index order (a stable sort keeps it).
    order.sort_by_key(|&index| Reverse(costs[index]));
    let mut bin_of = vec![0; costs.len()];
    let mut loads: BinaryHeap<Reverse<(u64, usize)>> = (0..bins).map(|bin| Reverse((0, bin))).collect();
    for index in order {
        let Reverse((load, bin)) = loads.pop().expect("there is at least one bin");
        bin_of[index] = bin;
        loads.push(Reverse((load.saturating_add(costs[index]), bin)));
    }
    // Each group in index order, dealt from the items in order (not sorted afterwards).
    let mut groups = vec![Vec::new(); bins];
    for (index, &bin) in bin_of.iter().enumerate() {
        groups[bin].push(index);
    }
    groups
}

/// The summed cost of each group.
pub fn loads(costs: &[u64], groups: &[Vec<usize>]) -> Vec<u64> {
    groups.iter().map(|group| group.iter().map(|&index| costs[index]).fold(0u64, u64::saturating_add)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_textbook_case_and_its_bound() {
        // Graham's example: LPT gives 11 where the best is 9 (7+2, 6+3, 5+4): within 4/3.
        let costs = [7, 6, 5, 4, 3, 2];
        let groups = split(&costs, 3);
        let loads = loads(&costs, &groups);
        assert_eq!(loads.iter().sum::<u64>(), 27);
        assert!(*loads.iter().max().unwrap() <= 12, "{loads:?}");
    }

    #[test]
    fn a_few_slow_tests_among_many_quick_ones_are_spread_evenly() {
        // 10,000 tests of 1 ms and 20 of 100 ms, into 4: every bin within 1% of the mean.
        let mut costs = vec![1_000u64; 10_000];
        costs.extend([100_000; 20]);
        let loads = loads(&costs, &split(&costs, 4));
        let (min, max) = (*loads.iter().min().unwrap(), *loads.iter().max().unwrap());
        assert!(max - min <= max / 100, "{loads:?}");
    }

    #[test]
    fn more_bins_than_items_leaves_bins_empty_and_zero_bins_means_one() {
        assert_eq!(split(&[5, 1], 4), vec![vec![0], vec![1], vec![], vec![]]);
        assert_eq!(split(&[5, 1], 0), vec![vec![0, 1]]);
        assert_eq!(split(&[], 2), vec![Vec::<usize>::new(), vec![]]);
    }

    proptest! {
        /// Every item in exactly one bin, and no bin more than the largest item above the
        /// mean (LPT's own guarantee, whatever the input).
        #[test]
        fn a_partition_with_lpts_bound(costs in prop::collection::vec(0u64..1_000_000, 0..200), bins in 1usize..9) {
            let groups = split(&costs, bins);
            let mut seen: Vec<usize> = groups.iter().flatten().copied().collect();
            seen.sort_unstable();
            prop_assert_eq!(seen, (0..costs.len()).collect::<Vec<_>>());
            let loads = loads(&costs, &groups);
            let mean = costs.iter().sum::<u64>() / bins as u64;
            let largest = costs.iter().copied().max().unwrap_or(0);
            prop_assert!(loads.iter().all(|&load| load <= mean + largest), "{:?}", loads);
        }
    }
}
