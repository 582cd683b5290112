//! The per-format parsers. Each takes a chunk of whole records and hands keys to a [`Sink`],
//! counting every line it reads and every line it rejects, by reason.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::stream::{Mode, Start};
use super::{json, sql, stream, text, FileFormat, Format, MAX_RECORD};
use crate::format::Kind;
use crate::Key;

/// Where parsed keys go.
pub trait Sink {
    /// A key and how many times it occurred.
    fn key(&mut self, key: Key, count: u64);
    /// The key of an address, with the address as normalized (its domain feeds the per-domain
    /// aggregates, see [`crate::domains`]). By default just the key.
    fn address(&mut self, key: Key, count: u64, normalized: &str) {
        let _ = normalized;
        self.key(key, count);
    }
    /// A key read as a hash (a line of a SHA-1 list of addresses): its address, and so its
    /// domain, is unknown. By default just the key.
    fn hashed(&mut self, key: Key, count: u64) {
        self.key(key, count);
    }
}

impl Sink for Vec<(Key, u64)> {
    fn key(&mut self, key: Key, count: u64) {
        self.push((key, count));
    }
}

/// Rejected lines of one reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Reject {
    /// How many.
    pub count: u64,
    /// Up to [`MAX_EXAMPLES`] examples: line number and a redacted rendering (never a
    /// password; addresses shortened to their first character and domain).
    pub examples: Vec<(u64, String)>,
}

/// Examples kept per reason.
pub const MAX_EXAMPLES: usize = 2;

/// What parsing one file found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FileStats {
    /// Lines read.
    pub lines: u64,
    /// Records extracted (occurrences; a hash line counts its count once).
    pub records: u64,
    /// Rejected lines, by reason.
    pub rejects: BTreeMap<&'static str, Reject>,
    /// Lines read and deliberately not indexed, by what they are (for example mbox `From `
    /// separators, which repeat the sender of the headers below them).
    #[serde(rename = "not_indexed", skip_serializing_if = "BTreeMap::is_empty")]
    pub skipped: BTreeMap<&'static str, u64>,
    /// Addresses written in full-width forms (`ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ`), read as the ASCII
    /// address (normalization policy step 0). Included in `records`.
    #[serde(skip_serializing_if = "is_zero")]
    pub fullwidth: u64,
    /// Addresses read from an obfuscated form (`taro [at] example.jp`, `taro ＠ example.jp`,
    /// `taro at example dot jp`), see [`super::text::extract_obfuscated`]. Included in
    /// `records`.
    #[serde(skip_serializing_if = "is_zero")]
    pub deobfuscated: u64,
    /// Extra keys: the Unicode form of addresses with an internationalized domain, indexed
    /// beside their punycode form ([`crate::email_keys`]). Included in `records`.
    #[serde(skip_serializing_if = "is_zero")]
    pub idn_keys: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// How an address was written, for the counters of [`FileStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    /// As an address (full-width forms are noticed from the text itself).
    Plain,
    /// Read from an obfuscated form.
    Obfuscated,
}

/// The span of a key read as a hash in [`Found`] (an empty span that no address has).
const HASHED_SPAN: (u32, u32) = (u32::MAX, u32::MAX);

/// The keys of one record, each once, and the counters for how their addresses were written.
/// Filled by [`Found::address`], handed to the sink by [`Found::flush`].
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// Keys, in the order found.
    pub keys: Vec<Key>,
    /// For each key, the span of its normalized address in `text`; empty for a key that is no
    /// address's own (a hash line's, the Unicode form of an internationalized address).
    spans: Vec<(u32, u32)>,
    /// The normalized addresses of the keys, one after the other.
    text: String,
    fullwidth: u64,
    deobfuscated: u64,
    idn_keys: u64,
}

impl Found {
    /// Adds the keys of `candidate` ([`crate::email_keys`]); `Err` if it is not an address.
    pub fn address(&mut self, candidate: &str, written: Written) -> Result<(), crate::Invalid> {
        let normalized = crate::normalize_email(candidate)?;
        let key = crate::Key::from(<sha1::Sha1 as sha1::Digest>::digest(normalized.as_bytes()));
        if self.keys.contains(&key) {
            return Ok(());
        }
        let unicode = crate::normalize::unicode_form(&normalized)
            .map(|u| crate::Key::from(<sha1::Sha1 as sha1::Digest>::digest(u.as_bytes())));
        self.keys.push(key);
        let start = self.text.len() as u32;
        self.text.push_str(&normalized);
        self.spans.push((start, self.text.len() as u32));
        if written == Written::Obfuscated {
            self.deobfuscated += 1;
        } else if crate::normalize::has_fullwidth(candidate) {
            self.fullwidth += 1;
        }
        if let Some(u) = unicode.filter(|u| !self.keys.contains(u)) {
            self.keys.push(u);
            self.spans.push((0, 0));
            self.idn_keys += 1;
        }
        Ok(())
    }

    /// Adds a key that is not an address's (a hash line's): it is handed to the sink as
    /// [`Sink::hashed`].
    pub fn key(&mut self, key: Key) {
        if !self.keys.contains(&key) {
            self.keys.push(key);
            self.spans.push(HASHED_SPAN);
        }
    }

    /// Whether no key was found.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Forgets what was found.
    pub fn clear(&mut self) {
        self.keys.clear();
        self.spans.clear();
        self.text.clear();
        (self.fullwidth, self.deobfuscated, self.idn_keys) = (0, 0, 0);
    }

