//! The arch layer: boot code, traps, timer, console, exit and paging for x86_64, aarch64
//! and riscv64 under QEMU, behind one list of items every architecture provides. A kernel
//! on top of it registers its entry and its trap hooks with [`entry!`]; this crate imports
//! nothing of the kernel above it.
//!
//! # The arch contract
//!
//! Every architecture's module provides exactly these (re-exported below); nothing else
//! from it is used outside this crate:
//!
//! | item | what it is |
//! |---|---|
//! | `NAME` | the arch's name as the harness knows it (`targets/<arch>.toml`) |
//! | boot code (`boot.S`, `<arch>_entry`) | from the loader to the kernel's entry with a [`BootInfo`] (how it booted, the command line, the memory map) |
//! | `console_write(bytes)` | write bytes to the boot serial console (its lock masks interrupts) |
//! | `console_write_from_trap(bytes)` | the same from a trap handler: never waits for a lock the interrupted code holds |
//! | `interrupts_disable() -> bool` / `interrupts_enable()` | mask / unmask interrupts (disable says whether they were on); [`IrqMutex`] is built on them |
//! | `exit(code) -> !` | end the boot, carrying `code` to the host (semihosting, isa-debug-exit) |
//! | `ticks()` / `ticks_per_second()` | the free-running counter and its frequency, if known |
//! | `wait_for_interrupt()` | called with interrupts masked: wait until one is pending, let its handler take it, mask again (behind [`sleep_until`]) |
//! | `breakpoint()` | execute a breakpoint instruction; the trap handler reports it and returns |
//! | `timer` (module) | one interrupt at a deadline on the `ticks()` counter: `enable()` (the interrupt controller and timer, once per CPU), `arm(deadline)`, `disarm()`; its interrupt handed to `timer::interrupt(frame)` in `timer.rs`, which shares the timer between [`timer_start`]/[`timer_stop`] (periodic ticks reported to [`Kernel::timer_tick`]), [`debugger_poll_start`] (reported to [`Kernel::debugger_poll`]) and [`sleep_until`] (one wake-up) |
//! | `frame_pointer()` / `frame_record(fp, stack)` | the frame-record layout, for backtraces |
//! | `undefined_instruction() -> !` | execute an undefined instruction (for the self-tests) |
//! | `triple_fault() -> !` | x86_64 only: reset through a triple fault (for the self-tests) |
//! | `RecoverySlot`, `recover.rs` | "run with recovery": the state that [`call_with_recovery`] saves (callee-saved registers, stack pointer, interrupt state) and [`abandon`] restores, and the two assembly symbols behind them (`arch_call_with_recovery`, `arch_abandon`); on the caller's stack, so x86_64's guard page still catches an overflow |
//! | `TrapFrame` | the interrupted state a trap saved (all general registers, pc, flags) |
//! | `smp` (module) | `local()` (this CPU's `CpuLocal`, through `tp`, TPIDRRO_EL0 or the GS base) and `start(local)` (PSCI, SBI HSM, INIT-SIPI-SIPI), behind [`cpu_count`], [`cpu_id`], [`start_cpu`] and [`current_stack`] in `smp.rs` |
//! | `gdb` (module, `gdbstub` feature) | what a GDB stub needs: `Arch`/`Registers` (gdbstub_arch), `read_registers`/`write_registers`/`set_pc` on a `TrapFrame`, `breakpoint_instruction(kind)`, `HARDWARE_SINGLE_STEP`/`set_single_step`, `instructions_changed`, `inaccessible()`, `writable_alias(address)` (where to write code that is mapped read-execute), and the `Port` |
//!
//! plus, the same on every arch: [`boot_stack`], [`Fault`], [`Signal`], [`BootInfo`], and
//! [`IrqMutex`] (a spin lock that masks interrupts while held: for every lock an interrupt
//! handler can take).
//!
//! Its trap handlers call the kernel only through [`Kernel`]: `fault` for what cannot be
//! returned from, `breakpoint_returned` and `timer_tick` for what can, and the debugger
//! hooks (`debugger_breakpoint`, `debugger_stop`, `debugger_step_done`, `debugger_poll`,
//! `exiting`).
//!
//! # Linking
//!
//! A kernel links with `linker-scripts/<arch>.ld` (load address, entry, `.ktest_array`,
//! `.bss` bounds for the boot code). This crate tells a dependent's build script where they
//! are, as `DEP_ARCH_LINKER_SCRIPTS`; the kernel's `build.rs` passes `-T<dir>/<arch>.ld`.

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(all(target_os = "none", target_arch = "x86_64"), feature(abi_x86_interrupt))]

