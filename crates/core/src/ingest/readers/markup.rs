//! Markup documents that hold addresses in a form a line reader would miss or mangle: HTML
//! (tags, entities, `mailto:` links), LDIF directory exports (folded lines, base64 values),
//! vCards (folded lines, quoted-printable with soft breaks inside an address, per-property
//! charsets) and RTF (control words, `\'xx` bytes in the document's code page, `\uN`).
//!
//! Each becomes one text part `text`, with one value per line so that nothing glues to its
//! neighbour. The file is decoded here, not by the input layer: HTML by its BOM, then its
//! declared charset, then detection; vCard values by their own `CHARSET=`.
//!
//! Errors and warnings name attributes and counts, never values.

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::Read;

use base64::Engine as _;
use encoding_rs::Encoding;

use super::{Sink, Source};

/// Largest markup file held in memory, before the budget lowers it.
pub(crate) const MAX_MARKUP_BYTES: u64 = 256 << 20;
/// How much of an HTML file is searched for a declared charset (the HTML standard's prescan
/// looks at 1024 bytes; generated pages put long `<head>`s first).
const CHARSET_PRESCAN: usize = 4096;
/// How far past a BOM and blank space a markup file's signature must start.
const SIGNATURE_WINDOW: usize = 1024;

/// The whole file, or a warning and `None` when it is larger than the budget allows.
fn load(src: Source<'_>, sink: &mut dyn Sink, what: &str) -> Result<Option<Vec<u8>>, String> {
    let cap = sink.budget().min(MAX_MARKUP_BYTES);
    let r: &mut dyn Read = match src {
        Source::Stream(r) => r,
        Source::Seekable(r, _) => r,
    };
    let mut data = Vec::new();
    r.take(cap + 1).read_to_end(&mut data).map_err(|e| format!("reading the {what} file failed: {e}"))?;
    if data.len() as u64 > cap {
        sink.warn(format!(
            "{what} file larger than the {} this build may hold in memory: not read",
            super::pdf::human_size(cap)
        ));
        return Ok(None);
    }
    Ok(Some(data))
}

/// The encoding of `data` by detection: UTF-8 when it is valid, else `chardetng`'s guess.
fn detect(data: &[u8]) -> &'static Encoding {
    if std::str::from_utf8(data).is_ok() {
        return encoding_rs::UTF_8;
    }
    let mut d = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Allow);
    d.feed(data, true);
    d.guess(None, chardetng::Utf8Detection::Allow)
}

/// Decodes `data` (a BOM, then `declared`, then detection), warning when bytes were not valid
/// in the encoding.
fn decode<'a>(data: &'a [u8], declared: Option<&'static Encoding>, sink: &mut dyn Sink, what: &str) -> Cow<'a, str> {
    let (enc, body) = match Encoding::for_bom(data) {
        Some((enc, bom)) => (enc, &data[bom..]),
        None => (declared.unwrap_or_else(|| detect(data)), data),
    };
    let (text, errors) = enc.decode_without_bom_handling(body);
    if errors {
        sink.warn(format!("{what}: bytes not valid in {} were replaced", enc.name()));
    }
    text
}

/// `data` past a BOM and leading blank space, at most [`SIGNATURE_WINDOW`] bytes.
fn start(data: &[u8]) -> &[u8] {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let blank = data.iter().take(SIGNATURE_WINDOW).take_while(|b| b.is_ascii_whitespace()).count();
    &data[blank..]
}

fn starts_with_ci(data: &[u8], prefix: &[u8]) -> bool {
    data.len() >= prefix.len() && data[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn has_extension(name: &str, exts: &[&str]) -> bool {
    let lower = name.to_ascii_lowercase();
    exts.iter().any(|e| lower.ends_with(e))
}

// ---------------------------------------------------------------------------------------------
// HTML

/// Start tags that only begin an HTML document.
const HTML_SIGNATURES: &[&[u8]] = &[b"<!doctype html", b"<html", b"<head", b"<body", b"<meta", b"<title"];
/// Elements whose content is not text a reader sees.
const HIDDEN: &[&str] = &["script", "style"];
/// Elements that start a new line of text.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "caption",
    "dd",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "option",
    "p",
    "pre",
    "section",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "title",
    "tr",
    "ul",
];
/// Elements that are cells of a row (a tab between them).
const CELLS: &[&str] = &["td", "th"];

/// Whether the file is HTML: an HTML signature at its start (after a BOM, blank space, an XML
/// declaration and comments), or an `.htm`/`.html` name and a tag at its start. Text that
/// merely contains a tag further on is not.
pub(crate) fn recognize_html(head: &[u8], name: &str) -> bool {
    let mut s = start(head);
    // XHTML: an XML declaration, then the doctype or the root.
    if starts_with_ci(s, b"<?xml") {
        match memchr::memmem::find(s, b"?>") {
            Some(end) => s = start(&s[end + 2..]),
            None => return false,
        }
    }
    while starts_with_ci(s, b"<!--") {
        match memchr::memmem::find(s, b"-->") {
            Some(end) => s = start(&s[end + 3..]),
            None => return false,
        }
    }
    HTML_SIGNATURES.iter().any(|sig| starts_with_ci(s, sig))
        || (has_extension(name, &[".htm", ".html", ".xhtml"]) && s.first() == Some(&b'<'))
}

/// The charset an HTML head declares (`<meta charset>` or `http-equiv` `content`), found with
/// the tokenizer over the first bytes.
fn declared_charset(data: &[u8]) -> Option<&'static Encoding> {
    let head = String::from_utf8_lossy(&data[..data.len().min(CHARSET_PRESCAN)]);
    for token in html5gum::Tokenizer::new(head.as_ref()).flatten() {
        let html5gum::Token::StartTag(tag) = token else { continue };
        if tag.name.as_slice() != b"meta" {
            continue;
        }
        let attr = |k: &str| tag.attributes.get(k.as_bytes()).map(|v| String::from_utf8_lossy(&v.value).into_owned());
        let label = attr("charset").or_else(|| {
            let content = attr("content")?;
            let lower = content.to_ascii_lowercase();
            let at = lower.find("charset=")? + "charset=".len();
            Some(
                content[at..]
                    .trim_matches(|c: char| c == '"' || c == '\'' || c.is_whitespace())
                    .split(';')
                    .next()?
                    .to_string(),
            )
        });
        if let Some(enc) = label.and_then(|l| Encoding::for_label(l.trim().as_bytes())) {
            // The HTML standard: a page that says UTF-16 in ASCII bytes is not UTF-16.
            return Some(if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
                encoding_rs::UTF_8
            } else {
                enc
            });
        }
    }
    None
}

