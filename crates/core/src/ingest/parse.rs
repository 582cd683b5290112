//! The per-format parsers. Each takes a chunk of whole records and hands keys to a [`Sink`],
//! counting every line it reads and every line it rejects, by reason.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::{sql, text, FileFormat, Format, MAX_RECORD};
use crate::format::Kind;
use crate::{normalize_email, Key};

/// Where parsed keys go.
pub trait Sink {
    /// A key and how many times it occurred.
    fn key(&mut self, key: Key, count: u64);
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

    /// Adds another part's figures; keeps the examples with the lowest line numbers.
    pub fn merge(&mut self, other: FileStats) {
        self.lines += other.lines;
        self.records += other.records;
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

/// Renders a rejected candidate without revealing it: an address-like string keeps its first
/// character and its domain (`j***@example.com`), anything else only its length.
pub fn redact(s: &str) -> String {
    let s = s.trim();
    match s.rfind('@') {
        Some(at) if at > 0 => {
            let domain: String = s[at + 1..].chars().take(64).collect();
            format!("***@{domain}")
        }
        _ => format!("<{} bytes>", s.len()),
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
    match &line[digits..] {
        [] => Some((key, 1)),
        [b':', digits @ ..] if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) => {
            std::str::from_utf8(digits).ok()?.parse().ok().map(|c| (key, c))
        }
        _ => None,
    }
}

/// Email keys found in a string: the whole string if it is an address, else the addresses
/// extracted from it as free text. Appends keys not yet in `out`.
fn email_candidates(s: &str, out: &mut Vec<Key>) {
    let mut push = |a: &str| {
        if let Ok(k) = crate::email_key(a) {
            if !out.contains(&k) {
                out.push(k);
            }
        }
    };
    if normalize_email(s).is_ok() {
        push(s);
    } else if s.contains('@') {
        text::extract(s, &mut push);
    }
}

/// Parses one chunk of whole records of a file in format `fmt`. `first_line` is the line
/// number of the chunk's first line (1-based).
pub fn parse_chunk(
    kind: Kind,
    fmt: &FileFormat,
    data: &[u8],
    first_line: u64,
    sink: &mut dyn Sink,
    stats: &mut FileStats,
) {
    match fmt.format {
        Format::Csv => return parse_csv(kind, fmt, data, first_line, sink, stats),
        Format::Sql => return parse_sql(data, first_line, sink, stats),
        Format::Stealer => return super::stealer::parse(kind, data, first_line, sink, stats),
        _ => {}
    }
    let mut found: Vec<Key> = Vec::new();
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
        match kind {
            Kind::Email => {
                let bytes = strip_nul(raw);
                let line = decode(&bytes);
                found.clear();
                match email_line(fmt.format, &line, &mut found) {
                    Ok(()) => {
                        for k in &found {
                            sink.key(*k, 1);
                        }
                        stats.records += found.len() as u64;
                    }
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

fn email_line(format: Format, line: &str, found: &mut Vec<Key>) -> LineResult<()> {
    match format {
        Format::Plain => {
            let t = line.trim();
            let k = crate::email_key(t).map_err(|e| (e.as_str(), redact(t)))?;
            found.push(k);
        }
        Format::Combo => {
            let c = text::split_combo(line).ok_or_else(|| ("no address", redact(line)))?;
            let k = crate::email_key(c.address).map_err(|e| (e.as_str(), redact(c.address)))?;
            found.push(k);
        }
        Format::Hashes => {
            let (k, _) = hash_line(line.as_bytes(), 40).ok_or_else(|| ("not a SHA1[:count] line", redact(line)))?;
            found.push(k);
        }
        Format::Json => {
            let v: serde_json::Value = serde_json::from_str(line).map_err(|_| ("invalid JSON", redact(line)))?;
            json_strings(&v, found);
            if found.is_empty() {
                return Err(("no address in JSON record", String::new()));
            }
        }
        Format::Text => {
            if line.contains('@') {
                text::extract(line, &mut |cand| {
                    if let Ok(k) = crate::email_key(cand) {
                        if !found.contains(&k) {
                            found.push(k);
                        }
                    }
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

/// Every string value of a JSON document, nested objects and arrays included (keys are not
/// values). serde_json limits nesting depth, so hostile documents fail to parse instead.
fn json_strings(v: &serde_json::Value, found: &mut Vec<Key>) {
    match v {
        serde_json::Value::String(s) => email_candidates(s, found),
        serde_json::Value::Array(a) => a.iter().for_each(|x| json_strings(x, found)),
        serde_json::Value::Object(o) => o.values().for_each(|x| json_strings(x, found)),
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
    let mut found: Vec<Key> = Vec::new();
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
    found: &mut Vec<Key>,
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
            if let Ok(k) = crate::email_key(a) {
                if !found.contains(&k) {
                    found.push(k);
                }
            }
        });
        if let Err((reason, piece)) = result {
            stats.reject(reason, line, || redact(piece));
        }
    }
    for k in found.iter() {
        sink.key(*k, 1);
    }
    stats.records += found.len() as u64;
    if missing {
        stats.reject("record has no such column", line, String::new);
    } else if !any_cell {
        stats.reject("empty address field", line, String::new);
    }
}

/// Collects string literals and tuple boundaries of a SQL chunk.
struct SqlCollector<'a> {
    cur: Vec<u8>,
    overlong: bool,
    tuple: Vec<Key>,
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
    }
    fn tuple_end(&mut self) {
        if self.tuple.is_empty() {
            self.stats.reject("SQL tuple without an address", self.line, String::new);
        }
        self.flush();
    }
}

impl SqlCollector<'_> {
    fn flush(&mut self) {
        for k in self.tuple.drain(..) {
            self.sink.key(k, 1);
            self.stats.records += 1;
        }
    }
}

fn parse_sql(data: &[u8], first_line: u64, sink: &mut dyn Sink, stats: &mut FileStats) {
    let newlines = memchr::memchr_iter(b'\n', data).count() as u64;
    let lines = newlines + u64::from(!data.is_empty() && !data.ends_with(b"\n"));
    let mut lexer = sql::Lexer::default();
    let mut c = SqlCollector { cur: Vec::new(), overlong: false, tuple: Vec::new(), sink, stats, line: first_line };
    for &b in data {
        lexer.feed(b, &mut c);
        if b == b'\n' {
            c.line += 1;
        }
    }
    lexer.finish(&mut c);
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
    fn sql_tuples_give_their_addresses() {
        let data = b"INSERT INTO `u` VALUES (1,'o\\'neil@example.com','pw'),(2,'it''s','x');\nINSERT INTO u VALUES (3,'c@example.net');\n";
        let (keys, stats) = run(Kind::Email, Format::Sql, data);
        assert_eq!(keys, [(ek("o'neil@example.com"), 1), (ek("c@example.net"), 1)]);
        assert_eq!(stats.rejects["SQL tuple without an address"].count, 1);
        assert_eq!(stats.lines, 2);
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
}
