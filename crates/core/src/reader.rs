//! Reading an index: cheap open, lookups, range queries and full verification.

use std::path::Path;

use crate::bloom;
use crate::error::{Error, Result};
use crate::format::{self, Attr, Header, Kind, SectionId, KEY_LEN, OVERFLOW_LEN};
use crate::meta::{Meta, Source};
use crate::{email_key, Key};

/// Maps a file read-only.
///
/// # Safety
///
/// The returned map is only sound while no process truncates or writes the file. leakdex never
/// modifies an index in place: `build` writes a new file and renames it over the old one, so a
/// mapped index stays intact. Do not edit index files with other tools while they are open.
pub(crate) fn map_file(path: &Path) -> Result<memmap2::Mmap> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    // A directory opens, but cannot be mapped ("No such device"): say what it is instead.
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        let e = std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory, not an index file");
        return Err(Error::io(path, e));
    }
    // SAFETY: see the function's safety section: index files are replaced by rename, never
    // modified in place, so the mapping is not changed under us by leakdex itself.
    unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))
}

/// How a map will be read, told to the kernel before the first page is touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// No advice (the kernel's default read-ahead).
    Normal,
    /// Lookups: each fault reads one page (`MADV_RANDOM`).
    Random,
    /// Whole-file scans: aggressive read-ahead (`MADV_SEQUENTIAL`).
    Sequential,
}

/// An open index over any byte container: a memory map (see [`Index::open`]) or a `Vec<u8>`.
///
/// ```no_run
/// let index = leakdex_core::Index::open("staff-exposure.ldx")?;
/// if let Some(hit) = index.lookup_email("Ruth@Example.com")? {
///     for source in hit.sources.iter() {
///         println!("{} ({} times)", index.sources()[source as usize].name, hit.count);
///     }
/// }
/// # Ok::<(), leakdex_core::Error>(())
/// ```
pub struct Index<D> {
    data: D,
    header: Header,
    meta: Meta,
}

/// One entry of an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The full SHA-1 key.
    pub key: Key,
    /// Occurrences across all sources.
    pub count: u64,
    /// The sources the key appears in.
    pub sources: SourceIds<'a>,
}

/// The source ids of an entry, read in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceIds<'a> {
    bytes: &'a [u8],
}

impl<'a> SourceIds<'a> {
    /// The ids, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u32> + 'a {
        self.bytes.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
    }
    /// How many sources.
    pub fn len(&self) -> usize {
        self.bytes.len() / 4
    }
    /// Whether there are none (never, in a valid index).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// How many entries share each hexadecimal prefix of one length: what a k-anonymity range
/// API with that prefix length would reveal.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BucketStats {
    /// Prefix length in hex digits.
    pub prefix_len: usize,
    /// Number of possible prefixes (16^len).
    pub buckets: u64,
    /// Prefixes with no entry.
    pub empty: u64,
    /// Smallest non-empty bucket (0 for an empty index).
    pub min: u64,
    /// Median non-empty bucket.
    pub median: u64,
    /// Largest bucket.
    pub max: u64,
}

/// Figures about an index.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Stats {
    /// Email or password.
    pub kind: Kind,
    /// Distinct keys.
    pub entries: u64,
    /// Total file size.
    pub file_bytes: u64,
    /// Bytes of the record table.
    pub table_bytes: u64,
    /// Bytes of the fan-out table.
    pub fanout_bytes: u64,
    /// Bytes of the Bloom filter.
    pub bloom_bytes: u64,
    /// Bloom filter bits per entry.
    pub bloom_bits_per_entry: f64,
    /// The filter's expected false-positive rate at its actual load.
    pub bloom_expected_fpr: f64,
    /// Fan-out bits.
    pub fanout_bits: u8,
    /// Number of distinct source sets.
    pub source_sets: u32,
}

