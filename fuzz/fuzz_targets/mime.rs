//! The mail readers on arbitrary bytes, each input read both as one message (`eml`) and as a
//! mailbox (`mbox`): headers and encoded words, quoted-printable and base64 bodies, every text
//! and HTML part, attachments recursed into through the registry (a zip attached to a mail),
//! within a 32 MiB budget; same invariants as `zip`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: leakdex_core::fuzzing::install_panic_hook(), |data: &[u8]| {
    leakdex_core::fuzzing::read_as("eml", data);
    leakdex_core::fuzzing::read_as("mbox", data);
});