    /// Hands every key to `sink` once, counts them in `stats`, and clears.
    pub fn flush(&mut self, sink: &mut dyn Sink, stats: &mut FileStats) {
        for (k, &(a, b)) in self.keys.iter().zip(&self.spans) {
            if (a, b) == HASHED_SPAN {
                sink.hashed(*k, 1);
            } else if a == b {
                sink.key(*k, 1);
            } else {
                sink.address(*k, 1, &self.text[a as usize..b as usize]);
            }
        }
        stats.records += self.keys.len() as u64;
        stats.fullwidth += self.fullwidth;
        stats.deobfuscated += self.deobfuscated;
        stats.idn_keys += self.idn_keys;
        self.clear();
    }
}

impl FileStats {
    /// Counts a rejected line.
    pub fn reject(&mut self, reason: &'static str, line: u64, example: impl FnOnce() -> String) {
        let r = self.rejects.entry(reason).or_default();
        r.count += 1;
        if r.examples.len() < MAX_EXAMPLES {
            r.examples.push((line, example()));
        }
    }

    /// Counts `n` rejects of one reason (lines or rows lost together) at `line`.
    pub fn reject_n(&mut self, reason: &'static str, n: u64, line: u64) {
        if n > 0 {
            self.reject(reason, line, String::new);
            self.rejects.entry(reason).or_default().count += n - 1;
        }
    }

    /// Adds another part's figures; keeps the examples with the lowest line numbers.
    pub fn merge(&mut self, other: FileStats) {
        self.lines += other.lines;
        self.records += other.records;
        self.fullwidth += other.fullwidth;
        self.deobfuscated += other.deobfuscated;
        self.idn_keys += other.idn_keys;
        for (what, n) in other.skipped {
            *self.skipped.entry(what).or_default() += n;
        }
        for (reason, r) in other.rejects {
            let mine = self.rejects.entry(reason).or_default();
            mine.count += r.count;
            mine.examples.extend(r.examples);
            mine.examples.sort();
            mine.examples.truncate(MAX_EXAMPLES);
        }
    }

    /// Total rejected lines.
    pub fn rejected(&self) -> u64 {
        self.rejects.values().map(|r| r.count).sum()
    }
}

/// Renders a rejected candidate without revealing it: an address-like string keeps only its
/// domain (`***@example.com`), anything else only its length.
pub fn redact(s: &str) -> String {
    let s = s.trim();
    let Some(at) = s.rfind('@').filter(|&at| at > 0) else {
        return format!("<{} bytes>", s.len());
    };
    // Only a domain is shown, and only one that is a real domain on its own: whatever follows
    // it on the line (a password after a separator of any script) and a "domain" that is part
    // of a password (`pa@ss:word`) are never printed.
    let rest = &s[at + 1..];
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '.' || c == '-')).unwrap_or(rest.len());
    let domain = &rest[..end];
    if end > 0 && domain.len() <= 253 && crate::normalize_email(&format!("x@{domain}")).is_ok() {
        format!("***@{domain}")
    } else {
        format!("<{} bytes>", s.len())
    }
}

/// Decodes a line: UTF-8 if valid, else windows-1252.
pub(crate) fn decode(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0,
    }
}

/// Drops NUL bytes (UTF-16 read without a BOM, padding in binary dumps). Email indexes only:
/// passwords are never altered.
fn strip_nul(bytes: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memchr(0, bytes).is_some() {
        Cow::Owned(bytes.iter().copied().filter(|&b| b != 0).collect())
    } else {
        Cow::Borrowed(bytes)
    }
}

/// Parses a `HASH[:count]` line: `digits` hex digits (40 for SHA-1, 32 for NTLM), any case.
pub fn hash_line(line: &[u8], digits: usize) -> Option<(Key, u64)> {
    let line = line.trim_ascii();
    let hex = std::str::from_utf8(line.get(..digits)?).ok()?;
    let key = crate::parse_key(hex)?;
    // The count follows `:` (Pwned Passwords), or a tab, space, `,`, `;` or `|` (other
    // tools' exports), with blanks around the separator allowed.
    let rest = &line[digits..];
    if rest.is_empty() {
        return Some((key, 1));
    }
    let rest = rest.trim_ascii_start();
    let rest = match rest.first() {
        Some(b':' | b',' | b';' | b'|') => rest[1..].trim_ascii_start(),
        Some(_) if rest.len() < line.len() - digits => rest, // white space was the separator
        _ => return None,
    };
    if rest.is_empty() || !rest.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(rest).ok()?.parse().ok().map(|c| (key, c))
}

/// Email keys found in a string: the whole string if it is an address, else the addresses
/// extracted from it as free text. Adds keys not yet in `out`.
pub(super) fn email_candidates(s: &str, out: &mut Found) {
    if out.address(s, Written::Plain).is_err() && (s.contains('@') || crate::normalize::has_fullwidth(s)) {
        text::extract(s, &mut |a| {
            let _ = out.address(a, Written::Plain);
        });
    }
}

/// Mbox `From ` separator lines, in [`FileStats::skipped`].
pub const MBOX_SEPARATOR: &str = "mbox `From ` separator lines (the sender is in the headers)";

/// Parses a whole file held in `data`, in format `fmt`. `first_line` is the line number of its
/// first line (1-based).
pub fn parse_chunk(
    kind: Kind,
    fmt: &FileFormat,
    data: &[u8],
    first_line: u64,
    sink: &mut dyn Sink,
    stats: &mut FileStats,
) {
    parse_chunk_at(kind, fmt, &Start::whole(data, fmt), data, first_line, sink, stats)
}

