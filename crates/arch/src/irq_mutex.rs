//! A spin lock that masks interrupts while it is held: the lock for anything an interrupt
//! handler can take (the console, the UARTs). Without it, an interrupt arriving while the
//! interrupted code holds the lock spins forever in the handler.
//!
//! Interrupts are masked before the lock is taken and the previous state is restored after
//! it is released, so nesting and code that runs with interrupts already masked (the trap
//! handlers) work unchanged.

use core::ops::{Deref, DerefMut};
use spin::{Mutex, MutexGuard};

pub struct IrqMutex<T> {
    inner: Mutex<T>,
}

/// The lock held, with interrupts masked; dropping it unlocks, then restores them.
pub struct IrqMutexGuard<'a, T> {
    // Declared first: dropped (unlocked) before `_interrupts` restores the interrupt state.
    guard: MutexGuard<'a, T>,
    _interrupts: InterruptsMasked,
}

/// Interrupts masked until this is dropped, then put back as they were.
pub struct InterruptsMasked {
    were_enabled: bool,
}

impl InterruptsMasked {
    pub fn new() -> InterruptsMasked {
        InterruptsMasked { were_enabled: super::imp::interrupts_disable() }
    }
}

impl Default for InterruptsMasked {
    fn default() -> Self {
        InterruptsMasked::new()
    }
}

impl Drop for InterruptsMasked {
    fn drop(&mut self) {
        if self.were_enabled {
            super::imp::interrupts_enable();
        }
    }
}

impl<T> IrqMutex<T> {
    pub const fn new(value: T) -> IrqMutex<T> {
        IrqMutex { inner: Mutex::new(value) }
    }

    pub fn lock(&self) -> IrqMutexGuard<'_, T> {
        let interrupts = InterruptsMasked::new();
        IrqMutexGuard { guard: self.inner.lock(), _interrupts: interrupts }
    }

    /// The lock if it is free: for a trap handler, which must not wait for the code it
    /// interrupted.
    pub fn try_lock(&self) -> Option<IrqMutexGuard<'_, T>> {
        let interrupts = InterruptsMasked::new();
        self.inner.try_lock().map(|guard| IrqMutexGuard { guard, _interrupts: interrupts })
    }

    pub fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }

    /// Releases the lock whoever holds it.
    ///
    /// # Safety
    /// Only on the way to ending the boot: the holder never runs again.
    pub unsafe fn force_unlock(&self) {
        // SAFETY: as the caller promises.
        unsafe { self.inner.force_unlock() }
    }
}

impl<T> Deref for IrqMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for IrqMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

/// Whether interrupts are enabled on this CPU now.
pub fn interrupts_enabled() -> bool {
    let were_enabled = super::imp::interrupts_disable();
    if were_enabled {
        super::imp::interrupts_enable();
    }
    were_enabled
}
