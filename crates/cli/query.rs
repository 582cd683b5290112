//! `check`, `bulk`, `info`, `verify` and `export-filter`.

use std::io::{self, BufRead, BufWriter, Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use leakdex_core::filter::{self, Filter};
use leakdex_core::{hex, Error, Index, Kind};
use memmap2::Mmap;
use serde_json::json;

use crate::args::{
    BulkArgs, BulkFormat, CheckArgs, CheckFormat, ExportFilterArgs, IndexArg, InfoArgs, KindArg, Target,
};
use crate::build::{bytes, human};
use crate::report_html;
use crate::show::{printable, unsafe_char};
use crate::Outcome;

#[path = "audit.rs"]
mod audit;
mod signup;

/// An index, a standalone filter that can only say "possibly exposed", or a remote range API.
enum Store {
    Index(Box<Index<Mmap>>),
    Filter(Filter<Mmap>),
    Api {
        client: Box<leakdex_client::RangeClient>,
        kind: Kind,
        rt: tokio::runtime::Runtime,
        /// Breach dates by source name from the server's catalogue (email APIs); `None` when
        /// the server offers none, which the summary says.
        dates: Option<std::collections::BTreeMap<String, String>>,
    },
}

/// The range API's key: the first line of --api-key-file, else LEAKDEX_API_KEY. Never an
/// argument (visible in `ps` to every local user).
fn api_key(target: &Target) -> Result<Option<String>> {
    if let Some(path) = &target.api_key_file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading the API key from {}", path.display()))?;
        let key = text.lines().next().unwrap_or("").trim().to_string();
        anyhow::ensure!(!key.is_empty(), "{}: the first line holds no API key", path.display());
        return Ok(Some(key));
    }
    Ok(std::env::var("LEAKDEX_API_KEY").ok().filter(|k| !k.trim().is_empty()))
}

/// Rows answered together: a batch shares its requests to a range API.
const BATCH: usize = 4096;

impl Store {
    fn open(target: &Target) -> Result<Store> {
        if target.api.is_some() {
            let kind = match target.kind {
                KindArg::Email => Kind::Email,
                KindArg::Password => Kind::Password,
                KindArg::Ntlm => Kind::Ntlm,
                KindArg::Auto => anyhow::bail!(
                    "--kind auto checks an email and a password in one call: give check --email ADDRESS --password-stdin"
                ),
            };
            return Store::open_api(target, kind);
        }
        let path = match target.index.as_slice() {
            [one] => one,
            [] => anyhow::bail!("give an index with -i INDEX or a range API with --api URL"),
            _ => anyhow::bail!(
                "several indexes (-i) are for check --email ADDRESS --password-stdin (an email and a password index); give one"
            ),
        };
        Store::open_path(path)
    }

    /// The range API of `target.api`, asked for `kind`.
    fn open_api(target: &Target, kind: Kind) -> Result<Store> {
        {
            let url = target.api.as_deref().context("give a range API with --api URL")?;
            let client = leakdex_client::RangeClient::new(url)?
                .pad_requests_to(target.pad_requests)
                .unverified(target.api_unverified)
                .request_timeout(std::time::Duration::from_secs(target.api_timeout))
                .run_deadline(std::time::Duration::from_secs(target.api_deadline))
                .api_key(api_key(target)?);
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            // A wrong URL is an error before any row is answered, never a column of "clean".
            rt.block_on(client.validate(kind))?;
            let dates = match kind {
                Kind::Email => rt.block_on(client.breach_dates())?,
                Kind::Password | Kind::Ntlm => None,
            };
            Ok(Store::Api { client: Box::new(client), kind, rt, dates })
        }
    }

    /// The index, or exported filter, at `path`.
    fn open_path(path: &std::path::Path) -> Result<Store> {
        // The index is opened first, straight from its map: sniffing the magic with read()
        // would pull in several pages of read-ahead on a cold cache. Lookups jump around, so
        // the map reads only the pages they touch (`open_random`). A file that is not an index
        // may be an exported filter; `Filter::open` checks its own magic.
        let not_an_index = |e: &leakdex_core::Error| matches!(e, leakdex_core::Error::Open { source, .. } if matches!(**source, leakdex_core::Error::NotAnIndex));
        match Index::open_random(path) {
            Ok(index) => {
                if let Some(w) = index.meta().policy_warning() {
                    eprintln!("warning: {}: {w}", path.display());
                }
                Ok(Store::Index(Box::new(index)))
            }
            Err(e) if not_an_index(&e) => match Filter::open(path) {
                Ok(f) => Ok(Store::Filter(f)),
                Err(fe) if not_an_index(&fe) => Err(e.into()),
                Err(fe) => Err(fe.into()),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// For an email range API without a breach catalogue: says that the table lacks the dates
    /// a local index shows.
    fn missing_dates(&self) -> Option<String> {
        match self {
            Store::Api { kind: Kind::Email, dates: None, client, .. } => Some(format!(
                "breach dates unavailable: {} offers no breach catalogue (/api/v3/breaches)",
                client.shown_base()
            )),
            _ => None,
        }
    }

    /// The index's metadata (a local index only): source names, dates and `first_seen`.
    fn meta(&self) -> Option<&leakdex_core::Meta> {
        match self {
            Store::Index(i) => Some(i.meta()),
            _ => None,
        }
    }

    /// What the HTML report says about the index (or filter, or API) and its sources.
    fn html_info(&self, target: &Target) -> (report_html::IndexInfo, Option<Vec<report_html::SourceInfo>>) {
        let name = target.index.first().map(|p| p.display().to_string()).unwrap_or_default();
        match self {
            Store::Index(i) => (
                report_html::IndexInfo::local(name, i.meta(), i.len()),
                Some(i.sources().iter().map(report_html::SourceInfo::from_meta).collect()),
            ),
            Store::Filter(f) => (report_html::IndexInfo::other(name, "filter", f.kind(), Some(f.entries())), None),
            Store::Api { client, kind, .. } => {
                (report_html::IndexInfo::other(client.shown_base().to_string(), "range API", *kind, None), None)
            }
        }
    }

    fn kind(&self) -> Kind {
        match self {
            Store::Index(i) => i.kind(),
            Store::Filter(f) => f.kind(),
            Store::Api { kind, .. } => *kind,
        }
    }

    /// Answers a batch of identifiers, in order. Local lookups (index or filter) run on every
    /// core, each thread normalizing, hashing and looking up one slice of the batch.
    fn answer_many(&self, inputs: &[String]) -> Result<Vec<Row>> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        if matches!(self, Store::Api { .. }) || threads == 1 || inputs.len() < 512 {
            return self.answer_slice(inputs);
        }
        let per_thread = inputs.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let parts: Vec<_> =
                inputs.chunks(per_thread).map(|part| scope.spawn(move || self.answer_slice(part))).collect();
            let mut rows = Vec::with_capacity(inputs.len());
            for part in parts {
                rows.extend(part.join().expect("a lookup thread panicked")?);
            }
            Ok(rows)
        })
    }

