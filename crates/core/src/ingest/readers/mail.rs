//! Mail: single RFC 822 messages (`.eml`, MIME) and mbox mailboxes.
//!
//! A message becomes:
//! - `headers`: the addresses of From, To, Cc, Bcc, Reply-To, Sender, Return-Path,
//!   Delivered-To and the Resent- fields, one per line with the display name decoded from RFC
//!   2047 encoded words (ISO-2022-JP, Shift_JIS, UTF-8, ...), and the decoded Subject;
//! - `part N`: each text part (after quoted-printable or base64, in its charset, or a detected
//!   one when the declared charset does not match its bytes, with a warning), read as free
//!   text; an HTML part goes to [`Sink::file`] as `part N.html` (UTF-8 with a BOM, so that a
//!   `<meta charset>` left in it cannot win) for the HTML reader;
//! - each attachment, and each `message/rfc822` part, goes to [`Sink::file`] under its file
//!   name (RFC 2231 / RFC 2047 decoded) or `part N` / `part N.eml`, as the bytes it holds
//!   after transfer decoding, so that a CSV attachment is read as CSV and a zip as zip.
//!
//! An mbox is cut into messages at `From SENDER DATE` separator lines that follow an empty line
//! or start the file (any other `From ` line is body text; `>From ` lines unquoted, mboxrd
//! style), and
//! each message is handed to [`Sink::file`] as `message N.eml`, read by the eml reader one
//! level deeper: `box.mbox!message 3.eml!名簿.csv`.
//!
//! MIME parsing is `mail-parser`'s (which keeps nested multiparts on a heap stack, not on
//! the call stack); each call into it runs under `catch_unwind`, so that a panic on hostile
//! input becomes an error naming the message.

use std::borrow::Cow;
use std::io::{self, BufRead, BufReader, Read};

use mail_parser::{Address, Encoding, HeaderName, HeaderValue, MessageParser, MessagePart, MimeHeaders, PartType};

use super::{MemberHint, Sink, Source};
use crate::ingest::stream::is_mbox_separator;

/// Largest single message read into memory (less when the sink's budget is smaller). A larger
/// message is not read, with a warning.
pub(crate) const MAX_MESSAGE: u64 = 256 << 20;

/// Header fields whose presence at the start of a file makes it a message: at least
/// [`MIN_HEADERS`] of them (a text file may start with one `From:` line).
const MESSAGE_HEADERS: &[&str] = &["from", "to", "subject", "date", "message-id", "received", "mime-version"];

/// How many distinct [`MESSAGE_HEADERS`] a file must start with to be read as a message.
const MIN_HEADERS: usize = 2;

/// Address-bearing header fields that mail-parser is asked to parse as addresses beside its
/// own set (From, Sender, Reply-To, To, Cc, Bcc and the Resent- fields).
const EXTRA_ADDRESS_HEADERS: &[&str] = &["Return-Path", "Delivered-To", "Disposition-Notification-To", "Errors-To"];

/// The mbox separator: a line starting with it begins a message.
const MBOX_FROM: &[u8] = b"From ";

/// Longest piece of an mbox line read at once (a longer line is read in pieces, so a file
/// without newlines never grows a buffer beyond the message cap).
const MBOX_LINE_PIECE: u64 = 64 * 1024;

/// How many distinct known header fields the run of header lines at the start of `head`
/// holds (the run ends at the first empty line or line that is not a header).
fn leading_header_count(head: &[u8]) -> usize {
    let mut seen = [false; MESSAGE_HEADERS.len()];
    let mut lines = head.split(|&b| b == b'\n').peekable();
    let mut first = true;
    while let Some(line) = lines.next() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if !first && (line[0] == b' ' || line[0] == b'\t') {
            continue; // folded continuation of the previous field
        }
        first = false;
        let Some(colon) = line.iter().position(|&b| b == b':') else { break };
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| b.is_ascii_graphic()) {
            break;
        }
        if lines.peek().is_none() && head.len() >= crate::ingest::SNIFF_BYTES {
            break; // a header line cut by the end of the window still counted above
        }
        if let Some(i) = MESSAGE_HEADERS.iter().position(|h| name.eq_ignore_ascii_case(h.as_bytes())) {
            seen[i] = true;
        }
    }
    seen.iter().filter(|&&s| s).count()
}

/// Whether a file is a single message: a run of header lines at its start with at least two
/// of From/To/Subject/Date/Message-ID/Received/MIME-Version (one with an `.eml` name).
pub(crate) fn recognize_eml(head: &[u8], name: &str) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let n = leading_header_count(head);
    n >= MIN_HEADERS || (n >= 1 && has_extension(name, "eml"))
}

