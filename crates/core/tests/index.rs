//! Properties of the index format: round trips through real files, lookups, ranges, the filter,
//! and damaged files.

use std::collections::BTreeMap;
use std::path::Path;

use leakdex_core::format::{self, Kind};
use leakdex_core::writer::IndexWriter;
use leakdex_core::{hex, Index, Key, Meta, Source};
use proptest::prelude::*;
use sha1::Digest;

type Entries = BTreeMap<Key, (u64, Vec<u32>)>;

fn meta(kind: Kind, sources: u32) -> Meta {
    Meta {
        kind,
        tool_version: "test".into(),
        built_at: "2026-01-01T00:00:00Z".into(),
        normalization_policy: 1,
        fpr: 0.01,
        sources: (0..sources)
            .map(|i| Source {
                name: format!("s{i}"),
                title: None,
                breach_date: None,
                data_classes: vec![],
                description: None,
                domain: None,
                files: 1,
                lines: 0,
                records: 0,
                unique: 0,
                first_seen: None,
            })
            .collect(),
        keys_without_domain: 0,
    }
}

/// Writes `entries` to a file in `dir` and returns its bytes.
fn write_index(dir: &Path, entries: &Entries, sources: u32, fpr: f64) -> Vec<u8> {
    let path = dir.join("t.ldx");
    let bits = format::fanout_bits_for(entries.len() as u64);
    // `create` makes a new file only (never truncates one): clear the previous call's.
    let _ = std::fs::remove_file(&path);
    let mut w = IndexWriter::create(&path, Kind::Email, bits, sources, dir).unwrap();
    for (k, (count, srcs)) in entries {
        w.push(k, *count, srcs).unwrap();
    }
    let mut m = meta(Kind::Email, sources);
    m.fpr = fpr;
    w.finish(fpr, m, &[], &[]).unwrap();
    std::fs::read(path).unwrap()
}

fn key(i: u64) -> Key {
    sha1::Sha1::digest(i.to_le_bytes()).into()
}

fn entries_strategy() -> impl Strategy<Value = Entries> {
    // Counts span the inline and overflow encodings; source sets span up to 5 sources.
    let count = prop_oneof![1u64..10, 1u64..2_000_000, Just(u64::MAX / 3)];
    let set = prop::collection::btree_set(0u32..5, 1..4).prop_map(|s| s.into_iter().collect::<Vec<_>>());
    prop::collection::btree_map(any::<[u8; 20]>(), (count, set), 0..600)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_inserted_key_is_found_with_its_count_and_sources(entries in entries_strategy()) {
        let dir = tempfile::tempdir().unwrap();
        let bytes = write_index(dir.path(), &entries, 5, 0.01);
        let index = Index::new(bytes).unwrap();
        index.verify().unwrap();
        prop_assert_eq!(index.len(), entries.len() as u64);
        for (k, (count, srcs)) in &entries {
            let hit = index.lookup_hash(k).unwrap().expect("inserted key is found");
            prop_assert_eq!(&hit.key, k);
            prop_assert_eq!(hit.count, *count);
            prop_assert_eq!(hit.sources.iter().collect::<Vec<_>>(), srcs.clone());
        }
        // Per-source unique counts add up.
        for (i, s) in index.sources().iter().enumerate() {
            let want = entries.values().filter(|(_, srcs)| srcs.contains(&(i as u32))).count() as u64;
            prop_assert_eq!(s.unique, want);
        }
    }

    #[test]
    fn range_returns_exactly_the_entries_under_the_prefix(entries in entries_strategy(), probe in any::<[u8; 20]>(), len in 1usize..8) {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::new(write_index(dir.path(), &entries, 5, 0.01)).unwrap();
        // Probe with the prefix of a present key half of the time.
        let base = entries.keys().nth(probe[0] as usize % entries.len().max(1)).copied().filter(|_| probe[1] % 2 == 0).unwrap_or(probe);
        let prefix = &hex(&base)[..len];
        let got: Vec<Key> = index.range(prefix).unwrap().map(|e| e.unwrap().key).collect();
        let want: Vec<Key> = entries.keys().filter(|k| hex(&k[..]).starts_with(prefix)).copied().collect();
        prop_assert_eq!(got, want);
        let lower = prefix.to_lowercase();
        prop_assert_eq!(index.range(&lower).unwrap().count(), index.range(prefix).unwrap().count());
    }
}