/// Reads an HTML file: the text a browser shows (block elements on their own lines, cells
/// separated by tabs, scripts and styles dropped, entities decoded), then every attribute
/// value holding an address (`mailto:` links percent-decoded, `title`, `content`, ...) one per
/// line, then comments.
pub(crate) fn read_html(src: Source<'_>, sink: &mut dyn Sink) -> Result<(), String> {
    let Some(data) = load(src, sink, "HTML")? else { return Ok(()) };
    let declared = declared_charset(&data);
    let html = decode(&data, declared, sink, "HTML");
    let text = html_text(&html);
    if !text.trim().is_empty() {
        sink.text("text", &text).map_err(|s| s.0)?;
    }
    Ok(())
}

fn html_text(html: &str) -> String {
    let mut emitter = html5gum::DefaultEmitter::default();
    // Script and style content are raw text: the tokenizer must switch state at their tags.
    emitter.naively_switch_states(true);
    let mut text = String::new();
    let mut extra = Vec::new();
    let mut seen = HashSet::new();
    let mut hidden: Option<Vec<u8>> = None;
    for token in html5gum::Tokenizer::new_with_emitter(html, emitter).flatten() {
        match token {
            html5gum::Token::StartTag(tag) => {
                let name = String::from_utf8_lossy(&tag.name);
                if HIDDEN.contains(&name.as_ref()) && !tag.self_closing {
                    hidden = Some(tag.name.to_vec());
                }
                if BLOCKS.contains(&name.as_ref()) {
                    text.push('\n');
                } else if CELLS.contains(&name.as_ref()) {
                    text.push('\t');
                }
                for value in tag.attributes.values() {
                    let value = String::from_utf8_lossy(&value.value);
                    if let Some(v) = address_attribute(&value) {
                        if seen.insert(v.clone()) {
                            extra.push(v);
                        }
                    }
                }
            }
            html5gum::Token::EndTag(tag) => {
                if hidden.as_deref() == Some(tag.name.as_slice()) {
                    hidden = None;
                }
                let name = String::from_utf8_lossy(&tag.name);
                if BLOCKS.contains(&name.as_ref()) {
                    text.push('\n');
                }
            }
            html5gum::Token::String(s) if hidden.is_none() => text.push_str(&String::from_utf8_lossy(&s)),
            html5gum::Token::Comment(c) => extra.push(String::from_utf8_lossy(&c).trim().to_string()),
            _ => {}
        }
    }
    for line in extra {
        text.push('\n');
        text.push_str(&line);
    }
    text.push('\n');
    text
}

/// An attribute value that holds an address, as text: a `mailto:` link percent-decoded
/// without its query (`?subject=`), or any value with an at sign.
fn address_attribute(value: &str) -> Option<String> {
    let v = value.trim();
    if let Some(link) = v.get(..7).filter(|p| p.eq_ignore_ascii_case("mailto:")).map(|_| &v[7..]) {
        let to = link.split('?').next().unwrap_or("");
        return Some(percent_encoding::percent_decode_str(to).decode_utf8_lossy().replace(',', "\n"));
    }
    (v.contains('@') || v.contains('＠')).then(|| v.to_string())
}

// ---------------------------------------------------------------------------------------------
// LDIF

/// Attributes whose values are binary (photos, certificates, SIDs): not text.
const LDIF_BINARY: &[&str] = &[
    "jpegphoto",
    "photo",
    "thumbnailphoto",
    "usercertificate",
    "cacertificate",
    "usersmimecertificate",
    "userpkcs12",
    "objectguid",
    "objectsid",
    "audio",
    "msexchmailboxsecuritydescriptor",
];

/// Whether the file is LDIF: its first line that is not a comment or blank is `dn:` or
/// `version:`, or an `.ldif` name.
pub(crate) fn recognize_ldif(head: &[u8], name: &str) -> bool {
    let s = start(head);
    let first = s
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .find(|l| !l.is_empty() && !l.starts_with(b"#"));
    let by_content = match first {
        Some(l) => starts_with_ci(l, b"dn:") || (starts_with_ci(l, b"version:") && l[8..].trim_ascii() == b"1"),
        None => false,
    };
    by_content || has_extension(name, &[".ldif"])
}

