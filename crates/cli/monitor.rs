//! Monitoring, what changed since the previous index: `leakdex diff`, the `bulk --since`
//! filter, the `first_seen` date of exposed rows, and `build --previous`'s lines on new and
//! removed sources.

use std::collections::HashSet;
use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, Result};
use leakdex_core::diff::{self, Diff};
use leakdex_core::{Index, Key, Meta, Source};
use memmap2::Mmap;
use serde_json::json;

use crate::args::{CheckFormat, DiffArgs};
use crate::query::json_safe;
use crate::show::printable;
use crate::Outcome;

/// What a row says besides its exposure: since when (`first_seen`) and, under `--since`, why
/// it is reported.
#[derive(Debug, Default)]
pub struct Note {
    /// The earliest `first_seen` of the sources that hold the row (in the older index when
    /// it was exposed there already).
    pub first_seen: Option<String>,
    /// `new` (not exposed in the older index) or `new source: A, B`.
    pub why: Option<String>,
    /// The sources that did not hold the row in the older index (for `new source`).
    pub new_sources: Vec<String>,
}

/// The `first_seen` date of each source of an index, by name (rows name their sources), made
/// once per run: an index built with a source per file has thousands.
pub struct Dates(std::collections::HashMap<String, String>);

impl Dates {
    /// The dates of `meta`'s sources ([`Meta::first_seen`]).
    pub fn of(meta: &Meta) -> Dates {
        Dates(meta.first_seen_by_name().into_iter().collect())
    }

    /// The earliest date among the sources named. The dates are `built_at` values, all
    /// written as `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339 in UTC, whole seconds), whose text order is
    /// their time order.
    fn earliest<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Option<String> {
        names.into_iter().filter_map(|n| self.0.get(n)).min().cloned()
    }
}

/// `bulk --since OLD.ldx`: the older index, and how many rows were new.
pub struct Since {
    old: Index<Mmap>,
    shown: String,
    /// Rows not exposed in the older index.
    pub first_exposed: u64,
    /// Rows exposed there, and now in a source that did not hold them.
    pub in_new_source: u64,
}

impl Since {
    /// Opens the older index and refuses one that cannot be compared with `new` (another
    /// kind or normalization policy) or that is `new` itself (nothing could ever be new).
    pub fn open(old_path: &Path, new_path: &Path, new: &Meta) -> Result<Since> {
        let shown = old_path.display().to_string();
        if leakdex_core::atomic::same_file(old_path, new_path) {
            anyhow::bail!(
                "--since {shown} is the index -i {} itself: nothing could be new; give the previous index (last week's)",
                new_path.display()
            );
        }
        let old = Index::open_random(old_path).with_context(|| format!("--since {shown}"))?;
        leakdex_core::diff::check_comparable(old.meta(), new)
            .with_context(|| format!("comparing --since {shown} (older) with {} (newer)", new_path.display()))?;
        warn_if_reversed(old.meta(), new, old_path, new_path);
        Ok(Since { old, shown, first_exposed: 0, in_new_source: 0 })
    }

    /// Rows reported.
    pub fn new_rows(&self) -> u64 {
        self.first_exposed + self.in_new_source
    }

    /// Whether a row exposed now in the sources named `sources` (of the newer index `new`) is
    /// new: `None` when the older index held it (under one of `keys`, tried in order) in every
    /// one of those sources, else why it is new.
    fn judge(&mut self, keys: &[Key], sources: &[&str], new: &Dates) -> Result<Option<Note>> {
        let mut hit = None;
        for key in keys {
            if let Some(e) = self.old.lookup_hash(key)? {
                hit = Some(e);
                break;
            }
        }
        let Some(hit) = hit else {
            self.first_exposed += 1;
            return Ok(Some(Note {
                first_seen: new.earliest(sources.iter().copied()),
                why: Some("new".into()),
                new_sources: Vec::new(),
            }));
        };
        let sources_then: Vec<&Source> =
            hit.sources.iter().filter_map(|id| self.old.sources().get(id as usize)).collect();
        let fresh: Vec<String> =
            sources.iter().filter(|n| !sources_then.iter().any(|s| s.name == **n)).map(|n| n.to_string()).collect();
        if fresh.is_empty() {
            return Ok(None);
        }
        self.in_new_source += 1;
        let meta = self.old.meta();
        Ok(Some(Note {
            first_seen: sources_then.iter().map(|s| meta.first_seen(s)).min().map(String::from),
            why: Some(format!("new source: {}", fresh.join(", "))),
            new_sources: fresh,
        }))
    }

