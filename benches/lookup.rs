//! Criterion benches for the query hot paths, with baselines in the same run: std `HashSet`,
//! a sorted `Vec` with binary search, and the `bloomfilter` crate at the same false-positive
//! rate. Data is generated here (SHA-1 of counters), never committed.
//!
//! `cargo bench --bench lookup`; set `LEAKDEX_BENCH_ENTRIES` to change the index size
//! (default 1,000,000).

use std::collections::HashSet;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use leakdex_core::format::{self, Kind};
use leakdex_core::writer::IndexWriter;
use leakdex_core::{Index, Key, Meta, Source};
use sha1::Digest;

fn key(i: u64) -> Key {
    sha1::Sha1::digest(i.to_le_bytes()).into()
}

fn entries() -> u64 {
    std::env::var("LEAKDEX_BENCH_ENTRIES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

/// Builds an index of keys `0..n` in a temporary directory and maps it.
fn build_index(n: u64, fpr: f64) -> (tempfile::TempDir, Index<memmap2::Mmap>) {
    let dir = tempfile::tempdir().unwrap();
    let mut keys: Vec<Key> = (0..n).map(key).collect();
    keys.sort_unstable();
    let path = dir.path().join("bench.ldx");
    let mut w = IndexWriter::create(&path, Kind::Email, format::fanout_bits_for(n), 1, dir.path()).unwrap();
    for k in &keys {
        w.push(k, 1, &[0]).unwrap();
    }
    let meta = Meta {
        kind: Kind::Email,
        tool_version: "bench".into(),
        built_at: "-".into(),
        normalization_policy: 1,
        fpr,
        sources: vec![Source {
            name: "bench".into(),
            title: None,
            breach_date: None,
            data_classes: vec![],
            description: None,
            domain: None,
            files: 1,
            lines: n,
            records: n,
            unique: 0,
            first_seen: None,
        }],
        keys_without_domain: 0,
    };
    w.finish(fpr, meta, &[], &[]).unwrap();
    let index = Index::open(&path).unwrap();
    (dir, index)
}

/// A cycling list of probe keys, so every iteration asks a different key.
struct Probes {
    keys: Vec<Key>,
    at: usize,
}

impl Probes {
    fn new(range: std::ops::Range<u64>, count: u64) -> Probes {
        let step = ((range.end - range.start) / count).max(1);
        Probes {
            keys: (0..count).map(|i| key(range.start + (i * step + i * 7919) % (range.end - range.start))).collect(),
            at: 0,
        }
    }
    fn next(&mut self) -> &Key {
        self.at = (self.at + 1) % self.keys.len();
        &self.keys[self.at]
    }
}

fn normalize(c: &mut Criterion) {
    let addrs: Vec<String> = (0..1024).map(|i| format!("  First.Last{i}+Tag@Example.COM ")).collect();
    let mut g = c.benchmark_group("normalize");
    g.throughput(Throughput::Elements(1));
    let mut i = 0;
    g.bench_function("normalize+sha1", |b| {
        b.iter(|| {
            i = (i + 1) % addrs.len();
            black_box(leakdex_core::email_key(black_box(&addrs[i])).unwrap())
        })
    });
    g.bench_function("sha1-only", |b| {
        b.iter(|| {
            i = (i + 1) % addrs.len();
            black_box(leakdex_core::password_key(black_box(addrs[i].as_bytes())))
        })
    });
    g.finish();
}

fn lookups(c: &mut Criterion) {
    let n = entries();
    let fpr = 0.001;
    let (_dir, index) = build_index(n, fpr);
    let mut hits = Probes::new(0..n, 1 << 16);
    let mut misses = Probes::new(n..n * 2, 1 << 16);

    let mut g = c.benchmark_group(format!("lookup/{n}"));
    g.throughput(Throughput::Elements(1));
    g.bench_function("leakdex/hit", |b| b.iter(|| black_box(index.lookup_hash(hits.next()).unwrap().is_some())));
    g.bench_function("leakdex/miss", |b| b.iter(|| black_box(index.lookup_hash(misses.next()).unwrap().is_some())));

    let set: HashSet<Key> = (0..n).map(key).collect();
    g.bench_function("hashset/hit", |b| b.iter(|| black_box(set.contains(hits.next()))));
    g.bench_function("hashset/miss", |b| b.iter(|| black_box(set.contains(misses.next()))));
    drop(set);

    let mut sorted: Vec<Key> = (0..n).map(key).collect();
    sorted.sort_unstable();
    g.bench_function("sorted-vec/hit", |b| b.iter(|| black_box(sorted.binary_search(hits.next()).is_ok())));
    g.bench_function("sorted-vec/miss", |b| b.iter(|| black_box(sorted.binary_search(misses.next()).is_ok())));
    drop(sorted);

    // Filters alone: ours (in the map) and the bloomfilter crate at the same rate.
    g.bench_function("filter/leakdex/hit", |b| b.iter(|| black_box(index.may_contain(hits.next()))));
    g.bench_function("filter/leakdex/miss", |b| b.iter(|| black_box(index.may_contain(misses.next()))));
    let mut bf = bloomfilter::Bloom::new_for_fp_rate(n as usize, fpr);
    for i in 0..n {
        bf.set(&key(i));
    }
    g.bench_function("filter/bloomfilter-crate/hit", |b| b.iter(|| black_box(bf.check(hits.next()))));
    g.bench_function("filter/bloomfilter-crate/miss", |b| b.iter(|| black_box(bf.check(misses.next()))));
    g.finish();
    let ours = index.stats().bloom_bytes as f64 * 8.0 / n as f64;
    let theirs = bf.number_of_bits() as f64 / n as f64;
    eprintln!("filter bits per key at fpr {fpr}: leakdex {ours:.2}, bloomfilter crate {theirs:.2}");
}

fn range(c: &mut Criterion) {
    let n = entries();
    let (_dir, index) = build_index(n, 0.001);
    let prefixes: Vec<String> = (0..4096u64).map(|i| leakdex_core::hex(&key(i))[..5].to_string()).collect();
    let mut i = 0;
    let mut g = c.benchmark_group(format!("range/{n}"));
    g.bench_function("prefix5", |b| {
        b.iter_batched(
            || {
                i = (i + 1) % prefixes.len();
                prefixes[i].clone()
            },
            |p| black_box(index.range(&p).unwrap().map(|e| e.unwrap().count).sum::<u64>()),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, normalize, lookups, range);
criterion_main!(benches);
