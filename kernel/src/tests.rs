//! Kernel tests of the arch-independent basics: formatting, the heap, and the runner's own
//! options (`should_panic`, `ignore`, `arch`). Arch-specific tests live under `arch/`.

use crate::ktest::ktest;
use alloc::{boxed::Box, format, string::String, vec, vec::Vec};

#[ktest]
fn fmt_integers() {
    assert_eq!(format!("{} {:#x} {:08b} {:+}", 42, 255, 5u8, 7), "42 0xff 00000101 +7");
    assert_eq!(format!("{}", u64::MAX), "18446744073709551615");
    assert_eq!(format!("{}", i64::MIN), "-9223372036854775808");
}

#[ktest]
fn fmt_padding_and_debug() {
    assert_eq!(format!("[{:>6}|{:<4}|{:^7}]", "ab", 1, "mid"), "[    ab|1   |  mid  ]");
    assert_eq!(format!("{:?}", (1, "two", Some('3'))), "(1, \"two\", Some('3'))");
}

#[ktest]
fn heap_vec_grows_and_keeps_contents() {
    let mut numbers = Vec::new();
    for index in 0..10_000u32 {
        numbers.push(index.wrapping_mul(2_654_435_761));
    }
    assert_eq!(numbers.len(), 10_000);
    assert!(numbers.iter().enumerate().all(|(index, value)| *value == (index as u32).wrapping_mul(2_654_435_761)));
}

#[ktest]
fn heap_box_and_string() {
    let boxed = Box::new([7u64; 64]);
    assert!(boxed.iter().all(|value| *value == 7));
    let mut text = String::from("kernel");
    text.push_str(" heap");
    assert_eq!(text, "kernel heap");
}

#[ktest]
fn heap_large_allocation_is_usable_and_returned() {
    let free_before = crate::heap::free();
    let size = 2 * 1024 * 1024;
    let mut block = vec![0u8; size];
    block[0] = 1;
    block[size - 1] = 2;
    assert_eq!((block[0], block[size - 1]), (1, 2));
    assert!(crate::heap::free() <= free_before - size);
    drop(block);
    assert_eq!(crate::heap::free(), free_before);
}

#[ktest(should_panic = "index out of bounds")]
fn should_panic_out_of_bounds_index() {
    let numbers = vec![1, 2, 3];
    let index = numbers.len() + core::hint::black_box(1);
    let _ = numbers[index];
}

#[ktest(ignore = "shows how an ignored test is reported")]
fn ignored_example() {
    panic!("an ignored test must never run");
}