/// Reads an LDIF file: continuation lines unfolded, `attr:: base64` values decoded, every
/// value as `attr: value`, one per line. Binary attributes are left out.
pub(crate) fn read_ldif(src: Source<'_>, sink: &mut dyn Sink) -> Result<(), String> {
    let Some(data) = load(src, sink, "LDIF")? else { return Ok(()) };
    // RFC 2849: plain values are ASCII; some exports write UTF-8 or a legacy encoding anyway.
    let file = decode(&data, None, sink, "LDIF");
    let mut out = String::new();
    let (mut bad_base64, mut bad_attrs) = (0usize, Vec::new());
    for line in unfold(&file, false) {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some(colon) = line.find(':') else {
            out.push_str(&line);
            out.push('\n');
            continue;
        };
        let attr = &line[..colon];
        let base = attr.split(';').next().unwrap_or(attr).trim().to_ascii_lowercase();
        let rest = &line[colon + 1..];
        let value: Cow<'_, str> = if let Some(b64) = rest.strip_prefix(':') {
            if LDIF_BINARY.contains(&base.as_str()) || attr.to_ascii_lowercase().contains(";binary") {
                continue;
            }
            let cleaned: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
            match base64::engine::general_purpose::STANDARD.decode(cleaned.as_bytes()) {
                Ok(bytes) => Cow::Owned(detect(&bytes).decode_without_bom_handling(&bytes).0.into_owned()),
                Err(_) => {
                    bad_base64 += 1;
                    // Named in the warning only when it has an attribute's shape (a hostile
                    // file could put an address there).
                    let shown = if is_attribute_name(&base) { base.clone() } else { "?".to_string() };
                    if bad_attrs.len() < 5 && !bad_attrs.contains(&shown) {
                        bad_attrs.push(shown);
                    }
                    continue;
                }
            }
        } else if let Some(url) = rest.strip_prefix('<') {
            Cow::Borrowed(url.trim())
        } else {
            Cow::Borrowed(rest.strip_prefix(' ').unwrap_or(rest))
        };
        out.push_str(attr);
        out.push_str(": ");
        out.push_str(&value);
        out.push('\n');
    }
    if bad_base64 > 0 {
        sink.warn(format!(
            "LDIF: {bad_base64} base64 values not valid, not read (attributes {})",
            bad_attrs.join(", ")
        ));
    }
    if !out.is_empty() {
        sink.text("text", &out).map_err(|s| s.0)?;
    }
    Ok(())
}

/// An LDAP attribute description's shape (RFC 4512: a letter, then letters, digits and `-`),
/// short: what may be named in a warning.
fn is_attribute_name(a: &str) -> bool {
    a.len() <= 40
        && a.starts_with(|c: char| c.is_ascii_alphabetic())
        && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Logical lines: a line starting with a space (or, when `tabs`, a tab) continues the one
/// before, without that first character.
fn unfold(text: &str, tabs: bool) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for l in text.split('\n') {
        let l = l.strip_suffix('\r').unwrap_or(l);
        let folded = l.starts_with(' ') || (tabs && l.starts_with('\t'));
        match lines.last_mut() {
            Some(last) if folded => last.push_str(&l[1..]),
            _ => lines.push(l.to_string()),
        }
    }
    lines
}

// ---------------------------------------------------------------------------------------------
// vCard

/// Properties whose values are binary when base64-encoded (`SOUND;X-IRMC-N` from Japanese
/// phones is the text of a name's reading).
const VCARD_BINARY: &[&str] = &["PHOTO", "LOGO", "SOUND", "KEY"];

/// Whether the file is a vCard: `BEGIN:VCARD` at its start, or a `.vcf` name.
pub(crate) fn recognize_vcard(head: &[u8], name: &str) -> bool {
    starts_with_ci(start(head), b"BEGIN:VCARD") || has_extension(name, &[".vcf", ".vcard"])
}

/// Reads vCards (2.1, 3.0, 4.0): folded lines joined, quoted-printable values decoded (a soft
/// line break may fall inside an address), each value in its own `CHARSET=` (else the file's
/// detected encoding), escapes undone; every value as `NAME: value`, one per line.
pub(crate) fn read_vcard(src: Source<'_>, sink: &mut dyn Sink) -> Result<(), String> {
    let Some(data) = load(src, sink, "vCard")? else { return Ok(()) };
    let data = match data.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => rest.to_vec(),
        None => data,
    };
    let file_encoding = detect(&data);
    let mut out = String::new();
    let mut replaced = 0usize;
    for line in vcard_lines(&data) {
        let Some((name, params, value)) = split_property(&line) else { continue };
        let mut qp = false;
        let mut b64 = false;
        let mut charset = None;
        for p in &params {
            let p = p.to_ascii_uppercase();
            match p.split_once('=') {
                Some(("ENCODING", e)) => {
                    qp |= e == "QUOTED-PRINTABLE";
                    b64 |= e == "B" || e == "BASE64";
                }
                Some(("CHARSET", c)) => charset = Encoding::for_label(c.trim_matches('"').as_bytes()),
                None => {
                    qp |= p == "QUOTED-PRINTABLE";
                    b64 |= p == "BASE64";
                }
                _ => {}
            }
        }
        if b64 && VCARD_BINARY.contains(&name.to_ascii_uppercase().as_str()) {
            continue;
        }
        let raw: Cow<'_, [u8]> = if qp {
            Cow::Owned(quoted_printable(value))
        } else if b64 {
            let cleaned: Vec<u8> = value.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
            match base64::engine::general_purpose::STANDARD.decode(&cleaned) {
                Ok(v) => Cow::Owned(v),
                Err(_) => continue,
            }
        } else {
            Cow::Borrowed(value)
        };
        let enc = charset.unwrap_or(if std::str::from_utf8(&raw).is_ok() { encoding_rs::UTF_8 } else { file_encoding });
        let (text, errors) = enc.decode_without_bom_handling(&raw);
        replaced += usize::from(errors);
        out.push_str(&name);
        out.push_str(": ");
        out.push_str(&unescape_vcard(&text));
        out.push('\n');
    }
    if replaced > 0 {
        sink.warn(format!("vCard: {replaced} values had bytes not valid in their charset (replaced)"));
    }
    if !out.is_empty() {
        sink.text("text", &out).map_err(|s| s.0)?;
    }
    Ok(())
}

