//! Per-domain aggregates (the DOMAINS section) and the plaintext addresses of owned domains
//! (the OWNED section) of an email index. `docs/FORMAT.md` describes both byte by byte.
//!
//! DOMAINS is keyed by the SHA-1 of the normalized domain ([`domain_key`]): no plaintext is
//! added. Each domain has its own figures (addresses at exactly that domain) and rolled-up
//! ones (that domain and every subdomain: `a.b.example.com` also counts under `b.example.com`
//! and `example.com`), each as distinct addresses, occurrences, and the same per source.
//! The build computes them from the merged keys: each parsing thread interns the domains it
//! sees and tags each run record with the domain's id ([`DomainTag`]), and the merge, which
//! sees every key once with all its sources, adds the key to its domain ([`DomainCollector`]).
//!
//! OWNED holds, for the domains given with `--own-domain` (and their subdomains) only, every
//! normalized address with its sources, occurrences and the files it was found in, as JSON.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use sha1::{Digest, Sha1};

use crate::error::{Error, Result};
use crate::Key;

/// Bytes of the DOMAINS section's head: domain count (u64), per-source entry count (u64).
pub const DOMAINS_HEAD_LEN: usize = 16;
/// Bytes of one domain entry: key (20), own source entries (u32), rolled-up source entries
/// (u32), reserved (u32, zero), first source entry (u64), distinct and occurrences (u64 each),
/// rolled-up distinct and occurrences (u64 each).
pub const DOMAIN_ENTRY_LEN: usize = 72;
/// Bytes of one per-source entry: source id (u32), reserved (u32, zero), distinct (u64),
/// occurrences (u64).
pub const DOMAIN_SOURCE_LEN: usize = 24;
/// Most provenance labels kept per owned address; the rest are counted.
pub const MAX_FOUND_IN: usize = 5;

/// The tag of a run record that has no domain (a hash line, the Unicode-form key of an
/// internationalized address, a password).
pub(crate) const NO_DOMAIN: u64 = u64::MAX;

/// The tag of a run record read as a hash (a SHA-1 list of addresses): no domain either, but
/// counted ([`crate::Meta::keys_without_domain`]) unless another record of the key has a
/// domain. Below [`NO_DOMAIN`] and above every thread's tags, since the merge keeps a key's
/// smallest tag.
pub(crate) const HASHED: u64 = u64::MAX - 1;

/// A run record's domain: the parsing thread in the high 32 bits, the thread's own id of the
/// domain in the low 32 ([`NO_DOMAIN`] for none). Ids are per thread so that threads share
/// nothing while parsing; the merge maps them to one table.
pub(crate) type DomainTag = u64;

/// The normalized form of a domain as the index keys it: what the address normalization
/// makes of `x@DOMAIN` (lowercase, punycode for internationalized labels, no trailing dot).
///
/// ```
/// let n = leakdex_core::domains::normalize_domain("M\u{fc}nchen.Example.").unwrap();
/// assert_eq!(n, "xn--mnchen-3ya.example");
/// assert!(leakdex_core::domains::normalize_domain("localhost").is_err());
/// ```
pub fn normalize_domain(domain: &str) -> std::result::Result<String, crate::Invalid> {
    let d = domain.trim();
    if d.contains('@') {
        return Err(crate::Invalid::SeveralAt);
    }
    let n = crate::normalize_email(&format!("x@{d}"))?;
    Ok(n[n.rfind('@').map_or(0, |a| a + 1)..].to_string())
}

/// The key of a domain: the SHA-1 of its normalized form ([`normalize_domain`]).
pub fn domain_key(domain: &str) -> std::result::Result<Key, crate::Invalid> {
    Ok(Sha1::digest(normalize_domain(domain)?.as_bytes()).into())
}

/// The domain part of a normalized address.
pub(crate) fn domain_of(normalized: &str) -> &str {
    &normalized[normalized.rfind('@').map_or(0, |a| a + 1)..]
}

/// Whether `domain` is `owned` or one of its subdomains (both normalized).
pub fn is_under(domain: &str, owned: &str) -> bool {
    domain == owned
        || domain.len() > owned.len()
            && domain.ends_with(owned)
            && domain.as_bytes()[domain.len() - owned.len() - 1] == b'.'
}

