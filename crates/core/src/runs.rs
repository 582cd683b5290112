//! Sorted runs: the parsing threads ([`worker`]) turn chunks into run records (key, source,
//! count), each thread in its own buffer of bounded size; a full buffer is sorted (one radix
//! pass, then comparison sorts in cache), equal (key, source) records are combined, and it is
//! spilled to an anonymous temporary file (a [`Run`]), gone even if the process is killed.
//! [`reduce_runs`] merges runs in groups of [`MAX_FAN_IN`] until at most that many are left;
//! [`merge_runs`] does the final k-way merge that feeds the index writer.
//!
//! Limits: a buffer holds `cap` records of [`RUN_RECORD`] bytes (the build sizes it from
//! `--memory`); the merge holds one read buffer per run, at most [`MAX_FAN_IN`] of them.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_channel::Receiver;

use crate::domains::{self, DomainInterner, DomainTag, OwnedTally, HASHED, NO_DOMAIN};
use crate::error::{Error, Result};
use crate::format::Kind;
use crate::ingest::input::Chunk;
use crate::ingest::{self, FileStats, Sink};
use crate::Key;

/// Most runs merged at once; more are first merged in groups.
pub const MAX_FAN_IN: usize = 64;
/// Bytes of one run record: key, source id (u32), count (u64), domain tag (u64).
pub(crate) const RUN_RECORD: usize = 40;

/// A run record.
#[derive(Clone, Copy)]
pub(crate) struct Rec {
    pub(crate) key: Key,
    pub(crate) source: u32,
    pub(crate) count: u64,
    /// The key's domain ([`DomainTag`]; the same for every record of a key that has one).
    pub(crate) domain: DomainTag,
}

/// A parsing thread's records: spilled as a sorted run whenever the buffer is full, so that it
/// never grows past its share of the memory budget.
struct RunBuffer {
    recs: Vec<Rec>,
    cap: usize,
    source: u32,
    dir: PathBuf,
    runs: Vec<Run>,
    error: Option<Error>,
    /// This thread's number, the high half of its domain tags.
    thread: u64,
    /// The file the records come from (for owned addresses' provenance).
    file: usize,
    domains: DomainInterner,
    /// The normalized owned domains (`--own-domain`).
    owned: Arc<Vec<String>>,
    owned_tally: rustc_hash::FxHashMap<String, OwnedTally>,
}

impl RunBuffer {
    fn spill(&mut self) {
        if self.error.is_none() && !self.recs.is_empty() {
            match spill(&mut self.recs, &self.dir) {
                Ok(run) => self.runs.push(run),
                Err(e) => self.error = Some(e),
            }
        }
        self.recs.clear();
    }
}

impl Sink for RunBuffer {
    fn key(&mut self, key: Key, count: u64) {
        if self.recs.len() >= self.cap {
            self.spill();
        }
        self.recs.push(Rec { key, source: self.source, count, domain: NO_DOMAIN });
    }

    fn hashed(&mut self, key: Key, count: u64) {
        if self.recs.len() >= self.cap {
            self.spill();
        }
        self.recs.push(Rec { key, source: self.source, count, domain: HASHED });
    }

    fn address(&mut self, key: Key, count: u64, normalized: &str) {
        if self.recs.len() >= self.cap {
            self.spill();
        }
        let (id, owned) = self.domains.intern(domains::domain_of(normalized), &self.owned);
        self.recs.push(Rec { key, source: self.source, count, domain: (self.thread << 32) | u64::from(id) });
        if owned {
            let t = self.owned_tally.entry(normalized.to_string()).or_default();
            *t.sources.entry(self.source).or_default() += count;
            t.files.insert(self.file);
        }
    }
}

/// A sorted run on disk.
pub(crate) struct Run {
    file: File,
    pub(crate) records: u64,
}

fn encode_rec(r: &Rec, out: &mut [u8; RUN_RECORD]) {
    out[..20].copy_from_slice(&r.key);
    out[20..24].copy_from_slice(&r.source.to_le_bytes());
    out[24..32].copy_from_slice(&r.count.to_le_bytes());
    out[32..40].copy_from_slice(&r.domain.to_le_bytes());
}