impl Index<memmap2::Mmap> {
    /// Opens and memory-maps an index file. Cheap: reads the header, checks its checksum and
    /// every section's bounds, checks that the file is exactly as long as the header says, and
    /// parses the small metadata section. Use [`Index::verify`] for a full check.
    ///
    /// # Hazard: the file must not change while it is open
    ///
    /// The index is read through a memory map, not copied. If another process truncates the
    /// file or writes into it while the map is alive (`cp new.ldx live.ldx` does both), reads
    /// see the new bytes halfway through a lookup, and touching a page past a truncated end
    /// kills the process with `SIGBUS`. Replace an index by writing a new file and renaming it
    /// over the old one (`mv`, or what `leakdex build` does): the open map keeps the old file
    /// alive and intact.
    ///
    /// This is a documented hazard rather than an `unsafe fn` (as `fst` does): the hazard
    /// comes from other processes, not from how the caller uses the API, so no caller-side
    /// precondition could make the call sound; every index writer in leakdex renames, and the
    /// size check above turns the common case of a file replaced in place before opening into
    /// an error ([`Error::Truncated`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Index<memmap2::Mmap>> {
        Self::open_with(path.as_ref(), Access::Normal)
    }

    /// Like [`Index::open`], for lookups and ranges: the map is marked for random access
    /// (`MADV_RANDOM`) before anything is read, so a page fault reads just that page instead of
    /// the pages around it (up to megabytes with a large read-ahead). On a cold cache, or an
    /// index bigger than RAM, a check then reads only the pages it touches. Use
    /// [`Index::open_sequential`] for [`Index::verify`] and other front-to-back reads. The
    /// hazard described on [`Index::open`] applies.
    pub fn open_random(path: impl AsRef<Path>) -> Result<Index<memmap2::Mmap>> {
        Self::open_with(path.as_ref(), Access::Random)
    }

    /// Like [`Index::open`], for reading the whole file front to back ([`Index::verify`]): the
    /// map is marked for sequential access (`MADV_SEQUENTIAL`), so the kernel reads ahead
    /// aggressively. The hazard described on [`Index::open`] applies.
    pub fn open_sequential(path: impl AsRef<Path>) -> Result<Index<memmap2::Mmap>> {
        Self::open_with(path.as_ref(), Access::Sequential)
    }

    /// [`Index::bucket_stats`] for a map opened with [`Index::open_random`]: the scan reads the
    /// whole table front to back, so the map is marked sequential for it and random again
    /// after (a server's start-up scan, then lookups).
    pub fn scan_bucket_stats(&self, prefix_len: usize) -> Result<BucketStats> {
        advise(&self.data, Access::Sequential);
        let stats = self.bucket_stats(prefix_len);
        advise(&self.data, Access::Random);
        stats
    }

    fn open_with(path: &Path, access: Access) -> Result<Index<memmap2::Mmap>> {
        let map = map_file(path).map_err(|e| Error::Open { path: path.into(), source: Box::new(e) })?;
        advise(&map, access);
        Index::new(map).map_err(|e| Error::Open { path: path.into(), source: Box::new(e) })
    }
}

/// Tells the kernel how a map will be read. Advice only: a kernel that refuses it still gives
/// correct reads.
fn advise(map: &memmap2::Mmap, access: Access) {
    #[cfg(unix)]
    {
        let advice = match access {
            Access::Normal => return,
            Access::Random => memmap2::Advice::Random,
            Access::Sequential => memmap2::Advice::Sequential,
        };
        let _ = map.advise(advice);
    }
    #[cfg(not(unix))]
    let _ = (map, access);
}

impl<D: AsRef<[u8]>> Index<D> {
    /// Opens an index held in `data`.
    pub fn new(data: D) -> Result<Index<D>> {
        let bytes = data.as_ref();
        let header = Header::decode(bytes)?;
        let meta_bytes = slice(bytes, header.section(SectionId::Meta));
        let meta: Meta = serde_json::from_slice(meta_bytes)
            .map_err(|e| Error::Corrupt { section: "meta", reason: e.to_string() })?;
        if meta.kind != header.kind || meta.sources.len() != header.source_count as usize {
            return Err(Error::Corrupt { section: "meta", reason: "does not match the header".into() });
        }
        Ok(Index { data, header, meta })
    }

    /// The bytes the index reads from, as given to [`Index::new`] (a map, a buffer).
    pub fn data(&self) -> &D {
        &self.data
    }

    fn bytes(&self) -> &[u8] {
        self.data.as_ref()
    }
    fn section(&self, id: SectionId) -> &[u8] {
        slice(self.bytes(), self.header.section(id))
    }

    /// The raw bytes of a section.
    pub fn section_bytes(&self, id: SectionId) -> &[u8] {
        self.section(id)
    }

