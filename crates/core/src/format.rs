//! On-disk layout constants and the header codec. `docs/FORMAT.md` is the prose version of this
//! file; keep the two in step.

use crate::error::Error;

/// First eight bytes of every index. Like PNG's signature: a high-bit byte catches 7-bit
/// transfers, `\r\n` and `\n` catch line-ending conversion, `\x1a` stops `type` on DOS.
pub const MAGIC: [u8; 8] = *b"\x89LDX\r\n\x1a\n";
/// The format version this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Length of a key: a SHA-1 digest.
pub const KEY_LEN: usize = 20;
/// Bytes of the per-record attribute (count and source set, see [`Attr`]).
pub const ATTR_LEN: usize = 4;
/// Fixed header length.
pub const HEADER_LEN: usize = 128;
/// Bytes of one section-table entry.
pub const SECTION_ENTRY_LEN: usize = 32;
/// Number of sections of a version-1 index this code writes, in file order.
pub const SECTION_COUNT: usize = 8;
/// Number of sections of a version-1 index written before the domain sections were added
/// (DOMAINS, OWNED): still read, and `domain` asks for a rebuild.
pub const LEGACY_SECTION_COUNT: usize = 6;
/// Where the section table of a current index ends.
pub const SECTION_TABLE_END: usize = section_table_end(SECTION_COUNT);

/// Where the section table of an index with `sections` sections ends.
pub const fn section_table_end(sections: usize) -> usize {
    HEADER_LEN + sections * SECTION_ENTRY_LEN
}
/// Page size sections that are probed at random are aligned to.
pub const PAGE: u64 = 4096;
/// Alignment of every other section.
pub const SECTION_ALIGN: u64 = 64;
/// Where the first section (the record table) starts.
pub const DATA_START: u64 = PAGE;
/// Largest fan-out: 2^24 buckets, 128 MiB of offsets.
pub const MAX_FANOUT_BITS: u8 = 24;
/// Bytes of one overflow attribute: count u64, set u32, reserved u32.
pub const OVERFLOW_LEN: usize = 16;

/// Header field offsets.
pub mod off {
    /// Magic, 8 bytes.
    pub const MAGIC: usize = 0;
    /// Format version, u32.
    pub const VERSION: usize = 8;
    /// Kind, u8.
    pub const KIND: usize = 12;
    /// Key length, u8.
    pub const KEY_LEN: usize = 13;
    /// Fan-out bits, u8.
    pub const FANOUT_BITS: usize = 14;
    /// Stripped key prefix bytes, u8.
    pub const STRIP_LEN: usize = 15;
    /// Record length, u32.
    pub const RECORD_LEN: usize = 16;
    /// Section count, u32.
    pub const SECTION_COUNT: usize = 20;
    /// Entry count, u64.
    pub const ENTRY_COUNT: usize = 24;
    /// File length, u64.
    pub const FILE_LEN: usize = 32;
    /// Bloom blocks, u64.
    pub const BLOOM_BLOCKS: usize = 40;
    /// Bloom probes per key, u32.
    pub const BLOOM_PROBES: usize = 48;
    /// Bloom block bytes, u32.
    pub const BLOOM_BLOCK_BYTES: usize = 52;
    /// Source-set count, u32.
    pub const SET_COUNT: usize = 56;
    /// Source count, u32.
    pub const SOURCE_COUNT: usize = 60;
    /// Overflow attribute count, u64.
    pub const OVERFLOW_COUNT: usize = 64;
    /// Header checksum, u32: CRC-32 of bytes 0..124 and the section table.
    pub const HEADER_CRC: usize = 124;
}

/// What an index holds keys of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// SHA-1 of normalized email addresses.
    Email,
    /// SHA-1 of passwords (UTF-8 bytes, not normalized).
    Password,
    /// NTLM hashes of passwords (MD4 of UTF-16LE; 16 bytes, stored with 4 zero bytes after).
    Ntlm,
}