/// Whether a file is an mbox: a `From SENDER DATE` separator line at its very start, followed
/// by a message.
pub(crate) fn recognize_mbox(head: &[u8], _name: &str) -> bool {
    let Some(nl) = head.iter().position(|&b| b == b'\n') else { return false };
    let first = &head[..nl];
    is_mbox_separator(first.strip_suffix(b"\r").unwrap_or(first)) && leading_header_count(&head[nl + 1..]) >= 1
}

fn has_extension(name: &str, ext: &str) -> bool {
    name.rsplit_once('.').is_some_and(|(_, e)| e.eq_ignore_ascii_case(ext))
}

/// Reads one message (`.eml`, or a MIME message found anywhere).
pub(crate) fn read_eml(src: Source<'_>, sink: &mut dyn Sink) -> Result<(), String> {
    let cap = MAX_MESSAGE.min(sink.budget());
    let input: &mut dyn Read = match src {
        Source::Stream(r) => r,
        Source::Seekable(r, _) => r,
    };
    let mut raw = Vec::new();
    input.take(cap + 1).read_to_end(&mut raw).map_err(|e| format!("reading the message: {e}"))?;
    if raw.len() as u64 > cap {
        // Read through the rest so that every byte is accounted for, without holding it.
        io::copy(input, &mut io::sink()).map_err(|e| format!("reading the message: {e}"))?;
        sink.warn(format!("message larger than {cap} bytes (the per-message cap or what is left of the expanded-size budget): not read"));
        return Ok(());
    }
    read_message(&raw, sink)
}

/// Reads a message held in memory into `sink` (also used for the messages of an mbox).
pub(crate) fn read_message(raw: &[u8], sink: &mut dyn Sink) -> Result<(), String> {
    let parser = message_parser();
    let parsed = super::catch_quietly(|| parser.parse(raw));
    let msg = match parsed {
        Ok(Some(msg)) if !msg.parts.is_empty() => msg,
        Ok(_) => return read_as_text(raw, sink, "no MIME structure could be parsed"),
        Err(_) => return read_as_text(raw, sink, "the MIME parser failed on it"),
    };
    match super::catch_quietly(|| header_text(&msg.parts[0])) {
        Ok(headers) if !headers.is_empty() => sink.text("headers", &headers).map_err(|s| s.0)?,
        Ok(_) => {}
        Err(_) => return read_as_text(raw, sink, "the MIME parser failed on its header fields"),
    }

    let mut n = 0usize;
    for (i, part) in msg.parts.iter().enumerate() {
        if matches!(part.body, PartType::Multipart(_)) {
            continue;
        }
        n += 1;
        let is_attachment = msg.attachments.contains(&(i as u32));
        match &part.body {
            PartType::Multipart(_) => {}
            PartType::Message(nested) => {
                // An unencoded message/rfc822 part shares the outer buffer; an encoded one was
                // decoded into a buffer of its own.
                let bytes: &[u8] = match part.encoding {
                    Encoding::None => raw.get(part.offset_body as usize..part.offset_end as usize).unwrap_or_default(),
                    _ => &nested.raw_message,
                };
                let name = attachment_name(part).unwrap_or_else(|| format!("part {n}.eml"));
                hand_file(sink, &name, bytes)?;
            }
            PartType::Text(text) if !is_attachment => {
                let (text, encoding) = redecode_if_mislabelled(raw, part, text, n, sink);
                match encoding {
                    Some(enc) => sink.text_decoded(&format!("part {n}"), &text, enc),
                    None => sink.text(&format!("part {n}"), &text),
                }
                .map_err(|s| s.0)?;
            }
            PartType::Html(html) if !is_attachment => {
                let (html, _) = redecode_if_mislabelled(raw, part, html, n, sink);
                let mut bytes = Vec::with_capacity(html.len() + 3);
                bytes.extend_from_slice(b"\xEF\xBB\xBF");
                bytes.extend_from_slice(html.as_bytes());
                hand_file(sink, &format!("part {n}.html"), &bytes)?;
            }
            PartType::Text(_) | PartType::Html(_) => {
                // A text attachment (text/csv, a .txt file): its bytes before charset
                // decoding, so the pipeline detects its encoding and format as for any file.
                let name = attachment_name(part).unwrap_or_else(|| format!("part {n}"));
                match transfer_decoded(raw, part) {
                    Some(bytes) => hand_file(sink, &name, &bytes)?,
                    None => {
                        sink.warn(format!(
                            "attachment {name}: malformed transfer encoding; read as mail-parser decoded it"
                        ));
                        let text: &str = match &part.body {
                            PartType::Text(t) | PartType::Html(t) => t,
                            _ => "",
                        };
                        hand_file(sink, &name, text.as_bytes())?;
                    }
                }
            }
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                let name = attachment_name(part).unwrap_or_else(|| format!("part {n}"));
                if part.is_encoding_problem {
                    sink.warn(format!(
                        "{name}: malformed part (a forwarded message nested too deep, or unparsable); read as a file"
                    ));
                }
                hand_file(sink, &name, bytes)?;
            }
        }
    }
    Ok(())
}

