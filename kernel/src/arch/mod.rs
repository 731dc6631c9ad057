//! The arch boundary: the one place that selects the CPU architecture.
//!
//! Every architecture provides exactly the items re-exported below; the rest of the kernel
//! uses nothing else from `arch::`. Adding an architecture means adding a directory here
//! that provides this list (plus its target JSON, its `targets/<arch>.toml` for the harness
//! and its linker script).
//!
//! | item | what it is |
//! |---|---|
//! | `NAME` | the arch's name as the harness knows it |
//! | `console_write(bytes)` | write bytes to the boot serial console |
//! | `exit(code) -> !` | end the boot, carrying `code` to the host (semihosting, isa-debug-exit) |
//! | `ticks()` / `ticks_per_second()` | the arch's free-running counter and its frequency, if known |
//! | `undefined_instruction() -> !` | execute an undefined instruction (for the self-tests) |
//! | `triple_fault() -> !` | x86_64 only: reset the CPU through a triple fault (for the self-tests) |
//! | `breakpoint()` | execute a breakpoint instruction; the trap handler counts it and returns |
//! | `timer_start(hz)` / `timer_stop()` | periodic timer interrupts, each counted by `interrupts::timer_tick` |
//! | `frame_pointer()` | the current frame pointer |
//! | `frame_record(fp, stack)` | the caller's frame pointer and the return address of the frame at `fp` |
//!
//! Each arch's boot code ends by calling `crate::kernel_main` with a `BootInfo`.

#[cfg(any(target_arch = "aarch64", target_arch = "riscv64"))]
mod devicetree;
#[cfg(all(any(feature = "gdbstub", test), any(target_arch = "aarch64", target_arch = "riscv64")))]
mod virtio_console;

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
        compile_error!("unsupported architecture: add a directory under kernel/src/arch/");
    }
}

/// The interrupted CPU state a trap handler saved (the GDB stub reads and writes it).
pub use imp::TrapFrame;
/// What the GDB stub needs from the arch (the `gdbstub` feature; `cargo test` images too).
#[cfg(any(feature = "gdbstub", test))]
pub use imp::gdb;
#[cfg(target_arch = "x86_64")]
pub use imp::triple_fault;
pub use imp::{
    NAME, breakpoint, console_write, exit, frame_pointer, frame_record, ticks, ticks_per_second, timer_start,
    timer_stop, undefined_instruction,
};
