//! PDF: the text layer of every page, as one text part `text` (pages separated by newlines, so
//! that a thousand-page report is one line of the summary, not a thousand).
//!
//! Extraction is `pdf-extract` (over `lopdf`): it maps glyphs to Unicode through ToUnicode
//! CMaps, the standard encodings (WinAnsi, MacRoman, Differences) and Identity-H CID fonts, and
//! puts spaces and line breaks by glyph position. It panics on many malformed files, so every
//! call into it runs under [`guarded`]; and it (like every PDF crate) decompresses whole
//! streams into memory, so the file is checked first by [`preflight`], which inflates each
//! stream through a size-capped reader and refuses the file when one is a bomb.
//!
//! After the pages, the same `text` part holds what viewers show outside the content streams:
//! filled form field values (`/AcroForm /Fields`, through `/Kids`), annotations' text
//! (`/Contents` of FreeText boxes and comments) and link URIs (`mailto:` recipients,
//! percent-decoded), read with `lopdf` and capped in count and size.
//!
//! Said in the report, never silent: pages without a text layer (a scan), a PDF that needs a
//! password, a page that could not be read, a file too large to hold or a stream bomb.

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::rc::Rc;

use super::{Sink, Source};

/// How far into the file `%PDF-` may appear (readers tolerate junk before it).
pub(crate) const MAGIC_WINDOW: usize = 1024;
/// Largest PDF held in memory (the crate parses the whole file), before the budget lowers it.
pub(crate) const MAX_PDF_BYTES: u64 = 512 << 20;
/// Largest expanded stream, before the budget lowers it.
pub(crate) const MAX_STREAM_BYTES: u64 = 256 << 20;
/// Pages listed by number in a warning about pages without text.
const LISTED_PAGES: usize = 10;

/// Whether `head` is a PDF: `%PDF-` within the first [`MAGIC_WINDOW`] bytes.
pub(crate) fn recognize(head: &[u8], _name: &str) -> bool {
    memchr::memmem::find(&head[..head.len().min(MAGIC_WINDOW)], b"%PDF-").is_some()
}

/// Reads the text layers of a PDF into `sink` (see the module documentation).
pub(crate) fn read(src: Source<'_>, sink: &mut dyn Sink) -> Result<(), String> {
    let cap = sink.budget().min(MAX_PDF_BYTES);
    let data = match load(src, cap)? {
        Some(d) => d,
        None => {
            sink.warn(format!("PDF larger than the {} this build may hold in memory: not read", human_size(cap)));
            return Ok(());
        }
    };
    let stream_cap = sink.budget().min(MAX_STREAM_BYTES);
    if let Err(bomb) = preflight(&data, stream_cap, sink.budget()) {
        sink.warn(bomb);
        return Ok(());
    }
    let mut doc = guarded("PDF structure", || pdf_extract::Document::load_mem(&data))?
        .map_err(|e| format!("PDF could not be parsed: {}", error_kind(&e)))?;
    drop(data);
    if doc.is_encrypted() {
        // `lopdf` opens a file whose user password is empty (an owner password alone, which
        // restricts printing or copying) while loading, as any viewer does; what is still
        // encrypted needs a password.
        let opened = guarded("PDF decryption", || doc.decrypt(""))?;
        if opened.is_err() {
            sink.warn("encrypted PDF: needs a password to open, not read".into());
            return Ok(());
        }
    }
    if doc.was_encrypted() {
        // The raw preflight saw ciphertext: check the decrypted streams before they are
        // inflated. (Object streams were already inflated by `lopdf` while loading.)
        if let Err(bomb) = preflight_objects(&doc, stream_cap, sink.budget()) {
            sink.warn(bomb);
            return Ok(());
        }
    }
    let pages: Vec<(u32, pdf_extract::ObjectId)> =
        guarded("PDF page tree", || doc.get_pages().into_iter().collect::<Vec<_>>())?;
    let plan = match guarded("PDF content check", || super::pdf_work::plan(&doc, &pages, sink.budget()))? {
        Ok(plan) => plan,
        Err(too_much) => {
            sink.warn(too_much);
            return Ok(());
        }
    };
    let texts = page_texts(&doc, &pages, &plan);
    let mut text = String::new();
    let mut empty = Vec::new();
    let mut failed = Vec::new();
    for (n, page) in texts {
        match page {
            Some(s) if s.trim().is_empty() => empty.push(n),
            Some(s) => {
                text.push_str(s.trim_matches('\n'));
                text.push('\n');
            }
            None => failed.push(n),
        }
    }
    if let Some(&(_, why)) = plan.bad.first() {
        let bad: Vec<u32> = plan.bad.iter().map(|&(n, _)| n).collect();
        sink.warn(format!("{} of {} PDF pages not read ({why}): {}", bad.len(), pages.len(), list(&bad)));
    }
    if !failed.is_empty() {
        sink.warn(format!("{} of {} PDF pages could not be read: {}", failed.len(), pages.len(), list(&failed)));
    }
    if !empty.is_empty() {
        sink.warn(format!(
            "no text layer (scanned?): {} of {} pages without text: {}",
            empty.len(),
            pages.len(),
            list(&empty)
        ));
    }
    if pages.is_empty() {
        sink.warn("PDF without pages".into());
    }
    match guarded("PDF form fields and annotations", || form_and_annotation_text(&doc)) {
        Ok(extra) => {
            if extra.truncated {
                sink.warn(format!(
                    "PDF form fields and annotations: more than {MAX_EXTRA_STRINGS} values or {} of text; the rest not read",
                    human_size(MAX_EXTRA_BYTES as u64)
                ));
            }
            text.push_str(&extra.out);
        }
        Err(e) => sink.warn(e),
    }
    if !text.is_empty() {
        sink.text("text", &text).map_err(|s| s.0)?;
    }
    Ok(())
}

