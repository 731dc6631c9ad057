//! An arch's run split over several lanes (QEMU instances at once, each with its own serial
//! log and session) read as one arch's event stream.
//!
//! Every event of every lane passes as it comes, except each lane's `Finished`: the arch's
//! one `Finished` comes with the last lane's, with the boots summed, the longest lane's wall
//! time and the first interruption. Boot numbers are unique across an arch's lanes (the
//! runner counts them for the arch), so nothing else needs telling apart. The live run and
//! `cargo xtask report` of the lane logs go through this same merge.

use crate::events::Event;
use std::time::Duration;

/// The lanes of one arch still running.
#[derive(Clone, Debug)]
pub struct Lanes {
    remaining: usize,
    boots: u32,
    wall_time: Option<Duration>,
    interrupted: Option<i32>,
}

impl Lanes {
    pub fn new(count: usize) -> Lanes {
        Lanes { remaining: count.max(1), boots: 0, wall_time: None, interrupted: None }
    }

    /// The event to pass on for one lane's `event`, if any.
    pub fn pass(&mut self, event: Event) -> Option<Event> {
        let Event::Finished { boots, wall_time, interrupted } = event else { return Some(event) };
        self.boots = self.boots.saturating_add(boots);
        self.wall_time = match (self.wall_time, wall_time) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.interrupted = self.interrupted.or(interrupted);
        self.remaining = self.remaining.saturating_sub(1);
        (self.remaining == 0).then_some(Event::Finished {
            boots: self.boots,
            wall_time: self.wall_time,
            interrupted: self.interrupted,
        })
    }

    /// Whether every lane has finished.
    pub fn done(&self) -> bool {
        self.remaining == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(boots: u32, millis: Option<u64>, interrupted: Option<i32>) -> Event {
        Event::Finished { boots, wall_time: millis.map(Duration::from_millis), interrupted }
    }

    #[test]
    fn one_finished_comes_with_the_last_lane_summing_what_the_lanes_did() {
        let mut lanes = Lanes::new(3);
        let other = Event::Planned { boot: 2, names: vec!["a".into()] };
        assert_eq!(lanes.pass(other.clone()), Some(other), "other events pass as they come");
        assert_eq!(lanes.pass(finished(2, Some(900), None)), None);
        assert_eq!(lanes.pass(finished(1, None, Some(2))), None);
        assert!(!lanes.done());
        assert_eq!(lanes.pass(finished(3, Some(1200), None)), Some(finished(6, Some(1200), Some(2))));
        assert!(lanes.done());
    }

    #[test]
    fn a_single_lane_is_passed_through_unchanged() {
        let mut lanes = Lanes::new(1);
        assert_eq!(lanes.pass(finished(4, Some(5), None)), Some(finished(4, Some(5), None)));
        let mut none_counted = Lanes::new(0);
        assert_eq!(none_counted.pass(finished(1, None, None)), Some(finished(1, None, None)));
    }
}
