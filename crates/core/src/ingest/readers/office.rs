//! Office documents: what a person opening a spreadsheet, a word-processing document or a
//! presentation sees, as table and text parts.
//!
//! - Spreadsheets: xlsx/xlsm and xlsb through `calamine` (every sheet, hidden ones too, every
//!   cell's value; formulas give their cached value), one [`Sink::table`] per sheet; legacy
//!   xls ([`read_xls`], called by the OLE reader) likewise. ODF spreadsheets (ods) are read
//!   here by streaming `content.xml`, because calamine expands an ods into dense ranges in
//!   memory (up to 100 million cells), which a hostile file can ask for in a few bytes.
//!   Cell comments (`xl/comments*.xml`, threaded comments) and hyperlink targets are text
//!   parts of their own.
//! - Files embedded in an OOXML package (`*/embeddings/`: a chart's workbook, an inserted
//!   document) are handed to [`Sink::file`], read through the whole pipeline; SmartArt text
//!   (`*/diagrams/dataN.xml`) is a part `diagramN`.
//! - Word processing (docx, odt) and presentations (pptx, odp): `quick-xml` over the zip
//!   members, one [`Sink::text`] per XML part (`document`, `header1`, `footnotes`, `slide3`,
//!   `notes3`, ...). Paragraphs, line breaks, table cells and tabs end words; runs inside a
//!   paragraph are joined without a separator (Word splits `taro@exam` + `ple.jp` across
//!   runs). Hyperlink targets (`mailto:`) are appended to the part's text.
//!
//! Bounds: every member read is checked against its declared size, [`PART_CAP`] and the
//! sink's budget before anything is read, and decompressed through [`Capped`], which fails
//! (naming the part) when a member yields more than it declared. Before a workbook is handed
//! to calamine (which holds parts such as the shared-strings table in memory), its parts are
//! decompressed once this way and discarded, so that a shared-strings bomb is refused by name
//! instead of exhausting memory. The text produced from one part is capped the same way.
//! Calls into calamine are wrapped in `catch_unwind`: a panic there is an error naming the
//! file's part, not a crash.
//!
//! Privacy: messages name parts (member paths, sheet names), never cell contents or text.

use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};

use calamine::{DataRef, Reader as _, SheetType};
use quick_xml::events::{BytesStart, Event};
use zip::ZipArchive;

use super::{ReadSeek, Sink, Stop};

/// Most bytes one part of a document may expand to, and most text one part may produce.
pub(crate) const PART_CAP: u64 = 256 << 20;

/// Most bytes of an ODF `mimetype` member that are looked at.
const ODF_MIMETYPE_MAX: u64 = 256;

/// Columns of a sheet (`XFD`); a cell claiming a column beyond is appended, not padded to.
const MAX_COLUMNS: usize = 16_384;

/// Bytes counted per cell against the cap besides its text (the `String` it lives in).
const CELL_OVERHEAD: u64 = 24;

/// Bytes calamine takes per shared string besides its text (`String` header and allocation).
const SHARED_STRING_OVERHEAD: u64 = 32;

/// The ODF media type prefix.
const ODF_MIME: &str = "application/vnd.oasis.opendocument.";

/// What kind of office document a zip archive is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OfficeKind {
    /// Excel workbook (xlsx, xlsm, xltx: `xl/workbook.xml`).
    Xlsx,
    /// Excel binary workbook (`xl/workbook.bin`).
    Xlsb,
    /// Word document (`word/document.xml`).
    Docx,
    /// PowerPoint presentation (`ppt/presentation.xml`).
    Pptx,
    /// OpenDocument spreadsheet.
    Ods,
    /// OpenDocument text.
    Odt,
    /// OpenDocument presentation.
    Odp,
}

impl OfficeKind {
    /// Name for the report's `format`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            OfficeKind::Xlsx => "xlsx",
            OfficeKind::Xlsb => "xlsb",
            OfficeKind::Docx => "docx",
            OfficeKind::Pptx => "pptx",
            OfficeKind::Ods => "ods",
            OfficeKind::Odt => "odt",
            OfficeKind::Odp => "odp",
        }
    }
}

/// The member of `zip` named `want`, compared as OPC does (ASCII case-insensitively).
fn member_name<R: Read + Seek>(zip: &ZipArchive<R>, want: &str) -> Option<String> {
    zip.file_names().find(|n| n.eq_ignore_ascii_case(want)).map(str::to_owned)
}

/// The members of a package by their ASCII-lowercased name, for lookups as OPC compares
/// names (a linear search per lookup would make a package of many parts quadratic).
struct Names(std::collections::HashMap<String, String>);

impl Names {
    fn new<R: Read + Seek>(zip: &ZipArchive<R>) -> Names {
        let mut map = std::collections::HashMap::new();
        for n in zip.file_names() {
            map.entry(n.to_ascii_lowercase()).or_insert_with(|| n.to_owned());
        }
        Names(map)
    }

    /// The member named `want`, ASCII case-insensitively.
    fn get(&self, want: &str) -> Option<String> {
        self.0.get(&want.to_ascii_lowercase()).cloned()
    }
}

/// Which office document `zip` is, from its member names and the ODF `mimetype` member;
/// `None` for any other zip archive.
pub(crate) fn office_kind<R: Read + Seek>(zip: &mut ZipArchive<R>) -> Option<OfficeKind> {
    if let Some(name) = member_name(zip, "mimetype") {
        let mut mime = String::new();
        if let Ok(f) = zip.by_name(&name) {
            // A mimetype that is not short ASCII text is not an ODF one; fall through.
            let _ = f.take(ODF_MIMETYPE_MAX).read_to_string(&mut mime);
        }
        let mime = mime.trim();
        if let Some(sub) = mime.strip_prefix(ODF_MIME) {
            match sub.strip_suffix("-template").unwrap_or(sub) {
                "spreadsheet" => return Some(OfficeKind::Ods),
                "text" => return Some(OfficeKind::Odt),
                "presentation" => return Some(OfficeKind::Odp),
                _ => {}
            }
        }
    }
    member_name(zip, "[Content_Types].xml")?;
    let has = |n: &str| member_name(zip, n).is_some();
    if has("xl/workbook.xml") {
        Some(OfficeKind::Xlsx)
    } else if has("xl/workbook.bin") {
        Some(OfficeKind::Xlsb)
    } else if has("word/document.xml") {
        Some(OfficeKind::Docx)
    } else if has("ppt/presentation.xml") {
        Some(OfficeKind::Pptx)
    } else {
        None
    }
}

/// Reads an office document of `kind` (as [`office_kind`] said) from `src`, positioned at
/// its start and `len` bytes long, into `sink`.
///
/// Parts that cannot be read are warned about by name and the others still read; the `Err`
/// then names them all. A [`Stop`] from the sink is returned at once. A panic in a parser
/// (zip, XML, calamine) is an `Err` naming the kind of document, not a crash.
pub(crate) fn read_office(
    kind: OfficeKind,
    src: &mut dyn ReadSeek,
    len: u64,
    sink: &mut dyn Sink,
) -> Result<(), String> {
    // The zip directory says where each member is; the length is not needed.
    let _ = len;
    super::catch_quietly(|| read_office_unguarded(kind, src, sink)).unwrap_or_else(|_| {
        Err(format!("{} document: a parser failed on a malformed part; not read further", kind.name()))
    })
}

/// [`read_office`] without the panic guard (tests check that it does not panic).
fn read_office_unguarded(kind: OfficeKind, src: &mut dyn ReadSeek, sink: &mut dyn Sink) -> Result<(), String> {
    match kind {
        OfficeKind::Xlsx | OfficeKind::Xlsb => read_workbook(kind, src, sink),
        OfficeKind::Docx | OfficeKind::Pptx | OfficeKind::Ods | OfficeKind::Odt | OfficeKind::Odp => {
            let mut zip = ZipArchive::new(src).map_err(|e| format!("{} package unreadable: {e}", kind.name()))?;
            let mut doc = Doc::new(sink, Names::new(&zip));
            let res = match kind {
                OfficeKind::Docx => docx(&mut zip, &mut doc),
                OfficeKind::Pptx => pptx(&mut zip, &mut doc),
                OfficeKind::Ods => ods(&mut zip, &mut doc),
                _ => odt_odp(kind, &mut zip, &mut doc),
            };
            doc.finish(res)
        }
    }
}

/// Reads a legacy Excel workbook (BIFF, the `Workbook` stream of an OLE file: `src` is the
/// whole OLE file) into `sink`, one table per sheet.
pub(crate) fn read_xls(src: &mut dyn ReadSeek, sink: &mut dyn Sink) -> Result<(), String> {
    super::catch_quietly(|| read_xls_unguarded(src, sink))
        .unwrap_or_else(|_| Err("xls workbook: the xls parser failed on it; not read further".into()))
}

fn read_xls_unguarded(src: &mut dyn ReadSeek, sink: &mut dyn Sink) -> Result<(), String> {
    let mut failed = Vec::new();
    let opened = super::catch_quietly(move || calamine::Xls::new(src));
    let mut wb = match opened {
        Ok(Ok(wb)) => wb,
        Ok(Err(e)) => return Err(format!("xls workbook unreadable ({})", calamine_error(&e))),
        Err(_) => return Err("xls workbook unreadable (the xls parser failed on it)".into()),
    };
    let sheets = wb.sheets_metadata().to_vec();
    for sheet in sheets {
        let range = match super::catch_quietly(|| wb.worksheet_range(&sheet.name)) {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                sink.warn(format!("sheet {}: not read ({})", sheet.name, calamine_error(&e)));
                failed.push(sheet.name.clone());
                continue;
            }
            Err(_) => {
                sink.warn(format!("sheet {}: not read (the xls parser failed on it)", sheet.name));
                failed.push(sheet.name.clone());
                continue;
            }
        };
        let mut rows = range
            .rows()
            .map(|r| r.iter().map(|d| d.to_string()).collect::<Vec<_>>())
            .filter(|r| r.iter().any(|c| !c.is_empty()));
        sink.table(&sheet.name, &mut rows).map_err(|Stop(s)| s)?;
    }
    failed_parts(&failed)
}

/// `Ok`, or an error naming the parts that could not be read.
fn failed_parts(failed: &[String]) -> Result<(), String> {
    match failed {
        [] => Ok(()),
        [one] => Err(format!("part {one} could not be read")),
        many => Err(format!("{} parts could not be read: {}", many.len(), many.join(", "))),
    }
}

/// A calamine error without anything from the file's content: the I/O or zip error, or the
/// kind of error (its variant name).
fn calamine_error<E: std::fmt::Debug>(e: &E) -> String {
    let dbg = format!("{e:?}");
    let kind: String = dbg.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    match kind.as_str() {
        "Io" | "Zip" => {
            // The I/O and zip errors' own messages carry no cell content; show them.
            let inner = dbg.trim_start_matches(kind.as_str());
            format!("{} error {}", kind.to_lowercase(), inner.chars().take(200).collect::<String>())
        }
        "" => "malformed workbook".into(),
        k => format!("malformed workbook: {k}"),
    }
}