/// Most page-tree walks spent reading pages one by one (each `output_doc_page` walks the
/// whole tree to find its page), so that a damaged page early in a huge document does not
/// turn the rest into quadratic work.
const MAX_PAGE_TREE_WALKS: u64 = 20_000_000;

/// The text of each page (`None` for a page that could not be read), in page order.
///
/// One pass over the whole document (`output_doc`, one walk of the page tree) with a fresh
/// plain-text output per page; when it stops on a damaged page, or when [`pdf_work::plan`]
/// found pages that must not be interpreted, the remaining pages are read one by one, each
/// under its own guard.
fn page_texts(
    doc: &pdf_extract::Document,
    pages: &[(u32, pdf_extract::ObjectId)],
    plan: &super::pdf_work::Plan,
) -> Vec<(u32, Option<String>)> {
    let bad: std::collections::HashSet<u32> = plan.bad.iter().map(|&(n, _)| n).collect();
    let mut done: Vec<(u32, Option<String>)> = Vec::with_capacity(pages.len());
    let mut next = 0;
    if bad.is_empty() {
        let buf = SharedText::default();
        let mut handles: Vec<&SharedText> = vec![&buf; pages.len()];
        let marks = std::cell::RefCell::new(Vec::with_capacity(pages.len()));
        let whole = guarded("PDF pages", || {
            let mut out = PerPage { handles: handles.iter_mut(), current: None, buf: &buf, marks: &marks };
            pdf_extract::output_doc(doc, &mut out)
        });
        let marks = marks.into_inner();
        let text = buf.0.into_inner();
        let finished = matches!(whole, Ok(Ok(()))) && marks.len() == pages.len();
        // Every page begun is complete, but the last one when the pass stopped early.
        let complete = if finished { marks.len() } else { marks.len().saturating_sub(1) };
        for (i, &(n, start)) in marks.iter().take(complete).enumerate() {
            let end = marks.get(i + 1).map_or(text.len(), |&(_, e)| e);
            done.push((n, Some(String::from_utf8_lossy(&text[start..end]).into_owned())));
        }
        if finished {
            return done;
        }
        if let Some(&(n, _)) = marks.get(complete) {
            done.push((n, None));
        }
        next = done.len();
    }
    let budget = MAX_PAGE_TREE_WALKS / (pages.len() as u64).max(1);
    for (k, &(n, _)) in pages[next.min(pages.len())..].iter().enumerate() {
        if bad.contains(&n) {
            continue;
        }
        if k as u64 >= budget {
            done.push((n, None));
            continue;
        }
        let page = guarded("PDF page", || {
            let mut s = String::new();
            let mut out = pdf_extract::PlainTextOutput::new(&mut s);
            pdf_extract::output_doc_page(doc, &mut out, n).map(|()| s)
        });
        done.push((n, page.ok().and_then(Result::ok)));
    }
    done
}

/// Text written by the per-page outputs of one pass, shared through `&` handles (the
/// plain-text output wants a `&mut dyn Write` that outlives it, one per page).
#[derive(Default)]
struct SharedText(std::cell::RefCell<Vec<u8>>);

impl Write for &SharedText {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// An output that starts a fresh plain-text output at each page (so that spacing does not
/// carry across pages) and marks where each page's text begins.
struct PerPage<'a, 'h> {
    handles: std::slice::IterMut<'h, &'a SharedText>,
    current: Option<pdf_extract::PlainTextOutput<&'h mut dyn Write>>,
    buf: &'a SharedText,
    marks: &'a std::cell::RefCell<Vec<(u32, usize)>>,
}

impl<'h> PerPage<'_, 'h> {
    fn out(&mut self) -> Result<&mut pdf_extract::PlainTextOutput<&'h mut dyn Write>, pdf_extract::OutputError> {
        self.current.as_mut().ok_or(pdf_extract::OutputError::FormatError(std::fmt::Error))
    }
}

impl pdf_extract::OutputDev for PerPage<'_, '_> {
    fn begin_page(
        &mut self,
        page_num: u32,
        media_box: &pdf_extract::MediaBox,
        art_box: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), pdf_extract::OutputError> {
        let handle = self.handles.next().ok_or(pdf_extract::OutputError::FormatError(std::fmt::Error))?;
        self.marks.borrow_mut().push((page_num, self.buf.0.borrow().len()));
        let mut out = pdf_extract::PlainTextOutput::new(handle as &mut dyn Write);
        out.begin_page(page_num, media_box, art_box)?;
        self.current = Some(out);
        Ok(())
    }
    fn end_page(&mut self) -> Result<(), pdf_extract::OutputError> {
        self.out()?.end_page()
    }
    fn output_character(
        &mut self,
        trm: &pdf_extract::Transform,
        width: f64,
        spacing: f64,
        font_size: f64,
        char: &str,
    ) -> Result<(), pdf_extract::OutputError> {
        self.out()?.output_character(trm, width, spacing, font_size, char)
    }
    fn begin_word(&mut self) -> Result<(), pdf_extract::OutputError> {
        self.out()?.begin_word()
    }
    fn end_word(&mut self) -> Result<(), pdf_extract::OutputError> {
        self.out()?.end_word()
    }
    fn end_line(&mut self) -> Result<(), pdf_extract::OutputError> {
        self.out()?.end_line()
    }
}

/// Most values read from form fields and annotations of one PDF (each one a line of text).
const MAX_EXTRA_STRINGS: usize = 100_000;
/// Most text read from form fields and annotations of one PDF.
const MAX_EXTRA_BYTES: usize = 16 << 20;
/// Deepest `/Kids` nesting of form fields followed.
const MAX_FIELD_DEPTH: usize = 64;
/// Field and annotation entries whose text strings are read: a field's value, its user-facing
/// and export names, an annotation's text (a FreeText box, a sticky note, a widget's tooltip).
const TEXT_KEYS: [&[u8]; 4] = [b"V", b"TU", b"TM", b"Contents"];