fn decode_rec(b: &[u8; RUN_RECORD]) -> Rec {
    Rec {
        key: b[..20].try_into().expect("20 bytes"),
        source: u32::from_le_bytes(b[20..24].try_into().expect("4 bytes")),
        count: u64::from_le_bytes(b[24..32].try_into().expect("8 bytes")),
        domain: u64::from_le_bytes(b[32..40].try_into().expect("8 bytes")),
    }
}

/// Run-record order: key, then source.
fn rec_order(a: &Rec, b: &Rec) -> std::cmp::Ordering {
    // Big-endian integers compare like the bytes, without a call to memcmp (which duplicate
    // keys, common in leaks, would otherwise reach on every comparison).
    let word = |k: &Key, i: usize| u64::from_be_bytes(k[i..i + 8].try_into().expect("8 bytes"));
    let tail = |k: &Key| u32::from_be_bytes(k[16..20].try_into().expect("4 bytes"));
    word(&a.key, 0)
        .cmp(&word(&b.key, 0))
        .then_with(|| (word(&a.key, 8), tail(&a.key), a.source).cmp(&(word(&b.key, 8), tail(&b.key), b.source)))
}

/// Buckets of the radix pass: the first key byte. 256 write frontiers stay in cache, so the
/// pass streams; 65,536 buckets (two bytes) measured slower than no radix pass at all, every
/// swap a cache miss.
const RADIX_BUCKETS: usize = 1 << 8;

/// Sorts run records in [`rec_order`]: one in-place MSD radix pass on the first key byte
/// (American flag sort: no second buffer, so the memory budget holds), then each bucket by
/// comparison: SHA-1 keys are uniform, so a bucket is 1/256 of the buffer and sorts in cache.
/// Hand-written because the radix-sort crates sort out of place (twice the memory) or only by
/// integer keys.
fn sort_recs(recs: &mut [Rec]) {
    if recs.len() < 64 * RADIX_BUCKETS {
        recs.sort_unstable_by(rec_order);
        return;
    }
    let digit = |r: &Rec| usize::from(r.key[0]);
    let mut ends = vec![0usize; RADIX_BUCKETS];
    for r in recs.iter() {
        ends[digit(r)] += 1;
    }
    let mut sum = 0;
    for e in ends.iter_mut() {
        sum += *e;
        *e = sum;
    }
    // next[b]: the first slot of bucket b not yet holding one of its own records.
    let mut next: Vec<usize> = std::iter::once(0).chain(ends[..RADIX_BUCKETS - 1].iter().copied()).collect();
    for b in 0..RADIX_BUCKETS {
        while next[b] < ends[b] {
            let d = digit(&recs[next[b]]);
            if d == b {
                next[b] += 1;
            } else {
                // Each swap puts one record in its own bucket for good.
                recs.swap(next[b], next[d]);
                next[d] += 1;
            }
        }
    }
    let mut start = 0;
    for &end in &ends {
        recs[start..end].sort_unstable_by(rec_order);
        start = end;
    }
}

/// Sorts, merges equal (key, source) records and writes a run.
fn spill(recs: &mut Vec<Rec>, dir: &Path) -> Result<Run> {
    sort_recs(recs);
    let file = tempfile::tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut buf = [0u8; RUN_RECORD];
    let mut records = 0u64;
    let mut i = 0;
    while i < recs.len() {
        let mut r = recs[i];
        i += 1;
        while i < recs.len() && recs[i].key == r.key && recs[i].source == r.source {
            r.count = r.count.saturating_add(recs[i].count);
            r.domain = r.domain.min(recs[i].domain);
            i += 1;
        }
        encode_rec(&r, &mut buf);
        w.write_all(&buf).map_err(|e| Error::io(dir, e))?;
        records += 1;
    }
    recs.clear();
    let file = w.into_inner().map_err(|e| Error::io(dir, e.into_error()))?;
    Ok(Run { file, records })
}

