//! Reading leak corpora: decompression and encoding, format detection, framing the stream into
//! chunks of whole records, and the per-format parsers.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::format::Kind;

pub mod combo;
pub mod container;
pub mod csvfmt;
mod frame;
pub mod hashdump;
pub mod input;
pub mod json;
mod parse;
pub(crate) mod readers;
pub mod sql;
pub mod stealer;
pub mod stream;
pub mod text;

pub use csvfmt::{choose_columns, ColumnChoice};
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
    /// Stealer logs: multi-line `URL:` / `Username:` / `Password:` blocks.
    Stealer,
}

impl Format {
    /// Every format, for help texts.
    pub const ALL: [Format; 8] = [
        Format::Combo,
        Format::Csv,
        Format::Json,
        Format::Sql,
        Format::Plain,
        Format::Text,
        Format::Hashes,
        Format::Stealer,
    ];

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
            Format::Stealer => "stealer",
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
            Kind::Password | Kind::Ntlm => {
                matches!(self, Format::Combo | Format::Csv | Format::Plain | Format::Hashes | Format::Stealer)
            }
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format resolved for one file: CSV also carries its delimiter and columns, a login
/// combolist its separator, and every detected format the reason it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFormat {
    /// The format.
    pub format: Format,
    /// CSV delimiter; for a login combolist the separator detection found (0: none found).
    pub delimiter: u8,
    /// CSV column indexes holding the identifiers, the main one first.
    pub columns: Vec<usize>,
    /// CSV column names, for messages.
    pub column_names: Vec<String>,
    /// How the format was settled and why (`csv, column "Email" by header and content,
    /// delimiter ';'`), for the build summary; empty when nothing was detected.
    pub detection: String,
    /// Whether free text is also read for obfuscated addresses (`taro [at] example.jp`, see
    /// [`text::extract_obfuscated`]); on by default (`BuildOptions::deobfuscate`).
    pub deobfuscate: bool,
}

impl FileFormat {
    /// A format that needs no CSV details.
    pub fn simple(format: Format) -> FileFormat {
        FileFormat {
            format,
            delimiter: b',',
            columns: vec![0],
            column_names: Vec::new(),
            detection: String::new(),
            deobfuscate: true,
        }
    }

    /// The same format with its detection reason.
    pub fn with_detection(mut self, detection: impl Into<String>) -> FileFormat {
        self.detection = detection.into();
        self
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
    decode_stream_detected(raw, count).map(|(r, c, _)| (r, c))
}

/// [`decode_stream`], also returning the encoding the text was decoded from when it was not
/// UTF-8 (nor UTF-8 with windows-1252 lines, which the parsers decode line by line): UTF-16
/// without a BOM, or a legacy encoding detected from the first bytes (Shift_JIS/CP932,
/// EUC-JP, ISO-2022-JP, GBK, Big5, EUC-KR, the windows-125x family other than 1252; by
/// `chardetng`). A BOM wins over detection.
#[allow(clippy::type_complexity)]
pub fn decode_stream_detected<'a, R: Read + 'a>(
    raw: R,
    count: Arc<AtomicU64>,
) -> io::Result<(Box<dyn Read + 'a>, Compression, Option<&'static encoding_rs::Encoding>)> {
    let (decompressed, compression) = decompress(raw, count)?;
    let (text, detected) = decode_text_stream(decompressed)?;
    Ok((text, compression, detected))
}

/// Decompresses a stream (gzip, zstd, bzip2, by content); the bytes as they are otherwise.
/// Containers and documents are recognized on these bytes, before any text decoding.
pub(crate) fn decompress<'a, R: Read + 'a>(
    raw: R,
    count: Arc<AtomicU64>,
) -> io::Result<(Box<dyn Read + 'a>, Compression)> {
    let mut buffered = BufReader::with_capacity(256 * 1024, Counting { inner: raw, count });
    let head = buffered.fill_buf()?;
    let compression = Compression::sniff(head);
    let decompressed: Box<dyn Read + 'a> = match compression {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
        Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(buffered)),
    };
    Ok((decompressed, compression))
}

/// Decodes decompressed text to UTF-8: BOMs, UTF-16 without a BOM, a legacy encoding
/// detected from the first bytes (see [`decode_stream_detected`]).
#[allow(clippy::type_complexity)]
pub(crate) fn decode_text_stream<'a>(
    decompressed: Box<dyn Read + 'a>,
) -> io::Result<(Box<dyn Read + 'a>, Option<&'static encoding_rs::Encoding>)> {
    let mut decompressed = BufReader::with_capacity(64 * 1024, decompressed);
    let head = decompressed.fill_buf()?;
    let detected = utf16_without_bom(head).or_else(|| legacy_encoding(head));
    let text = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .encoding(detected)
        .bom_sniffing(true)
        .strip_bom(true)
        .utf8_passthru(true)
        .build(decompressed);
    Ok((Box::new(text), detected))
}