/// Text of a PDF that is not in its pages' content streams, where pdf-extract does not look:
/// filled AcroForm field values (through `/Kids`), annotations' `/Contents` (FreeText boxes,
/// comments) and link URIs (`mailto:` percent-decoded, its `to`, `cc` and `bcc` addresses one
/// per line). Each field or annotation object is read once, however often it is referenced.
struct Extra<'d> {
    doc: &'d pdf_extract::Document,
    seen: std::collections::HashSet<pdf_extract::ObjectId>,
    out: String,
    count: usize,
    truncated: bool,
}

fn form_and_annotation_text(doc: &pdf_extract::Document) -> Extra<'_> {
    let mut extra = Extra { doc, seen: Default::default(), out: String::new(), count: 0, truncated: false };
    if let Ok(fields) = doc.catalog().and_then(|c| c.get_deref(b"AcroForm", doc)).and_then(|f| f.as_dict()) {
        if let Ok(list) = fields.get_deref(b"Fields", doc).and_then(|l| l.as_array()) {
            for field in list {
                extra.node(field, 0);
            }
        }
    }
    for page in doc.get_pages().into_values() {
        let Ok(annots) = doc
            .get_object(page)
            .and_then(|p| p.as_dict())
            .and_then(|p| p.get_deref(b"Annots", doc))
            .and_then(|a| a.as_array())
        else {
            continue;
        };
        for annot in annots {
            extra.node(annot, 0);
        }
    }
    extra
}

impl Extra<'_> {
    fn full(&mut self) -> bool {
        if self.count >= MAX_EXTRA_STRINGS || self.out.len() >= MAX_EXTRA_BYTES {
            self.truncated = true;
        }
        self.truncated
    }

    /// A field or annotation (an object or a reference to one) and its `/Kids`.
    fn node(&mut self, obj: &pdf_extract::Object, depth: usize) {
        let doc = self.doc;
        if depth > MAX_FIELD_DEPTH || self.full() {
            return;
        }
        let Ok((id, obj)) = doc.dereference(obj) else { return };
        if let Some(id) = id {
            if !self.seen.insert(id) {
                return;
            }
        }
        let Ok(dict) = obj.as_dict() else { return };
        for key in TEXT_KEYS {
            if let Ok(value) = dict.get_deref(key, doc) {
                match value {
                    pdf_extract::Object::Array(items) => {
                        // A multiple-choice field's values.
                        for item in items {
                            self.push(&text_string(item));
                        }
                    }
                    _ => self.push(&text_string(value)),
                }
            }
        }
        if let Ok(uri) = dict
            .get_deref(b"A", doc)
            .and_then(|a| a.as_dict())
            .and_then(|a| a.get_deref(b"URI", doc))
            .and_then(|u| u.as_str())
        {
            let uri = String::from_utf8_lossy(uri).into_owned();
            self.push(&uri_text(&uri));
        }
        if let Ok(kids) = dict.get_deref(b"Kids", doc).and_then(|k| k.as_array()) {
            for kid in kids {
                self.node(kid, depth + 1);
            }
        }
    }

    fn push(&mut self, s: &str) {
        let s = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
        if s.is_empty() || self.full() {
            return;
        }
        self.count += 1;
        let room = MAX_EXTRA_BYTES.saturating_sub(self.out.len());
        let mut end = s.len().min(room);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.out.push_str(&s[..end]);
        self.out.push('\n');
    }
}

/// A PDF text string (PDFDocEncoding, or UTF-16BE / UTF-8 after a byte-order mark) as text;
/// empty for anything that is not a string.
fn text_string(obj: &pdf_extract::Object) -> String {
    let Ok(bytes) = obj.as_str() else { return String::new() };
    pdf_extract::decode_text_string(obj).unwrap_or_else(|_| {
        // Damaged UTF-16 (a lone surrogate, an odd length): what can be read of it.
        match bytes.strip_prefix(b"\xFE\xFF") {
            Some(be) => {
                let units: Vec<u16> =
                    be.chunks(2).map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])).collect();
                String::from_utf16_lossy(&units)
            }
            None => String::from_utf8_lossy(bytes).into_owned(),
        }
    })
}

/// A link URI as text: a `mailto:` link percent-decoded, its recipients and the `to`, `cc`
/// and `bcc` of its query one per line (the subject and body are not addresses); another URI
/// percent-decoded whole (an address may be in its query).
fn uri_text(uri: &str) -> String {
    let uri = uri.trim();
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    let Some(link) = uri.get(..7).filter(|p| p.eq_ignore_ascii_case("mailto:")).map(|_| &uri[7..]) else {
        return decode(uri);
    };
    let (to, query) = link.split_once('?').unwrap_or((link, ""));
    let mut out: Vec<String> = decode(to).split(',').map(|a| a.trim().to_string()).collect();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if ["to", "cc", "bcc"].iter().any(|k| key.eq_ignore_ascii_case(k)) {
            out.extend(decode(value).split(',').map(|a| a.trim().to_string()));
        }
    }
    out.retain(|a| !a.is_empty());
    out.join("\n")
}

/// What went wrong loading a PDF, without the strings some `lopdf` errors carry from the
/// document (dictionary keys, content-stream syntax), which must not reach a report.
fn error_kind(e: &pdf_extract::Error) -> String {
    use pdf_extract::Error as E;
    match e {
        E::Parse(_) => "malformed syntax".into(),
        E::Xref(_) | E::MissingXrefEntry | E::InvalidOffset(_) => "broken cross-reference table".into(),
        E::ObjectNotFound((id, gen)) => format!("object {id} {gen} missing"),
        E::ReferenceCycle((id, gen)) => format!("reference cycle at object {id} {gen}"),
        E::Decompress(_) => "a stream could not be decompressed".into(),
        E::Decryption(_) | E::UnsupportedSecurityHandler(_) | E::InvalidPassword => "unsupported encryption".into(),
        E::IO(e) => format!("read error ({})", e.kind()),
        E::Unimplemented(what) => format!("unsupported feature ({what})"),
        _ => "malformed or unsupported structure".into(),
    }
}

