//! JSON documents (a pretty-printed array, or an object holding arrays), read in chunks.
//!
//! A [`Scanner`] follows the document's structure byte by byte: strings and their escapes,
//! and the *spine*, the objects and the array that enclose the records. The records are the
//! elements of the arrays on the spine (`[{...}, {...}]`, `{"users": [{...}]}`); string
//! values met in the spine's objects (`{"admin": "a@example.com"}`) are read too. Each record
//! is then decoded whole by serde_json (real string decoding: `\u00e9`, `\u0040`, `\"`).
//!
//! The build's framer runs the same scanner and cuts the stream only between records
//! ([`Scanner::at_boundary`]); the chunk's parser starts from the scanner state at the cut, so a
//! chunk parsed alone reads exactly what the whole stream would, and a 1 GiB array needs no
//! more memory than one chunk. Hand-written because the streaming JSON crates either need the
//! whole document (serde_json) or cannot resume from a saved state at an arbitrary cut.

use super::parse::{json_strings, redact, FileStats, Found, Sink};
use crate::Key;

/// Most objects on the spine; deeper objects are read as records.
pub const MAX_SPINE: usize = 64;

/// What kind of string the scanner is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Str {
    /// An object key on the spine.
    Key,
    /// A string value of a spine object.
    Value,
    /// A string that is a whole record.
    Record,
    /// A string inside a record.
    Inner,
}

/// The token the scanner is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Idle,
    Str(Str, bool),
    /// A number, `true`, `false`, `null` (or junk): a record, or a spine value.
    Bare(bool),
}

/// Structure events.
pub trait Events {
    /// A record starts at the current byte.
    fn record_start(&mut self);
    /// The current record ends at the current byte (`inclusive`) or just before it.
    fn record_end(&mut self, inclusive: bool);
    /// A scalar value of a spine object starts at the current byte.
    fn value_start(&mut self);
    /// It ends at the current byte (`inclusive`) or just before it.
    fn value_end(&mut self, inclusive: bool);
    /// The document's structure is broken here.
    fn error(&mut self, what: &'static str);
}

/// The structural state of a JSON document stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanner {
    spine: Vec<u8>,
    key_next: bool,
    depth: u64,
    tok: Tok,
}

impl Default for Scanner {
    fn default() -> Scanner {
        Scanner { spine: Vec::new(), key_next: false, depth: 0, tok: Tok::Idle }
    }
}

/// The events a framer needs: none.
pub struct NoEvents;
impl Events for NoEvents {
    fn record_start(&mut self) {}
    fn record_end(&mut self, _: bool) {}
    fn value_start(&mut self) {}
    fn value_end(&mut self, _: bool) {}
    fn error(&mut self, _: &'static str) {}
}

impl Scanner {
    /// Whether the stream may be cut after the byte just fed: between records, outside any
    /// string or token.
    pub fn at_boundary(&self) -> bool {
        self.tok == Tok::Idle && self.depth == 0
    }

    /// Whether a top-level value is complete (nothing open).
    pub fn at_top(&self) -> bool {
        self.at_boundary() && self.spine.is_empty()
    }

