//! OLE compound files (Compound File Binary, magic `D0 CF 11 E0 A1 B1 1A E1`): legacy Excel
//! workbooks, Outlook `.msg` messages, password-protected Office files, legacy Word and
//! PowerPoint files. The container is opened with the `cfb` crate and dispatched by the
//! streams it holds:
//! - `Workbook` / `Book`: a legacy `.xls`, read by the spreadsheet reader;
//! - `__substg1.0_*` streams: an Outlook `.msg`, read here (see [`read_msg`]);
//! - `EncryptedPackage`: an Office file encrypted with a password, warned about;
//! - `WordDocument`: a legacy Word `.doc`, its text read by [`super::doc`];
//! - `PowerPoint Document`: a legacy PowerPoint file, warned about;
//! - anything else: a warning naming the kind of streams it holds.
//!
//! Every stream's size is declared in the directory: a stream larger than the per-stream cap
//! or what is left of the expanded-size budget is refused with a warning before anything is
//! allocated for it. Calls into `cfb` run under `catch_unwind`.

use std::io::{Read, SeekFrom};
use std::path::{Path, PathBuf};

use cfb::CompoundFile;

use super::{doc, MemberHint, ReadSeek, Sink, Source};

/// The OLE compound file signature.
pub(crate) const OLE_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Largest stream read into memory (less when the sink's budget is smaller).
pub(crate) const MAX_STREAM: u64 = 256 << 20;

/// How deep `.msg` files embedded in `.msg` attachments are followed.
const MAX_MSG_DEPTH: usize = 8;

/// Prefix of an MSG property stream: `__substg1.0_` + 4 hex digits of property id + 4 of type.
const SUBSTG: &str = "__substg1.0_";
/// Prefix of an MSG recipient storage.
const RECIP: &str = "__recip_version1.0_";
/// Prefix of an MSG attachment storage.
const ATTACH: &str = "__attach_version1.0_";

/// MSG property types (the last 4 hex digits of a `__substg1.0_` name).
const PT_UNICODE: &str = "001F";
const PT_STRING8: &str = "001E";
const PT_BINARY: &str = "0102";
const PT_OBJECT: &str = "000D";

/// MSG property ids used by name.
const PID_BODY: &str = "1000";
const PID_BODY_HTML: &str = "1013";
const PID_RTF_COMPRESSED: &str = "1009";
const PID_ATTACH_DATA: &str = "3701";
const PID_ATTACH_LONG_FILENAME: &str = "3707";
const PID_ATTACH_FILENAME: &str = "3704";
const PID_DISPLAY_NAME: &str = "3001";
/// PidTagTransportMessageHeaders: the Internet headers the message arrived with.
const PID_TRANSPORT_HEADERS: &str = "007D";

/// The fixed-size property stream of a message storage, and the size of its header: 32 bytes
/// for the top-level message, 24 for an embedded one ([MS-OXMSG] 2.4.1); then 16-byte entries
/// (tag: type in the low 16 bits, id in the high 16; flags; 8 bytes of value).
const PROPERTIES: &str = "__properties_version1.0";
const PROPERTIES_HEADER_TOP: usize = 32;
const PROPERTIES_HEADER_EMBEDDED: usize = 24;
const PROPERTY_ENTRY: usize = 16;
/// PidTagMessageCodepage and PidTagInternetCodepage (PT_LONG): the code page of 8-bit strings.
const PID_MESSAGE_CODEPAGE: u32 = 0x3FFD;
const PID_INTERNET_CODEPAGE: u32 = 0x3FDE;
const PT_LONG: u32 = 0x0003;

/// Whether a file is an OLE compound file.
pub(crate) fn recognize(head: &[u8], _name: &str) -> bool {
    head.starts_with(&OLE_MAGIC)
}

/// Reads an OLE compound file.
pub(crate) fn read(src: Source<'_>, sink: &mut dyn Sink) -> Result<(), String> {
    let Source::Seekable(src, _len) = src else {
        return Err("an OLE compound file needs random access, and was given a stream".into());
    };
    let kind = guarded("opening the compound file", || {
        let comp = CompoundFile::open(&mut *src).map_err(|e| format!("not a readable OLE compound file: {e}"))?;
        let names: Vec<String> = comp.read_root_storage().map(|e| e.name().to_string()).collect();
        Ok(Kind::of(&names))
    })?;
    match kind {
        Kind::Xls => {
            src.seek(SeekFrom::Start(0)).map_err(|e| format!("rewinding the workbook: {e}"))?;
            super::office::read_xls(src, sink)
        }
        Kind::Msg => guarded("reading the Outlook message", || {
            let mut comp =
                CompoundFile::open(&mut *src).map_err(|e| format!("not a readable OLE compound file: {e}"))?;
            read_msg(&mut comp, Path::new("/"), "", 0, sink)
        }),
        Kind::Encrypted => {
            sink.warn("encrypted office document (password-protected): not read".into());
            Ok(())
        }
        Kind::Doc => guarded("reading the Word document", || {
            let mut comp =
                CompoundFile::open(&mut *src).map_err(|e| format!("not a readable OLE compound file: {e}"))?;
            read_doc(&mut comp, sink)
        }),
        Kind::Ppt => {
            sink.warn("legacy PowerPoint .ppt: not read (save it as .pptx to read it)".into());
            Ok(())
        }
        Kind::Other(streams) => {
            sink.warn(format!("OLE compound file of an unknown kind (streams: {streams}): not read"));
            Ok(())
        }
    }
}

/// Reads the text of a legacy Word document (Word 97 to 2003) into `document`.
fn read_doc(comp: &mut CompoundFile<&mut dyn ReadSeek>, sink: &mut dyn Sink) -> Result<(), String> {
    let items = list(comp, Path::new("/"))?;
    let stream = |name: &str| items.iter().find(|i| i.stream && i.name == name);
    let Some(word_item) = stream("WordDocument") else { return Err("no WordDocument stream".into()) };
    let Some(word) = read_stream(comp, word_item, "the WordDocument stream", sink)? else { return Ok(()) };
    let table_name = match doc::table_stream_name(&word) {
        Ok(t) => t,
        Err(e) => return doc_error(e, sink),
    };
    let Some(table_item) = stream(table_name) else {
        return Err(format!("legacy Word .doc without its {table_name} stream: damaged"));
    };
    let Some(table) = read_stream(comp, table_item, "the Word table stream", sink)? else { return Ok(()) };
    match doc::text(&word, &table) {
        Ok(t) => {
            if t.bad_pieces > 0 {
                sink.warn(format!(
                    "legacy Word .doc: {} pieces of text outside the document stream (damaged): not read",
                    t.bad_pieces
                ));
            }
            sink.text("document", &t.text).map_err(|s| s.0)
        }
        Err(e) => doc_error(e, sink),
    }
}

fn doc_error(e: doc::DocError, sink: &mut dyn Sink) -> Result<(), String> {
    match e {
        doc::DocError::Encrypted => {
            sink.warn("encrypted legacy Word .doc (password-protected): not read".into());
            Ok(())
        }
        doc::DocError::TooOld => {
            sink.warn("Word 6/95 (or older) .doc: not read (save it as .docx to read it)".into());
            Ok(())
        }
        doc::DocError::Malformed(why) => Err(format!("legacy Word .doc damaged ({why}): not read")),
    }
}

/// What an OLE file is, from the names in its root storage.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Xls,
    Msg,
    Encrypted,
    Doc,
    Ppt,
    /// The root's names, shortened, for the warning.
    Other(String),
}

