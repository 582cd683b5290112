//! What changed between two indexes of one corpus chain (last week's and this week's): sources
//! added, removed or changed (by name), and entries added, removed, or exposed in a source that
//! did not hold them before. What `leakdex diff` prints and what a weekly job acts on.
//!
//! The entry comparison is a merge walk of the two sorted tables ([`Index::entries`]): one
//! front-to-back read of each file, in constant memory, at disk speed. Sources are matched by
//! name, never by id (ids are positions, and move when a source is added before another).
//!
//! ```no_run
//! use leakdex_core::{diff, Index};
//!
//! let old = Index::open_sequential("week-46.ldx")?;
//! let new = Index::open_sequential("week-47.ldx")?;
//! let d = diff::diff(&old, &new)?;
//! println!("{} entries added, {} sources added", d.entries.added, d.sources.added.len());
//! # Ok::<(), leakdex_core::Error>(())
//! ```

use std::cmp::Ordering;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::meta::{Meta, Source};
use crate::reader::{Entry, Index};

/// A source as `diff` shows it: what it is, when it was first seen, how much it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceSummary {
    /// Source name.
    pub name: String,
    /// Title, from the manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Breach date, from the manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breach_date: Option<String>,
    /// When it was first indexed ([`Meta::first_seen`]).
    pub first_seen: String,
    /// Records (occurrences).
    pub records: u64,
    /// Distinct keys.
    pub unique: u64,
}

impl SourceSummary {
    fn of(meta: &Meta, s: &Source) -> SourceSummary {
        SourceSummary {
            name: s.name.clone(),
            title: s.title.clone(),
            breach_date: s.breach_date.clone(),
            first_seen: meta.first_seen(s).to_string(),
            records: s.records,
            unique: s.unique,
        }
    }
}

/// A source in both indexes whose size changed (the corpus under that name grew or shrank).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceChange {
    /// Source name.
    pub name: String,
    /// Distinct keys in the older index.
    pub old_unique: u64,
    /// Distinct keys in the newer index.
    pub new_unique: u64,
    /// Records in the older index.
    pub old_records: u64,
    /// Records in the newer index.
    pub new_records: u64,
}

/// How the sources of two indexes differ, by name; each list in the order of its index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourcesDiff {
    /// In the newer index only.
    pub added: Vec<SourceSummary>,
    /// In the older index only.
    pub removed: Vec<SourceSummary>,
    /// In both, with another count of records or of distinct keys.
    pub changed: Vec<SourceChange>,
}

/// How many keys of a source of the newer index the source of that name did not hold in the
/// older one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewInSource {
    /// Source name (of the newer index).
    pub name: String,
    /// Its keys that the older index's source of that name did not hold (all of them for a
    /// source added).
    pub entries: u64,
}

/// How the entries (keys) of two indexes differ.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EntriesDiff {
    /// Entries of the older index.
    pub old: u64,
    /// Entries of the newer index.
    pub new: u64,
    /// Keys in the newer index only: newly exposed.
    pub added: u64,
    /// Keys in the older index only.
    pub removed: u64,
    /// Keys in both.
    pub kept: u64,
    /// Keys in both that the newer index holds in a source (by name) that did not hold them in
    /// the older one: exposed again, somewhere new.
    pub gained_source: u64,
    /// For each source of the newer index, in its order: how many of its keys the source of
    /// that name did not hold in the older index (all of them for a new source).
    pub new_in_source: Vec<NewInSource>,
}

/// Everything that changed from an older index to a newer one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// Sources added, removed, changed.
    pub sources: SourcesDiff,
    /// Entries added, removed, kept.
    pub entries: EntriesDiff,
}

impl Diff {
    /// Whether the newer index exposes anything the older did not: a source added, a key added,
    /// or a key found in a source that did not hold it. What `leakdex diff` exits 1 for.
    pub fn has_additions(&self) -> bool {
        !self.sources.added.is_empty() || self.entries.added > 0 || self.entries.gained_source > 0
    }
}

