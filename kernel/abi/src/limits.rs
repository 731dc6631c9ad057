//! The numbers of a command line at their edges: the largest accepted, the first refused,
//! and what is computed from them.

use crate::cmdline::{ATTEMPT, BOOT, Error, PARTITION, Request};
use crate::partition::{Kind, Partition};

#[test]
fn attempt_and_boot_numbers_take_the_whole_u32_and_refuse_past_it() {
    let request = Request::parse("ktest.attempt=4294967295 ktest.boot=4294967295").unwrap();
    assert_eq!((request.attempt, request.boot), (u32::MAX, u32::MAX));
    assert_eq!(Request::parse("ktest.attempt=4294967296"), Err(Error::BadValue { key: ATTEMPT, value: "4294967296" }));
    assert_eq!(Request::parse("ktest.boot=-1"), Err(Error::BadValue { key: BOOT, value: "-1" }));
}

#[test]
fn the_largest_partition_contains_its_last_slot_and_nothing_overflows() {
    let last = Partition::parse("slice:4294967295/4294967295").unwrap();
    assert_eq!((last.kind, last.index, last.count), (Kind::Slice, u32::MAX, u32::MAX));
    assert!(last.contains(u32::MAX as usize - 1, "t"));
    assert!(!last.contains(usize::MAX, "t"), "usize::MAX % u32::MAX is slot 0");
    let hash = Partition::parse("hash:4294967295/4294967295").unwrap();
    let _ = hash.contains(usize::MAX, "t");
    assert!(Partition::parse("slice:4294967296/4294967296").is_err());
    assert_eq!(
        Request::parse("ktest.partition=slice:0/4294967295"),
        Err(Error::BadValue { key: PARTITION, value: "slice:0/4294967295" })
    );
}
