//! leakdex-core: build compact, memory-mapped exposure indexes from leak corpora and query them.
//!
//! An index holds SHA-1 keys only, never plaintext: of normalized email addresses (see
//! [`normalize_email`]) or of passwords. Each key carries its occurrence count and the set of
//! sources (datasets) it was found in. An email index also holds figures per domain, keyed by
//! the domain's SHA-1, and, only when built with [`BuildOptions::own_domains`], the plaintext
//! addresses of those domains ([`domains`]).
//!
//! ```no_run
//! use leakdex_core::{build, BuildOptions, Index, InputSpec, Kind};
//!
//! let opts = BuildOptions::new(Kind::Email);
//! let inputs = vec![InputSpec::path("data/forum-2020.sql")];
//! build(&inputs, "demo.ldx".as_ref(), &opts, &mut |_| {})?;
//!
//! let index = Index::open("demo.ldx")?;
//! let hit = index.lookup_email("ruth@example.com")?;
//! println!("exposed: {}", hit.is_some());
//! # Ok::<(), leakdex_core::Error>(())
//! ```
#![deny(missing_docs)]

pub mod atomic;
pub mod bloom;
pub mod build;
pub mod diff;
pub mod domains;
mod error;
pub mod export;
pub mod filter;
pub mod format;
#[doc(hidden)]
pub mod fuzzing;
pub mod ingest;
pub mod manifest;
mod meta;
pub mod normalize;
pub mod range;
mod reader;
pub mod report;
mod runs;
pub mod writer;

pub use build::{build, BuildOptions};
pub use error::{Error, Result};
pub use format::Kind;
pub use ingest::input::InputSpec;
pub use meta::{Meta, Source};
pub use normalize::{normalize_email, Invalid};
pub use reader::{BucketStats, Entry, Index, Range, SourceIds, Stats};
pub use report::{BuildReport, Progress};

use sha1::{Digest, Sha1};

/// A key: a SHA-1 digest.
pub type Key = [u8; 20];

/// The key of an email address: SHA-1 of its normalized form.
///
/// ```
/// let key = leakdex_core::email_key("Test@Example.com").unwrap();
/// assert!(leakdex_core::hex(&key).starts_with("567159"));
/// ```
pub fn email_key(address: &str) -> Result<Key, Invalid> {
    Ok(Sha1::digest(normalize_email(address)?.as_bytes()).into())
}

/// The keys an address is indexed under: its key ([`email_key`]), and for an address with an
/// internationalized domain also the key of its Unicode form ([`normalize::unicode_form`]:
/// `anna@münchen.example` beside `anna@xn--mnchen-3ya.example`), so that clients hashing either
/// form find it.
///
/// ```
/// let (key, unicode) = leakdex_core::email_keys("Anna@M\u{fc}nchen.example").unwrap();
/// assert_eq!(key, leakdex_core::email_key("anna@xn--mnchen-3ya.example").unwrap());
/// assert!(unicode.is_some());
/// assert_eq!(leakdex_core::email_keys("anna@example.com").unwrap().1, None);
/// ```
pub fn email_keys(address: &str) -> Result<(Key, Option<Key>), Invalid> {
    let n = normalize_email(address)?;
    let unicode = normalize::unicode_form(&n).map(|u| Sha1::digest(u.as_bytes()).into());
    Ok((Sha1::digest(n.as_bytes()).into(), unicode))
}

/// The key of a password: SHA-1 of its bytes, unchanged.
///
/// ```
/// let key = leakdex_core::password_key(b"password");
/// assert!(leakdex_core::hex(&key).starts_with("5BAA6"));
/// ```
pub fn password_key(password: &[u8]) -> Key {
    Sha1::digest(password).into()
}

/// The key of a password in an NTLM index: MD4 of its UTF-16LE encoding (the NTLM hash, as
/// in the Pwned Passwords NTLM lists), followed by four zero bytes.
///
/// ```
/// let key = leakdex_core::ntlm_key("password");
/// assert_eq!(leakdex_core::hex(&key[..16]), "8846F7EAEE8FB117AD06BDD830B7586C");
/// ```
pub fn ntlm_key(password: &str) -> Key {
    use md4::{Digest as _, Md4};
    let mut h = Md4::new();
    for unit in password.encode_utf16() {
        h.update(unit.to_le_bytes());
    }
    let mut key = [0u8; 20];
    key[..16].copy_from_slice(&h.finalize());
    key
}

/// The key of a password for an index of `kind` (SHA-1 for password indexes, NTLM for NTLM
/// indexes).
pub fn password_key_for(kind: Kind, password: &str) -> Key {
    match kind {
        Kind::Ntlm => ntlm_key(password),
        _ => password_key(password.as_bytes()),
    }
}

/// Uppercase hexadecimal, as HIBP writes hashes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Parses 40 hexadecimal digits (any case) into a key; 32 digits (an NTLM hash) give a key
/// ending in four zero bytes.
pub fn parse_key(s: &str) -> Option<Key> {
    let b = s.as_bytes();
    if b.len() != 40 && b.len() != 32 {
        return None;
    }
    let mut key = [0u8; 20];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        key[i] = (hi * 16 + lo) as u8;
    }
    Some(key)
}