/// Bytes a part may expand to: [`PART_CAP`] or the sink's budget, whichever is smaller.
fn part_limit(sink: &dyn Sink) -> u64 {
    PART_CAP.min(sink.budget())
}

/// A member's decompressed bytes, failing (naming the part) past what it declared.
pub(crate) struct Capped<R> {
    inner: R,
    left: u64,
    declared: u64,
    part: String,
}

impl<R: Read> Capped<R> {
    /// `inner` yields the expanded bytes of `part`, which declared `declared` bytes.
    pub(crate) fn new(inner: R, declared: u64, part: &str) -> Capped<R> {
        Capped { inner, left: declared, declared, part: part.to_owned() }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other(format!(
                    "{} expands to more than the {} bytes it declares (a zip bomb or a corrupt archive)",
                    self.part, self.declared
                ))),
            };
        }
        let n = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let got = self.inner.read(&mut buf[..n])?;
        self.left -= got as u64;
        Ok(got)
    }
}

/// Opens member `name` of `zip` for reading through [`Capped`], after checking its declared
/// size against `limit`.
fn open_member<'z, R: Read + Seek>(
    zip: &'z mut ZipArchive<R>,
    name: &str,
    limit: u64,
) -> Result<Capped<zip::read::ZipFile<'z, R>>, String> {
    let f = zip.by_name(name).map_err(|e| format!("{name}: not readable ({e})"))?;
    if f.encrypted() {
        return Err(format!("{name}: encrypted, not read"));
    }
    let size = f.size();
    if size > limit {
        return Err(format!(
            "{name}: declares {size} bytes expanded, more than the {limit} bytes one part may take; not read"
        ));
    }
    Ok(Capped::new(f, size, name))
}

/// Decompresses every part of the workbook that calamine reads once, discarding the bytes, so that calamine
/// (which holds parts in memory) is only given parts that keep to their declared sizes and
/// to `limit`, and XML parts that are whole (calamine would read a truncated sheet as a
/// shorter one). `Err` names the first part that does not.
fn preflight<R: Read + Seek>(zip: &mut ZipArchive<R>, limit: u64) -> Result<(), String> {
    let names: Vec<String> = zip.file_names().map(str::to_owned).collect();
    for name in names {
        let lower = name.to_ascii_lowercase();
        // Only what calamine reads: XML, relationships and binary records. Embedded files
        // and media are not held by calamine (embedded files go to the sink, which
        // applies its own budget).
        let parsed = [".xml", ".rels", ".bin"].iter().any(|e| lower.ends_with(e));
        if !parsed || lower.contains("/embeddings/") || lower.contains("/media/") {
            continue;
        }
        let mut part = open_member(zip, &name, limit)?;
        if lower.ends_with(".xml") || lower.ends_with(".rels") {
            // calamine holds each shared string as a `String`: its bytes, and a header and
            // an allocation per entry, which a table of tiny strings multiplies. Counted in
            // every part: the workbook's relationships, not the name, say which part is the
            // shared-strings table.
            let size = part.declared;
            let entries = check_xml(BufReader::new(part), &name, b"si")?;
            let held = size.saturating_add(entries.saturating_mul(SHARED_STRING_OVERHEAD));
            if held > limit {
                return Err(format!(
                    "{name}: {entries} shared strings would take about {held} bytes in memory, more than the {limit} bytes one part may take; not read"
                ));
            }
        } else {
            io::copy(&mut part, &mut io::sink()).map_err(|e| read_error(&name, &e))?;
        }
    }
    Ok(())
}

/// An I/O error reading `part`: ours (from [`Capped`]) already names the part.
fn read_error(part: &str, e: &io::Error) -> String {
    let msg = e.to_string();
    if msg.starts_with(part) {
        msg
    } else {
        format!("{part}: not readable ({msg})")
    }
}

/// A quick-xml error, without the text it was looking at (an entity name or a tag could be
/// an address from the document): the kind and the byte offset.
fn xml_error(part: &str, e: &quick_xml::Error, pos: u64) -> String {
    use quick_xml::Error as E;
    let what = match e {
        E::Io(io) => return read_error(part, io),
        E::Syntax(s) => format!("malformed XML ({s})"),
        E::IllFormed(_) => "ill-formed XML (mismatched or unclosed tags)".into(),
        E::InvalidAttr(_) => "malformed XML attribute".into(),
        E::Encoding(_) => "text not in its declared encoding".into(),
        E::Escape(_) => "invalid character or entity reference".into(),
        E::Namespace(_) => "undeclared XML namespace".into(),
    };
    format!("{part}: {what} at byte {pos}; not read further")
}

/// Whether an XML part was whole: a root element, and every element closed. quick-xml stops
/// at the end of input without complaint, so a truncated part would otherwise read as a
/// shorter one.
#[derive(Default)]
struct Balance {
    depth: u64,
    seen: bool,
}

impl Balance {
    fn on(&mut self, ev: &Event<'_>) {
        match ev {
            Event::Start(_) => {
                self.depth += 1;
                self.seen = true;
            }
            Event::Empty(_) => self.seen = true,
            Event::End(_) => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
    }

    /// At the end of `part`: `Err` if it was cut short or had no element.
    fn finish(&self, part: &str) -> Result<(), String> {
        if !self.seen {
            Err(format!("{part}: no XML element in it (empty or not XML); not read"))
        } else if self.depth > 0 {
            Err(format!("{part}: ends inside an open element (truncated or corrupt); not read further"))
        } else {
            Ok(())
        }
    }
}

/// Parses XML part `part` through to its end, checking it is whole ([`Balance`]); returns
/// how many elements named `count` (local name) it holds.
fn check_xml(src: impl BufRead, part: &str, count: &[u8]) -> Result<u64, String> {
    let mut xml = quick_xml::Reader::from_reader(src);
    let mut buf = Vec::new();
    let mut balance = Balance::default();
    let mut n = 0u64;
    loop {
        let ev = xml.read_event_into(&mut buf).map_err(|e| xml_error(part, &e, xml.error_position()))?;
        balance.on(&ev);
        match &ev {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == count => n += 1,
            Event::Eof => {
                balance.finish(part)?;
                return Ok(n);
            }
            _ => {}
        }
        buf.clear();
    }
}

/// A workbook through calamine: preflight, then every sheet as a table, then comments and
/// hyperlinks as text.
fn read_workbook(kind: OfficeKind, src: &mut dyn ReadSeek, sink: &mut dyn Sink) -> Result<(), String> {
    let limit = part_limit(sink);
    let (comments, links, mut failed) = {
        let mut zip = ZipArchive::new(&mut *src).map_err(|e| format!("{} package unreadable: {e}", kind.name()))?;
        preflight(&mut zip, limit)?;
        let mut doc = Doc::new(&mut *sink, Names::new(&zip));
        let comments = workbook_comments(&mut zip, &mut doc);
        let links = links_of_members(&mut zip, &mut doc, |n| {
            let n = n.to_ascii_lowercase();
            n.starts_with("xl/worksheets/_rels/") && n.ends_with(".rels")
        });
        embeddings(&mut zip, &mut doc)?;
        (comments, links, doc.failed)
    };
    src.seek(SeekFrom::Start(0)).map_err(|e| format!("{} package unreadable: {e}", kind.name()))?;
    match kind {
        OfficeKind::Xlsb => xlsb_sheets(src, sink, limit, &mut failed)?,
        _ => xlsx_sheets(src, sink, limit, &mut failed)?,
    }
    for (part, text) in comments.into_iter().chain(links) {
        match text {
            Ok(text) => sink.text(&part, &text).map_err(|Stop(s)| s)?,
            Err(e) => {
                sink.warn(e);
                failed.push(part);
            }
        }
    }
    failed_parts(&failed)
}

type PartText = (String, Result<String, String>);

/// The text of the workbook's cell comments (`xl/comments1.xml` → part `comments1`) and
/// threaded comments.
fn workbook_comments<R: Read + Seek>(zip: &mut ZipArchive<R>, doc: &mut Doc<'_>) -> Vec<PartText> {
    let mut names: Vec<String> = zip
        .file_names()
        .filter(|n| {
            let l = n.to_ascii_lowercase();
            l.ends_with(".xml")
                && ((l.starts_with("xl/comments") && !l[3..].contains('/')) || l.starts_with("xl/threadedcomments/"))
        })
        .map(str::to_owned)
        .collect();
    names.sort_by_key(|n| natural_key(n));
    names
        .into_iter()
        .map(|n| {
            let part = stem(&n);
            let text = doc.xml_text(zip, &n, Dialect::Ooxml).map(|mut t| t.remove(0).1);
            (part, text)
        })
        .collect()
}

/// Hyperlink targets in the relationship parts `pick` selects, as one `hyperlinks` part.
fn links_of_members<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    doc: &mut Doc<'_>,
    pick: impl Fn(&str) -> bool,
) -> Vec<PartText> {
    let mut names: Vec<String> = zip.file_names().filter(|n| pick(n)).map(str::to_owned).collect();
    names.sort_by_key(|n| natural_key(n));
    let mut text = String::new();
    for n in names {
        match rels(zip, &doc.names, &n, doc.limit) {
            Ok(rs) => {
                for r in rs.into_iter().filter(|r| r.kind.ends_with("/hyperlink")) {
                    text.push_str(&r.target);
                    text.push('\n');
                }
            }
            Err(e) => return vec![("hyperlinks".into(), Err(e))],
        }
    }
    if text.is_empty() {
        Vec::new()
    } else {
        vec![("hyperlinks".into(), Ok(text))]
    }
}