/// Reads run records in order.
struct RunReader {
    r: BufReader<File>,
    left: u64,
}

impl RunReader {
    fn new(mut run: Run, buf: usize, dir: &Path) -> Result<RunReader> {
        use std::io::Seek;
        run.file.seek(std::io::SeekFrom::Start(0)).map_err(|e| Error::io(dir, e))?;
        Ok(RunReader { r: BufReader::with_capacity(buf, run.file), left: run.records })
    }
    fn next(&mut self, dir: &Path) -> Result<Option<Rec>> {
        if self.left == 0 {
            return Ok(None);
        }
        let mut b = [0u8; RUN_RECORD];
        self.r.read_exact(&mut b).map_err(|e| Error::io(dir, e))?;
        self.left -= 1;
        Ok(Some(decode_rec(&b)))
    }
}

/// K-way merge of runs in (key, source) order; calls `f` with each record, equal (key,
/// source) pairs already combined.
pub(crate) fn merge_runs(runs: Vec<Run>, buf: usize, dir: &Path, f: &mut dyn FnMut(&Rec) -> Result<()>) -> Result<()> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut readers = runs.into_iter().map(|r| RunReader::new(r, buf, dir)).collect::<Result<Vec<_>>>()?;
    let mut heap = BinaryHeap::with_capacity(readers.len());
    for (i, r) in readers.iter_mut().enumerate() {
        if let Some(rec) = r.next(dir)? {
            heap.push(Reverse((rec.key, rec.source, rec.count, rec.domain, i)));
        }
    }
    let mut pending: Option<Rec> = None;
    while let Some(Reverse((key, source, count, domain, i))) = heap.pop() {
        if let Some(rec) = readers[i].next(dir)? {
            heap.push(Reverse((rec.key, rec.source, rec.count, rec.domain, i)));
        }
        match &mut pending {
            Some(p) if p.key == key && p.source == source => {
                p.count = p.count.saturating_add(count);
                p.domain = p.domain.min(domain);
            }
            _ => {
                if let Some(p) = pending.take() {
                    f(&p)?;
                }
                pending = Some(Rec { key, source, count, domain });
            }
        }
    }
    if let Some(p) = pending {
        f(&p)?;
    }
    Ok(())
}

/// What one parsing thread hands back.
pub(crate) struct WorkerResult {
    pub(crate) runs: Vec<Run>,
    pub(crate) stats: HashMap<usize, FileStats>,
    pub(crate) error: Option<Error>,
    /// The thread's domains, by its own id (see [`DomainTag`]).
    pub(crate) domains: Vec<Box<str>>,
    /// The owned addresses it saw.
    pub(crate) owned: rustc_hash::FxHashMap<String, OwnedTally>,
}

/// What a parsing thread is: its number (for domain tags) and the owned domains.
pub(crate) struct WorkerId {
    pub(crate) thread: u64,
    pub(crate) owned: Arc<Vec<String>>,
}

pub(crate) fn worker(
    rx: Receiver<Chunk>,
    kind: Kind,
    cap: usize,
    dir: PathBuf,
    records: Arc<AtomicU64>,
    failed: Arc<AtomicBool>,
    id: WorkerId,
) -> WorkerResult {
    // Allocated by the thread that fills it: with mimalloc's per-thread heaps, buffers made
    // on the reading thread and filled here raised peak RSS by about 15 MiB at --memory 64M.
    let recs = Vec::with_capacity(cap);
    let mut buf = RunBuffer {
        recs,
        cap,
        source: 0,
        dir,
        runs: Vec::new(),
        error: None,
        thread: id.thread,
        file: 0,
        domains: DomainInterner::default(),
        owned: id.owned,
        owned_tally: Default::default(),
    };
    let mut stats: HashMap<usize, FileStats> = HashMap::new();
    for chunk in rx.iter() {
        if buf.error.is_some() {
            failed.store(true, Ordering::Relaxed);
            continue; // drain, so the reader never blocks on a failed worker
        }
        buf.source = chunk.source;
        buf.file = chunk.file;
        let s = stats.entry(chunk.file).or_default();
        let before = s.records;
        ingest::parse_chunk_at(kind, &chunk.format, &chunk.start, &chunk.data, chunk.first_line, &mut buf, s);
        records.fetch_add(s.records - before, Ordering::Relaxed);
    }
    buf.spill();
    WorkerResult { runs: buf.runs, stats, error: buf.error, domains: buf.domains.names, owned: buf.owned_tally }
}