    /// Consumes one byte.
    #[inline]
    pub fn feed<E: Events>(&mut self, b: u8, ev: &mut E) {
        match self.tok {
            Tok::Str(kind, escaped) => {
                if escaped {
                    self.tok = Tok::Str(kind, false);
                } else if b == b'\\' {
                    self.tok = Tok::Str(kind, true);
                } else if b == b'"' {
                    self.tok = Tok::Idle;
                    match kind {
                        // Keys are read like values: exports keyed by address exist.
                        Str::Key | Str::Value => ev.value_end(true),
                        Str::Record => ev.record_end(true),
                        Str::Inner => {}
                    }
                }
                return;
            }
            Tok::Bare(record) => {
                if !(b.is_ascii_whitespace() || matches!(b, b',' | b']' | b'}' | b':' | b'"' | b'[' | b'{')) {
                    return;
                }
                self.tok = Tok::Idle;
                if record {
                    ev.record_end(false);
                } else {
                    ev.value_end(false);
                }
            }
            Tok::Idle => {}
        }
        if self.depth > 0 {
            match b {
                b'"' => self.tok = Tok::Str(Str::Inner, false),
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        ev.record_end(true);
                    }
                }
                _ => {}
            }
            return;
        }
        if b.is_ascii_whitespace() {
            return;
        }
        match self.spine.last() {
            None | Some(b'[') => {
                let top = self.spine.is_empty();
                match b {
                    b'[' if top => self.spine.push(b'['),
                    b'{' if top => {
                        self.spine.push(b'{');
                        self.key_next = true;
                    }
                    b'{' | b'[' => {
                        ev.record_start();
                        self.depth = 1;
                    }
                    b'"' => {
                        ev.record_start();
                        self.tok = Tok::Str(Str::Record, false);
                    }
                    b',' if !top => {}
                    b']' if !top => self.close(),
                    b']' | b'}' => {
                        ev.error("unbalanced closing bracket");
                        self.close();
                    }
                    b',' | b':' => ev.error("unexpected separator"),
                    _ => {
                        ev.record_start();
                        self.tok = Tok::Bare(true);
                    }
                }
            }
            Some(_) => match b {
                b'"' if self.key_next => {
                    self.key_next = false;
                    ev.value_start();
                    self.tok = Tok::Str(Str::Key, false);
                }
                b'"' => {
                    ev.value_start();
                    self.tok = Tok::Str(Str::Value, false);
                }
                b':' => {}
                b',' => self.key_next = true,
                b'{' | b'[' if self.spine.len() >= MAX_SPINE => {
                    ev.record_start();
                    self.depth = 1;
                }
                b'{' => {
                    self.spine.push(b'{');
                    self.key_next = true;
                }
                b'[' => self.spine.push(b'['),
                b'}' => self.close(),
                b']' => {
                    ev.error("] closes an object");
                    self.close();
                }
                _ if self.key_next => {
                    ev.error("object key without quotes");
                    self.key_next = false;
                    self.tok = Tok::Bare(false);
                    ev.value_start();
                }
                _ => {
                    ev.value_start();
                    self.tok = Tok::Bare(false);
                }
            },
        }
    }

    fn close(&mut self) {
        self.spine.pop();
        self.key_next = false;
    }

    /// Ends the input: whatever is still open is reported.
    pub fn finish<E: Events>(&mut self, ev: &mut E) {
        match self.tok {
            Tok::Bare(true) => ev.record_end(true),
            Tok::Bare(false) => ev.value_end(true),
            Tok::Str(..) => ev.error("document ends inside a string"),
            Tok::Idle if self.depth > 0 => ev.error("document ends inside a record"),
            Tok::Idle if !self.spine.is_empty() => ev.error("document ends with unclosed brackets"),
            Tok::Idle => {}
        }
        *self = Scanner::default();
    }
}

/// Whether `head` starts a JSON document (rather than JSON lines): the first non-blank byte is
/// `[` or `{`, and the first top-level value does not end on its first line. Returns what the
/// top-level value is, for reports.
pub fn document_kind(head: &[u8]) -> Option<&'static str> {
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let what = match head[start] {
        b'[' => "top-level array",
        b'{' => "top-level object",
        _ => return None,
    };
    let mut s = Scanner::default();
    for &b in &head[start..] {
        if b == b'\n' {
            // The first value is still open at the end of its first line.
            return Some(what);
        }
        s.feed(b, &mut NoEvents);
        if s.at_top() {
            return None; // a whole value on one line: JSON lines (or a one-line document)
        }
    }
    // The head ends inside the first line: a minified array is a document; an object is one
    // only if it holds an array of records (`{"users":[...`), else it is read as a long JSON
    // line (a deeply nested single record, say).
    (head[start] == b'[' || s.spine.contains(&b'[')).then_some(what)
}

/// Whether `head` begins as a JSON document: the first record or value in it decodes, with no
/// structural error before it (the check that keeps a log starting with `[2024-01-01 ...]`
/// free text). Later errors do not matter here: a document that goes bad further on is still
/// read as JSON, its bad records counted, never as free text that would index fragments.
pub fn head_is_valid(head: &[u8]) -> bool {
    let mut stats = FileStats::default();
    let mut keys: Vec<(Key, u64)> = Vec::new();
    let mut p = Parser::new(head, 1, &mut keys, &mut stats);
    let mut s = Scanner::default();
    for (i, &b) in head.iter().enumerate() {
        p.i = i;
        s.feed(b, &mut p);
        if b == b'\n' {
            p.line += 1;
        }
        if p.first.is_some() {
            break;
        }
    }
    p.first != Some(false)
}

/// Collects records and spine values of one chunk.
struct Parser<'a> {
    data: &'a [u8],
    i: usize,
    line: u64,
    record: Option<(usize, u64)>,
    value: Option<(usize, u64)>,
    found: Found,
    /// Whether the first record or value read well (for [`head_is_valid`]).
    first: Option<bool>,
    sink: &'a mut dyn Sink,
    stats: &'a mut FileStats,
}