impl Kind {
    /// Whether the keys are password hashes (SHA-1 or NTLM).
    pub fn is_password(self) -> bool {
        matches!(self, Kind::Password | Kind::Ntlm)
    }
    /// Hex digits of a key as written in hash lists and range responses: 40, or 32 for NTLM.
    pub fn hex_len(self) -> usize {
        match self {
            Kind::Ntlm => 32,
            _ => 40,
        }
    }
    /// The byte stored in the header.
    pub fn code(self) -> u8 {
        match self {
            Kind::Email => 1,
            Kind::Password => 2,
            Kind::Ntlm => 3,
        }
    }
    /// The kind for a header byte.
    pub fn from_code(code: u8) -> Option<Kind> {
        match code {
            1 => Some(Kind::Email),
            2 => Some(Kind::Password),
            3 => Some(Kind::Ntlm),
            _ => None,
        }
    }
    /// `email` or `password`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Email => "email",
            Kind::Password => "password",
            Kind::Ntlm => "ntlm",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Section identifiers, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum SectionId {
    /// Sorted fixed-size records.
    Table = 1,
    /// Fan-out offsets over the key prefix.
    Fanout = 2,
    /// Attributes that do not fit inline.
    Overflow = 3,
    /// Source-set dictionary.
    Sets = 4,
    /// Blocked Bloom filter.
    Bloom = 5,
    /// JSON metadata.
    Meta = 6,
    /// Per-domain aggregates, keyed by the SHA-1 of the domain ([`crate::domains`]).
    Domains = 7,
    /// Plaintext addresses of the domains given with `--own-domain` ([`crate::domains`]).
    Owned = 8,
}

impl SectionId {
    /// All sections in file order.
    pub const ALL: [SectionId; SECTION_COUNT] = [
        SectionId::Table,
        SectionId::Fanout,
        SectionId::Overflow,
        SectionId::Sets,
        SectionId::Bloom,
        SectionId::Meta,
        SectionId::Domains,
        SectionId::Owned,
    ];
    /// Lowercase name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            SectionId::Table => "table",
            SectionId::Fanout => "fanout",
            SectionId::Overflow => "overflow",
            SectionId::Sets => "sets",
            SectionId::Bloom => "bloom",
            SectionId::Meta => "meta",
            SectionId::Domains => "domains",
            SectionId::Owned => "owned",
        }
    }
}

/// One section-table entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Section {
    /// Byte offset in the file.
    pub offset: u64,
    /// Byte length.
    pub len: u64,
    /// CRC-32 of the section's bytes.
    pub crc: u32,
}

/// The decoded fixed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// What the keys are.
    pub kind: Kind,
    /// Number of top key bits the fan-out table indexes.
    pub fanout_bits: u8,
    /// Leading key bytes not stored in records (implied by the fan-out bucket).
    pub strip_len: u8,
    /// Bytes per record.
    pub record_len: u32,
    /// Number of records.
    pub entry_count: u64,
    /// Total file length.
    pub file_len: u64,
    /// Bloom filter blocks.
    pub bloom_blocks: u64,
    /// Number of source sets.
    pub set_count: u32,
    /// Number of sources.
    pub source_count: u32,
    /// Number of overflow attributes.
    pub overflow_count: u64,
    /// Sections, in [`SectionId::ALL`] order: [`SECTION_COUNT`] of them, or
    /// [`LEGACY_SECTION_COUNT`] in an index that predates the domain sections.
    pub sections: Vec<Section>,
}

/// Fan-out bits for an index of about `entries` entries: about eight records per bucket, so
/// the offsets cost about one byte per entry, capped at [`MAX_FANOUT_BITS`].
pub fn fanout_bits_for(entries: u64) -> u8 {
    let log2 = 63u32.saturating_sub(entries.max(1).leading_zeros());
    (log2.saturating_sub(3) as u8).min(MAX_FANOUT_BITS)
}

/// The fan-out bucket of a key: its top `fanout_bits` bits.
#[inline]
pub fn bucket_of(key: &[u8; KEY_LEN], fanout_bits: u8) -> u64 {
    if fanout_bits == 0 {
        0
    } else {
        u64::from(u32::from_be_bytes(key[0..4].try_into().expect("4 bytes")) >> (32 - u32::from(fanout_bits)))
    }
}

