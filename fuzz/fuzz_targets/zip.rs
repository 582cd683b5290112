//! The zip reader and everything it hands members to, nested (office documents, zips, 7z, tar,
//! gzip, and every reader of the registry, to the default `--max-depth`), on arbitrary bytes,
//! within a 32 MiB expanded-size budget: no panic in the project's code, no panic a reader
//! leaves uncaught, the budget never overrun by more than a read buffer, no sink call after a
//! `Stop` (`leakdex_core::fuzzing` asserts these).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: leakdex_core::fuzzing::install_panic_hook(), |data: &[u8]| {
    leakdex_core::fuzzing::read_as("zip", data);
});