impl Kind {
    fn of(names: &[String]) -> Kind {
        let has = |n: &str| names.iter().any(|x| x == n);
        if has("EncryptedPackage") {
            Kind::Encrypted
        } else if has("Workbook") || has("Book") {
            Kind::Xls
        } else if names.iter().any(|n| n.starts_with(SUBSTG)) {
            Kind::Msg
        } else if has("WordDocument") {
            Kind::Doc
        } else if has("PowerPoint Document") {
            Kind::Ppt
        } else {
            let shown: Vec<String> = names.iter().take(6).map(|n| printable(n, 32)).collect();
            let more = if names.len() > 6 { format!(", and {} more", names.len() - 6) } else { String::new() };
            Kind::Other(if shown.is_empty() { "none".into() } else { format!("{}{more}", shown.join(", ")) })
        }
    }
}

/// A stream or storage name for a message: control characters dropped, at most `max` chars.
fn printable(name: &str, max: usize) -> String {
    let s: String = name.chars().filter(|c| !c.is_control()).take(max).collect();
    if name.chars().count() > max {
        format!("{s}…")
    } else {
        s
    }
}

/// Runs `f`, turning a panic inside (in `cfb`, on hostile input) into an error.
fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    super::catch_quietly(f)
        .unwrap_or_else(|_| Err(format!("{what}: the compound file is malformed (the OLE parser failed)")))
}

