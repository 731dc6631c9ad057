//! Which tests each boot lane runs: the split of an arch's selected tests over several QEMU
//! instances at once, duration-balanced CI shards (`--partition duration:K/N`) and
//! `--rerun-failed`, all made the same way: from the arch's list of selected tests (a
//! `ktest.list` boot, cached per image), the remembered durations, and longest-first
//! balancing. A lane is told its tests as a set of positions in that list (`ktest.set`),
//! so every boot of the lane, including those that resume after a crash, agrees on them.
//!
//! Without a split, a shard or a rerun an arch runs as one lane with no set and no list
//! boot: exactly as before.

pub mod durations;
pub mod listing;
pub mod lpt;
pub mod rerun;

use crate::runner::{RunOptions, Target};
use anyhow::Result;
use durations::Durations;
use std::collections::BTreeSet;
use std::time::Duration;

/// A lane more is added only if it shortens the arch's longest lane by at least this much: a
/// boot costs about a second under load, and a lane must win back what it costs.
pub const MIN_LANE_WORK: Duration = Duration::from_secs(1);

/// `--partition`: a rule the kernel applies (`slice`, `hash`), or `duration:K/N`, which
/// needs the remembered durations and so is made here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shard {
    Kernel(kernel_abi::partition::Partition),
    Duration { index: u32, count: u32 },
}

impl Shard {
    pub fn parse(text: &str) -> Result<Shard, String> {
        if let Some(fraction) = text.strip_prefix("duration:") {
            // The same numbers, checked by the same rules, as the kernel's kinds.
            let slice = kernel_abi::partition::Partition::parse(&format!("slice:{fraction}"))
                .map_err(|error| error.to_string().replace("`slice:K/N` or `hash:K/N`", EXPECTED))?;
            return Ok(Shard::Duration { index: slice.index, count: slice.count });
        }
        kernel_abi::partition::Partition::parse(text)
            .map(Shard::Kernel)
            .map_err(|error| error.to_string().replace("`slice:K/N` or `hash:K/N`", EXPECTED))
    }

    /// The partition the kernel applies itself, if this is one.
    pub fn kernel(&self) -> Option<kernel_abi::partition::Partition> {
        match self {
            Shard::Kernel(partition) => Some(*partition),
            Shard::Duration { .. } => None,
        }
    }
}

const EXPECTED: &str = "`slice:K/N`, `hash:K/N` or `duration:K/N`";

/// One QEMU instance's share of an arch's tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lane {
    /// `ktest.set`: the positions it runs in the arch's list (None: every selected test).
    pub set: Option<String>,
    /// `ktest.late`: the positions of those that run after the others (None: name order);
    /// see [`staggered`].
    pub late: Option<String>,
    /// How many tests, and how long they are expected to take (None: not listed).
    pub tests: Option<usize>,
    pub estimate: Duration,
}

impl Lane {
    /// The lane of an arch that is not split: every selected test, unlisted.
    pub fn whole() -> Lane {
        Lane { set: None, late: None, tests: None, estimate: Duration::ZERO }
    }
}

/// What the run asks beyond the filters.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub jobs: usize,
    /// `--partition duration:K/N`.
    pub duration_shard: Option<(u32, u32)>,
    /// `--rerun-failed`: per arch, the tests to run (an arch not named runs nothing).
    pub only: Option<std::collections::BTreeMap<String, BTreeSet<String>>>,
    /// Lanes are possible (not with coverage or `--debug-failures`, which follow one boot
    /// at a time).
    pub may_split: bool,
}

/// What `-v` says of an arch's lanes ("riscv64: 14 tests in 4 lanes of about 8.0 s, 8.0 s,
/// 6.0 s, 6.0 s"); None for an arch that runs whole, unlisted.
pub fn describe(arch: &str, lanes: &[Lane]) -> Option<String> {
    let tests: usize = lanes.iter().map(|lane| lane.tests).sum::<Option<usize>>()?;
    let estimates: Vec<String> = lanes.iter().map(|lane| format!("{:.1} s", lane.estimate.as_secs_f64())).collect();
    let count = match lanes.len() {
        1 => "1 lane".to_string(),
        n => format!("{n} lanes"),
    };
    Some(format!("plan: {arch}: {tests} test(s) in {count} of about {}", estimates.join(", ")))
}

