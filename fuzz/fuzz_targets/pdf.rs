//! The PDF reader on arbitrary bytes (text layers, stream filters, object streams, pages
//! without text), within a 32 MiB budget: no panic in the project's code, no parser panic the
//! reader leaves uncaught, no text part larger than the budget left, no sink call after a
//! `Stop` (`leakdex_core::fuzzing` asserts these).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: leakdex_core::fuzzing::install_panic_hook(), |data: &[u8]| {
    leakdex_core::fuzzing::read_as("pdf", data);
});
