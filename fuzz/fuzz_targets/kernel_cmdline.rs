//! The kernel's command-line parser (it runs in the kernel, before the heap) on any text:
//! it must not panic, and whatever it accepts must survive a write and a re-parse.

#![no_main]

use kernel_abi::cmdline::Request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(request) = Request::parse(text) else { return };
    let mut written = String::new();
    request.write_to(&mut written).expect("writing to a String cannot fail");
    let reparsed = Request::parse(&written).expect("a written request parses");
    assert_eq!(reparsed, request, "round trip of {text:?} through {written:?}");
    for name in ["a", "mm::heap::big", "zz"] {
        let _ = request.runs(name);
    }
});