/// Merges runs in groups of [`MAX_FAN_IN`] until at most that many are left, so that the final
/// merge never holds more files open (or more buffers) than that.
pub(crate) fn reduce_runs(mut runs: Vec<Run>, temp_root: &Path, budget: usize) -> Result<Vec<Run>> {
    while runs.len() > MAX_FAN_IN {
        let group: Vec<Run> = runs.drain(..MAX_FAN_IN).collect();
        let file = tempfile::tempfile_in(temp_root).map_err(|e| Error::io(temp_root, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let mut n = 0u64;
        let mut buf = [0u8; RUN_RECORD];
        merge_runs(group, (budget / MAX_FAN_IN).clamp(64 << 10, 4 << 20), temp_root, &mut |r| {
            encode_rec(r, &mut buf);
            n += 1;
            w.write_all(&buf).map_err(|e| Error::io(temp_root, e))
        })?;
        let file = w.into_inner().map_err(|e| Error::io(temp_root, e.into_error()))?;
        runs.push(Run { file, records: n });
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radix_sort_of_run_records_equals_a_comparison_sort() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for n in [0, 1, 1000, 64 * RADIX_BUCKETS - 1, 64 * RADIX_BUCKETS, 300_000] {
            let mut recs: Vec<Rec> = (0..n)
                .map(|_| {
                    let mut key: Key = rng.gen();
                    // Many shared prefixes and duplicate keys with different sources.
                    if rng.gen_bool(0.3) {
                        key[..2].copy_from_slice(&[0x5b, 0xaa]);
                    }
                    if rng.gen_bool(0.1) {
                        key[0] = 0xff;
                    }
                    if rng.gen_bool(0.2) {
                        key = [7; 20];
                    }
                    Rec { key, source: rng.gen_range(0..4), count: rng.gen_range(1..5), domain: NO_DOMAIN }
                })
                .collect();
            let mut want = recs.clone();
            want.sort_by(rec_order);
            sort_recs(&mut recs);
            let view = |v: &[Rec]| v.iter().map(|r| (r.key, r.source)).collect::<Vec<_>>();
            assert_eq!(view(&recs), view(&want), "n = {n}");
        }
    }

    #[test]
    fn many_runs_are_merged_in_levels_without_losing_or_doubling_records() {
        let dir = tempfile::tempdir().unwrap();
        // 150 runs (more than two levels' fan-in), each holding keys 0..40 of source r % 3.
        let mut runs = Vec::new();
        for r in 0..150u32 {
            let mut recs: Vec<Rec> = (0..40u8)
                .map(|k| Rec { key: [k; 20], source: r % 3, count: u64::from(r) + 1, domain: NO_DOMAIN })
                .collect();
            runs.push(spill(&mut recs, dir.path()).unwrap());
        }
        let runs = reduce_runs(runs, dir.path(), 1 << 20).unwrap();
        assert!(runs.len() <= MAX_FAN_IN);
        let mut out: Vec<(Key, u32, u64)> = Vec::new();
        merge_runs(runs, 1 << 16, dir.path(), &mut |r| {
            out.push((r.key, r.source, r.count));
            Ok(())
        })
        .unwrap();
        assert_eq!(out.len(), 40 * 3);
        assert!(out.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
        for s in 0..3u32 {
            let want: u64 = (0..150u64).filter(|r| *r as u32 % 3 == s).map(|r| r + 1).sum();
            assert!(out.iter().filter(|o| o.1 == s).all(|o| o.2 == want));
        }
    }
}