/// The full key of a record in `bucket`: the `fanout_bits / 8` leading bytes the record does
/// not store are the top bits of the bucket number; `stored` is the rest of the key.
pub fn key_in_bucket(bucket: u64, fanout_bits: u8, stored: &[u8]) -> [u8; KEY_LEN] {
    let strip = usize::from(fanout_bits / 8);
    let mut key = [0u8; KEY_LEN];
    if strip > 0 {
        let top = bucket >> (u64::from(fanout_bits) - 8 * strip as u64);
        key[..strip].copy_from_slice(&top.to_be_bytes()[8 - strip..]);
    }
    key[strip..].copy_from_slice(&stored[..KEY_LEN - strip]);
    key
}

/// Record length for a fan-out of `fanout_bits`.
pub fn record_len_for(fanout_bits: u8) -> u32 {
    (KEY_LEN - usize::from(fanout_bits / 8) + ATTR_LEN) as u32
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

impl Header {
    /// Encodes the header and section table (the first [`SECTION_TABLE_END`] bytes).
    pub fn encode(&self) -> Vec<u8> {
        let table_end = section_table_end(self.sections.len());
        let mut b = vec![0u8; table_end];
        b[off::MAGIC..off::MAGIC + 8].copy_from_slice(&MAGIC);
        b[off::VERSION..off::VERSION + 4].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        b[off::KIND] = self.kind.code();
        b[off::KEY_LEN] = KEY_LEN as u8;
        b[off::FANOUT_BITS] = self.fanout_bits;
        b[off::STRIP_LEN] = self.strip_len;
        b[off::RECORD_LEN..off::RECORD_LEN + 4].copy_from_slice(&self.record_len.to_le_bytes());
        b[off::SECTION_COUNT..off::SECTION_COUNT + 4].copy_from_slice(&(self.sections.len() as u32).to_le_bytes());
        b[off::ENTRY_COUNT..off::ENTRY_COUNT + 8].copy_from_slice(&self.entry_count.to_le_bytes());
        b[off::FILE_LEN..off::FILE_LEN + 8].copy_from_slice(&self.file_len.to_le_bytes());
        b[off::BLOOM_BLOCKS..off::BLOOM_BLOCKS + 8].copy_from_slice(&self.bloom_blocks.to_le_bytes());
        b[off::BLOOM_PROBES..off::BLOOM_PROBES + 4].copy_from_slice(&crate::bloom::PROBES.to_le_bytes());
        b[off::BLOOM_BLOCK_BYTES..off::BLOOM_BLOCK_BYTES + 4]
            .copy_from_slice(&(crate::bloom::BLOCK_BYTES as u32).to_le_bytes());
        b[off::SET_COUNT..off::SET_COUNT + 4].copy_from_slice(&self.set_count.to_le_bytes());
        b[off::SOURCE_COUNT..off::SOURCE_COUNT + 4].copy_from_slice(&self.source_count.to_le_bytes());
        b[off::OVERFLOW_COUNT..off::OVERFLOW_COUNT + 8].copy_from_slice(&self.overflow_count.to_le_bytes());
        for (i, (id, s)) in SectionId::ALL.iter().zip(&self.sections).enumerate() {
            let at = HEADER_LEN + i * SECTION_ENTRY_LEN;
            b[at..at + 4].copy_from_slice(&(*id as u32).to_le_bytes());
            b[at + 8..at + 16].copy_from_slice(&s.offset.to_le_bytes());
            b[at + 16..at + 24].copy_from_slice(&s.len.to_le_bytes());
            b[at + 24..at + 28].copy_from_slice(&s.crc.to_le_bytes());
        }
        let crc = header_crc(&b);
        b[off::HEADER_CRC..off::HEADER_CRC + 4].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes and validates the header against a file of `actual_len` bytes, in a fixed order:
    /// magic, version, header checksum, geometry, section bounds. No arithmetic on a field
    /// happens before the field is checked.
    pub fn decode(b: &[u8]) -> Result<Header, Error> {
        let actual_len = b.len() as u64;
        if b.len() < MAGIC.len() || b[..MAGIC.len()] != MAGIC {
            return Err(Error::NotAnIndex);
        }
        if b.len() < section_table_end(LEGACY_SECTION_COUNT) {
            let expected = section_table_end(LEGACY_SECTION_COUNT) as u64;
            return Err(Error::Truncated { expected, actual: actual_len });
        }
        let version = u32_at(b, off::VERSION);
        if version != FORMAT_VERSION {
            return Err(Error::Version { found: version, supported: FORMAT_VERSION });
        }
        // The section count is read (and bounded) before the checksum, which covers the table.
        let sections = u32_at(b, off::SECTION_COUNT) as usize;
        if sections != SECTION_COUNT && sections != LEGACY_SECTION_COUNT {
            return Err(Error::Corrupt {
                section: "header",
                reason: format!("{sections} sections (expected {SECTION_COUNT} or {LEGACY_SECTION_COUNT})"),
            });
        }
        let table_end = section_table_end(sections);
        if b.len() < table_end {
            return Err(Error::Truncated { expected: table_end as u64, actual: actual_len });
        }
        let crc = u32_at(b, off::HEADER_CRC);
        if crc != header_crc(&b[..table_end]) {
            return Err(Error::Checksum { section: "header" });
        }
        let corrupt = |reason: String| Error::Corrupt { section: "header", reason };
        let kind = Kind::from_code(b[off::KIND]).ok_or_else(|| corrupt(format!("unknown kind {}", b[off::KIND])))?;
        if usize::from(b[off::KEY_LEN]) != KEY_LEN {
            return Err(corrupt(format!("key length {} (expected {KEY_LEN})", b[off::KEY_LEN])));
        }
        let fanout_bits = b[off::FANOUT_BITS];
        if fanout_bits > MAX_FANOUT_BITS {
            return Err(corrupt(format!("fan-out of {fanout_bits} bits (at most {MAX_FANOUT_BITS})")));
        }
        let strip_len = b[off::STRIP_LEN];
        if strip_len != fanout_bits / 8 {
            return Err(corrupt(format!("strip length {strip_len} for {fanout_bits} fan-out bits")));
        }
        let record_len = u32_at(b, off::RECORD_LEN);
        if record_len != record_len_for(fanout_bits) {
            return Err(corrupt(format!("record length {record_len}")));
        }
        if u32_at(b, off::BLOOM_PROBES) != crate::bloom::PROBES
            || u32_at(b, off::BLOOM_BLOCK_BYTES) as usize != crate::bloom::BLOCK_BYTES
        {
            return Err(corrupt("unsupported Bloom filter geometry".into()));
        }
        let file_len = u64_at(b, off::FILE_LEN);
        if file_len != actual_len {
            return Err(Error::Truncated { expected: file_len, actual: actual_len });
        }
        let h = Header {
            kind,
            fanout_bits,
            strip_len,
            record_len,
            entry_count: u64_at(b, off::ENTRY_COUNT),
            file_len,
            bloom_blocks: u64_at(b, off::BLOOM_BLOCKS),
            set_count: u32_at(b, off::SET_COUNT),
            source_count: u32_at(b, off::SOURCE_COUNT),
            overflow_count: u64_at(b, off::OVERFLOW_COUNT),
            sections: Vec::with_capacity(sections),
        };
        let mut h = h;
        let mut prev_end = table_end as u64;
        for (i, id) in SectionId::ALL.iter().take(sections).enumerate() {
            let at = HEADER_LEN + i * SECTION_ENTRY_LEN;
            if u32_at(b, at) != *id as u32 {
                return Err(corrupt(format!("section {i} has id {} (expected {})", u32_at(b, at), *id as u32)));
            }
            let s = Section { offset: u64_at(b, at + 8), len: u64_at(b, at + 16), crc: u32_at(b, at + 24) };
            let end = s.offset.checked_add(s.len).filter(|&e| e <= file_len);
            if s.offset < prev_end || end.is_none() {
                return Err(Error::Corrupt { section: id.name(), reason: "section out of bounds".into() });
            }
            prev_end = end.unwrap_or(file_len);
            h.sections.push(s);
        }
        h.check_geometry()?;
        Ok(h)
    }

    /// The section entry for `id`; an empty section (offset and length 0) for a section the
    /// file predates (see [`Header::has_domains`]).
    pub fn section(&self, id: SectionId) -> Section {
        let at = SectionId::ALL.iter().position(|s| *s == id).expect("every id is in ALL");
        self.sections.get(at).copied().unwrap_or_default()
    }

    /// Whether the file has the DOMAINS and OWNED sections (every index this version writes;
    /// not one written before them).
    pub fn has_domains(&self) -> bool {
        self.sections.len() >= SECTION_COUNT
    }

    /// Where this file's section table ends.
    pub fn table_end(&self) -> usize {
        section_table_end(self.sections.len())
    }

    fn check_geometry(&self) -> Result<(), Error> {
        let expect = |id: SectionId, len: Option<u64>| -> Result<(), Error> {
            match len {
                Some(l) if l == self.section(id).len => Ok(()),
                _ => Err(Error::Corrupt {
                    section: id.name(),
                    reason: format!("length {} does not match the header", self.section(id).len),
                }),
            }
        };
        expect(SectionId::Table, self.entry_count.checked_mul(u64::from(self.record_len)))?;
        expect(SectionId::Fanout, Some(((1u64 << self.fanout_bits) + 1) * 8))?;
        expect(SectionId::Overflow, self.overflow_count.checked_mul(OVERFLOW_LEN as u64))?;
        expect(SectionId::Bloom, self.bloom_blocks.checked_mul(crate::bloom::BLOCK_BYTES as u64))?;
        if self.bloom_blocks == 0 {
            return Err(Error::Corrupt { section: "bloom", reason: "no blocks".into() });
        }
        let sets_min = (u64::from(self.set_count) + 1) * 4;
        if self.section(SectionId::Sets).len < sets_min {
            return Err(Error::Corrupt { section: "sets", reason: "shorter than its offsets".into() });
        }
        Ok(())
    }
}

/// CRC-32 of a header-plus-section-table buffer (exactly the header and the table), skipping
/// the checksum field itself.
pub fn header_crc(b: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&b[..off::HEADER_CRC]);
    h.update(&b[off::HEADER_CRC + 4..]);
    h.finalize()
}

/// A record's 4-byte attribute: the entry's occurrence count and source set.
///
/// Bit 31 clear: inline, count in bits 12..=30 (1 to 524,287), set id in bits 0..=11 (0 to
/// 4,095). Bit 31 set: bits 0..=30 index the overflow section, which holds both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attr {
    /// Count and set id stored in the record.
    Inline {
        /// Occurrences.
        count: u32,
        /// Source-set id.
        set: u32,
    },
    /// Index into the overflow section.
    Overflow(u32),
}

