//! Framing: where a stream of one format may be cut into chunks of whole records, so that the
//! parsing threads can each take a chunk. [`Framer`] follows the parser's own state (CSV
//! quotes, the SQL lexer, the JSON document scanner, stealer-log blocks) and hands the state at
//! each cut to the next chunk ([`ingest::Start`]), so that framing and parsing agree.
//!
//! Limits: a record that does not end within one chunk ([`ingest::CHUNK`]) is over-long: the
//! reader rejects it, said in the file's report, and resynchronizes after it
//! ([`Framer::resync`]). Issue 7 moves framing into the per-format types.

use crate::ingest::{self, FileFormat, Format};

/// Where the stream may be cut after whole records.
///
/// Stateful formats (SQL, JSON documents) run the parser's own state machine, from the state
/// at the previous cut, and cut only where it is between records; that state is the next
/// chunk's [`ingest::Start`]. So chunk splitting and parsing never disagree.
pub(crate) enum Framer {
    /// Records are lines; the mode (plain, or mbox) is the same for every chunk.
    Lines(ingest::Mode),
    /// CSV with this delimiter.
    Csv(u8),
    /// The SQL lexer at the start of the unsent data.
    Sql(ingest::sql::Lexer),
    /// The JSON document scanner at the start of the unsent data.
    Json(ingest::json::Scanner),
    /// Stealer logs: cut only between blocks.
    Stealer,
}

struct NoEvents;
impl ingest::sql::Events for NoEvents {
    fn string_byte(&mut self, _: u8) {}
    fn string_end(&mut self) {}
    fn tuple_end(&mut self) {}
}

impl Framer {
    pub(crate) fn for_format(f: &FileFormat, mode: ingest::Mode) -> Framer {
        match (f.format, mode) {
            (Format::Csv, _) => Framer::Csv(f.delimiter),
            (Format::Stealer, _) => Framer::Stealer,
            (_, ingest::Mode::Sql(l)) => Framer::Sql(l),
            (Format::Sql, _) => Framer::Sql(ingest::sql::Lexer::default()),
            (_, ingest::Mode::JsonDoc(s)) => Framer::Json(s),
            (_, mode) => Framer::Lines(mode),
        }
    }

    /// The parser state at the start of the unsent data.
    pub(crate) fn start(&self) -> ingest::Mode {
        match self {
            Framer::Lines(m) => m.clone(),
            Framer::Csv(_) | Framer::Stealer => ingest::Mode::Records,
            Framer::Sql(l) => ingest::Mode::Sql(l.clone()),
            Framer::Json(s) => ingest::Mode::JsonDoc(s.clone()),
        }
    }

    /// The end of the last whole record in `buf` (which starts at a record boundary); the
    /// framer's state moves to that point. The stateful framers never cut at the very end, so
    /// that the file's last chunk is never empty and counts an unterminated last line.
    pub(crate) fn cut(&mut self, buf: &[u8]) -> Option<usize> {
        match self {
            Framer::Lines(_) => memchr::memrchr(b'\n', buf).map(|p| p + 1),
            Framer::Csv(delimiter) => csv_cut(buf, *delimiter),
            Framer::Stealer => ingest::stealer::cut(buf),
            Framer::Sql(start) => {
                let mut l = start.clone();
                let mut cut = None;
                for (i, &b) in buf.iter().enumerate() {
                    l.feed(b, &mut NoEvents);
                    if i + 1 < buf.len() && l.cut_after(b) {
                        cut = Some((i + 1, l.clone()));
                    }
                }
                cut.map(|(p, l)| {
                    *start = l;
                    p
                })
            }
            Framer::Json(start) => {
                let mut s = start.clone();
                let mut cut = None;
                for (i, &b) in buf.iter().enumerate() {
                    s.feed(b, &mut ingest::json::NoEvents);
                    if i + 1 < buf.len() && s.at_boundary() {
                        cut = Some((i + 1, s.clone()));
                    }
                }
                cut.map(|(p, s)| {
                    *start = s;
                    p
                })
            }
        }
    }