/// The `headers` text of a block of header fields alone (an Outlook message's transport
/// headers): addresses with decoded names, other fields but identifiers. `None` when the
/// parser fails on it.
pub(crate) fn header_block_text(block: &str) -> Option<String> {
    let mut raw = block.trim_end().as_bytes().to_vec();
    raw.extend_from_slice(b"\r\n\r\n");
    let parser = message_parser();
    super::catch_quietly(|| parser.parse_headers(&raw[..]).map(|m| header_text(&m.parts[0]))).ok().flatten()
}

/// A message the MIME parser cannot read: read whole as free text (every address in its raw
/// bytes), with a warning saying why.
fn read_as_text(raw: &[u8], sink: &mut dyn Sink, why: &str) -> Result<(), String> {
    sink.warn(format!("malformed message ({why}): read as plain text, without MIME decoding"));
    sink.text("text", &decode_detected(raw).0).map_err(|s| s.0)
}

fn hand_file(sink: &mut dyn Sink, name: &str, bytes: &[u8]) -> Result<(), String> {
    let hint = MemberHint { compressed: None, size: Some(bytes.len() as u64) };
    sink.file(name, &mut &bytes[..], hint).map_err(|s| s.0)
}

fn message_parser() -> MessageParser {
    let mut p = MessageParser::new().with_mime_headers().with_address_headers().default_header_text();
    for h in EXTRA_ADDRESS_HEADERS {
        p = p.header_address(HeaderName::parse(*h).unwrap_or(HeaderName::Other(Cow::Borrowed(h))));
    }
    p
}

/// Header fields that hold identifiers or signatures, not addresses a reader would see
/// (`Message-ID: <x@host>` looks like an address and is not one); every other field is kept.
const ID_HEADERS: &[&str] =
    &["message-id", "in-reply-to", "references", "resent-message-id", "content-id", "dkim-signature"];
/// Prefixes of such fields (`ARC-Seal`, `Content-Type`, ...).
const ID_HEADER_PREFIXES: &[&str] = &["arc-", "content-", "x-ms-exchange-"];

/// The `headers` text: the addresses of the address fields, one per line
/// (`Display Name <addr>`), then the decoded values of the other fields (Subject, Received
/// `for <addr>`, X-Original-To, ...) except identifiers and MIME fields.
fn header_text(root: &MessagePart<'_>) -> String {
    let mut out = String::new();
    let mut others = String::new();
    for h in &root.headers {
        match &h.value {
            HeaderValue::Address(Address::List(list)) => {
                list.iter().for_each(|a| push_addr(&mut out, a.name.as_deref(), a.address.as_deref()))
            }
            HeaderValue::Address(Address::Group(groups)) => {
                for g in groups {
                    g.addresses.iter().for_each(|a| push_addr(&mut out, a.name.as_deref(), a.address.as_deref()))
                }
            }
            HeaderValue::Text(t) if !is_id_header(&h.name) => {
                others.push_str(t.trim());
                others.push('\n');
            }
            HeaderValue::TextList(l) if !is_id_header(&h.name) => {
                for t in l {
                    others.push_str(t.trim());
                    others.push('\n');
                }
            }
            _ => {}
        }
    }
    out.push_str(&others);
    out
}

fn is_id_header(name: &HeaderName<'_>) -> bool {
    let n = name.as_str();
    ID_HEADERS.iter().any(|h| n.eq_ignore_ascii_case(h))
        || ID_HEADER_PREFIXES
            .iter()
            .any(|p| n.len() >= p.len() && n.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes()))
}

fn push_addr(out: &mut String, name: Option<&str>, addr: Option<&str>) {
    match (name, addr) {
        (Some(n), Some(a)) => out.push_str(&format!("{} <{a}>", n.trim())),
        (None, Some(a)) => out.push_str(a),
        (Some(n), None) => out.push_str(n.trim()),
        (None, None) => return,
    }
    out.push('\n');
}

/// The file name an attachment declares (Content-Disposition `filename`, else Content-Type
/// `name`; RFC 2231 and 2047 decoded by mail-parser), as a name for provenance: its last path
/// component, without control characters.
fn attachment_name(part: &MessagePart<'_>) -> Option<String> {
    let name = part.attachment_name()?;
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = last.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    (!clean.is_empty() && clean != "." && clean != "..").then(|| clean.to_string())
}

/// The body bytes of a leaf part after quoted-printable or base64 decoding, before any charset.
fn transfer_decoded(raw: &[u8], part: &MessagePart<'_>) -> Option<Vec<u8>> {
    let body = raw.get(part.offset_body as usize..part.offset_end as usize)?;
    match part.encoding {
        Encoding::None => Some(body.to_vec()),
        Encoding::QuotedPrintable => mail_parser::decoders::quoted_printable::quoted_printable_decode(body),
        Encoding::Base64 => mail_parser::decoders::base64::base64_decode(body),
    }
}