    /// Email or password.
    pub fn kind(&self) -> Kind {
        self.header.kind
    }
    /// Number of distinct keys.
    pub fn len(&self) -> u64 {
        self.header.entry_count
    }
    /// Whether the index has no keys.
    pub fn is_empty(&self) -> bool {
        self.header.entry_count == 0
    }
    /// The sources, indexed by source id.
    pub fn sources(&self) -> &[Source] {
        &self.meta.sources
    }
    /// The build metadata.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }
    /// The decoded header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Figures about the index.
    pub fn stats(&self) -> Stats {
        let h = &self.header;
        let bloom_bytes = h.section(SectionId::Bloom).len;
        let load = h.entry_count as f64 / h.bloom_blocks as f64;
        Stats {
            kind: h.kind,
            entries: h.entry_count,
            file_bytes: h.file_len,
            table_bytes: h.section(SectionId::Table).len,
            fanout_bytes: h.section(SectionId::Fanout).len,
            bloom_bytes,
            bloom_bits_per_entry: if h.entry_count == 0 {
                0.0
            } else {
                bloom_bytes as f64 * 8.0 / h.entry_count as f64
            },
            bloom_expected_fpr: bloom::false_positive_rate(load),
            fanout_bits: h.fanout_bits,
            source_sets: h.set_count,
        }
    }

    /// Bucket sizes for a range-query prefix of `prefix_len` hex digits (1 to 6). Reads the
    /// whole table once, or only the fan-out when it is fine enough.
    pub fn bucket_stats(&self, prefix_len: usize) -> Result<BucketStats> {
        if !(1..=6).contains(&prefix_len) {
            return Err(Error::BadPrefix { prefix: format!("length {prefix_len}") });
        }
        let bits = 4 * prefix_len as u32;
        let mut counts = vec![0u32; 1 << bits];
        let fb = u32::from(self.header.fanout_bits);
        let buckets = 1u64 << fb;
        if fb >= bits {
            for b in 0..buckets {
                let (lo, hi) = self.bucket_bounds(b)?;
                counts[(b >> (fb - bits)) as usize] += (hi - lo) as u32;
            }
        } else {
            for b in 0..buckets {
                let (lo, hi) = self.bucket_bounds(b)?;
                for i in lo..hi {
                    let key = self.key_at(i, b);
                    let top = u32::from_be_bytes(key[0..4].try_into().expect("4 bytes")) >> (32 - bits);
                    counts[top as usize] += 1;
                }
            }
        }
        let mut nonempty: Vec<u32> = counts.iter().copied().filter(|&c| c > 0).collect();
        nonempty.sort_unstable();
        Ok(BucketStats {
            prefix_len,
            buckets: counts.len() as u64,
            empty: (counts.len() - nonempty.len()) as u64,
            min: nonempty.first().copied().unwrap_or(0).into(),
            median: nonempty.get(nonempty.len() / 2).copied().unwrap_or(0).into(),
            max: nonempty.last().copied().unwrap_or(0).into(),
        })
    }

    fn expect_kind(&self, wanted: Kind) -> Result<()> {
        if self.header.kind == wanted {
            return Ok(());
        }
        let found = match self.header.kind {
            Kind::Email => "an email",
            Kind::Password => "a password (SHA-1)",
            Kind::Ntlm => "an NTLM password",
        };
        Err(Error::WrongKind { found, wanted: wanted.as_str() })
    }