/// Parses one chunk of a file in format `fmt`, from the state `start` the framer had at the
/// cut (see [`stream`] for the rule that keeps cutting and parsing in agreement). `first_line`
/// is the line number of the chunk's first line (1-based).
pub fn parse_chunk_at(
    kind: Kind,
    fmt: &FileFormat,
    start: &Start,
    data: &[u8],
    first_line: u64,
    sink: &mut dyn Sink,
    stats: &mut FileStats,
) {
    match (fmt.format, &start.mode) {
        (Format::Csv, _) => return parse_csv(kind, fmt, data, first_line, sink, stats),
        (Format::Stealer, _) => return super::stealer::parse(kind, data, first_line, sink, stats),
        (Format::Sql, Mode::Sql(lexer)) => return parse_sql(lexer, start.last, data, first_line, sink, stats),
        (Format::Sql, _) => return parse_sql(&sql::Lexer::default(), start.last, data, first_line, sink, stats),
        (Format::Json, Mode::JsonDoc(scanner)) => {
            return json::parse_chunk(scanner, start.last, data, first_line, sink, stats)
        }
        _ => {}
    }
    let mbox = matches!(start.mode, Mode::Mbox) && fmt.format == Format::Text;
    let mut found = Found::default();
    let mut pieces = data.split(|&b| b == b'\n').peekable();
    let mut line_no = first_line;
    while let Some(raw) = pieces.next() {
        if raw.is_empty() && pieces.peek().is_none() {
            break; // what follows the final newline
        }
        let n = line_no;
        line_no += 1;
        stats.lines += 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.len() > MAX_RECORD {
            stats.reject("line over 64 KiB", n, || format!("<{} bytes>", raw.len()));
            continue;
        }
        if raw.iter().all(|b| b.is_ascii_whitespace() || *b == 0) {
            stats.reject("blank line", n, String::new);
            continue;
        }
        if mbox && stream::is_mbox_separator(raw) {
            *stats.skipped.entry(MBOX_SEPARATOR).or_default() += 1;
            continue;
        }
        match kind {
            Kind::Email => {
                let bytes = strip_nul(raw);
                let line = decode(&bytes);
                found.clear();
                match email_line(fmt, &line, &mut found) {
                    Ok(()) => found.flush(sink, stats),
                    Err((reason, example)) => stats.reject(reason, n, || example),
                }
            }
            Kind::Password | Kind::Ntlm => match password_line(kind, fmt, raw) {
                Ok((key, count)) => {
                    sink.key(key, count);
                    stats.records += 1;
                }
                Err((reason, example)) => stats.reject(reason, n, || example),
            },
        }
    }
}

