//! riscv64's CPUs: the harts of the device tree's `/cpus`, started and stopped through the
//! SBI's Hart State Management extension (HSM), `tp` pointing at each hart's `CpuLocal`.

use crate::devicetree;
use crate::smp::{CpuLocal, StartError};

const SBI_HSM: usize = 0x48_534d; // "HSM"
const HART_START: usize = 0;
const HART_STOP: usize = 1;
const HART_GET_STATUS: usize = 2;
const STATUS_STOPPED: isize = 1;

unsafe extern "C" {
    fn secondary_start();
}

/// An SBI call of the HSM extension: (error, value).
fn sbi_hsm(function: usize, argument0: usize, argument1: usize, argument2: usize) -> (isize, isize) {
    let (error, value): (isize, isize);
    // SAFETY: an SBI call; HSM changes other harts' states or stops this one.
    unsafe {
        core::arch::asm!("ecall", inlateout("a0") argument0 => error, inlateout("a1") argument1 => value,
            in("a2") argument2, in("a6") function, in("a7") SBI_HSM, options(nostack));
    }
    (error, value)
}

/// Records the harts of `/cpus`, the boot hart first.
pub fn discover(tree: Option<&fdt::Fdt<'static>>, boot_hart: usize) {
    let others = tree.into_iter().flat_map(|tree| devicetree::cpu_ids(tree)).filter(move |&id| id != boot_hart);
    crate::smp::set_cpus(core::iter::once(boot_hart).chain(others));
}

pub fn local() -> *const CpuLocal {
    let local: *const CpuLocal;
    // SAFETY: reading tp, which boot.S set and nothing else changes.
    unsafe { core::arch::asm!("mv {}, tp", out(reg) local, options(nomem, nostack, preserves_flags)) };
    local
}

/// Starts the hart of `local` at `secondary_start` (boot.S) with paging as on this hart.
pub fn start(local: &mut CpuLocal) -> Result<(), StartError> {
    let satp: usize;
    // SAFETY: reading satp has no side effects.
    unsafe { core::arch::asm!("csrr {}, satp", out(reg) satp, options(nomem, nostack)) };
    local.arch[0] = satp;
    let hart = local.hardware_id;
    // A hart that has just returned from its function may still be stopping.
    for _ in 0..1_000_000 {
        if sbi_hsm(HART_GET_STATUS, hart, 0, 0).1 == STATUS_STOPPED {
            break;
        }
        core::hint::spin_loop();
    }
    // The stores above reach memory before the hart starts (it reads them with paging off).
    // SAFETY: a fence has no other effect.
    unsafe { core::arch::asm!("fence rw, rw", options(nostack)) };
    let (error, _) = sbi_hsm(HART_START, hart, secondary_start as *const () as usize, local as *mut CpuLocal as usize);
    if error == 0 { Ok(()) } else { Err(StartError::Refused(error)) }
}

/// Where `secondary_start` goes, on the hart's stack with paging on.
#[unsafe(no_mangle)]
extern "C" fn riscv64_secondary(local: &CpuLocal) -> ! {
    super::traps::init();
    crate::smp::run_secondary(local);
    sbi_hsm(HART_STOP, 0, 0, 0);
    unreachable!("SBI HSM hart_stop returned");
}