    /// The summary's part: what was new since the older index.
    pub fn summary(&self) -> String {
        format!(
            "new since {}: {} ({} newly exposed, {} exposed in a new source)",
            printable(&self.shown),
            self.new_rows(),
            self.first_exposed,
            self.in_new_source
        )
    }
}

/// The note of one answered row: `None` when `--since` leaves it out (not exposed, or nothing
/// new about it). `exposed_in` is the row's sources when it is exposed (by name, in the newer
/// index, whose dates are `new`: `None` for a range API); `keys` the keys it is looked up
/// under.
pub fn note(
    since: Option<&mut Since>,
    new: Option<&Dates>,
    exposed_in: Option<&[&str]>,
    keys: impl FnOnce() -> Vec<Key>,
) -> Result<Option<Note>> {
    match (since, new, exposed_in) {
        (None, _, exposed_in) => Ok(Some(Note {
            first_seen: new.zip(exposed_in).and_then(|(d, names)| d.earliest(names.iter().copied())),
            ..Note::default()
        })),
        (Some(_), _, None) => Ok(None),
        (Some(since), Some(new), Some(names)) => since.judge(&keys(), names, new),
        (Some(_), None, Some(_)) => anyhow::bail!("--since needs a local index (-i INDEX)"),
    }
}

/// Warns when the "older" index was built after the "newer" one: the arguments are probably
/// swapped, and what is reported as new is what went away.
fn warn_if_reversed(old: &Meta, new: &Meta, old_path: &Path, new_path: &Path) {
    if old.built_at > new.built_at {
        eprintln!(
            "warning: {} (given as the older index) was built at {}, after {} ({}): are the two swapped?",
            printable(&old_path.display().to_string()),
            old.built_at,
            printable(&new_path.display().to_string()),
            new.built_at
        );
    }
}

/// `leakdex diff OLD NEW`.
pub fn diff(a: DiffArgs) -> Result<Outcome> {
    // Both tables are read front to back, once.
    let old = Index::open_sequential(&a.old)?;
    let new = Index::open_sequential(&a.new)?;
    if leakdex_core::atomic::same_file(&a.old, &a.new) {
        eprintln!("warning: {} and {} are one file: nothing can differ", a.old.display(), a.new.display());
    }
    warn_if_reversed(old.meta(), new.meta(), &a.old, &a.new);
    let d = diff::diff(&old, &new)
        .with_context(|| format!("comparing {} (older) with {} (newer)", a.old.display(), a.new.display()))?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    match a.format {
        CheckFormat::Json => {
            let side = |path: &Path, i: &Index<Mmap>| {
                json!({
                    "path": path.display().to_string(),
                    "built_at": i.meta().built_at,
                    "kind": i.kind(),
                    "entries": i.len(),
                    "sources": i.sources().len(),
                })
            };
            let doc = json!({
                "old": side(&a.old, &old),
                "new": side(&a.new, &new),
                "sources": d.sources,
                "entries": d.entries,
                "has_additions": d.has_additions(),
            });
            writeln!(out, "{}", json_safe(serde_json::to_string_pretty(&doc)?))?;
        }
        CheckFormat::Table => table(&mut out, &a.old, &old, &a.new, &new, &d)?,
    }
    out.flush()?;
    Ok(if d.has_additions() { Outcome::Exposed } else { Outcome::Clean })
}