/// Whether `domain` (normalized) cannot be an organization's own: a single label (`com`), or
/// a suffix of the public suffix list under which anyone registers (`co.jp`, `com.br`,
/// `github.io`). Keeping such a domain's addresses (`--own-domain`) would keep every
/// organization's addresses under it in plaintext.
///
/// ```
/// use leakdex_core::domains::is_public_suffix;
/// assert!(is_public_suffix("co.jp") && is_public_suffix("com"));
/// assert!(!is_public_suffix("example.co.jp") && !is_public_suffix("example.com"));
/// ```
pub fn is_public_suffix(domain: &str) -> bool {
    !domain.contains('.')
        || psl::suffix(domain.as_bytes()).is_some_and(|s| s.is_known() && s.as_bytes() == domain.as_bytes())
}

/// A provenance label (a file's path inside its input) as the OWNED section may keep it: every
/// address-like token in it whose domain is not under one of `owned` (normalized) has its
/// local part replaced by `***`, as the summary redacts reject examples (`***@example.org`).
/// A local part is what precedes an `@` back to a path separator, a space, a bracket, a quote,
/// `,;:=|` or the previous `@`; an address is kept only when its domain (letters, digits, `.`,
/// `-` up to the next other character) is owned and no other `@` follows it right away.
/// Hand-written: no crate finds addresses inside file names, and the rule errs to redacting.
///
/// ```
/// use leakdex_core::domains::redact_label;
/// let owned = ["example.com".to_string()];
/// assert_eq!(redact_label("dump/zed@partner.test.txt", &owned), "dump/***@partner.test.txt");
/// assert_eq!(redact_label("dump/amy@example.com", &owned), "dump/amy@example.com");
/// ```
pub fn redact_label(label: &str, owned: &[String]) -> String {
    let stop = |c: char| c.is_whitespace() || "/\\@()[]{}<>\"',;:=|".contains(c);
    let domain_char = |c: char| c.is_alphanumeric() || c == '.' || c == '-';
    let mut hidden = vec![false; label.len()];
    for (at, _) in label.match_indices('@') {
        let start = label[..at].char_indices().rev().find(|&(_, c)| stop(c)).map_or(0, |(i, c)| i + c.len_utf8());
        let rest = &label[at + 1..];
        let end = rest.find(|c: char| !domain_char(c)).unwrap_or(rest.len());
        let kept = !rest[end..].starts_with('@')
            && normalize_domain(&rest[..end]).is_ok_and(|d| owned.iter().any(|o| is_under(&d, o)));
        if !kept {
            hidden[start..at].iter_mut().for_each(|h| *h = true);
        }
    }
    let mut out = String::with_capacity(label.len());
    let mut in_hidden = false;
    for (i, c) in label.char_indices() {
        match (hidden[i], in_hidden) {
            (true, false) => out.push_str("***"),
            (true, true) => {}
            (false, _) => out.push(c),
        }
        in_hidden = hidden[i];
    }
    out
}

/// The domains an address at `domain` counts under when rolled up: `domain` itself and every
/// parent with at least two labels (`a.b.example.com`: itself, `b.example.com`,
/// `example.com`).
pub fn rollup_of(domain: &str) -> impl Iterator<Item = &str> {
    let dots: Vec<usize> = domain.match_indices('.').map(|(i, _)| i).collect();
    // Parents start after each dot but the last (a parent keeps at least two labels).
    let starts: Vec<usize> =
        std::iter::once(0).chain(dots.iter().take(dots.len().saturating_sub(1)).map(|d| d + 1)).collect();
    starts.into_iter().map(move |s| &domain[s..])
}

/// Figures of one domain for one source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourceFigures {
    /// Source id.
    pub source: u32,
    /// Distinct addresses.
    pub distinct: u64,
    /// Occurrences.
    pub occurrences: u64,
}

/// Figures of one domain (its own, or rolled up with its subdomains).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    /// Distinct addresses.
    pub distinct: u64,
    /// Occurrences across all sources.
    pub occurrences: u64,
    /// Per source, ascending ids.
    pub sources: Vec<SourceFigures>,
}

impl Figures {
    fn add_source(&mut self, f: SourceFigures) {
        match self.sources.iter_mut().find(|s| s.source == f.source) {
            Some(s) => {
                s.distinct += f.distinct;
                s.occurrences += f.occurrences;
            }
            None => self.sources.push(f),
        }
    }
    fn add(&mut self, other: &Figures) {
        self.distinct += other.distinct;
        self.occurrences += other.occurrences;
        for s in &other.sources {
            self.add_source(*s);
        }
    }
}