/// Logical vCard lines, as bytes (charsets differ per property): a line starting with a space
/// or tab continues the one before; a quoted-printable line ending in `=` (a soft line break)
/// continues with the next line whatever it starts with.
fn vcard_lines(data: &[u8]) -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut soft = false;
    for l in data.split(|&b| b == b'\n') {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        match lines.last_mut() {
            Some(last) if soft => {
                last.pop(); // the `=` of the soft break
                last.extend_from_slice(l);
            }
            Some(last) if l.first().is_some_and(|&b| b == b' ' || b == b'\t') => last.extend_from_slice(&l[1..]),
            _ => lines.push(l.to_vec()),
        }
        let last = lines.last().map(Vec::as_slice).unwrap_or_default();
        soft = last.ends_with(b"=") && is_quoted_printable(last);
    }
    lines
}

/// Whether a property line's parameters say quoted-printable.
fn is_quoted_printable(line: &[u8]) -> bool {
    let colon = line.iter().position(|&b| b == b':').unwrap_or(line.len());
    let params = line[..colon].to_ascii_uppercase();
    memchr::memmem::find(&params, b"QUOTED-PRINTABLE").is_some()
}

/// `NAME`, its parameters and its raw value (the group prefix `item1.` dropped).
fn split_property(line: &[u8]) -> Option<(String, Vec<String>, &[u8])> {
    let mut quoted = false;
    let colon = line.iter().position(|&b| {
        quoted ^= b == b'"';
        b == b':' && !quoted
    })?;
    let head = String::from_utf8_lossy(&line[..colon]);
    let mut parts = head.split(';');
    let name = parts.next()?.rsplit('.').next()?.trim().to_string();
    if name.is_empty()
        || name.eq_ignore_ascii_case("BEGIN")
        || name.eq_ignore_ascii_case("END")
        || name.eq_ignore_ascii_case("VERSION")
    {
        return None;
    }
    Some((name, parts.map(str::to_string).collect(), &line[colon + 1..]))
}

/// Decodes quoted-printable (`=XX`; soft breaks are already joined); a malformed `=` stays.
fn quoted_printable(v: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'=' {
            if let (Some(h), Some(l)) = (v.get(i + 1).and_then(|&b| hex(b)), v.get(i + 2).and_then(|&b| hex(b))) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(v[i]);
        i += 1;
    }
    out
}

/// vCard escapes: `\n` a newline, `\,` `\;` `\\` the character; structured components
/// (`;`) separated by spaces.
fn unescape_vcard(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(o) => out.push(o),
                None => {}
            },
            ';' => out.push(' '),
            c => out.push(c),
        }
    }
    out.trim().to_string()
}

// ---------------------------------------------------------------------------------------------
// RTF

/// Destinations whose content is not text a reader sees (tables of fonts and colours, pictures,
/// embedded objects, revision and style tables).
const RTF_HIDDEN: &[&[u8]] = &[
    b"fonttbl",
    b"colortbl",
    b"stylesheet",
    b"listtable",
    b"listoverridetable",
    b"pict",
    b"objdata",
    b"themedata",
    b"colorschememapping",
    b"datastore",
    b"latentstyles",
    b"rsidtbl",
    b"generator",
    b"xmlnstbl",
    b"mmathPr",
    b"filetbl",
    b"revtbl",
    b"pgdsctbl",
];

/// Whether the file is RTF: `{\rtf` at its start.
pub(crate) fn recognize_rtf(head: &[u8], _name: &str) -> bool {
    start(head).starts_with(b"{\\rtf")
}

/// Reads RTF: text with control words and hidden destinations dropped, paragraphs and rows on
/// lines of their own, cells separated by tabs, `\'xx` bytes decoded in the `\ansicpg` code
/// page (932 is Shift_JIS), `\uN` characters, and the targets of `HYPERLINK` fields
/// (`mailto:` links) on lines of their own. Fonts' own `\fcharset`s are not followed: Word
/// writes non-Latin text as `\uN`.
pub(crate) fn read_rtf(src: Source<'_>, sink: &mut dyn Sink) -> Result<(), String> {
    let Some(data) = load(src, sink, "RTF")? else { return Ok(()) };
    let text = rtf_text(&data);
    if !text.trim().is_empty() {
        sink.text("text", &text).map_err(|s| s.0)?;
    }
    Ok(())
}

#[derive(Clone, Copy)]
struct RtfGroup {
    /// Inside a destination that is not shown.
    hidden: bool,
    /// Inside a field instruction (`\fldinst`): its links are kept.
    field: bool,
    /// Characters that stand in for each `\uN` (`\ucN`).
    uc: usize,
}