type LineResult<T> = Result<T, (&'static str, String)>;

fn email_line(fmt: &FileFormat, line: &str, found: &mut Found) -> LineResult<()> {
    match fmt.format {
        Format::Plain => {
            let t = line.trim();
            found.address(t, Written::Plain).map_err(|e| (e.as_str(), redact(t)))?;
        }
        Format::Combo => {
            let c = text::split_combo(line).ok_or_else(|| ("no address", redact(line)))?;
            found.address(c.address, Written::Plain).map_err(|e| (e.as_str(), redact(c.address)))?;
        }
        Format::Hashes => {
            let (k, _) = hash_line(line.as_bytes(), 40).ok_or_else(|| ("not a SHA1[:count] line", redact(line)))?;
            found.key(k);
        }
        Format::Json => {
            let v: serde_json::Value = serde_json::from_str(line).map_err(|_| ("invalid JSON", redact(line)))?;
            json_strings(&v, found);
            if found.is_empty() {
                return Err(("no address in JSON record", String::new()));
            }
        }
        Format::Text => {
            if line.contains('@') || (!line.is_ascii() && text::may_hold_fullwidth_at(line)) {
                text::extract(line, &mut |cand| {
                    let _ = found.address(cand, Written::Plain);
                });
            }
            if fmt.deobfuscate {
                text::extract_obfuscated(line, &mut |cand| {
                    let _ = found.address(cand, Written::Obfuscated);
                });
            }
            if found.is_empty() {
                return Err(("no address in line", redact(line)));
            }
        }
        Format::Csv | Format::Sql | Format::Stealer => unreachable!("parsed by their own functions"),
    }
    Ok(())
}

/// Every string of a JSON document, nested objects and arrays included: values, and object
/// keys too (exports keyed by address: `{"users": {"ann@example.com": {...}}}`). serde_json
/// limits nesting depth, so hostile documents fail to parse instead.
pub(super) fn json_strings(v: &serde_json::Value, found: &mut Found) {
    match v {
        serde_json::Value::String(s) => email_candidates(s, found),
        serde_json::Value::Array(a) => a.iter().for_each(|x| json_strings(x, found)),
        serde_json::Value::Object(o) => o.iter().for_each(|(k, x)| {
            if k.contains('@') || crate::normalize::has_fullwidth(k) {
                email_candidates(k, found);
            }
            json_strings(x, found)
        }),
        _ => {}
    }
}

fn password_line(kind: Kind, fmt: &FileFormat, raw: &[u8]) -> LineResult<(Key, u64)> {
    match fmt.format {
        Format::Hashes => {
            if let Some((k, c)) = hash_line(raw, kind.hex_len()) {
                if c == 0 {
                    return Err(("hash with count 0 (padding)", String::new()));
                }
                return Ok((k, c));
            }
            let t = raw.trim_ascii();
            let other = if kind == Kind::Ntlm { 40 } else { 32 };
            let wrong = t.len() >= other
                && t[..other].iter().all(u8::is_ascii_hexdigit)
                && t.get(other).is_none_or(|&b| b == b':');
            match (wrong, kind) {
                (true, Kind::Ntlm) => Err(("SHA-1 hash (an NTLM index cannot hold it)", String::new())),
                (true, _) => Err(("NTLM hash (a SHA-1 index cannot hold it; build with --kind ntlm)", String::new())),
                (false, Kind::Ntlm) => Err(("not an NTLM[:count] line", format!("<{} bytes>", raw.len()))),
                (false, _) => Err(("not a SHA1[:count] line", format!("<{} bytes>", raw.len()))),
            }
        }
        Format::Plain => {
            let pw = decode(raw);
            Ok((crate::password_key_for(kind, &pw), 1))
        }
        Format::Combo => {
            let line = decode(raw);
            let pw = super::combo::password_of(&line, fmt.delimiter).map_err(|reason| (reason, String::new()))?;
            if pw.is_empty() {
                return Err(("empty password", String::new()));
            }
            Ok((crate::password_key_for(kind, pw), 1))
        }
        _ => Err(("format cannot hold passwords", String::new())),
    }
}

fn parse_csv(kind: Kind, fmt: &FileFormat, data: &[u8], first_line: u64, sink: &mut dyn Sink, stats: &mut FileStats) {
    stats.lines += memchr::memchr_iter(b'\n', data).count() as u64;
    if !data.is_empty() && !data.ends_with(b"\n") {
        stats.lines += 1;
    }
    let mut rdr =
        csv::ReaderBuilder::new().has_headers(false).delimiter(fmt.delimiter).flexible(true).from_reader(data);
    let mut rec = csv::ByteRecord::new();
    let mut found = Found::default();
    loop {
        let line = first_line + rdr.position().line().saturating_sub(1);
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(_) => {
                stats.reject("malformed CSV record", line, String::new);
                continue;
            }
        }
        if rec.iter().all(|f| f.trim_ascii().is_empty()) {
            stats.reject("blank line", line, String::new);
            continue;
        }
        match kind {
            Kind::Email => csv_email_record(fmt, &rec, line, &mut found, sink, stats),
            Kind::Password | Kind::Ntlm => {
                let col = fmt.columns.first().copied().unwrap_or(0);
                let Some(field) = rec.get(col) else {
                    stats.reject("record has no such column", line, String::new);
                    continue;
                };
                if field.len() > MAX_RECORD {
                    stats.reject("field over 64 KiB", line, || format!("<{} bytes>", field.len()));
                    continue;
                }
                if field.is_empty() {
                    stats.reject("empty password", line, String::new);
                    continue;
                }
                sink.key(crate::password_key_for(kind, &decode(field)), 1);
                stats.records += 1;
            }
        }
    }
}

/// The addresses of one CSV record: every chosen column, each cell possibly holding several
/// addresses ([`super::csvfmt::cell_addresses`]). A record whose chosen cells are all empty is
/// one reject; each bad cell is one reject.
fn csv_email_record(
    fmt: &FileFormat,
    rec: &csv::ByteRecord,
    line: u64,
    found: &mut Found,
    sink: &mut dyn Sink,
    stats: &mut FileStats,
) {
    let mut any_cell = false;
    found.clear();
    let mut missing = true;
    for &col in &fmt.columns {
        let Some(field) = rec.get(col) else { continue };
        missing = false;
        if field.len() > MAX_RECORD {
            stats.reject("field over 64 KiB", line, || format!("<{} bytes>", field.len()));
            any_cell = true;
            continue;
        }
        let bytes = strip_nul(field);
        let s = decode(&bytes);
        if s.trim().is_empty() {
            continue;
        }
        any_cell = true;
        let result = super::csvfmt::cell_addresses(&s, &mut |a| {
            let _ = found.address(a, Written::Plain);
        });
        if let Err((reason, piece)) = result {
            stats.reject(reason, line, || redact(piece));
        }
    }
    found.flush(sink, stats);
    if missing {
        stats.reject("record has no such column", line, String::new);
    } else if !any_cell {
        stats.reject("empty address field", line, String::new);
    }
}

/// Collects string literals, tuples and COPY rows of a SQL chunk. The addresses of a tuple or
/// row are one record set (counted once each); a string outside any tuple or row is a record
/// set of its own, emitted at once, so that nothing is carried across a chunk cut.
struct SqlCollector<'a> {
    /// Inside a tuple of `INSERT ... VALUES`, or inside a COPY block.
    in_tuple: bool,
    in_copy: bool,
    cur: Vec<u8>,
    overlong: bool,
    tuple: Found,
    sink: &'a mut dyn Sink,
    stats: &'a mut FileStats,
    line: u64,
}