/// Refuses two indexes whose keys cannot be compared: another kind (an address and a
/// password are different keys) or, for email indexes, another normalization policy (the same
/// address may have another key under each).
pub fn check_comparable(old: &Meta, new: &Meta) -> Result<()> {
    if old.kind != new.kind {
        return Err(Error::Incomparable { what: "kind", old: old.kind.to_string(), new: new.kind.to_string() });
    }
    if old.normalization_policy != new.normalization_policy && old.kind == crate::Kind::Email {
        return Err(Error::Incomparable {
            what: "normalization policy",
            old: old.normalization_policy.to_string(),
            new: new.normalization_policy.to_string(),
        });
    }
    Ok(())
}

/// The sources added, removed and changed from `old` to `new`, matched by name.
pub fn compare_sources(old: &Meta, new: &Meta) -> SourcesDiff {
    let mut d = SourcesDiff::default();
    // By name through maps: an index with a source per file has thousands of sources.
    let olds = by_name(old);
    let news = by_name(new);
    for s in &new.sources {
        match olds.get(s.name.as_str()).map(|&i| &old.sources[i]) {
            None => d.added.push(SourceSummary::of(new, s)),
            Some(o) if o.unique != s.unique || o.records != s.records => d.changed.push(SourceChange {
                name: s.name.clone(),
                old_unique: o.unique,
                new_unique: s.unique,
                old_records: o.records,
                new_records: s.records,
            }),
            Some(_) => {}
        }
    }
    for s in &old.sources {
        if !news.contains_key(s.name.as_str()) {
            d.removed.push(SourceSummary::of(old, s));
        }
    }
    d
}

/// For each source id of `new`, the id of the source of that name in `old`, if any.
pub fn source_map(old: &Meta, new: &Meta) -> Vec<Option<u32>> {
    let olds = by_name(old);
    new.sources.iter().map(|s| olds.get(s.name.as_str()).map(|&i| i as u32)).collect()
}

/// Source positions by name.
fn by_name(meta: &Meta) -> std::collections::HashMap<&str, usize> {
    meta.sources.iter().enumerate().map(|(i, s)| (s.name.as_str(), i)).collect()
}

/// The sources (ids of `new`) of `new_entry` that did not hold its key in the older index:
/// every one when the older index lacks the key (`old_entry` none); `map` is [`source_map`].
pub fn new_sources<'a>(
    new_entry: &'a Entry<'_>,
    old_entry: Option<&'a Entry<'_>>,
    map: &'a [Option<u32>],
) -> impl Iterator<Item = u32> + 'a {
    new_entry.sources.iter().filter(move |&id| {
        let Some(old) = old_entry else { return true };
        match map.get(id as usize).copied().flatten() {
            Some(old_id) => !old.sources.iter().any(|o| o == old_id),
            None => true,
        }
    })
}

/// Walks the two sorted tables side by side and counts the entries added, removed and kept,
/// and per source of `new` the keys it holds that the same-named source of `old` did not.
/// Reads each table once, front to back; the indexes must be comparable
/// ([`check_comparable`]), which [`diff`] checks.
pub fn compare_entries<A: AsRef<[u8]>, B: AsRef<[u8]>>(old: &Index<A>, new: &Index<B>) -> Result<EntriesDiff> {
    let map = source_map(old.meta(), new.meta());
    let mut per_source = vec![0u64; new.sources().len()];
    let mut d = EntriesDiff { old: old.len(), new: new.len(), ..EntriesDiff::default() };
    let mut olds = old.entries();
    let mut news = new.entries();
    let mut o = olds.next().transpose()?;
    let mut n = news.next().transpose()?;
    loop {
        let order = match (&o, &n) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(a), Some(b)) => a.key.cmp(&b.key),
        };
        match order {
            Ordering::Less => {
                d.removed += 1;
                o = olds.next().transpose()?;
            }
            Ordering::Greater => {
                let entry = n.as_ref().expect("a newer entry");
                d.added += 1;
                for id in entry.sources.iter() {
                    count_in(&mut per_source, id)?;
                }
                n = news.next().transpose()?;
            }
            Ordering::Equal => {
                let (a, b) = (o.as_ref().expect("an older entry"), n.as_ref().expect("a newer entry"));
                d.kept += 1;
                let mut gained = false;
                for id in new_sources(b, Some(a), &map) {
                    count_in(&mut per_source, id)?;
                    gained = true;
                }
                d.gained_source += u64::from(gained);
                o = olds.next().transpose()?;
                n = news.next().transpose()?;
            }
        }
    }
    d.new_in_source = new
        .sources()
        .iter()
        .zip(per_source)
        .map(|(s, entries)| NewInSource { name: s.name.clone(), entries })
        .collect();
    Ok(d)
}