/// The text of an RTF document (see [`read_rtf`]).
fn rtf_text(data: &[u8]) -> String {
    let mut out = String::new();
    let mut links = String::new();
    let mut pending: Vec<u8> = Vec::new(); // bytes in the code page, decoded when text ends
    let mut encoding = encoding_rs::WINDOWS_1252;
    let mut stack: Vec<RtfGroup> = Vec::new();
    let mut g = RtfGroup { hidden: false, field: false, uc: 1 };
    let mut skip = 0usize; // fallback characters still to skip after a `\uN`
    let mut first_in_group = false;
    let mut i = 0;
    // Flushes code-page bytes into the text of the current group.
    fn flush(pending: &mut Vec<u8>, encoding: &'static Encoding, to: &mut String) {
        if !pending.is_empty() {
            to.push_str(&encoding.decode_without_bom_handling(pending).0);
            pending.clear();
        }
    }
    while i < data.len() {
        let b = data[i];
        match b {
            b'{' => {
                flush(&mut pending, encoding, if g.field { &mut links } else { &mut out });
                stack.push(g);
                first_in_group = true;
                i += 1;
                continue;
            }
            b'}' => {
                flush(&mut pending, encoding, if g.field { &mut links } else { &mut out });
                if g.field && !stack.last().is_some_and(|p| p.field) {
                    links.push('\n');
                }
                g = stack.pop().unwrap_or(g);
                skip = 0;
                i += 1;
            }
            b'\\' => {
                let rest = &data[i + 1..];
                match rest.first() {
                    Some(&c) if c.is_ascii_alphabetic() => {
                        let letters = rest.iter().take_while(|c| c.is_ascii_alphabetic()).count();
                        let word = &rest[..letters];
                        let mut j = letters;
                        let neg = rest.get(j) == Some(&b'-');
                        if neg {
                            j += 1;
                        }
                        let digits = rest[j..].iter().take_while(|c| c.is_ascii_digit()).count();
                        let param: Option<i64> = std::str::from_utf8(&rest[j..j + digits])
                            .ok()
                            .and_then(|d| d.parse::<i64>().ok())
                            .map(|v| if neg { -v } else { v });
                        j += digits;
                        if rest.get(j) == Some(&b' ') {
                            j += 1;
                        }
                        i += 1 + j;
                        let shown = !g.hidden;
                        match word {
                            b"bin" => {
                                // Binary data: skip its bytes.
                                i = i.saturating_add(param.unwrap_or(0).max(0) as usize).min(data.len());
                            }
                            b"ansicpg" => encoding = code_page(param.unwrap_or(1252)),
                            b"uc" => g.uc = param.unwrap_or(1).clamp(0, 16) as usize,
                            b"u" if shown => {
                                let to = if g.field { &mut links } else { &mut out };
                                flush(&mut pending, encoding, to);
                                let v = param.unwrap_or(0);
                                let v = if v < 0 { v + 65536 } else { v };
                                to.push(char::from_u32(v as u32).unwrap_or('\u{FFFD}'));
                                skip = g.uc;
                            }
                            b"fldinst" => g.field = true,
                            b"par" | b"line" | b"row" | b"sect" | b"page" if shown => {
                                flush(&mut pending, encoding, &mut out);
                                out.push('\n');
                            }
                            b"cell" | b"tab" if shown => {
                                flush(&mut pending, encoding, &mut out);
                                out.push('\t');
                            }
                            w if first_in_group && RTF_HIDDEN.contains(&w) => g.hidden = true,
                            _ => {}
                        }
                        first_in_group = false;
                        continue;
                    }
                    Some(b'\'') => {
                        let hex = rest
                            .get(1..3)
                            .and_then(|h| std::str::from_utf8(h).ok())
                            .and_then(|h| u8::from_str_radix(h, 16).ok());
                        i += if hex.is_some() { 4 } else { 2 };
                        if skip > 0 {
                            skip -= 1;
                        } else if let (Some(h), false) = (hex, g.hidden) {
                            pending.push(h);
                        }
                    }
                    Some(b'*') => {
                        // An optional destination: hidden unless it is a field instruction.
                        let after = &rest[1..];
                        let after = &after[after.iter().take_while(|c| c.is_ascii_whitespace()).count()..];
                        if !after.starts_with(b"\\fldinst") {
                            g.hidden = true;
                        }
                        i += 2;
                        continue;
                    }
                    Some(&c) => {
                        i += 2;
                        if skip > 0 {
                            skip -= 1;
                        } else if !g.hidden {
                            match c {
                                b'\\' | b'{' | b'}' => pending.push(c),
                                b'~' => pending.push(b' '),
                                b'_' => pending.push(b'-'),
                                b'\n' | b'\r' => {
                                    flush(&mut pending, encoding, &mut out);
                                    out.push('\n');
                                }
                                _ => {}
                            }
                        }
                    }
                    None => i += 1,
                }
            }
            b'\r' | b'\n' => i += 1,
            _ => {
                i += 1;
                if skip > 0 {
                    skip -= 1;
                } else if !g.hidden {
                    if g.field {
                        flush(&mut pending, encoding, &mut out);
                        links.push(b as char);
                    } else {
                        pending.push(b);
                    }
                }
            }
        }
        first_in_group = false;
    }
    flush(&mut pending, encoding, &mut out);
    // Field instructions: `HYPERLINK "mailto:taro@example.jp"` gives the address alone.
    for line in links.lines() {
        for part in line.split('"') {
            if let Some(to) = address_attribute(part) {
                out.push('\n');
                out.push_str(&to);
            }
        }
    }
    out.push('\n');
    out
}