impl sql::Events for SqlCollector<'_> {
    fn string_byte(&mut self, b: u8) {
        if self.cur.len() < MAX_RECORD {
            self.cur.push(b);
        } else {
            self.overlong = true;
        }
    }
    fn string_end(&mut self) {
        if self.overlong {
            self.stats.reject("SQL string over 64 KiB", self.line, String::new);
        } else if memchr::memchr(b'@', &self.cur).is_some() {
            let bytes = strip_nul(&self.cur);
            email_candidates(&decode(&bytes), &mut self.tuple);
        }
        self.cur.clear();
        self.overlong = false;
        if !self.in_tuple && !self.in_copy {
            self.flush();
        }
    }
    fn tuple_end(&mut self) {
        self.in_tuple = false;
        if self.tuple.is_empty() {
            self.stats.reject("SQL tuple without an address", self.line, String::new);
        }
        self.flush();
    }
    fn copy_row_end(&mut self) {
        // The row's newline is already counted: the row was on the line before.
        if self.tuple.is_empty() {
            self.stats.reject("COPY row without an address", self.line, String::new);
        }
        self.flush();
    }
    fn statement_end(&mut self) {
        self.flush();
    }
    fn tuple_start(&mut self) {
        self.flush();
        self.in_tuple = true;
    }
    fn copy_start(&mut self) {
        self.flush();
        self.in_copy = true;
    }
    fn copy_end(&mut self) {
        self.flush();
        self.in_copy = false;
    }
    fn bare_at(&mut self) {
        self.stats.reject(
            "address-like text outside SQL quotes (quotes out of step: mixed escape dialects or a broken dump)",
            self.line,
            String::new,
        );
    }
    fn unclosed_string(&mut self, rows: u64) {
        self.in_tuple = false;
        self.cur.clear();
        self.overlong = false;
        self.stats.reject_n(
            "SQL rows lost to a string that never closed (mixed escape dialects or a broken dump)",
            rows,
            self.line,
        );
        self.flush();
    }
}

impl SqlCollector<'_> {
    fn flush(&mut self) {
        self.tuple.flush(self.sink, self.stats);
    }
}

