//! Zip archives (stored, deflate, deflate64, bzip2, zstd; zip64), with the `zip` crate. An
//! office document (xlsx, docx, pptx, ODF) is a zip too: the archive's member names tell, and
//! it goes to the office reader instead. Every other member is a file of its own, read through
//! the whole pipeline again.
//!
//! - **Names**: a name that is valid UTF-8 is taken as such (the UTF-8 flag, or macOS tools
//!   that write UTF-8 without it). Other names (Japanese Windows tools write CP932 without the
//!   flag) are decoded with one legacy encoding per archive, detected by `chardetng` over all
//!   of its non-UTF-8 names, and CP437 (the zip default) only when that fails.
//! - **Encrypted members** are reported as skipped, loudly (a warning: `--strict` stops).
//! - **A truncated archive** (no central directory: an interrupted download) is read member
//!   by member from its local headers, with a warning.

use std::io::SeekFrom;

use encoding_rs::Encoding;

use super::{MemberHint, ReadSeek, Sink, Source};

/// Whether `head` starts like a zip archive (a local file header, or the end record of an
/// empty archive).
pub(crate) fn recognize(head: &[u8], _name: &str) -> bool {
    [&b"PK\x03\x04"[..], b"PK\x05\x06", b"PK\x07\x08"].iter().any(|m| head.starts_with(m))
}

/// Whether binary data comes before what may be a zip archive (a self-extracting archive's
/// executable stub, a backup tool's or a carver's header): then `read` decides, from the
/// central directory at the end. Last in the registry, after every format that may hold a
/// zip's signature inside it (a tar member, a PDF stream).
pub(crate) fn recognize_behind_header(head: &[u8], _name: &str) -> bool {
    is_executable(head) || embedded_at(head).is_some()
}

/// A Windows executable (`MZ` and a binary DOS header): maybe a self-extracting archive.
fn is_executable(head: &[u8]) -> bool {
    head.starts_with(b"MZ") && head.len() >= 64 && head[..64].contains(&0)
}

/// Where a zip's first local header is in `head`, when only binary data (NUL or control
/// bytes among it) comes before it: text never holds the signature's control bytes.
fn embedded_at(head: &[u8]) -> Option<usize> {
    let at = memchr::memmem::find(head, b"PK\x03\x04")?;
    (at > 0 && head[..at].iter().any(|&b| b == 0 || (b < 0x20 && !b"\t\r\n".contains(&b)))).then_some(at)
}