/// One domain's entry: its own figures and the rolled-up ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainEntry {
    /// Addresses at exactly this domain.
    pub own: Figures,
    /// This domain and all its subdomains.
    pub rolled: Figures,
}

/// One parsing thread's domains: names by the thread's own id, and which of them are owned.
#[derive(Default)]
pub(crate) struct DomainInterner {
    ids: FxHashMap<Box<str>, u32>,
    pub(crate) names: Vec<Box<str>>,
    pub(crate) owned: Vec<bool>,
}

impl DomainInterner {
    /// The thread's id of `domain`, and whether it is owned (under one of `owned`).
    #[inline]
    pub(crate) fn intern(&mut self, domain: &str, owned: &[String]) -> (u32, bool) {
        if let Some(&id) = self.ids.get(domain) {
            return (id, self.owned[id as usize]);
        }
        let id = self.names.len() as u32;
        let is_owned = owned.iter().any(|o| is_under(domain, o));
        self.ids.insert(domain.into(), id);
        self.names.push(domain.into());
        self.owned.push(is_owned);
        (id, is_owned)
    }
}

/// What one owned address gathered while parsing.
#[derive(Debug, Default, Clone)]
pub(crate) struct OwnedTally {
    /// Occurrences per source id (before per-file sources are renumbered).
    pub(crate) sources: BTreeMap<u32, u64>,
    /// File (report) ids it was found in.
    pub(crate) files: std::collections::BTreeSet<usize>,
}

/// Adds every merged key to its domain, then writes the DOMAINS section.
pub(crate) struct DomainCollector {
    /// Per thread: the thread's domain id → index in `names`.
    map: Vec<Vec<u32>>,
    names: Vec<Box<str>>,
    own: Vec<Figures>,
    /// Keys that only came hashed ([`HASHED`]).
    without_domain: u64,
}

impl DomainCollector {
    /// Joins the threads' domain tables (thread `i`'s table is `tables[i]`).
    pub(crate) fn new(tables: Vec<Vec<Box<str>>>) -> DomainCollector {
        let mut index: FxHashMap<Box<str>, u32> = FxHashMap::default();
        let mut names = Vec::new();
        let mut map = Vec::with_capacity(tables.len());
        for t in tables {
            let mut m = Vec::with_capacity(t.len());
            for name in t {
                let next = names.len() as u32;
                let id = *index.entry(name.clone()).or_insert(next);
                if id == next {
                    names.push(name);
                }
                m.push(id);
            }
            map.push(m);
        }
        let own = vec![Figures::default(); names.len()];
        DomainCollector { map, names, own, without_domain: 0 }
    }

    /// Adds one key: its domain tag, and its (source, occurrences), sources ascending.
    #[inline]
    pub(crate) fn add(&mut self, tag: DomainTag, sources: &[(u32, u64)]) {
        if tag == HASHED {
            self.without_domain += 1;
            return;
        }
        if tag == NO_DOMAIN {
            return;
        }
        let Some(&d) = self.map.get((tag >> 32) as usize).and_then(|m| m.get((tag & 0xffff_ffff) as usize)) else {
            return;
        };
        let f = &mut self.own[d as usize];
        f.distinct += 1;
        for &(source, occurrences) in sources {
            f.occurrences += occurrences;
            match f.sources.iter_mut().find(|s| s.source == source) {
                Some(s) => {
                    s.distinct += 1;
                    s.occurrences += occurrences;
                }
                None => f.sources.push(SourceFigures { source, distinct: 1, occurrences }),
            }
        }
    }

    /// How many keys came only hashed: in no domain's figures.
    pub(crate) fn without_domain(&self) -> u64 {
        self.without_domain
    }

    /// The entries, keyed and sorted by domain key, rolled-up figures included.
    pub(crate) fn entries(self) -> Vec<(Key, DomainEntry)> {
        let mut all: FxHashMap<&str, DomainEntry> = FxHashMap::default();
        for (name, own) in self.names.iter().zip(&self.own) {
            if own.distinct == 0 {
                continue;
            }
            all.entry(name).or_default().own = own.clone();
            for parent in rollup_of(name) {
                all.entry(parent).or_default().rolled.add(own);
            }
        }
        let mut out: Vec<(Key, DomainEntry)> = all
            .into_iter()
            .map(|(name, mut e)| {
                e.own.sources.sort_by_key(|s| s.source);
                e.rolled.sources.sort_by_key(|s| s.source);
                (Sha1::digest(name.as_bytes()).into(), e)
            })
            .collect();
        out.sort_unstable_by_key(|e| e.0);
        out
    }
}