/// The text of one cell value.
fn cell_text(d: &DataRef<'_>) -> String {
    match d {
        DataRef::SharedString(s) => (*s).to_owned(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => f.to_string(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(t) => t.to_string(),
        DataRef::Error(e) => e.to_string(),
        DataRef::Empty => String::new(),
    }
}

/// Rows built from a stream of cells in document order (row by row): a row ends when a cell
/// of another row comes. Column gaps are padded with empty cells, so columns stay aligned.
struct CellRows<F> {
    next_cell: F,
    pending: Option<(u32, u32, String)>,
    /// What stopped the stream (a parse error, the cap), for after the sink call.
    err: Option<String>,
    produced: u64,
    cap: u64,
    part: String,
    done: bool,
}

impl<F: FnMut() -> Result<Option<(u32, u32, String)>, String>> CellRows<F> {
    fn new(next_cell: F, cap: u64, part: &str) -> Self {
        CellRows { next_cell, pending: None, err: None, produced: 0, cap, part: part.to_owned(), done: false }
    }

    /// Puts a cell's text in `row` at `col`, counting it against the cap.
    fn place(&mut self, row: &mut Vec<String>, col: u32, text: String) -> bool {
        let col = col as usize;
        let at = if col < MAX_COLUMNS && col >= row.len() { col } else { row.len() };
        let pad = (at - row.len()) as u64;
        self.produced += pad + text.len() as u64 + CELL_OVERHEAD;
        if self.produced > self.cap {
            self.err = Some(format!("sheet {}: its cells exceed {} bytes; not read further", self.part, self.cap));
            self.done = true;
            return false;
        }
        row.resize(at, String::new());
        row.push(text);
        true
    }
}

impl<F: FnMut() -> Result<Option<(u32, u32, String)>, String>> Iterator for CellRows<F> {
    type Item = Vec<String>;

    fn next(&mut self) -> Option<Vec<String>> {
        let mut row = Vec::new();
        let mut at_row = None;
        if let Some((r, c, t)) = self.pending.take() {
            at_row = Some(r);
            if !self.place(&mut row, c, t) {
                return None;
            }
        }
        while !self.done {
            match (self.next_cell)() {
                Ok(Some((r, c, t))) => {
                    if t.is_empty() {
                        continue;
                    }
                    match at_row {
                        Some(cur) if cur != r => {
                            self.pending = Some((r, c, t));
                            return Some(row);
                        }
                        _ => {
                            at_row = Some(r);
                            if !self.place(&mut row, c, t) {
                                break;
                            }
                        }
                    }
                }
                Ok(None) => self.done = true,
                Err(e) => {
                    self.err = Some(e);
                    self.done = true;
                }
            }
        }
        (!row.is_empty()).then_some(row)
    }
}

/// Every sheet of a workbook that calamine streams cell by cell (its cell reader: no dense
/// range in memory), one table each: `$name` reads `calamine::$book` files, named `$what` in
/// messages. A macro because calamine's xlsx and xlsb cell readers share no trait: one body
/// for both.
macro_rules! streamed_sheets {
    ($name:ident, $book:ident, $what:literal) => {
        fn $name(
            src: &mut dyn ReadSeek,
            sink: &mut dyn Sink,
            cap: u64,
            failed: &mut Vec<String>,
        ) -> Result<(), String> {
            let opened = super::catch_quietly(move || calamine::$book::new(src));
            let mut wb = match opened {
                Ok(Ok(wb)) => wb,
                Ok(Err(e)) => return Err(format!(concat!($what, " workbook unreadable ({})"), calamine_error(&e))),
                Err(_) => {
                    return Err(concat!($what, " workbook unreadable (the ", $what, " parser failed on it)").into())
                }
            };
            let sheets = wb.sheets_metadata().to_vec();
            for sheet in sheets {
                if sheet.typ != SheetType::WorkSheet {
                    sink.warn(format!("sheet {}: a {:?} without cells, its text not read", sheet.name, sheet.typ));
                    continue;
                }
                let name = sheet.name.clone();
                let (wb, n) = (&mut wb, name.as_str());
                let reader = super::catch_quietly(move || { wb }.worksheet_cells_reader(n));
                let mut cells = match reader {
                    Ok(Ok(c)) => c,
                    Ok(Err(e)) => {
                        sink.warn(format!("sheet {name}: not read ({})", calamine_error(&e)));
                        failed.push(name);
                        continue;
                    }
                    Err(_) => {
                        sink.warn(format!(concat!("sheet {}: not read (the ", $what, " parser failed on it)"), name));
                        failed.push(name);
                        continue;
                    }
                };
                let next = || match super::catch_quietly(|| cells.next_cell()) {
                    Ok(Ok(Some(c))) => {
                        let (r, col) = c.get_position();
                        Ok(Some((r, col, cell_text(c.get_value()))))
                    }
                    Ok(Ok(None)) => Ok(None),
                    Ok(Err(e)) => Err(format!("sheet {name}: not read further ({})", calamine_error(&e))),
                    Err(_) => {
                        Err(format!(concat!("sheet {}: not read further (the ", $what, " parser failed on it)"), name))
                    }
                };
                let mut rows = CellRows::new(next, cap, &sheet.name);
                sink.table(&sheet.name, &mut rows).map_err(|Stop(s)| s)?;
                if let Some(e) = rows.err.take() {
                    sink.warn(e);
                    failed.push(sheet.name.clone());
                }
            }
            Ok(())
        }
    };
}

streamed_sheets!(xlsx_sheets, Xlsx, "xlsx");
streamed_sheets!(xlsb_sheets, Xlsb, "xlsb");

/// A document being read: the sink, the per-part limit and the parts that failed.
struct Doc<'s> {
    sink: &'s mut dyn Sink,
    names: Names,
    limit: u64,
    failed: Vec<String>,
    stop: Option<String>,
}

impl<'s> Doc<'s> {
    fn new(sink: &'s mut dyn Sink, names: Names) -> Doc<'s> {
        let limit = part_limit(sink);
        Doc { sink, names, limit, failed: Vec::new(), stop: None }
    }

    /// The text parts of XML member `name`.
    fn xml_text<R: Read + Seek>(
        &mut self,
        zip: &mut ZipArchive<R>,
        name: &str,
        dialect: Dialect,
    ) -> Result<Vec<(String, String)>, String> {
        let part = open_member(zip, name, self.limit)?;
        extract(BufReader::new(part), name, dialect, self.limit)
    }

    /// Hands a part's text to the sink, or warns that it failed.
    fn emit(&mut self, part: &str, text: Result<String, String>) -> Result<(), String> {
        match text {
            Ok(t) => self.sink.text(part, &t).map_err(|Stop(s)| {
                self.stop = Some(s.clone());
                s
            }),
            Err(e) => {
                self.sink.warn(e);
                self.failed.push(part.to_owned());
                Ok(())
            }
        }
    }

    /// Reads member `name` as part `part` with the hyperlinks of its relationships appended.
    fn xml_part<R: Read + Seek>(&mut self, zip: &mut ZipArchive<R>, name: &str, part: &str) -> Result<(), String> {
        let text = self.xml_text(zip, name, Dialect::Ooxml).and_then(|mut t| {
            let mut text = t.remove(0).1;
            for link in part_links(zip, &self.names, name, self.limit)? {
                push_capped(&mut text, &link, self.limit, name)?;
                push_capped(&mut text, "\n", self.limit, name)?;
            }
            Ok(text)
        });
        self.emit(part, text)
    }

    fn finish(self, res: Result<(), String>) -> Result<(), String> {
        if let Some(s) = self.stop {
            return Err(s);
        }
        res?;
        failed_parts(&self.failed)
    }
}

/// One relationship of an OPC part.
struct Rel {
    kind: String,
    target: String,
}

/// The relationships in `.rels` member `name` (none if it is absent).
fn rels<R: Read + Seek>(zip: &mut ZipArchive<R>, names: &Names, name: &str, limit: u64) -> Result<Vec<Rel>, String> {
    let Some(name) = names.get(name) else { return Ok(Vec::new()) };
    let part = open_member(zip, &name, limit)?;
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(part));
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut size = 0u64;
    let mut balance = Balance::default();
    loop {
        let ev = xml.read_event_into(&mut buf).map_err(|e| xml_error(&name, &e, xml.error_position()))?;
        balance.on(&ev);
        match ev {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"Relationship" => {
                let kind = attr(&e, b"Type").unwrap_or_default();
                if let Some(target) = attr(&e, b"Target") {
                    size += (kind.len() + target.len()) as u64;
                    if size > limit {
                        return Err(format!("{name}: more relationships than {limit} bytes; not read further"));
                    }
                    out.push(Rel { kind, target });
                }
            }
            Event::Eof => {
                balance.finish(&name)?;
                break;
            }
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

/// The `.rels` member describing member `name` (`word/_rels/document.xml.rels`).
fn rels_name(name: &str) -> String {
    match name.rsplit_once('/') {
        Some((dir, file)) => format!("{dir}/_rels/{file}.rels"),
        None => format!("_rels/{name}.rels"),
    }
}

/// Hyperlink targets of member `name`, from its relationships.
fn part_links<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    names: &Names,
    name: &str,
    limit: u64,
) -> Result<Vec<String>, String> {
    Ok(rels(zip, names, &rels_name(name), limit)?
        .into_iter()
        .filter(|r| r.kind.ends_with("/hyperlink"))
        .map(|r| r.target)
        .collect())
}

/// `target` of a relationship of member `from`, as a member path (`../notesSlides/x.xml`
/// from `ppt/slides/slide1.xml` → `ppt/notesSlides/x.xml`).
fn resolve(from: &str, target: &str) -> String {
    let mut parts: Vec<&str> = match target.strip_prefix('/') {
        Some(_) => Vec::new(),
        None => from.rsplit_once('/').map(|(d, _)| d.split('/').collect()).unwrap_or_default(),
    };
    for seg in target.trim_start_matches('/').split('/') {
        match seg {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// The value of attribute `name` (qualified name as written), unescaped.
fn attr(e: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name)
        .and_then(|a| a.decode_and_unescape_value(e.decoder()).ok().map(|v| v.into_owned()))
}

/// The value of the attribute whose local name is `local` (any prefix).
fn attr_local(e: &BytesStart<'_>, local: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == local)
        .and_then(|a| a.decode_and_unescape_value(e.decoder()).ok().map(|v| v.into_owned()))
}

/// A member's file name without directory and extension (`word/header1.xml` → `header1`).
fn stem(name: &str) -> String {
    let file = name.rsplit('/').next().unwrap_or(name);
    file.rsplit_once('.').map(|(s, _)| s).unwrap_or(file).to_owned()
}

/// Sort key that puts `slide2` before `slide10`.
fn natural_key(name: &str) -> (String, u64, String) {
    let s = stem(name);
    let digits = s.len() - s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (head, num) = s.split_at(s.len() - digits);
    (format!("{}/{head}", name.rsplit_once('/').map(|(d, _)| d).unwrap_or("")), num.parse().unwrap_or(0), s.clone())
}

/// Appends `s` to `text` unless that takes it past `cap`.
fn push_capped(text: &mut String, s: &str, cap: u64, part: &str) -> Result<(), String> {
    if (text.len() + s.len()) as u64 > cap {
        return Err(format!("{part}: its text exceeds {cap} bytes; not read further"));
    }
    text.push_str(s);
    Ok(())
}

/// Which XML vocabulary a part is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// Office Open XML (WordprocessingML, DrawingML, SpreadsheetML comments).
    Ooxml,
    /// OpenDocument text (content.xml, styles.xml).
    Odf,
    /// OpenDocument presentation content: one part per page and per page's notes.
    OdfPages,
}

/// The text of one XML part, as a person reading the document sees it: text runs joined,
/// paragraphs and cells separated, link targets after the text. `Dialect::OdfPages` gives
/// `slideN` / `notesN` parts; the others one part named after `name`'s stem.
fn extract(src: impl BufRead, name: &str, dialect: Dialect, cap: u64) -> Result<Vec<(String, String)>, String> {
    let mut xml = quick_xml::Reader::from_reader(src);
    let mut buf = Vec::new();
    // (part, text, links)
    let mut parts: Vec<(String, String, Vec<String>)> = vec![(stem(name), String::new(), Vec::new())];
    let mut cur = 0usize;
    let mut page = 0u32;
    let mut total = 0u64;
    // Depth inside elements whose text is shown (w:t, a:t; text:p in ODF), and inside
    // elements whose text is not (ODF annotation author and date, note citations).
    let mut shown = 0u32;
    let mut hidden = 0u32;
    let mut balance = Balance::default();
    macro_rules! out {
        ($s:expr) => {{
            let s: &str = $s;
            total += s.len() as u64;
            if total > cap {
                return Err(format!("{name}: its text exceeds {cap} bytes; not read further"));
            }
            parts[cur].1.push_str(s);
        }};
    }
    loop {
        let ev = xml.read_event_into(&mut buf).map_err(|e| xml_error(name, &e, xml.error_position()))?;
        balance.on(&ev);
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                let local = e.local_name();
                let local = local.as_ref();
                match dialect {
                    // Inside a skipped copy: nothing but the end of the skip counts.
                    Dialect::Ooxml if hidden > 0 && local != b"Fallback" => {}
                    Dialect::Ooxml => match local {
                        b"t" | b"delText" | b"text" if !empty => shown += 1,
                        // The VML copy of a text box that `mc:Choice` already holds.
                        b"Fallback" if !empty => hidden += 1,
                        // A text box anchored inside a paragraph: its text is not part of
                        // the paragraph's words.
                        b"txbxContent" => out!("\n"),
                        b"instrText" if !empty => {
                            out!("\n");
                            shown += 1;
                        }
                        b"br" | b"cr" => out!("\n"),
                        b"tab" | b"ptab" => out!("\t"),
                        b"noBreakHyphen" => out!("-"),
                        b"fldSimple" => {
                            if let Some(i) = attr_local(e, b"instr") {
                                parts[cur].2.push(i);
                            }
                        }
                        _ => {}
                    },
                    Dialect::Odf | Dialect::OdfPages => match local {
                        b"p" | b"h" if !empty => shown += 1,
                        b"creator" | b"date" | b"note-citation" | b"initials" if !empty => hidden += 1,
                        b"line-break" => out!("\n"),
                        b"tab" => out!("\t"),
                        b"s" => out!(" "),
                        b"note" | b"annotation" | b"frame" => out!("\n"),
                        b"a" => {
                            if let Some(h) = attr_local(e, b"href") {
                                parts[cur].2.push(h);
                            }
                        }
                        b"page" if dialect == Dialect::OdfPages && !empty => {
                            page += 1;
                            parts.push((format!("slide{page}"), String::new(), Vec::new()));
                            cur = parts.len() - 1;
                        }
                        b"notes" if dialect == Dialect::OdfPages && page > 0 && !empty => {
                            parts.push((format!("notes{page}"), String::new(), Vec::new()));
                            cur = parts.len() - 1;
                        }
                        _ => {}
                    },
                }
            }
            Event::End(ref e) => {
                let local = e.local_name();
                let local = local.as_ref();
                match dialect {
                    // Inside a skipped copy: nothing but the end of the skip counts.
                    Dialect::Ooxml if hidden > 0 && local != b"Fallback" => {}
                    Dialect::Ooxml => match local {
                        b"t" | b"delText" | b"text" => shown = shown.saturating_sub(1),
                        b"Fallback" => hidden = hidden.saturating_sub(1),
                        b"txbxContent" => out!("\n"),
                        b"instrText" => {
                            shown = shown.saturating_sub(1);
                            out!("\n");
                        }
                        b"p" | b"comment" | b"tr" | b"si" => out!("\n"),
                        _ => {}
                    },
                    Dialect::Odf | Dialect::OdfPages => match local {
                        b"p" | b"h" => {
                            shown = shown.saturating_sub(1);
                            out!("\n");
                        }
                        b"creator" | b"date" | b"note-citation" | b"initials" => hidden = hidden.saturating_sub(1),
                        b"table-row" | b"note" | b"annotation" | b"frame" => out!("\n"),
                        b"notes" if dialect == Dialect::OdfPages && page > 0 => {
                            // Back to the page's own part.
                            let want = format!("slide{page}");
                            cur = parts.iter().rposition(|p| p.0 == want).unwrap_or(cur);
                        }
                        _ => {}
                    },
                }
            }
            Event::Text(ref t) if shown > 0 && hidden == 0 => {
                let s =
                    t.decode().map_err(|_| format!("{name}: text not in its declared encoding; not read further"))?;
                out!(&s);
            }
            Event::CData(ref t) if shown > 0 && hidden == 0 => {
                let s =
                    t.decode().map_err(|_| format!("{name}: text not in its declared encoding; not read further"))?;
                out!(&s);
            }
            Event::GeneralRef(ref r) if shown > 0 && hidden == 0 => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    let mut b = [0u8; 4];
                    out!(c.encode_utf8(&mut b));
                } else if let Ok(n) = r.decode() {
                    if let Some(s) = quick_xml::escape::resolve_predefined_entity(&n) {
                        out!(s);
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    balance.finish(name)?;
    let mut res = Vec::with_capacity(parts.len());
    for (i, (part, mut text, links)) in parts.into_iter().enumerate() {
        for l in links {
            total += l.len() as u64 + 1;
            if total > cap {
                return Err(format!("{name}: its text exceeds {cap} bytes; not read further"));
            }
            text.push_str(&l);
            text.push('\n');
        }
        // In a presentation, the text before the first page (none, normally) is not a part.
        if dialect == Dialect::OdfPages && i == 0 && text.trim().is_empty() {
            continue;
        }
        res.push((part, text));
    }
    Ok(res)
}

/// Member names matching `dir/prefixN.xml` (ASCII case-insensitively), in number order.
fn numbered(names: &[String], dir: &str, prefix: &str) -> Vec<(u64, String)> {
    let mut out: Vec<(u64, String)> = names
        .iter()
        .filter_map(|n| {
            let l = n.to_ascii_lowercase();
            let rest = l
                .strip_prefix(&dir.to_ascii_lowercase())?
                .strip_prefix('/')?
                .strip_prefix(&prefix.to_ascii_lowercase())?
                .strip_suffix(".xml")?;
            if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((rest.parse().ok()?, n.clone()))
        })
        .collect();
    out.sort();
    out
}

/// Files embedded in an OOXML package (`word/embeddings/`, `ppt/embeddings/`,
/// `xl/embeddings/`: a chart's workbook, an inserted document or OLE object), handed to the
/// sink as files of their own, so that they are read through the whole pipeline.
fn embeddings<R: Read + Seek>(zip: &mut ZipArchive<R>, doc: &mut Doc<'_>) -> Result<(), String> {
    let mut names: Vec<String> = zip
        .file_names()
        .filter(|n| n.to_ascii_lowercase().contains("/embeddings/") && !n.ends_with('/'))
        .map(str::to_owned)
        .collect();
    names.sort_by_key(|n| natural_key(n));
    for name in names {
        let f = match zip.by_name(&name) {
            Ok(f) => f,
            Err(e) => {
                doc.emit(&name, Err(format!("{name}: not readable ({e})")))?;
                continue;
            }
        };
        if f.encrypted() {
            doc.emit(&name, Err(format!("{name}: encrypted, not read")))?;
            continue;
        }
        let hint = super::MemberHint { compressed: Some(f.compressed_size()), size: Some(f.size()) };
        let size = f.size();
        let mut data = Capped::new(f, size, &name);
        if let Err(Stop(s)) = doc.sink.file(&name, &mut data, hint) {
            doc.stop = Some(s.clone());
            return Err(s);
        }
    }
    Ok(())
}

/// SmartArt text (`word/diagrams/data1.xml`, `ppt/diagrams/data1.xml`: what a diagram shows
/// is kept there, not in the slide or the body), one part per diagram (`diagram1`).
fn diagrams<R: Read + Seek>(zip: &mut ZipArchive<R>, doc: &mut Doc<'_>, dir: &str) -> Result<(), String> {
    let names: Vec<String> = zip.file_names().map(str::to_owned).collect();
    for (n, name) in numbered(&names, &format!("{dir}/diagrams"), "data") {
        doc.xml_part(zip, &name, &format!("diagram{n}"))?;
    }
    Ok(())
}

/// A Word document: body, headers, footers, comments, footnotes, endnotes.
fn docx<R: Read + Seek>(zip: &mut ZipArchive<R>, doc: &mut Doc<'_>) -> Result<(), String> {
    let names: Vec<String> = zip.file_names().map(str::to_owned).collect();
    let main = doc.names.get("word/document.xml").ok_or("word/document.xml missing")?;
    doc.xml_part(zip, &main, "document")?;
    for kind in ["header", "footer"] {
        for (_, n) in numbered(&names, "word", kind) {
            doc.xml_part(zip, &n, &stem(&n))?;
        }
    }
    for part in ["comments", "footnotes", "endnotes"] {
        if let Some(n) = doc.names.get(&format!("word/{part}.xml")) {
            doc.xml_part(zip, &n, part)?;
        }
    }
    diagrams(zip, doc, "word")?;
    embeddings(zip, doc)
}

/// A PowerPoint presentation: each slide and its notes, in slide number order; notes not
/// tied to a slide, and comments, after.
fn pptx<R: Read + Seek>(zip: &mut ZipArchive<R>, doc: &mut Doc<'_>) -> Result<(), String> {
    let names: Vec<String> = zip.file_names().map(str::to_owned).collect();
    let mut notes_read = Vec::new();
    for (n, slide) in numbered(&names, "ppt/slides", "slide") {
        doc.xml_part(zip, &slide, &format!("slide{n}"))?;
        let notes = match rels(zip, &doc.names, &rels_name(&slide), doc.limit) {
            Ok(rs) => rs.into_iter().find(|r| r.kind.ends_with("/notesSlide")).map(|r| resolve(&slide, &r.target)),
            Err(e) => {
                doc.emit(&format!("notes{n}"), Err(e))?;
                None
            }
        };
        if let Some(notes) = notes.and_then(|t| doc.names.get(&t)) {
            doc.xml_part(zip, &notes, &format!("notes{n}"))?;
            notes_read.push(notes);
        }
    }
    for (_, notes) in numbered(&names, "ppt/notesSlides", "notesSlide") {
        if !notes_read.contains(&notes) {
            doc.xml_part(zip, &notes, &stem(&notes))?;
        }
    }
    let mut comments: Vec<&String> = names
        .iter()
        .filter(|n| {
            let l = n.to_ascii_lowercase();
            l.starts_with("ppt/comments/") && l.ends_with(".xml")
        })
        .collect();
    comments.sort_by_key(|n| natural_key(n));
    for c in comments {
        doc.xml_part(zip, c, &stem(c))?;
    }
    diagrams(zip, doc, "ppt")?;
    embeddings(zip, doc)
}

/// Whether an ODF package's manifest says its content is encrypted.
fn odf_encrypted<R: Read + Seek>(zip: &mut ZipArchive<R>, limit: u64) -> Result<bool, String> {
    let Some(name) = member_name(zip, "META-INF/manifest.xml") else { return Ok(false) };
    let part = open_member(zip, &name, limit)?;
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(part));
    let mut buf = Vec::new();
    loop {
        match xml.read_event_into(&mut buf).map_err(|e| xml_error(&name, &e, xml.error_position()))? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"encryption-data" => return Ok(true),
            Event::Eof => return Ok(false),
            _ => {}
        }
        buf.clear();
    }
}

/// An OpenDocument text (content, and headers and footers from styles) or presentation
/// (one part per page and per page's notes).
fn odt_odp<R: Read + Seek>(kind: OfficeKind, zip: &mut ZipArchive<R>, doc: &mut Doc<'_>) -> Result<(), String> {
    if odf_encrypted(zip, doc.limit)? {
        return Err(format!("password-protected {} document: its content is encrypted and was not read", kind.name()));
    }
    let content = doc.names.get("content.xml").ok_or("content.xml missing")?;
    let dialect = if kind == OfficeKind::Odp { Dialect::OdfPages } else { Dialect::Odf };
    match doc.xml_text(zip, &content, dialect) {
        Ok(parts) => {
            for (part, text) in parts {
                let part = if kind == OfficeKind::Odt { "document".to_owned() } else { part };
                doc.emit(&part, Ok(text))?;
            }
        }
        Err(e) => doc.emit(if kind == OfficeKind::Odt { "document" } else { "content" }, Err(e))?,
    }
    if let Some(styles) = doc.names.get("styles.xml") {
        let text = doc.xml_text(zip, &styles, Dialect::Odf).map(|mut t| t.remove(0).1);
        // Headers and footers of a text; the master pages (footers, logos' captions) of a
        // presentation.
        doc.emit(if kind == OfficeKind::Odt { "headers" } else { "masters" }, text)?;
    }
    Ok(())
}

/// One sheet of an ods being read.
struct OdsSheet {
    name: String,
    rows: Vec<Vec<String>>,
}

/// An OpenDocument spreadsheet, streamed from `content.xml`: one table per sheet (repeated
/// rows and cells expanded within the cap; empty ones dropped), then hyperlink targets.
fn ods<R: Read + Seek>(zip: &mut ZipArchive<R>, doc: &mut Doc<'_>) -> Result<(), String> {
    if odf_encrypted(zip, doc.limit)? {
        return Err("password-protected ods document: its content is encrypted and was not read".into());
    }
    let name = doc.names.get("content.xml").ok_or("content.xml missing")?;
    let cap = doc.limit;
    let part = open_member(zip, &name, cap)?;
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(part));
    let mut buf = Vec::new();
    let mut sheet: Option<OdsSheet> = None;
    let mut links: Vec<String> = Vec::new();
    let mut produced = 0u64;
    // Row being built: cells, empty cells owed before the next non-empty one, repeat count.
    let mut row: Vec<String> = Vec::new();
    let mut owed = 0usize;
    let mut row_repeat = 1u64;
    // Cell being built: text, repeat count, value attribute, depth inside text:p.
    let mut cell: Option<(String, u64, Option<String>)> = None;
    let mut in_p = 0u32;
    let mut hidden = 0u32;
    let mut paragraphs = 0u32;
    let mut balance = Balance::default();
    let over = |sheet: &str| format!("sheet {sheet}: its cells exceed {cap} bytes; not read further");
    loop {
        let ev = xml.read_event_into(&mut buf).map_err(|e| xml_error(&name, &e, xml.error_position()))?;
        balance.on(&ev);
        let (start, end_now) = match &ev {
            Event::Start(e) => (Some(e.clone()), false),
            Event::Empty(e) => (Some(e.clone()), true),
            _ => (None, false),
        };
        if let Some(e) = start {
            let local = e.local_name();
            match local.as_ref() {
                b"table" if sheet.is_none() && !end_now => {
                    let n = attr_local(&e, b"name").unwrap_or_else(|| "Sheet".into());
                    sheet = Some(OdsSheet { name: n, rows: Vec::new() });
                }
                b"table-row" if sheet.is_some() => {
                    row.clear();
                    owed = 0;
                    row_repeat = attr_local(&e, b"number-rows-repeated").and_then(|v| v.parse().ok()).unwrap_or(1);
                }
                b"table-cell" | b"covered-table-cell" if sheet.is_some() => {
                    let repeat = attr_local(&e, b"number-columns-repeated").and_then(|v| v.parse().ok()).unwrap_or(1);
                    let value = ["value", "date-value", "time-value", "boolean-value", "string-value"]
                        .iter()
                        .find_map(|a| attr_local(&e, a.as_bytes()));
                    cell = Some((String::new(), repeat, value));
                    paragraphs = 0;
                }
                b"p" | b"h" if cell.is_some() && !end_now => {
                    if paragraphs > 0 {
                        if let Some(c) = cell.as_mut() {
                            c.0.push('\n');
                        }
                    }
                    paragraphs += 1;
                    in_p += 1;
                }
                b"creator" | b"date" if !end_now => hidden += 1,
                b"line-break" | b"annotation" => {
                    if let Some(c) = cell.as_mut() {
                        c.0.push('\n');
                    }
                }
                b"tab" | b"s" if in_p > 0 => {
                    if let Some(c) = cell.as_mut() {
                        c.0.push(if local.as_ref() == b"tab" { '\t' } else { ' ' });
                    }
                }
                b"a" => {
                    if let Some(h) = attr_local(&e, b"href") {
                        produced += h.len() as u64 + CELL_OVERHEAD;
                        links.push(h);
                    }
                }
                _ => {}
            }
        }
        let end_local: Option<Vec<u8>> = match &ev {
            Event::End(e) => Some(e.local_name().as_ref().to_vec()),
            Event::Empty(e) => Some(e.local_name().as_ref().to_vec()),
            _ => None,
        };
        match &ev {
            Event::Text(t) if in_p > 0 && hidden == 0 => {
                let s =
                    t.decode().map_err(|_| format!("{name}: text not in its declared encoding; not read further"))?;
                if let Some(c) = cell.as_mut() {
                    c.0.push_str(&s);
                    produced += s.len() as u64;
                }
            }
            Event::GeneralRef(r) if in_p > 0 && hidden == 0 => {
                if let Some(c) = cell.as_mut() {
                    if let Ok(Some(ch)) = r.resolve_char_ref() {
                        c.0.push(ch);
                    } else if let Ok(n) = r.decode() {
                        c.0.push_str(quick_xml::escape::resolve_predefined_entity(&n).unwrap_or(""));
                    }
                }
            }
            _ => {}
        }
        if let Some(local) = end_local {
            match local.as_slice() {
                b"p" | b"h" if matches!(ev, Event::End(_)) => in_p = in_p.saturating_sub(1),
                b"creator" | b"date" if matches!(ev, Event::End(_)) => hidden = hidden.saturating_sub(1),
                b"table-cell" | b"covered-table-cell" => {
                    if let Some((mut text, repeat, value)) = cell.take() {
                        if text.is_empty() {
                            text = value.unwrap_or_default();
                        }
                        let repeat = usize::try_from(repeat).unwrap_or(MAX_COLUMNS).min(MAX_COLUMNS);
                        if text.is_empty() {
                            owed = owed.saturating_add(repeat);
                        } else {
                            let room = MAX_COLUMNS.saturating_sub(row.len() + owed).max(1);
                            let n = repeat.min(room);
                            produced += owed as u64 + (text.len() as u64 + CELL_OVERHEAD) * n as u64;
                            if produced > cap {
                                return Err(over(sheet.as_ref().map_or("", |s| s.name.as_str())));
                            }
                            row.resize(row.len() + owed, String::new());
                            owed = 0;
                            for _ in 1..n {
                                row.push(text.clone());
                            }
                            row.push(text);
                        }
                    }
                }
                b"table-row" => {
                    if let Some(s) = sheet.as_mut() {
                        if !row.is_empty() {
                            let bytes: u64 = row.iter().map(|c| c.len() as u64 + CELL_OVERHEAD).sum();
                            let n = row_repeat.max(1);
                            produced = produced.saturating_add(bytes.saturating_mul(n - 1));
                            if produced > cap {
                                return Err(over(&s.name));
                            }
                            for _ in 1..n {
                                s.rows.push(row.clone());
                            }
                            s.rows.push(std::mem::take(&mut row));
                        }
                    }
                }
                b"table" => {
                    if let Some(s) = sheet.take() {
                        let mut rows = s.rows.into_iter();
                        doc.sink.table(&s.name, &mut rows).map_err(|Stop(e)| e)?;
                    }
                }
                _ => {}
            }
        }
        if produced > cap {
            return Err(over(sheet.as_ref().map_or("", |s| s.name.as_str())));
        }
        if matches!(ev, Event::Eof) {
            break;
        }
        buf.clear();
    }
    balance.finish(&name)?;
    if !links.is_empty() {
        let mut text = links.join("\n");
        text.push('\n');
        doc.emit("hyperlinks", Ok(text))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Documents are made by independent libraries (Python `openpyxl`, `XlsxWriter`,
    //! `python-docx`, `python-pptx`, `odfpy`, `xlwt`), never by leakdex.
    use super::super::testing::{Collect, Got};
    use super::*;
    use std::io::Cursor;
    use std::process::Command;

    /// Python packages the fixtures need (for CI: `pip install` these).
    const PY_PACKAGES: &str = "openpyxl XlsxWriter python-docx python-pptx odfpy xlwt";

    /// Runs a Python script that writes a document to standard output; its bytes.
    fn py(script: &str) -> Vec<u8> {
        let out = Command::new("python3")
            .arg("-c")
            .arg(format!("import io, sys, zipfile\n{script}"))
            .output()
            .expect("python3 runs (the office fixtures are generated by Python libraries)");
        assert!(
            out.status.success(),
            "fixture script failed (pip install {PY_PACKAGES}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn kind_of(bytes: &[u8]) -> Option<OfficeKind> {
        office_kind(&mut ZipArchive::new(Cursor::new(bytes)).unwrap())
    }

    /// Reads `bytes` as the office document it is, with `budget`.
    fn read(bytes: &[u8], budget: u64) -> (Collect, Result<(), String>) {
        let kind = kind_of(bytes).expect("an office document");
        let mut sink = Collect::new();
        sink.budget = budget;
        let res = read_office(kind, &mut Cursor::new(bytes), bytes.len() as u64, &mut sink);
        (sink, res)
    }

    fn texts(c: &Collect) -> Vec<(&str, &str)> {
        c.got
            .iter()
            .filter_map(|g| if let Got::Text(p, t) = g { Some((p.as_str(), t.as_str())) } else { None })
            .collect()
    }

    fn tables(c: &Collect) -> Vec<(&str, &Vec<Vec<String>>)> {
        c.got.iter().filter_map(|g| if let Got::Table(p, r) = g { Some((p.as_str(), r)) } else { None }).collect()
    }

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| (*c).to_owned()).collect()
    }

    const OUT: &str = "sys.stdout.buffer.write(buf.getvalue())";

    #[test]
    fn xlsx_every_sheet_hidden_ones_too_is_a_table_with_cached_formula_values_comments_and_links() {
        let bytes = py(&format!(
            r#"
import xlsxwriter
buf = io.BytesIO()
wb = xlsxwriter.Workbook(buf, {{'in_memory': True}})
ws = wb.add_worksheet('連絡先')
ws.write_row(0, 0, ['氏名', 'メールアドレス', '内線'])
ws.write_row(1, 0, ['山田 太郎', 'taro.yamada@example.com', 4021])
ws.write(2, 0, '佐藤 花子')
ws.write_formula(2, 1, '=LOWER("HANAKO@EXAMPLE.ORG")', None, 'hanako@example.org')
ws.write(2, 2, 3.5)
ws.write_comment(1, 0, '連絡先：comment.person@example.net（至急）')
ws.write_url(4, 0, 'mailto:link.target@example.com', string='メールはこちら')
hidden = wb.add_worksheet('非表示')
hidden.write(3, 2, 'hidden.staff@example.test')
hidden.hide()
wb.close()
{OUT}"#
        ));
        assert_eq!(kind_of(&bytes), Some(OfficeKind::Xlsx));
        let (c, res) = read(&bytes, 1 << 30);
        assert_eq!(res, Ok(()));
        assert!(c.warnings().is_empty(), "{:?}", c.warnings());
        let t = tables(&c);
        assert_eq!(t.len(), 2, "{t:?}");
        assert_eq!(t[0].0, "連絡先");
        assert_eq!(
            t[0].1,
            &vec![
                row(&["氏名", "メールアドレス", "内線"]),
                row(&["山田 太郎", "taro.yamada@example.com", "4021"]),
                row(&["佐藤 花子", "hanako@example.org", "3.5"]),
                row(&["メールはこちら"]),
            ]
        );
        // The hidden sheet, its cell at C4 in the third column.
        assert_eq!(t[1], ("非表示", &vec![row(&["", "", "hidden.staff@example.test"])]));
        let all = c.all_text();
        assert!(all.contains("連絡先：comment.person@example.net（至急）"), "{all}");
        assert!(all.contains("mailto:link.target@example.com\n"), "{all}");
    }

    #[test]
    fn xlsx_embedded_files_beyond_the_part_cap_go_to_the_sink_and_do_not_stop_the_sheets() {
        let bytes = py(&format!(
            r#"
import openpyxl
wb = openpyxl.Workbook(); wb.active['B2'] = 'embed.owner@example.com'
src = io.BytesIO(); wb.save(src)
buf = io.BytesIO()
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as zout:
    for m in zin.infolist():
        zout.writestr(m, zin.read(m.filename))
    zout.writestr('xl/embeddings/oleObject1.bin', b'\0' * (2 << 20))
    zout.writestr('xl/media/image1.png', b'\x89PNG' + b'\0' * (2 << 20))
{OUT}"#
        ));
        let (c, res) = read(&bytes, 1 << 20);
        assert_eq!(res, Ok(()));
        assert_eq!(tables(&c), [("Sheet", &vec![row(&["", "embed.owner@example.com"])])]);
        let files: Vec<(&str, usize)> = c
            .got
            .iter()
            .filter_map(|g| if let Got::File(n, d) = g { Some((n.as_str(), d.len())) } else { None })
            .collect();
        assert_eq!(files, [("xl/embeddings/oleObject1.bin", 2 << 20)]);
    }

    #[test]
    fn xlsx_from_openpyxl_very_hidden_sheet_numbers_and_dates_are_read() {
        let bytes = py(&format!(
            r#"
import openpyxl, datetime
wb = openpyxl.Workbook()
ws = wb.active
ws.title = 'Staff'
ws.append(['E-Mail-Adresse', 'Name'])
ws.append(['jürgen.müller@example.de.example', 'Jürgen'])
ws.append([12345, datetime.date(2021, 5, 26)])
vh = wb.create_sheet('секрет')
vh['A1'] = 'ivan@example.org'
vh.sheet_state = 'veryHidden'
buf = io.BytesIO()
wb.save(buf)
{OUT}"#
        ));
        let (c, res) = read(&bytes, 1 << 30);
        assert_eq!(res, Ok(()));
        let t = tables(&c);
        assert_eq!(t.iter().map(|t| t.0).collect::<Vec<_>>(), ["Staff", "секрет"]);
        assert_eq!(t[0].1[0], row(&["E-Mail-Adresse", "Name"]));
        assert_eq!(t[0].1[1], row(&["jürgen.müller@example.de.example", "Jürgen"]));
        assert_eq!(t[0].1[2][0], "12345");
        // The date as its serial number (days since 1899-12-30, by Python's datetime).
        assert_eq!(t[0].1[2][1], "44342");
        assert_eq!(t[1].1, &vec![row(&["ivan@example.org"])]);
    }

    #[test]
    fn xls_from_xlwt_sheets_with_japanese_names_are_tables() {
        let bytes = py(&format!(
            r#"
import xlwt
wb = xlwt.Workbook(encoding='utf-8')
ws = wb.add_sheet('名簿')
ws.write(0, 0, 'メールアドレス')
ws.write(1, 0, 'ichiro.suzuki@example.com')
ws.write(1, 1, 7)
ws2 = wb.add_sheet('Sheet2')
ws2.write(2, 1, 'second@example.net')
buf = io.BytesIO()
wb.save(buf)
{OUT}"#
        ));
        let mut sink = Collect::new();
        assert_eq!(read_xls(&mut Cursor::new(&bytes), &mut sink), Ok(()));
        let t = tables(&sink);
        assert_eq!(t[0], ("名簿", &vec![row(&["メールアドレス", ""]), row(&["ichiro.suzuki@example.com", "7"])]));
        assert_eq!(t[1].0, "Sheet2");
        assert!(t[1].1.iter().any(|r| r.contains(&"second@example.net".to_owned())), "{:?}", t[1]);
    }

    /// A docx from python-docx with an address split across runs, a table, a header, a
    /// footer, a comment, a mailto hyperlink, and a footnotes part added with zipfile.
    fn docx_fixture() -> Vec<u8> {
        py(&format!(
            r#"
import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
d = docx.Document()
p = d.add_paragraph('担当：')
p.add_run('taro@exam')
p.add_run('ple.com')
d.add_paragraph('hanako@example.org')
t = d.add_table(rows=1, cols=2)
t.cell(0, 0).text = 'cell.one@example.net'
t.cell(0, 1).text = 'cell.two@example.net'
sec = d.sections[0]
sec.header.paragraphs[0].text = 'header.addr@example.com'
sec.footer.paragraphs[0].text = '問い合わせ footer.addr@example.org'
run = d.add_paragraph().add_run('コメント対象')
d.add_comment(run, text='comment.addr@example.test', author='Reviewer')
lp = d.add_paragraph()
rid = lp.part.relate_to('mailto:linked.only@example.com', RT.HYPERLINK, is_external=True)
h = OxmlElement('w:hyperlink')
h.set(qn('r:id'), rid)
r = OxmlElement('w:r')
tx = OxmlElement('w:t')
tx.text = 'メールする'
r.append(tx)
h.append(r)
lp._p.append(h)
src = io.BytesIO()
d.save(src)
notes = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
  '<w:footnotes xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
  '<w:footnote w:id="1"><w:p><w:r><w:t>脚注 foot.note@example.net</w:t></w:r></w:p></w:footnote>'
  '</w:footnotes>')
buf = io.BytesIO()
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as zout:
    for i in zin.infolist():
        zout.writestr(i, zin.read(i.filename))
    zout.writestr('word/footnotes.xml', notes)
{OUT}"#
        ))
    }

    #[test]
    fn docx_body_runs_join_and_headers_footers_comments_footnotes_links_are_parts() {
        let bytes = docx_fixture();
        assert_eq!(kind_of(&bytes), Some(OfficeKind::Docx));
        let (c, res) = read(&bytes, 1 << 30);
        assert_eq!(res, Ok(()), "{:?}", c.warnings());
        let t = texts(&c);
        let parts: Vec<&str> = t.iter().map(|t| t.0).collect();
        assert_eq!(parts, ["document", "header1", "footer1", "comments", "footnotes"]);
        let doc = t[0].1;
        // Runs of one paragraph join without a separator; paragraphs and cells end words.
        assert!(doc.contains("担当：taro@example.com\n"), "{doc:?}");
        assert!(doc.contains("\nhanako@example.org\n"), "{doc:?}");
        assert!(doc.contains("\ncell.one@example.net\ncell.two@example.net\n"), "{doc:?}");
        assert!(doc.contains("メールする\n"), "{doc:?}");
        assert!(doc.contains("mailto:linked.only@example.com\n"), "{doc:?}");
        assert!(t[1].1.contains("header.addr@example.com"));
        assert!(t[2].1.contains("問い合わせ footer.addr@example.org"));
        assert!(t[3].1.contains("comment.addr@example.test"));
        assert!(t[4].1.contains("脚注 foot.note@example.net"));
    }

    #[test]
    fn ooxml_runs_join_paragraphs_breaks_and_references_separate() {
        let xml = r#"<?xml version="1.0"?><w:document xmlns:w="w"><w:body>
<w:p><w:r><w:t>taro@exam</w:t></w:r><w:r><w:t xml:space="preserve">ple.com</w:t></w:r></w:p>
<w:p><w:r><w:t>jiro&#x40;example.org</w:t><w:br/><w:t>next&amp;co@example.net</w:t><w:tab/><w:t>x@example.com</w:t></w:r></w:p>
<w:p><w:r><w:instrText> HYPERLINK "mailto:field@example.com" </w:instrText></w:r><w:r><w:t>shown</w:t></w:r></w:p>
<w:p><w:r><w:t>見出し</w:t></w:r><w:r><mc:AlternateContent xmlns:mc="mc"><mc:Choice><w:txbxContent><w:p><w:r><w:t>box@example.com</w:t></w:r></w:p></w:txbxContent></mc:Choice><mc:Fallback><w:txbxContent><w:p><w:r><w:t>box@example.com</w:t></w:r></w:p></w:txbxContent></mc:Fallback></mc:AlternateContent></w:r></w:p>
</w:body></w:document>"#;
        let parts = extract(xml.as_bytes(), "word/document.xml", Dialect::Ooxml, 1 << 20).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].0, "document");
        assert_eq!(
            parts[0].1,
            "taro@example.com\njiro@example.org\nnext&co@example.net\tx@example.com\n\n HYPERLINK \"mailto:field@example.com\" \nshown\n見出し\nbox@example.com\n\n\n"
        );
    }

    #[test]
    fn text_beyond_the_cap_is_an_error_naming_the_part() {
        let xml = format!("<w:document xmlns:w=\"w\"><w:p><w:t>{}</w:t></w:p></w:document>", "a".repeat(5000));
        let err = extract(xml.as_bytes(), "word/header2.xml", Dialect::Ooxml, 4096).unwrap_err();
        assert!(err.starts_with("word/header2.xml: its text exceeds 4096 bytes"), "{err}");
    }

    #[test]
    fn pptx_slides_and_their_notes_in_slide_order() {
        let bytes = py(&format!(
            r#"
from pptx import Presentation
from pptx.util import Inches
from pptx.chart.data import CategoryChartData
from pptx.enum.chart import XL_CHART_TYPE
prs = Presentation()
for i, (body, note) in enumerate([('第1回 会議 slide.one@example.com', None),
                                   ('two', 'notes.two@example.org（確認）'),
                                   ('three', None)]):
    s = prs.slides.add_slide(prs.slide_layouts[6])
    tb = s.shapes.add_textbox(Inches(1), Inches(1), Inches(4), Inches(1))
    tb.text_frame.text = body
    if note:
        s.notes_slide.notes_text_frame.text = note
    if i == 2:
        cd = CategoryChartData()
        cd.categories = ['chart.category@example.net', 'other']
        cd.add_series('件数', (3, 4))
        s.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(1), Inches(2), Inches(4), Inches(3), cd)
src = io.BytesIO()
prs.save(src)
# SmartArt keeps its text in a data part of its own (python-pptx cannot make one).
data = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
  '<dgm:dataModel xmlns:dgm="http://schemas.openxmlformats.org/drawingml/2006/diagram" '
  'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><dgm:ptLst><dgm:pt modelId="1">'
  '<dgm:t><a:bodyPr/><a:p><a:r><a:t>smart.art@example.org</a:t></a:r></a:p></dgm:t></dgm:pt></dgm:ptLst></dgm:dataModel>')
buf = io.BytesIO()
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as zout:
    for m in zin.infolist():
        zout.writestr(m, zin.read(m.filename))
    zout.writestr('ppt/diagrams/data1.xml', data)
{OUT}"#
        ));
        assert_eq!(kind_of(&bytes), Some(OfficeKind::Pptx));
        let (c, res) = read(&bytes, 1 << 30);
        assert_eq!(res, Ok(()), "{:?}", c.warnings());
        let t = texts(&c);
        assert_eq!(t.iter().map(|t| t.0).collect::<Vec<_>>(), ["slide1", "slide2", "notes2", "slide3", "diagram1"]);
        assert_eq!(t[0].1, "第1回 会議 slide.one@example.com\n");
        assert!(t[2].1.contains("notes.two@example.org（確認）\n"), "{:?}", t[2]);
        assert_eq!(t[4].1, "smart.art@example.org\n");
        // The chart's workbook is a file of its own, read through the pipeline again.
        let files: Vec<(&String, &Vec<u8>)> =
            c.got.iter().filter_map(|g| if let Got::File(n, d) = g { Some((n, d)) } else { None }).collect();
        assert_eq!(files.len(), 1);
        assert!(files[0].0.starts_with("ppt/embeddings/") && files[0].0.ends_with(".xlsx"), "{}", files[0].0);
        let (inner, res) = read(files[0].1, 1 << 30);
        assert_eq!(res, Ok(()));
        assert!(inner.all_text().contains("chart.category@example.net"), "{}", inner.all_text());
    }

    #[test]
    fn odt_paragraphs_links_and_headers_are_read() {
        let bytes = py(&format!(
            r#"
from odf.opendocument import OpenDocumentText
from odf.style import MasterPage, Header, Footer, PageLayout
from odf.text import P, A, Span, LineBreak
doc = OpenDocumentText()
pl = PageLayout(name='pl')
doc.automaticstyles.addElement(pl)
mp = MasterPage(name='Standard', pagelayoutname=pl)
h = Header(); h.addElement(P(text='ヘッダー head@example.org')); mp.addElement(h)
f = Footer(); f.addElement(P(text='foot@example.org')); mp.addElement(f)
doc.masterstyles.addElement(mp)
p = P(text='担当: ')
p.addElement(Span(text='yoshida@exam'))
p.addElement(Span(text='ple.com'))
doc.text.addElement(p)
p2 = P(text='line1@example.net')
p2.addElement(LineBreak())
p2.addText('line2@example.net')
doc.text.addElement(p2)
p3 = P()
p3.addElement(A(href='mailto:odt.link@example.com', text='連絡'))
doc.text.addElement(p3)
buf = io.BytesIO()
doc.write(buf)
{OUT}"#
        ));
        assert_eq!(kind_of(&bytes), Some(OfficeKind::Odt));
        let (c, res) = read(&bytes, 1 << 30);
        assert_eq!(res, Ok(()), "{:?}", c.warnings());
        let t = texts(&c);
        assert_eq!(t.iter().map(|t| t.0).collect::<Vec<_>>(), ["document", "headers"]);
        assert!(t[0].1.contains("担当: yoshida@example.com\n"), "{:?}", t[0]);
        assert!(t[0].1.contains("line1@example.net\nline2@example.net\n"), "{:?}", t[0]);
        assert!(t[0].1.contains("連絡\n"), "{:?}", t[0]);
        assert!(t[0].1.contains("mailto:odt.link@example.com\n"), "{:?}", t[0]);
        assert!(t[1].1.contains("ヘッダー head@example.org\n"), "{:?}", t[1]);
        assert!(t[1].1.contains("foot@example.org\n"), "{:?}", t[1]);
    }

    #[test]
    fn ods_sheets_are_tables_with_repeated_cells_expanded() {
        let bytes = py(&format!(
            r#"
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table, TableRow, TableCell
from odf.text import P
doc = OpenDocumentSpreadsheet()
def sheet(name, rows):
    t = Table(name=name)
    for r in rows:
        tr = TableRow()
        for v in r:
            if v is None:
                tr.addElement(TableCell())
            elif isinstance(v, tuple):
                c = TableCell(numbercolumnsrepeated=v[1])
                c.addElement(P(text=v[0]))
                tr.addElement(c)
            elif isinstance(v, float):
                c = TableCell(valuetype='float', value=v)
                c.addElement(P(text=str(v)))
                tr.addElement(c)
            else:
                c = TableCell(valuetype='string')
                c.addElement(P(text=v))
                tr.addElement(c)
        t.addElement(tr)
    doc.spreadsheet.addElement(t)
sheet('職員', [['メールアドレス', '氏名'], ['kimura@example.com', '木村'], [None, None], [None, 'tail@example.org']])
sheet('Rep', [[('same@example.net', 3), 2.5]])
buf = io.BytesIO()
doc.write(buf)
{OUT}"#
        ));
        assert_eq!(kind_of(&bytes), Some(OfficeKind::Ods));
        let (c, res) = read(&bytes, 1 << 30);
        assert_eq!(res, Ok(()), "{:?}", c.warnings());
        let t = tables(&c);
        assert_eq!(t.len(), 2);
        assert_eq!(
            t[0],
            (
                "職員",
                &vec![
                    row(&["メールアドレス", "氏名"]),
                    row(&["kimura@example.com", "木村"]),
                    row(&["", "tail@example.org"])
                ]
            )
        );
        assert_eq!(t[1], ("Rep", &vec![row(&["same@example.net", "same@example.net", "same@example.net", "2.5"])]));
    }

    #[test]
    fn odp_pages_and_notes_are_slide_and_notes_parts() {
        let bytes = py(&format!(
            r#"
from odf.opendocument import OpenDocumentPresentation
from odf.style import MasterPage, PageLayout
from odf.draw import Page, Frame, TextBox
from odf.presentation import Notes
from odf.text import P
doc = OpenDocumentPresentation()
pl = PageLayout(name='pl'); doc.automaticstyles.addElement(pl)
mp = MasterPage(name='m', pagelayoutname=pl); doc.masterstyles.addElement(mp)
for body, note in [('page.one@example.com', 'note.one@example.org'), ('二枚目 page.two@example.com', None)]:
    pg = Page(masterpagename=mp)
    fr = Frame(width='10cm', height='2cm', x='1cm', y='1cm'); tb = TextBox(); tb.addElement(P(text=body)); fr.addElement(tb); pg.addElement(fr)
    if note:
        n = Notes(); nf = Frame(width='10cm', height='2cm', x='1cm', y='1cm'); nt = TextBox(); nt.addElement(P(text=note)); nf.addElement(nt); n.addElement(nf); pg.addElement(n)
    doc.presentation.addElement(pg)
buf = io.BytesIO()
doc.write(buf)
{OUT}"#
        ));
        assert_eq!(kind_of(&bytes), Some(OfficeKind::Odp));
        let (c, res) = read(&bytes, 1 << 30);
        assert_eq!(res, Ok(()), "{:?}", c.warnings());
        // Frames end words too: each text box's text stands on lines of its own.
        let t: Vec<(&str, &str)> =
            texts(&c).into_iter().filter(|t| t.0 != "masters").map(|(p, t)| (p, t.trim_matches('\n'))).collect();
        assert_eq!(
            t,
            [
                ("slide1", "page.one@example.com"),
                ("notes1", "note.one@example.org"),
                ("slide2", "二枚目 page.two@example.com")
            ]
        );
    }

    #[test]
    fn a_plain_zip_is_not_an_office_document() {
        let bytes = py(&format!(
            r#"
buf = io.BytesIO()
with zipfile.ZipFile(buf, 'w') as z:
    z.writestr('word/document.xml', '<x/>')
    z.writestr('mimetype', 'application/zip')
{OUT}"#
        ));
        assert_eq!(kind_of(&bytes), None);
    }

    /// An xlsx whose shared-strings table holds `entries` tiny strings (`<si><t>a</t></si>`,
    /// 15 bytes each), compressing to a few KiB.
    fn shared_strings_bomb(entries: usize) -> Vec<u8> {
        strings_part(entries, "xl/sharedStrings.xml")
    }

    /// As [`shared_strings_bomb`], the table stored as member `member`.
    fn strings_part(entries: usize, member: &str) -> Vec<u8> {
        py(&format!(
            r#"
import openpyxl
wb = openpyxl.Workbook(); wb.active['A1'] = 'x@example.com'
src = io.BytesIO(); wb.save(src)
n = {entries}
sst = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">' % (n, n)) + '<si><t>a</t></si>' * n + '</sst>'
buf = io.BytesIO()
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as zout:
    for i in zin.infolist():
        if i.filename != 'xl/sharedStrings.xml':
            zout.writestr(i.filename, zin.read(i.filename))
    zout.writestr('{member}', sst)
{OUT}"#
        ))
    }

    #[test]
    fn xlsx_shared_strings_bomb_beyond_the_budget_is_refused_naming_the_part() {
        let bytes = shared_strings_bomb(8 << 20 >> 4);
        assert!(bytes.len() < 200_000, "{}", bytes.len());
        let (c, res) = read(&bytes, 1 << 20);
        let err = res.unwrap_err();
        assert!(err.starts_with("xl/sharedStrings.xml: declares"), "{err}");
        assert!(err.contains("more than the 1048576 bytes one part may take"), "{err}");
        assert!(tables(&c).is_empty());
    }

    #[test]
    fn xlsx_shared_strings_that_would_take_more_memory_than_the_budget_are_refused() {
        // 50,000 strings: 750 KB of XML, under the 1 MiB budget, but about 2.35 MB once
        // each is a string in memory.
        let bytes = shared_strings_bomb(50_000);
        let (_, res) = read(&bytes, 1 << 20);
        let err = res.unwrap_err();
        assert!(err.starts_with("xl/sharedStrings.xml: 50000 shared strings would take about"), "{err}");
        let (c, res) = read(&bytes, 1 << 30);
        assert_eq!(res, Ok(()));
        assert_eq!(tables(&c)[0].1, &vec![row(&["x@example.com"])]);
        // The workbook's relationships may name any part as the table: every part counts.
        let bytes = strings_part(50_000, "xl/strings.xml");
        let err = read(&bytes, 1 << 20).1.unwrap_err();
        assert!(err.starts_with("xl/strings.xml: 50000 shared strings would take about"), "{err}");
    }

    #[test]
    fn xlsx_part_expanding_beyond_its_declared_size_is_refused_naming_the_part() {
        let mut bytes = shared_strings_bomb(2 << 20 >> 4);
        // Make the shared-strings member declare 1000 bytes (central directory and local
        // header) while it expands to 2 MiB.
        let name = b"xl/sharedStrings.xml";
        let mut patched = 0;
        for i in 0..bytes.len().saturating_sub(46) {
            let (off, size_at) = match &bytes[i..i + 4] {
                b"PK\x01\x02" => (46, 24),
                b"PK\x03\x04" => (30, 22),
                _ => continue,
            };
            let len = u16::from_le_bytes([bytes[i + off - 18], bytes[i + off - 17]]) as usize;
            let len = if off == 46 { len } else { u16::from_le_bytes([bytes[i + 26], bytes[i + 27]]) as usize };
            if bytes.get(i + off..i + off + len) == Some(&name[..]) {
                bytes[i + size_at..i + size_at + 4].copy_from_slice(&1000u32.to_le_bytes());
                patched += 1;
            }
        }
        assert_eq!(patched, 2);
        let (_, res) = read(&bytes, 1 << 30);
        let err = res.unwrap_err();
        assert!(err.starts_with("xl/sharedStrings.xml"), "{err}");
        assert!(err.contains("more than the 1000 bytes it declares"), "{err}");
    }

    #[test]
    fn docx_with_truncated_document_xml_is_an_error_naming_the_part_and_other_parts_still_read() {
        let good = docx_fixture();
        let bytes = py(&format!(
            r#"
good = bytes.fromhex('{}')
buf = io.BytesIO()
with zipfile.ZipFile(io.BytesIO(good)) as zin, zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as zout:
    for i in zin.infolist():
        data = zin.read(i.filename)
        if i.filename == 'word/document.xml':
            data = data[: len(data) // 2]
        zout.writestr(i.filename, data)
{OUT}"#,
            good.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ));
        let (c, res) = read(&bytes, 1 << 30);
        assert_eq!(res, Err("part document could not be read".to_owned()));
        let w = c.warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].starts_with("word/document.xml: "), "{w:?}");
        assert!(!w[0].contains('@'), "no document content in messages: {w:?}");
        assert!(texts(&c).iter().any(|t| t.0 == "header1" && t.1.contains("header.addr@example.com")));
    }

    #[test]
    fn xlsx_with_a_truncated_sheet_is_refused_naming_the_part_not_read_as_a_shorter_sheet() {
        let bytes = py(&format!(
            r#"
import openpyxl
wb = openpyxl.Workbook()
for i in range(200):
    wb.active.append(['row%d@example.com' % i, i])
src = io.BytesIO(); wb.save(src)
buf = io.BytesIO()
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as zout:
    for i in zin.infolist():
        data = zin.read(i.filename)
        if i.filename == 'xl/worksheets/sheet1.xml':
            data = data[: len(data) * 2 // 3]
        zout.writestr(i.filename, data)
{OUT}"#
        ));
        let (c, res) = read(&bytes, 1 << 30);
        let err = res.unwrap_err();
        assert!(err.starts_with("xl/worksheets/sheet1.xml: "), "{err}");
        assert!(!err.contains('@'), "{err}");
        assert!(tables(&c).is_empty());
    }

    #[test]
    fn corrupt_and_truncated_packages_are_errors_not_panics() {
        let docx = docx_fixture();
        let xlsx = shared_strings_bomb(1);
        // Truncated: the zip directory is gone.
        for bytes in [&docx[..docx.len() / 2], &xlsx[..xlsx.len() - 30]] {
            let mut sink = Collect::new();
            for kind in [OfficeKind::Docx, OfficeKind::Xlsx, OfficeKind::Ods, OfficeKind::Pptx] {
                let res = read_office(kind, &mut Cursor::new(bytes), bytes.len() as u64, &mut sink);
                assert!(res.unwrap_err().contains("package unreadable"));
            }
        }
        // Garbage in the middle of every member's compressed data.
        for good in [&docx, &xlsx] {
            let mut bytes = good.clone();
            let mut zip = ZipArchive::new(Cursor::new(good.as_slice())).unwrap();
            for i in 0..zip.len() {
                let f = zip.by_index_raw(i).unwrap();
                let (start, len) = (f.data_start().unwrap() as usize, f.compressed_size() as usize);
                for b in &mut bytes[start + len / 3..start + len / 2] {
                    *b ^= 0x5a;
                }
            }
            let (c, res) = read(&bytes, 1 << 30);
            let err = res.unwrap_err();
            assert!(!err.contains('@') && c.warnings().iter().all(|w| !w.contains('@')), "{err} {:?}", c.warnings());
        }
    }

    #[test]
    fn wrong_kind_for_a_package_is_an_error_not_a_panic() {
        let docx = docx_fixture();
        for kind in [OfficeKind::Xlsx, OfficeKind::Xlsb, OfficeKind::Pptx, OfficeKind::Odt, OfficeKind::Ods] {
            let mut sink = Collect::new();
            let _ = read_office(kind, &mut Cursor::new(&docx), docx.len() as u64, &mut sink);
        }
        let mut sink = Collect::new();
        assert!(read_xls(&mut Cursor::new(&docx), &mut sink).is_err());
    }

    /// Rewrites `pkg` with member `victim` mangled by `rng` (bytes flipped, cut short, a
    /// slice repeated), stored uncompressed so that the mangled XML reaches the parsers.
    fn mangle(pkg: &[u8], rng: &mut impl rand::Rng) -> Vec<u8> {
        use std::io::Write;
        let mut zip = ZipArchive::new(Cursor::new(pkg)).unwrap();
        let victim = rng.gen_range(0..zip.len());
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        for i in 0..zip.len() {
            let mut f = zip.by_index(i).unwrap();
            let name = f.name().to_owned();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            if i == victim && !data.is_empty() {
                match rng.gen_range(0..3) {
                    0 => {
                        for _ in 0..rng.gen_range(1..8) {
                            let at = rng.gen_range(0..data.len());
                            let junk = b"<>/&;\"='x\x00\xff#";
                            data[at] = junk[rng.gen_range(0..junk.len())];
                        }
                    }
                    1 => data.truncate(rng.gen_range(0..data.len())),
                    _ => {
                        let a = rng.gen_range(0..data.len());
                        let b = rng.gen_range(a..data.len().min(a + 200) + 1);
                        let chunk = data[a..b].to_vec();
                        for _ in 0..rng.gen_range(1..50) {
                            data.splice(a..a, chunk.iter().copied());
                        }
                    }
                }
            }
            out.start_file(name, opts).unwrap();
            out.write_all(&data).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    #[test]
    fn mangled_documents_never_panic_and_errors_carry_no_content() {
        use rand::{Rng, SeedableRng};
        let fixtures = [
            docx_fixture(),
            shared_strings_bomb(3),
            py(&format!(
                r#"
import xlsxwriter
buf = io.BytesIO()
wb = xlsxwriter.Workbook(buf, {{'in_memory': True}})
ws = wb.add_worksheet('名簿')
for r in range(30):
    ws.write_row(r, 0, ['user%d@example.com' % r, r, 'メモ'])
ws.write_comment(0, 0, 'note@example.com')
wb.close()
{OUT}"#
            )),
            py(&format!(
                r#"
from pptx import Presentation
from pptx.util import Inches
prs = Presentation()
s = prs.slides.add_slide(prs.slide_layouts[6])
s.shapes.add_textbox(Inches(1), Inches(1), Inches(4), Inches(1)).text_frame.text = 'p@example.com'
s.notes_slide.notes_text_frame.text = 'n@example.com'
buf = io.BytesIO()
prs.save(buf)
{OUT}"#
            )),
            py(&format!(
                r#"
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table, TableRow, TableCell
from odf.text import P
doc = OpenDocumentSpreadsheet()
t = Table(name='S')
for r in range(20):
    tr = TableRow(); c = TableCell(numbercolumnsrepeated=2); c.addElement(P(text='o%d@example.com' % r)); tr.addElement(c); t.addElement(tr)
doc.spreadsheet.addElement(t)
buf = io.BytesIO()
doc.write(buf)
{OUT}"#
            )),
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for pkg in &fixtures {
            let kind = kind_of(pkg).unwrap();
            for _ in 0..60 {
                let bytes = mangle(pkg, &mut rng);
                let mut sink = Collect::new();
                sink.budget = if rng.gen_bool(0.2) { 4096 } else { 1 << 30 };
                let res = crate::ingest::readers::catch_quietly(|| {
                    read_office_unguarded(kind, &mut Cursor::new(&bytes), &mut sink)
                });
                let res = res.unwrap_or_else(|_| panic!("{} reader panicked on a mangled document", kind.name()));
                if let Err(e) = res {
                    assert!(!e.contains('@'), "{e}");
                }
                assert!(sink.warnings().iter().all(|w| !w.contains('@')), "{:?}", sink.warnings());
            }
        }
    }
}