// The arch layer exists only on the kernel's bare-metal targets; on the host (`cargo test
// --workspace`, clippy) the crate is empty.
#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(all(target_os = "none", feature = "ktest", any(target_arch = "aarch64", target_arch = "riscv64")))]
mod fp_tests;
#[cfg(all(target_os = "none", any(target_arch = "aarch64", target_arch = "riscv64")))]
mod image;
#[cfg(target_os = "none")]
mod irq_mutex;
#[cfg(target_os = "none")]
mod kernel;
#[cfg(target_os = "none")]
mod recovery;
mod signal;
#[cfg(target_os = "none")]
mod smp;
#[cfg(all(target_os = "none", feature = "ktest"))]
mod tests;
#[cfg(target_os = "none")]
mod timer;

#[cfg(target_os = "none")]
pub use irq_mutex::{InterruptsMasked, IrqMutex, IrqMutexGuard, interrupts_enabled};
#[cfg(target_os = "none")]
pub use kernel::Kernel;
pub use kernel_abi::ExitCode;
#[cfg(target_os = "none")]
pub use recovery::{abandon, call_with_recovery};
pub use signal::Signal;
#[cfg(target_os = "none")]
pub use smp::{MAX_CPUS, StartError, cpu_count, cpu_id, current_stack, start_cpu};
#[cfg(target_os = "none")]
pub use timer::{debugger_poll_start, debugger_poll_stop, sleep_until, timer_start, timer_stop};

#[cfg(all(target_os = "none", any(target_arch = "aarch64", target_arch = "riscv64")))]
mod devicetree;
#[cfg(all(target_os = "none", feature = "gdbstub", any(target_arch = "aarch64", target_arch = "riscv64")))]
mod virtio_console;

#[cfg(target_os = "none")]
cfg_if::cfg_if! {
    if #[cfg(target_arch = "x86_64")] {
        mod x86_64;
        use self::x86_64 as imp;
    } else if #[cfg(target_arch = "aarch64")] {
        mod aarch64;
        use self::aarch64 as imp;
    } else if #[cfg(target_arch = "riscv64")] {
        mod riscv64;
        use self::riscv64 as imp;
    } else {
        compile_error!("unsupported architecture: add a directory under crates/arch/src/");
    }
}

/// What [`call_with_recovery`] saves and [`abandon`] restores.
#[cfg(target_os = "none")]
pub use imp::RecoverySlot;
/// The interrupted CPU state a trap handler saved (a GDB stub reads and writes it).
#[cfg(target_os = "none")]
pub use imp::TrapFrame;
/// What a GDB stub needs from the arch (the `gdbstub` feature).
#[cfg(all(target_os = "none", feature = "gdbstub"))]
pub use imp::gdb;
#[cfg(all(target_os = "none", target_arch = "x86_64"))]
pub use imp::triple_fault;
#[cfg(target_os = "none")]
pub use imp::{
    NAME, breakpoint, console_write, console_write_from_trap, exit, frame_pointer, frame_record, interrupts_disable,
    interrupts_enable, ticks, ticks_per_second, undefined_instruction,
};

/// What the arch's boot code found, handed to the kernel's entry.
pub struct BootInfo {
    /// How the kernel was entered, for the banner (e.g. "PVH, 64-bit long mode").
    pub method: &'static str,
    /// The kernel command line (empty if the boot path gave none).
    pub cmdline: &'static str,
    /// Physical memory, as the boot path describes it.
    pub memory: mm::MemoryMap,
}

/// A CPU exception the trap handler cannot return from, as it hands it to
/// [`Kernel::fault`].
pub struct Fault<'r> {
    /// What the CPU reported, e.g. "page fault", "undefined instruction".
    pub kind: &'static str,
    /// The address that faulted, when the CPU reports one.
    pub address: Option<usize>,
    /// The program counter of the faulting instruction.
    pub pc: usize,
    /// The interrupted code's frame pointer: where its backtrace starts.
    pub frame_pointer: usize,
    /// The CPU state the trap saw, by register name.
    pub registers: &'r [(&'static str, u64)],
}

/// The boot stack (each arch's `boot.S`), which the kernel runs on: every frame record of
/// a backtrace lies inside it.
#[cfg(target_os = "none")]
pub fn boot_stack() -> core::ops::Range<usize> {
    unsafe extern "C" {
        static boot_stack_bottom: u8;
        static boot_stack_top: u8;
    }
    (&raw const boot_stack_bottom) as usize..(&raw const boot_stack_top) as usize
}

/// Reads the two words of a frame record at `address`, if they lie inside `stack`.
#[cfg(target_os = "none")]
fn read_record(address: usize, stack: &core::ops::Range<usize>) -> Option<(usize, usize)> {
    let fits = address.is_multiple_of(8) && stack.contains(&address) && address.checked_add(16)? <= stack.end;
    // SAFETY: the record lies inside the stack, which is mapped and readable.
    fits.then(|| unsafe { ((address as *const usize).read(), (address as *const usize).add(1).read()) })
}
