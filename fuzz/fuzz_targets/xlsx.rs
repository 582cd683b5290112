//! The office reader (xlsx, xlsb, docx, pptx, ODF) on arbitrary zip bytes, as the zip reader
//! hands it a document: shared strings, sheets, document parts, embedded files (recursed into
//! through the registry), within a 32 MiB budget; same invariants as `zip`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: leakdex_core::fuzzing::install_panic_hook(), |data: &[u8]| {
    leakdex_core::fuzzing::read_office(data);
});
