//! What the debugger sees: the stopped CPU's registers (its trap frame), memory, and the
//! breakpoints it set, as a `gdbstub` single-thread target.

use arch::TrapFrame;
use core::ptr::NonNull;
use gdbstub::common::Signal;
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::base::singlethread::{
    SingleThreadBase, SingleThreadResume, SingleThreadResumeOps, SingleThreadSingleStep, SingleThreadSingleStepOps,
};
use gdbstub::target::ext::breakpoints::{Breakpoints, BreakpointsOps, SwBreakpoint, SwBreakpointOps};
use gdbstub::target::{Target, TargetError, TargetResult};
use mm::{self, MemoryMap, Region, Regions};

/// How the debugger resumed the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    Continue,
    Step,
}

/// Breakpoints the debugger can have at once: a fixed table, since the stub runs in trap
/// handlers and must not allocate (the heap's lock may be held by the interrupted code).
const MAX_BREAKPOINTS: usize = 64;

/// A breakpoint the debugger set: where, and the bytes its instruction replaced.
#[derive(Clone, Copy)]
struct Breakpoint {
    address: usize,
    saved: [u8; 4],
    len: usize,
}

pub struct KernelTarget {
    /// The stopped CPU's state, while stopped.
    frame: Option<NonNull<TrapFrame>>,
    breakpoints: [Option<Breakpoint>; MAX_BREAKPOINTS],
    resume: Resume,
    /// The memory the debugger may read and write: RAM the boot path gave (minus what it
    /// reserved, which may be firmware that faults on access) and the kernel image. Anything
    /// else could fault inside the stub.
    accessible: Regions<32>,
}

impl KernelTarget {
    pub fn new(memory: &MemoryMap) -> KernelTarget {
        let mut accessible = memory.usable;
        for reserved in memory.reserved.iter() {
            accessible.remove(*reserved);
        }
        accessible.add(mm::kernel_image());
        if let Some(hole) = arch::gdb::inaccessible() {
            accessible.remove(hole);
        }
        KernelTarget { frame: None, breakpoints: [None; MAX_BREAKPOINTS], resume: Resume::Continue, accessible }
    }

    pub fn stopped_at(&mut self, frame: &mut TrapFrame) {
        self.frame = Some(NonNull::from(frame));
    }

    pub fn resumed(&mut self) {
        self.frame = None;
    }

    pub fn resume(&self) -> Resume {
        self.resume
    }

    fn frame(&mut self) -> &mut TrapFrame {
        let frame = self.frame.expect("the target is read only while the CPU is stopped");
        // SAFETY: `stopped_at` took it from the trap handler's `&mut`, which outlives the
        // session (`resumed` clears it before the handler continues).
        unsafe { &mut *frame.as_ptr() }
    }

    pub fn has_breakpoint(&self, address: usize) -> bool {
        self.breakpoints.iter().flatten().any(|breakpoint| breakpoint.address == address)
    }

    /// Puts back what every breakpoint replaced (the debugger is gone).
    pub fn remove_all_breakpoints(&mut self) {
        for breakpoint in self.breakpoints.iter_mut().filter_map(Option::take) {
            // SAFETY: the address was accessible when the breakpoint went in.
            unsafe { write_code(breakpoint.address, &breakpoint.saved[..breakpoint.len]) };
        }
    }

    fn check(&self, address: u64, len: usize) -> Result<usize, TargetError<&'static str>> {
        let start = usize::try_from(address).map_err(|_| TargetError::NonFatal)?;
        let region = Region::new(start, start.checked_add(len).ok_or(TargetError::NonFatal)?);
        let inside = self.accessible.iter().any(|accessible| accessible.contains(&region));
        if inside { Ok(start) } else { Err(TargetError::NonFatal) }
    }
}