    /// Answers a slice of a batch, in order, on this thread.
    fn answer_slice(&self, inputs: &[String]) -> Result<Vec<Row>> {
        let kind = self.kind();
        let mut rows = Vec::with_capacity(inputs.len());
        let mut keys = Vec::with_capacity(inputs.len());
        for input in inputs {
            let (key, email) = match kind {
                Kind::Email => match leakdex_core::normalize_email(input) {
                    Ok(n) => (leakdex_core::email_key(&n).expect("a normalized address normalizes"), Some(n)),
                    Err(e) => {
                        rows.push(Row {
                            input: Some(input.clone()),
                            email: None,
                            sha1: None,
                            ntlm: false,
                            status: Status::Invalid(e.to_string()),
                        });
                        keys.push(None);
                        continue;
                    }
                },
                Kind::Password | Kind::Ntlm => (leakdex_core::password_key_for(kind, input), None),
            };
            // Password rows carry the hash, never the password: `sha1`, or `ntlm` (32 digits).
            let (input, sha1) = match kind {
                Kind::Email => (Some(input.clone()), None),
                Kind::Password | Kind::Ntlm => (None, Some(hex(&key)[..kind.hex_len()].to_string())),
            };
            rows.push(Row { input, email, sha1, ntlm: kind == Kind::Ntlm, status: Status::Clean });
            keys.push(Some(key));
        }
        match self {
            Store::Index(index) => {
                for (row, key) in rows.iter_mut().zip(&keys) {
                    let Some(key) = key else { continue };
                    if let Some(hit) = index.lookup_hash(key)? {
                        let srcs: Vec<&leakdex_core::Source> =
                            hit.sources.iter().filter_map(|s| index.sources().get(s as usize)).collect();
                        row.status = Status::Exposed {
                            count: hit.count,
                            sources: srcs.iter().map(|s| s.name.clone()).collect(),
                            dates: srcs.iter().map(|s| s.breach_date.clone()).collect(),
                        };
                    }
                }
            }
            Store::Filter(f) => {
                for (row, key) in rows.iter_mut().zip(&keys) {
                    if key.is_some_and(|k| f.may_contain(&k)) {
                        row.status = Status::Possibly;
                    }
                }
            }
            Store::Api { client, kind, rt, dates: catalogue, .. } => {
                let valid: Vec<leakdex_core::Key> = keys.iter().flatten().copied().collect();
                let mut answers: Vec<Status> = match kind {
                    Kind::Password | Kind::Ntlm => rt
                        .block_on(client.password_counts_in(*kind, &valid))?
                        .into_iter()
                        .map(|c| {
                            if c > 0 {
                                Status::Exposed { count: c, sources: Vec::new(), dates: Vec::new() }
                            } else {
                                Status::Clean
                            }
                        })
                        .collect(),
                    Kind::Email => rt
                        .block_on(client.email_hits(&valid))?
                        .into_iter()
                        .map(|h| match h {
                            Some(h) => Status::Exposed {
                                count: h.count,
                                dates: h
                                    .sources
                                    .iter()
                                    .map(|s| catalogue.as_ref().and_then(|c| c.get(s)).cloned())
                                    .collect(),
                                sources: h.sources,
                            },
                            None => Status::Clean,
                        })
                        .collect(),
                };
                answers.reverse();
                for (row, key) in rows.iter_mut().zip(&keys) {
                    if key.is_some() {
                        row.status = answers.pop().expect("one answer per valid key");
                    }
                }
            }
        }
        if kind == Kind::Email {
            self.answer_unicode_forms(&mut rows)?;
        }
        Ok(rows)
    }

    /// An address with an internationalized domain that was not found under its punycode key
    /// is looked up under the key of its Unicode form too (`anna@münchen.example`), which is
    /// what HIBP- and Monitor-style indexes hold. The row stays one row: one person, whichever
    /// key matched.
    fn answer_unicode_forms(&self, rows: &mut [Row]) -> Result<()> {
        let mut todo: Vec<(usize, leakdex_core::Key)> = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            if !matches!(row.status, Status::Clean) {
                continue;
            }
            if let Some(Ok((_, Some(unicode)))) = row.email.as_deref().map(leakdex_core::email_keys) {
                todo.push((i, unicode));
            }
        }
        if todo.is_empty() {
            return Ok(());
        }
        match self {
            Store::Index(index) => {
                for (i, key) in todo {
                    if let Some(hit) = index.lookup_hash(&key)? {
                        let srcs: Vec<&leakdex_core::Source> =
                            hit.sources.iter().filter_map(|s| index.sources().get(s as usize)).collect();
                        rows[i].status = Status::Exposed {
                            count: hit.count,
                            sources: srcs.iter().map(|s| s.name.clone()).collect(),
                            dates: srcs.iter().map(|s| s.breach_date.clone()).collect(),
                        };
                    }
                }
            }
            Store::Filter(f) => {
                for (i, key) in todo {
                    if f.may_contain(&key) {
                        rows[i].status = Status::Possibly;
                    }
                }
            }
            Store::Api { client, rt, dates: catalogue, .. } => {
                let keys: Vec<leakdex_core::Key> = todo.iter().map(|(_, k)| *k).collect();
                let hits = rt.block_on(client.email_hits(&keys))?;
                for ((i, _), hit) in todo.into_iter().zip(hits) {
                    if let Some(h) = hit {
                        rows[i].status = Status::Exposed {
                            count: h.count,
                            dates: h
                                .sources
                                .iter()
                                .map(|s| catalogue.as_ref().and_then(|c| c.get(s)).cloned())
                                .collect(),
                            sources: h.sources,
                        };
                    }
                }
            }
        }
        Ok(())
    }
}

/// One JSON output row; fields in the documented order, absent ones left out.
#[derive(serde::Serialize)]
struct JsonRow<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    input: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha1: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ntlm: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    exposed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    possibly: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sources: Option<Vec<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_seen: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    why: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_sources: Option<&'a [String]>,
}

