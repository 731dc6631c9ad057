//! FP/SIMD registers across traps, for the kernel tests (`ktest` feature): code that holds
//! values in every register while timer interrupts or a breakpoint trap come and go, and a
//! scramble the trap handler runs first when a test asks, so that a register the trap entry
//! failed to save and restore would come back changed.

/// q0..q31 (as pairs of u64, low half first) and FPCR, FPSR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FpState {
    pub registers: [u64; 64],
    pub control: u64,
    pub status: u64,
}

impl FpState {
    /// Distinct values in every register half; rounding toward zero; every cumulative
    /// exception flag set.
    pub fn distinct() -> FpState {
        let mut registers = [0; 64];
        for (index, value) in registers.iter_mut().enumerate() {
            *value = 0x0123_4567_0000_0000 | ((index as u64 + 1) * 0x0101_0101);
        }
        FpState { registers, control: 0b11 << 22, status: 0x1f }
    }
}

macro_rules! hold {
    ($state:expr, $after:expr, $($middle:literal),+; $($operands:tt)*) => {
        let mut control_after: u64;
        let mut status_after: u64;
        // SAFETY: loads and stores within the two states; FPCR and FPSR are put back as
        // they were; every FP/SIMD register is declared clobbered.
        unsafe { core::arch::asm!(
            "mrs {saved_control}, fpcr",
            "mrs {saved_status}, fpsr",
            "msr fpcr, {control}",
            "msr fpsr, {status}",
            "ldp q0, q1, [{before}, #0]",
            "ldp q2, q3, [{before}, #32]",
            "ldp q4, q5, [{before}, #64]",
            "ldp q6, q7, [{before}, #96]",
            "ldp q8, q9, [{before}, #128]",
            "ldp q10, q11, [{before}, #160]",
            "ldp q12, q13, [{before}, #192]",
            "ldp q14, q15, [{before}, #224]",
            "ldp q16, q17, [{before}, #256]",
            "ldp q18, q19, [{before}, #288]",
            "ldp q20, q21, [{before}, #320]",
            "ldp q22, q23, [{before}, #352]",
            "ldp q24, q25, [{before}, #384]",
            "ldp q26, q27, [{before}, #416]",
            "ldp q28, q29, [{before}, #448]",
            "ldp q30, q31, [{before}, #480]",
            $($middle),+,
            "stp q0, q1, [{after}, #0]",
            "stp q2, q3, [{after}, #32]",
            "stp q4, q5, [{after}, #64]",
            "stp q6, q7, [{after}, #96]",
            "stp q8, q9, [{after}, #128]",
            "stp q10, q11, [{after}, #160]",
            "stp q12, q13, [{after}, #192]",
            "stp q14, q15, [{after}, #224]",
            "stp q16, q17, [{after}, #256]",
            "stp q18, q19, [{after}, #288]",
            "stp q20, q21, [{after}, #320]",
            "stp q22, q23, [{after}, #352]",
            "stp q24, q25, [{after}, #384]",
            "stp q26, q27, [{after}, #416]",
            "stp q28, q29, [{after}, #448]",
            "stp q30, q31, [{after}, #480]",
            "mrs {control_after}, fpcr",
            "mrs {status_after}, fpsr",
            "msr fpcr, {saved_control}",
            "msr fpsr, {saved_status}",
            before = in(reg) $state.registers.as_ptr(),
            after = in(reg) $after.registers.as_mut_ptr(),
            control = in(reg) $state.control,
            status = in(reg) $state.status,
            saved_control = out(reg) _,
            saved_status = out(reg) _,
            control_after = out(reg) control_after,
            status_after = out(reg) status_after,
            $($operands)*
            out("v0") _,
            out("v1") _,
            out("v2") _,
            out("v3") _,
            out("v4") _,
            out("v5") _,
            out("v6") _,
            out("v7") _,
            out("v8") _,
            out("v9") _,
            out("v10") _,
            out("v11") _,
            out("v12") _,
            out("v13") _,
            out("v14") _,
            out("v15") _,
            out("v16") _,
            out("v17") _,
            out("v18") _,
            out("v19") _,
            out("v20") _,
            out("v21") _,
            out("v22") _,
            out("v23") _,
            out("v24") _,
            out("v25") _,
            out("v26") _,
            out("v27") _,
            out("v28") _,
            out("v29") _,
            out("v30") _,
            out("v31") _,
        ) };
        $after.control = control_after;
        $after.status = status_after;
    };
}

