//! The console's 16550 UART: the one the device tree's `/chosen/stdout-path` names (else its
//! first 16550), else QEMU virt's.
//!
//! The board's UART serves from the first line of Rust code until the tree is read (a fault
//! in the boot code before then is still printed), and stays if the tree names no 16550,
//! one paging cannot map, or one that does not answer.

use super::devicetree;
use crate::IrqMutex;
use core::num::NonZeroUsize;
use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use fdt::Fdt;
use uart_16550::{Config, Uart16550, backend::MmioBackend};

/// Where a 16550's registers are, and how far apart (`1 << reg-shift` bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Uart {
    pub base: usize,
    pub stride: u8,
}

/// QEMU virt's (hw/riscv/virt.c, `VIRT_UART0`), registers one byte apart.
pub const BOARD: Uart = Uart { base: 0x1000_0000, stride: 1 };
/// The 16550 family's `compatible` (Linux's 8250 binding); QEMU's virt has "ns16550a".
pub const COMPATIBLE: &[&str] = &["ns16550a", "ns16550"];
/// A 16550 has eight registers.
const REGISTERS: usize = 8;

static BASE: AtomicUsize = AtomicUsize::new(BOARD.base);
static STRIDE: AtomicU8 = AtomicU8::new(BOARD.stride);

// SAFETY: the virt board's UART, identity-mapped (paging.rs).
static SERIAL: IrqMutex<Uart16550<MmioBackend>> =
    IrqMutex::new(match unsafe { Uart16550::new_mmio_from_address(NonZeroUsize::new(BOARD.base).unwrap(), 1) } {
        Ok(uart) => uart,
        Err(_) => panic!("the virt UART address is valid"),
    });

/// A handle on `uart`, if its address and stride are valid ones.
///
/// # Safety
/// A 16550 must be at `uart` (identity-mapped), and only the console may use it.
unsafe fn open(uart: Uart) -> Option<Uart16550<MmioBackend>> {
    // SAFETY: the caller vouches for the UART.
    unsafe { Uart16550::new_mmio_from_address(NonZeroUsize::new(uart.base)?, uart.stride).ok() }
}

/// Sets up the board's UART: the console from here on.
pub fn init() {
    // Ignoring a failure: on QEMU the UART is there; without it, output is lost anyway.
    let _ = SERIAL.lock().init(Config::default());
}

/// The 16550 the tree makes the console.
pub fn find(tree: &Fdt<'_>) -> Option<Uart> {
    let node = devicetree::console(tree, COMPATIBLE)?;
    let base = devicetree::registers(node, 0)?.start;
    // uart_16550's MMIO backend reads and writes bytes: a 16550 that wants wider accesses
    // is not one it can drive.
    if node.property("reg-io-width").and_then(|width| width.as_usize()).is_some_and(|width| width != 1) {
        return None;
    }
    let shift = node.property("reg-shift").and_then(|shift| shift.as_usize()).unwrap_or(0);
    let stride = u8::try_from(1usize.checked_shl(u32::try_from(shift).ok()?)?).ok()?;
    Some(Uart { base, stride })
}

/// Moves the console to the tree's 16550, if it is another one, paging maps it and it
/// answers. Once, at boot, on the boot hart alone.
pub fn discover(tree: Option<&Fdt<'_>>) {
    let Some(uart) = tree.and_then(find) else { return };
    if uart == current() || !super::paging::map_device(uart.base..uart.base + REGISTERS * usize::from(uart.stride)) {
        return;
    }
    // SAFETY: the tree says a 16550 is there, now mapped; the console alone uses it.
    let Some(mut serial) = (unsafe { open(uart) }) else { return };
    if serial.init(Config::default()).is_ok() {
        let mut console = SERIAL.lock();
        *console = serial;
        BASE.store(uart.base, Ordering::Relaxed);
        STRIDE.store(uart.stride, Ordering::Relaxed);
    }
}

/// The console's UART.
pub fn current() -> Uart {
    Uart { base: BASE.load(Ordering::Relaxed), stride: STRIDE.load(Ordering::Relaxed) }
}

pub fn write(bytes: &[u8]) {
    SERIAL.lock().send_bytes_exact(bytes);
}

/// `write` for a trap handler: without waiting for the lock if the interrupted code holds it
/// (a second handle on the same UART, byte by byte; the lines may interleave).
pub fn write_from_trap(bytes: &[u8]) {
    match SERIAL.try_lock() {
        Some(mut serial) => serial.send_bytes_exact(bytes),
        // SAFETY: the console's UART, as SERIAL's; the handle keeps no state the UART depends on.
        None => match unsafe { open(current()) } {
            Some(mut serial) => serial.send_bytes_exact(bytes),
            None => unreachable!("the console's UART address is valid"),
        },
    }
}
