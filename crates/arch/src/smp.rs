//! Several CPUs: what every arch shares (each CPU's [`CpuLocal`], the secondary CPUs'
//! stacks with their guard pages, starting a CPU on a function), over each arch's `smp.rs`
//! (finding the CPUs, and PSCI `CPU_ON`, SBI HSM `hart_start` or INIT-SIPI-SIPI).
//!
//! The boot CPU is CPU 0; the others are numbered in the order the platform lists them. A
//! secondary CPU runs only when asked: [`start_cpu`] starts it on a function, with its own
//! stack and the boot CPU's page tables and trap vectors, and when the function returns the
//! CPU stops (back to the firmware, or halted), ready to be started again. Until then it
//! costs the host nothing (QEMU keeps a stopped vCPU halted).

use core::sync::atomic::{AtomicUsize, Ordering};

/// The most CPUs the kernel uses; more are left alone.
pub const MAX_CPUS: usize = 8;
const PAGE: usize = 4096;
const STACK_SIZE: usize = 64 * 1024;
const FATAL_STACK_SIZE: usize = 16 * 1024;

/// What each CPU keeps about itself, found through a register its trap entry can read
/// (riscv64 `tp`, aarch64 `TPIDRRO_EL0`, x86_64 the GS base). `repr(C)`: the trap entries
/// and the secondary entries read it by offset (the boot CPU's is in its `boot.S`).
#[repr(C)]
pub struct CpuLocal {
    /// 4 KiB above the stack's bottom: a trap below it builds its frame on the fatal stack.
    pub stack_limit: usize,
    pub fatal_stack_top: usize,
    pub index: usize,
    pub stack_bottom: usize,
    pub stack_top: usize,
    /// The function a secondary CPU runs (`extern "C" fn(usize)`, its index the argument).
    pub entry: usize,
    /// What the arch's secondary entry needs before it can run Rust code on its stack (the
    /// boot CPU's page-table and control registers).
    pub arch: [usize; 4],
    /// The CPU's hardware id: hart id, MPIDR_EL1 affinity, local APIC id.
    pub hardware_id: usize,
}

const _: () = assert!(size_of::<CpuLocal>() == 11 * 8);

#[repr(C, align(4096))]
struct CpuStack {
    guard: [u8; PAGE],
    stack: [u8; STACK_SIZE],
    fatal: [u8; FATAL_STACK_SIZE],
}

/// The secondary CPUs' stacks (in `.bss`): each with a guard page under it, which the page
/// tables leave unmapped, and a fatal stack above it, as the boot stack has.
static mut STACKS: [CpuStack; MAX_CPUS - 1] =
    [const { CpuStack { guard: [0; PAGE], stack: [0; STACK_SIZE], fatal: [0; FATAL_STACK_SIZE] } }; MAX_CPUS - 1];

/// The secondary CPUs' locals (index 0 unused: the boot CPU's is in `boot.S`). Written by
/// the boot CPU only while that CPU is stopped.
static mut LOCALS: [CpuLocal; MAX_CPUS] = [const {
    CpuLocal {
        stack_limit: 0,
        fatal_stack_top: 0,
        index: 0,
        stack_bottom: 0,
        stack_top: 0,
        entry: 0,
        arch: [0; 4],
        hardware_id: 0,
    }
}; MAX_CPUS];

/// CPUs the platform has (at most MAX_CPUS), found at boot.
static COUNT: AtomicUsize = AtomicUsize::new(1);
/// Their hardware ids, the boot CPU's first.
static HARDWARE_IDS: [AtomicUsize; MAX_CPUS] = [const { AtomicUsize::new(0) }; MAX_CPUS];

/// Records the CPUs the boot found: their hardware ids, the boot CPU's first.
pub(crate) fn set_cpus(hardware_ids: impl Iterator<Item = usize>) {
    let mut count = 0;
    for (index, id) in hardware_ids.take(MAX_CPUS).enumerate() {
        HARDWARE_IDS[index].store(id, Ordering::SeqCst);
        count = index + 1;
    }
    COUNT.store(count.max(1), Ordering::SeqCst);
}