    pub(crate) fn overlong_reason(&self) -> &'static str {
        match self {
            Framer::Lines(_) => "line over 64 KiB",
            Framer::Stealer => "stealer-log block over 1 MiB",
            Framer::Csv(_) => "CSV record over 1 MiB or unbalanced quote",
            Framer::Sql(_) => "SQL tuple, string or comment over 1 MiB, or unbalanced quote",
            Framer::Json(_) => "JSON record over 1 MiB",
        }
    }

    /// In skip mode, where the stream can be picked up again in `buf`: after the next newline,
    /// or for the stateful framers, at the first record boundary (their state runs on through
    /// the skipped bytes, so it stays right).
    pub(crate) fn resync(&mut self, buf: &[u8]) -> Option<usize> {
        match self {
            Framer::Sql(l) => {
                for (i, &b) in buf.iter().enumerate() {
                    l.feed(b, &mut NoEvents);
                    if l.cut_after(b) {
                        return Some(i + 1);
                    }
                }
                None
            }
            Framer::Json(s) => {
                for (i, &b) in buf.iter().enumerate() {
                    s.feed(b, &mut ingest::json::NoEvents);
                    if s.at_boundary() {
                        return Some(i + 1);
                    }
                }
                None
            }
            _ => memchr::memchr(b'\n', buf).map(|p| p + 1),
        }
    }
}

/// The end of the last whole CSV record in `buf`, as `csv-core` (the state machine under the
/// `csv` crate that parses the chunk) reads records: quotes, doubled quotes, a quote inside an
/// unquoted field, and `\r`, `\n` or `\r\n` terminators exactly as the parser sees them.
fn csv_cut(buf: &[u8], delimiter: u8) -> Option<usize> {
    let mut reader = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
    // Field bytes are not needed, only where records end: a small scratch buffer is reused.
    let (mut out, mut ends) = ([0u8; 4096], [0usize; 64]);
    let (mut at, mut cut) = (0, None);
    loop {
        let (result, nin, _, _) = reader.read_record(&buf[at..], &mut out, &mut ends);
        at += nin;
        match result {
            csv_core::ReadRecordResult::Record => cut = Some(at),
            csv_core::ReadRecordResult::OutputFull | csv_core::ReadRecordResult::OutputEndsFull => {}
            csv_core::ReadRecordResult::InputEmpty | csv_core::ReadRecordResult::End => return cut,
        }
        if at >= buf.len() && result != csv_core::ReadRecordResult::Record {
            return cut;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_framer_ignores_a_quote_inside_an_unquoted_field() {
        let fmt = |d: u8| FileFormat { delimiter: d, ..FileFormat::simple(Format::Csv) };
        // A stray quote in an unquoted field used to flip the framer into "quoted" for good.
        let data = b"1,Jane \"JJ\" Doe,jj@example.com\n2,Bo\"b,bob@example.com\n3,x,c@example.com\n";
        assert_eq!(Framer::for_format(&fmt(b','), ingest::Mode::Records).cut(data), Some(data.len()));
        // A quoted field with a newline and doubled quotes is one record.
        let data = b"1,\"a \"\"b\"\"\nc\",x@example.com\n2,\"open";
        let cut = Framer::for_format(&fmt(b','), ingest::Mode::Records).cut(data).unwrap();
        assert_eq!(&data[..cut], b"1,\"a \"\"b\"\"\nc\",x@example.com\n");
        // With ';' as the delimiter, a quote after ',' is inside an unquoted field.
        let data = b"1;a,\"b;c@example.com\n2;d;e@example.com\n";
        assert_eq!(Framer::for_format(&fmt(b';'), ingest::Mode::Records).cut(data), Some(data.len()));
    }

    #[test]
    fn csv_framer_cuts_where_the_csv_parser_ends_records() {
        let cut = |data: &[u8]| Framer::for_format(&FileFormat::simple(Format::Csv), ingest::Mode::Records).cut(data);
        // Old Mac line ends (`\r` alone) end records for the parser, so they do for the framer.
        assert_eq!(cut(b"a,b\rc,d\re,f"), Some(8));
        // A field longer than the framer's scratch buffer, and a record of more fields than it
        // keeps ends for.
        let long = [b"x,\"".as_slice(), &[b'y'; 10_000], b"\"\n2,z\n3,".as_slice()].concat();
        assert_eq!(cut(&long), Some(long.len() - 2));
        let wide = [",".repeat(500).as_bytes(), b"\nnext"].concat();
        assert_eq!(cut(&wide), Some(501));
        // No whole record: no cut.
        assert_eq!(cut(b"1,\"open\nstill open"), None);
        assert_eq!(cut(b""), None);
    }
}