fn count_in(per_source: &mut [u64], id: u32) -> Result<()> {
    let slot = per_source.get_mut(id as usize).ok_or_else(|| Error::Corrupt {
        section: "sets",
        reason: format!("source id {id} is past the sources of the metadata"),
    })?;
    *slot += 1;
    Ok(())
}

/// Compares two indexes: refuses incomparable ones ([`check_comparable`]), then
/// [`compare_sources`] and [`compare_entries`].
pub fn diff<A: AsRef<[u8]>, B: AsRef<[u8]>>(old: &Index<A>, new: &Index<B>) -> Result<Diff> {
    check_comparable(old.meta(), new.meta())?;
    Ok(Diff { sources: compare_sources(old.meta(), new.meta()), entries: compare_entries(old, new)? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{self, Kind};
    use crate::writer::IndexWriter;
    use crate::Key;

    fn source(name: &str, records: u64, first_seen: Option<&str>) -> Source {
        Source {
            name: name.into(),
            title: None,
            breach_date: None,
            data_classes: vec![],
            description: None,
            domain: None,
            files: 1,
            lines: records,
            records,
            unique: 0,
            first_seen: first_seen.map(String::from),
        }
    }

    fn meta(kind: Kind, policy: u32, built_at: &str, sources: Vec<Source>) -> Meta {
        Meta {
            kind,
            tool_version: "test".into(),
            built_at: built_at.into(),
            normalization_policy: policy,
            fpr: 0.01,
            sources,
            keys_without_domain: 0,
        }
    }

    /// Key `i`: one byte set, the rest zero, so that the order of keys is the order of `i`
    /// spread over the fan-out buckets.
    fn key(i: u8) -> Key {
        let mut k = [0u8; 20];
        k[0] = i;
        k[19] = 1;
        k
    }

    /// Writes an index of `entries` (key number, source ids) and opens it.
    fn index(dir: &std::path::Path, name: &str, m: Meta, entries: &[(u8, &[u32])]) -> Index<memmap2::Mmap> {
        let path = dir.join(name);
        let mut w = IndexWriter::create(
            &path,
            m.kind,
            format::fanout_bits_for(entries.len() as u64),
            m.sources.len() as u32,
            dir,
        )
        .unwrap();
        for (i, ids) in entries {
            w.push(&key(*i), ids.len() as u64, ids).unwrap();
        }
        w.finish(0.01, m, &[], &[]).unwrap();
        Index::open(&path).unwrap()
    }

    #[test]
    fn entries_are_counted_added_removed_kept_and_gained_by_source_name() {
        let dir = tempfile::tempdir().unwrap();
        // Old: a = {1, 2, 3, 5}, b = {3}.
        let old_meta = meta(Kind::Email, 3, "2026-01-01T00:00:00Z", vec![source("a", 4, None), source("b", 1, None)]);
        let old = index(dir.path(), "old.ldx", old_meta, &[(1, &[0]), (2, &[0]), (3, &[0, 1]), (5, &[0])]);
        // New, with a source "c" put first, so that ids move: c = {2, 7, 9}, a = {1, 3, 7},
        // b = {3, 5}. Key 2 moved from a to c (gained), 3 kept as it was, 5 moved from a to b
        // (gained), 7 and 9 added; 1 kept.
        let new_meta = meta(
            Kind::Email,
            3,
            "2026-01-08T00:00:00Z",
            vec![source("c", 3, None), source("a", 3, Some("2026-01-01T00:00:00Z")), source("b", 2, None)],
        );
        let new = index(
            dir.path(),
            "new.ldx",
            new_meta,
            &[(1, &[1]), (2, &[0]), (3, &[1, 2]), (5, &[2]), (7, &[0, 1]), (9, &[0])],
        );
        let d = diff(&old, &new).unwrap();
        assert_eq!((d.entries.old, d.entries.new), (4, 6));
        assert_eq!((d.entries.added, d.entries.removed, d.entries.kept), (2, 0, 4));
        assert_eq!(d.entries.gained_source, 2);
        // c: 2, 7, 9 (all); a: 7 only (1 and 3 it held); b: 5 (3 it held).
        let per_source: Vec<(&str, u64)> =
            d.entries.new_in_source.iter().map(|s| (s.name.as_str(), s.entries)).collect();
        assert_eq!(per_source, [("c", 3), ("a", 1), ("b", 1)]);
        assert_eq!(d.sources.added.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["c"]);
        assert_eq!(d.sources.added[0].first_seen, "2026-01-08T00:00:00Z");
        assert!(d.sources.removed.is_empty());
        assert!(d.has_additions());
    }

    #[test]
    fn removed_keys_and_sources_are_counted_and_are_no_additions() {
        let dir = tempfile::tempdir().unwrap();
        let old_meta =
            meta(Kind::Password, 3, "2026-01-01T00:00:00Z", vec![source("a", 3, None), source("b", 1, None)]);
        let old = index(dir.path(), "old.ldx", old_meta, &[(0, &[0]), (4, &[0, 1]), (255, &[0])]);
        let new_meta = meta(Kind::Password, 3, "2026-01-08T00:00:00Z", vec![source("a", 1, None)]);
        let new = index(dir.path(), "new.ldx", new_meta, &[(4, &[0])]);
        let d = diff(&old, &new).unwrap();
        assert_eq!((d.entries.added, d.entries.removed, d.entries.kept, d.entries.gained_source), (0, 2, 1, 0));
        assert_eq!(d.sources.removed.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["b"]);
        // An index written before first_seen: the older index's build date.
        assert_eq!(d.sources.removed[0].first_seen, "2026-01-01T00:00:00Z");
        assert_eq!(d.sources.changed.len(), 1, "a went from 3 records to 1");
        assert!(!d.has_additions());
    }

    #[test]
    fn an_empty_older_index_makes_every_entry_added() {
        let dir = tempfile::tempdir().unwrap();
        let old = index(dir.path(), "old.ldx", meta(Kind::Email, 3, "2026-01-01T00:00:00Z", vec![]), &[]);
        let new_meta = meta(Kind::Email, 3, "2026-01-08T00:00:00Z", vec![source("a", 2, None)]);
        let new = index(dir.path(), "new.ldx", new_meta, &[(0, &[0]), (255, &[0])]);
        let d = diff(&old, &new).unwrap();
        assert_eq!((d.entries.added, d.entries.removed, d.entries.kept), (2, 0, 0));
        let back = diff(&new, &old).unwrap();
        assert_eq!((back.entries.added, back.entries.removed), (0, 2));
    }

    #[test]
    fn another_kind_or_normalization_policy_is_refused() {
        let a = meta(Kind::Email, 3, "x", vec![]);
        let wrong_kind = check_comparable(&a, &meta(Kind::Password, 3, "x", vec![])).unwrap_err();
        assert!(wrong_kind.to_string().contains("kind: email (older) against password (newer)"), "{wrong_kind}");
        let wrong_policy = check_comparable(&meta(Kind::Email, 2, "x", vec![]), &a).unwrap_err();
        assert!(wrong_policy.to_string().contains("normalization policy: 2 (older) against 3"), "{wrong_policy}");
        // Passwords are never normalized: the policy does not matter for them.
        check_comparable(&meta(Kind::Ntlm, 2, "x", vec![]), &meta(Kind::Ntlm, 3, "x", vec![])).unwrap();
    }
}