#[test]
fn absent_keys_pass_the_filter_at_about_its_rate() {
    let dir = tempfile::tempdir().unwrap();
    let n = 50_000u64;
    let entries: Entries = (0..n).map(|i| (key(i), (1, vec![0]))).collect();
    for fpr in [0.01, 0.001] {
        let index = Index::new(write_index(dir.path(), &entries, 1, fpr)).unwrap();
        let trials = 400_000u64;
        let fp = (n..n + trials).filter(|&i| index.may_contain(&key(i))).count() as f64 / trials as f64;
        assert!(fp < fpr * 1.5 && fp > fpr / 3.0, "measured {fp} for target {fpr}");
        assert!((n..n + 1000).all(|i| index.lookup_hash(&key(i)).unwrap().is_none()));
    }
}

#[test]
fn index_writer_create_never_follows_or_truncates_a_link_at_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "secret\n").unwrap();
    let link = dir.path().join("t.ldx");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    #[cfg(not(unix))]
    std::fs::copy(&secret, &link).unwrap();
    let err = IndexWriter::create(&link, Kind::Email, 0, 1, dir.path()).err().expect("an existing path is refused");
    assert!(err.to_string().contains("t.ldx"), "{err}");
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "secret\n");
}

#[test]
fn an_index_written_through_a_handle_whose_name_was_removed_is_whole() {
    // The writer reads its table back through its own descriptor, not by name: unlinking (or
    // replacing) the name while it writes changes nothing in the file written.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gone.ldx");
    let file = std::fs::File::options().read(true).write(true).create_new(true).open(&path).unwrap();
    let keep = file.try_clone().unwrap();
    let entries: Entries = (0..5000u64).map(|i| (key(i), (1, vec![0]))).collect();
    let mut w = IndexWriter::new(file, &path, Kind::Email, format::fanout_bits_for(5000), 1, dir.path()).unwrap();
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, "planted").unwrap();
    for (k, (count, srcs)) in &entries {
        w.push(k, *count, srcs).unwrap();
    }
    w.finish(0.001, meta(Kind::Email, 1), &[], &[]).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "planted");
    let mut bytes = Vec::new();
    std::io::Seek::rewind(&mut &keep).unwrap();
    std::io::Read::read_to_end(&mut &keep, &mut bytes).unwrap();
    let index = Index::new(bytes).unwrap();
    index.verify().unwrap();
    assert!((0..5000u64).all(|i| index.lookup_hash(&key(i)).unwrap().is_some()));
}

#[test]
fn empty_index_opens_and_answers_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::new(write_index(dir.path(), &Entries::new(), 1, 0.001)).unwrap();
    index.verify().unwrap();
    assert!(index.is_empty());
    assert!(index.lookup_hash(&key(1)).unwrap().is_none());
    assert_eq!(index.range("0").unwrap().count(), 0);
}

#[test]
fn every_single_byte_flip_is_caught_and_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let entries: Entries =
        (0..300u64).map(|i| (key(i), (i % 7 + 1 + (i % 5) * 1_000_000, vec![(i % 3) as u32]))).collect();
    let good = write_index(dir.path(), &entries, 3, 0.01);
    let probes: Vec<Key> = (0..20u64).map(key).chain((1000..1010).map(key)).collect();
    for pos in 0..good.len() {
        for flip in [0x01u8, 0x80] {
            let mut bad = good.clone();
            bad[pos] ^= flip;
            match Index::new(bad) {
                Err(_) => {}
                Ok(index) => {
                    assert!(index.verify().is_err(), "flip {flip:#x} at byte {pos} passed verify");
                    // Ordinary queries on the damaged file: an error or an answer, never a panic.
                    for k in &probes {
                        let _ = index.lookup_hash(k);
                    }
                    let _ = index.range("a").map(|r| r.take(50).for_each(drop));
                    let _ = index.stats();
                }
            }
        }
    }
}