/// Encodes the DOMAINS section from entries sorted by key.
pub fn encode_domains(entries: &[(Key, DomainEntry)]) -> Vec<u8> {
    let sources: usize = entries.iter().map(|(_, e)| e.own.sources.len() + e.rolled.sources.len()).sum();
    let mut b = Vec::with_capacity(DOMAINS_HEAD_LEN + entries.len() * DOMAIN_ENTRY_LEN + sources * DOMAIN_SOURCE_LEN);
    b.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    b.extend_from_slice(&(sources as u64).to_le_bytes());
    let mut first = 0u64;
    for (key, e) in entries {
        b.extend_from_slice(key);
        b.extend_from_slice(&(e.own.sources.len() as u32).to_le_bytes());
        b.extend_from_slice(&(e.rolled.sources.len() as u32).to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&first.to_le_bytes());
        for v in [e.own.distinct, e.own.occurrences, e.rolled.distinct, e.rolled.occurrences] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        first += (e.own.sources.len() + e.rolled.sources.len()) as u64;
    }
    for s in entries.iter().flat_map(|(_, e)| e.own.sources.iter().chain(&e.rolled.sources)) {
        b.extend_from_slice(&s.source.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&s.distinct.to_le_bytes());
        b.extend_from_slice(&s.occurrences.to_le_bytes());
    }
    b
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// A DOMAINS section, read in place.
#[derive(Debug, Clone, Copy)]
pub struct DomainsView<'a> {
    bytes: &'a [u8],
    count: u64,
    sources: u64,
}

impl<'a> DomainsView<'a> {
    /// Checks the section's geometry (head, entries and source entries fill it exactly).
    pub fn new(bytes: &'a [u8]) -> Result<DomainsView<'a>> {
        let corrupt = |reason: &str| Error::Corrupt { section: "domains", reason: reason.into() };
        if bytes.is_empty() {
            // Written by a caller of the writer that gave no figures: no domain.
            return Ok(DomainsView { bytes, count: 0, sources: 0 });
        }
        if bytes.len() < DOMAINS_HEAD_LEN {
            return Err(corrupt("shorter than its head"));
        }
        let (count, sources) = (u64_at(bytes, 0), u64_at(bytes, 8));
        let want = count
            .checked_mul(DOMAIN_ENTRY_LEN as u64)
            .and_then(|e| sources.checked_mul(DOMAIN_SOURCE_LEN as u64).and_then(|s| s.checked_add(e)))
            .and_then(|l| l.checked_add(DOMAINS_HEAD_LEN as u64));
        if want != Some(bytes.len() as u64) {
            return Err(corrupt("length does not match its counts"));
        }
        Ok(DomainsView { bytes, count, sources })
    }

    /// Number of domain entries (domains with addresses, and their parents).
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether there is no domain.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn entry_key(&self, i: u64) -> &'a [u8] {
        let at = DOMAINS_HEAD_LEN + i as usize * DOMAIN_ENTRY_LEN;
        &self.bytes[at..at + 20]
    }

    /// Entry `i` (below [`DomainsView::len`]).
    pub fn entry(&self, i: u64) -> Result<(Key, DomainEntry)> {
        let at = DOMAINS_HEAD_LEN + i as usize * DOMAIN_ENTRY_LEN;
        let b = &self.bytes[at..at + DOMAIN_ENTRY_LEN];
        let key: Key = b[..20].try_into().expect("20 bytes");
        let (n_own, n_rolled) = (u64::from(u32_at(b, 20)), u64::from(u32_at(b, 24)));
        let first = u64_at(b, 32);
        let end = first.checked_add(n_own + n_rolled).filter(|&e| e <= self.sources);
        let Some(end) = end else {
            return Err(Error::Corrupt { section: "domains", reason: format!("entry {i} points past its sources") });
        };
        let base = DOMAINS_HEAD_LEN + self.count as usize * DOMAIN_ENTRY_LEN;
        let source = |j: u64| {
            let at = base + j as usize * DOMAIN_SOURCE_LEN;
            SourceFigures {
                source: u32_at(self.bytes, at),
                distinct: u64_at(self.bytes, at + 8),
                occurrences: u64_at(self.bytes, at + 16),
            }
        };
        let own = Figures {
            distinct: u64_at(b, 40),
            occurrences: u64_at(b, 48),
            sources: (first..first + n_own).map(source).collect(),
        };
        let rolled = Figures {
            distinct: u64_at(b, 56),
            occurrences: u64_at(b, 64),
            sources: (first + n_own..end).map(source).collect(),
        };
        Ok((key, DomainEntry { own, rolled }))
    }