/// `4 MiB`, or bytes below a MiB.
pub(crate) fn human_size(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{} MiB", n >> 20)
    } else {
        format!("{n} bytes")
    }
}

/// `page 1, 3, 7` or `pages 1, 3, ... (and 40 more)`.
fn list(pages: &[u32]) -> String {
    let shown: Vec<String> = pages.iter().take(LISTED_PAGES).map(u32::to_string).collect();
    let mut s = format!("{} {}", if pages.len() == 1 { "page" } else { "pages" }, shown.join(", "));
    if pages.len() > LISTED_PAGES {
        s.push_str(&format!(" (and {} more)", pages.len() - LISTED_PAGES));
    }
    s
}

/// The whole file, or `None` when it is longer than `cap`.
fn load(src: Source<'_>, cap: u64) -> Result<Option<Vec<u8>>, String> {
    let (r, declared): (&mut dyn Read, Option<u64>) = match src {
        Source::Stream(r) => (r, None),
        Source::Seekable(r, len) => (r, Some(len)),
    };
    if declared.is_some_and(|l| l > cap) {
        return Ok(None);
    }
    let mut data = Vec::with_capacity(declared.unwrap_or(0) as usize);
    r.take(cap + 1).read_to_end(&mut data).map_err(|e| format!("reading the PDF failed: {e}"))?;
    Ok(if data.len() as u64 > cap { None } else { Some(data) })
}

/// Decodes every stream of the raw file through its `/Filter` chain into a size-capped
/// counter (output discarded) and refuses the file, naming the object, when one expands
/// beyond `cap` or all together beyond `total_cap`. Runs before the crate sees the file,
/// since `lopdf` inflates object streams while loading and `pdf-extract` inflates content
/// streams whole. Streams of an encrypted file are ciphertext here; they are checked again
/// after decryption by [`preflight_objects`].
pub(crate) fn preflight(data: &[u8], cap: u64, total_cap: u64) -> Result<(), String> {
    let mut total = 0u64;
    let encrypted = memchr::memmem::find(data, b"/Encrypt").is_some();
    for at in memchr::memmem::find_iter(data, b"stream") {
        // `endstream` contains `stream`; the keyword is followed by CRLF or LF.
        if at >= 3 && &data[at - 3..at] == b"end" {
            continue;
        }
        let mut body = at + b"stream".len();
        match data.get(body..body + 2) {
            Some(b"\r\n") => body += 2,
            Some([b'\n', _]) | Some([b'\r', _]) => body += 1,
            _ => continue,
        }
        let end = memchr::memmem::find(&data[body..], b"endstream").map_or(data.len(), |e| body + e);
        let dict = &data[at.saturating_sub(DICT_WINDOW)..at];
        let dict = match memchr::memmem::rfind(dict, b" obj") {
            Some(o) => &dict[o..],
            None => dict,
        };
        let mut filters = filters_in(dict);
        if filters.is_empty() && is_zlib(&data[body..end]) {
            // No /Filter found within reach (a very long dictionary): assume the worst.
            filters.push(Filter::Flate);
        }
        if encrypted && memchr::memmem::find(dict, b"/ObjStm").is_some() {
            // `lopdf` decrypts and inflates object streams while loading, before
            // [`preflight_objects`] can see them: only the most they could expand to is known.
            let most = filters.iter().fold(end.saturating_sub(body) as u64, |n, f| n.saturating_mul(f.max_ratio()));
            if most > cap {
                return Err(format!(
                    "encrypted PDF: object stream{} could expand beyond {} and cannot be checked before decryption: not read",
                    object_before(data, at).map(|o| format!(" of object {o}")).unwrap_or_default(),
                    human_size(cap)
                ));
            }
        }
        let n = decoded_size(&data[body..end], &filters, cap);
        if n > cap {
            return Err(bomb_message(object_before(data, at), cap));
        }
        total = total.saturating_add(n);
        if total > total_cap {
            return Err(over_budget(total_cap));
        }
    }
    Ok(())
}

/// [`preflight`] over the streams of a loaded (decrypted) document.
fn preflight_objects(doc: &pdf_extract::Document, cap: u64, total_cap: u64) -> Result<(), String> {
    let mut total = 0u64;
    for (&(id, gen), obj) in &doc.objects {
        if let pdf_extract::Object::Stream(s) = obj {
            let names = s.filters().unwrap_or_default();
            let early = early_change(&s.dict);
            let filters: Vec<Filter> = names.iter().map(|n| Filter::named(n, early)).collect();
            let n = decoded_size(&s.content, &filters, cap);
            if n > cap {
                return Err(bomb_message(Some(format!("{id} {gen}")), cap));
            }
            total = total.saturating_add(n);
            if total > total_cap {
                return Err(over_budget(total_cap));
            }
        }
    }
    Ok(())
}

fn early_change(dict: &pdf_extract::Dictionary) -> bool {
    let parms = dict.get(b"DecodeParms").and_then(|p| p.as_dict());
    parms.and_then(|p| p.get(b"EarlyChange")).and_then(|v| v.as_i64()).map_or(true, |v| v != 0)
}

fn over_budget(total_cap: u64) -> String {
    format!("PDF streams expand to more than the {} budget: not read", human_size(total_cap))
}

fn bomb_message(object: Option<String>, cap: u64) -> String {
    format!(
        "compressed-stream bomb: PDF stream{} expands beyond {}: not read",
        object.map(|o| format!(" of object {o}")).unwrap_or_default(),
        human_size(cap)
    )
}

/// How far before a `stream` keyword its dictionary is looked for.
const DICT_WINDOW: usize = 4096;

