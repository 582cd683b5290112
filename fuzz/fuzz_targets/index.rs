//! Opening and querying an index from arbitrary bytes: errors, never a panic, a hang or an
//! out-of-bounds read.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(index) = leakdex_core::Index::new(data) else { return };
    let _ = index.verify();
    let _ = index.stats();
    let _ = index.bucket_stats(2);
    for i in 0..8u8 {
        let key = [i.wrapping_mul(37); 20];
        let _ = index.lookup_hash(&key);
    }
    let _ = index.lookup_email("a@example.com");
    let _ = index.lookup_password("password");
    if let Ok(range) = index.range("5") {
        range.take(64).for_each(drop);
    }
    let _ = leakdex_core::filter::Filter::new(data).map(|f| f.verify());
});