/// Parses a SQL chunk from the lexer state `start`. Lines are counted by newline; the last
/// chunk of a file also counts an unterminated last line (a chunk cut inside a line does not).
fn parse_sql(start: &sql::Lexer, last: bool, data: &[u8], first_line: u64, sink: &mut dyn Sink, stats: &mut FileStats) {
    let newlines = memchr::memchr_iter(b'\n', data).count() as u64;
    let lines = newlines + u64::from(last && !data.is_empty() && !data.ends_with(b"\n"));
    let mut lexer = start.clone();
    let mut c = SqlCollector {
        in_tuple: false,
        in_copy: lexer.in_copy(),
        cur: Vec::new(),
        overlong: false,
        tuple: Found::default(),
        sink,
        stats,
        line: first_line,
    };
    for &b in data {
        // A row or tuple ending at a newline is reported on its own line, then the count moves.
        lexer.feed(b, &mut c);
        if b == b'\n' {
            c.line += 1;
        }
    }
    if last {
        lexer.finish(&mut c);
    }
    c.flush();
    stats.lines += lines;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::FileFormat;
    use crate::password_key;

    fn run(kind: Kind, format: Format, data: &[u8]) -> (Vec<(Key, u64)>, FileStats) {
        let mut keys = Vec::new();
        let mut stats = FileStats::default();
        parse_chunk(kind, &FileFormat::simple(format), data, 1, &mut keys, &mut stats);
        (keys, stats)
    }

    fn ek(a: &str) -> Key {
        crate::email_key(a).unwrap()
    }

    #[test]
    fn combo_lines_take_the_password_after_the_first_separator() {
        let (keys, stats) = run(Kind::Password, Format::Combo, b"carol@example.org:pa:ss:wd\r\nx@example.com;p;q\n");
        assert_eq!(keys, [(password_key(b"pa:ss:wd"), 1), (password_key(b"p;q"), 1)]);
        assert_eq!(stats.lines, 2);
        let (keys, stats) =
            run(Kind::Email, Format::Combo, b"Carol@Example.org:pa:ss\nno separator here\n\nbad..dot@example.com:x\n");
        assert_eq!(keys, [(ek("carol@example.org"), 1)]);
        assert_eq!((stats.lines, stats.records, stats.rejected()), (4, 1, 3));
        assert_eq!(stats.rejects["misplaced dot in local part"].examples, [(4, "***@example.com".to_string())]);
    }

    #[test]
    fn rejected_examples_never_show_passwords() {
        let (_, stats) = run(Kind::Email, Format::Combo, b"bad@@example.com:SuperSecret1\n");
        let shown = format!("{:?}", stats.rejects);
        assert!(!shown.contains("SuperSecret1"), "{shown}");
        // The rest of a line after a domain, whatever the separator, and a password holding an
        // `@` are never shown (issue 10).
        let lines = "***@intranet pass: Winter2024!\nann@example.com\u{a0}Hunter2024\nbob@example.com\u{3000}Sakura2024\ngamer01:pa@ssword\n";
        for format in [Format::Text, Format::Plain, Format::Combo] {
            let (_, stats) = run(Kind::Email, format, lines.as_bytes());
            let shown = format!("{:?}", stats.rejects);
            for secret in ["Winter2024", "Hunter2024", "Sakura2024", "ssword", "intranet"] {
                assert!(!shown.contains(secret), "{format:?}: {shown}");
            }
        }
        assert_eq!(redact("x@@example.com"), "***@example.com");
    }

    #[test]
    fn windows_1252_lines_and_nul_bytes_are_decoded() {
        let (keys, _) = run(Kind::Email, Format::Plain, b"\xe9lodie@example.fr\nr\0u\0t\0h\0@\0example.com\n");
        assert_eq!(keys, [(ek("élodie@example.fr"), 1), (ek("ruth@example.com"), 1)]);
    }

    #[test]
    fn json_reads_every_nested_string_once_per_record() {
        let data =
            br#"{"user":{"contacts":["A@example.com","x"],"mail":"a@example.com"},"note":"ping b\u0040example.org"}
{"n":1}
not json
"#;
        let (mut keys, stats) = run(Kind::Email, Format::Json, data);
        keys.sort();
        let mut want = [(ek("a@example.com"), 1), (ek("b@example.org"), 1)];
        want.sort();
        assert_eq!(keys, want);
        assert_eq!(stats.rejects["no address in JSON record"].count, 1);
        assert_eq!(stats.rejects["invalid JSON"].count, 1);
    }

    #[test]
    fn json_object_keys_that_are_addresses_are_read() {
        let data = br#"{"by":"admin@example.org","users":{"k1@example.com":{"manager":"boss@example.org"}}}
{"k5@example.com":{"n":1}}
"#;
        let (mut keys, stats) = run(Kind::Email, Format::Json, data);
        keys.sort();
        let mut want: Vec<(Key, u64)> =
            ["admin@example.org", "k1@example.com", "boss@example.org", "k5@example.com"].map(|a| (ek(a), 1)).to_vec();
        want.sort();
        assert_eq!(keys, want, "{stats:?}");
    }

    #[test]
    fn sql_tuples_give_their_addresses() {
        let data = b"INSERT INTO `u` VALUES (1,'o\\'neil@example.com','pw'),(2,'it''s','x');\nINSERT INTO u VALUES (3,'c@example.net');\n";
        let (keys, stats) = run(Kind::Email, Format::Sql, data);
        assert_eq!(keys, [(ek("o'neil@example.com"), 1), (ek("c@example.net"), 1)]);
        assert_eq!(stats.rejects["SQL tuple without an address"].count, 1);
        assert_eq!(stats.lines, 2);
    }

    #[test]
    fn hash_counts_after_tab_space_comma_or_semicolon_are_read() {
        for sep in [":", "\t", " ", ",", ";", "|", " : ", "\t\t"] {
            let line = format!("5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8{sep}42");
            assert_eq!(hash_line(line.as_bytes(), 40), Some((password_key(b"password"), 42)), "{sep:?}");
        }
        assert_eq!(hash_line(b"5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8x42", 40), None);
        assert_eq!(hash_line(b"5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:4x", 40), None);
        assert_eq!(hash_line(b"5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:", 40), None);
    }

    #[test]
    fn hash_lists_carry_counts_and_reject_ntlm() {
        let data = b"5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:10437277\n5baa61e4c9b93f3f0682250b6cf8331b7ee68fd9\n8846F7EAEE8FB117AD06BDD830B7586C:5\n";
        let (keys, stats) = run(Kind::Password, Format::Hashes, data);
        assert_eq!(keys[0], (password_key(b"password"), 10437277));
        assert_eq!(keys.len(), 2, "{stats:?}");
        assert_eq!(stats.rejects["NTLM hash (a SHA-1 index cannot hold it; build with --kind ntlm)"].count, 1);
        let (keys, _) = run(Kind::Ntlm, Format::Hashes, b"8846F7EAEE8FB117AD06BDD830B7586C:5\n");
        assert_eq!(keys, [(crate::ntlm_key("password"), 5)]);
    }

    #[test]
    fn csv_records_read_every_chosen_column_and_each_address_of_a_cell() {
        let fmt = FileFormat { columns: vec![1, 3], ..FileFormat::simple(Format::Csv) };
        let data = b"1,a@example.com,x,\"b@example.com; c@example.com\"\n2,,y,\n3,bad@@example.com,z,d@example.com\n";
        let mut keys = Vec::new();
        let mut stats = FileStats::default();
        parse_chunk(Kind::Email, &fmt, data, 2, &mut keys, &mut stats);
        let want: Vec<(Key, u64)> =
            ["a@example.com", "b@example.com", "c@example.com", "d@example.com"].iter().map(|a| (ek(a), 1)).collect();
        assert_eq!(keys, want);
        assert_eq!((stats.lines, stats.records), (3, 4));
        assert_eq!(stats.rejects["empty address field"].examples, [(3, String::new())]);
        assert_eq!(stats.rejects["more than one @"].examples, [(4, "***@example.com".to_string())]);
    }

    #[test]
    fn overlong_lines_are_counted_not_kept() {
        let mut data = vec![b'x'; MAX_RECORD + 10];
        data.extend_from_slice(b"\nok@example.com\n");
        let (keys, stats) = run(Kind::Email, Format::Plain, &data);
        assert_eq!(keys.len(), 1);
        assert_eq!(stats.rejects["line over 64 KiB"].count, 1);
    }

    fn keys_of(keys: &[(Key, u64)]) -> Vec<Key> {
        keys.iter().map(|k| k.0).collect()
    }

    /// Parses `data` whole, then cut at every place the build's framer may cut it (the
    /// lexer's own boundaries), and checks that every split gives the same keys and counts.
    fn sql_cut_everywhere(data: &[u8]) -> (Vec<Key>, FileStats) {
        let fmt = FileFormat::simple(Format::Sql);
        let (keys, whole) = run(Kind::Email, Format::Sql, data);
        let Mode::Sql(first) = Start::whole(data, &fmt).mode else { panic!("no SQL mode") };
        let mut l = first.clone();
        let mut cuts = Vec::new();
        for (i, &b) in data.iter().enumerate() {
            l.feed(b, &mut NoSqlEvents);
            if l.cut_after(b) && i + 1 < data.len() {
                cuts.push((i + 1, l.clone()));
            }
        }
        for (cut, state) in cuts {
            let mut got = Vec::new();
            let mut stats = FileStats::default();
            let head = Start { mode: Mode::Sql(first.clone()), last: false };
            parse_chunk_at(Kind::Email, &fmt, &head, &data[..cut], 1, &mut got, &mut stats);
            let line = 1 + memchr::memchr_iter(b'\n', &data[..cut]).count() as u64;
            let tail = Start { mode: Mode::Sql(state), last: true };
            parse_chunk_at(Kind::Email, &fmt, &tail, &data[cut..], line, &mut got, &mut stats);
            assert_eq!(keys_of(&got), keys_of(&keys), "cut at {cut}");
            assert_eq!(stats, whole, "{:?} cut at {cut}", String::from_utf8_lossy(data));
        }
        (keys_of(&keys), whole)
    }

    struct NoSqlEvents;
    impl sql::Events for NoSqlEvents {
        fn string_byte(&mut self, _: u8) {}
        fn string_end(&mut self) {}
        fn tuple_end(&mut self) {}
    }

    #[test]
    fn pg_dump_copy_blocks_give_their_rows_and_count_rows_without_an_address() {
        let data = b"--\n-- PostgreSQL database dump\n--\nSET standard_conforming_strings = on;\n\
CREATE TABLE public.users (id integer, email text, name text);\n\
COPY public.users (id, email, name) FROM stdin;\n\
1\talice@example.com\tAlice\n\
2\tb\\x6fb@example.org\tBob\\tthe \\\\ builder\n\
3\t\\N\tNobody\n\
4\tcarol@example.net\tline1\\nline2\n\
\\.\n\
COPY public.orders (id, contact) FROM stdin;\n\
1\tRen\xc3\xa9 <rene@example.fr>, dan@example.com\n\
2\tno contact\n\
\\.\n\
INSERT INTO public.users VALUES (5, 'eve@example.com', 'x');\n";
        let (keys, stats) = sql_cut_everywhere(data);
        let want = [
            "alice@example.com",
            "bob@example.org",
            "carol@example.net",
            "rene@example.fr",
            "dan@example.com",
            "eve@example.com",
        ];
        assert_eq!(keys, want.map(ek));
        // 16 lines; row 3 of users (line 9) and row 2 of orders (line 14) hold no address.
        assert_eq!((stats.lines, stats.records, stats.rejected()), (16, 6, 2));
        assert_eq!(stats.rejects["COPY row without an address"].examples, [(9, String::new()), (14, String::new())]);
        // Without the header and SET line, the COPY block alone still makes it PostgreSQL.
        let data = b"COPY users (email) FROM stdin;\nzoe@example.com\n\\.\n";
        let (keys, stats) = sql_cut_everywhere(data);
        assert_eq!(keys, [ek("zoe@example.com")]);
        assert_eq!((stats.lines, stats.rejected()), (3, 0));
    }

    #[test]
    fn postgres_string_ending_in_backslash_keeps_every_later_address() {
        for header in [
            "-- PostgreSQL database dump\n",
            "SET standard_conforming_strings = on;\n",
            "-- Dumped by pg_dump version 16.2\n",
        ] {
            let data = format!(
                "{header}INSERT INTO public.paths VALUES (1, 'C:\\', 'a@example.com');\n\
INSERT INTO public.paths VALUES (2, 'D:\\dir\\', 'b@example.com'), (3, E'it\\'s', 'c@example.com'), (4, '\\', 'd@example.com');\n"
            );
            let (keys, stats) = sql_cut_everywhere(data.as_bytes());
            assert_eq!(keys, ["a@example.com", "b@example.com", "c@example.com", "d@example.com"].map(ek), "{header}");
            assert_eq!((stats.lines, stats.rejected()), (3, 0), "{header}");
        }
    }

    #[test]
    fn mysql_dump_keeps_backslash_escapes() {
        let data = b"-- MySQL dump 10.13\nINSERT INTO `u` (`id`,`email`,`path`) VALUES (1,'o\\'neil@example.com','C:\\\\'),(2,'z@example.com','it\\'s');\n";
        let (keys, stats) = sql_cut_everywhere(data);
        assert_eq!(keys, [ek("o'neil@example.com"), ek("z@example.com")]);
        assert_eq!((stats.lines, stats.rejected()), (2, 0));
    }

    #[test]
    fn mixed_escape_dialects_count_the_rows_they_lose() {
        const BARE: &str =
            "address-like text outside SQL quotes (quotes out of step: mixed escape dialects or a broken dump)";
        const LOST: &str = "SQL rows lost to a string that never closed (mixed escape dialects or a broken dump)";
        // No marker (MySQL rules) and a PostgreSQL string ending in a backslash.
        let data = b"INSERT INTO t VALUES (1,'C:\\','a@example.com'),(2,'x','b@example.com');\nINSERT INTO t VALUES (3,'c@example.com');\n";
        let (keys, stats) = sql_cut_everywhere(data);
        assert_eq!(keys, [ek("c@example.com")]);
        assert_eq!((stats.rejects[BARE].count, stats.rejects[LOST].count), (2, 1));
        // A pg_dump header and a MySQL `\'`.
        let data = b"-- PostgreSQL database dump\nINSERT INTO t VALUES (1,'o\\'neil@example.com'),(2,'b@example.com');\nINSERT INTO t VALUES (3,'c@example.com');\n";
        let (keys, stats) = sql_cut_everywhere(data);
        assert_eq!(keys, [ek("c@example.com")]);
        assert_eq!((stats.rejects[BARE].count, stats.rejects[LOST].count), (2, 1));
        // A quote never closed at the end of the file.
        let (keys, stats) = sql_cut_everywhere(b"INSERT INTO t VALUES (1,'a@example.com'),(2,'b@example.com");
        assert_eq!(keys, [ek("a@example.com")]);
        assert_eq!((stats.lines, stats.rejects[LOST].count), (1, 1));
    }

    #[test]
    fn one_line_insert_cut_into_chunks_is_one_line_without_rejects() {
        let mut data = b"INSERT INTO `u` VALUES ".to_vec();
        for i in 0..300 {
            data.extend_from_slice(format!("({i},'user{i}@example.com','pw,({i})'),").as_bytes());
        }
        data.extend_from_slice(b"(300,'last@example.com','x');");
        let (keys, stats) = sql_cut_everywhere(&data);
        assert_eq!(keys.len(), 301);
        assert_eq!((stats.lines, stats.records, stats.rejected()), (1, 301, 0));
    }

    #[test]
    fn mbox_from_separator_lines_are_skipped_not_counted_as_records() {
        let data = b"From alice@example.com Mon Jan  1 00:00:00 2024\n\
From: Alice <alice@example.com>\n\
To: bob@example.org\n\
\n\
Write to carol@example.net.\n\
>From dave@example.com Mon Jan  1 00:00:00 2024\n\
\n\
From bob@example.org Tue Jan  2 10:00:00 2024\r\n\
From: bob@example.org\r\n";
        let (keys, stats) = run(Kind::Email, Format::Text, data);
        let want = ["alice@example.com", "bob@example.org", "carol@example.net", "dave@example.com", "bob@example.org"];
        assert_eq!(keys_of(&keys), want.map(ek));
        assert_eq!((stats.lines, stats.records, stats.rejected()), (9, 5, 2));
        assert_eq!(stats.skipped[MBOX_SEPARATOR], 2);
        // Not an mbox (the first line is prose): the same line is an occurrence like any other.
        let (keys, stats) = run(Kind::Email, Format::Text, b"Log\nFrom erin@example.com Mon Jan  1 00:00:00 2024\n");
        assert_eq!(keys_of(&keys), [ek("erin@example.com")]);
        assert!(stats.skipped.is_empty());
    }

    #[test]
    fn random_sql_and_json_parse_alike_whole_and_cut_at_every_boundary() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let sql_bits: [&[u8]; 18] = [
            b"$$",
            b"$a$",
            b"INSERT INTO t VALUES ",
            b"(",
            b")",
            b",",
            b"'",
            b"\\",
            b"a@example.com",
            b";",
            b"\n",
            b"--",
            b"COPY t FROM stdin;",
            b"\t",
            b"\\.",
            b"E'",
            b"\"",
            b"x",
        ];
        let json_bits: [&[u8]; 12] =
            [b"[", b"]", b"{", b"}", b"\"", b"\\", b":", b",", b"\n", b"b@example.org", b"12", b"\"k\": "];
        for round in 0..400 {
            let (bits, format): (&[&[u8]], _) =
                if round % 2 == 0 { (&sql_bits, Format::Sql) } else { (&json_bits, Format::Json) };
            let mut data = Vec::new();
            if format == Format::Json {
                data.extend_from_slice(b"[\n");
            }
            for _ in 0..rng.gen_range(0..60) {
                data.extend_from_slice(bits[rng.gen_range(0..bits.len())]);
            }
            if format == Format::Sql {
                let (keys, stats) = sql_cut_everywhere(&data);
                assert!(stats.lines <= data.len() as u64 + 1 && keys.len() as u64 == stats.records);
            } else {
                // Whole, and in two chunks at each scanner boundary.
                let fmt = FileFormat::simple(Format::Json);
                let (keys, whole) = run(Kind::Email, Format::Json, &data);
                let Mode::JsonDoc(first) = Start::whole(&data, &fmt).mode else { continue };
                let mut s = first.clone();
                for cut in 1..data.len() {
                    s.feed(data[cut - 1], &mut json::NoEvents);
                    if !s.at_boundary() {
                        continue;
                    }
                    let mut got = Vec::new();
                    let mut stats = FileStats::default();
                    let head = Start { mode: Mode::JsonDoc(first.clone()), last: false };
                    parse_chunk_at(Kind::Email, &fmt, &head, &data[..cut], 1, &mut got, &mut stats);
                    let line = 1 + memchr::memchr_iter(b'\n', &data[..cut]).count() as u64;
                    let tail = Start { mode: Mode::JsonDoc(s.clone()), last: true };
                    parse_chunk_at(Kind::Email, &fmt, &tail, &data[cut..], line, &mut got, &mut stats);
                    assert_eq!(keys_of(&got), keys_of(&keys), "{:?} cut at {cut}", String::from_utf8_lossy(&data));
                    assert_eq!(stats, whole, "{:?} cut at {cut}", String::from_utf8_lossy(&data));
                }
            }
        }
    }
}