    /// Looks up an email address (normalized first). An address the policy rejects is
    /// [`Error::InvalidEmail`].
    pub fn lookup_email(&self, address: &str) -> Result<Option<Entry<'_>>> {
        self.expect_kind(Kind::Email)?;
        let key = email_key(address)?;
        self.lookup_hash(&key)
    }

    /// Looks up a password, not normalized: by the SHA-1 of its UTF-8 bytes in a password
    /// index, by its NTLM hash in an NTLM index.
    pub fn lookup_password(&self, password: &str) -> Result<Option<Entry<'_>>> {
        if !self.header.kind.is_password() {
            self.expect_kind(Kind::Password)?;
        }
        self.lookup_hash(&crate::password_key_for(self.header.kind, password))
    }

    /// Whether the Bloom filter admits `key`: `false` means certainly absent.
    pub fn may_contain(&self, key: &Key) -> bool {
        bloom::may_contain(self.section(SectionId::Bloom), self.header.bloom_blocks, key)
    }

    /// Looks up a key: the Bloom filter first, then the fan-out bucket and a binary search.
    pub fn lookup_hash(&self, key: &Key) -> Result<Option<Entry<'_>>> {
        if !self.may_contain(key) {
            return Ok(None);
        }
        let bucket = self.bucket_of(key);
        let (lo, hi) = self.bucket_bounds(bucket)?;
        let strip = usize::from(self.header.strip_len);
        let want = &key[strip..];
        let (mut a, mut b) = (lo, hi);
        while a < b {
            let mid = a + (b - a) / 2;
            let rec = self.record(mid);
            match cmp_key(&rec[..KEY_LEN - strip], want) {
                std::cmp::Ordering::Less => a = mid + 1,
                std::cmp::Ordering::Greater => b = mid,
                std::cmp::Ordering::Equal => return self.entry_at(mid, *key).map(Some),
            }
        }
        Ok(None)
    }

    /// Every entry whose hexadecimal key starts with `prefix` (1 to 40 hex digits, any case),
    /// in key order: the k-anonymity range query.
    pub fn range(&self, prefix: &str) -> Result<Range<'_, D>> {
        let (lo_key, hi_key) = prefix_bounds(prefix)?;
        let start = self.lower_bound(&lo_key)?;
        let end = match hi_key {
            Some(k) => self.lower_bound(&k)?,
            None => self.header.entry_count,
        };
        Ok(Range { index: self, next: start, end: end.max(start), bucket: self.bucket_of(&lo_key) })
    }

    /// Every entry of the index, in key order: a front-to-back read of the table, in constant
    /// memory (open the index with [`Index::open_sequential`] for it). What [`crate::diff`]
    /// walks.
    pub fn entries(&self) -> Range<'_, D> {
        Range { index: self, next: 0, end: self.header.entry_count, bucket: 0 }
    }

    /// Number of records before the first whose key is `>= key`.
    fn lower_bound(&self, key: &Key) -> Result<u64> {
        let bucket = self.bucket_of(key);
        let (lo, hi) = self.bucket_bounds(bucket)?;
        let strip = usize::from(self.header.strip_len);
        let (mut a, mut b) = (lo, hi);
        while a < b {
            let mid = a + (b - a) / 2;
            if cmp_key(&self.record(mid)[..KEY_LEN - strip], &key[strip..]).is_lt() {
                a = mid + 1;
            } else {
                b = mid;
            }
        }
        Ok(a)
    }

    fn bucket_of(&self, key: &Key) -> u64 {
        format::bucket_of(key, self.header.fanout_bits)
    }

    fn fanout(&self, i: u64) -> u64 {
        let f = self.section(SectionId::Fanout);
        let at = i as usize * 8;
        u64::from_le_bytes(f[at..at + 8].try_into().expect("fan-out length is checked at open"))
    }

    /// Record range of a bucket, checked against the table so that a damaged fan-out gives an
    /// error, not an out-of-bounds read.
    fn bucket_bounds(&self, bucket: u64) -> Result<(u64, u64)> {
        let (lo, hi) = (self.fanout(bucket), self.fanout(bucket + 1));
        if lo > hi || hi > self.header.entry_count {
            return Err(Error::Corrupt { section: "fanout", reason: format!("bucket {bucket} out of order") });
        }
        Ok((lo, hi))
    }

    fn record(&self, i: u64) -> &[u8] {
        let len = self.header.record_len as usize;
        let at = i as usize * len;
        &self.section(SectionId::Table)[at..at + len]
    }

    fn entry_at(&self, i: u64, key: Key) -> Result<Entry<'_>> {
        let rec = self.record(i);
        let strip = usize::from(self.header.strip_len);
        let raw = u32::from_le_bytes(rec[KEY_LEN - strip..].try_into().expect("4-byte attribute"));
        let (count, set) = match Attr::decode(raw) {
            Attr::Inline { count, set } => (u64::from(count), set),
            Attr::Overflow(o) => {
                let ov = self.section(SectionId::Overflow);
                let at = o as usize * OVERFLOW_LEN;
                let Some(b) = ov.get(at..at + OVERFLOW_LEN) else {
                    return Err(Error::Corrupt {
                        section: "table",
                        reason: format!("record {i} points past the overflow"),
                    });
                };
                let count = u64::from_le_bytes(b[0..8].try_into().expect("8 bytes"));
                (count, u32::from_le_bytes(b[8..12].try_into().expect("4 bytes")))
            }
        };
        Ok(Entry { key, count, sources: self.set(set)? })
    }

    /// The source ids of source set `set`.
    fn set(&self, set: u32) -> Result<SourceIds<'_>> {
        let s = self.section(SectionId::Sets);
        let n = self.header.set_count;
        let bad = || Error::Corrupt { section: "sets", reason: format!("set {set} is out of bounds") };
        if set >= n {
            return Err(bad());
        }
        let word = |i: u32| -> u64 {
            let at = i as usize * 4;
            u64::from(u32::from_le_bytes(s[at..at + 4].try_into().expect("offsets are checked at open")))
        };
        let (a, b) = (word(set), word(set + 1));
        let ids_start = (u64::from(n) + 1) * 4;
        let start = ids_start + a * 4;
        let end = ids_start + b * 4;
        if a > b || end > s.len() as u64 {
            return Err(bad());
        }
        Ok(SourceIds { bytes: &s[start as usize..end as usize] })
    }

    /// The full key of record `i` in bucket `bucket`.
    fn key_at(&self, i: u64, bucket: u64) -> Key {
        format::key_in_bucket(bucket, self.header.fanout_bits, self.record(i))
    }

    /// Checks everything: every section checksum, zero padding between sections, the fan-out
    /// against the table, strict key order, every attribute and source set, and that every key
    /// passes the Bloom filter. Reads the whole file.
    pub fn verify(&self) -> Result<()> {
        let bytes = self.bytes();
        let mut prev_end = self.header.table_end() as u64;
        for id in SectionId::ALL.into_iter().take(self.header.sections.len()) {
            let s = self.header.section(id);
            if bytes[prev_end as usize..s.offset as usize].iter().any(|&b| b != 0) {
                return Err(Error::Corrupt {
                    section: id.name(),
                    reason: "non-zero padding before the section".into(),
                });
            }
            if crc32fast::hash(slice(bytes, s)) != s.crc {
                return Err(Error::Checksum { section: id.name() });
            }
            prev_end = s.offset + s.len;
        }
        if prev_end != self.header.file_len {
            return Err(Error::Corrupt { section: "meta", reason: "trailing bytes after the last section".into() });
        }
        self.verify_domains()?;
        let buckets = 1u64 << self.header.fanout_bits;
        if self.fanout(0) != 0 || self.fanout(buckets) != self.header.entry_count {
            return Err(Error::Corrupt { section: "fanout", reason: "does not span the table".into() });
        }
        self.verify_sets()?;
        let mut prev: Option<Key> = None;
        for bucket in 0..buckets {
            let (lo, hi) = self.bucket_bounds(bucket)?;
            for i in lo..hi {
                let key = self.key_at(i, bucket);
                if self.bucket_of(&key) != bucket {
                    return Err(Error::Corrupt {
                        section: "table",
                        reason: format!("record {i} is in the wrong bucket"),
                    });
                }
                if prev.is_some_and(|p| p >= key) {
                    return Err(Error::Corrupt { section: "table", reason: format!("record {i} is out of order") });
                }
                let e = self.entry_at(i, key)?;
                if e.count == 0 || e.sources.is_empty() {
                    return Err(Error::Corrupt {
                        section: "table",
                        reason: format!("record {i} has no count or source"),
                    });
                }
                if !self.may_contain(&key) {
                    return Err(Error::Corrupt {
                        section: "bloom",
                        reason: format!("record {i} is missing from the filter"),
                    });
                }
                prev = Some(key);
            }
        }
        Ok(())
    }

    /// The DOMAINS section, read in place; `None` for a file that predates it
    /// ([`Header::has_domains`]).
    pub fn domains(&self) -> Result<Option<crate::domains::DomainsView<'_>>> {
        if !self.header.has_domains() {
            return Ok(None);
        }
        if self.header.kind != Kind::Email {
            return Ok(None);
        }
        crate::domains::DomainsView::new(self.section(SectionId::Domains)).map(Some)
    }

    /// The OWNED section: the plaintext addresses of the owned domains (empty when the build
    /// was given none, and for a file that predates the section).
    pub fn owned(&self) -> Result<crate::domains::Owned> {
        crate::domains::Owned::decode(self.section(SectionId::Owned))
    }

    fn verify_domains(&self) -> Result<()> {
        if self.header.kind != Kind::Email {
            for id in [SectionId::Domains, SectionId::Owned] {
                if !self.section(id).is_empty() {
                    return Err(Error::Corrupt {
                        section: id.name(),
                        reason: format!("not empty in a {} index", self.header.kind),
                    });
                }
            }
            return Ok(());
        }
        if let Some(d) = self.domains()? {
            d.verify(self.header.source_count)?;
        }
        let owned = self.owned()?;
        if owned.addresses.iter().any(|a| a.sources.iter().any(|s| s.source >= self.header.source_count)) {
            return Err(Error::Corrupt { section: "owned", reason: "an address has a bad source id".into() });
        }
        Ok(())
    }

    fn verify_sets(&self) -> Result<()> {
        let sources = self.header.source_count;
        for set in 0..self.header.set_count {
            let ids = self.set(set)?;
            let mut prev = None;
            for id in ids.iter() {
                if id >= sources || prev.is_some_and(|p| p >= id) {
                    return Err(Error::Corrupt { section: "sets", reason: format!("set {set} has a bad source id") });
                }
                prev = Some(id);
            }
        }
        Ok(())
    }
}