/// The CPUs' hardware ids, the boot CPU's first (for x86_64's test that they are the MADT's).
#[cfg(all(feature = "ktest", target_arch = "x86_64"))]
pub(crate) fn hardware_ids() -> impl Iterator<Item = usize> {
    HARDWARE_IDS[..cpu_count()].iter().map(|id| id.load(Ordering::SeqCst))
}

/// How many CPUs the kernel can use.
pub fn cpu_count() -> usize {
    COUNT.load(Ordering::SeqCst)
}

/// This CPU's local.
pub fn local() -> &'static CpuLocal {
    // SAFETY: every CPU's register points at its local from its first instruction in Rust.
    unsafe { &*super::imp::smp::local() }
}

/// The index of the CPU this runs on (0: the boot CPU).
pub fn cpu_id() -> usize {
    local().index
}

/// The stack this CPU runs on: every frame record of its backtraces lies inside it.
pub fn current_stack() -> core::ops::Range<usize> {
    let local = local();
    local.stack_bottom..local.stack_top
}

/// The guard pages under the secondary CPUs' stacks (the boot stack's is the arch's own).
pub(crate) fn secondary_guard_pages() -> impl Iterator<Item = core::ops::Range<usize>> {
    let stacks = (&raw const STACKS).cast::<CpuStack>();
    // SAFETY: only addresses are computed.
    (0..MAX_CPUS - 1).map(move |index| {
        let guard = unsafe { stacks.add(index) } as usize;
        guard..guard + PAGE
    })
}

/// Whether `address` is in the guard page of any CPU's stack (a fault there is an overflow).
pub(crate) fn is_stack_guard(address: usize, boot_guard: core::ops::Range<usize>) -> bool {
    boot_guard.contains(&address) || secondary_guard_pages().any(|guard| guard.contains(&address))
}

/// Why a CPU did not start.
#[derive(Debug)]
pub enum StartError {
    /// There is no such CPU (or it is the boot CPU).
    NoSuchCpu,
    /// The firmware or the hardware refused, with its code.
    Refused(isize),
}

/// Starts CPU `cpu` (1..cpu_count()) on `entry(cpu)`, on its own stack; when `entry` returns
/// the CPU stops and may be started again. The CPU must be stopped (its last `entry`
/// returned, or never started).
pub fn start_cpu(cpu: usize, entry: extern "C" fn(usize)) -> Result<(), StartError> {
    if cpu == 0 || cpu >= cpu_count() {
        return Err(StartError::NoSuchCpu);
    }
    // SAFETY: the CPU is stopped (the caller's promise), so nothing else uses its local
    // and stack; the boot CPU alone starts CPUs.
    let local = unsafe {
        let stack = (&raw mut STACKS).cast::<CpuStack>().add(cpu - 1);
        let bottom = (&raw mut (*stack).stack) as usize;
        let local = &mut *(&raw mut LOCALS).cast::<CpuLocal>().add(cpu);
        local.index = cpu;
        local.stack_bottom = bottom;
        local.stack_top = bottom + STACK_SIZE;
        local.stack_limit = bottom + PAGE;
        local.fatal_stack_top = (&raw mut (*stack).fatal) as usize + FATAL_STACK_SIZE;
        local.entry = entry as usize;
        local.hardware_id = HARDWARE_IDS[cpu].load(Ordering::SeqCst);
        local
    };
    super::imp::smp::start(local)
}

/// Where every arch's secondary entry goes once its CPU has its stack, page tables and trap
/// vectors: runs the function `start_cpu` was given. The arch then stops the CPU.
pub(crate) fn run_secondary(local: &CpuLocal) {
    // SAFETY: `start_cpu` stored an `extern "C" fn(usize)` there.
    let entry: extern "C" fn(usize) = unsafe { core::mem::transmute(local.entry) };
    entry(local.index);
}
