//! The call chain at a panic or fault: walks the frame-pointer records (the targets keep
//! frame pointers) and prints the return addresses as one KTAP diagnostic,
//! `# backtrace: 0x... 0x...`. The harness symbolizes them from the ELF on the host.

const MAX_FRAMES: usize = 32;

/// Prints the return addresses of the chain that starts at `frame_pointer`.
pub fn print_from(frame_pointer: usize) {
    // Every frame record lies on the stack this CPU runs on (the boot stack on CPU 0).
    let stack = arch::current_stack();
    let mut frame_pointer = frame_pointer;
    print!("{}", kernel_abi::ktap::BACKTRACE);
    for _ in 0..MAX_FRAMES {
        let Some((caller_frame, return_address)) = arch::frame_record(frame_pointer, &stack) else { break };
        if return_address == 0 {
            break;
        }
        print!(" {return_address:#x}");
        // Frames grow towards the top of the stack; anything else is a broken chain.
        if caller_frame <= frame_pointer {
            break;
        }
        frame_pointer = caller_frame;
    }
    println!();
}