/// A text part whose charset is missing or does not match its bytes, decoded again from its
/// transfer-decoded bytes by detection, as files are:
/// - no declared charset and not UTF-8 (mail-parser then decodes it as lossy UTF-8);
/// - a declared charset under which the bytes give decode errors (Shift_JIS bytes labelled
///   ISO-2022-JP), or bytes that are valid non-ASCII UTF-8 under another declared charset
///   (UTF-8 labelled iso-8859-1 or Shift_JIS, which decodes to mojibake that can swallow the
///   first letter of an address): with a warning naming the part, never its text.
fn redecode_if_mislabelled<'t>(
    raw: &[u8],
    part: &MessagePart<'_>,
    text: &'t str,
    n: usize,
    sink: &mut dyn Sink,
) -> (Cow<'t, str>, Option<&'static str>) {
    let declared = part.content_type().and_then(|ct| ct.attribute("charset")).map(|c| c.trim().to_string());
    let Some(declared) = declared else {
        if !text.contains('\u{FFFD}') {
            return (Cow::Borrowed(text), None);
        }
        return match transfer_decoded(raw, part) {
            Some(bytes) => {
                let (decoded, used) = decode_detected(&bytes);
                (Cow::Owned(decoded), legacy(used))
            }
            None => (Cow::Borrowed(text), None),
        };
    };
    // What the label says, for the report, when it is a legacy encoding.
    let labelled = encoding_rs::Encoding::for_label(declared.as_bytes()).and_then(|e| legacy(e.name()));
    let declared_utf8 = encoding_rs::Encoding::for_label(declared.as_bytes()) == Some(encoding_rs::UTF_8);
    if declared_utf8 {
        // Invalid UTF-8 declared as UTF-8: detection below would find the same errors or a
        // guess; a UTF-8 label is kept unless the text shows errors.
        if !text.contains('\u{FFFD}') {
            return (Cow::Borrowed(text), None);
        }
    }
    let Some(bytes) = transfer_decoded(raw, part) else {
        return (Cow::Borrowed(text), labelled);
    };
    let utf8_not_ascii = !declared_utf8 && !bytes.is_ascii() && std::str::from_utf8(&bytes).is_ok();
    let errors = text.contains('\u{FFFD}');
    if !utf8_not_ascii && !errors {
        return (Cow::Borrowed(text), labelled.filter(|_| !text.is_ascii()));
    }
    // A Japanese label on the wrong Japanese bytes (EUC-JP labelled ISO-2022-JP) says the
    // language: detection is told so, as a `.jp` domain would (a short body alone may look GBK).
    let japanese = ["iso-2022-jp", "shift_jis", "shift-jis", "sjis", "euc-jp", "windows-31j", "cp932"]
        .iter()
        .any(|l| declared.eq_ignore_ascii_case(l));
    let (decoded, used) = decode_detected_hinted(&bytes, japanese.then_some(b"jp".as_slice()));
    if decoded.contains('\u{FFFD}') && decoded.matches('\u{FFFD}').count() >= text.matches('\u{FFFD}').count() {
        // Detection does no better than the label: keep what the label gave.
        return (Cow::Borrowed(text), labelled);
    }
    // The label is the message's own text: kept short, and not shown when it could be an
    // address planted in it.
    let label: String = declared.chars().filter(|c| c.is_ascii_graphic()).take(40).collect();
    let label = if label.contains('@') || label.is_empty() { "(unreadable label)".to_string() } else { label };
    sink.warn(format!("part {n}: declared charset {label} does not match its bytes; decoded as {used}"));
    (Cow::Owned(decoded), legacy(used))
}

/// An encoding's name for a report, when it is not UTF-8 (or ASCII, which reports as such).
fn legacy(name: &'static str) -> Option<&'static str> {
    (!name.eq_ignore_ascii_case("UTF-8")).then_some(name)
}

/// Decodes bytes of unknown encoding: a BOM, else UTF-8 when valid, else what `chardetng`
/// guesses (Shift_JIS, EUC-JP, ISO-2022-JP, GBK, Big5, EUC-KR, windows-125x). Returns the
/// text and the name of the encoding used.
pub(crate) fn decode_detected(bytes: &[u8]) -> (String, &'static str) {
    decode_detected_hinted(bytes, None)
}

/// [`decode_detected`] with a top-level domain hinting at the language (`jp`), for `chardetng`.
fn decode_detected_hinted(bytes: &[u8], tld: Option<&[u8]>) -> (String, &'static str) {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return (enc.decode_without_bom_handling(&bytes[bom..]).0.into_owned(), enc.name());
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        if !s.contains('\x1b') {
            return (s.to_string(), encoding_rs::UTF_8.name());
        }
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Allow);
    detector.feed(bytes, true);
    let enc = detector.guess(tld, chardetng::Utf8Detection::Allow);
    (enc.decode_without_bom_handling(bytes).0.into_owned(), enc.name())
}

