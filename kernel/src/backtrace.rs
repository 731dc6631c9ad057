//! The call chain at a panic or fault: walks the frame-pointer records (the targets keep
//! frame pointers) and prints the return addresses as one KTAP diagnostic,
//! `# backtrace: 0x... 0x...`. The harness symbolizes them from the ELF on the host.

use core::ops::Range;

unsafe extern "C" {
    // The boot stack (each arch's boot.S): every frame record must lie inside it.
    static boot_stack_bottom: u8;
    static boot_stack_top: u8;
}

const MAX_FRAMES: usize = 32;

/// The stack the kernel runs on.
fn stack() -> Range<usize> {
    (&raw const boot_stack_bottom) as usize..(&raw const boot_stack_top) as usize
}

/// Prints the return addresses of the chain that starts at `frame_pointer`.
pub fn print_from(frame_pointer: usize) {
    let stack = stack();
    let mut frame_pointer = frame_pointer;
    print!("{}", kernel_abi::ktap::BACKTRACE);
    for _ in 0..MAX_FRAMES {
        let Some((caller_frame, return_address)) = crate::arch::frame_record(frame_pointer, &stack) else { break };
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

/// Reads the two words of a frame record at `address`, if they lie inside `stack`.
///
/// # Safety
/// None needed from the caller: the bounds and alignment are checked here.
pub fn read_record(address: usize, stack: &Range<usize>) -> Option<(usize, usize)> {
    let fits = address.is_multiple_of(8) && stack.contains(&address) && address.checked_add(16)? <= stack.end;
    // SAFETY: the record lies inside the boot stack, which is mapped and readable.
    fits.then(|| unsafe { ((address as *const usize).read(), (address as *const usize).add(1).read()) })
}