/// One entry of a storage, copied out of `cfb`'s borrow.
struct Item {
    name: String,
    path: PathBuf,
    stream: bool,
    len: u64,
}

fn list(comp: &CompoundFile<&mut dyn ReadSeek>, storage: &Path) -> Result<Vec<Item>, String> {
    let entries = comp.read_storage(storage).map_err(|e| format!("listing a storage of the message: {e}"))?;
    Ok(entries
        .map(|e| Item { name: e.name().to_string(), path: e.path().to_path_buf(), stream: e.is_stream(), len: e.len() })
        .collect())
}

/// A `__substg1.0_` stream's property id and type (`("1000", "001F")`).
fn substg(name: &str) -> Option<(&str, &str)> {
    let tag = name.strip_prefix(SUBSTG)?;
    (tag.len() == 8 && tag.is_char_boundary(4)).then(|| (&tag[..4], &tag[4..]))
}

/// Reads a stream whole, after checking its declared size against the caps. `None` (with a
/// warning) when it is too large.
fn read_stream(
    comp: &mut CompoundFile<&mut dyn ReadSeek>,
    item: &Item,
    what: &str,
    sink: &mut dyn Sink,
) -> Result<Option<Vec<u8>>, String> {
    let cap = MAX_STREAM.min(sink.budget());
    if item.len > cap {
        sink.warn(format!("{what}: {} bytes, over the {cap}-byte cap for one stream (or what is left of the expanded-size budget): not read", item.len));
        return Ok(None);
    }
    let mut s = comp.open_stream(&item.path).map_err(|e| format!("opening {what}: {e}"))?;
    let mut v = Vec::with_capacity(item.len as usize);
    (&mut s).take(item.len).read_to_end(&mut v).map_err(|e| format!("reading {what}: {e}"))?;
    Ok(Some(v))
}

/// Text of a string property: UTF-16LE (`001F`), or 8-bit (`001E`) in the message's code page
/// when it declares one, else in an encoding detected from its bytes.
fn string_prop(ty: &str, bytes: &[u8], cp: Option<&'static encoding_rs::Encoding>) -> String {
    let s = if ty == PT_UNICODE {
        encoding_rs::UTF_16LE.decode_without_bom_handling(bytes).0.into_owned()
    } else if let Some(enc) = cp {
        enc.decode_without_bom_handling(bytes).0.into_owned()
    } else {
        super::mail::decode_detected(bytes).0
    };
    s.trim_end_matches('\0').to_string()
}

