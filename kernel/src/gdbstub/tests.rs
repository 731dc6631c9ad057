//! The stub's packet handling on a loopback connection, without a debugger: what gdb would
//! send, what the stub answers, and what it did to a (made-up) stopped CPU and to memory.

use super::target::{KernelTarget, Resume};
use super::{Machine, Session, StopReason, session};
use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use arch::{TrapFrame, gdb};
use core::sync::atomic::{AtomicU32, Ordering};
use gdbstub::arch::Registers as _;
use gdbstub::conn::{Connection, ConnectionExt};
use gdbstub::stub::state_machine::GdbStubStateMachine;
use gdbstub::stub::{DisconnectReason, GdbStub};
use ktest::ktest;
use mm::MemoryMap;

/// What gdb sent (to be read) and what the stub wrote.
#[derive(Default)]
struct Loopback {
    input: VecDeque<u8>,
    output: Vec<u8>,
}

impl Connection for Loopback {
    type Error = &'static str;

    fn write(&mut self, byte: u8) -> Result<(), Self::Error> {
        self.output.push(byte);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl ConnectionExt for Loopback {
    fn read(&mut self) -> Result<u8, Self::Error> {
        self.input.pop_front().ok_or("the stub wants more than the test sent")
    }

    fn peek(&mut self) -> Result<Option<u8>, Self::Error> {
        Ok(self.input.front().copied())
    }
}

fn checksum(body: &str) -> u8 {
    body.bytes().fold(0u8, |sum, byte| sum.wrapping_add(byte))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Bytes from hex; `xx` (a register the stub does not have) as 0.
fn unhex(text: &str) -> Vec<u8> {
    let byte = |pair: &str| if pair == "xx" { 0 } else { u8::from_str_radix(pair, 16).expect("hex") };
    (0..text.len()).step_by(2).map(|i| byte(&text[i..i + 2])).collect()
}

/// Queues `bodies` as packets, runs one stop of the stub, and returns how it ended with the
/// bodies of the packets it answered (each checksum checked).
fn exchange(
    machine: Machine<Loopback>,
    target: &mut KernelTarget,
    reason: StopReason,
    bodies: &[&str],
) -> (Session<Loopback>, Vec<String>) {
    let mut machine = machine;
    let connection = match &mut machine {
        GdbStubStateMachine::Idle(idle) => idle.borrow_conn(),
        GdbStubStateMachine::Running(running) => running.borrow_conn(),
        _ => panic!("the stub is neither stopped nor running"),
    };
    for body in bodies {
        connection.input.extend(format!("${body}#{:02x}", checksum(body)).bytes());
    }
    let ended = session(machine, target, reason).expect("the stub handles every packet");
    let mut ended = ended;
    let output = match &mut ended {
        Session::Resumed(GdbStubStateMachine::Running(running)) => core::mem::take(&mut running.borrow_conn().output),
        Session::Ended(GdbStubStateMachine::Disconnected(gone)) => core::mem::take(&mut gone.borrow_conn().output),
        _ => panic!("a stop ends running or disconnected"),
    };
    (ended, replies(&output))
}

/// A reply body without the protocol's run-length encoding (`0*"` is `0` and 5 more: the
/// count is the character after `*` minus 29).
fn run_length_decoded(body: &str) -> String {
    let mut decoded = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '*' {
            let repeat = chars.next().expect("a count after *") as usize - 29;
            let last = decoded.chars().last().expect("a character to repeat");
            (0..repeat).for_each(|_| decoded.push(last));
        } else {
            decoded.push(c);
        }
    }
    decoded
}

/// The packets in `output` (acknowledgements skipped), their checksums checked.
fn replies(output: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(output);
    let mut replies = Vec::new();
    let mut rest = &text[..];
    while let Some(start) = rest.find('$') {
        let end = rest[start..].find('#').expect("a packet ends with #") + start;
        let body = &rest[start + 1..end];
        let sum = u8::from_str_radix(&rest[end + 1..end + 3], 16).expect("a hex checksum");
        assert_eq!(sum, checksum(body), "the checksum of `{body}`");
        replies.push(run_length_decoded(body));
        rest = &rest[end + 3..];
    }
    replies
}

#[ktest]
fn the_stub_reads_registers_and_memory_sets_breakpoints_and_resumes() {
    static MEMORY: AtomicU32 = AtomicU32::new(0x1234_5678);
    static CODE: AtomicU32 = AtomicU32::new(0x9abc_def0);
    const PC: u64 = 0x20_4000;
    let memory = MEMORY.as_ptr() as usize;
    let code = CODE.as_ptr() as usize;
    let instruction = gdb::breakpoint_instruction(4).expect("a 4-byte breakpoint");

    let mut target = KernelTarget::new(&MemoryMap::default());
    let mut frame = TrapFrame::default();
    gdb::set_pc(&mut frame, PC);
    target.stopped_at(&mut frame);
    let machine = GdbStub::new(Loopback::default()).run_state_machine(&mut target).unwrap();
    let write = format!("M{memory:x},2:beef");
    let set_breakpoint = format!("Z0,{code:x},4");
    let bodies = ["?", "g", &format!("m{memory:x},4"), &write, "m0,4", &set_breakpoint, "vCont?", "c"];
    let (ended, replies) = exchange(machine, &mut target, StopReason::DoneStep, &bodies);
    assert_eq!(replies.len(), 7, "one reply per packet but `c`: {replies:?}");
    assert!(replies[0].starts_with("T05"), "`?`: stopped by SIGTRAP: {replies:?}");
    let mut registers = gdb::Registers::default();
    registers.gdb_deserialize(&unhex(&replies[1])).expect("`g` is the arch's whole register set");
    assert_eq!(registers.pc(), PC, "`g` shows the frame's pc");
    assert_eq!(replies[2], hex(&0x1234_5678u32.to_le_bytes()), "`m` reads memory");
    assert_eq!(replies[3], "OK");
    assert_eq!(MEMORY.load(Ordering::SeqCst), 0x1234_efbe, "`M` wrote its two bytes");
    assert!(replies[4].starts_with('E'), "memory outside RAM and the kernel is refused: {replies:?}");
    assert_eq!(replies[5], "OK");
    assert_eq!(&CODE.load(Ordering::SeqCst).to_le_bytes()[..instruction.len()], instruction, "`Z0` put it in");
    assert!(target.has_breakpoint(code));
    assert_eq!(replies[6].contains(";s"), gdb::HARDWARE_SINGLE_STEP, "step offered where the CPU has it: {replies:?}");
    let Session::Resumed(machine) = ended else { panic!("`c` resumes the CPU") };
    assert_eq!(target.resume(), Resume::Continue);
    target.resumed();

    // The CPU stops at the breakpoint; gdb removes it and detaches.
    gdb::set_pc(&mut frame, code as u64);
    target.stopped_at(&mut frame);
    let remove = format!("z0,{code:x},4");
    let (ended, replies) = exchange(machine, &mut target, StopReason::SwBreak(()), &[&remove, "D"]);
    let Session::Ended(GdbStubStateMachine::Disconnected(gone)) = ended else { panic!("`D` ends the session") };
    assert_eq!(gone.get_reason(), DisconnectReason::Disconnect, "`D` detaches");
    assert!(replies[0].starts_with("T05") && replies[0].contains("swbreak"), "a breakpoint stop: {replies:?}");
    assert_eq!(replies[1..], ["OK", "OK"], "`z0` and `D` answered");
    assert_eq!(CODE.load(Ordering::SeqCst), 0x9abc_def0, "`z0` put the instruction back");
    assert!(!target.has_breakpoint(code));
}
