//! `check`, `bulk`, `info`, `verify` and `export-filter`.

use std::io::{self, BufRead, BufWriter, Write};

use anyhow::{Context, Result};
use leakdex_core::filter::{self, Filter};
use leakdex_core::{hex, Error, Index, Kind};
use memmap2::Mmap;
use serde_json::json;

use crate::args::{
    BulkArgs, BulkFormat, CheckArgs, CheckFormat, ExportFilterArgs, IndexArg, InfoArgs, KindArg, Target,
};
use crate::build::{bytes, human};
use crate::Outcome;

/// An index, a standalone filter that can only say "possibly exposed", or a remote range API.
enum Store {
    Index(Box<Index<Mmap>>),
    Filter(Filter<Mmap>),
    Api { client: leakdex_client::RangeClient, kind: Kind, rt: tokio::runtime::Runtime },
}

/// Rows answered together: a batch shares its requests to a range API.
const BATCH: usize = 4096;

impl Store {
    fn open(target: &Target) -> Result<Store> {
        if let Some(url) = &target.api {
            let kind = match target.kind {
                KindArg::Email => Kind::Email,
                KindArg::Password => Kind::Password,
                KindArg::Ntlm => Kind::Ntlm,
            };
            let client = leakdex_client::RangeClient::new(url)?.pad_requests_to(target.pad_requests);
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            return Ok(Store::Api { client, kind, rt });
        }
        let path = target.index.as_deref().context("give an index with -i INDEX or a range API with --api URL")?;
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
            Store::Api { client, kind, rt } => {
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
                                dates: vec![None; h.sources.len()],
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
        Ok(rows)
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
        serde_json::to_string(&row).expect("rows serialize")
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
    fn summary(&self) -> String {
        let pct = if self.checked == 0 { 0.0 } else { 100.0 * self.exposed as f64 / self.checked as f64 };
        let mut s = format!("checked {}, exposed {} ({pct:.1}%), invalid {}", self.checked, self.exposed, self.invalid);
        if !self.by_source.is_empty() {
            let parts: Vec<String> = self.by_source.iter().map(|(name, n)| format!("{name} {n}")).collect();
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
    writeln!(out, "{line}{:<TABLE_WIDTH$}  {:<8}  {count:>8}  {}", r.shown(), r.status_word(), r.detail())
}

pub fn check(a: CheckArgs) -> Result<Outcome> {
    let store = Store::open(&a.target)?;
    let idents: Box<dyn Iterator<Item = io::Result<String>>> = if a.identifiers.is_empty() {
        // Lines that are not UTF-8 are read as windows-1252, as in corpora and staff lists.
        Box::new(io::stdin().lock().split(b'\n').map(|l| l.map(|b| decode_line(&b))))
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
    Ok(tally.outcome())
}

/// Email column names looked for in a staff list header.
const STAFF_COLUMNS: &[&str] = &["email", "e-mail", "e_mail", "email_address", "emailaddress", "email address", "mail"];

pub fn bulk(a: BulkArgs) -> Result<Outcome> {
    let store = Store::open(&a.target)?;
    let name = a.input.as_ref().filter(|p| p.as_os_str() != "-").map(|p| p.display().to_string());
    let mut input: Box<dyn BufRead> = match &name {
        Some(n) => Box::new(io::BufReader::new(std::fs::File::open(n).with_context(|| format!("cannot open {n}"))?)),
        None => Box::new(io::stdin().lock()),
    };
    let shown_name = name.clone().unwrap_or_else(|| "stdin".into());
    // Decide plain lines or CSV from the first line.
    let mut first = Vec::new();
    input.read_until(b'\n', &mut first).with_context(|| format!("reading {shown_name}"))?;
    let first_text =
        String::from_utf8_lossy(&first).trim_end_matches(['\r', '\n']).trim_start_matches('\u{feff}').to_string();
    let delimiter =
        [b',', b'\t', b';'].into_iter().max_by_key(|d| first_text.bytes().filter(|b| b == d).count()).unwrap_or(b',');
    let header: Vec<String> = if first_text.as_bytes().contains(&delimiter) || a.column.is_some() {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(delimiter)
            .from_reader(first_text.as_bytes())
            .records()
            .next()
            .and_then(|r| r.ok())
            .map(|r| r.iter().map(|f| f.trim().to_string()).collect())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let column = match &a.column {
        Some(c) => Some(header.iter().position(|h| h.eq_ignore_ascii_case(c)).with_context(|| {
            format!("{shown_name}: no column named {c:?} in the header (columns: {})", header.join(", "))
        })?),
        None if store.kind() == Kind::Email => {
            STAFF_COLUMNS.iter().find_map(|want| header.iter().position(|h| h.eq_ignore_ascii_case(want)))
        }
        None => ["password", "pass", "passwd", "pwd"]
            .iter()
            .find_map(|want| header.iter().position(|h| h.eq_ignore_ascii_case(want))),
    };
    let mut out = BufWriter::new(io::stdout().lock());
    let mut tally = Tally::default();
    let kind = store.kind();
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
                    None if kind == Kind::Email => vec![row.input.clone().unwrap_or_default()],
                    None => Vec::new(),
                };
                rec.push(if kind == Kind::Email {
                    row.email.clone().unwrap_or_default()
                } else {
                    row.sha1.clone().unwrap_or_default()
                });
                rec.push(row.exposed().to_string());
                rec.push(row.count().to_string());
                rec.push(row.source_names().join(";"));
                rec.push(if let Status::Invalid(e) = &row.status { e.clone() } else { String::new() });
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
            let mut rdr =
                csv::ReaderBuilder::new().has_headers(false).delimiter(delimiter).flexible(true).from_reader(input);
            let mut rec = csv::StringRecord::new();
            let mut pending: Vec<(String, u64, Vec<String>)> = Vec::new();
            loop {
                let line = 1 + rdr.position().line();
                let more = match rdr.read_record(&mut rec) {
                    Ok(more) => more,
                    Err(e) => anyhow::bail!("{shown_name}: line {line}: {e}"),
                };
                if more {
                    let fields: Vec<String> = rec.iter().map(str::to_string).collect();
                    pending.push((rec.get(col).unwrap_or("").trim().to_string(), line, fields));
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
        None if !header.is_empty() && kind == Kind::Email && leakdex_core::normalize_email(&first_text).is_err() => {
            anyhow::bail!(
                "{shown_name}: the first line looks like a CSV header but has no email column (columns: {}); name it with --column",
                header.join(", ")
            );
        }
        None => {
            header_row(&mut out, None)?;
            let mut line = 1u64;
            let mut text = first_text;
            let mut buf = Vec::new();
            let mut more = !first.is_empty();
            let mut pending: Vec<(String, u64)> = Vec::new();
            loop {
                if more {
                    let value = if kind == Kind::Email { text.trim() } else { text.as_str() };
                    if !value.is_empty() {
                        pending.push((value.to_string(), line));
                    }
                    buf.clear();
                    more = input.read_until(b'\n', &mut buf).with_context(|| format!("reading {shown_name}"))? > 0;
                    line += 1;
                    text = decode_line(&buf);
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
    eprintln!("{}", tally.summary());
    Ok(tally.outcome())
}

fn decode_line(b: &[u8]) -> String {
    let b = b.strip_suffix(b"\n").unwrap_or(b);
    let b = b.strip_suffix(b"\r").unwrap_or(b);
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(b).0.into_owned(),
    }
}

pub fn info(a: InfoArgs) -> Result<Outcome> {
    let index = Index::open(&a.index.index)?;
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
            serde_json::to_string_pretty(&json!({ "stats": stats, "meta": meta, "buckets": buckets }))?
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
    let w = meta.sources.iter().map(|s| s.name.len()).max().unwrap_or(4).max(4);
    writeln!(out, "  {:<w$}  {:<10}  {:>10}  {:>10}  TITLE", "NAME", "DATE", "RECORDS", "UNIQUE")?;
    for s in &meta.sources {
        writeln!(
            out,
            "  {:<w$}  {:<10}  {:>10}  {:>10}  {}",
            s.name,
            s.breach_date.as_deref().unwrap_or("-"),
            s.records,
            s.unique,
            s.title.as_deref().unwrap_or("")
        )?;
    }
    let _ = human;
    Ok(Outcome::Clean)
}

pub fn verify(a: IndexArg) -> Result<Outcome> {
    let store =
        Store::open(&Target { index: Some(a.index.clone()), api: None, kind: KindArg::Email, pad_requests: 0 })?;
    match &store {
        Store::Index(i) => {
            i.verify().with_context(|| format!("{} failed verification", a.index.display()))?;
            println!("ok: {} entries, every checksum and the key order check out", i.len());
        }
        Store::Filter(f) => {
            f.verify().with_context(|| format!("{} failed verification", a.index.display()))?;
            println!("ok: filter of {} entries, checksum matches", f.entries());
        }
        Store::Api { .. } => unreachable!("verify opens a file"),
    }
    Ok(Outcome::Clean)
}

pub fn export_filter(a: ExportFilterArgs) -> Result<Outcome> {
    let index = Index::open(&a.index.index)?;
    filter::export_filter(&index, &a.output).map_err(|e: Error| anyhow::Error::new(e))?;
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