/// Reads an Outlook message stored at `storage`: string properties of the message to
/// `{prefix}headers` (sender, subject, display names, transport headers), the plain body to
/// `{prefix}body`, the HTML body to `{prefix}body.html` (a file), recipients to
/// `{prefix}recipients`, attachments to files under their names; an embedded message is read
/// the same way, its parts prefixed by its attachment's name.
fn read_msg(
    comp: &mut CompoundFile<&mut dyn ReadSeek>,
    storage: &Path,
    prefix: &str,
    depth: usize,
    sink: &mut dyn Sink,
) -> Result<(), String> {
    let items = list(comp, storage)?;
    let header = if depth == 0 { PROPERTIES_HEADER_TOP } else { PROPERTIES_HEADER_EMBEDDED };
    let cp = match items.iter().find(|i| i.stream && i.name == PROPERTIES) {
        Some(p) => {
            read_stream(comp, p, &format!("{prefix}property stream"), sink)?.and_then(|b| codepage_of(&b, header))
        }
        None => None,
    };
    let mut headers = String::new();
    let mut recipients = String::new();
    let (mut body, mut html, mut rtf_only) = (false, false, false);
    let mut n_attach = 0usize;
    for item in &items {
        if item.stream {
            let Some((id, ty)) = substg(&item.name) else { continue };
            if ty == PT_UNICODE || ty == PT_STRING8 {
                let Some(bytes) = read_stream(comp, item, &format!("{prefix}property {id}"), sink)? else { continue };
                let text = string_prop(ty, &bytes, cp);
                if id == PID_BODY {
                    body = true;
                    sink.text(&format!("{prefix}body"), &text).map_err(|s| s.0)?;
                } else if id == PID_BODY_HTML {
                    html = true;
                    let mut bytes = b"\xEF\xBB\xBF".to_vec();
                    bytes.extend_from_slice(text.as_bytes());
                    hand_file(sink, &format!("{prefix}body.html"), &bytes)?;
                } else if id == PID_TRANSPORT_HEADERS {
                    // Parsed as mail headers: encoded words decoded, Message-IDs left out.
                    let block = super::mail::header_block_text(&text).unwrap_or(text);
                    headers.push_str(&block);
                } else if !text.is_empty() {
                    headers.push_str(&text);
                    headers.push('\n');
                }
            } else if ty == PT_BINARY && id == PID_BODY_HTML {
                let Some(bytes) = read_stream(comp, item, &format!("{prefix}HTML body"), sink)? else { continue };
                html = true;
                hand_file(sink, &format!("{prefix}body.html"), &bytes)?;
            } else if ty == PT_BINARY && id == PID_RTF_COMPRESSED {
                rtf_only = true;
            }
        } else if item.name.starts_with(RECIP) {
            for r in list(comp, &item.path)? {
                let Some((id, ty)) = substg(&r.name) else { continue };
                if r.stream && (ty == PT_UNICODE || ty == PT_STRING8) {
                    let Some(bytes) = read_stream(comp, &r, &format!("{prefix}recipient property {id}"), sink)? else {
                        continue;
                    };
                    let text = string_prop(ty, &bytes, cp);
                    if !text.is_empty() {
                        recipients.push_str(&text);
                        recipients.push('\n');
                    }
                }
            }
        } else if item.name.starts_with(ATTACH) {
            n_attach += 1;
            read_attachment(comp, item, prefix, n_attach, depth, cp, sink)?;
        }
    }
    if !headers.is_empty() {
        sink.text(&format!("{prefix}headers"), &headers).map_err(|s| s.0)?;
    }
    if !recipients.is_empty() {
        sink.text(&format!("{prefix}recipients"), &recipients).map_err(|s| s.0)?;
    }
    if rtf_only && !body && !html {
        sink.warn(format!("{prefix}message body only in compressed RTF: not read"));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn read_attachment(
    comp: &mut CompoundFile<&mut dyn ReadSeek>,
    storage: &Item,
    prefix: &str,
    n: usize,
    depth: usize,
    cp: Option<&'static encoding_rs::Encoding>,
    sink: &mut dyn Sink,
) -> Result<(), String> {
    let items = list(comp, &storage.path)?;
    let mut name = None;
    let mut short = None;
    let mut display = None;
    for it in items.iter().filter(|i| i.stream) {
        let Some((id, ty)) = substg(&it.name) else { continue };
        let slot = match id {
            PID_ATTACH_LONG_FILENAME => &mut name,
            PID_ATTACH_FILENAME => &mut short,
            PID_DISPLAY_NAME => &mut display,
            _ => continue,
        };
        if ty == PT_UNICODE || ty == PT_STRING8 {
            if let Some(bytes) = read_stream(comp, it, &format!("{prefix}attachment {n} name"), sink)? {
                *slot = Some(safe_name(&string_prop(ty, &bytes, cp)));
            }
        }
    }
    let name = name.or(short).or(display).flatten().unwrap_or_else(|| format!("attachment {n}"));
    let label = format!("{prefix}{name}");
    if let Some(data) = items.iter().find(|i| i.stream && substg(&i.name) == Some((PID_ATTACH_DATA, PT_BINARY))) {
        if let Some(bytes) = read_stream(comp, data, &format!("attachment {label}"), sink)? {
            hand_file(sink, &label, &bytes)?;
        }
        return Ok(());
    }
    if let Some(obj) = items.iter().find(|i| !i.stream && substg(&i.name) == Some((PID_ATTACH_DATA, PT_OBJECT))) {
        let inner = list(comp, &obj.path)?;
        if inner.iter().any(|i| i.name.starts_with(SUBSTG)) {
            if depth + 1 >= MAX_MSG_DEPTH {
                sink.warn(format!("{label}: message embedded more than {MAX_MSG_DEPTH} deep: not read"));
                return Ok(());
            }
            return read_msg(comp, &obj.path, &format!("{label}/"), depth + 1, sink);
        }
        sink.warn(format!("{label}: embedded OLE object: not read"));
        return Ok(());
    }
    sink.warn(format!("{label}: attachment without data (a link or a reference): not read"));
    Ok(())
}

/// The code page of 8-bit strings that a fixed-size property stream declares (message code
/// page first, then the internet code page), when `codepage` knows it.
fn codepage_of(props: &[u8], header: usize) -> Option<&'static encoding_rs::Encoding> {
    let entries = props.get(header..)?.chunks_exact(PROPERTY_ENTRY);
    let mut found = [None, None];
    for e in entries {
        let tag = u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
        let value = u32::from_le_bytes([e[8], e[9], e[10], e[11]]);
        if tag & 0xFFFF != PT_LONG {
            continue;
        }
        match tag >> 16 {
            PID_MESSAGE_CODEPAGE => found[0] = Some(value),
            PID_INTERNET_CODEPAGE => found[1] = Some(value),
            _ => {}
        }
    }
    found.iter().flatten().find_map(|&cp| u16::try_from(cp).ok().and_then(codepage::to_encoding))
}

/// An attachment's name for provenance: its last path component, printable, or `None`.
fn safe_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let s: String = last.chars().filter(|c| !c.is_control()).collect();
    let s = s.trim();
    (!s.is_empty() && s != "." && s != "..").then(|| s.to_string())
}

