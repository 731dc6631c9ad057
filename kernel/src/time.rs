//! Waiting for a while on the arch's counter (`arch::ticks()`): by spinning, which keeps the
//! CPU busy and interrupts as they are, or by sleeping (`arch::sleep_until`), which leaves the
//! CPU idle until its timer wakes it. Tests and the generated benchmark tests share these.

/// The counter's value `ms` milliseconds from now.
pub fn deadline_after_ms(ms: u64) -> u64 {
    let per_second = arch::ticks_per_second().expect("the counter frequency is known").get();
    arch::ticks() + per_second * ms / 1000
}

/// Spins for `ms` milliseconds: the CPU stays busy (what a test that counts interrupts
/// arriving meanwhile, or holds a lock for a while, wants).
pub fn spin_ms(ms: u64) {
    let until = deadline_after_ms(ms);
    while arch::ticks() < until {
        core::hint::spin_loop();
    }
}

/// Sleeps for `ms` milliseconds: the CPU waits for its timer; returns how many times it woke
/// on the way (see `arch::sleep_until`).
pub fn sleep_ms(ms: u64) -> u64 {
    arch::sleep_until(deadline_after_ms(ms))
}