/// Flag bit of an overflow attribute.
pub const ATTR_OVERFLOW: u32 = 1 << 31;
/// Bits of an inline set id.
pub const ATTR_SET_BITS: u32 = 12;
/// Largest inline count.
pub const ATTR_MAX_INLINE_COUNT: u64 = (1 << (31 - ATTR_SET_BITS)) - 1;
/// Largest inline set id.
pub const ATTR_MAX_INLINE_SET: u32 = (1 << ATTR_SET_BITS) - 1;
/// Largest overflow index.
pub const ATTR_MAX_OVERFLOW: u64 = (ATTR_OVERFLOW - 1) as u64;

impl Attr {
    /// Decodes the stored value.
    pub fn decode(v: u32) -> Attr {
        if v & ATTR_OVERFLOW != 0 {
            Attr::Overflow(v & !ATTR_OVERFLOW)
        } else {
            Attr::Inline { count: v >> ATTR_SET_BITS, set: v & ATTR_MAX_INLINE_SET }
        }
    }
    /// Encodes to the stored value.
    pub fn encode(self) -> u32 {
        match self {
            Attr::Inline { count, set } => (count << ATTR_SET_BITS) | set,
            Attr::Overflow(i) => ATTR_OVERFLOW | i,
        }
    }
}

/// Rounds `x` up to a multiple of `align` (a power of two).
pub fn align_up(x: u64, align: u64) -> u64 {
    (x + align - 1) & !(align - 1)
}
