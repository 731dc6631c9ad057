//! aarch64's CPUs: those of the device tree's `/cpus` (each `reg` its MPIDR_EL1 affinity),
//! started with PSCI `CPU_ON` and stopped with `CPU_OFF`, through the conduit `/psci`'s
//! `method` names (QEMU's virt at EL1: `hvc`); TPIDRRO_EL0 points at each CPU's `CpuLocal`.

use crate::devicetree;
use crate::smp::{CpuLocal, StartError};
use core::sync::atomic::{AtomicBool, Ordering};

const PSCI_CPU_OFF: usize = 0x8400_0002;
const PSCI_CPU_ON_64: usize = 0xc400_0003;
const PSCI_ALREADY_ON: isize = -4;
/// MPIDR_EL1's affinity fields (Aff3, Aff2, Aff1, Aff0), as `/cpus/*/reg` gives them.
const AFFINITY: usize = 0xff_00ff_ffff;

/// Whether PSCI is called with SMC (`method = "smc"`) rather than HVC.
static SMC: AtomicBool = AtomicBool::new(false);

unsafe extern "C" {
    fn secondary_start();
}

fn psci(function: usize, argument0: usize, argument1: usize, argument2: usize) -> isize {
    let result: usize;
    // SAFETY: a PSCI call: it starts or stops a CPU, nothing of this one's state but x0.
    unsafe {
        if SMC.load(Ordering::Relaxed) {
            core::arch::asm!("smc #0", inlateout("x0") function => result, in("x1") argument0, in("x2") argument1,
                in("x3") argument2, options(nostack));
        } else {
            core::arch::asm!("hvc #0", inlateout("x0") function => result, in("x1") argument0, in("x2") argument1,
                in("x3") argument2, options(nostack));
        }
    }
    result as isize
}

/// Records the CPUs of `/cpus`, the boot CPU first, and the PSCI conduit.
pub fn discover(tree: Option<&fdt::Fdt<'static>>) {
    let method = tree.and_then(|tree| tree.find_node("/psci")?.property("method")?.as_str());
    SMC.store(method == Some("smc"), Ordering::Relaxed);
    let mpidr: usize;
    // SAFETY: reading MPIDR_EL1 has no side effects.
    unsafe { core::arch::asm!("mrs {}, mpidr_el1", out(reg) mpidr, options(nomem, nostack)) };
    let boot = mpidr & AFFINITY;
    // Without a PSCI node nothing can start the others.
    let psci = method.is_some();
    let others = tree.into_iter().flat_map(|tree| devicetree::cpu_ids(tree)).filter(move |&id| psci && id != boot);
    crate::smp::set_cpus(core::iter::once(boot).chain(others));
}

pub fn local() -> *const CpuLocal {
    let local: *const CpuLocal;
    // SAFETY: reading TPIDRRO_EL0, which boot.S set and nothing else changes.
    unsafe { core::arch::asm!("mrs {}, tpidrro_el0", out(reg) local, options(nomem, nostack, preserves_flags)) };
    local
}

/// Starts the CPU of `local` at `secondary_start` (boot.S) with this CPU's translation
/// registers.
pub fn start(local: &mut CpuLocal) -> Result<(), StartError> {
    // SAFETY: reading system registers has no side effects.
    unsafe {
        core::arch::asm!("mrs {}, mair_el1", "mrs {}, tcr_el1", "mrs {}, ttbr0_el1", "mrs {}, sctlr_el1",
            out(reg) local.arch[0], out(reg) local.arch[1], out(reg) local.arch[2], out(reg) local.arch[3],
            options(nomem, nostack));
    }
    // The CPU reads its local with the MMU off, from memory: clean the lines out of the cache.
    let address = local as *mut CpuLocal as usize;
    for line in (address & !63..address + size_of::<CpuLocal>()).step_by(64) {
        // SAFETY: cleaning a line only writes it back.
        unsafe { core::arch::asm!("dc cvac, {}", in(reg) line, options(nostack)) };
    }
    // SAFETY: a barrier has no other effect.
    unsafe { core::arch::asm!("dsb sy", options(nostack)) };
    // A CPU that has just returned from its function may still be on its way off.
    let mut result = PSCI_ALREADY_ON;
    for _ in 0..1_000_000 {
        result = psci(PSCI_CPU_ON_64, local.hardware_id, secondary_start as *const () as usize, address);
        if result != PSCI_ALREADY_ON {
            break;
        }
        core::hint::spin_loop();
    }
    if result == 0 { Ok(()) } else { Err(StartError::Refused(result)) }
}

/// Where `secondary_start` goes, on the CPU's stack with the MMU on.
#[unsafe(no_mangle)]
extern "C" fn aarch64_secondary(local: &CpuLocal) -> ! {
    super::traps::init();
    crate::smp::run_secondary(local);
    psci(PSCI_CPU_OFF, 0, 0, 0);
    unreachable!("PSCI CPU_OFF returned");
}