fn table(
    out: &mut impl Write,
    old_path: &Path,
    old: &Index<Mmap>,
    new_path: &Path,
    new: &Index<Mmap>,
    d: &Diff,
) -> io::Result<()> {
    for (label, path, i) in [("older", old_path, old), ("newer", new_path, new)] {
        writeln!(
            out,
            "{label}: {}  built {}  {} entries  {} sources",
            printable(&path.display().to_string()),
            i.meta().built_at,
            i.len(),
            i.sources().len()
        )?;
    }
    let s = &d.sources;
    writeln!(out, "sources added: {}", s.added.len())?;
    for x in &s.added {
        let date = x.breach_date.as_deref().map(|b| format!("  breach {}", printable(b))).unwrap_or_default();
        writeln!(
            out,
            "  + {}  first seen {}  {} unique, {} records{date}",
            printable(&x.name),
            x.first_seen,
            x.unique,
            x.records
        )?;
    }
    writeln!(out, "sources removed: {}", s.removed.len())?;
    for x in &s.removed {
        writeln!(
            out,
            "  - {}  first seen {}  {} unique, {} records",
            printable(&x.name),
            x.first_seen,
            x.unique,
            x.records
        )?;
    }
    writeln!(out, "sources changed: {}", s.changed.len())?;
    for c in &s.changed {
        writeln!(
            out,
            "  ~ {}  unique {} -> {}, records {} -> {}",
            printable(&c.name),
            c.old_unique,
            c.new_unique,
            c.old_records,
            c.new_records
        )?;
    }
    let e = &d.entries;
    writeln!(
        out,
        "entries: {} -> {}: {} added, {} removed, {} kept ({} of them in a source that did not hold them)",
        e.old, e.new, e.added, e.removed, e.kept, e.gained_source
    )?;
    let grown: Vec<_> = e.new_in_source.iter().filter(|s| s.entries > 0).collect();
    if !grown.is_empty() {
        writeln!(out, "new in each source (entries the source of that name did not hold before):")?;
        for g in grown {
            writeln!(out, "  {}  {}", printable(&g.name), g.entries)?;
        }
    }
    Ok(())
}

/// `build --previous OLD.ldx`: the `first_seen` dates to carry forward, after checking that
/// the previous index is of the kind being built.
pub fn previous_first_seen(
    path: &Path,
    kind: leakdex_core::Kind,
) -> Result<(Meta, std::collections::BTreeMap<String, String>)> {
    let old = Index::open(path).with_context(|| format!("--previous {}", path.display()))?;
    let meta = old.meta().clone();
    if meta.kind != kind {
        anyhow::bail!(
            "--previous {} is {} index, and this build makes {} index: give the previous index of this corpus",
            path.display(),
            with_article(meta.kind),
            with_article(kind)
        );
    }
    let dates = meta.first_seen_by_name();
    Ok((meta, dates))
}

fn with_article(kind: leakdex_core::Kind) -> String {
    match kind {
        leakdex_core::Kind::Email => "an email".into(),
        leakdex_core::Kind::Password => "a password (SHA-1)".into(),
        _ => "an NTLM".into(),
    }
}

/// The build summary's lines on what changed from the previous index: new sources (first seen
/// now) and sources gone.
pub fn previous_summary(previous: &Path, old: &Meta, sources: &[Source]) -> Vec<String> {
    let had: HashSet<&str> = old.sources.iter().map(|s| s.name.as_str()).collect();
    let has: HashSet<&str> = sources.iter().map(|s| s.name.as_str()).collect();
    let added: Vec<&str> = sources.iter().map(|s| s.name.as_str()).filter(|n| !had.contains(n)).collect();
    let removed: Vec<&str> = old.sources.iter().map(|s| s.name.as_str()).filter(|n| !has.contains(n)).collect();
    let shown = printable(&previous.display().to_string()).into_owned();
    let mut lines = vec![match added.len() {
        0 => format!("new sources since {shown}: none"),
        n => format!("new sources since {shown}: {n}: {}", listed(&added)),
    }];
    if !removed.is_empty() {
        lines.push(format!("sources of {shown} not in this build: {}: {}", removed.len(), listed(&removed)));
    }
    lines
}

/// Source names named in a summary line; past this many (a source per file), the rest are
/// counted (`leakdex diff` lists them all).
const LISTED: usize = 20;

fn listed(names: &[&str]) -> String {
    let mut s = names.iter().take(LISTED).map(|n| printable(n)).collect::<Vec<_>>().join(", ");
    if names.len() > LISTED {
        s.push_str(&format!(" and {} more (see leakdex diff)", names.len() - LISTED));
    }
    s
}
