//! Email normalization: never panics, and normalizing a normalized address changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(once) = leakdex_core::normalize_email(s) {
        assert_eq!(leakdex_core::normalize_email(&once).as_deref(), Ok(once.as_str()), "input {s:?}");
        assert!(once.len() <= leakdex_core::normalize::MAX_ADDRESS_LEN);
    }
    let mut found = Vec::new();
    leakdex_core::ingest::text::extract(s, &mut |c| found.push(c.len()));
});