impl<'a> Parser<'a> {
    fn new(data: &'a [u8], line: u64, sink: &'a mut dyn Sink, stats: &'a mut FileStats) -> Parser<'a> {
        Parser { data, i: 0, line, record: None, value: None, found: Found::default(), first: None, sink, stats }
    }

    fn end(&mut self, inclusive: bool) -> usize {
        if inclusive {
            self.i + 1
        } else {
            self.i
        }
    }

    /// Decodes the JSON text from `start` to the current byte (`inclusive` of it) and emits its
    /// addresses: a record (`is_record`) without one is rejected, a bare value is not; text
    /// that is not JSON is rejected either way.
    fn decode(&mut self, start: usize, inclusive: bool, line: u64, is_record: bool) {
        let end = self.end(inclusive);
        let bytes = &self.data[start..end.min(self.data.len())];
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(v) => {
                self.first.get_or_insert(true);
                self.found.clear();
                json_strings(&v, &mut self.found);
                if is_record && self.found.is_empty() {
                    self.stats.reject("no address in JSON record", line, String::new);
                }
                self.emit();
            }
            Err(_) if is_record => {
                self.first.get_or_insert(false);
                let shown = redact(&String::from_utf8_lossy(&bytes[..bytes.len().min(256)]));
                self.stats.reject("invalid JSON record", line, || shown);
            }
            Err(_) => {
                self.first.get_or_insert(false);
                self.stats.reject("invalid JSON value", line, String::new);
            }
        }
    }

    fn emit(&mut self) {
        self.found.flush(self.sink, self.stats);
    }
}

impl Events for Parser<'_> {
    fn record_start(&mut self) {
        self.record = Some((self.i, self.line));
    }
    fn record_end(&mut self, inclusive: bool) {
        if let Some((start, line)) = self.record.take() {
            self.decode(start, inclusive, line, true);
        }
    }
    fn value_start(&mut self) {
        self.value = Some((self.i, self.line));
    }
    fn value_end(&mut self, inclusive: bool) {
        if let Some((start, line)) = self.value.take() {
            self.decode(start, inclusive, line, false);
        }
    }
    fn error(&mut self, what: &'static str) {
        self.first.get_or_insert(false);
        let reason = match what {
            "unbalanced closing bracket" => "malformed JSON document: unbalanced closing bracket",
            "unexpected separator" => "malformed JSON document: separator outside an array or object",
            "] closes an object" => "malformed JSON document: ] closes an object",
            "object key without quotes" => "malformed JSON document: object key without quotes",
            "document ends inside a string" => "JSON document truncated inside a string",
            "document ends inside a record" => "JSON document truncated inside a record",
            _ => "JSON document truncated: brackets left open",
        };
        self.stats.reject(reason, self.line, String::new);
    }
}

