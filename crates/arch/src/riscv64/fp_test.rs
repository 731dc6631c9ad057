//! FP registers across traps, for the kernel tests (`ktest` feature): code that holds values
//! in every register while timer interrupts or a breakpoint trap come and go, and a scramble
//! the trap handler runs first when a test asks, so that a register the trap entry failed to
//! save and restore would come back changed.

/// f0..f31 and fcsr (`status` is unused: fcsr holds both the rounding mode and the flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FpState {
    pub registers: [u64; 32],
    pub control: u64,
    pub status: u64,
}

impl FpState {
    /// Distinct values in every register; fcsr with rounding up (frm 3) and flags NV, OF, NX.
    pub fn distinct() -> FpState {
        let mut registers = [0; 32];
        for (index, value) in registers.iter_mut().enumerate() {
            *value = 0x0123_4567_0000_0000 | ((index as u64 + 1) * 0x0101_0101);
        }
        FpState { registers, control: (3 << 5) | 0b10101, status: 0 }
    }
}

macro_rules! hold {
    ($state:expr, $after:expr, $($middle:literal),+; $($operands:tt)*) => {
        let mut control_after: u64;
        // SAFETY: loads and stores within the two states; fcsr is put back as it was; every
        // FP register is declared clobbered.
        unsafe { core::arch::asm!(
            "csrr {saved_control}, fcsr",
            "csrw fcsr, {control}",
            "fld f0, 0({before})",
            "fld f1, 8({before})",
            "fld f2, 16({before})",
            "fld f3, 24({before})",
            "fld f4, 32({before})",
            "fld f5, 40({before})",
            "fld f6, 48({before})",
            "fld f7, 56({before})",
            "fld f8, 64({before})",
            "fld f9, 72({before})",
            "fld f10, 80({before})",
            "fld f11, 88({before})",
            "fld f12, 96({before})",
            "fld f13, 104({before})",
            "fld f14, 112({before})",
            "fld f15, 120({before})",
            "fld f16, 128({before})",
            "fld f17, 136({before})",
            "fld f18, 144({before})",
            "fld f19, 152({before})",
            "fld f20, 160({before})",
            "fld f21, 168({before})",
            "fld f22, 176({before})",
            "fld f23, 184({before})",
            "fld f24, 192({before})",
            "fld f25, 200({before})",
            "fld f26, 208({before})",
            "fld f27, 216({before})",
            "fld f28, 224({before})",
            "fld f29, 232({before})",
            "fld f30, 240({before})",
            "fld f31, 248({before})",
            $($middle),+,
            "fsd f0, 0({after})",
            "fsd f1, 8({after})",
            "fsd f2, 16({after})",
            "fsd f3, 24({after})",
            "fsd f4, 32({after})",
            "fsd f5, 40({after})",
            "fsd f6, 48({after})",
            "fsd f7, 56({after})",
            "fsd f8, 64({after})",
            "fsd f9, 72({after})",
            "fsd f10, 80({after})",
            "fsd f11, 88({after})",
            "fsd f12, 96({after})",
            "fsd f13, 104({after})",
            "fsd f14, 112({after})",
            "fsd f15, 120({after})",
            "fsd f16, 128({after})",
            "fsd f17, 136({after})",
            "fsd f18, 144({after})",
            "fsd f19, 152({after})",
            "fsd f20, 160({after})",
            "fsd f21, 168({after})",
            "fsd f22, 176({after})",
            "fsd f23, 184({after})",
            "fsd f24, 192({after})",
            "fsd f25, 200({after})",
            "fsd f26, 208({after})",
            "fsd f27, 216({after})",
            "fsd f28, 224({after})",
            "fsd f29, 232({after})",
            "fsd f30, 240({after})",
            "fsd f31, 248({after})",
            "csrr {control_after}, fcsr",
            "csrw fcsr, {saved_control}",
            before = in(reg) $state.registers.as_ptr(),
            after = in(reg) $after.registers.as_mut_ptr(),
            control = in(reg) $state.control,
            saved_control = out(reg) _,
            control_after = out(reg) control_after,
            $($operands)*
            out("f0") _,
            out("f1") _,
            out("f2") _,
            out("f3") _,
            out("f4") _,
            out("f5") _,
            out("f6") _,
            out("f7") _,
            out("f8") _,
            out("f9") _,
            out("f10") _,
            out("f11") _,
            out("f12") _,
            out("f13") _,
            out("f14") _,
            out("f15") _,
            out("f16") _,
            out("f17") _,
            out("f18") _,
            out("f19") _,
            out("f20") _,
            out("f21") _,
            out("f22") _,
            out("f23") _,
            out("f24") _,
            out("f25") _,
            out("f26") _,
            out("f27") _,
            out("f28") _,
            out("f29") _,
            out("f30") _,
            out("f31") _,
        ) };
        $after.control = control_after;
    };
}