    /// The entry of the domain with key `key` (see [`domain_key`]), by binary search.
    pub fn lookup(&self, key: &Key) -> Result<Option<DomainEntry>> {
        let (mut lo, mut hi) = (0u64, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.entry_key(mid).cmp(&key[..]) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Some(self.entry(mid)?.1)),
            }
        }
        Ok(None)
    }

    /// Checks every entry: keys strictly ascending, source entries in order and within the
    /// index's `source_count`, figures consistent (a domain's occurrences are the sum of its
    /// sources', its distinct addresses at most that sum, the rolled-up figures at least its
    /// own).
    pub fn verify(&self, source_count: u32) -> Result<()> {
        let bad = |i: u64, what: &str| Error::Corrupt { section: "domains", reason: format!("entry {i} {what}") };
        let mut next_first = 0u64;
        for i in 0..self.count {
            if i > 0 && self.entry_key(i - 1) >= self.entry_key(i) {
                return Err(bad(i, "is out of order"));
            }
            let at = DOMAINS_HEAD_LEN + i as usize * DOMAIN_ENTRY_LEN;
            if u64_at(self.bytes, at + 32) != next_first || u32_at(self.bytes, at + 28) != 0 {
                return Err(bad(i, "has a bad source offset"));
            }
            let (_, e) = self.entry(i)?;
            next_first += (e.own.sources.len() + e.rolled.sources.len()) as u64;
            for f in [&e.own, &e.rolled] {
                if f.sources.windows(2).any(|w| w[0].source >= w[1].source)
                    || f.sources
                        .iter()
                        .any(|s| s.source >= source_count || s.distinct == 0 || s.distinct > s.occurrences)
                {
                    return Err(bad(i, "has a bad source"));
                }
                let sum_occ: u64 = f.sources.iter().map(|s| s.occurrences).sum();
                let sum_distinct: u64 = f.sources.iter().map(|s| s.distinct).sum();
                if sum_occ != f.occurrences || f.distinct > sum_distinct || f.distinct > f.occurrences {
                    return Err(bad(i, "has figures that do not add up"));
                }
            }
            if e.rolled.distinct < e.own.distinct || e.rolled.distinct == 0 {
                return Err(bad(i, "has rolled-up figures below its own"));
            }
        }
        if next_first != self.sources {
            return Err(Error::Corrupt { section: "domains", reason: "unused source entries".into() });
        }
        Ok(())
    }
}

/// One owned source of an address.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OwnedSource {
    /// Source id.
    pub source: u32,
    /// Occurrences in that source.
    pub occurrences: u64,
}

/// One exposed address of an owned domain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OwnedAddress {
    /// The normalized address.
    pub address: String,
    /// Occurrences across all sources.
    pub occurrences: u64,
    /// Per source, ascending ids.
    pub sources: Vec<OwnedSource>,
    /// Provenance of the files (and members) it was found in, at most [`MAX_FOUND_IN`].
    pub found_in: Vec<String>,
    /// How many more files it was found in.
    #[serde(default)]
    pub found_in_more: u64,
}

/// The OWNED section: the owned domains and their exposed addresses, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Owned {
    /// The normalized owned domains, as given to the build (subdomains included).
    pub domains: Vec<String>,
    /// Every exposed address under them, sorted.
    pub addresses: Vec<OwnedAddress>,
}

impl Owned {
    /// Reads the section (empty: no owned domain).
    pub fn decode(bytes: &[u8]) -> Result<Owned> {
        if bytes.is_empty() {
            return Ok(Owned::default());
        }
        let o: Owned = serde_json::from_slice(bytes)
            .map_err(|e| Error::Corrupt { section: "owned", reason: format!("invalid JSON: {e}") })?;
        let bad = |reason: &str| Error::Corrupt { section: "owned", reason: reason.into() };
        if o.addresses.windows(2).any(|w| w[0].address >= w[1].address) {
            return Err(bad("addresses are not sorted"));
        }
        if o.addresses.iter().any(|a| !o.domains.iter().any(|d| is_under(domain_of(&a.address), d))) {
            return Err(bad("holds an address outside the owned domains"));
        }
        Ok(o)
    }

