//! Standalone Bloom filter files (`leakdex export-filter`): a small file an onboarding tool can
//! ship to answer "possibly exposed" offline, without the index.
//!
//! Layout (all integers little-endian), 64-byte header then the blocks:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `89 4C 44 46 0D 0A 1A 0A` (`\x89LDF\r\n\x1a\n`) |
//! | 8 | 4 | version (1) |
//! | 12 | 1 | kind (1 email, 2 password) |
//! | 13 | 1 | probes per key (8) |
//! | 14 | 2 | block bytes (64) |
//! | 16 | 8 | blocks |
//! | 24 | 8 | entries |
//! | 32 | 8 | target false-positive rate, f64 |
//! | 40 | 4 | CRC-32 of the blocks |
//! | 44 | 16 | reserved, zero |
//! | 60 | 4 | CRC-32 of bytes 0..60 |
//! | 64 | blocks × 64 | the filter, as in the index |

use std::io::Write;
use std::path::Path;

use crate::bloom;
use crate::error::{Error, Result};
use crate::format::{u32_at, u64_at, Kind, SectionId};
use crate::{Index, Key};

/// Magic of a filter file.
pub const FILTER_MAGIC: [u8; 8] = *b"\x89LDF\r\n\x1a\n";
/// Version of the filter file format.
pub const FILTER_VERSION: u32 = 1;
/// Header bytes.
pub const FILTER_HEADER_LEN: usize = 64;

/// An open filter file over any byte container.
pub struct Filter<D> {
    data: D,
    kind: Kind,
    blocks: u64,
    entries: u64,
    fpr: f64,
    body_crc: u32,
}

impl Filter<memmap2::Mmap> {
    /// Opens and maps a filter file.
    pub fn open(path: impl AsRef<Path>) -> Result<Filter<memmap2::Mmap>> {
        let path = path.as_ref();
        let wrap = |e| Error::Open { path: path.into(), source: Box::new(e) };
        Filter::new(crate::reader::map_file(path).map_err(wrap)?).map_err(wrap)
    }
}

/// Whether `bytes` start like a filter file.
pub fn is_filter(bytes: &[u8]) -> bool {
    bytes.starts_with(&FILTER_MAGIC)
}

impl<D: AsRef<[u8]>> Filter<D> {
    /// Opens a filter held in `data`: checks the magic, version, header checksum and length.
    pub fn new(data: D) -> Result<Filter<D>> {
        let b = data.as_ref();
        if !is_filter(b) {
            return Err(Error::NotAnIndex);
        }
        if b.len() < FILTER_HEADER_LEN {
            return Err(Error::Truncated { expected: FILTER_HEADER_LEN as u64, actual: b.len() as u64 });
        }
        let version = u32_at(b, 8);
        if version != FILTER_VERSION {
            return Err(Error::Version { found: version, supported: FILTER_VERSION });
        }
        if u32_at(b, 60) != crc32fast::hash(&b[..60]) {
            return Err(Error::Checksum { section: "filter header" });
        }
        let kind = Kind::from_code(b[12])
            .ok_or_else(|| Error::Corrupt { section: "filter header", reason: "unknown kind".into() })?;
        if u32::from(b[13]) != bloom::PROBES || usize::from(u16::from_le_bytes([b[14], b[15]])) != bloom::BLOCK_BYTES {
            return Err(Error::Corrupt { section: "filter header", reason: "unsupported filter geometry".into() });
        }
        let blocks = u64_at(b, 16);
        let expected =
            blocks.checked_mul(bloom::BLOCK_BYTES as u64).and_then(|n| n.checked_add(FILTER_HEADER_LEN as u64));
        if blocks == 0 || expected != Some(b.len() as u64) {
            return Err(Error::Truncated { expected: expected.unwrap_or(u64::MAX), actual: b.len() as u64 });
        }
        let (entries, fpr, body_crc) = (u64_at(b, 24), f64::from_bits(u64_at(b, 32)), u32_at(b, 40));
        Ok(Filter { data, kind, blocks, entries, fpr, body_crc })
    }

    fn body(&self) -> &[u8] {
        &self.data.as_ref()[FILTER_HEADER_LEN..]
    }
    /// Email or password.
    pub fn kind(&self) -> Kind {
        self.kind
    }
    /// Entries the filter was built from.
    pub fn entries(&self) -> u64 {
        self.entries
    }
    /// Target false-positive rate at build time.
    pub fn fpr(&self) -> f64 {
        self.fpr
    }
    /// Whether `key` may be in the set (`false`: certainly not).
    pub fn may_contain(&self, key: &Key) -> bool {
        bloom::may_contain(self.body(), self.blocks, key)
    }
    /// Whether an email address may be exposed. Invalid addresses are an error.
    pub fn may_contain_email(&self, address: &str) -> Result<bool> {
        Ok(self.may_contain(&crate::email_key(address)?))
    }
    /// Checks the body checksum.
    pub fn verify(&self) -> Result<()> {
        if crc32fast::hash(self.body()) != self.body_crc {
            return Err(Error::Checksum { section: "filter" });
        }
        Ok(())
    }
}

/// Writes the Bloom filter of `index` as a standalone filter file at `dest`, atomically, with
/// permission bits `mode` (give the index file's: [`crate::atomic::mode_of_inputs`]).
pub fn export_filter<D: AsRef<[u8]>>(index: &Index<D>, dest: &Path, mode: crate::atomic::Mode) -> Result<()> {
    let h = index.header();
    let body = index.section_bytes(SectionId::Bloom);
    let mut head = [0u8; FILTER_HEADER_LEN];
    head[..8].copy_from_slice(&FILTER_MAGIC);
    head[8..12].copy_from_slice(&FILTER_VERSION.to_le_bytes());
    head[12] = h.kind.code();
    head[13] = bloom::PROBES as u8;
    head[14..16].copy_from_slice(&(bloom::BLOCK_BYTES as u16).to_le_bytes());
    head[16..24].copy_from_slice(&h.bloom_blocks.to_le_bytes());
    head[24..32].copy_from_slice(&h.entry_count.to_le_bytes());
    head[32..40].copy_from_slice(&index.meta().fpr.to_bits().to_le_bytes());
    head[40..44].copy_from_slice(&crc32fast::hash(body).to_le_bytes());
    let crc = crc32fast::hash(&head[..60]);
    head[60..64].copy_from_slice(&crc.to_le_bytes());
    crate::atomic::write_atomically(dest, mode, |w| {
        w.write_all(&head)?;
        w.write_all(body)
    })
}