/// Loads `state`, spins until `counter` reaches `until`, and returns what the registers held
/// then.
pub fn hold_until(state: &FpState, counter: &core::sync::atomic::AtomicU64, until: u64) -> FpState {
    let mut after = FpState { registers: [0; 32], control: 0, status: 0 };
    hold!(state, after, "2:", "ld {now}, 0({counter})", "bltu {now}, {until}, 2b";
        counter = in(reg) counter.as_ptr(), until = in(reg) until, now = out(reg) _,);
    after
}

/// Loads `state`, executes a breakpoint instruction (the handler returns after it), and
/// returns what the registers held then.
pub fn hold_across_breakpoint(state: &FpState) -> FpState {
    let mut after = FpState { registers: [0; 32], control: 0, status: 0 };
    hold!(state, after, "ebreak";);
    after
}

/// Overwrites every FP register and fcsr (rounding down, no flags).
pub fn scramble() {
    // SAFETY: only registers, all declared clobbered; fcsr's new value is a valid mode.
    unsafe {
        core::arch::asm!(
            "fmv.d.x f0, {garbage}",
            "fmv.d.x f1, {garbage}",
            "fmv.d.x f2, {garbage}",
            "fmv.d.x f3, {garbage}",
            "fmv.d.x f4, {garbage}",
            "fmv.d.x f5, {garbage}",
            "fmv.d.x f6, {garbage}",
            "fmv.d.x f7, {garbage}",
            "fmv.d.x f8, {garbage}",
            "fmv.d.x f9, {garbage}",
            "fmv.d.x f10, {garbage}",
            "fmv.d.x f11, {garbage}",
            "fmv.d.x f12, {garbage}",
            "fmv.d.x f13, {garbage}",
            "fmv.d.x f14, {garbage}",
            "fmv.d.x f15, {garbage}",
            "fmv.d.x f16, {garbage}",
            "fmv.d.x f17, {garbage}",
            "fmv.d.x f18, {garbage}",
            "fmv.d.x f19, {garbage}",
            "fmv.d.x f20, {garbage}",
            "fmv.d.x f21, {garbage}",
            "fmv.d.x f22, {garbage}",
            "fmv.d.x f23, {garbage}",
            "fmv.d.x f24, {garbage}",
            "fmv.d.x f25, {garbage}",
            "fmv.d.x f26, {garbage}",
            "fmv.d.x f27, {garbage}",
            "fmv.d.x f28, {garbage}",
            "fmv.d.x f29, {garbage}",
            "fmv.d.x f30, {garbage}",
            "fmv.d.x f31, {garbage}",
            "csrw fcsr, {control}",
            garbage = in(reg) 0xa5a5_a5a5_a5a5_a5a5u64,
            control = in(reg) 2u64 << 5,
            out("f0") _,
            out("f1") _,
            out("f2") _,
            out("f3") _,
            out("f4") _,
            out("f5") _,
            out("f6") _,
            out("f7") _,
            out("f8") _,
            out("f9") _,
            out("f10") _,
            out("f11") _,
            out("f12") _,
            out("f13") _,
            out("f14") _,
            out("f15") _,
            out("f16") _,
            out("f17") _,
            out("f18") _,
            out("f19") _,
            out("f20") _,
            out("f21") _,
            out("f22") _,
            out("f23") _,
            out("f24") _,
            out("f25") _,
            out("f26") _,
            out("f27") _,
            out("f28") _,
            out("f29") _,
            out("f30") _,
            out("f31") _,
        )
    };
}