    /// Encodes the section (no owned domain: empty).
    pub fn encode(&self) -> Vec<u8> {
        if self.domains.is_empty() {
            return Vec::new();
        }
        serde_json::to_vec(self).expect("plain data serializes")
    }

    /// The addresses under `domain` (normalized), or `None` when `domain` is not under an
    /// owned domain.
    pub fn addresses_under<'a>(&'a self, domain: &'a str) -> Option<impl Iterator<Item = &'a OwnedAddress> + 'a> {
        self.domains
            .iter()
            .any(|o| is_under(domain, o))
            .then(|| self.addresses.iter().filter(move |a| is_under(domain_of(&a.address), domain)))
    }

    /// Builds the section from the threads' tallies; `labels` names each file id, `source_map`
    /// renumbers sources.
    pub(crate) fn from_tallies(
        domains: Vec<String>,
        tallies: Vec<FxHashMap<String, OwnedTally>>,
        labels: &[String],
        source_map: &[u32],
    ) -> Owned {
        let mut all: BTreeMap<String, OwnedTally> = BTreeMap::new();
        for t in tallies {
            for (address, tally) in t {
                let e = all.entry(address).or_default();
                for (s, n) in tally.sources {
                    *e.sources.entry(s).or_default() += n;
                }
                e.files.extend(tally.files);
            }
        }
        let addresses = all
            .into_iter()
            .map(|(address, t)| {
                let mut sources: BTreeMap<u32, u64> = BTreeMap::new();
                for (s, n) in t.sources {
                    *sources.entry(source_map.get(s as usize).copied().unwrap_or(s)).or_default() += n;
                }
                // A file name may hold other domains' addresses: never kept in plaintext.
                let mut found: Vec<String> = t
                    .files
                    .iter()
                    .filter_map(|f| labels.get(*f))
                    .filter(|l| !l.is_empty())
                    .map(|l| redact_label(l, &domains))
                    .collect();
                found.sort();
                found.dedup();
                let more = found.len().saturating_sub(MAX_FOUND_IN) as u64;
                found.truncate(MAX_FOUND_IN);
                OwnedAddress {
                    address,
                    occurrences: sources.values().sum(),
                    sources: sources
                        .into_iter()
                        .map(|(source, occurrences)| OwnedSource { source, occurrences })
                        .collect(),
                    found_in: found,
                    found_in_more: more,
                }
            })
            .collect();
        Owned { domains, addresses }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollup_of_a_subdomain_lists_every_parent_with_two_labels() {
        assert_eq!(
            rollup_of("a.b.example.com").collect::<Vec<_>>(),
            ["a.b.example.com", "b.example.com", "example.com"]
        );
        assert_eq!(rollup_of("example.org").collect::<Vec<_>>(), ["example.org"]);
    }

    #[test]
    fn is_under_needs_a_label_boundary() {
        assert!(is_under("hr.example.com", "example.com"));
        assert!(is_under("example.com", "example.com"));
        assert!(!is_under("badexample.com", "example.com"));
        assert!(!is_under("example.com", "hr.example.com"));
    }

    #[test]
    fn domains_section_round_trips_and_finds_each_domain_by_binary_search() {
        let mut c =
            DomainCollector::new(vec![vec!["a.example.com".into(), "example.org".into()], vec!["example.org".into()]]);
        c.add(0, &[(0, 2), (1, 1)]);
        c.add(1, &[(1, 4)]);
        c.add(1 << 32, &[(0, 1)]);
        c.add(NO_DOMAIN, &[(0, 9)]);
        let entries = c.entries();
        let bytes = encode_domains(&entries);
        let v = DomainsView::new(&bytes).unwrap();
        v.verify(2).unwrap();
        assert_eq!(v.len(), 3);
        let org = v.lookup(&domain_key("Example.ORG").unwrap()).unwrap().unwrap();
        assert_eq!((org.own.distinct, org.own.occurrences), (2, 5));
        assert_eq!(
            org.own.sources,
            [
                SourceFigures { source: 0, distinct: 1, occurrences: 1 },
                SourceFigures { source: 1, distinct: 1, occurrences: 4 }
            ]
        );
        let com = v.lookup(&domain_key("example.com").unwrap()).unwrap().unwrap();
        assert_eq!((com.own.distinct, com.rolled.distinct, com.rolled.occurrences), (0, 1, 3));
        assert!(v.lookup(&domain_key("example.net").unwrap()).unwrap().is_none());
    }
}