/// Each target's lanes, in target order.
pub fn plan(
    targets: &[Target<'_>],
    options: &RunOptions,
    request: &Request,
    durations: &Durations,
    xtask_dir: &std::path::Path,
) -> Result<Vec<Vec<Lane>>> {
    let spare = request.may_split && request.jobs > targets.len();
    let needs_list = spare || request.duration_shard.is_some() || request.only.is_some();
    if !needs_list {
        return Ok(targets.iter().map(|_| vec![Lane::whole()]).collect());
    }
    let lists = listing::lists(targets, options, xtask_dir)?;
    // Each arch's candidates: the listed tests it should run, with their estimates.
    let candidates: Vec<Vec<(usize, u64)>> = targets
        .iter()
        .zip(&lists)
        .map(|(target, listed)| {
            let arch = target.arch.name.as_str();
            let estimates = durations.estimate(arch, listed);
            let chosen: Vec<(usize, u64)> = estimates
                .iter()
                .enumerate()
                .filter(|(position, _)| match &request.only {
                    Some(only) => only.get(arch).is_some_and(|names| names.contains(&listed[*position])),
                    None => true,
                })
                .map(|(position, estimate)| (position, micros(*estimate)))
                .collect();
            take_shard(chosen, request.duration_shard)
        })
        .collect();
    let costs: Vec<Vec<u64>> = candidates.iter().map(|chosen| chosen.iter().map(|(_, cost)| *cost).collect()).collect();
    let lanes = if spare { allocate(request.jobs, &costs) } else { vec![1; targets.len()] };
    Ok(candidates
        .iter()
        .zip(&lists)
        .zip(lanes)
        .map(|((chosen, listed), lanes)| split_arch(chosen, listed.len(), lanes))
        .collect())
}

/// An arch's chosen tests dealt to `lanes` lanes, longest first, their long tests
/// [`staggered`] when there are several.
fn split_arch(chosen: &[(usize, u64)], listed: usize, lanes: usize) -> Vec<Lane> {
    let costs: Vec<u64> = chosen.iter().map(|(_, cost)| *cost).collect();
    let groups: Vec<Vec<usize>> =
        lpt::split(&costs, lanes).into_iter().filter(|group| !group.is_empty() || lanes == 1).collect();
    let several = groups.len() > 1;
    let bitmap = |positions: &mut dyn Iterator<Item = usize>| {
        let mut members = vec![false; listed];
        positions.for_each(|at| members[chosen[at].0] = true);
        let mut bits = String::new();
        kernel_abi::set::encode(members, &mut bits).expect("writing to a String cannot fail");
        bits
    };
    groups
        .iter()
        .enumerate()
        .map(|(index, group)| {
            let late = several.then(|| staggered(group, &costs, index)).flatten();
            Lane {
                set: Some(bitmap(&mut group.iter().copied())),
                late: late.map(|late| bitmap(&mut late.into_iter())),
                tests: Some(group.len()),
                estimate: Duration::from_micros(total(group.iter().map(|&at| costs[at]))),
            }
        })
        .collect()
}

/// Which of lane `index`'s tests (`group`, indices into `costs`) run last, so that lanes
/// sharing the host's cores take turns with their long tests: the even lanes run their long
/// tests (those above the lane's mean) first, the odd ones last. A kernel's long tests mostly
/// wait (a timer, a device), while a run of short ones keeps QEMU busy printing their
/// verdicts; staggered, one lane's waiting overlaps another's printing instead of both
/// lanes competing for the cores at once. On the 10,020-test bench suite (20 tests that
/// sleep 100 ms), two raw QEMU lanes took 2.34 s staggered against 2.95 s side by side.
/// None when no test stands out (every test as long as the mean).
pub fn staggered(group: &[usize], costs: &[u64], index: usize) -> Option<Vec<usize>> {
    let count = u64::try_from(group.len()).ok().filter(|&count| count > 0)?;
    let mean = total(group.iter().map(|&at| costs[at])) / count;
    let long = |at: &usize| costs[*at] > mean;
    if !group.iter().any(long) {
        return None;
    }
    let late_are_long = index % 2 == 1;
    Some(group.iter().copied().filter(|at| long(at) == late_are_long).collect())
}

/// How many lanes each arch gets of `jobs` QEMU instances, from each arch's test costs: one
/// each, then each spare one to the arch whose longest lane is longest, among those where one
/// more lane shortens it (by longest-first balancing) by at least [`MIN_LANE_WORK`], the cost
/// of a boot. A lane never goes to tests that would not pay for it (one long test and a
/// short one stay together).
pub fn allocate(jobs: usize, costs: &[Vec<u64>]) -> Vec<usize> {
    let minimum = micros(MIN_LANE_WORK);
    let longest_lane = |arch: usize, lanes: usize| {
        lpt::loads(&costs[arch], &lpt::split(&costs[arch], lanes)).into_iter().max().unwrap_or(0)
    };
    let mut lanes = vec![1usize; costs.len()];
    // One lane holds everything: no split needed to know how long it is.
    let mut spans: Vec<u64> = costs.iter().map(|costs| total(costs.iter().copied())).collect();
    for _ in costs.len()..jobs {
        let best = (0..costs.len())
            .filter(|&arch| lanes[arch] < costs[arch].len())
            .map(|arch| (arch, longest_lane(arch, lanes[arch] + 1)))
            .filter(|&(arch, next)| spans[arch].saturating_sub(next) >= minimum)
            .max_by_key(|&(arch, _)| (spans[arch], std::cmp::Reverse(arch)));
        match best {
            Some((arch, next)) => {
                lanes[arch] += 1;
                spans[arch] = next;
            }
            None => break,
        }
    }
    lanes
}

/// `--partition duration:K/N`: the chosen tests of shard K (1-based) of N, split by cost.
fn take_shard(chosen: Vec<(usize, u64)>, shard: Option<(u32, u32)>) -> Vec<(usize, u64)> {
    let Some((index, count)) = shard else { return chosen };
    let costs: Vec<u64> = chosen.iter().map(|(_, cost)| *cost).collect();
    // LPT gives each of the first `costs.len()` bins one test before any bin a second, so
    // the shards past that many are empty: they are not made (N = u32::MAX is 4 billion).
    let shards = lpt::split(&costs, (count as usize).min(costs.len().max(1)));
    // `index` is 1..=count when it comes from `Shard::parse`; a shard not made is empty.
    let shard = index.checked_sub(1).and_then(|at| shards.get(at as usize));
    shard.map_or_else(Vec::new, |shard| shard.iter().map(|&at| chosen[at]).collect())
}

/// Summed costs in microseconds. They come from durations.json, which anyone can edit, so
/// the sum saturates instead of overflowing.
fn total(costs: impl Iterator<Item = u64>) -> u64 {
    costs.fold(0, u64::saturating_add)
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spare_jobs_go_where_they_shorten_the_longest_lane_by_more_than_a_boot() {
        let s = 1_000_000;
        let tests = |count: usize, each: u64| vec![each; count];
        // 30 s, 3 s and 0.5 s of tests: the first gets lanes while it is the longest (6 lanes
        // of 5 s); then the second, while a lane saves a second; the last never (half a
        // second in all would not pay for a boot), and no lane goes where it saves nothing.
        let work = [tests(30, s), tests(3, s), tests(10, s / 20)];
        assert_eq!(allocate(8, &work), vec![6, 1, 1]);
        assert_eq!(allocate(9, &work), vec![6, 2, 1]);
        assert_eq!(allocate(10, &work), vec![6, 3, 1]);
        assert_eq!(allocate(16, &work), vec![6, 3, 1], "a 7th lane of the first saves nothing");
        assert_eq!(allocate(2, &work), vec![1, 1, 1], "no spare job");
        assert_eq!(allocate(6, &[tests(3, 30 * s)]), vec![3], "never more lanes than tests");
        // One long test and a short one: a second lane would save a millisecond.
        assert_eq!(allocate(2, &[vec![3 * s, 1000]]), vec![1]);
        assert_eq!(allocate(4, &[Vec::new()]), vec![1], "an arch with nothing selected");
    }

    #[test]
    fn verbose_output_describes_split_arches_only() {
        let lane = |tests, ms| Lane {
            set: Some("A".into()),
            late: None,
            tests: Some(tests),
            estimate: Duration::from_millis(ms),
        };
        assert_eq!(
            describe("riscv64", &[lane(3, 8000), lane(4, 6000)]).unwrap(),
            "plan: riscv64: 7 test(s) in 2 lanes of about 8.0 s, 6.0 s"
        );
        assert_eq!(describe("x86_64", &[Lane::whole()]), None);
    }

    #[test]
    fn the_largest_costs_saturate_their_sums_and_every_shard_number_is_safe() {
        let max = u64::MAX;
        assert_eq!(total([max, max, 1].into_iter()), max);
        let lanes = split_arch(&[(0, max), (1, max), (2, max)], 3, 2);
        assert_eq!(lanes.iter().map(|lane| lane.estimate).max(), Some(Duration::from_micros(max)));
        let chosen = vec![(0, max), (1, max), (2, 1)];
        assert_eq!(take_shard(chosen.clone(), Some((2, 2))), [(1, max)]);
        assert_eq!(take_shard(chosen.clone(), Some((0, 2))), [], "no shard 0");
        assert_eq!(take_shard(chosen.clone(), Some((u32::MAX, u32::MAX))), []);
        assert_eq!(take_shard(chosen.clone(), Some((1, u32::MAX))), [(0, max)], "one test a shard");
        assert_eq!(take_shard(chosen.clone(), Some((3, u32::MAX))), [(2, 1)]);
        assert_eq!(take_shard(chosen.clone(), Some((3, 2))), [], "past the last shard");
        // Sums saturate: no lane can be seen to shorten anything, and nothing overflows.
        assert_eq!(allocate(4, &[vec![max; 5], vec![max; 5]]), vec![1, 1]);
    }

    #[test]
    fn a_lane_set_names_exactly_its_positions() {
        // Positions 0..6 of 8 listed, costs making LPT put 0 alone and the rest together.
        let chosen = [(0, 100), (1, 20), (2, 20), (3, 20), (5, 20), (6, 20)];
        let lanes = split_arch(&chosen, 8, 2);
        assert_eq!(lanes.len(), 2);
        let members = |lane: &Lane| {
            let set = kernel_abi::set::TestSet::parse(lane.set.as_deref().unwrap()).unwrap();
            (0..8).filter(|&p| set.contains(p)).collect::<Vec<_>>()
        };
        assert_eq!(members(&lanes[0]), [0]);
        assert_eq!(members(&lanes[1]), [1, 2, 3, 5, 6]);
        assert_eq!(lanes[1].estimate, Duration::from_micros(100));
        assert_eq!(lanes[0].tests, Some(1));
        // Lane 2's tests all cost the same: name order. Lane 1 has one test: nothing to move.
        assert_eq!((lanes[0].late.as_deref(), lanes[1].late.as_deref()), (None, None));
    }

    #[test]
    fn lanes_take_turns_with_their_long_tests() {
        // Two lanes of 2 long (100) and 3 short (1) tests each, at listed positions 0..10.
        let chosen: Vec<(usize, u64)> = (0..10).map(|at| (at, if at < 4 { 100 } else { 1 })).collect();
        let lanes = split_arch(&chosen, 10, 2);
        let positions = |bits: &Option<String>| {
            let set = kernel_abi::set::TestSet::parse(bits.as_deref().unwrap()).unwrap();
            (0..10).filter(|&p| set.contains(p)).collect::<Vec<_>>()
        };
        let (first, second) = (positions(&lanes[0].set), positions(&lanes[1].set));
        assert_eq!(first.iter().filter(|&&at| at < 4).count(), 2, "{first:?}");
        // The first lane runs its short tests late (its long ones first); the second its long.
        let short = |lane: &[usize]| lane.iter().copied().filter(|&at| at >= 4).collect::<Vec<_>>();
        let long = |lane: &[usize]| lane.iter().copied().filter(|&at| at < 4).collect::<Vec<_>>();
        assert_eq!(positions(&lanes[0].late), short(&first));
        assert_eq!(positions(&lanes[1].late), long(&second));
        assert_eq!(staggered(&[0, 1], &[5, 5], 1), None, "no test stands out");
        assert_eq!(staggered(&[], &[], 0), None);
        assert_eq!(staggered(&[0, 1, 2], &[9, 1, 1], 0), Some(vec![1, 2]));
        assert_eq!(staggered(&[0, 1, 2], &[9, 1, 1], 3), Some(vec![0]));
    }

    #[test]
    fn nothing_chosen_is_one_empty_lane_and_more_lanes_than_tests_drops_the_empty() {
        let lanes = split_arch(&[], 4, 1);
        assert_eq!(
            lanes,
            vec![Lane { set: Some(String::new()), late: None, tests: Some(0), estimate: Duration::ZERO }]
        );
        assert_eq!(split_arch(&[(2, 5)], 4, 3).len(), 1);
    }

    #[test]
    fn shards_parse_all_three_kinds_and_name_them_in_errors() {
        assert_eq!(Shard::parse("duration:2/4"), Ok(Shard::Duration { index: 2, count: 4 }));
        assert!(matches!(Shard::parse("hash:1/2"), Ok(Shard::Kernel(_))));
        let error = Shard::parse("durations:1/2").unwrap_err();
        assert!(error.contains("`duration:K/N`"), "{error}");
        assert_eq!(Shard::parse("duration:3/2").unwrap_err(), "K must be between 1 and N");
        assert_eq!(Shard::parse("duration:1/0").unwrap_err(), "N must be at least 1");
    }
}
