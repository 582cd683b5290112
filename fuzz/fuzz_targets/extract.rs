//! Free-text extraction never truncates: every candidate that `extract` gives for a line (and
//! that normalizes to an address) is a slice of that line, bounded on both sides by
//! characters that cannot continue an address. An invisible format character (ZWSP, BOM...)
//! does not count as a boundary between two address characters.
//!
//! The classes here are written from the rule in `ingest/text.rs`'s documentation, not taken
//! from its code: on the left, a letter, digit, combining mark or one of `_ + ! $ % * ^ { | } ~
//! @` would continue the local part; `' ` . -` are quotes and punctuation that may be dropped
//! only at the start of a token; `/ ? # & =` split URL paths and `key=value` pairs. On the
//! right, a letter, digit, mark, `@` or `_` would continue the domain, and so would dots
//! (ASCII or ideographic) and hyphens followed by an ASCII letter or digit.
#![no_main]

use icu_properties::props::{GeneralCategory, GeneralCategoryGroup};
use icu_properties::CodePointMapData;
use leakdex_core::normalize::is_format;
use libfuzzer_sys::fuzz_target;

/// Label separators and hyphens: after a candidate, they may only be sentence punctuation.
const DOTS: &str = ".-\u{3002}\u{FF0E}\u{FF61}";

fn is_mark(c: char) -> bool {
    GeneralCategoryGroup::Mark.contains(CodePointMapData::<GeneralCategory>::new().get(c))
}

/// Would continue a local part to the left of a candidate.
fn continues_local(c: char) -> bool {
    c.is_alphanumeric() || is_mark(c) || "_+!$%*^{|}~@\u{FF20}\u{FF3F}\u{FF0B}".contains(c)
}

/// Would continue a domain to the right of a candidate.
fn continues_domain(c: char) -> bool {
    c.is_alphanumeric() || is_mark(c) || "@_\u{FF20}\u{FF3F}".contains(c)
}

fuzz_target!(|data: &[u8]| {
    // Decoded as the parsers decode a line: UTF-8, else windows-1252.
    let text = match std::str::from_utf8(data) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(data).0,
    };
    for line in text.split('\n') {
        // Obfuscated forms: never a panic, and never longer than an address could be written.
        leakdex_core::ingest::text::extract_obfuscated(line, &mut |c| {
            assert!(c.len() <= 2 * 512, "obfuscated candidate of {} bytes", c.len());
        });
        let mut found: Vec<(usize, usize)> = Vec::new();
        leakdex_core::ingest::text::extract(line, &mut |c| {
            let start = (c.as_ptr() as usize).wrapping_sub(line.as_ptr() as usize);
            assert!(start <= line.len() && start + c.len() <= line.len(), "candidate {c:?} is not a slice of {line:?}");
            found.push((start, start + c.len()));
        });
        for (start, end) in found {
            let cand = &line[start..end];
            if cand.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("mailto:")) {
                continue; // percent-encoded; decoded by normalize_email
            }
            if leakdex_core::normalize_email(cand).is_err() {
                continue; // never indexed
            }
            // Left side, invisible characters skipped.
            let mut left = line[..start].chars().rev().skip_while(|&c| is_format(c)).peekable();
            if let Some(&p) = left.peek() {
                assert!(!continues_local(p), "{cand:?} cut after {p:?} in {line:?}");
                if "'`.-".contains(p) {
                    let beyond = left.find(|&c| !"'`.-".contains(c));
                    assert!(!beyond.is_some_and(continues_local), "{cand:?} cut inside a token in {line:?}");
                }
            }
            // Right side.
            let mut right = line[end..].chars().skip_while(|&c| is_format(c)).peekable();
            if let Some(&n) = right.peek() {
                assert!(!continues_domain(n), "{cand:?} cut before {n:?} in {line:?}");
                if DOTS.contains(n) {
                    let beyond = right.find(|&c| !DOTS.contains(c));
                    assert!(
                        !beyond.is_some_and(|c| c.is_ascii_alphanumeric()),
                        "{cand:?} cut inside a domain in {line:?}"
                    );
                }
            }
        }
    }
});
