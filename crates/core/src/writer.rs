//! Writing an index file from entries given in ascending key order.
//!
//! The writer streams: the record table is written as entries arrive, with its checksum
//! computed on the way; the fan-out counts (at most 2^24 + 1 integers) and the source-set
//! dictionary stay in memory; overflow attributes go to a temporary file. Once the number of
//! entries is known, the Bloom filter is sized for it and built by reading the table back in
//! order, one block at a time.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::bloom;
use crate::error::{Error, Result};
use crate::format::{self, Attr, Header, Kind, Section, KEY_LEN};
use crate::meta::Meta;
use crate::Key;

/// A writer that checksums and counts what passes through it.
struct Tracked<W> {
    inner: W,
    pos: u64,
    crc: crc32fast::Hasher,
}

impl<W: Write> Write for Tracked<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        self.pos += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> Tracked<W> {
    /// Writes zeros up to a multiple of `align` and starts a new checksum.
    fn start_section(&mut self, align: u64) -> std::io::Result<u64> {
        let target = format::align_up(self.pos, align);
        let zeros = vec![0u8; (target - self.pos) as usize];
        self.inner.write_all(&zeros)?;
        self.pos = target;
        self.crc = crc32fast::Hasher::new();
        Ok(target)
    }
    fn end_section(&mut self, start: u64) -> Section {
        let crc = std::mem::take(&mut self.crc).finalize();
        Section { offset: start, len: self.pos - start, crc }
    }
}

/// Writes one index file. Feed it entries in strictly ascending key order with
/// [`IndexWriter::push`], then call [`IndexWriter::finish`].
pub struct IndexWriter {
    path: PathBuf,
    readback: File,
    out: Tracked<BufWriter<File>>,
    kind: Kind,
    fanout_bits: u8,
    strip: usize,
    bucket_counts: Vec<u64>,
    entries: u64,
    last: Option<Key>,
    sets: HashMap<Vec<u32>, u32>,
    set_list: Vec<Vec<u32>>,
    overflow: Option<BufWriter<File>>,
    overflow_count: u64,
    unique_per_source: Vec<u64>,
    record: Vec<u8>,
}

impl IndexWriter {
    /// Starts an index in a new file at `path`, created exclusively: an existing file (or a
    /// symbolic link) there is an error, never overwritten or followed. See
    /// [`IndexWriter::new`] for the other arguments.
    pub fn create(path: &Path, kind: Kind, fanout_bits: u8, sources: u32, temp_dir: &Path) -> Result<IndexWriter> {
        let file =
            File::options().read(true).write(true).create_new(true).open(path).map_err(|e| Error::io(path, e))?;
        IndexWriter::new(file, path, kind, fanout_bits, sources, temp_dir)
    }

    /// Starts an index in `file`, an empty file open for reading and writing (usually a
    /// temporary file next to the destination, created exclusively); `path` names it in
    /// errors only: the writer never opens it by name. `fanout_bits` (see
    /// [`format::fanout_bits_for`]) sets the fan-out, `sources` is the number of sources,
    /// `temp_dir` holds scratch files.
    pub fn new(
        file: File,
        path: &Path,
        kind: Kind,
        fanout_bits: u8,
        sources: u32,
        temp_dir: &Path,
    ) -> Result<IndexWriter> {
        if fanout_bits > format::MAX_FANOUT_BITS {
            return Err(Error::Config(format!("fan-out of {fanout_bits} bits is over the maximum")));
        }
        // The Bloom filter is built by reading the table back: through a second descriptor of
        // the same file, with positional reads that leave the writing offset alone.
        let readback = file.try_clone().map_err(|e| Error::io(path, e))?;
        let mut out = Tracked { inner: BufWriter::with_capacity(1 << 20, file), pos: 0, crc: Default::default() };
        // Reserve the header page; it is written last.
        out.inner.write_all(&[0u8; format::DATA_START as usize]).map_err(|e| Error::io(path, e))?;
        out.pos = format::DATA_START;
        let overflow = tempfile::tempfile_in(temp_dir).map_err(|e| Error::io(temp_dir, e))?;
        Ok(IndexWriter {
            path: path.to_owned(),
            readback,
            out,
            kind,
            fanout_bits,
            strip: usize::from(fanout_bits / 8),
            bucket_counts: vec![0; (1usize << fanout_bits) + 1],
            entries: 0,
            last: None,
            sets: HashMap::new(),
            set_list: Vec::new(),
            overflow: Some(BufWriter::new(overflow)),
            overflow_count: 0,
            unique_per_source: vec![0; sources as usize],
            record: Vec::with_capacity(KEY_LEN + format::ATTR_LEN),
        })
    }