/// The legacy encoding of text that is not UTF-8, when it is not windows-1252 (which the
/// parsers already read line by line, beside UTF-8 lines). Mostly-UTF-8 text with a few bad
/// bytes stays UTF-8. ISO-2022-JP is 7-bit, so it is recognised by its escape sequences.
fn legacy_encoding(head: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    if has_bom(head) {
        return None;
    }
    let iso_2022_jp = [&b"\x1b$B"[..], b"\x1b$@", b"\x1b(J"];
    if iso_2022_jp.iter().any(|esc| memchr::memmem::find(head, esc).is_some()) {
        return Some(encoding_rs::ISO_2022_JP);
    }
    // Valid UTF-8, or UTF-8 whose last character is cut by the end of the window: no legacy
    // encoding.
    std::str::from_utf8(head).err()?.error_len()?;
    let (mut valid, mut invalid) = (0usize, 0usize);
    for chunk in head.utf8_chunks() {
        valid += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        invalid += usize::from(!chunk.invalid().is_empty());
    }
    if invalid == 0 || invalid * 2 <= valid {
        return None;
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Allow);
    detector.feed(head, false);
    let guess = detector.guess(None, chardetng::Utf8Detection::Deny);
    (guess != encoding_rs::WINDOWS_1252).then_some(guess)
}

/// Whether `head` starts with a UTF-8 or UTF-16 byte order mark (which wins over detection).
fn has_bom(head: &[u8]) -> bool {
    head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) || head.starts_with(&[0xEF, 0xBB, 0xBF])
}

/// UTF-16 without a byte order mark (Windows tools write it, `iconv -t UTF-16LE` too): text
/// whose first bytes have NULs in nearly every odd (little-endian) or even (big-endian)
/// position and almost none in the others. Binary data, tar headers and UTF-8 have NULs in
/// both or neither.
fn utf16_without_bom(head: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    if has_bom(head) {
        return None;
    }
    let n = head.len().min(4096) & !1;
    if n < 8 {
        return None;
    }
    let pairs = n / 2;
    let even = head[..n].iter().step_by(2).filter(|&&b| b == 0).count();
    let odd = head[1..n].iter().step_by(2).filter(|&&b| b == 0).count();
    let (mostly, rarely) = (pairs * 3 / 10, pairs / 20);
    if odd >= mostly && even <= rarely {
        Some(encoding_rs::UTF_16LE)
    } else if even >= mostly && odd <= rarely {
        Some(encoding_rs::UTF_16BE)
    } else {
        None
    }
}

/// Decodes one line or field of text as every reader does, corpora and staff lists alike: UTF-8
/// if it is valid UTF-8, else windows-1252 (after [`decode_stream`] has handled BOMs and UTF-16).
pub fn decode_text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    parse::decode(bytes)
}

/// Whether decompressed bytes start a tar archive (POSIX `ustar` magic at offset 257).
pub fn is_tar(head: &[u8]) -> bool {
    head.get(257..262) == Some(b"ustar")
}

/// Why a file's format could not be settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError(pub String);