/// Compares two key suffixes of equal length (at least 8 bytes): the first eight bytes as one
/// integer settle almost every comparison without a call to memcmp.
#[inline]
fn cmp_key(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let x = u64::from_be_bytes(a[..8].try_into().expect("key suffixes are at least 12 bytes"));
    let y = u64::from_be_bytes(b[..8].try_into().expect("key suffixes are at least 12 bytes"));
    x.cmp(&y).then_with(|| a[8..].cmp(&b[8..]))
}

fn slice(bytes: &[u8], s: format::Section) -> &[u8] {
    // Bounds were checked against the file length when the header was decoded.
    &bytes[s.offset as usize..(s.offset + s.len) as usize]
}

/// The inclusive lower key and the exclusive upper key (none: the end) for a hex prefix.
fn prefix_bounds(prefix: &str) -> Result<(Key, Option<Key>)> {
    let bad = || Error::BadPrefix { prefix: prefix.chars().take(48).collect() };
    if prefix.is_empty() || prefix.len() > KEY_LEN * 2 {
        return Err(bad());
    }
    let mut lo = [0u8; KEY_LEN];
    for (i, c) in prefix.bytes().enumerate() {
        let v = (c as char).to_digit(16).ok_or_else(bad)? as u8;
        lo[i / 2] |= if i % 2 == 0 { v << 4 } else { v };
    }
    // The upper bound: add one at the last nibble of the prefix, carrying.
    let mut hi = lo;
    let nibbles = prefix.len();
    let mut pos = nibbles - 1;
    loop {
        let byte = pos / 2;
        let (shift, mask) = if pos % 2 == 0 { (4, 0xF0u8) } else { (0, 0x0Fu8) };
        let v = (hi[byte] & mask) >> shift;
        if v < 15 {
            hi[byte] = (hi[byte] & !mask) | ((v + 1) << shift);
            return Ok((lo, Some(hi)));
        }
        hi[byte] &= !mask;
        if pos == 0 {
            return Ok((lo, None));
        }
        pos -= 1;
    }
}