/// The encoding of a Windows code page number (`\ansicpg`).
fn code_page(n: i64) -> &'static Encoding {
    let label = match n {
        932 => "shift_jis".to_string(),
        936 => "gbk".to_string(),
        949 => "euc-kr".to_string(),
        950 => "big5".to_string(),
        10000 => "macintosh".to_string(),
        65001 => "utf-8".to_string(),
        n => format!("windows-{n}"),
    };
    Encoding::for_label(label.as_bytes()).unwrap_or(encoding_rs::WINDOWS_1252)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Collect, Got};
    use super::*;
    use std::io::Cursor;

    type ReadFn = fn(Source<'_>, &mut dyn Sink) -> Result<(), String>;

    fn run(read: ReadFn, bytes: &[u8]) -> Collect {
        let mut sink = Collect::new();
        let mut c = Cursor::new(bytes.to_vec());
        read(Source::Stream(&mut c), &mut sink).unwrap();
        sink
    }

    fn text(sink: &Collect) -> String {
        let texts: Vec<_> =
            sink.got.iter().filter_map(|g| if let Got::Text(p, t) = g { Some((p, t)) } else { None }).collect();
        assert_eq!(texts.len(), 1, "{:?}", sink.got);
        assert_eq!(texts[0].0, "text");
        texts[0].1.clone()
    }

    fn lines(s: &str) -> Vec<&str> {
        s.lines().map(str::trim).filter(|l| !l.is_empty()).collect()
    }

    // HTML

    #[test]
    fn html_is_recognized_by_its_start_not_by_a_tag_inside_other_formats() {
        for yes in [
            &b"<!DOCTYPE html><html>"[..],
            b"\xEF\xBB\xBF\n  <html lang=ja>",
            b"<?xml version=\"1.0\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0//EN\">",
            b"<!-- saved from url=(0014)about:internet -->\n<HTML>",
            b"<meta charset=\"shift_jis\"><title>x</title>",
        ] {
            assert!(recognize_html(yes, "x"), "{}", String::from_utf8_lossy(yes));
        }
        assert!(recognize_html(b"<table><tr><td>a@example.com", "export.html"));
        for no in [
            &b"email,name\nalice@example.com,<b>Alice</b>\n"[..],
            b"{\"html\": \"<html>\"}",
            b"INSERT INTO t VALUES ('<html>');",
            b"<?xml version=\"1.0\"?><users><user>a@example.com</user></users>",
            b"note: see <html> docs, mail bob@example.org",
            b"alice@example.com:<p>hunter2",
        ] {
            assert!(!recognize_html(no, "dump.txt"), "{}", String::from_utf8_lossy(no));
        }
    }

    #[test]
    fn html_entities_mailto_links_and_cells_come_out_as_separate_text() {
        // Entities as Python's html.escape and hand-written numeric ones; expectations by hand.
        let page = concat!(
            "<!DOCTYPE html><html><head><title>Staff</title>",
            "<style>td { color: red } .x:after { content: 'style@example.com' }</style>",
            "<script>var a = 'script@example.com';</script></head><body>",
            "<p>Contact: <a href=\"mailto:taro%2Eyamada@example.jp?subject=Hi\">Taro</a></p>",
            "<table><tr><td>alice@example.com</td><td>bob&#64;example.org</td></tr>",
            "<tr><td>carol&#x40;example.net</td><td>d&amp;e@example.com</td></tr></table>",
            "<p>Caf&eacute; <b>dave</b>@example.com</p>",
            "<div title=\"owner: erin@example.org\">x</div>",
            "<!-- old contact: frank@example.net -->",
            "</body></html>"
        );
        let sink = run(read_html, page.as_bytes());
        assert!(sink.warnings().is_empty(), "{:?}", sink.warnings());
        let t = text(&sink);
        let l = lines(&t);
        assert!(l.contains(&"alice@example.com\tbob@example.org"), "{t:?}");
        assert!(l.contains(&"carol@example.net\td&e@example.com"), "{t:?}");
        assert!(l.contains(&"Café dave@example.com"), "{t:?}");
        assert!(l.contains(&"taro.yamada@example.jp"), "{t:?}");
        assert!(l.contains(&"owner: erin@example.org"), "{t:?}");
        assert!(l.contains(&"old contact: frank@example.net"), "{t:?}");
        assert!(l.contains(&"Contact: Taro"), "{t:?}");
        assert!(!t.contains("script@") && !t.contains("style@"), "{t:?}");
    }

    #[test]
    fn html_attribute_with_multibyte_characters_in_its_first_seven_bytes_is_read_not_a_panic() {
        // Found by the hostile-bytes property: `mailto:` was compared by slicing bytes.
        let t = text(&run(read_html, "<html><a title=\"Żółw€Š ola@example.pl\">x</a></html>".as_bytes()));
        assert!(lines(&t).contains(&"Żółw€Š ola@example.pl"), "{t:?}");
    }

    #[test]
    fn html_declared_shift_jis_charset_wins_over_detection() {
        // python3 -c "print('担当：鈴木 suzuki@example.jp'.encode('shift_jis'))"
        let mut page =
            b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\"></head><body><p>"
                .to_vec();
        page.extend_from_slice(b"\x92S\x93\x96\x81F\x97\xe9\x96\xd8 suzuki@example.jp");
        page.extend_from_slice(b"</p></body></html>");
        let t = text(&run(read_html, &page));
        assert!(lines(&t).contains(&"担当：鈴木 suzuki@example.jp"), "{t:?}");

        // EUC-JP declared by <meta charset>: python3 -c "print('佐藤'.encode('euc_jp'))"
        let mut page = b"<!doctype html><meta charset=\"euc-jp\"><p>".to_vec();
        page.extend_from_slice(b"\xba\xb4\xc6\xa3 sato@example.jp</p>");
        let t = text(&run(read_html, &page));
        assert!(lines(&t).contains(&"佐藤 sato@example.jp"), "{t:?}");
    }

    #[test]
    fn html_without_declared_charset_is_detected() {
        // python3 -c "print(('<html><body>' + '名簿 会議 連絡先 担当者 ' * 20 + 'kato@example.jp</body></html>').encode('shift_jis'))"
        let mut page = b"<html><body>".to_vec();
        for _ in 0..20 {
            page.extend_from_slice(b"\x96\xbc\x95\xeb \x89\xef\x8bc \x98A\x97\x8d\x90\xe6 \x92S\x93\x96\x8e\xd2 ");
        }
        page.extend_from_slice(b"kato@example.jp</body></html>");
        let t = text(&run(read_html, &page));
        assert!(t.contains("名簿 会議 連絡先 担当者 kato@example.jp"), "{t:?}");
    }

    // LDIF

    #[test]
    fn ldif_base64_values_and_folded_lines_are_decoded() {
        // python3 -c "import base64; print(base64.b64encode('山田 太郎'.encode()).decode())"
        //   -> 5bGx55SwIOWkqumDjg==
        // python3 -c "import base64; print(base64.b64encode(b'hanako.sato@example.jp').decode())"
        //   -> aGFuYWtvLnNhdG9AZXhhbXBsZS5qcA==
        let ldif = concat!(
            "version: 1\n",
            "# export of ou=people\n",
            "dn: uid=taro,ou=people,dc=example,dc=jp\n",
            "cn:: 5bGx55SwIOWkqumDjg==\n",
            "mail: taro.yamada@exa\n",
            " mple.jp\n",
            "jpegPhoto:: /9j/4AAQSkZJRgABAQ==\n",
            "\n",
            "dn: uid=hanako,ou=people,dc=example,dc=jp\r\n",
            "mail:: aGFuYWtvLnNhdG9A\r\n",
            " ZXhhbXBsZS5qcA==\r\n",
            "description: a long description that goes on and\r\n",
            "  on\r\n",
        );
        assert!(recognize_ldif(ldif.as_bytes(), "export.txt"));
        let sink = run(read_ldif, ldif.as_bytes());
        assert!(sink.warnings().is_empty(), "{:?}", sink.warnings());
        let t = text(&sink);
        let l = lines(&t);
        assert!(l.contains(&"cn: 山田 太郎"), "{t:?}");
        assert!(l.contains(&"mail: taro.yamada@example.jp"), "{t:?}");
        assert!(l.contains(&"mail: hanako.sato@example.jp"), "{t:?}");
        assert!(l.contains(&"description: a long description that goes on and on"), "{t:?}");
        assert!(l.contains(&"dn: uid=taro,ou=people,dc=example,dc=jp"), "{t:?}");
        assert!(!t.contains("jpegPhoto"), "{t:?}");
    }

    #[test]
    fn ldif_invalid_base64_is_a_warning_naming_the_attribute_not_the_value() {
        let sink =
            run(read_ldif, b"dn: cn=x,dc=example,dc=com\nmail:: !!not-base64@example.com\nmail: ok@example.com\n");
        assert_eq!(sink.warnings(), vec!["LDIF: 1 base64 values not valid, not read (attributes mail)"]);
        assert!(lines(&text(&sink)).contains(&"mail: ok@example.com"));
        // An address where the attribute name goes is not repeated in the warning.
        let sink = run(read_ldif, b"dn: cn=x,dc=example,dc=com\nbob@example.com:: !!!\n");
        assert_eq!(sink.warnings(), vec!["LDIF: 1 base64 values not valid, not read (attributes ?)"]);
    }

    #[test]
    fn ldif_is_not_claimed_for_other_text() {
        assert!(!recognize_ldif(b"alice@example.com:dn:pass\n", "a.txt"));
        assert!(!recognize_ldif(b"email,dn\n", "a.csv"));
        assert!(recognize_ldif(b"\n# comment\ndn: cn=a\n", "x"));
        assert!(recognize_ldif(b"objectClass: person\n", "people.LDIF"));
    }

    // vCard

    #[test]
    fn vcard_quoted_printable_with_a_soft_break_inside_the_address_is_joined() {
        // vCard 2.1 written by hand: the soft break `=\r\n` falls inside the address, and the
        // name is UTF-8 in quoted-printable, components `;`-separated (python3 -c "import quopri;
        // print(quopri.encodestring('鈴木 一郎'.encode()))" gives the bytes, with a space).
        let card = concat!(
            "BEGIN:VCARD\r\n",
            "VERSION:2.1\r\n",
            "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E9=88=B4=E6=9C=A8;=E4=B8=80=E9=83=8E\r\n",
            "EMAIL;INTERNET;ENCODING=QUOTED-PRINTABLE:ichiro.suzuki=40exam=\r\n",
            "ple.jp\r\n",
            "EMAIL;INTERNET:plain@example.org\r\n",
            "END:VCARD\r\n",
            "BEGIN:VCARD\r\n",
            "VERSION:3.0\r\n",
            "FN:Jane Doe\r\n",
            "item1.EMAIL;TYPE=INTERNET:jane.doe@exam\r\n",
            " ple.com\r\n",
            "NOTE:Assistant\\, mail assistant@example.net\\nthanks\r\n",
            "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQ==\r\n",
            "END:VCARD\r\n",
        );
        assert!(recognize_vcard(card.as_bytes(), "contacts"));
        let sink = run(read_vcard, card.as_bytes());
        assert!(sink.warnings().is_empty(), "{:?}", sink.warnings());
        let t = text(&sink);
        let l = lines(&t);
        assert!(l.contains(&"EMAIL: ichiro.suzuki@example.jp"), "{t:?}");
        assert!(l.contains(&"N: 鈴木 一郎"), "{t:?}");
        assert!(l.contains(&"EMAIL: plain@example.org"), "{t:?}");
        assert!(l.contains(&"EMAIL: jane.doe@example.com"), "{t:?}");
        assert!(l.contains(&"NOTE: Assistant, mail assistant@example.net"), "{t:?}");
        assert!(!t.contains("PHOTO") && !t.contains("VERSION"), "{t:?}");
    }

    #[test]
    fn vcard_shift_jis_charset_from_a_japanese_phone_is_decoded() {
        // python3 -c "import quopri; print(quopri.encodestring('山田花子'.encode('shift_jis')))"
        //   -> =8ER=93c=89=D4=8Eq
        let mut card =
            b"BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=SHIFT_JIS;ENCODING=QUOTED-PRINTABLE:=8ER=93c=89=D4=8Eq\r\n"
                .to_vec();
        // Raw Shift_JIS with CHARSET: python3 -c "print('自宅'.encode('shift_jis'))"
        card.extend_from_slice(b"NOTE;CHARSET=SHIFT_JIS:\x8e\xa9\x91\xee hanako@example.jp\r\n");
        // The reading of the name, half-width katakana: python3 -c "print('ﾔﾏﾀﾞ'.encode('shift_jis'))"
        card.extend_from_slice(b"SOUND;X-IRMC-N;CHARSET=SHIFT_JIS:\xd4\xcf\xc0\xde;\r\nEND:VCARD\r\n");
        let t = text(&run(read_vcard, &card));
        let l = lines(&t);
        assert!(l.contains(&"N: 山田花子"), "{t:?}");
        assert!(l.contains(&"NOTE: 自宅 hanako@example.jp"), "{t:?}");
        assert!(l.contains(&"SOUND: ﾔﾏﾀﾞ"), "{t:?}");
    }

    // RTF

    #[test]
    fn rtf_text_code_page_bytes_unicode_escapes_and_mailto_fields() {
        // Hand-written as Word writes it; bytes from python3 -c "print('鈴木'.encode('cp932'))"
        // (b'\x97\xe9\x96\xd8') and ord('山'), ord('田') = 23665, 30000.
        let rtf = concat!(
            "{\\rtf1\\ansi\\ansicpg932\\deff0{\\fonttbl{\\f0\\fnil\\fcharset128 MS Mincho;}}",
            "{\\colortbl;\\red0\\green0\\blue0;}",
            "{\\*\\generator Riched20 10.0.19041}\\viewkind4\\uc1\n",
            "\\pard\\f0\\fs22 \\'97\\'e9\\'96\\'d8 suzuki@example.jp\\par\n",
            "\\u23665?\\u30000? yamada@example.org\\par\n",
            "{\\field{\\*\\fldinst{HYPERLINK \"mailto:sales@example.com\"}}{\\fldrslt{\\ul Sales}}}\\par\n",
            "\\trowd\\cellx1000\\cellx2000 a@example.com\\cell b@example.net\\cell\\row\n",
            "{\\pict\\pngblip 89504e470d0a}",
            "}"
        );
        assert!(recognize_rtf(rtf.as_bytes(), "x"));
        assert!(!recognize_rtf(b"text {\\rtf1", "x"));
        let t = text(&run(read_rtf, rtf.as_bytes()));
        let l = lines(&t);
        assert!(l.contains(&"鈴木 suzuki@example.jp"), "{t:?}");
        assert!(l.contains(&"山田 yamada@example.org"), "{t:?}");
        assert!(l.contains(&"Sales"), "{t:?}");
        assert!(l.contains(&"sales@example.com"), "{t:?}");
        assert!(l.contains(&"a@example.com\tb@example.net"), "{t:?}");
        assert!(!t.contains("Mincho") && !t.contains("Riched") && !t.contains("89504e"), "{t:?}");
    }

    // Hostile input

    /// Bytes that matter to these formats, so that random input reaches the parsers' corners.
    fn markup_bytes() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let special = prop::sample::select(b"<>&#;=:\\{}'\"\n\r \t/!-?*uABCx0123456789@\xe9\x82\x81\xff".to_vec());
        prop::collection::vec(prop_oneof![special, any::<u8>()], 0..600)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]
        #[test]
        fn markup_readers_never_panic_on_hostile_bytes(body in markup_bytes(), which in 0usize..4) {
            let (prefix, read): (&[u8], ReadFn) = match which {
                0 => (b"<!DOCTYPE html><html><body>", read_html),
                1 => (b"dn: cn=a,dc=example,dc=com\nmail:: ", read_ldif),
                2 => (b"BEGIN:VCARD\r\nEMAIL;ENCODING=QUOTED-PRINTABLE;CHARSET=SHIFT_JIS:", read_vcard),
                _ => (b"{\\rtf1\\ansi\\ansicpg932 ", read_rtf),
            };
            let mut input = prefix.to_vec();
            input.extend_from_slice(&body);
            let mut sink = Collect::new();
            let mut c = Cursor::new(input);
            let _ = read(Source::Stream(&mut c), &mut sink);
        }
    }

    #[test]
    fn markup_larger_than_the_budget_is_refused_with_a_warning() {
        let mut sink = Collect::new();
        sink.budget = 16;
        let mut c = Cursor::new(b"<html><body>alice@example.com</body></html>".to_vec());
        read_html(Source::Stream(&mut c), &mut sink).unwrap();
        assert_eq!(sink.warnings(), vec!["HTML file larger than the 16 bytes this build may hold in memory: not read"]);
    }
}