/// A stream filter, as `lopdf` decodes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filter {
    /// `/FlateDecode`: zlib, or raw deflate after two bytes when the zlib header is bad
    /// (`lopdf`'s fallback, so a bomb without a valid header is measured too).
    Flate,
    /// `/LZWDecode`, with `EarlyChange` (the default) or without.
    Lzw { early: bool },
    /// `/ASCII85Decode`.
    Ascii85,
    /// A filter `lopdf` does not decode (images, hex): the chain stops there.
    Other,
}

impl Filter {
    /// The most one input byte can expand to: deflate's limit is 1032:1; a 12-bit LZW code
    /// gives at most 4094 bytes; ASCII85 shrinks (`z` gives 4 bytes).
    fn max_ratio(self) -> u64 {
        match self {
            Filter::Flate => 1032,
            Filter::Lzw { .. } => 2730,
            Filter::Ascii85 => 4,
            Filter::Other => 1,
        }
    }

    fn named(name: &[u8], early: bool) -> Filter {
        match name {
            b"FlateDecode" | b"Fl" => Filter::Flate,
            b"LZWDecode" | b"LZW" => Filter::Lzw { early },
            b"ASCII85Decode" | b"A85" => Filter::Ascii85,
            _ => Filter::Other,
        }
    }
}

/// The `/Filter` chain of the raw dictionary `dict` (a name or an array of names).
fn filters_in(dict: &[u8]) -> Vec<Filter> {
    let Some(at) = memchr::memmem::rfind(dict, b"/Filter") else { return Vec::new() };
    let rest = &dict[at + b"/Filter".len()..];
    let rest = &rest[rest.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
    let early = memchr::memmem::find(dict, b"/EarlyChange 0").is_none();
    let list = match rest.first() {
        Some(b'[') => &rest[1..rest.iter().position(|&b| b == b']').unwrap_or(rest.len())],
        Some(b'/') => {
            let end = rest[1..]
                .iter()
                .position(|b| b.is_ascii_whitespace() || b"/<>[]()".contains(b))
                .map_or(rest.len(), |e| e + 1);
            &rest[..end]
        }
        _ => return Vec::new(),
    };
    list.split(|b| b.is_ascii_whitespace() || *b == b'/')
        .filter(|n| !n.is_empty())
        .map(|n| Filter::named(n, early))
        .collect()
}

/// Bytes `raw` decodes to through `filters` (in decoding order), counting at most `cap + 1`:
/// every stage writes into the next and the last into a counter that fails past the cap, so a
/// bomb costs bounded time and a few fixed buffers. A stage that fails midway counts what it
/// gave; the chain stops at a filter `lopdf` would not decode. 0 without a filter.
fn decoded_size(raw: &[u8], filters: &[Filter], cap: u64) -> u64 {
    let chain: Vec<Filter> = filters.iter().copied().take_while(|f| *f != Filter::Other).collect();
    if chain.is_empty() {
        return 0;
    }
    let count = Rc::new(Cell::new(0u64));
    let mut w: Box<dyn Write> = Box::new(Counter { count: Rc::clone(&count), cap });
    for f in chain.iter().rev() {
        w = match *f {
            Filter::Flate => Box::new(FlateWriter::Header(Vec::new(), Some(w))),
            Filter::Lzw { early } => Box::new(LzwWriter::new(w, early)),
            Filter::Ascii85 => Box::new(Ascii85Writer { inner: w, group: Vec::new(), done: false }),
            Filter::Other => unreachable!("the chain stops before unknown filters"),
        };
    }
    // Errors are corrupt data or the cap: either way the count says how far it got.
    let _ = w.write_all(raw).and_then(|()| w.flush());
    drop(w);
    count.get()
}

/// Counts bytes, failing once more than `cap` came.
struct Counter {
    count: Rc<Cell<u64>>,
    cap: u64,
}

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.count.set(self.count.get() + buf.len() as u64);
        if self.count.get() > self.cap {
            return Err(io::Error::other("over the cap"));
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Flate as `lopdf` reads it: zlib when the first two bytes are a zlib header, else raw
/// deflate after them.
enum FlateWriter {
    Header(Vec<u8>, Option<Box<dyn Write>>),
    Zlib(flate2::write::ZlibDecoder<Box<dyn Write>>),
    Raw(flate2::write::DeflateDecoder<Box<dyn Write>>),
}

impl Write for FlateWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            FlateWriter::Header(head, inner) => {
                let take = (2 - head.len()).min(buf.len());
                head.extend_from_slice(&buf[..take]);
                if head.len() == 2 {
                    let inner = inner.take().ok_or_else(|| io::Error::other("flate state"))?;
                    *self = if is_zlib(head) {
                        let mut z = flate2::write::ZlibDecoder::new(inner);
                        z.write_all(head)?;
                        FlateWriter::Zlib(z)
                    } else {
                        FlateWriter::Raw(flate2::write::DeflateDecoder::new(inner))
                    };
                }
                Ok(take)
            }
            FlateWriter::Zlib(z) => z.write(buf),
            FlateWriter::Raw(z) => z.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            FlateWriter::Header(..) => Ok(()),
            FlateWriter::Zlib(z) => z.try_finish(),
            FlateWriter::Raw(z) => z.try_finish(),
        }
    }
}

/// LZW (most significant bit first, 8-bit codes plus two) as PDF writes it.
struct LzwWriter {
    inner: Box<dyn Write>,
    decoder: weezl::decode::Decoder,
    done: bool,
}

impl LzwWriter {
    fn new(inner: Box<dyn Write>, early: bool) -> LzwWriter {
        use weezl::{decode::Decoder, BitOrder};
        let decoder =
            if early { Decoder::with_tiff_size_switch(BitOrder::Msb, 8) } else { Decoder::new(BitOrder::Msb, 8) };
        LzwWriter { inner, decoder, done: false }
    }
}