/// Iterator over the entries of a range query.
pub struct Range<'a, D> {
    index: &'a Index<D>,
    next: u64,
    end: u64,
    bucket: u64,
}

impl<'a, D: AsRef<[u8]>> Range<'a, D> {
    /// Number of entries left.
    pub fn remaining(&self) -> u64 {
        self.end - self.next
    }
}

impl<'a, D: AsRef<[u8]>> Iterator for Range<'a, D> {
    type Item = Result<Entry<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let i = self.next;
        let buckets = 1u64 << self.index.header.fanout_bits;
        while self.bucket + 1 < buckets && self.index.fanout(self.bucket + 1) <= i {
            self.bucket += 1;
        }
        self.next += 1;
        let key = self.index.key_at(i, self.bucket);
        Some(self.index.entry_at(i, key))
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_bounds;

    #[test]
    fn prefix_bounds_carry_and_reject_non_hex() {
        let (lo, hi) = prefix_bounds("5baa6").unwrap();
        assert_eq!(&lo[..3], &[0x5b, 0xaa, 0x60]);
        assert_eq!(&hi.unwrap()[..3], &[0x5b, 0xaa, 0x70]);
        let (_, hi) = prefix_bounds("0fF").unwrap();
        assert_eq!(&hi.unwrap()[..2], &[0x10, 0x00]);
        assert_eq!(prefix_bounds("ff").unwrap().1, None);
        assert!(prefix_bounds("").is_err());
        assert!(prefix_bounds("5baz").is_err());
        assert!(prefix_bounds(&"a".repeat(41)).is_err());
    }
}