#[derive(Clone)]
enum Status {
    Exposed { count: u64, sources: Vec<String>, dates: Vec<Option<String>> },
    Possibly,
    Clean,
    Invalid(String),
}

#[derive(Clone)]
struct Row {
    input: Option<String>,
    email: Option<String>,
    sha1: Option<String>,
    /// `sha1` holds an NTLM hash.
    ntlm: bool,
    status: Status,
}

impl Row {
    /// The row with its addresses masked (`--mask`); hashes are left as they are.
    fn masked(&self) -> Row {
        // The input as written may hold a display name (`Bob <bob@example.com>`): its
        // addresses are masked, the rest kept.
        Row {
            input: self.input.as_deref().map(crate::report_html::mask_text),
            email: self.email.as_deref().map(crate::report_html::mask_address),
            ..self.clone()
        }
    }
    fn exposed(&self) -> bool {
        matches!(self.status, Status::Exposed { .. } | Status::Possibly)
    }
    /// The identifier as shown: the input for emails, the SHA-1 for passwords.
    fn shown(&self) -> &str {
        self.input.as_deref().or(self.sha1.as_deref()).unwrap_or("")
    }
    fn count(&self) -> u64 {
        match self.status {
            Status::Exposed { count, .. } => count,
            _ => 0,
        }
    }
    fn source_names(&self) -> Vec<&str> {
        match &self.status {
            Status::Exposed { sources, .. } => sources.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// The sources of an exposed row (`Possibly` has none to name).
    fn exposed_in(&self) -> Option<Vec<&str>> {
        matches!(self.status, Status::Exposed { .. }).then(|| self.source_names())
    }

    /// The keys the row is looked up under: an address's, then its Unicode form's
    /// (`answer_unicode_forms`); a password's hash.
    fn keys(&self) -> Vec<leakdex_core::Key> {
        if let Some(Ok((key, unicode))) = self.email.as_deref().map(leakdex_core::email_keys) {
            return std::iter::once(key).chain(unicode).collect();
        }
        self.sha1.as_deref().and_then(leakdex_core::parse_key).into_iter().collect()
    }

    /// The row's note (`first_seen`, and why `--since` reports it): `None` when `--since`
    /// leaves the row out.
    fn note(
        &self,
        since: Option<&mut crate::monitor::Since>,
        dates: Option<&crate::monitor::Dates>,
    ) -> Result<Option<crate::monitor::Note>> {
        crate::monitor::note(since, dates, self.exposed_in().as_deref(), || self.keys())
    }

    fn json(&self, line: Option<u64>, note: &crate::monitor::Note) -> String {
        let error = match &self.status {
            Status::Invalid(e) => Some(e.as_str()),
            _ => None,
        };
        let answered = matches!(self.status, Status::Exposed { .. } | Status::Clean);
        let names = self.source_names();
        let row = JsonRow {
            line,
            input: self.input.as_deref(),
            sha1: if self.input.is_none() && !self.ntlm { self.sha1.as_deref() } else { None },
            ntlm: if self.input.is_none() && self.ntlm { self.sha1.as_deref() } else { None },
            email: self.email.as_deref(),
            error,
            exposed: self.exposed(),
            possibly: matches!(self.status, Status::Possibly).then_some(true),
            sources: answered.then_some(names),
            count: answered.then(|| self.count()),
            first_seen: note.first_seen.as_deref(),
            why: note.why.as_deref(),
            new_sources: (!note.new_sources.is_empty()).then_some(note.new_sources.as_slice()),
        };
        json_safe(serde_json::to_string(&row).expect("rows serialize"))
    }

    fn status_word(&self) -> &'static str {
        match self.status {
            Status::Exposed { .. } => "EXPOSED",
            Status::Possibly => "POSSIBLY",
            Status::Clean => "clean",
            Status::Invalid(_) => "invalid",
        }
    }

    fn detail(&self) -> String {
        match &self.status {
            Status::Exposed { sources, dates, .. } => sources_with_dates(sources, dates),
            Status::Possibly => POSSIBLY_DETAIL.into(),
            Status::Clean => String::new(),
            Status::Invalid(e) => e.clone(),
        }
    }
}

/// Running totals for the summary.
#[derive(Default)]
struct Tally {
    checked: u64,
    exposed: u64,
    invalid: u64,
    by_source: std::collections::BTreeMap<String, u64>,
    /// With `bulk --unlisted`: the normalized addresses of the exposed rows.
    listed: Option<std::collections::HashSet<String>>,
}

impl Tally {
    fn add(&mut self, r: &Row) {
        self.checked += 1;
        match &r.status {
            Status::Exposed { sources, .. } => {
                self.exposed += 1;
                if let (Some(l), Some(e)) = (&mut self.listed, &r.email) {
                    l.insert(e.clone());
                }
                for s in sources {
                    *self.by_source.entry(s.clone()).or_default() += 1;
                }
            }
            Status::Possibly => self.exposed += 1,
            Status::Invalid(_) => self.invalid += 1,
            Status::Clean => {}
        }
    }
    fn outcome(&self) -> Outcome {
        if self.exposed > 0 {
            Outcome::Exposed
        } else {
            Outcome::Clean
        }
    }
    /// An error when nothing was answered: no row at all, or every row invalid. A run that
    /// checked nobody must not look like a clean one.
    fn check_answered(&self, input: &str, kind: Kind) -> Result<()> {
        if self.checked == 0 {
            anyhow::bail!("{input}: no {kind} to check (the input is empty)");
        }
        if self.invalid == self.checked {
            anyhow::bail!(
                "{input}: none of the {} rows holds a valid {kind}; nothing was checked (wrong column, or not a staff list?)",
                self.checked
            );
        }
        Ok(())
    }