/// Parses one chunk of a JSON document, starting from the scanner state `start` that the framer
/// had at the cut. `last`: the chunk ends the file (open brackets are then reported).
pub fn parse_chunk(
    start: &Scanner,
    last: bool,
    data: &[u8],
    first_line: u64,
    sink: &mut dyn Sink,
    stats: &mut FileStats,
) {
    let newlines = memchr::memchr_iter(b'\n', data).count() as u64;
    let mut scanner = start.clone();
    let mut p = Parser::new(data, first_line, sink, stats);
    for (i, &b) in data.iter().enumerate() {
        p.i = i;
        scanner.feed(b, &mut p);
        if b == b'\n' {
            p.line += 1;
        }
    }
    if last {
        p.i = data.len();
        scanner.finish(&mut p);
    }
    stats.lines += newlines + u64::from(last && !data.is_empty() && !data.ends_with(b"\n"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ek(a: &str) -> Key {
        crate::email_key(a).unwrap()
    }

    fn run(data: &[u8]) -> (Vec<Key>, FileStats) {
        let mut keys: Vec<(Key, u64)> = Vec::new();
        let mut stats = FileStats::default();
        parse_chunk(&Scanner::default(), true, data, 1, &mut keys, &mut stats);
        (keys.into_iter().map(|k| k.0).collect(), stats)
    }

    /// Every cut the framer may make gives the same keys and counts as the whole document.
    fn run_cut_everywhere(data: &[u8]) -> (Vec<Key>, FileStats) {
        let whole = run(data);
        let mut s = Scanner::default();
        let mut cuts = vec![0];
        for (i, &b) in data.iter().enumerate() {
            s.feed(b, &mut NoEvents);
            // The build's framer never cuts at the very end: the last chunk is never empty.
            if s.at_boundary() && i + 1 < data.len() {
                cuts.push(i + 1);
            }
        }
        for &cut in &cuts {
            let mut s = Scanner::default();
            for &b in &data[..cut] {
                s.feed(b, &mut NoEvents);
            }
            let mut keys: Vec<(Key, u64)> = Vec::new();
            let mut stats = FileStats::default();
            parse_chunk(&Scanner::default(), false, &data[..cut], 1, &mut keys, &mut stats);
            let line = 1 + memchr::memchr_iter(b'\n', &data[..cut]).count() as u64;
            parse_chunk(&s, true, &data[cut..], line, &mut keys, &mut stats);
            let keys: Vec<Key> = keys.into_iter().map(|k| k.0).collect();
            assert_eq!(keys, whole.0, "cut at {cut}");
            assert_eq!(stats, whole.1, "cut at {cut}");
        }
        whole
    }

    #[test]
    fn pretty_printed_array_decodes_unicode_escapes_and_quotes() {
        let data = "[\n  {\n    \"email\": \"ren\\u00e9@example.com\",\n    \"name\": \"Ren\\u00e9 \\\"R\\\"\"\n  },\n  {\n    \"email\": \"o'hara\\u0040example.org\"\n  },\n  {\"id\": 3}\n]\n";
        let (keys, stats) = run_cut_everywhere(data.as_bytes());
        assert_eq!(keys, [ek("rené@example.com"), ek("o'hara@example.org")]);
        assert_eq!((stats.lines, stats.records, stats.rejected()), (10, 2, 1));
        assert_eq!(stats.rejects["no address in JSON record"].examples, [(9, String::new())]);
    }

    #[test]
    fn object_keys_that_are_addresses_are_read_on_the_spine_and_in_records() {
        let data = "{\n  \"by\": \"admin@example.org\",\n  \"users\": {\n    \"k1@example.com\": {\"manager\": \"boss@example.org\"}\n  },\n  \"list\": [{\"k2@example.com\": 1}]\n}\n";
        let (mut keys, _) = run_cut_everywhere(data.as_bytes());
        keys.sort();
        let mut want =
            vec![ek("admin@example.org"), ek("k1@example.com"), ek("boss@example.org"), ek("k2@example.com")];
        want.sort();
        assert_eq!(keys, want);
    }

    #[test]
    fn top_level_object_holding_arrays_reads_every_array_and_spine_string() {
        let data = br#"{
  "meta": {"count": 3, "contact": "dpo@example.net"},
  "users": [
    {"mail": "a@example.com", "tags": ["x", "b@example.com"]},
    "c@example.com"
  ],
  "admins": [{"e": "d\u00e9@example.com"}]
}"#;
        let (keys, stats) = run_cut_everywhere(data);
        let want = [
            ek("dpo@example.net"),
            ek("a@example.com"),
            ek("b@example.com"),
            ek("c@example.com"),
            ek("dé@example.com"),
        ];
        assert_eq!(keys, want);
        assert_eq!((stats.lines, stats.rejected()), (8, 0));
    }

    #[test]
    fn malformed_documents_are_counted_with_line_numbers() {
        let (keys, stats) = run(b"[\n {\"e\": \"a@example.com\"},\n {\"e\": oops},\n {\"e\": \"b@example.com\"\n");
        assert_eq!(keys, [ek("a@example.com")]);
        assert_eq!(stats.rejects["invalid JSON record"].examples[0].0, 3);
        assert_eq!(stats.rejects["JSON document truncated inside a record"].count, 1);
        let (_, stats) = run(b"{\"a\": [1, 2}\n");
        assert!(stats.rejected() >= 1, "{stats:?}");
        let (_, stats) = run(b"{\"a\": \"x\"}\n}\n");
        assert_eq!(stats.rejects["malformed JSON document: unbalanced closing bracket"].examples[0].0, 2);
    }

    #[test]
    fn documents_and_json_lines_are_told_apart() {
        assert_eq!(document_kind(b"[\n  {\"a\": 1}\n]"), Some("top-level array"));
        assert_eq!(document_kind(b"  {\n \"users\": []\n}"), Some("top-level object"));
        assert_eq!(document_kind(b"{\"a\": 1}\n{\"a\": 2}\n"), None);
        assert_eq!(document_kind(b"hello"), None);
        // Cut by the sniff window inside the first line.
        assert_eq!(
            document_kind(b"{\"users\": [{\"e\": \"a@example.com\"}, {\"e\": \"b@exa"),
            Some("top-level object")
        );
        assert_eq!(document_kind(b"[{\"e\": \"a@example.com\"}, {\"e\": \"b@exa"), Some("top-level array"));
        assert_eq!(document_kind(b"{\"a\":{\"a\":{\"a\":{\"a\":\"dee"), None);
        assert!(!head_is_valid(b"[2024-01-01 10:00] login a@example.com\n"));
        assert!(!head_is_valid(b"{INFO} started\n"));
        assert!(head_is_valid(b"[\n {\"a\": \"b@example.com\"},\n {\"a\": \"c@exa"));
        // A document that goes bad after a good start is JSON (its bad records are counted).
        assert!(head_is_valid(b"[\n {\"id\": 1},\n {\"a\": oops}\n]"));
    }
}
