//! Reading leak corpora: decompression and encoding, format detection, framing the stream into
//! chunks of whole records, and the per-format parsers.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::format::Kind;

pub mod json;
mod parse;
pub mod sql;
pub mod stream;
pub mod text;

pub use parse::{parse_chunk, parse_chunk_at, FileStats, Reject, Sink, MBOX_SEPARATOR};
pub use stream::{initial_mode, Mode, Start};

/// Longest line (or CSV record, or SQL string literal) kept, in bytes. Longer ones are skipped
/// and counted, so that a junk line cannot make memory grow.
pub const MAX_RECORD: usize = 64 * 1024;
/// Size of the chunks handed to the parsing threads.
pub const CHUNK: usize = 1 << 20;
/// How much of a file format detection looks at.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// A corpus format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// `email` + separator + password lines.
    Combo,
    /// CSV or TSV with a header row.
    Csv,
    /// JSON: JSON lines, or one JSON document (a top-level array or object holding arrays).
    Json,
    /// SQL dump (`INSERT ... VALUES`, PostgreSQL `COPY ... FROM stdin`).
    Sql,
    /// One address (or password) per line.
    Plain,
    /// Free text: addresses extracted strictly.
    Text,
    /// Pwned Passwords style `SHA1[:count]` lines.
    Hashes,
}

impl Format {
    /// Every format, for help texts.
    pub const ALL: [Format; 7] =
        [Format::Combo, Format::Csv, Format::Json, Format::Sql, Format::Plain, Format::Text, Format::Hashes];

    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Combo => "combo",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Sql => "sql",
            Format::Plain => "plain",
            Format::Text => "text",
            Format::Hashes => "hashes",
        }
    }

    /// The format with this name.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether this format can feed an index of `kind`.
    pub fn supports(self, kind: Kind) -> bool {
        match kind {
            Kind::Email => true,
            Kind::Password | Kind::Ntlm => matches!(self, Format::Combo | Format::Csv | Format::Plain | Format::Hashes),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format resolved for one file: CSV also carries its delimiter and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFormat {
    /// The format.
    pub format: Format,
    /// CSV delimiter.
    pub delimiter: u8,
    /// CSV column index holding the identifier.
    pub column: usize,
    /// CSV column name, for messages.
    pub column_name: String,
}

impl FileFormat {
    /// A format that needs no CSV details.
    pub fn simple(format: Format) -> FileFormat {
        FileFormat { format, delimiter: b',', column: 0, column_name: String::new() }
    }
}

/// The compression of a file, found from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed.
    None,
    /// gzip, every member read.
    Gzip,
    /// Zstandard.
    Zstd,
    /// bzip2, every stream read.
    Bzip2,
}

impl Compression {
    /// Detects compression from the first bytes of a file.
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else if head.len() >= 4 && head.starts_with(b"BZh") && (b'1'..=b'9').contains(&head[3]) {
            Compression::Bzip2
        } else {
            Compression::None
        }
    }
    /// Name, for reports.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
        }
    }
}

/// Counts the bytes read through it (compressed bytes, for progress).
pub struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens a raw byte stream as text bytes: decompresses what is compressed (by content, not by
/// name), then turns UTF-16 with a BOM into UTF-8 and drops a UTF-8 BOM. Other bytes pass
/// through unchanged; the parsers decode each line (UTF-8, else windows-1252).
pub fn decode_stream<'a, R: Read + 'a>(raw: R, count: Arc<AtomicU64>) -> io::Result<(Box<dyn Read + 'a>, Compression)> {
    let mut buffered = BufReader::with_capacity(256 * 1024, Counting { inner: raw, count });
    let head = buffered.fill_buf()?;
    let compression = Compression::sniff(head);
    let decompressed: Box<dyn Read + 'a> = match compression {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
        Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(buffered)),
    };
    let text = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .bom_sniffing(true)
        .strip_bom(true)
        .utf8_passthru(true)
        .build(decompressed);
    Ok((Box::new(text), compression))
}

/// Whether decompressed bytes start a tar archive (POSIX `ustar` magic at offset 257).
pub fn is_tar(head: &[u8]) -> bool {
    head.get(257..262) == Some(b"ustar")
}

/// The column names that hold addresses (for email indexes) or passwords, lowercase.
fn default_columns(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Email => &[
            "email",
            "e-mail",
            "e_mail",
            "email_address",
            "emailaddress",
            "email address",
            "mail",
            "user_email",
            "useremail",
            "login_email",
            "address",
        ],
        Kind::Password | Kind::Ntlm => {
            &["password", "pass", "passwd", "pwd", "plaintext", "plain_password", "password_plain"]
        }
    }
}

/// Why a file's format could not be settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError(pub String);