    fn bucket_of(&self, key: &Key) -> usize {
        format::bucket_of(key, self.fanout_bits) as usize
    }

    /// Adds an entry: its key, its total count (at least 1) and its sources (ascending ids,
    /// at least one). Keys must be strictly ascending.
    pub fn push(&mut self, key: &Key, count: u64, sources: &[u32]) -> Result<()> {
        if self.last.is_some_and(|l| l >= *key) {
            return Err(Error::Config("index writer: keys must be strictly ascending".into()));
        }
        if count == 0 || sources.is_empty() {
            return Err(Error::Config("index writer: an entry needs a count and a source".into()));
        }
        let set = match self.sets.get(sources) {
            Some(&s) => s,
            None => {
                let s = self.set_list.len() as u32;
                self.sets.insert(sources.to_vec(), s);
                self.set_list.push(sources.to_vec());
                s
            }
        };
        for &s in sources {
            if let Some(u) = self.unique_per_source.get_mut(s as usize) {
                *u += 1;
            } else {
                return Err(Error::Config(format!("index writer: source id {s} out of range")));
            }
        }
        let attr = if count <= format::ATTR_MAX_INLINE_COUNT && set <= format::ATTR_MAX_INLINE_SET {
            Attr::Inline { count: count as u32, set }
        } else {
            if self.overflow_count > format::ATTR_MAX_OVERFLOW {
                return Err(Error::Config("too many entries with large counts or rare source sets".into()));
            }
            let mut b = [0u8; format::OVERFLOW_LEN];
            b[0..8].copy_from_slice(&count.to_le_bytes());
            b[8..12].copy_from_slice(&set.to_le_bytes());
            let ov = self.overflow.as_mut().expect("present until finish");
            ov.write_all(&b).map_err(|e| Error::io(&self.path, e))?;
            self.overflow_count += 1;
            Attr::Overflow((self.overflow_count - 1) as u32)
        };
        self.record.clear();
        self.record.extend_from_slice(&key[self.strip..]);
        self.record.extend_from_slice(&attr.encode().to_le_bytes());
        self.out.write_all(&self.record).map_err(|e| Error::io(&self.path, e))?;
        let b = self.bucket_of(key);
        self.bucket_counts[b + 1] += 1;
        self.entries += 1;
        self.last = Some(*key);
        Ok(())
    }