/// Writes instructions and makes the CPU see them.
///
/// # Safety
/// `address..address + bytes.len()` must be writable memory.
unsafe fn write_code(address: usize, bytes: &[u8]) {
    // SAFETY: the caller vouches for the range; volatile, so that the stores happen before
    // the cache maintenance.
    // Through the arch's writable alias: code may be mapped read-execute (riscv64's W^X).
    let writable = arch::gdb::writable_alias(address);
    unsafe {
        for (offset, byte) in bytes.iter().enumerate() {
            ((writable + offset) as *mut u8).write_volatile(*byte);
        }
    }
    arch::gdb::instructions_changed(address, bytes.len());
}

impl Target for KernelTarget {
    type Arch = arch::gdb::Arch;
    type Error = &'static str;

    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::SingleThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadBase for KernelTarget {
    fn read_registers(&mut self, registers: &mut arch::gdb::Registers) -> TargetResult<(), Self> {
        arch::gdb::read_registers(self.frame(), registers);
        Ok(())
    }

    fn write_registers(&mut self, registers: &arch::gdb::Registers) -> TargetResult<(), Self> {
        arch::gdb::write_registers(self.frame(), registers);
        Ok(())
    }

    fn read_addrs(&mut self, address: u64, data: &mut [u8]) -> TargetResult<usize, Self> {
        let start = self.check(address, data.len())?;
        for (offset, byte) in data.iter_mut().enumerate() {
            // SAFETY: `check` found the range in accessible memory.
            *byte = unsafe { ((start + offset) as *const u8).read_volatile() };
        }
        Ok(data.len())
    }

    fn write_addrs(&mut self, address: u64, data: &[u8]) -> TargetResult<(), Self> {
        let start = self.check(address, data.len())?;
        // SAFETY: `check` found the range in accessible memory; it may be code.
        unsafe { write_code(start, data) };
        Ok(())
    }

    fn support_resume(&mut self) -> Option<SingleThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadResume for KernelTarget {
    fn resume(&mut self, _signal: Option<Signal>) -> Result<(), Self::Error> {
        // A kernel has nothing to deliver a signal to: the CPU resumes as it was left.
        self.resume = Resume::Continue;
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<SingleThreadSingleStepOps<'_, Self>> {
        if arch::gdb::HARDWARE_SINGLE_STEP { Some(self) } else { None }
    }
}

impl SingleThreadSingleStep for KernelTarget {
    fn step(&mut self, _signal: Option<Signal>) -> Result<(), Self::Error> {
        self.resume = Resume::Step;
        Ok(())
    }
}

impl Breakpoints for KernelTarget {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }
}

impl SwBreakpoint for KernelTarget {
    fn add_sw_breakpoint(&mut self, address: u64, kind: usize) -> TargetResult<bool, Self> {
        let Some(instruction) = arch::gdb::breakpoint_instruction(kind) else { return Ok(false) };
        let start = self.check(address, instruction.len())?;
        if self.has_breakpoint(start) {
            return Ok(true);
        }
        let Some(slot) = self.breakpoints.iter().position(Option::is_none) else { return Ok(false) };
        let mut saved = [0; 4];
        self.read_addrs(address, &mut saved[..instruction.len()])?;
        // SAFETY: `check` found the range in accessible memory.
        unsafe { write_code(start, instruction) };
        self.breakpoints[slot] = Some(Breakpoint { address: start, saved, len: instruction.len() });
        Ok(true)
    }

    fn remove_sw_breakpoint(&mut self, address: u64, _kind: usize) -> TargetResult<bool, Self> {
        let slot = self
            .breakpoints
            .iter_mut()
            .find(|slot| slot.is_some_and(|breakpoint| breakpoint.address as u64 == address));
        let Some(breakpoint) = slot.and_then(Option::take) else { return Ok(false) };
        // SAFETY: the address was accessible when the breakpoint went in.
        unsafe { write_code(breakpoint.address, &breakpoint.saved[..breakpoint.len]) };
        Ok(true)
    }
}