/// Reads a zip archive, or hands an office document to its reader.
pub(crate) fn read(src: Source<'_>, sink: &mut dyn Sink) -> Result<(), String> {
    let Source::Seekable(r, len) = src else {
        return Err("zip archive: needs random access (internal error)".into());
    };
    let mut head = [0u8; 4];
    let starts_like_zip = r.read_exact(&mut head).is_ok() && head.starts_with(b"PK");
    // The zip crate keeps one member per name: a second member of the same name (an
    // appended update) would be lost. The end record says how many there are.
    let listed = central_directory_entries(r, len);
    r.seek(SeekFrom::Start(0)).map_err(|e| format!("zip archive: {e}"))?;
    let mut archive = match zip::ZipArchive::new(&mut *r) {
        Ok(a) => a,
        Err(e) if starts_like_zip => {
            r.seek(SeekFrom::Start(0)).map_err(|e| format!("zip archive: {e}"))?;
            return read_local_headers(r, sink, &e.to_string());
        }
        // Binary data before no readable archive: an executable that is no self-extracting
        // zip, or a carved file whose archive is damaged. Said, never read as text.
        Err(_) => {
            sink.kind("binary");
            sink.warn(
                "binary data (an executable, or a zip archive behind a header that could not be opened): not read"
                    .into(),
            );
            return Ok(());
        }
    };
    if !starts_like_zip {
        sink.kind("zip (behind a header or an executable stub)");
    }
    if listed.is_some_and(|n| n > archive.len() as u64) && starts_like_zip {
        drop(archive);
        r.seek(SeekFrom::Start(0)).map_err(|e| format!("zip archive: {e}"))?;
        // Nothing is lost that way, so no warning: each member has its own line.
        return read_local_headers(r, sink, "");
    }
    if let Some(kind) = super::office::office_kind(&mut archive) {
        drop(archive);
        sink.kind(kind.name());
        r.seek(SeekFrom::Start(0)).map_err(|e| format!("zip archive: {e}"))?;
        return super::office::read_office(kind, r, len, sink);
    }
    let raw_names: Vec<Vec<u8>> =
        (0..archive.len()).filter_map(|i| archive.by_index_raw(i).ok().map(|f| f.name_raw().to_vec())).collect();
    let encoding = legacy_name_encoding(raw_names.into_iter());
    for i in 0..archive.len() {
        let (name, encrypted, dir, symlink, hint) = {
            let f = archive.by_index_raw(i).map_err(|e| format!("zip archive, member {}: {e}", i + 1))?;
            let name = decode_name(f.name_raw(), encoding);
            let hint = MemberHint { compressed: Some(f.compressed_size()), size: Some(f.size()) };
            (name, f.encrypted(), f.is_dir(), f.is_symlink(), hint)
        };
        if dir {
            continue;
        }
        if symlink {
            sink.skipped(&name, "symbolic link: not followed".into(), false);
            continue;
        }
        if encrypted {
            sink.skipped(&name, "encrypted member: not read (no password)".into(), true);
            continue;
        }
        match archive.by_index(i) {
            Ok(mut f) => sink.file(&name, &mut f, hint).map_err(|s| s.0)?,
            // An unsupported compression method (LZMA, PPMd, ...): that member only.
            Err(e) => sink.skipped(&name, format!("not read: {e}"), true),
        }
    }
    Ok(())
}

/// Reads an archive whose central directory is missing or damaged from its local headers,
/// front to back.
fn read_local_headers(mut r: &mut dyn ReadSeek, sink: &mut dyn Sink, why: &str) -> Result<(), String> {
    let mut names = Vec::new();
    let mut read_any = false;
    loop {
        match zip::read::read_zipfile_from_stream(&mut r) {
            Ok(Some(mut f)) => {
                read_any = true;
                // No central directory to guess one encoding from: each name on its own.
                let name = decode_name(f.name_raw(), legacy_name_encoding(std::iter::once(f.name_raw().to_vec())));
                names.push(name.clone());
                if f.is_dir() {
                    continue;
                }
                if f.encrypted() {
                    sink.skipped(&name, "encrypted member: not read (no password)".into(), true);
                    std::io::copy(&mut f, &mut std::io::sink()).map_err(|e| format!("zip member {name}: {e}"))?;
                    continue;
                }
                let hint = MemberHint { compressed: Some(f.compressed_size()), size: Some(f.size()) };
                sink.file(&name, &mut f, hint).map_err(|s| s.0)?;
                std::io::copy(&mut f, &mut std::io::sink()).map_err(|e| format!("stopped after member {name}: {e}"))?;
            }
            Ok(None) => break,
            // Cut off at a member boundary: what came before is whole.
            Err(zip::result::ZipError::Io(e)) if read_any && e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) if read_any => return Err(format!("zip archive damaged after {} members: {e}", names.len())),
            Err(e) => return Err(format!("not a readable zip archive ({why}; {e})")),
        }
    }
    if !why.is_empty() {
        sink.warn(format!(
            "zip archive without a readable central directory ({why}; truncated?): {} members read from their local headers",
            names.len()
        ));
    }
    Ok(())
}