    /// Writes the remaining sections and the header, and syncs the file to disk. `meta.sources`
    /// gets each source's count of distinct keys filled in. `domains` and `owned` are the
    /// DOMAINS and OWNED sections as encoded by [`crate::domains`] (empty for none).
    pub fn finish(mut self, fpr: f64, mut meta: Meta, domains: &[u8], owned: &[u8]) -> Result<()> {
        let path = self.path.clone();
        let io = |e| Error::io(&path, e);
        let table = self.out.end_section(format::DATA_START);

        let start = self.out.start_section(format::SECTION_ALIGN).map_err(io)?;
        let mut acc = 0u64;
        let mut fanout = Vec::with_capacity(self.bucket_counts.len());
        for c in &self.bucket_counts {
            acc += c;
            fanout.push(acc);
            self.out.write_all(&acc.to_le_bytes()).map_err(io)?;
        }
        let fanout_sec = self.out.end_section(start);

        let start = self.out.start_section(format::SECTION_ALIGN).map_err(io)?;
        let overflow = self.overflow.take().expect("present until finish");
        let mut overflow = overflow.into_inner().map_err(|e| io(e.into_error()))?;
        overflow.seek(SeekFrom::Start(0)).map_err(io)?;
        std::io::copy(&mut overflow, &mut self.out).map_err(io)?;
        let overflow_sec = self.out.end_section(start);

        let start = self.out.start_section(format::SECTION_ALIGN).map_err(io)?;
        let mut off = 0u32;
        self.out.write_all(&off.to_le_bytes()).map_err(io)?;
        for s in &self.set_list {
            off += s.len() as u32;
            self.out.write_all(&off.to_le_bytes()).map_err(io)?;
        }
        for id in self.set_list.iter().flatten() {
            self.out.write_all(&id.to_le_bytes()).map_err(io)?;
        }
        let sets_sec = self.out.end_section(start);

        let bloom_blocks = bloom::blocks_for(self.entries, fpr);
        let start = self.out.start_section(format::PAGE).map_err(io)?;
        self.out.flush().map_err(io)?;
        self.write_bloom(bloom_blocks, &fanout, table.offset)?;
        let bloom_sec = self.out.end_section(start);

        for (s, u) in meta.sources.iter_mut().zip(&self.unique_per_source) {
            s.unique = *u;
        }
        let start = self.out.start_section(format::SECTION_ALIGN).map_err(io)?;
        serde_json::to_writer(&mut self.out, &meta).map_err(|e| io(e.into()))?;
        let meta_sec = self.out.end_section(start);

        let start = self.out.start_section(format::SECTION_ALIGN).map_err(io)?;
        self.out.write_all(domains).map_err(io)?;
        let domains_sec = self.out.end_section(start);

        let start = self.out.start_section(format::SECTION_ALIGN).map_err(io)?;
        self.out.write_all(owned).map_err(io)?;
        let owned_sec = self.out.end_section(start);

        let header = Header {
            kind: self.kind,
            fanout_bits: self.fanout_bits,
            strip_len: self.strip as u8,
            record_len: format::record_len_for(self.fanout_bits),
            entry_count: self.entries,
            file_len: self.out.pos,
            bloom_blocks,
            set_count: self.set_list.len() as u32,
            source_count: meta.sources.len() as u32,
            overflow_count: self.overflow_count,
            sections: vec![table, fanout_sec, overflow_sec, sets_sec, bloom_sec, meta_sec, domains_sec, owned_sec],
        };
        let mut file = self.out.inner.into_inner().map_err(|e| io(e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(&header.encode()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(())
    }

    /// Streams the Bloom filter: reads the table back in key order, rebuilding each key's
    /// stripped prefix from its bucket.
    fn write_bloom(&mut self, blocks: u64, fanout: &[u64], table_offset: u64) -> Result<()> {
        let io = |e| Error::io(&self.path, e);
        let f = self.readback.try_clone().map_err(io)?;
        let mut r = BufReader::with_capacity(1 << 20, ReadAt { file: f, pos: table_offset });
        let mut builder = bloom::StreamBuilder::new(blocks);
        let rec_len = format::record_len_for(self.fanout_bits) as usize;
        let mut rec = vec![0u8; rec_len];
        let mut bucket = 0usize;
        for i in 0..self.entries {
            while fanout[bucket + 1] <= i {
                bucket += 1;
            }
            r.read_exact(&mut rec).map_err(io)?;
            let key = format::key_in_bucket(bucket as u64, self.fanout_bits, &rec);
            builder.add(&key, &mut self.out).map_err(|e| Error::io(&self.path, e))?;
        }
        builder.finish(&mut self.out).map_err(|e| Error::io(&self.path, e))?;
        Ok(())
    }
}

/// Reads a file from `pos` on with positional reads (`pread`), which do not move the offset
/// that the writer shares with this descriptor. Written by hand: the standard library has
/// `read_at` but no `Read` over it.
struct ReadAt {
    file: File,
    pos: u64,
}

impl Read for ReadAt {
    #[cfg(unix)]
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }

    #[cfg(not(unix))]
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // No positional read that leaves the shared offset alone: put it back for the writer.
        let back = self.file.stream_position()?;
        self.file.seek(SeekFrom::Start(self.pos))?;
        let n = self.file.read(buf);
        self.file.seek(SeekFrom::Start(back))?;
        let n = n?;
        self.pos += n as u64;
        Ok(n)
    }
}
