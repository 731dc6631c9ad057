//! The `#[ktest]` attribute: declares a kernel test next to the code it tests.
//!
//! ```ignore
//! #[ktest]
//! fn formats_integers() { assert_eq!(format!("{}", 42), "42"); }
//!
//! #[ktest(should_panic = "index out of bounds", timeout = 30)]
//! fn out_of_bounds() { ... }
//!
//! #[ktest(ignore = "not yet", arch = "x86_64")]
//! fn later() { ... }
//!
//! #[ktest(cpus = 4)]
//! fn counter_is_exact() { ... } // the body runs on 4 CPUs at once
//! ```
//!
//! The function stays as written; next to it the attribute places a `ktest::Test` in the
//! `.ktest_array` linker section, where the runner (the `ktest` crate) finds every test of
//! every crate linked into the image, without a central list. The expansion names
//! `::ktest::...`, so any crate that depends on `ktest` can hold tests.
//!
//! Both are compiled only under `cfg(any(test, feature = "ktest"))`, evaluated in the crate
//! that holds the test: each such crate declares a `ktest` feature, which the kernel's own
//! `ktest` feature turns on, so a normal image carries no tests. `arch = "..."`
//! (repeatable) compiles the test only for those architectures: an arch-specific test may
//! use code that exists only there.

use proc_macro::TokenStream;
use quote::quote;
use syn::{Ident, ItemFn, LitInt, LitStr, parse_macro_input};

#[derive(Default)]
struct Options {
    should_panic: Option<Option<LitStr>>,
    ignore: Option<LitStr>,
    arches: Vec<LitStr>,
    timeout: Option<LitInt>,
    cpus: Option<LitInt>,
}

#[proc_macro_attribute]
pub fn ktest(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut options = Options::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("should_panic") {
            options.should_panic =
                Some(if meta.input.peek(syn::Token![=]) { Some(meta.value()?.parse()?) } else { None });
        } else if meta.path.is_ident("ignore") {
            options.ignore = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("arch") {
            options.arches.push(meta.value()?.parse()?);
        } else if meta.path.is_ident("timeout") {
            options.timeout = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("cpus") {
            options.cpus = Some(meta.value()?.parse()?);
        } else {
            return Err(meta.error(
                "unknown ktest option: expected `should_panic`, `should_panic = \"text\"`, \
                 `ignore = \"reason\"`, `arch = \"name\"`, `timeout = SECONDS` or `cpus = N`",
            ));
        }
        Ok(())
    });
    parse_macro_input!(attr with parser);
    let function = parse_macro_input!(item as ItemFn);
    match expand(options, function) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

fn expand(options: Options, function: ItemFn) -> syn::Result<proc_macro2::TokenStream> {
    let signature = &function.sig;
    if !signature.inputs.is_empty() || !matches!(signature.output, syn::ReturnType::Default) {
        return Err(syn::Error::new_spanned(signature, "a kernel test takes no arguments and returns `()`"));
    }
    let name: &Ident = &signature.ident;
    let should_panic = match &options.should_panic {
        None => quote!(::ktest::ShouldPanic::No),
        Some(None) => quote!(::ktest::ShouldPanic::Yes),
        Some(Some(text)) => quote!(::ktest::ShouldPanic::WithMessage(#text)),
    };
    let ignore = match &options.ignore {
        Some(reason) => quote!(Some(#reason)),
        None => quote!(None),
    };
    let timeout = match &options.timeout {
        Some(seconds) => quote!(#seconds),
        None => quote!(0),
    };
    let cpu_count = match &options.cpus {
        Some(count) => count.base10_parse::<u32>()?,
        None => 1,
    };
    // The image's table of each test's CPUs, for the harness's `-smp` (ktest/src/lib.rs,
    // `CPUS_SECTION`): not loaded, read from the ELF file.
    let cpus_record = format!("{cpu_count} ");
    let cpus = match &options.cpus {
        Some(count) if count.base10_parse::<u32>()? == 0 => {
            return Err(syn::Error::new_spanned(count, "a test runs on at least 1 CPU"));
        }
        // A panic on another CPU ends the boot: an expected one cannot be told from a failure.
        Some(count) if options.should_panic.is_some() && count.base10_parse::<u32>()? > 1 => {
            return Err(syn::Error::new_spanned(count, "`should_panic` tests run on one CPU"));
        }
        Some(count) => quote!(#count),
        None => quote!(1),
    };
    let arches = &options.arches;
    let arch_cfg = if arches.is_empty() { quote!() } else { quote!(#[cfg(any(#(target_arch = #arches),*))]) };
    Ok(quote! {
        #[cfg(any(test, feature = "ktest"))]
        #arch_cfg
        #function

        #[cfg(any(test, feature = "ktest"))]
        #arch_cfg
        const _: () = {
            #[used]
            #[unsafe(link_section = ".ktest_array")]
            static TEST: ::ktest::Test = ::ktest::Test {
                module: module_path!(),
                function: stringify!(#name),
                run: #name,
                should_panic: #should_panic,
                ignore: #ignore,
                timeout_secs: #timeout,
                cpus: #cpus,
            };
            const RECORD: &[u8] = concat!(#cpus_record, module_path!(), "::", stringify!(#name), "\n").as_bytes();
            #[used]
            #[unsafe(link_section = ".ktest_cpus")]
            static CPUS: [u8; RECORD.len()] = {
                let mut bytes = [0; RECORD.len()];
                let mut index = 0;
                while index < RECORD.len() {
                    bytes[index] = RECORD[index];
                    index += 1;
                }
                bytes
            };
        };
    })
}
