//! x86_64: PVH boot on QEMU's `microvm`/`q35`/`pc`, COM1 16550 serial, `isa-debug-exit`,
//! the TSC as the counter, and an IDT for CPU exceptions.

mod pvh;
mod traps;

use crate::{BootInfo, ExitCode};
use core::num::NonZeroU64;
use spin::{Mutex, Once};
use uart_16550::{Config, Uart16550, backend::PioBackend};
use x86_64::instructions::port::Port;

core::arch::global_asm!(include_str!("boot.S"), options(att_syntax));

pub const NAME: &str = "x86_64";

const COM1: u16 = 0x3f8;
/// Where `-device isa-debug-exit,iobase=0xf4,iosize=0x04` listens (see targets/x86_64.toml).
const DEBUG_EXIT_PORT: u16 = 0xf4;
/// Added to the exit code so that the host status `(value << 1) | 1` is never 1, which
/// QEMU itself uses for its own errors: success reaches the host as 65.
const DEBUG_EXIT_BASE: u32 = 0x20;

// SAFETY: COM1 is the standard PC serial port; only the console uses it.
static SERIAL: Mutex<Uart16550<PioBackend>> = Mutex::new(match unsafe { Uart16550::new_port(COM1) } {
    Ok(uart) => uart,
    Err(_) => panic!("COM1 is a valid port"),
});

/// Rust entry from `boot.S`, in long mode on the boot stack.
#[unsafe(no_mangle)]
extern "C" fn x86_64_entry(start_info: u32) -> ! {
    // Ignoring a failure: on QEMU the port is there; without it, output is lost anyway.
    let _ = SERIAL.lock().init(Config::default());
    traps::init();
    // SAFETY: the PVH boot protocol puts a valid start_info at this address, identity-mapped.
    let cmdline = unsafe { pvh::cmdline(start_info as usize) };
    crate::kernel_main(BootInfo { method: "PVH, 64-bit long mode", cmdline })
}

pub fn console_write(bytes: &[u8]) {
    SERIAL.lock().send_bytes_exact(bytes);
}

pub fn exit(code: ExitCode) -> ! {
    // SAFETY: writing the exit device ends QEMU; without the device the write is ignored.
    unsafe { Port::<u32>::new(DEBUG_EXIT_PORT).write(DEBUG_EXIT_BASE | u32::from(code.code())) };
    // Under TCG the exit device takes effect asynchronously: stop here until it does.
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}

pub fn ticks() -> u64 {
    // SAFETY: RDTSC has no side effects; CR4.TSD is clear, so it is allowed at any level.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// The TSC frequency, measured once against the PIT (channel 2, 1.193182 MHz).
pub fn ticks_per_second() -> Option<NonZeroU64> {
    static FREQUENCY: Once<Option<NonZeroU64>> = Once::new();
    *FREQUENCY.call_once(calibrate_tsc)
}

fn calibrate_tsc() -> Option<NonZeroU64> {
    const PIT_HZ: u64 = 1_193_182;
    const COUNT: u16 = 5966; // 5 ms
    let mut control: Port<u8> = Port::new(0x61);
    let mut command: Port<u8> = Port::new(0x43);
    let mut channel2: Port<u8> = Port::new(0x42);
    // SAFETY: the PIT's channel 2 and its gate are unused by anything else in the kernel.
    unsafe {
        let gate = control.read();
        control.write((gate & !0x02) | 0x01); // gate on, speaker off
        command.write(0b1011_0000); // channel 2, low then high byte, mode 0
        channel2.write((COUNT & 0xff) as u8);
        channel2.write((COUNT >> 8) as u8);
        let start = ticks();
        // Mode 0 raises OUT2 (bit 5 of port 0x61) when the count reaches zero; on a machine
        // without a PIT it never does, so give up after far longer than 5 ms of any TSC.
        while control.read() & 0x20 == 0 {
            if ticks() - start > 50_000_000_000 {
                return None;
            }
        }
        let elapsed = ticks() - start;
        NonZeroU64::new(elapsed * PIT_HZ / u64::from(COUNT))
    }
}

pub fn undefined_instruction() -> ! {
    // SAFETY: UD2 raises #UD, which the IDT reports as a fatal fault.
    unsafe { core::arch::asm!("ud2", options(noreturn)) }
}