/// Reads an mbox: each message is handed to the sink as `message N.eml`.
pub(crate) fn read_mbox(src: Source<'_>, sink: &mut dyn Sink) -> Result<(), String> {
    let input: &mut dyn Read = match src {
        Source::Stream(r) => r,
        Source::Seekable(r, _) => r,
    };
    let mut input = BufReader::with_capacity(64 * 1024, input);
    let cap = MAX_MESSAGE.min(sink.budget());
    let mut msg: Vec<u8> = Vec::new();
    let mut n = 0usize; // messages started
    let mut oversized = false;
    let mut at_line_start = true;
    // Whether the line before is empty (or there is none): a separator must follow one, so a
    // body line `From SENDER DATE` left unescaped inside a paragraph stays body text.
    let mut after_blank = true;
    let mut piece = Vec::new();
    loop {
        piece.clear();
        let got = (&mut input)
            .take(MBOX_LINE_PIECE)
            .read_until(b'\n', &mut piece)
            .map_err(|e| format!("reading message {}: {e}", n.max(1)))?;
        if got == 0 {
            break;
        }
        let starts_line = at_line_start;
        let follows_blank = after_blank;
        at_line_start = piece.ends_with(b"\n");
        after_blank = starts_line && (piece == b"\n" || piece == b"\r\n");
        if starts_line && follows_blank && is_separator_line(&piece) {
            if n > 0 {
                finish_mbox_message(sink, n, &msg, oversized, cap)?;
            }
            n += 1;
            msg.clear();
            oversized = false;
            continue; // the separator line is not part of the message
        }
        if n == 0 {
            // Text before the first separator (not an mbox after all, or a damaged start).
            n = 1;
        }
        if oversized {
            continue;
        }
        let mut line: &[u8] = &piece;
        if starts_line {
            let quotes = line.iter().take_while(|&&b| b == b'>').count();
            if quotes > 0 && line[quotes..].starts_with(MBOX_FROM) {
                line = &line[1..];
            }
        }
        if (msg.len() + line.len()) as u64 > cap {
            oversized = true;
            msg = Vec::new();
            continue;
        }
        msg.extend_from_slice(line);
    }
    if n > 0 {
        finish_mbox_message(sink, n, &msg, oversized, cap)?;
    }
    Ok(())
}

/// Whether a whole line (with its line ending) is an mbox `From SENDER DATE` separator; any
/// other line starting `From ` is body text.
fn is_separator_line(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    is_mbox_separator(line.strip_suffix(b"\r").unwrap_or(line))
}