/// The number of members the end-of-central-directory record lists, when it can be read
/// (not for zip64 archives, whose count is elsewhere).
fn central_directory_entries(r: &mut dyn ReadSeek, len: u64) -> Option<u64> {
    let tail_len = len.min(65_557);
    r.seek(SeekFrom::Start(len - tail_len)).ok()?;
    let mut tail = vec![0u8; tail_len as usize];
    r.read_exact(&mut tail).ok()?;
    let at = memchr::memmem::rfind(&tail, b"PK\x05\x06")?;
    let total = u16::from_le_bytes(tail.get(at + 10..at + 12)?.try_into().ok()?);
    (total != u16::MAX).then_some(u64::from(total))
}

/// The legacy encoding of an archive's non-UTF-8 member names; `None` when every name is
/// UTF-8 (or ASCII). Names are too short for statistical detection alone (`chardetng` takes a
/// ten-byte CP932 name for Turkish), so CP932 is tried first and kept when every name decodes
/// to Japanese script (kana, kanji, full-width forms: what a mis-decoded Latin name never
/// gives), then `chardetng`'s guess over all names when it decodes them all.
fn legacy_name_encoding(names: impl Iterator<Item = Vec<u8>>) -> Option<&'static Encoding> {
    let legacy: Vec<Vec<u8>> = names.filter(|n| std::str::from_utf8(n).is_err()).collect();
    if legacy.is_empty() {
        return None;
    }
    let decodes = |enc: &'static Encoding, plausible: &dyn Fn(char) -> bool| {
        legacy.iter().all(|n| {
            let (s, errors) = enc.decode_without_bom_handling(n);
            !errors && s.chars().filter(|c| !c.is_ascii()).all(plausible)
        })
    };
    if decodes(encoding_rs::SHIFT_JIS, &is_japanese) {
        return Some(encoding_rs::SHIFT_JIS);
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    for n in &legacy {
        detector.feed(n, false);
        detector.feed(b"\n", false);
    }
    detector.feed(b"", true);
    let guess = detector.guess(None, chardetng::Utf8Detection::Deny);
    decodes(guess, &|_| true).then_some(guess)
}

/// Japanese script as file names hold it: kana, CJK ideographs and punctuation, full-width
/// forms (not the half-width katakana that Latin-1 bytes decode to in CP932).
fn is_japanese(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{30FF}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{FF01}'..='\u{FF5E}')
}

/// A member name for display: UTF-8 when it is, else decoded with the archive's legacy
/// encoding, else CP437 (the zip default).
fn decode_name(raw: &[u8], legacy: Option<&'static Encoding>) -> String {
    if let Ok(s) = std::str::from_utf8(raw) {
        return s.to_string();
    }
    if let Some(enc) = legacy {
        let (s, had_errors) = enc.decode_without_bom_handling(raw);
        if !had_errors {
            return s.into_owned();
        }
    }
    raw.iter().map(|&b| cp437(b)).collect()
}

/// CP437, the zip format's default encoding for names: ASCII, then the IBM PC high half.
fn cp437(b: u8) -> char {
    const HIGH: &str = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{a0}";
    if b < 0x80 {
        b as char
    } else {
        HIGH.chars().nth(usize::from(b - 0x80)).unwrap_or('\u{FFFD}')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp437_table_has_the_128_high_characters() {
        assert_eq!((0x80u8..=0xFF).map(cp437).filter(|&c| c == '\u{FFFD}').count(), 0);
        assert_eq!(cp437(0x80), 'Ç');
        assert_eq!(cp437(0xFF), '\u{a0}');
    }

    #[test]
    fn shift_jis_names_without_the_utf8_flag_are_decoded_for_the_whole_archive() {
        let names: Vec<Vec<u8>> = ["案件/連絡先.txt", "議事録/名簿.csv", "a.txt"]
            .iter()
            .map(|n| encoding_rs::SHIFT_JIS.encode(n).0.into_owned())
            .collect();
        let enc = legacy_name_encoding(names.clone().into_iter());
        assert_eq!(enc, Some(encoding_rs::SHIFT_JIS));
        assert_eq!(decode_name(&names[0], enc), "案件/連絡先.txt");
        assert_eq!(decode_name("ü.txt".as_bytes(), enc), "ü.txt");
    }
}