/// Settles the format of a file from its first bytes (`head`, already decompressed and
/// decoded), its name, the format asked for (`forced`) and the CSV column asked for.
///
/// Returns the format and, for CSV, the byte length of the header record to skip.
pub fn detect(
    head: &[u8],
    name: &str,
    kind: Kind,
    forced: Option<Format>,
    column: Option<&str>,
) -> Result<(FileFormat, usize), FormatError> {
    if let Some(f) = forced {
        if !f.supports(kind) {
            return Err(FormatError(format!("format {f} cannot feed a {kind} index")));
        }
        if f != Format::Csv {
            return Ok((FileFormat::simple(f), 0));
        }
    }
    let lower_name = name.to_ascii_lowercase();
    let looks_tabular = [".csv", ".tsv"].iter().any(|e| lower_name.contains(e));
    if forced == Some(Format::Csv) || column.is_some() || forced.is_none() {
        match csv_header(head, kind, column) {
            Ok(found) => return Ok(found),
            Err(e) if forced == Some(Format::Csv) || column.is_some() || looks_tabular => return Err(e),
            Err(_) => {}
        }
    }
    let lines: Vec<&[u8]> = head
        .split(|&b| b == b'\n')
        .take(200)
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .collect();
    // Drop the last line, which may be cut short by the sniff window.
    let lines = if head.len() >= SNIFF_BYTES && lines.len() > 1 { &lines[..lines.len() - 1] } else { &lines[..] };
    let n = lines.len().max(1);
    let hashes = lines.iter().filter(|l| parse::hash_line(l, kind.hex_len()).is_some()).count();
    if hashes * 10 >= n * 8 && !lines.is_empty() {
        return Ok((FileFormat::simple(Format::Hashes), 0));
    }
    if kind == Kind::Email && json_document(head) {
        return Ok((FileFormat::simple(Format::Json), 0));
    }
    let head_text = String::from_utf8_lossy(head).to_ascii_lowercase();
    if kind == Kind::Email && (looks_like_sql(&head_text) || lower_name.contains(".sql")) {
        return Ok((FileFormat::simple(Format::Sql), 0));
    }
    if kind == Kind::Email {
        let json = lines
            .iter()
            .filter(|l| l.first() == Some(&b'{') && serde_json::from_slice::<serde_json::Value>(l).is_ok())
            .count();
        if json * 2 >= n && json > 0 {
            return Ok((FileFormat::simple(Format::Json), 0));
        }
    }
    let mut combo = 0;
    let mut plain = 0;
    for l in lines {
        let s = String::from_utf8_lossy(l);
        let t = s.trim();
        match kind {
            Kind::Email => {
                if crate::normalize_email(t).is_ok() && !t.bytes().any(|b| text::COMBO_SEPARATORS.contains(&b)) {
                    plain += 1;
                } else if text::split_combo(t)
                    .is_some_and(|c| c.password.is_some() && crate::normalize_email(c.address).is_ok())
                {
                    combo += 1;
                }
            }
            Kind::Password | Kind::Ntlm => {
                if text::split_combo(t).is_some_and(|c| c.password.is_some() && c.address.contains('@')) {
                    combo += 1;
                }
            }
        }
    }
    let format = match kind {
        Kind::Email if plain * 2 >= n && plain > 0 => Format::Plain,
        Kind::Email if combo * 2 >= n && combo > 0 => Format::Combo,
        Kind::Email => Format::Text,
        Kind::Password | Kind::Ntlm if combo * 2 >= n && combo > 0 => Format::Combo,
        Kind::Password | Kind::Ntlm => Format::Plain,
    };
    Ok((FileFormat::simple(format), 0))
}

/// Whether `head` starts a JSON document (a pretty-printed array, an object holding arrays,
/// or a minified document longer than the sniff window) that reads without an error.
fn json_document(head: &[u8]) -> bool {
    json::document_kind(head).is_some() && json::head_is_valid(head)
}

/// Whether lowercased text looks like a SQL dump: `INSERT INTO`, or a PostgreSQL
/// `COPY ... FROM stdin;` block, at the start of a line.
fn looks_like_sql(lower: &str) -> bool {
    lower.contains("insert into")
        || lower.lines().any(|l| l.starts_with("copy ") && l.trim_end().ends_with("from stdin;"))
}

/// Reads a CSV header from `head` and finds the identifier column.
fn csv_header(head: &[u8], kind: Kind, column: Option<&str>) -> Result<(FileFormat, usize), FormatError> {
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or(b"");
    let delimiter = *[b',', b'\t', b';', b'|']
        .iter()
        .max_by_key(|d| first_line.iter().filter(|b| b == d).count())
        .expect("non-empty list");
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).delimiter(delimiter).flexible(true).from_reader(head);
    let mut rec = csv::ByteRecord::new();
    if !rdr.read_byte_record(&mut rec).map_err(|e| FormatError(format!("CSV header: {e}")))? {
        return Err(FormatError("empty file: no CSV header".into()));
    }
    let header_len = rdr.position().byte() as usize;
    let names: Vec<String> = rec.iter().map(|f| String::from_utf8_lossy(f).trim().to_string()).collect();
    let found = match column {
        Some(want) => names.iter().position(|n| n.eq_ignore_ascii_case(want.trim())),
        None => default_columns(kind).iter().find_map(|want| names.iter().position(|n| n.eq_ignore_ascii_case(want))),
    };
    match found {
        Some(i) => {
            Ok((FileFormat { format: Format::Csv, delimiter, column: i, column_name: names[i].clone() }, header_len))
        }
        None => {
            let shown: Vec<&str> = names.iter().take(20).map(String::as_str).collect();
            let what = match column {
                Some(c) => format!("no column named {c:?}"),
                None => format!("no {kind} column (looked for {})", default_columns(kind).join(", ")),
            };
            Err(FormatError(format!("{what} in the CSV header (columns: {}); name it with --column", shown.join(", "))))
        }
    }
}

