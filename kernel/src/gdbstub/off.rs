//! The GDB stub's entry points in a kernel built without the `gdbstub` feature: the trap
//! handlers call them either way, and here they do nothing.

pub use arch::Signal;

use arch::TrapFrame;
use kernel_abi::cmdline::GdbStub as Mode;
use mm::MemoryMap;

pub fn init(mode: Mode, _memory: &MemoryMap) {
    if mode != Mode::Off {
        println!("gdbstub: this kernel was built without the `gdbstub` feature: no stub");
    }
}

#[inline(always)]
pub fn breakpoint(_frame: &mut TrapFrame, _address: usize) -> bool {
    false
}

#[inline(always)]
pub fn stop(_frame: &mut TrapFrame, _signal: Signal) -> bool {
    false
}

#[inline(always)]
#[allow(dead_code)] // an arch without single-step (riscv64) never finishes one
pub fn step_done(_frame: &mut TrapFrame) -> bool {
    false
}

#[inline(always)]
pub fn resume_polling() {}

#[inline(always)]
pub fn poll(_frame: &mut TrapFrame) {}

#[inline(always)]
pub fn exiting(_code: kernel_abi::ExitCode) {}