#[test]
fn sampled_byte_flips_in_every_section_of_a_larger_index_are_caught() {
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().unwrap();
    // 40,000 entries: a multi-page table, a fan-out of thousands of buckets, overflow counts,
    // a source-set dictionary and a filter of many pages.
    let entries: Entries = (0..40_000u64)
        .map(|i| {
            let count = if i % 97 == 0 { 5_000_000_000 + i } else { i % 9 + 1 };
            let sources = if i % 5 == 0 { vec![0, (i % 4 + 1) as u32] } else { vec![(i % 5) as u32] };
            (key(i), (count, sources))
        })
        .collect();
    let mut buf = write_index(dir.path(), &entries, 5, 0.001);
    let good = Index::new(&buf[..]).unwrap();
    // Each section, the header with the section table, and the whole file (padding included).
    let mut regions = vec![("header and section table", 0, format::SECTION_TABLE_END as u64)];
    // (An index written without domain figures has empty DOMAINS and OWNED sections.)
    for (id, s) in format::SectionId::ALL.iter().zip(good.header().sections.clone()).filter(|(_, s)| s.len > 0) {
        regions.push((id.name(), s.offset, s.len));
    }
    regions.push(("anywhere", 0, buf.len() as u64));
    drop(good);
    let probes: Vec<Key> = (0..200u64).map(|i| key(i * 199)).chain((50_000..50_050).map(key)).collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x1ea6);
    let mut flips = 0;
    for (name, offset, len) in regions {
        assert!(len > 0, "empty {name} region");
        for _ in 0..120 {
            let pos = (offset + rng.gen_range(0..len)) as usize;
            let mask = 1u8 << rng.gen_range(0..8);
            buf[pos] ^= mask;
            if let Ok(index) = Index::new(&buf[..]) {
                assert!(index.verify().is_err(), "flip {mask:#x} at byte {pos} ({name}) passed verify");
                for k in &probes {
                    let _ = index.lookup_hash(k);
                }
                let _ = index.range("7f").map(|r| r.take(100).for_each(drop));
                let _ = index.stats();
            }
            buf[pos] ^= mask;
            flips += 1;
        }
    }
    // The restored buffer is the good index again.
    Index::new(&buf[..]).unwrap().verify().unwrap();
    assert!(flips >= 600);
}

#[test]
fn truncation_at_every_section_boundary_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let entries: Entries = (0..100u64).map(|i| (key(i), (1, vec![0]))).collect();
    let good = write_index(dir.path(), &entries, 1, 0.01);
    let index = Index::new(good.clone()).unwrap();
    let mut cuts = vec![0, 7, 8, 100, format::SECTION_TABLE_END];
    for s in index.header().sections.clone().into_iter().filter(|s| s.len > 0) {
        cuts.extend([s.offset as usize, (s.offset + s.len / 2) as usize, (s.offset + s.len) as usize - 1]);
    }
    for cut in cuts {
        assert!(Index::new(good[..cut].to_vec()).is_err(), "cut at {cut} opened");
    }
}

#[test]
fn the_version_1_fixture_still_opens_and_answers() {
    // Built by `leakdex build -o tests/fixtures/v1-email.ldx` from the lines in
    // tests/fixtures/v1-email.txt; kept so that format changes cannot silently break old files.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let index = Index::open(root.join("v1-email.ldx")).unwrap();
    index.verify().unwrap();
    for line in std::fs::read_to_string(root.join("v1-email.txt")).unwrap().lines() {
        assert!(index.lookup_email(line).unwrap().is_some(), "{line}");
    }
    assert!(index.lookup_email("absent@example.com").unwrap().is_none());
    assert_eq!(index.sources()[0].name, "v1-email");
    // Built with normalization policy 1: it says so, and what to do.
    assert_eq!(index.meta().normalization_policy, 1);
    let warning = index.meta().policy_warning().expect("a policy-1 email index gets a warning");
    assert!(warning.contains("policy 1") && warning.contains("rebuild"), "{warning}");
}

#[test]
fn test_vectors_match_hibp() {
    assert!(hex(&leakdex_core::email_key("test@example.com").unwrap()).starts_with("567159"));
    assert_eq!(hex(&leakdex_core::password_key(b"password")), "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8");
    assert!(hex(&leakdex_core::password_key(b"P@ssw0rd")).starts_with("21BD1"));
}