/// The name a path gives its source: the file or directory name without its extensions
/// (`forum-2020.sql.gz` → `forum-2020`).
pub fn source_name(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "stdin".into());
    if path.is_dir() {
        return name;
    }
    let trimmed = name.trim_start_matches('.');
    match trimmed.find('.') {
        Some(0) | None => trimmed.to_string(),
        Some(p) => trimmed[..p].to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt_of(head: &str, name: &str, kind: Kind) -> Format {
        detect(head.as_bytes(), name, kind, None, None).unwrap().0.format
    }

    #[test]
    fn detects_each_format_from_content() {
        assert_eq!(fmt_of("a@example.com:pw\nb@example.com;x\n", "x", Kind::Email), Format::Combo);
        assert_eq!(fmt_of("id,Email,pw\n1,a@example.com,x\n", "x", Kind::Email), Format::Csv);
        assert_eq!(fmt_of("{\"u\":{\"mail\":\"a@example.com\"}}\n", "x", Kind::Email), Format::Json);
        assert_eq!(
            fmt_of("CREATE TABLE u (e text);\nINSERT INTO u VALUES ('a@example.com');\n", "x", Kind::Email),
            Format::Sql
        );
        assert_eq!(fmt_of("a@example.com\nB@Example.com\n", "x", Kind::Email), Format::Plain);
        assert_eq!(fmt_of("Hello, write to a@example.com today.\nBye\n", "x", Kind::Email), Format::Text);
        assert_eq!(fmt_of("5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:3\n", "x", Kind::Password), Format::Hashes);
        assert_eq!(fmt_of("hunter2\npassword\n", "x", Kind::Password), Format::Plain);
    }

    #[test]
    fn pretty_printed_json_and_pg_copy_dumps_are_detected_and_explained() {
        let why = |head: &str| {
            let f = detect(head.as_bytes(), "x", Kind::Email, None, None).unwrap().0;
            (f.format, initial_mode(head.as_bytes(), &f).1.unwrap_or_default())
        };
        let array = "[\n  {\n    \"email\": \"ren\\u00e9@example.com\"\n  }\n]\n";
        assert_eq!(why(array), (Format::Json, "json document (top-level array)".into()));
        let object = "{\n  \"users\": [\"a@example.com\"]\n}";
        assert_eq!(why(object), (Format::Json, "json document (top-level object)".into()));
        assert_eq!(why("{\"e\":\"a@example.com\"}\n").1, "json lines (one value a line)");
        // Free text that merely starts with a bracket stays free text.
        assert_eq!(
            fmt_of("[2024-01-01 10:00] login a@example.com\n[x] b@example.com\n", "x", Kind::Email),
            Format::Text
        );
        assert_eq!(fmt_of("{INFO} mail from a@example.com\n", "x", Kind::Email), Format::Text);
        let pg = "--\n-- PostgreSQL database dump\n--\nCOPY public.u (id, email) FROM stdin;\n1\ta@example.com\n\\.\n";
        assert_eq!(
            why(pg),
            (Format::Sql, "PostgreSQL dialect: pg_dump header; COPY ... FROM stdin blocks (first 64 KiB: 1)".into())
        );
        assert_eq!(why("COPY u (email) FROM stdin;\na@example.com\n").0, Format::Sql);
        assert_eq!(why("INSERT INTO `u` VALUES ('a@example.com');\n").1, "MySQL dialect: backtick identifiers");
        let mbox = "From a@example.com Mon Jan  1 00:00:00 2024\nFrom: a@example.com\nSubject: hi\n\nbody\n";
        assert_eq!(why(mbox).0, Format::Text);
        assert!(why(mbox).1.starts_with("free text, mbox"), "{}", why(mbox).1);
    }

    #[test]
    fn csv_column_by_name_and_header_length() {
        let (f, skip) = detect(b"id\tName\tE-Mail\n1\tx\ta@example.com\n", "x.tsv", Kind::Email, None, None).unwrap();
        assert_eq!((f.format, f.delimiter, f.column, skip), (Format::Csv, b'\t', 2, 15));
        let err = detect(b"id,who\n1,x\n", "x.csv", Kind::Email, None, Some("mail")).unwrap_err();
        assert!(err.0.contains("no column named \"mail\"") && err.0.contains("id, who"), "{}", err.0);
    }

    #[test]
    fn source_names_drop_every_extension() {
        assert_eq!(source_name(Path::new("/x/forum-2020.sql.gz")), "forum-2020");
        assert_eq!(source_name(Path::new("shop.csv")), "shop");
        assert_eq!(source_name(Path::new("noext")), "noext");
    }
}