/// Settles the format of a file from its first bytes (`head`, already decompressed and
/// decoded), its name, the format asked for (`forced`) and the CSV columns asked for
/// (`columns`, empty for none: then found by name and content). The returned format says in
/// [`FileFormat::detection`] how and why it was chosen.
///
/// Returns the format and, for CSV, the byte length of the lines to skip (an Excel `sep=`
/// line and the header record).
pub fn detect(
    head: &[u8],
    name: &str,
    kind: Kind,
    forced: Option<Format>,
    columns: &[String],
) -> Result<(FileFormat, usize), FormatError> {
    if let Some(f) = forced {
        if !f.supports(kind) {
            return Err(FormatError(format!("format {f} cannot feed a {kind} index")));
        }
        if f != Format::Csv {
            let mut ff = FileFormat::simple(f).with_detection(format!("{f} (as asked with --format)"));
            if f == Format::Combo && kind != Kind::Email {
                ff.delimiter = combo::sniff(&sample_lines(head), kind).delimiter;
            }
            return Ok((ff, 0));
        }
    }
    if let Some((f, skip)) = csvfmt::sniff(head, name, kind, forced == Some(Format::Csv), columns)? {
        return Ok((f, skip));
    }
    let lines = sample_lines(head);
    let n = lines.len().max(1);
    let hashes = lines.iter().filter(|l| parse::hash_line(l, kind.hex_len()).is_some()).count();
    if hashes * 10 >= n * 8 && !lines.is_empty() {
        let why =
            format!("hashes, {}% of {} sampled lines are {} hashes", hashes * 100 / n, lines.len(), kind.hex_len());
        return Ok((FileFormat::simple(Format::Hashes).with_detection(why), 0));
    }
    if let Some(why) = stealer::sniff(&lines) {
        return Ok((FileFormat::simple(Format::Stealer).with_detection(why), 0));
    }
    if kind == Kind::Email && json_document(head) {
        return Ok((FileFormat::simple(Format::Json), 0));
    }
    let head_text = String::from_utf8_lossy(head).to_ascii_lowercase();
    if kind == Kind::Email && (looks_like_sql(&head_text) || name.to_ascii_lowercase().contains(".sql")) {
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
    let sniffed = combo::sniff(&lines, kind);
    let mut f = FileFormat::simple(sniffed.format).with_detection(sniffed.detection);
    f.delimiter = sniffed.delimiter;
    Ok((f, 0))
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

/// The first 200 non-blank lines of a sniff window, without their line ends; the last line is
/// dropped when the window is full (it may be cut short).
fn sample_lines(head: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = head
        .split(|&b| b == b'\n')
        .take(200)
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .collect();
    if head.len() >= SNIFF_BYTES && lines.len() > 1 {
        lines.pop();
    }
    lines
}

/// File name extensions dropped from a source name: compression, archive and corpus formats,
/// lowercase. Only these: other dots belong to the name (`acme.com.sql` → `acme.com`).
pub const NAME_EXTENSIONS: &[&str] = &[
    "gz", "gzip", "tgz", "zst", "zstd", "tzst", "bz2", "bzip2", "tbz", "tbz2", "tar", "sql", "dump", "csv", "tsv",
    "psv", "txt", "text", "json", "jsonl", "ndjson", "log", "lst", "list", "combo", "hash", "hashes", "mbox", "eml",
];

/// The name a path gives its source: the file or directory name without its known extensions
/// ([`NAME_EXTENSIONS`], dropped one after another from the end: `forum-2020.sql.gz` →
/// `forum-2020`, `2023.10.05-linkedin.txt` → `2023.10.05-linkedin`, `acme.com.sql` →
/// `acme.com`). Leading dots are dropped (`.hidden.csv` → `hidden`).
pub fn source_name(path: &Path) -> String {
    // `.`, `..` and `dir/..` have no file name of their own: the directory's real name.
    let real = if path.file_name().is_none() { std::fs::canonicalize(path).ok() } else { None };
    let path = real.as_deref().unwrap_or(path);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "stdin".into());
    if path.is_dir() {
        return name;
    }
    let mut trimmed = name.trim_start_matches('.');
    while let Some((stem, ext)) = trimmed.rsplit_once('.') {
        if stem.is_empty() || !NAME_EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext)) {
            break;
        }
        trimmed = stem;
    }
    trimmed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt_of(head: &str, name: &str, kind: Kind) -> Format {
        detect(head.as_bytes(), name, kind, None, &[]).unwrap().0.format
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

    fn detection(head: &str, name: &str, kind: Kind) -> FileFormat {
        detect(head.as_bytes(), name, kind, None, &[]).unwrap().0
    }

    #[test]
    fn wrong_format_guesses_of_issue_9_are_fixed() {
        // Login combolists for password indexes, with the separator they use.
        let f = detection("gamer01:hunter2\nbob:pw\n", "x", Kind::Password);
        assert_eq!((f.format, f.delimiter), (Format::Combo, b':'));
        assert!(f.detection.starts_with("combo (login:password"), "{}", f.detection);
        let f = detection("CORP\\jsmith;pw1\n+44 20 7946 0000;pw2\nuser.name;p;w\n", "x", Kind::Ntlm);
        assert_eq!((f.format, f.delimiter), (Format::Combo, b';'));
        // A list starting with "password" is a plain list.
        let f = detection("password\n123456\nqwerty\n", "x", Kind::Password);
        assert_eq!(f.format, Format::Plain);
        // Stealer logs.
        let f = detection("URL: https://a.example\nLogin: a@example.com\nPassword: x\n===\n", "x", Kind::Email);
        assert_eq!(f.format, Format::Stealer);
        // JSON and prose with commas are not CSV.
        let f = detection(
            "{\"id\":1,\"email\":\"a@example.com\"}\n{\"id\":2,\"email\":\"b@example.com\"}\n",
            "x",
            Kind::Email,
        );
        assert_eq!(f.format, Format::Json);
        let f = detection("Hello, write to a@example.com today.\nThanks, Bob\n", "x", Kind::Email);
        assert_eq!(f.format, Format::Text);
        // Headerless CSV is read as text, so its addresses are still found.
        let f = detection("1,a@example.com,x\n2,b@example.com,y\n", "x", Kind::Email);
        assert_eq!(f.format, Format::Text);
        // A windows-1252 header and values.
        let f =
            detect(b"Name;Prim\xe4re E-Mail-Adresse\nM\xfcller;m@example.de\n", "x", Kind::Email, None, &[]).unwrap().0;
        assert_eq!((f.format, f.columns), (Format::Csv, vec![1]));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(600))]
        /// Sniffing and parsing stealer logs, login combolists and CSV exports never panics,
        /// and every line is counted.
        #[test]
        fn new_formats_never_panic_and_count_every_line(
            parts in proptest::collection::vec(proptest::prop_oneof![
                proptest::strategy::Just("URL: https://a.example/".to_string()),
                proptest::strategy::Just("Username: ".to_string()),
                proptest::strategy::Just("PASS:".to_string()),
                proptest::strategy::Just("===".to_string()),
                proptest::strategy::Just("sep=;".to_string()),
                proptest::strategy::Just("E-mail Address".to_string()),
                proptest::strategy::Just("a@example.com".to_string()),
                proptest::strategy::Just("メール".to_string()),
                "[\\n\\r\"',;|:\\t@ =\\\\é]{1,3}",
                "[a-z0-9+]{1,6}",
            ], 0..40),
            kind in 0usize..3,
        ) {
            let data = parts.concat();
            let kind = [Kind::Email, Kind::Password, Kind::Ntlm][kind];
            let _ = detect(data.as_bytes(), "x.txt", kind, None, &["E-mail Address".to_string()]);
            let _ = detect(data.as_bytes(), "x.csv", kind, None, &[]);
            let _ = stealer::cut(data.as_bytes());
            for format in [Format::Stealer, Format::Combo, Format::Plain] {
                if !format.supports(kind) {
                    continue;
                }
                let fmt = detect(data.as_bytes(), "x", kind, Some(format), &[]).unwrap().0;
                let mut keys = Vec::new();
                let mut stats = FileStats::default();
                parse_chunk(kind, &fmt, data.as_bytes(), 1, &mut keys, &mut stats);
                let newlines = data.bytes().filter(|&b| b == b'\n').count() as u64;
                proptest::prop_assert!(stats.lines == newlines || stats.lines == newlines + 1);
            }
            if let Ok((fmt, _)) = detect(data.as_bytes(), "x", kind, Some(Format::Csv), &[]) {
                let mut keys = Vec::new();
                parse_chunk(kind, &fmt, data.as_bytes(), 1, &mut keys, &mut FileStats::default());
            }
        }
    }

    #[test]
    fn pretty_printed_json_and_pg_copy_dumps_are_detected_and_explained() {
        let why = |head: &str| {
            let f = detect(head.as_bytes(), "x", Kind::Email, None, &[]).unwrap().0;
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
        let (f, skip) = detect(b"id\tName\tE-Mail\n1\tx\ta@example.com\n", "x.tsv", Kind::Email, None, &[]).unwrap();
        assert_eq!((f.format, f.delimiter, f.columns, skip), (Format::Csv, b'\t', vec![2], 15));
        let err = detect(b"id,who\n1,x\n", "x.csv", Kind::Email, None, &["mail".to_string()]).unwrap_err();
        assert!(err.0.contains("(\"mail\")") && err.0.contains("\"id\", \"who\""), "{}", err.0);
    }

    #[test]
    fn source_names_drop_every_extension() {
        assert_eq!(source_name(Path::new("/x/forum-2020.sql.gz")), "forum-2020");
        assert_eq!(source_name(Path::new("shop.csv")), "shop");
        assert_eq!(source_name(Path::new("noext")), "noext");
    }

    #[test]
    fn source_names_keep_dots_that_are_not_known_extensions() {
        for (file, want) in [
            ("2023.10.05-linkedin.txt", "2023.10.05-linkedin"),
            ("acme.com.sql", "acme.com"),
            ("acme.org.sql.GZ", "acme.org"),
            ("dump.v2.tar.zst", "dump.v2"),
            ("users.2021.csv.bz2", "users.2021"),
            ("shop.tgz", "shop"),
            ("report.final.pdf", "report.final.pdf"),
            ("a..txt", "a."),
            (".hidden.csv", "hidden"),
            ("combo.txt.txt", "combo"),
            (".txt", "txt"),
        ] {
            assert_eq!(source_name(Path::new(file)), want, "{file}");
        }
    }
}