impl Write for LzwWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut out = [0u8; 16 * 1024];
        let mut inp = buf;
        while !self.done {
            let r = self.decoder.decode_bytes(inp, &mut out);
            self.inner.write_all(&out[..r.consumed_out])?;
            inp = &inp[r.consumed_in..];
            match r.status {
                Ok(weezl::LzwStatus::Done) => self.done = true,
                Ok(weezl::LzwStatus::NoProgress) => break,
                Ok(weezl::LzwStatus::Ok) if r.consumed_in == 0 && r.consumed_out == 0 => break,
                Ok(weezl::LzwStatus::Ok) => {}
                Err(_) => return Err(io::Error::other("bad LZW code")),
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// ASCII85 (`z` is four zero bytes; `~>` ends it).
struct Ascii85Writer {
    inner: Box<dyn Write>,
    group: Vec<u8>,
    done: bool,
}

impl Ascii85Writer {
    fn emit(&mut self, n: usize) -> io::Result<()> {
        let mut v: u32 = 0;
        for i in 0..5 {
            let d = self.group.get(i).map_or(84, |c| u32::from(c - b'!'));
            v = v.wrapping_mul(85).wrapping_add(d);
        }
        self.group.clear();
        self.inner.write_all(&v.to_be_bytes()[..n])
    }
}

impl Write for Ascii85Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for &c in buf {
            if self.done {
                break;
            }
            match c {
                b'z' if self.group.is_empty() => self.inner.write_all(&[0; 4])?,
                b'~' => self.done = true,
                b'!'..=b'u' => {
                    self.group.push(c);
                    if self.group.len() == 5 {
                        self.emit(4)?;
                    }
                }
                c if c.is_ascii_whitespace() => {}
                _ => return Err(io::Error::other("bad ASCII85")),
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        if self.group.len() > 1 {
            let n = self.group.len() - 1;
            self.emit(n)?;
        }
        self.inner.flush()
    }
}

/// A zlib header: deflate method, a window of at most 32 KiB, the check bits right.
fn is_zlib(b: &[u8]) -> bool {
    matches!(b, [cmf, flg, ..] if cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0)
}

/// `12 0` for the `12 0 obj` that holds the stream keyword at `at`, if it is near.
fn object_before(data: &[u8], at: usize) -> Option<String> {
    let from = at.saturating_sub(DICT_WINDOW);
    let window = &data[from..at];
    let obj = memchr::memmem::rfind(window, b" obj")?;
    let before = &window[..obj];
    let text = std::str::from_utf8(&before[before.len().saturating_sub(24)..]).ok()?;
    let mut nums = text.split_whitespace().rev().take(2).map(str::parse::<u32>);
    let (gen, id) = (nums.next()?.ok()?, nums.next()?.ok()?);
    Some(format!("{id} {gen}"))
}

/// Runs a third-party parser call that may panic on hostile input; a panic becomes an `Err`
/// naming `what` (see [`super::catch_quietly`]).
pub(crate) fn guarded<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    super::catch_quietly(f).map_err(|_| format!("{what} could not be read (the parser failed on malformed input)"))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Collect, Got};
    use super::*;
    use std::io::Cursor;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/readers/");

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{DIR}{name}")).unwrap_or_else(|e| panic!("{name}: {e} (see make_pdf.py)"))
    }

    fn run(bytes: &[u8], sink: &mut Collect) -> Result<(), String> {
        let mut c = Cursor::new(bytes.to_vec());
        read(Source::Seekable(&mut c, bytes.len() as u64), sink)
    }

    fn read_ok(name: &str) -> Collect {
        let mut sink = Collect::new();
        run(&fixture(name), &mut sink).unwrap_or_else(|e| panic!("{name}: {e}"));
        sink
    }

    fn text_part(sink: &Collect) -> &str {
        let texts: Vec<_> =
            sink.got.iter().filter_map(|g| if let Got::Text(p, t) = g { Some((p, t)) } else { None }).collect();
        assert_eq!(texts.len(), 1, "one text part per document: {:?}", sink.got);
        assert_eq!(texts[0].0, "text");
        texts[0].1
    }

    #[test]
    fn pdf_form_field_values_annotation_text_and_mailto_links_are_read() {
        let sink = read_ok("form_annots.pdf");
        let text = text_part(&sink);
        for want in [
            "office@example.com",
            "form.field@example.com",
            "担当：utf16.field@example.jp",
            "René tooltip.user@example.org",
            "freetext.note@example.org",
            "pdf.uri.link@example.net",
            "cc.person@example.net",
        ] {
            assert!(text.contains(want), "{want} in {text:?}");
        }
        assert!(!text.contains("mailto:") && !text.contains("%40"), "links decoded: {text:?}");
        assert_eq!(text.matches("form.field@example.com").count(), 1, "a widget in /Fields and /Annots read once");
        assert!(sink.warnings().is_empty(), "{:?}", sink.warnings());
    }

    #[test]
    fn fpdf2_link_and_sticky_note_annotations_are_read() {
        let sink = read_ok("fpdf_annots.pdf");
        let text = text_part(&sink);
        assert!(text.contains("Contact list follows"), "{text:?}");
        assert!(text.contains("fpdf.link@example.com"), "{text:?}");
        assert!(text.contains("Reviewed by note.author@example.org"), "{text:?}");
    }

    #[test]
    fn mailto_uri_gives_its_recipients_and_query_recipients_one_per_line() {
        assert_eq!(
            uri_text("mailto:a%40example.com,b@example.org?CC=c@example.net&subject=x@example.com"),
            "a@example.com\nb@example.org\nc@example.net"
        );
        assert_eq!(
            uri_text("MAILTO:?to=d%40example.com&bcc=e@example.com%2Cf@example.com"),
            "d@example.com\ne@example.com\nf@example.com"
        );
        assert_eq!(
            uri_text("https://example.com/u?email=g%40example.com"),
            "https://example.com/u?email=g@example.com"
        );
    }

    #[test]
    fn recognizes_pdf_magic_within_the_first_kilobyte_only() {
        assert!(recognize(b"%PDF-1.7\n", "x.bin"));
        let mut junk = vec![b' '; 1000];
        junk.extend_from_slice(b"%PDF-1.4");
        assert!(recognize(&junk, "x"));
        let mut far = vec![b' '; MAGIC_WINDOW];
        far.extend_from_slice(b"%PDF-1.4");
        assert!(!recognize(&far, "x.pdf"));
    }

    #[test]
    fn core_font_pdf_keeps_spaces_between_addresses_on_one_line_and_pages_on_lines() {
        let sink = read_ok("core.pdf");
        assert!(sink.warnings().is_empty(), "{:?}", sink.warnings());
        let text = text_part(&sink);
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        assert!(lines.contains(&"Contacts: alice@example.com bob.smith@example.org carol+x@example.net"), "{text:?}");
        // WinAnsi letters decoded, the address not glued to its neighbours.
        assert!(lines.contains(&"Zoë Müller <zoe.muller@example.org>; dave@example.com"), "{text:?}");
        assert!(lines.contains(&"Page two: erin@sub.example.com"), "{text:?}");
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn words_placed_by_position_are_spaced_and_lines_broken() {
        let sink = read_ok("positioned.pdf");
        let text = text_part(&sink);
        // (A wider gap gives a blank line between, which is fine.)
        let lines: Vec<Vec<&str>> =
            text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>()).filter(|l| !l.is_empty()).collect();
        let expected: Vec<Vec<&str>> = vec![
            vec!["alice@example.com", "bob@example.org"],
            vec!["carol@example.net", "dave@example.com"],
            vec!["erin@example.org"],
            vec!["frank@example.com"],
        ];
        assert_eq!(lines, expected, "{text:?}");
    }

    #[test]
    fn embedded_truetype_cid_font_gives_japanese_and_addresses() {
        let sink = read_ok("ttf_ja.pdf");
        assert!(sink.warnings().is_empty(), "{:?}", sink.warnings());
        let text = text_part(&sink);
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        assert!(lines.contains(&"連絡先 山田太郎 taro.yamada@example.jp 佐藤花子 hanako@example.org"), "{text:?}");
        assert!(lines.contains(&"会議録 frank@example.net"), "{text:?}");
    }

    #[test]
    fn scanned_pdf_without_text_layer_warns_with_the_page_count() {
        let sink = read_ok("scanned.pdf");
        assert_eq!(sink.warnings(), vec!["no text layer (scanned?): 2 of 2 pages without text: pages 1, 2"]);
        assert!(sink.all_text().is_empty());
    }

    #[test]
    fn half_scanned_pdf_reads_the_text_and_names_the_page_without() {
        let sink = read_ok("half_scanned.pdf");
        assert_eq!(sink.warnings(), vec!["no text layer (scanned?): 1 of 2 pages without text: page 2"]);
        assert_eq!(text_part(&sink).trim(), "grace@example.com");
    }

    #[test]
    fn pdf_encrypted_with_a_user_password_is_a_warning_not_silence() {
        let sink = read_ok("encrypted_user.pdf");
        assert_eq!(sink.warnings(), vec!["encrypted PDF: needs a password to open, not read"]);
        assert!(sink.all_text().is_empty());
        assert!(!format!("{:?}", sink.got).contains("secret@"));
    }

    #[test]
    fn pdf_encrypted_with_an_owner_password_only_is_read() {
        let sink = read_ok("encrypted_owner.pdf");
        assert!(sink.warnings().is_empty(), "{:?}", sink.warnings());
        assert_eq!(text_part(&sink).trim(), "owner.only@example.com");
    }

    #[test]
    fn encrypted_pdf_with_object_streams_and_no_user_password_is_read() {
        // qpdf (pikepdf) wrote it: AES-128, object streams, owner password only.
        let sink = read_ok("encrypted_objstm.pdf");
        assert!(sink.warnings().is_empty(), "{:?}", sink.warnings());
        let text = text_part(&sink);
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        assert_eq!(lines.len(), 40, "{text:?}");
        assert_eq!(lines[0], "objstm page 1: kim1@example.com");
        assert_eq!(lines[39], "objstm page 40: kim40@example.com");
    }

    #[test]
    fn encrypted_object_streams_that_could_expand_beyond_the_cap_are_refused_before_loading() {
        // Its object stream is 960 bytes of deflate: up to 990,720 bytes, over a 512 KiB cap.
        let mut sink = Collect::new();
        sink.budget = 512 << 10;
        run(&fixture("encrypted_objstm.pdf"), &mut sink).unwrap();
        let w = sink.warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].starts_with("encrypted PDF: object stream of object "), "{w:?}");
        assert!(
            w[0].ends_with(" could expand beyond 524288 bytes and cannot be checked before decryption: not read"),
            "{w:?}"
        );
    }

    #[test]
    fn flate_stream_bomb_is_refused_with_a_warning_naming_the_object() {
        let mut sink = Collect::new();
        sink.budget = 4 << 20; // the stream expands to 16 MiB
        run(&fixture("bomb_flate.pdf"), &mut sink).unwrap();
        assert_eq!(
            sink.warnings(),
            vec!["compressed-stream bomb: PDF stream of object 4 0 expands beyond 4 MiB: not read"]
        );
        assert!(sink.all_text().is_empty());
    }

    #[test]
    fn doubly_deflated_stream_bomb_of_a_gibibyte_is_refused() {
        let mut sink = Collect::new();
        sink.budget = 8 << 20;
        run(&fixture("bomb_flate2.pdf"), &mut sink).unwrap();
        assert_eq!(
            sink.warnings(),
            vec!["compressed-stream bomb: PDF stream of object 4 0 expands beyond 8 MiB: not read"]
        );
    }

    #[test]
    fn lzw_content_stream_is_read() {
        // Also checks make_pdf.py's LZW encoder against the decoder the reader uses.
        let sink = read_ok("lzw_text.pdf");
        assert!(sink.warnings().is_empty(), "{:?}", sink.warnings());
        assert_eq!(text_part(&sink).trim(), "LZW page: ivan@example.com judy@example.org");
    }

    #[test]
    fn lzw_ascii85_and_headerless_deflate_bombs_are_refused() {
        for (name, budget) in
            [("bomb_lzw.pdf", 4u64 << 20), ("bomb_a85_flate.pdf", 2 << 20), ("bomb_raw_deflate.pdf", 4 << 20)]
        {
            let mut sink = Collect::new();
            sink.budget = budget;
            run(&fixture(name), &mut sink).unwrap();
            assert_eq!(
                sink.warnings(),
                vec![format!(
                    "compressed-stream bomb: PDF stream of object 4 0 expands beyond {} MiB: not read",
                    budget >> 20
                )],
                "{name}"
            );
            assert!(sink.all_text().is_empty(), "{name}");
        }
    }

    #[test]
    fn streams_within_the_cap_but_over_the_budget_together_are_refused() {
        // Each page stream of core.pdf is small; a budget below their sum refuses the file.
        let data = fixture("core.pdf");
        assert!(preflight(&data, 1 << 20, 1 << 20).is_ok());
        let err = preflight(&data, 1 << 20, 64).unwrap_err();
        assert_eq!(err, "PDF streams expand to more than the 64 bytes budget: not read");
    }

    #[test]
    fn pdf_larger_than_the_budget_is_refused_before_it_is_loaded() {
        let mut sink = Collect::new();
        sink.budget = 1024;
        run(&fixture("core.pdf"), &mut sink).unwrap();
        assert_eq!(sink.warnings(), vec!["PDF larger than the 1024 bytes this build may hold in memory: not read"]);
    }

    #[test]
    fn form_that_draws_itself_names_its_page_and_the_other_pages_are_read() {
        let sink = read_ok("form_draws_itself.pdf");
        assert_eq!(sink.warnings(), vec!["1 of 2 PDF pages not read (a form XObject that draws itself): page 1"]);
        assert_eq!(text_part(&sink).trim(), "second.page@example.com");
    }

    #[test]
    fn forms_doubling_their_work_per_link_are_refused_before_interpretation() {
        let mut sink = Collect::new();
        run(&fixture("form_doubling.pdf"), &mut sink).unwrap();
        assert_eq!(
            sink.warnings(),
            vec!["PDF pages and forms repeat more than 256 MiB of content to interpret: not read"]
        );
        assert!(sink.all_text().is_empty());
    }

    #[test]
    fn forms_nested_deeper_than_the_limit_name_the_page() {
        let sink = read_ok("form_deep.pdf");
        assert_eq!(sink.warnings(), vec!["1 of 1 PDF pages not read (form XObjects nested too deep): page 1"]);
        assert!(sink.all_text().is_empty());
    }

    #[test]
    fn page_whose_parent_links_loop_is_named_and_the_other_pages_are_read() {
        let sink = read_ok("parent_loop.pdf");
        assert_eq!(sink.warnings(), vec!["1 of 2 PDF pages not read (a loop of /Parent links): page 2"]);
        assert_eq!(text_part(&sink).trim(), "first.page@example.com");
    }

    #[test]
    fn pages_sharing_one_content_stream_are_read_within_the_budget_and_refused_beyond_it() {
        let pdf = fixture("shared_content.pdf");
        let mut sink = Collect::new();
        run(&pdf, &mut sink).unwrap();
        assert!(sink.warnings().is_empty(), "{:?}", sink.warnings());
        let text = sink.all_text();
        assert_eq!(text.matches("shared.page0@example.com").count(), 100);
        // 100 pages x 20 KiB interpreted: 1.9 MiB repeated, over a 1 MiB budget.
        let mut sink = Collect::new();
        sink.budget = 1 << 20;
        run(&pdf, &mut sink).unwrap();
        assert_eq!(
            sink.warnings(),
            vec!["PDF pages and forms repeat more than 1 MiB of content to interpret: not read"]
        );
        assert!(sink.all_text().is_empty());
    }

    #[test]
    fn broken_pdfs_are_errors_naming_what_failed_not_panics() {
        let core = fixture("core.pdf");
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"%PDF-1.4\n".to_vec(), "broken cross-reference table"),
            (
                b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF"
                    .to_vec(),
                "broken cross-reference table",
            ),
            (core[..core.len() / 2].to_vec(), "broken cross-reference table"),
            (core.iter().map(|b| if *b == b'/' { b'#' } else { *b }).collect(), "malformed syntax"),
        ];
        for (i, (case, why)) in cases.iter().enumerate() {
            let mut sink = Collect::new();
            let err = run(case, &mut sink).expect_err("a broken PDF is an error");
            assert_eq!(err, format!("PDF could not be parsed: {why}"), "case {i}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn pdf_reader_never_panics_on_damaged_files(flips in proptest::collection::vec((0usize..1460, proptest::prelude::any::<u8>()), 1..12)) {
            let mut data = fixture("core.pdf");
            for (at, b) in flips {
                let at = at % data.len();
                data[at] = b;
            }
            let mut sink = Collect::new();
            let _ = run(&data, &mut sink);
        }

        #[test]
        fn preflight_never_panics(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400), filter in 0usize..5) {
            let filters = ["/FlateDecode", "[/ASCII85Decode /FlateDecode]", "/LZWDecode /DecodeParms << /EarlyChange 0 >>", "[/LZW", "/"];
            let mut data = format!("%PDF-1.4\n1 0 obj << /Length 3 /Filter {} >>\nstream\n", filters[filter]).into_bytes();
            data.extend_from_slice(&body);
            data.extend_from_slice(b"\nendstream\nendobj\nstream\r\n");
            let _ = preflight(&data, 1 << 20, 1 << 20);
        }
    }
}