/// Loads `state`, spins until `counter` reaches `until`, and returns what the registers held
/// then.
pub fn hold_until(state: &FpState, counter: &core::sync::atomic::AtomicU64, until: u64) -> FpState {
    let mut after = FpState { registers: [0; 64], control: 0, status: 0 };
    hold!(state, after, "2:", "ldr {now}, [{counter}]", "cmp {now}, {until}", "b.lo 2b";
        counter = in(reg) counter.as_ptr(), until = in(reg) until, now = out(reg) _,);
    after
}

/// Loads `state`, executes a breakpoint instruction (the handler returns after it), and
/// returns what the registers held then.
pub fn hold_across_breakpoint(state: &FpState) -> FpState {
    let mut after = FpState { registers: [0; 64], control: 0, status: 0 };
    hold!(state, after, "brk #0";);
    after
}

/// Overwrites every FP/SIMD register, FPCR (rounding toward plus infinity) and FPSR.
pub fn scramble() {
    // SAFETY: only registers, all declared clobbered; FPCR's new value is a valid mode.
    unsafe {
        core::arch::asm!(
            "movi v0.16b, #0xa5",
            "movi v1.16b, #0xa5",
            "movi v2.16b, #0xa5",
            "movi v3.16b, #0xa5",
            "movi v4.16b, #0xa5",
            "movi v5.16b, #0xa5",
            "movi v6.16b, #0xa5",
            "movi v7.16b, #0xa5",
            "movi v8.16b, #0xa5",
            "movi v9.16b, #0xa5",
            "movi v10.16b, #0xa5",
            "movi v11.16b, #0xa5",
            "movi v12.16b, #0xa5",
            "movi v13.16b, #0xa5",
            "movi v14.16b, #0xa5",
            "movi v15.16b, #0xa5",
            "movi v16.16b, #0xa5",
            "movi v17.16b, #0xa5",
            "movi v18.16b, #0xa5",
            "movi v19.16b, #0xa5",
            "movi v20.16b, #0xa5",
            "movi v21.16b, #0xa5",
            "movi v22.16b, #0xa5",
            "movi v23.16b, #0xa5",
            "movi v24.16b, #0xa5",
            "movi v25.16b, #0xa5",
            "movi v26.16b, #0xa5",
            "movi v27.16b, #0xa5",
            "movi v28.16b, #0xa5",
            "movi v29.16b, #0xa5",
            "movi v30.16b, #0xa5",
            "movi v31.16b, #0xa5",
            "msr fpcr, {control}",
            "msr fpsr, xzr",
            control = in(reg) 1u64 << 22,
            out("v0") _,
            out("v1") _,
            out("v2") _,
            out("v3") _,
            out("v4") _,
            out("v5") _,
            out("v6") _,
            out("v7") _,
            out("v8") _,
            out("v9") _,
            out("v10") _,
            out("v11") _,
            out("v12") _,
            out("v13") _,
            out("v14") _,
            out("v15") _,
            out("v16") _,
            out("v17") _,
            out("v18") _,
            out("v19") _,
            out("v20") _,
            out("v21") _,
            out("v22") _,
            out("v23") _,
            out("v24") _,
            out("v25") _,
            out("v26") _,
            out("v27") _,
            out("v28") _,
            out("v29") _,
            out("v30") _,
            out("v31") _,
        )
    };
}