fn hand_file(sink: &mut dyn Sink, name: &str, bytes: &[u8]) -> Result<(), String> {
    let hint = MemberHint { compressed: None, size: Some(bytes.len() as u64) };
    sink.file(name, &mut &bytes[..], hint).map_err(|s| s.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::readers::testing::{Collect, Got};
    use std::io::{Cursor, Write};

    /// Builds a compound file with `cfb` (as a container only: the MSG and dispatch logic under
    /// test is ours; the layout follows [MS-OXMSG]).
    fn cfb_file(streams: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut comp = CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        for (path, data) in streams {
            let p = Path::new(path);
            if let Some(parent) = p.parent() {
                if parent != Path::new("/") {
                    comp.create_storage_all(parent).unwrap();
                }
            }
            comp.create_stream(p).unwrap().write_all(data).unwrap();
        }
        comp.flush().unwrap();
        comp.into_inner().into_inner()
    }

    /// A fixed-size property stream: `header` zero bytes, then 16-byte PT_LONG entries.
    fn properties(header: usize, longs: &[(u32, u32)]) -> Vec<u8> {
        let mut v = vec![0; header];
        for (tag, value) in longs {
            v.extend(tag.to_le_bytes());
            v.extend(6u32.to_le_bytes()); // readable, writable
            v.extend(value.to_le_bytes());
            v.extend([0; 4]);
        }
        v
    }

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
    }

    fn run(bytes: &[u8]) -> (Collect, Result<(), String>) {
        run_with(bytes, Collect::new())
    }

    fn run_with(bytes: &[u8], mut sink: Collect) -> (Collect, Result<(), String>) {
        let mut cur = Cursor::new(bytes.to_vec());
        let r = read(Source::Seekable(&mut cur, bytes.len() as u64), &mut sink);
        (sink, r)
    }

    #[test]
    fn outlook_msg_gives_headers_body_recipients_and_attachments() {
        let sjis_csv = b"\x88\xc9\x93\xa1,ito@example.jp\r\n".to_vec(); // 伊藤 in Shift_JIS
        let bytes = cfb_file(&[
            ("/__properties_version1.0", properties(32, &[(0x3FFD_0003, 932)])),
            ("/__substg1.0_0037001F", utf16("連絡先の件")),
            ("/__substg1.0_0C1F001F", utf16("sender.msg@example.jp")),
            (
                "/__substg1.0_007D001F",
                utf16("Received: from mx.example.jp\r\n\tfor <transport-rcpt@example.jp>; Mon, 5 Jul 2021 10:00:00 +0900\r\nFrom: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <via-transport@example.jp>\r\nMessage-ID: <id-not-an-address@example.jp>\r\n"),
            ),
            ("/__substg1.0_1000001F", utf16("本文: body-msg@example.org\r\n")),
            // An 8-bit string property in Shift_JIS: 山田 <yamada@example.jp>
            ("/__substg1.0_0E04001E", b"\x8eR\x93c <yamada@example.jp>".to_vec()),
            ("/__recip_version1.0_#00000000/__substg1.0_3001001F", utf16("鈴木")),
            ("/__recip_version1.0_#00000000/__substg1.0_3003001F", utf16("recipient@example.net")),
            ("/__attach_version1.0_#00000000/__substg1.0_3707001F", utf16("名簿.csv")),
            ("/__attach_version1.0_#00000000/__substg1.0_37010102", sjis_csv.clone()),
            ("/__attach_version1.0_#00000001/__substg1.0_3001001F", utf16("転送メール")),
            ("/__attach_version1.0_#00000001/__substg1.0_3701000D/__properties_version1.0", vec![0; 24]),
            (
                "/__attach_version1.0_#00000001/__substg1.0_3701000D/__substg1.0_1000001F",
                utf16("inner-body@example.com"),
            ),
        ]);
        let (sink, r) = run(&bytes);
        r.unwrap();
        let headers = sink.text_of("headers");
        assert!(headers.contains("連絡先の件") && headers.contains("sender.msg@example.jp"), "{headers:?}");
        assert!(headers.contains("山田 <yamada@example.jp>"), "{headers:?}");
        assert!(headers.contains("for <transport-rcpt@example.jp>"), "{headers:?}");
        assert!(headers.contains("山田 <via-transport@example.jp>"), "{headers:?}");
        assert!(!headers.contains("id-not-an-address"), "{headers:?}");
        assert_eq!(sink.text_of("body"), "本文: body-msg@example.org\r\n");
        let rec = sink.text_of("recipients");
        assert!(rec.contains("鈴木") && rec.contains("recipient@example.net"), "{rec:?}");
        assert!(sink.got.contains(&Got::File("名簿.csv".into(), sjis_csv)), "{:?}", sink.got);
        assert_eq!(sink.text_of("転送メール/body"), "inner-body@example.com");
        assert!(sink.warnings().is_empty(), "{:?}", sink.warnings());
    }

    /// A Word 97 `.doc` built by hand after [MS-DOC] (FibBase, FibRgW97, FibRgLw97,
    /// FibRgFcLcb97 with `fcClx`/`lcbClx`; a Clx with one Prc and a Pcdt) with one piece per
    /// `(text, compressed)`; `flags` and `nfib` as given. Pieces are laid out after the FIB.
    fn word_doc(pieces: &[(&str, bool)], ident: u16, nfib: u16, flags: u16) -> Vec<u8> {
        let (csw, cslw, cb) = (14usize, 22usize, 93usize);
        let fib_len = 32 + 2 + csw * 2 + 2 + cslw * 4 + 2 + cb * 8;
        let mut word = vec![0u8; fib_len];
        word[0..2].copy_from_slice(&ident.to_le_bytes());
        word[2..4].copy_from_slice(&nfib.to_le_bytes());
        word[0x0A..0x0C].copy_from_slice(&flags.to_le_bytes());
        word[32..34].copy_from_slice(&(csw as u16).to_le_bytes());
        let at_cslw = 34 + csw * 2;
        word[at_cslw..at_cslw + 2].copy_from_slice(&(cslw as u16).to_le_bytes());
        let at_cb = at_cslw + 2 + cslw * 4;
        word[at_cb..at_cb + 2].copy_from_slice(&(cb as u16).to_le_bytes());
        let (mut cps, mut pcds) = (vec![0u32], Vec::new());
        for (text, compressed) in pieces {
            let fc = word.len() as u32;
            let chars = if *compressed {
                let (bytes, _, bad) = encoding_rs::WINDOWS_1252.encode(text);
                assert!(!bad);
                word.extend_from_slice(&bytes);
                bytes.len()
            } else {
                word.extend(utf16(text));
                text.encode_utf16().count()
            };
            cps.push(cps.last().unwrap() + chars as u32);
            let fc_field = if *compressed { (fc * 2) | 0x4000_0000 } else { fc };
            pcds.push([&[0u8, 0][..], &fc_field.to_le_bytes()[..], &[0, 0][..]].concat());
        }
        let plc: Vec<u8> = cps.iter().flat_map(|c| c.to_le_bytes()).chain(pcds.concat()).collect();
        let mut clx = vec![0x01, 2, 0, 0xAA, 0xBB]; // a Prc with two bytes of formatting
        clx.push(0x02);
        clx.extend((plc.len() as u32).to_le_bytes());
        clx.extend(plc);
        let mut table = vec![0xEE; 7]; // the Clx does not start the table stream
        let fc_clx = table.len() as u32;
        table.extend(&clx);
        let pair = at_cb + 2 + 33 * 8;
        word[pair..pair + 4].copy_from_slice(&fc_clx.to_le_bytes());
        word[pair + 4..pair + 8].copy_from_slice(&(clx.len() as u32).to_le_bytes());
        let table_name = if flags & 0x0200 != 0 { "/1Table" } else { "/0Table" };
        cfb_file(&[("/WordDocument", word), (table_name, table)])
    }

    #[test]
    fn legacy_word_doc_text_from_its_utf16_and_8bit_pieces() {
        let doc = word_doc(
            &[("連絡先: taro@example.jp\r", false), ("Contact: jiro@example.com\u{7}Café\r", true)],
            0xA5EC,
            0x00C1,
            0x0200,
        );
        let (sink, r) = run(&doc);
        r.unwrap();
        assert_eq!(sink.text_of("document"), "連絡先: taro@example.jp\nContact: jiro@example.com\tCafé\n");
        assert!(sink.warnings().is_empty(), "{:?}", sink.warnings());
        // The same in 0Table (fWhichTblStm clear).
        let doc = word_doc(&[("a@example.org\r", true)], 0xA5EC, 0x0101, 0);
        let (sink, r) = run(&doc);
        r.unwrap();
        assert_eq!(sink.text_of("document"), "a@example.org\n");
    }

    #[test]
    fn encrypted_and_word95_docs_are_warned_about_not_read() {
        for (ident, nfib, flags, expect) in [
            (0xA5EC, 0x00C1, 0x0200 | 0x0100, "encrypted legacy Word .doc"),
            (0xA5EC, 0x00C1, 0x8000, "encrypted legacy Word .doc"),
            (0xA5DC, 0x0065, 0, "Word 6/95"),
        ] {
            let (sink, r) = run(&word_doc(&[("secret@example.com\r", true)], ident, nfib, flags));
            r.unwrap();
            assert_eq!(sink.warnings().len(), 1, "{:?}", sink.got);
            assert!(
                sink.warnings()[0].contains(expect) && sink.warnings()[0].contains("not read"),
                "{:?}",
                sink.warnings()
            );
            assert!(!sink.all_text().contains("secret"), "nothing read");
        }
    }

    #[test]
    fn damaged_doc_is_an_error_never_a_silent_empty_read() {
        let good = word_doc(&[("x@example.com\r", false)], 0xA5EC, 0x00C1, 0x0200);
        // A table stream whose Clx is garbage.
        let bad_clx = {
            let mut comp = CompoundFile::open(Cursor::new(good.clone())).unwrap();
            comp.create_stream("/1Table").unwrap().write_all(&[0x07; 64]).unwrap();
            comp.flush().unwrap();
            comp.into_inner().into_inner()
        };
        let (sink, r) = run(&bad_clx);
        assert!(r.as_ref().is_err_and(|e| e.contains("damaged")), "{r:?} {:?}", sink.got);
        // No table stream at all.
        let no_table = {
            let mut comp = CompoundFile::open(Cursor::new(good)).unwrap();
            comp.remove_stream("/1Table").unwrap();
            comp.flush().unwrap();
            comp.into_inner().into_inner()
        };
        assert!(run(&no_table).1.is_err());
    }

    #[test]
    fn doc_piece_outside_the_stream_is_counted_and_the_rest_read() {
        let doc = word_doc(&[("kept@example.com\r", false)], 0xA5EC, 0x00C1, 0x0200);
        // Append a second piece descriptor pointing far beyond the stream: rebuild the Clx.
        let mut comp = CompoundFile::open(Cursor::new(doc)).unwrap();
        let mut table = Vec::new();
        comp.open_stream("/1Table").unwrap().read_to_end(&mut table).unwrap();
        let clx = &table[7..];
        let plc = &clx[10..]; // after the 5-byte Prc, the Pcdt's type byte and its length
        let cps =
            [u32::from_le_bytes(plc[0..4].try_into().unwrap()), u32::from_le_bytes(plc[4..8].try_into().unwrap())];
        let pcd0 = &plc[8..16];
        let mut new_plc: Vec<u8> = [cps[0], cps[1], cps[1] + 10].iter().flat_map(|c| c.to_le_bytes()).collect();
        new_plc.extend(pcd0);
        new_plc.extend([0, 0]);
        new_plc.extend(0x00FF_FFFFu32.to_le_bytes());
        new_plc.extend([0, 0]);
        let mut new_clx = clx[..5].to_vec();
        new_clx.push(0x02);
        new_clx.extend((new_plc.len() as u32).to_le_bytes());
        new_clx.extend(new_plc);
        let mut new_table = table[..7].to_vec();
        new_table.extend(&new_clx);
        let mut word = Vec::new();
        comp.open_stream("/WordDocument").unwrap().read_to_end(&mut word).unwrap();
        let pair = 32 + 2 + 28 + 2 + 88 + 2 + 33 * 8;
        word[pair + 4..pair + 8].copy_from_slice(&(new_clx.len() as u32).to_le_bytes());
        let bytes = cfb_file(&[("/WordDocument", word), ("/1Table", new_table)]);
        let (sink, r) = run(&bytes);
        r.unwrap();
        assert_eq!(sink.text_of("document"), "kept@example.com\n");
        assert!(sink.warnings().iter().any(|w| w.contains("1 pieces of text outside")), "{:?}", sink.warnings());
    }

    #[test]
    fn ole_dispatch_warns_for_xls_encrypted_doc_ppt_and_unknown() {
        // A workbook stream goes to the xls reader: garbage in it is that reader's error.
        for stream in ["/Workbook", "/Book"] {
            let (sink, r) = run(&cfb_file(&[(stream, vec![1, 2, 3])]));
            let e = r.expect_err(stream);
            assert!(e.contains("xls"), "{stream}: {e}; {:?}", sink.got);
        }
        for (stream, expect) in [
            ("/EncryptedPackage", "encrypted office document"),
            ("/PowerPoint Document", "legacy PowerPoint .ppt"),
            ("/Thumbnail Cache", "unknown kind (streams: Thumbnail Cache)"),
        ] {
            let (sink, r) = run(&cfb_file(&[(stream, vec![1, 2, 3])]));
            r.unwrap();
            let w = sink.warnings();
            assert_eq!(w.len(), 1, "{stream}: {w:?}");
            assert!(w[0].contains(expect) && w[0].contains("not read"), "{stream}: {w:?}");
        }
    }

    #[test]
    fn msg_stream_over_the_budget_is_refused_with_a_warning() {
        let bytes = cfb_file(&[("/__substg1.0_1000001F", utf16(&"x".repeat(5000)))]);
        let mut sink = Collect::new();
        sink.budget = 1000;
        let (sink, r) = run_with(&bytes, sink);
        r.unwrap();
        assert!(sink.warnings().iter().any(|w| w.contains("10000 bytes") && w.contains("not read")), "{:?}", sink.got);
        assert!(!sink.got.iter().any(|g| matches!(g, Got::Text(..))));
    }

    #[test]
    fn truncated_or_garbage_compound_files_are_errors_not_panics() {
        let good = cfb_file(&[("/__substg1.0_1000001F", utf16("a@example.com"))]);
        for cut in [8, 100, 512, 600, good.len() - 1] {
            let (sink, r) = run(&good[..cut.min(good.len())]);
            // Never a silent empty read: an error, or the text.
            assert!(r.is_err() || sink.all_text().contains("a@example.com"), "cut at {cut}: {r:?} {:?}", sink.got);
        }
        let mut garbage = OLE_MAGIC.to_vec();
        garbage.extend([0xFF; 4096]);
        assert!(run(&garbage).1.is_err());
        let mut sink = Collect::new();
        let r = read(Source::Stream(&mut &good[..]), &mut sink);
        assert!(r.is_err());
    }
}