fn finish_mbox_message(sink: &mut dyn Sink, n: usize, msg: &[u8], oversized: bool, cap: u64) -> Result<(), String> {
    if oversized {
        sink.warn(format!("message {n}: larger than {cap} bytes (the per-message cap or what is left of the expanded-size budget): not read"));
        return Ok(());
    }
    hand_file(sink, &format!("message {n}.eml"), msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::readers::testing::{Collect, Got};

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mail/");

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}{name}")).unwrap_or_else(|e| panic!("fixture {name}: {e} (see make_mail.py)"))
    }

    fn read_eml_bytes(raw: &[u8]) -> Collect {
        let mut sink = Collect::new();
        read_eml(Source::Stream(&mut &raw[..]), &mut sink).expect("message read");
        sink
    }

    fn file_of<'a>(sink: &'a Collect, name: &str) -> &'a [u8] {
        sink.got
            .iter()
            .find_map(|g| match g {
                Got::File(n, b) if n == name => Some(b.as_slice()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no file {name} in {:?}", names(sink)))
    }

    fn names(sink: &Collect) -> Vec<String> {
        sink.got
            .iter()
            .map(|g| match g {
                Got::File(n, _) => format!("file {n}"),
                Got::Text(p, _) => format!("text {p}"),
                Got::Table(p, _) => format!("table {p}"),
                Got::Warn(w) => format!("warn {w}"),
                Got::Skipped(n, why) => format!("skipped {n}: {why}"),
                Got::Kind(k) => format!("kind {k}"),
            })
            .collect()
    }

    #[test]
    fn eml_headers_decode_iso_2022_jp_utf8_and_shift_jis_display_names() {
        let sink = read_eml_bytes(&fixture("encoded_words.eml"));
        let headers = sink.text_of("headers");
        for line in [
            "山田 太郎 <taro.yamada@example.jp>",
            "佐藤 花子 <hanako.sato@example.com>",
            "鈴木 一郎 <ichiro.suzuki@example.org>",
            "cc-only@example.net",
            "Müller, Jürgen <j.mueller@example.de>",
            "bounce@example.net",
            "inbox@example.net",
        ] {
            assert!(headers.lines().any(|l| l == line), "{line:?} not in headers {headers:?}");
        }
        assert!(headers.contains("会議の件"), "decoded subject in {headers:?}");
        assert!(headers.contains("for <rcpt-in-received@example.jp>"), "Received kept: {headers:?}");
        assert!(headers.contains("original-to@example.jp"), "X-Original-To kept: {headers:?}");
        assert!(!headers.contains("fixture-1@example.jp"), "Message-ID is an identifier: {headers:?}");
        assert!(!headers.contains("text/plain"), "MIME fields left out: {headers:?}");
        assert!(sink.warnings().is_empty(), "{:?}", sink.warnings());
    }

    #[test]
    fn quoted_printable_soft_break_inside_an_address_is_joined() {
        let sink = read_eml_bytes(&fixture("qp_soft_break.eml"));
        let body = sink.text_of("part 1");
        assert!(body.contains("kyokuchou.no.hisho.tantousha@ministry.example.jp"), "{body:?}");
        assert!(body.contains("担当"), "charset decoded: {body:?}");
        // The raw message really has a soft break inside the address (the fixture's point).
        let raw = String::from_utf8(fixture("qp_soft_break.eml")).unwrap();
        assert!(!raw.contains("kyokuchou.no.hisho.tantousha@ministry.example.jp"));
    }

    #[test]
    fn base64_body_is_decoded_in_its_charset() {
        let sink = read_eml_bytes(&fixture("base64_sjis.eml"));
        let body = sink.text_of("part 1");
        assert!(body.contains("連絡先: keiri-ka@example.go.jp"), "{body:?}");
    }

    #[test]
    fn multipart_alternative_gives_the_text_part_and_the_html_part_as_a_file() {
        let sink = read_eml_bytes(&fixture("alternative.eml"));
        assert!(sink.text_of("part 1").contains("plain-only@example.com"));
        let html = file_of(&sink, "part 2.html");
        assert!(html.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM so the HTML's own meta charset cannot win");
        let html = std::str::from_utf8(&html[3..]).unwrap();
        assert!(html.contains("mailto:html-only@example.com"), "{html:?}");
        assert!(html.contains("お問い合わせ"), "{html:?}");
    }

    #[test]
    fn shift_jis_csv_attachment_keeps_its_bytes_and_its_rfc2231_japanese_name() {
        let sink = read_eml_bytes(&fixture("sjis_csv_attachment.eml"));
        let csv = file_of(&sink, "職員名簿.csv");
        let expected = fixture("sjis_csv_attachment.csv");
        assert_eq!(csv, expected.as_slice(), "attachment bytes are the Shift_JIS bytes, untouched");
        assert!(sink.text_of("part 1").contains("名簿を送ります"));
    }

    #[test]
    fn text_part_without_a_charset_is_decoded_by_detection_not_as_lossy_utf8() {
        let sink = read_eml_bytes(&fixture("undeclared_sjis.eml"));
        let body = sink.text_of("part 1");
        assert!(body.contains("総務課の窓口は"), "{body:?}");
        assert!(body.contains("soumu-madoguchi@example.jp"), "{body:?}");
        assert!(!body.contains('\u{FFFD}'), "{body:?}");
    }

    #[test]
    fn text_part_whose_declared_charset_does_not_match_its_bytes_is_decoded_by_detection() {
        for (fixture_name, declared, used, addr) in [
            ("mislabel_sjis_as_iso2022jp.eml", "ISO-2022-JP", "Shift_JIS", "sjis.as.jis@example.jp"),
            ("mislabel_utf8_as_latin1.eml", "iso-8859-1", "UTF-8", "utf8.as.latin1@example.jp"),
            ("mislabel_utf8_as_sjis.eml", "Shift_JIS", "UTF-8", "utf8.as.sjis@example.jp"),
            ("mislabel_eucjp_as_iso2022jp.eml", "ISO-2022-JP", "EUC-JP", "euc.as.jis@example.jp"),
        ] {
            let sink = read_eml_bytes(&fixture(fixture_name));
            let body = sink.text_of("part 1");
            assert!(body.contains(&format!("担当：{addr}　宛")), "{fixture_name}: {body:?}");
            assert!(body.contains("よろしくお願いします"), "{fixture_name}: {body:?}");
            let w = sink.warnings();
            assert_eq!(w.len(), 1, "{fixture_name}: {w:?}");
            assert_eq!(
                w[0],
                format!("part 1: declared charset {declared} does not match its bytes; decoded as {used}")
            );
        }
    }

    #[test]
    fn mismatched_charset_warning_never_shows_a_label_holding_an_address() {
        let raw = "From: a@example.org\r\nTo: b@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=\"planted@example.com\"\r\n\r\n担当：label.body@example.jp\r\n";
        let sink = read_eml_bytes(raw.as_bytes());
        assert!(sink.text_of("part 1").contains("担当：label.body@example.jp"));
        assert_eq!(
            sink.warnings(),
            ["part 1: declared charset (unreadable label) does not match its bytes; decoded as UTF-8"]
        );
    }

    #[test]
    fn text_part_whose_declared_charset_matches_is_read_without_a_warning() {
        let sink = read_eml_bytes(&fixture("base64_sjis.eml"));
        assert!(sink.warnings().is_empty(), "{:?}", sink.warnings());
        let sink = read_eml_bytes(&fixture("qp_soft_break.eml"));
        assert!(sink.warnings().is_empty(), "{:?}", sink.warnings());
    }

    #[test]
    fn zip_attachment_with_an_rfc2047_iso_2022_jp_name_is_handed_on_as_its_bytes() {
        let sink = read_eml_bytes(&fixture("rfc2047_zip_attachment.eml"));
        assert_eq!(file_of(&sink, "資料一式.zip"), fixture("rfc2047_zip_attachment.zip").as_slice());
        assert!(sink.text_of("part 1").contains("添付します"));
        assert!(sink.warnings().is_empty(), "{:?}", sink.warnings());
    }

    #[test]
    fn nested_message_rfc822_is_handed_on_as_a_message_file() {
        let sink = read_eml_bytes(&fixture("nested.eml"));
        let inner = file_of(&sink, "part 2.eml");
        assert!(recognize_eml(inner, "part 2.eml"), "the inner message is recognized by content");
        let inner_sink = read_eml_bytes(inner);
        assert!(inner_sink.text_of("headers").contains("inner-sender@example.org"));
        assert!(inner_sink.text_of("part 1").contains("forwarded-body@example.org"));
        let outer_headers = sink.text_of("headers");
        assert!(!outer_headers.contains("inner-sender@example.org"), "inner headers are not the outer's");
    }

    #[test]
    fn mbox_of_three_messages_with_a_quoted_from_line() {
        let raw = fixture("three.mbox");
        assert!(recognize_mbox(&raw, "three.mbox"));
        let mut sink = Collect::new();
        read_mbox(Source::Stream(&mut &raw[..]), &mut sink).unwrap();
        let files: Vec<&str> =
            sink.got.iter().filter_map(|g| if let Got::File(n, _) = g { Some(n.as_str()) } else { None }).collect();
        assert_eq!(files, ["message 1.eml", "message 2.eml", "message 3.eml"]);
        let second = file_of(&sink, "message 2.eml");
        let second_text = String::from_utf8_lossy(second);
        assert!(second_text.contains("\nFrom the archive: archivist@example.com"), "{second_text:?}");
        assert!(!second_text.contains(">From the archive"), "{second_text:?}");
        for (i, who) in ["first@example.com", "second@example.org", "third@example.net"].iter().enumerate() {
            let m = read_eml_bytes(file_of(&sink, &format!("message {}.eml", i + 1)));
            assert!(m.text_of("headers").contains(who), "message {} from {who}", i + 1);
        }
        let third = read_eml_bytes(file_of(&sink, "message 3.eml"));
        assert!(third.text_of("part 1").contains("b64-in-mbox@example.net"));
    }

    #[test]
    fn mbox_body_line_starting_from_is_body_text_not_a_separator() {
        // Python's mailbox output, with one body line "From here on, ..." left unescaped.
        let raw = fixture("unescaped_from.mbox");
        assert!(recognize_mbox(&raw, "unescaped_from.mbox"));
        let mut sink = Collect::new();
        read_mbox(Source::Stream(&mut &raw[..]), &mut sink).unwrap();
        assert_eq!(names(&sink), ["file message 1.eml", "file message 2.eml"], "{:?}", sink.got);
        let first = read_eml_bytes(file_of(&sink, "message 1.eml"));
        let body = first.text_of("part 1");
        assert!(body.contains("From here on, unescaped.body@example.com is listed"), "{body:?}");
        assert!(body.contains("From the desk of escaped0@example.net"), "{body:?}");
        assert!(first.text_of("headers").contains("sender0@example.com"));
        let second = read_eml_bytes(file_of(&sink, "message 2.eml"));
        assert!(second.text_of("headers").contains("rcpt1@example.org"));
        assert!(second.text_of("part 1").contains("From the desk of escaped1@example.net"));
    }

    #[test]
    fn mbox_separator_counts_only_after_an_empty_line_and_in_from_sender_date_form() {
        let raw = b"From a@example.com Mon Jan  1 00:00:00 2024\r\nFrom: a@example.com\r\n\r\nSee below\r\n\
From b@example.com Mon Jan  1 00:00:00 2024\r\nglued.after.text@example.com\r\n\r\n\
From c@example.com yesterday\r\nnot.a.separator@example.com\r\n\r\n\
From d@example.com Tue Jan  2 00:00:00 2024\r\nFrom: d@example.com\r\n\r\nbody.crlf@example.com";
        let mut sink = Collect::new();
        read_mbox(Source::Stream(&mut &raw[..]), &mut sink).unwrap();
        assert_eq!(names(&sink), ["file message 1.eml", "file message 2.eml"], "{:?}", sink.got);
        let first = String::from_utf8_lossy(file_of(&sink, "message 1.eml")).into_owned();
        for line in ["From b@example.com Mon Jan  1", "glued.after.text@example.com", "From c@example.com yesterday"] {
            assert!(first.contains(line), "{line} in {first:?}");
        }
        let second = read_eml_bytes(file_of(&sink, "message 2.eml"));
        assert!(second.text_of("part 1").contains("body.crlf@example.com"));
    }

    #[test]
    fn recognizes_messages_by_their_header_run_not_by_one_from_line() {
        assert!(recognize_eml(&fixture("encoded_words.eml"), "x.bin"));
        assert!(recognize_eml(b"Received: from a\r\n by b\r\nFrom: x@example.com\r\n\r\nbody", "x"));
        assert!(!recognize_eml(b"From: x@example.com\nthen some text\nTo: nobody\n", "notes.txt"));
        assert!(!recognize_eml(b"From: x@example.com\n\nhello", "notes.txt"));
        assert!(recognize_eml(b"From: x@example.com\n\nhello", "saved.eml"));
        assert!(!recognize_eml(b"email,password\na@example.com,x\n", "dump.csv"));
        assert!(!recognize_mbox(b"From here on, the list:\na@example.com\n", "list.txt"));
        assert!(recognize_mbox(b"From a@example.com Sat Jan  1 00:00:00 2000\nFrom: a@example.com\n\nhi\n", "x"));
    }

    #[test]
    fn message_over_the_budget_is_warned_about_not_read() {
        let raw = fixture("encoded_words.eml");
        let mut sink = Collect::new();
        sink.budget = 100;
        read_eml(Source::Stream(&mut &raw[..]), &mut sink).unwrap();
        assert_eq!(sink.warnings().len(), 1, "{:?}", sink.got);
        assert!(sink.warnings()[0].contains("not read"));
        assert!(!sink.warnings()[0].contains("example"), "no address in the warning");
        assert!(sink.got.iter().all(|g| matches!(g, Got::Warn(_))));
    }

    #[test]
    fn message_the_mime_parser_cannot_read_is_read_as_text_with_a_warning() {
        // No header line at all (a member named .eml that is not a message): mail-parser gives
        // nothing, and the bytes are still read.
        for (raw, expected) in [
            (&b"no colon in this line, write to other@example.org\n"[..], "other@example.org"),
            (b"From x\n\x91\x8d\x96\xb1\x89\xdb\x82\xcc\x91\x8b\x8c\xfb\x82\xcd\x81A\x82\xb1\x82\xbf\x82\xe7\x82\xcc\x83A\x83h\x83\x8c\x83X\x82\xc5\x82\xb7\x81B\x82\xb2\x98A\x97\x8d\x82\xad\x82\xbe\x82\xb3\x82\xa2 sjis@example.jp\n",
            "ご連絡ください sjis@example.jp"),
        ] {
            let mut sink = Collect::new();
            read_eml(Source::Stream(&mut &raw[..]), &mut sink).unwrap();
            assert_eq!(sink.warnings().len(), 1, "{:?}", sink.got);
            assert!(sink.warnings()[0].contains("read as plain text"), "{:?}", sink.got);
            assert!(!sink.warnings()[0].contains("example"), "no address in the warning");
            let all = sink.all_text();
            assert!(all.contains(expected), "{all:?}");
        }
    }

    #[test]
    fn hostile_mime_never_panics() {
        let cases: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"From: a\r\n".to_vec(),
            b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n--x--".to_vec(),
            b"MIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\n".repeat(50),
            format!(
                "Content-Type: multipart/mixed; boundary=b\r\n\r\n{}",
                "--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n".repeat(2000)
            )
            .into_bytes(),
            b"Content-Transfer-Encoding: base64\r\nContent-Type: application/zip\r\n\r\n!!!!====".to_vec(),
            vec![0xFF; 4096],
        ];
        for raw in cases {
            let mut sink = Collect::new();
            let _ = read_eml(Source::Stream(&mut &raw[..]), &mut sink);
            let mut sink = Collect::new();
            let _ = read_mbox(Source::Stream(&mut &raw[..]), &mut sink);
        }
    }
}
