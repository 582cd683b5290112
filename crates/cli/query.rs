//! `check`, `bulk`, `info`, `verify` and `export-filter`.

use std::io::{self, BufRead, BufWriter, Read, Write};

use anyhow::{Context, Result};
use leakdex_core::filter::{self, Filter};
use leakdex_core::{hex, Error, Index, Kind};
use memmap2::Mmap;
use serde_json::json;

use crate::args::{
    BulkArgs, BulkFormat, CheckArgs, CheckFormat, ExportFilterArgs, IndexArg, InfoArgs, KindArg, Target,
};
use crate::build::{bytes, human};
use crate::show::{printable, unsafe_char};
use crate::Outcome;

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
}

enum Status {
    Exposed { count: u64, sources: Vec<String>, dates: Vec<Option<String>> },
    Possibly,
    Clean,
    Invalid(String),
}

struct Row {
    input: Option<String>,
    email: Option<String>,
    sha1: Option<String>,
    /// `sha1` holds an NTLM hash.
    ntlm: bool,
    status: Status,
}

impl Row {
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

    fn json(&self, line: Option<u64>) -> String {
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
            Status::Exposed { sources, dates, .. } => sources
                .iter()
                .zip(dates)
                .map(|(name, date)| match date {
                    Some(d) => format!("{name} ({d})"),
                    None => name.clone(),
                })
                .collect::<Vec<_>>()
                .join(", "),
            Status::Possibly => "in the filter (may be a false positive)".into(),
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
}

impl Tally {
    fn add(&mut self, r: &Row) {
        self.checked += 1;
        match &r.status {
            Status::Exposed { sources, .. } => {
                self.exposed += 1;
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

fn table_row(out: &mut impl Write, r: &Row, line: Option<u64>) -> io::Result<()> {
    let line = line.map(|l| format!("{l:>6}  ")).unwrap_or_default();
    let count = if matches!(r.status, Status::Exposed { .. }) { r.count().to_string() } else { String::new() };
    // Breach names and dates come from an index's manifest or from a range API, the identifier
    // from the staff list: none may move the cursor, forge a row or a link.
    writeln!(
        out,
        "{line}{:<TABLE_WIDTH$}  {:<8}  {count:>8}  {}",
        printable(r.shown()),
        r.status_word(),
        printable(&r.detail())
    )
}

/// JSON text with the characters serde_json leaves raw (DEL, C1 controls, separators and
/// bidirectional overrides; it escapes C0 itself) written as `\uXXXX` escapes: the same JSON
/// value, safe to view on a terminal (`jq` and every JSON parser read it back unchanged).
fn json_safe(json: String) -> String {
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
fn csv_text(s: &str) -> String {
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
    if a.format == CheckFormat::Table {
        table_header(&mut out, store.kind(), false)?;
    }
    let mut batch = Vec::new();
    let mut idents = idents.peekable();
    while let Some(ident) = idents.next() {
        let ident = ident.context("reading identifiers from stdin")?;
        if !ident.is_empty() {
            batch.push(ident);
        }
        if batch.len() >= BATCH || (idents.peek().is_none() && !batch.is_empty()) {
            for row in store.answer_many(&std::mem::take(&mut batch))? {
                tally.add(&row);
                match a.format {
                    CheckFormat::Table => table_row(&mut out, &row, None)?,
                    CheckFormat::Json => writeln!(out, "{}", row.json(None))?,
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
    let store = Store::open(&a.target)?;
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
    let rest = head.split_off(skip);
    let mut input: Box<dyn BufRead> = Box::new(io::BufReader::new(io::Cursor::new(rest).chain(input)));
    let mut out = BufWriter::new(io::stdout().lock());
    let mut tally = Tally::default();
    let result_cols: &[&str] = match kind {
        Kind::Email => &["normalized_email", "exposed", "count", "sources", "error"],
        Kind::Password => &["sha1", "exposed", "count", "sources", "error"],
        Kind::Ntlm => &["ntlm", "exposed", "count", "sources", "error"],
    };
    let emit = |out: &mut BufWriter<io::StdoutLock<'_>>,
                row: &Row,
                line: u64,
                extra: Option<&[String]>,
                tally: &mut Tally|
     -> Result<()> {
        tally.add(row);
        match a.format {
            BulkFormat::Table => table_row(out, row, Some(line))?,
            BulkFormat::Json => writeln!(out, "{}", row.json(Some(line)))?,
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
            BulkFormat::Json => {}
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
    out.flush()?;
    // Only the table shows breach dates: say when it lacks the ones a local index shows.
    match store.missing_dates().filter(|_| a.format == BulkFormat::Table) {
        Some(note) => eprintln!("{}; {note}", tally.summary()),
        None => eprintln!("{}", tally.summary()),
    }
    tally.check_answered(&shown_name, kind)?;
    Ok(tally.outcome())
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
    if a.json {
        writeln!(
            out,
            "{}",
            json_safe(serde_json::to_string_pretty(&json!({ "stats": stats, "meta": meta, "buckets": buckets }))?)
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