    fn summary(&self) -> String {
        let pct = if self.checked == 0 { 0.0 } else { 100.0 * self.exposed as f64 / self.checked as f64 };
        let mut s = format!("checked {}, exposed {} ({pct:.1}%), invalid {}", self.checked, self.exposed, self.invalid);
        if !self.by_source.is_empty() {
            let parts: Vec<String> =
                self.by_source.iter().map(|(name, n)| format!("{} {n}", printable(name))).collect();
            s.push_str(&format!("; by source: {}", parts.join(", ")));
        }
        s
    }
}

const TABLE_WIDTH: usize = 34;

fn table_header(out: &mut impl Write, kind: Kind, with_line: bool) -> io::Result<()> {
    let first = match kind {
        Kind::Email => "IDENTIFIER",
        Kind::Password => "SHA1",
        Kind::Ntlm => "NTLM",
    };
    let line = if with_line { format!("{:>6}  ", "LINE") } else { String::new() };
    writeln!(out, "{line}{first:<TABLE_WIDTH$}  {:<8}  {:>8}  SOURCES / ERROR", "STATUS", "COUNT")
}

/// One table row; `why` (from `bulk --since`) goes before the sources, in brackets.
fn table_row(out: &mut impl Write, r: &Row, line: Option<u64>, why: Option<&str>) -> io::Result<()> {
    let line = line.map(|l| format!("{l:>6}  ")).unwrap_or_default();
    let count = if matches!(r.status, Status::Exposed { .. }) { r.count().to_string() } else { String::new() };
    // Breach names and dates come from an index's manifest or from a range API, the identifier
    // from the staff list: none may move the cursor, forge a row or a link.
    writeln!(
        out,
        "{line}{:<TABLE_WIDTH$}  {:<8}  {count:>8}  {}",
        printable(r.shown()),
        r.status_word(),
        printable(&match why {
            Some(why) => format!("[{why}] {}", r.detail()),
            None => r.detail(),
        })
    )
}

/// JSON text with the characters serde_json leaves raw (DEL, C1 controls, separators and
/// bidirectional overrides; it escapes C0 itself) written as `\uXXXX` escapes: the same JSON
/// value, safe to view on a terminal (`jq` and every JSON parser read it back unchanged).
pub(crate) fn json_safe(json: String) -> String {
    // A raw newline is the layout of pretty-printed JSON (serde escapes those in strings).
    let escaped = |c: char| c != '\n' && unsafe_char(c);
    if !json.chars().any(escaped) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if escaped(c) {
            // JSON's \u escapes are UTF-16 code units: a pair for characters beyond the BMP
            // (the tag characters U+E0000...).
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A CSV cell of text from data (an address, a breach name, an error naming the input):
/// control, bidirectional and invisible characters written as visible escapes as in tables
/// ([`printable`]: a raw ESC or U+202E in CSV on stdout is run by the terminal, a raw newline
/// would need a spreadsheet's reading of quotes), then neutralized as OWASP recommends for CSV
/// injection: a cell starting with `=`, `+`, `-`, `@`, tab or CR, which a spreadsheet would run
/// as a formula (`=HYPERLINK(...)`), gets a leading `'`. Numbers and booleans leakdex writes
/// itself are not passed through this.
pub(crate) fn csv_text(s: &str) -> String {
    let s = printable(s);
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.into_owned()
    }
}

/// The sources cell: each name neutralized ([`csv_text`]) before they are joined with `;`,
/// since a spreadsheet in a locale whose list separator is `;` splits the cell there, and
/// `safe;=HYPERLINK(...)` would give a formula cell.
fn csv_sources(names: &[&str]) -> String {
    names.iter().map(|n| csv_text(n)).collect::<Vec<_>>().join(";")
}

pub fn check(a: CheckArgs) -> Result<Outcome> {
    if a.email.is_some() || a.password_stdin || a.password_file.is_some() || a.target.kind == KindArg::Auto {
        return signup::check(a);
    }
    let store = Store::open(&a.target)?;
    let from = if a.identifiers.is_empty() { "stdin" } else { "the command line" };
    let idents: Box<dyn Iterator<Item = io::Result<String>>> = if a.identifiers.is_empty() {
        // Decoded as staff lists and corpora are: BOM, UTF-16, then UTF-8 or windows-1252 lines.
        Box::new(open_staff_list(None)?.split(b'\n').map(|l| l.map(|b| decode_line(&b))))
    } else {
        Box::new(a.identifiers.into_iter().map(Ok))
    };
    let mut out = BufWriter::new(io::stdout().lock());
    let mut tally = Tally::default();
    let dates = store.meta().map(crate::monitor::Dates::of);
    if a.format == CheckFormat::Table {
        table_header(&mut out, store.kind(), false)?;
    }
    let mut batch = Vec::new();
    let mut idents = idents.peekable();
    let mut n = 0;
    while let Some(ident) = idents.next() {
        let ident = ident.context("reading identifiers from stdin")?;
        n += 1;
        audit::refuse_export_line(store.kind(), &ident, n, from)?;
        if !ident.is_empty() {
            batch.push(ident);
        }
        if batch.len() >= BATCH || (idents.peek().is_none() && !batch.is_empty()) {
            for row in store.answer_many(&std::mem::take(&mut batch))? {
                tally.add(&row);
                match a.format {
                    CheckFormat::Table => table_row(&mut out, &row, None, None)?,
                    CheckFormat::Json => {
                        let note = row.note(None, dates.as_ref())?.unwrap_or_default();
                        writeln!(out, "{}", row.json(None, &note))?
                    }
                }
            }
        }
    }
    out.flush()?;
    if let Some(note) = store.missing_dates().filter(|_| a.format == CheckFormat::Table && tally.exposed > 0) {
        eprintln!("note: {note}");
    }
    tally.check_answered(from, store.kind())?;
    Ok(tally.outcome())
}

/// Opens a staff list the way `build` opens a corpus: decompressed by content, BOMs dropped and
/// UTF-16 decoded, a legacy encoding (Shift_JIS, EUC-JP, ...) detected and decoded
/// (`ingest::decode_stream_detected`); each line or CSV field is then decoded with
/// `ingest::decode_text`, so a staff list and a corpus holding the same bytes give the same text.
fn open_staff_list(name: Option<&str>) -> Result<Box<dyn BufRead>> {
    let raw: Box<dyn io::Read> = match name {
        Some(n) => Box::new(std::fs::File::open(n).with_context(|| format!("cannot open {n}"))?),
        None => Box::new(io::stdin().lock()),
    };
    let shown = name.unwrap_or("stdin");
    let (text, _, encoding) = leakdex_core::ingest::decode_stream_detected(raw, Default::default())
        .with_context(|| format!("reading {shown}"))?;
    if let Some(enc) = encoding {
        eprintln!("{shown}: decoded as {} (detected from content)", enc.name());
    }
    Ok(Box::new(io::BufReader::with_capacity(256 * 1024, text)))
}

pub fn bulk(a: BulkArgs) -> Result<Outcome> {
    audit::refuse_wrong_api_kind(&a)?;
    check_html_output(&a)?;
    let store = Store::open(&a.target)?;
    // `--since OLD.ldx`: only what is new since the older index is reported.
    let mut since = match (&a.since, store.meta(), a.target.index.first()) {
        (None, ..) => None,
        (Some(old), Some(meta), Some(new)) => Some(crate::monitor::Since::open(old, new, meta)?),
        (Some(old), ..) => anyhow::bail!(
            "--since {} needs an index with -i, not an exported filter: a filter holds no sources to compare",
            old.display()
        ),
    };
    let name = a.input.as_ref().filter(|p| p.as_os_str() != "-").map(|p| p.display().to_string());
    let mut input = open_staff_list(name.as_deref())?;
    let shown_name = name.clone().unwrap_or_else(|| "stdin".into());
    let kind = store.kind();
    // Plain lines or CSV, and which column, decided as `build` decides for a corpus
    // (`ingest::detect`: header names in many languages and the columns' contents); `--column`
    // makes the list CSV.
    let mut head = Vec::new();
    (&mut input)
        .take(leakdex_core::ingest::SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .with_context(|| format!("reading {shown_name}"))?;
    // An account hash export is audited per account, never hashed as passwords.
    if audit::wants_audit(&a, kind, &head, &shown_name)? {
        return audit::run(&a, &store, Box::new(io::Cursor::new(head).chain(input)), &shown_name);
    }
    let asked: Vec<String> = a.column.iter().cloned().collect();
    let forced = a.column.as_ref().map(|_| leakdex_core::ingest::Format::Csv);
    let (layout, mut skip) = leakdex_core::ingest::detect(&head, &shown_name, kind, forced, &asked)
        .map_err(|e| anyhow::anyhow!("{shown_name}: {}", e.0))?;
    // A CRLF header may end between its `\r` and `\n`: the `\n` belongs to the header, or the
    // first row would be numbered as the header's line.
    if skip > 0 && head[skip - 1] == b'\r' && head.get(skip) == Some(&b'\n') {
        skip += 1;
    }
    let (header, column, delimiter, header_lines) = if layout.format == leakdex_core::ingest::Format::Csv {
        // The header is the last record before `skip` (a `sep=` line may come first).
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(layout.delimiter)
            .flexible(true)
            .from_reader(&head[..skip]);
        let header: Vec<String> = rdr
            .byte_records()
            .filter_map(|r| r.ok())
            .last()
            .map(|r| r.iter().map(|f| leakdex_core::ingest::decode_text(f).trim().to_string()).collect())
            .unwrap_or_default();
        let column = *layout.columns.first().context("no column chosen")?;
        if !layout.detection.is_empty() {
            eprintln!("{shown_name}: {}", layout.detection);
        }
        if layout.columns.len() > 1 {
            eprintln!(
                "{shown_name}: checking column {:?} only; {} more hold addresses ({}): choose with --column",
                layout.column_names[0],
                layout.columns.len() - 1,
                layout.column_names[1..].join(", ")
            );
        }
        (header, Some(column), layout.delimiter, memchr_count(b'\n', &head[..skip]))
    } else {
        (Vec::new(), None, b',', 0)
    };
    // `--group-by` is checked whatever the format; the rows are kept for the HTML report only.
    let mut html = report_html::Collector::new(&header, column, a.group_by.as_deref())
        .map_err(anyhow::Error::msg)?
        .into_option(a.format == BulkFormat::Html);
    let rest = head.split_off(skip);
    let mut input: Box<dyn BufRead> = Box::new(io::BufReader::new(io::Cursor::new(rest).chain(input)));
    let mut out = BufWriter::new(io::stdout().lock());
    let mut tally = Tally { listed: (!a.unlisted.is_empty()).then(Default::default), ..Default::default() };
    let mut result_cols: Vec<&str> = match kind {
        Kind::Email => vec!["normalized_email", "exposed", "count", "sources", "error"],
        Kind::Password => vec!["sha1", "exposed", "count", "sources", "error"],
        Kind::Ntlm => vec!["ntlm", "exposed", "count", "sources", "error"],
    };
    if since.is_some() {
        result_cols.extend(["first_seen", "why"]);
    }
    let dates = store.meta().map(crate::monitor::Dates::of);
    let mut emit = |out: &mut BufWriter<io::StdoutLock<'_>>,
                    row: &Row,
                    line: u64,
                    extra: Option<&[String]>,
                    tally: &mut Tally|
     -> Result<()> {
        // Counted (and, for --unlisted, remembered as listed) as answered; masked only for
        // what is written.
        tally.add(row);
        let masked;
        let row = if a.mask {
            masked = row.masked();
            &masked
        } else {
            row
        };
        // Every column that holds addresses, not only the one checked (`--mask`); a password
        // list's password cells are never written back, whatever the format (its rows carry
        // the hash instead).
        let extra = extra.map(|f| match kind {
            // Every cell: a `manager_email` column, `Bob <bob@example.com>` in a name.
            Kind::Email if a.mask => mask_fields(f, |_| true, report_html::mask_text),
            Kind::Email => std::borrow::Cow::Borrowed(f),
            Kind::Password | Kind::Ntlm => mask_fields(f, |i| layout.columns.contains(&i), |_| String::new()),
        });
        let extra = extra.as_deref();
        let note = row.note(since.as_mut(), dates.as_ref())?;
        // The HTML report shows every row (its headline, sources and groups are the whole
        // picture) and marks those new since the older index.
        if let Some(html) = html.as_mut() {
            html_row(html, row, line, extra);
            if let Some(why) = note.as_ref().and_then(|n| n.why.clone()) {
                html.mark_new(why);
            }
        }
        let Some(note) = note else {
            return Ok(()); // --since: nothing new about this row
        };
        match a.format {
            BulkFormat::Html => {}
            BulkFormat::Table => table_row(out, row, Some(line), note.why.as_deref())?,
            BulkFormat::Json => writeln!(out, "{}", row.json(Some(line), &note))?,
            BulkFormat::Csv => {
                let mut rec: Vec<String> = match extra {
                    Some(fields) => fields.to_vec(),
                    None if kind == Kind::Email => vec![csv_text(row.input.as_deref().unwrap_or_default())],
                    None => Vec::new(),
                };
                // The staff list's own columns are written back as they were read; every text
                // cell leakdex adds from data is neutralized against formulas (`csv_text`).
                rec.push(if kind == Kind::Email {
                    csv_text(row.email.as_deref().unwrap_or_default())
                } else {
                    row.sha1.clone().unwrap_or_default()
                });
                rec.push(row.exposed().to_string());
                rec.push(row.count().to_string());
                rec.push(csv_sources(&row.source_names()));
                rec.push(csv_text(if let Status::Invalid(e) = &row.status { e } else { "" }));
                if let Some(why) = &note.why {
                    rec.push(note.first_seen.clone().unwrap_or_default());
                    rec.push(csv_text(why));
                }
                // Into a small buffer, not straight to `out`: the CSV writer's flush would also
                // flush stdout, a system call per row.
                let mut buf = Vec::with_capacity(256);
                let mut w = csv::Writer::from_writer(&mut buf);
                w.write_record(&rec)?;
                w.flush()?;
                drop(w);
                out.write_all(&buf)?;
            }
        }
        Ok(())
    };
    let header_row = |out: &mut BufWriter<io::StdoutLock<'_>>, csv_fields: Option<&[String]>| -> Result<()> {
        match a.format {
            BulkFormat::Table => table_header(out, kind, true)?,
            BulkFormat::Json | BulkFormat::Html => {}
            BulkFormat::Csv => {
                let mut w = csv::Writer::from_writer(Vec::new());
                let mut rec: Vec<String> = match csv_fields {
                    Some(h) => h.to_vec(),
                    None if kind == Kind::Email => vec!["input".into()],
                    None => Vec::new(),
                };
                rec.extend(result_cols.iter().map(|s| s.to_string()));
                w.write_record(&rec)?;
                out.write_all(&w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?;
            }
        }
        Ok(())
    };
    match column {
        Some(col) => {
            header_row(&mut out, Some(&header))?;
            let mut rdr = csv::ReaderBuilder::new()
                .has_headers(false)
                .delimiter(delimiter)
                .flexible(true)
                // Lines end at `\n` only, so that the csv crate's line numbers are the file's
                // for CRLF files too; the `\r` left on a record's last field is dropped below.
                .terminator(csv::Terminator::Any(b'\n'))
                .from_reader(input);
            let mut rec = csv::ByteRecord::new();
            let mut pending: Vec<(String, u64, Vec<String>)> = Vec::new();
            loop {
                let before = header_lines + rdr.position().line();
                let more = match rdr.read_byte_record(&mut rec) {
                    Ok(more) => more,
                    Err(e) => anyhow::bail!("{shown_name}: line {before}: {e}"),
                };
                // The record's own start (after a CRLF's `\n` and blank lines), not where the
                // previous record ended.
                let line = rec.position().map_or(before, |p| header_lines + p.line());
                // A blank CRLF line is one field holding `\r`: skipped like a blank LF line.
                let blank = rec.len() == 1 && rec.get(0) == Some(b"\r".as_slice());
                if more && !blank {
                    let last = rec.len().saturating_sub(1);
                    let fields: Vec<String> = rec
                        .iter()
                        .enumerate()
                        .map(|(i, f)| {
                            let f = if i == last { f.strip_suffix(b"\r").unwrap_or(f) } else { f };
                            leakdex_core::ingest::decode_text(f).into_owned()
                        })
                        .collect();
                    let cell = fields.get(col).map_or("", String::as_str);
                    // Passwords are taken verbatim, as `build` takes them; addresses are trimmed.
                    let value = if kind == Kind::Email { cell.trim() } else { cell };
                    audit::refuse_export_line(kind, value, line, &shown_name)?;
                    pending.push((value.to_string(), line, fields));
                }
                if pending.len() >= BATCH || (!more && !pending.is_empty()) {
                    let batch = std::mem::take(&mut pending);
                    let values: Vec<String> = batch.iter().filter(|p| !p.0.is_empty()).map(|p| p.0.clone()).collect();
                    let mut answers = store.answer_many(&values)?.into_iter();
                    for (value, line, fields) in &batch {
                        let row = if value.is_empty() {
                            Row {
                                input: Some(String::new()),
                                email: None,
                                sha1: None,
                                ntlm: false,
                                status: Status::Invalid("empty".into()),
                            }
                        } else {
                            answers.next().expect("one answer per value")
                        };
                        emit(&mut out, &row, *line, Some(fields), &mut tally)?;
                    }
                }
                if !more {
                    break;
                }
            }
        }
        None => {
            header_row(&mut out, None)?;
            let mut line = 0u64;
            let mut buf = Vec::new();
            let mut pending: Vec<(String, u64)> = Vec::new();
            loop {
                buf.clear();
                let more = input.read_until(b'\n', &mut buf).with_context(|| format!("reading {shown_name}"))? > 0;
                if more {
                    line += 1;
                    let text = decode_line(&buf);
                    let value = if kind == Kind::Email { text.trim() } else { text.as_str() };
                    audit::refuse_export_line(kind, value, line, &shown_name)?;
                    if !value.is_empty() {
                        pending.push((value.to_string(), line));
                    }
                }
                if pending.len() >= BATCH || (!more && !pending.is_empty()) {
                    let batch = std::mem::take(&mut pending);
                    let values: Vec<String> = batch.iter().map(|p| p.0.clone()).collect();
                    for (row, (_, line)) in store.answer_many(&values)?.iter().zip(&batch) {
                        emit(&mut out, row, *line, None, &mut tally)?;
                    }
                }
                if !more {
                    break;
                }
            }
        }
    }
    let mut unlisted_exposed = false;
    if let Some(listed) = &tally.listed {
        let index = match &store {
            Store::Index(i) => Some(&**i),
            _ => None,
        };
        unlisted_exposed = crate::domain::unlisted(&mut out, index, &a.unlisted, listed, a.format, a.mask)?;
    }
    out.flush()?;
    // Only the table shows breach dates: say when it lacks the ones a local index shows.
    let summary = match &since {
        Some(s) => format!("{}; {}", tally.summary(), s.summary()),
        None => tally.summary(),
    };
    match store.missing_dates().filter(|_| a.format == BulkFormat::Table) {
        Some(note) => eprintln!("{summary}; {note}"),
        None => eprintln!("{summary}"),
    }
    if since.is_some() && tally.invalid > 0 {
        // Left out of the rows like everything not new, but never checked: said every time.
        eprintln!(
            "warning: {} row(s) of {} hold no valid {kind} and were not checked; run bulk without --since to see them",
            tally.invalid,
            printable(&shown_name)
        );
    }
    tally.check_answered(&shown_name, kind)?;
    if let (Some(html), Some(output)) = (html, a.output.as_deref()) {
        write_html(&a, &store, html, &shown_name, output)?;
    }
    // Under --since, exit 1 only when something is new (or an unlisted address is exposed).
    let outcome = match &since {
        Some(s) if s.new_rows() == 0 => Outcome::Clean,
        Some(_) => Outcome::Exposed,
        None => tally.outcome(),
    };
    Ok(if unlisted_exposed { Outcome::Exposed } else { outcome })
}

/// `-o` is where `--format html` writes, and only that; checked before anything is read.
fn check_html_output(a: &BulkArgs) -> Result<()> {
    if a.format == BulkFormat::Html && !a.unlisted.is_empty() {
        anyhow::bail!("--unlisted is listed with --format table, csv or json, not yet in the HTML report");
    }
    match (&a.output, a.format) {
        (None, BulkFormat::Html) => {
            anyhow::bail!("--format html writes a file: give -o report.html (or -o - for standard output)")
        }
        (Some(_), f) if f != BulkFormat::Html => {
            anyhow::bail!("-o is where --format html writes; the table, csv and json formats go to standard output")
        }
        (Some(o), _) if o.as_os_str() != "-" => {
            leakdex_core::atomic::check_destination(o, "-o")?;
            let inputs = a.target.index.iter().chain(a.input.iter());
            if let Some(same) = inputs.into_iter().find(|i| leakdex_core::atomic::same_file(i, o)) {
                anyhow::bail!("-o {} is an input ({}): write the report to another file", o.display(), same.display());
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The staff list's cells, those whose index `which` takes replaced by `mask` of them.
fn mask_fields<'f>(
    fields: &'f [String],
    which: impl Fn(usize) -> bool,
    mask: impl Fn(&str) -> String,
) -> std::borrow::Cow<'f, [String]> {
    std::borrow::Cow::Owned(
        fields.iter().enumerate().map(|(i, f)| if which(i) { mask(f) } else { f.clone() }).collect(),
    )
}

/// One answered row into the HTML report.
fn html_row(html: &mut report_html::Collector, row: &Row, line: u64, fields: Option<&[String]>) {
    use report_html::Verdict;
    let (verdict, sources, dates): (Verdict, &[String], &[Option<String>]) = match &row.status {
        Status::Exposed { sources, dates, .. } => (Verdict::Exposed, sources, dates),
        Status::Possibly => (Verdict::Possibly, &[], &[]),
        Status::Clean => (Verdict::Clean, &[], &[]),
        Status::Invalid(e) => (Verdict::Invalid(e.clone()), &[], &[]),
    };
    html.push(line, fields, row.shown(), verdict, row.count(), sources, dates);
}

/// Renders the HTML report and writes it to `output` (atomically, as readable as the inputs
/// allow) or to standard output (`-o -`).
fn write_html(a: &BulkArgs, store: &Store, html: report_html::Collector, staff: &str, output: &Path) -> Result<()> {
    let (index, catalogue) = store.html_info(&a.target);
    let mut notes: Vec<String> = store.missing_dates().into_iter().collect();
    if matches!(store, Store::Api { .. }) {
        notes.push("A range API answers with source names (and breach dates, from its catalogue) only: titles and data classes are those of the server's index (`leakdex info` there).".into());
    }
    if matches!(store, Store::Filter(_)) {
        notes.push(
            "Answers from a filter: POSSIBLY may be a false positive; check those rows against the index.".into(),
        );
    }
    if let Some(old) = &a.since {
        notes.push(format!(
            "Compared with the older index {}: rows marked NEW are exposed now and were not then, or are now in a source that did not hold them; the other rows are shown for the whole picture.",
            old.display()
        ));
    }
    let method = report_html::Method {
        command: reproduce(a, &index.name, staff, output),
        leakdex_version: env!("CARGO_PKG_VERSION").into(),
        notes,
    };
    let file = Path::new(staff).file_name().map_or(staff.into(), |f| f.to_string_lossy());
    let page = html.finish(format!("Exposure report: {file}"), index, catalogue, method).render();
    if output.as_os_str() == "-" {
        let mut out = io::stdout().lock();
        out.write_all(page.as_bytes()).and_then(|_| out.flush()).context("writing the report to standard output")?;
        return Ok(());
    }
    let inputs: Vec<&Path> = a.target.index.iter().map(|p| p.as_path()).chain(a.input.as_deref()).collect();
    let mode = leakdex_core::atomic::mode_of_inputs(inputs);
    leakdex_core::atomic::write_atomically(output, mode, |w| w.write_all(page.as_bytes()))
        .with_context(|| format!("writing the report {}", output.display()))?;
    eprintln!("wrote {}", output.display());
    Ok(())
}

/// The command line that makes the same report: the options that change answers, paths as
/// given, the API's shown address (never a key: keys are never arguments).
fn reproduce(a: &BulkArgs, target: &str, staff: &str, output: &Path) -> String {
    let q = |s: &str| {
        if !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || "-_./:@=+,".contains(c)) {
            s.to_string()
        } else {
            format!("'{}'", s.replace('\'', "'\\''"))
        }
    };
    let mut cmd = vec!["leakdex".to_string(), "bulk".into()];
    if a.target.api.is_some() {
        cmd.extend(["--api".into(), q(target), "--kind".into(), format!("{:?}", a.target.kind).to_lowercase()]);
    } else {
        cmd.extend(["-i".into(), q(target)]);
    }
    if let Some(c) = &a.column {
        cmd.extend(["--column".into(), q(c)]);
    }
    if let Some(g) = &a.group_by {
        cmd.extend(["--group-by".into(), q(g)]);
    }
    if a.mask {
        cmd.push("--mask".into());
    }
    if let Some(old) = &a.since {
        cmd.extend(["--since".into(), q(&old.display().to_string())]);
    }
    cmd.extend(["--format".into(), "html".into(), "-o".into(), q(&output.display().to_string())]);
    cmd.push(if staff == "stdin" { "- < STAFF_LIST".into() } else { q(staff) });
    cmd.join(" ")
}

/// What a row answered by an exported filter says instead of sources.
pub(crate) const POSSIBLY_DETAIL: &str = "in the filter (may be a false positive)";

/// Source names, each with its breach date when known: `forum-2020 (2020-03-14), combo-2022`.
fn sources_with_dates(sources: &[String], dates: &[Option<String>]) -> String {
    sources
        .iter()
        .zip(dates)
        .map(|(name, date)| match date {
            Some(d) => format!("{name} ({d})"),
            None => name.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn memchr_count(needle: u8, hay: &[u8]) -> u64 {
    hay.iter().filter(|&&b| b == needle).count() as u64
}

/// One line of a staff list or of `check`'s standard input, without its line end, decoded as
/// corpora are (`ingest::decode_text`).
fn decode_line(b: &[u8]) -> String {
    let b = b.strip_suffix(b"\n").unwrap_or(b);
    let b = b.strip_suffix(b"\r").unwrap_or(b);
    leakdex_core::ingest::decode_text(b).into_owned()
}

pub fn info(a: InfoArgs) -> Result<Outcome> {
    // The bucket figures below scan the whole table.
    let index = Index::open_sequential(&a.index.index)?;
    let stats = index.stats();
    let meta = index.meta();
    let mut out = io::stdout().lock();
    // What a range API would reveal at each prefix length: operators pick the length (and the
    // server's --min-k) from this.
    let buckets = (4..=6).map(|len| index.bucket_stats(len)).collect::<Result<Vec<_>, _>>()?;
    // Domains whose addresses the index holds in plaintext (`--own-domain`).
    let owned = index.owned()?.domains;
    if a.json {
        writeln!(
            out,
            "{}",
            json_safe(serde_json::to_string_pretty(
                &json!({ "stats": stats, "meta": meta, "buckets": buckets, "owned_domains": owned })
            )?)
        )?;
        return Ok(Outcome::Clean);
    }
    writeln!(out, "index:         {}", a.index.index.display())?;
    writeln!(out, "kind:          {}", stats.kind)?;
    writeln!(out, "entries:       {}", stats.entries)?;
    writeln!(
        out,
        "size:          {} (table {}, fan-out {}, filter {}); {:.1} bytes per entry",
        bytes(stats.file_bytes),
        bytes(stats.table_bytes),
        bytes(stats.fanout_bytes),
        bytes(stats.bloom_bytes),
        if stats.entries == 0 { 0.0 } else { stats.file_bytes as f64 / stats.entries as f64 }
    )?;
    writeln!(
        out,
        "bloom filter:  {:.1} bits per entry, expected false-positive rate {:.4}% (target {}%)",
        stats.bloom_bits_per_entry,
        stats.bloom_expected_fpr * 100.0,
        meta.fpr * 100.0
    )?;
    writeln!(
        out,
        "built:         {} by leakdex {} (normalization policy {})",
        meta.built_at, meta.tool_version, meta.normalization_policy
    )?;
    if stats.kind == Kind::Email {
        let d = match (index.header().has_domains(), owned.is_empty()) {
            (false, _) => "none (the index predates them: rebuild for `leakdex domain`)".to_string(),
            (true, true) => "figures per domain (hashed); no plaintext addresses".to_string(),
            (true, false) => format!(
                "figures per domain (hashed); PLAINTEXT addresses of {} (--own-domain): protect this file like the leak",
                owned.join(", ")
            ),
        };
        writeln!(out, "domains:       {d}")?;
    }
    writeln!(out, "range buckets: (entries per hash prefix: what a k-anonymity API reveals)")?;
    for b in &buckets {
        writeln!(
            out,
            "  prefix {} hex: {} buckets, {} empty, non-empty min {}, median {}, max {}",
            b.prefix_len, b.buckets, b.empty, b.min, b.median, b.max
        )?;
    }
    writeln!(out, "sources:       {}", meta.sources.len())?;
    // Names, dates and titles come from file names and the sources manifest: escaped.
    let w = meta.sources.iter().map(|s| printable(&s.name).chars().count()).max().unwrap_or(4).max(4);
    writeln!(out, "  {:<w$}  {:<10}  {:>10}  {:>10}  TITLE", "NAME", "DATE", "RECORDS", "UNIQUE")?;
    for s in &meta.sources {
        writeln!(
            out,
            "  {:<w$}  {:<10}  {:>10}  {:>10}  {}",
            printable(&s.name),
            printable(s.breach_date.as_deref().unwrap_or("-")),
            s.records,
            s.unique,
            printable(s.title.as_deref().unwrap_or(""))
        )?;
    }
    let _ = human;
    Ok(Outcome::Clean)
}

pub fn verify(a: IndexArg) -> Result<Outcome> {
    // Verification reads the whole file front to back: a sequential map (aggressive
    // read-ahead), not the random-access map that lookups use.
    let path = &a.index;
    let not_an_index = |e: &leakdex_core::Error| matches!(e, leakdex_core::Error::Open { source, .. } if matches!(**source, leakdex_core::Error::NotAnIndex));
    match Index::open_sequential(path) {
        Ok(i) => {
            i.verify().with_context(|| format!("{} failed verification", path.display()))?;
            println!("ok: {} entries, every checksum and the key order check out", i.len());
        }
        Err(e) if not_an_index(&e) => {
            let f = match Filter::open(path) {
                Ok(f) => f,
                Err(fe) if not_an_index(&fe) => return Err(e.into()),
                Err(fe) => return Err(fe.into()),
            };
            f.verify().with_context(|| format!("{} failed verification", path.display()))?;
            println!("ok: filter of {} entries, checksum matches", f.entries());
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Outcome::Clean)
}

pub fn export_filter(a: ExportFilterArgs) -> Result<Outcome> {
    leakdex_core::atomic::check_destination(&a.output, "-o")?;
    if leakdex_core::atomic::same_file(&a.index.index, &a.output) {
        anyhow::bail!(
            "-o {} is the index {} itself: the filter would replace it; write the filter to another file",
            a.output.display(),
            a.index.index.display()
        );
    }
    let index = Index::open(&a.index.index)?;
    // The filter tells who is (possibly) exposed: no more readable than the index.
    let mode = leakdex_core::atomic::mode_of_inputs([a.index.index.as_path()]);
    filter::export_filter(&index, &a.output, mode).map_err(|e: Error| anyhow::Error::new(e))?;
    let size = std::fs::metadata(&a.output).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "wrote {}: filter of {} entries, {} ({:.1} bits per entry)",
        a.output.display(),
        index.len(),
        bytes(size),
        index.stats().bloom_bits_per_entry
    );
    Ok(Outcome::Clean)
}
