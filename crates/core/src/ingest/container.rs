//! Recognizing what a file is when it is neither text nor a format a reader in
//! [`crate::ingest::readers`] takes: binary formats this version cannot read (rar, images,
//! executables, databases, ...), so that the build says what a file is instead of reading it as
//! text and finding nothing.
//!
//! One table of magic numbers, looked up on the decompressed head of every file that no
//! reader recognized. When a reader for one of these lands, its entry here goes.

/// What the head of a file looks like, when it is not a corpus this version reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    /// What it looks like, for messages (`rar archive`).
    pub what: String,
    /// Whether the file is still read as text: true for unrecognized binary data (which may
    /// still hold addresses, like a memory dump), false for known containers, whose text is
    /// compressed or encoded and would yield nothing or junk.
    pub read_anyway: bool,
}

/// What files this version reads, for messages.
pub const READABLE: &str =
    "this version reads text, CSV, JSON, SQL, gzip/zstd/bzip2, tar, zip, 7z, office documents, PDF, mail, HTML; see README's table";

/// A magic number: `bytes` at the start, and what a file starting so is. Every one holds a
/// byte that text does not (a control byte, NUL or a byte above 0x7F), so that no text line
/// can match.
struct Magic {
    bytes: &'static [u8],
    what: &'static str,
}

/// Known formats that are not read, by magic number.
const MAGICS: &[Magic] = &[
    Magic { bytes: b"Rar!\x1A\x07", what: "rar archive" },
    Magic { bytes: b"\xFD7zXZ\x00", what: "xz compressed file (decompress it first)" },
    Magic { bytes: b"\x04\x22\x4D\x18", what: "lz4 compressed file (decompress it first)" },
    Magic { bytes: b"SQLite format 3\x00", what: "SQLite database (export it to CSV or SQL first)" },
    Magic { bytes: b"\x89PNG\r\n\x1a\n", what: "PNG image" },
    Magic { bytes: b"\xFF\xD8\xFF", what: "JPEG image" },
    Magic { bytes: b"II*\x00", what: "TIFF image" },
    Magic { bytes: b"MM\x00*", what: "TIFF image" },
    Magic { bytes: b"\x7FELF", what: "ELF executable or library" },
    Magic { bytes: b"\xCF\xFA\xED\xFE", what: "Mach-O executable" },
    Magic { bytes: b"\xCA\xFE\xBA\xBE", what: "Mach-O universal binary or Java class" },
    Magic { bytes: b"\x00asm", what: "WebAssembly module" },
    Magic { bytes: b"\x89LDX\r\n\x1a\n", what: "leakdex index (an index, not a corpus)" },
    Magic { bytes: b"\x89LDF\r\n\x1a\n", what: "leakdex filter (a filter, not a corpus)" },
];

/// NULs in a row from which a head is binary.
const NUL_RUN: usize = 256;

/// Share of control bytes (not white space, not NUL) from which a head is binary.
const BINARY_CONTROL_SHARE: f64 = 0.05;

/// Looks at the decompressed head of a file: `None` for text (or a tar archive, read
/// elsewhere), else what it looks like.
pub fn sniff(head: &[u8]) -> Option<Sniffed> {
    if head.starts_with(b"MZ") && head.len() >= 64 && head[..64].contains(&0) {
        return Some(Sniffed { what: "Windows executable".into(), read_anyway: false });
    }
    // Magic numbers of printable bytes only count with binary bytes where the format has them.
    let binary_in =
        |r: std::ops::Range<usize>| head.get(r).is_some_and(|b| b.iter().any(|c| !(0x20..0x7F).contains(c)));
    if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP") && binary_in(4..8) {
        return Some(Sniffed { what: "WebP image".into(), read_anyway: false });
    }
    if (head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a")) && binary_in(6..13) {
        return Some(Sniffed { what: "GIF image".into(), read_anyway: false });
    }
    if let Some(m) = MAGICS.iter().find(|m| head.starts_with(m.bytes)) {
        return Some(Sniffed { what: m.what.into(), read_anyway: false });
    }
    if looks_binary(head) {
        return Some(Sniffed { what: "binary data of an unknown format".into(), read_anyway: true });
    }
    None
}

/// Whether a head that matched no magic number is binary: many control bytes, or a run of
/// [`NUL_RUN`] NULs. Single NUL bytes do not count (UTF-16 without a BOM, or text with NULs
/// here and there, is read as text with NULs dropped); neither do tab, newlines, form feed
/// and escape.
fn looks_binary(head: &[u8]) -> bool {
    if head.len() < 32 {
        return false;
    }
    // A long run of NULs is padding in a binary header (a backup tool's, a carved block),
    // never text: UTF-16 has single NULs between characters.
    if memchr::memmem::find(head, &[0u8; NUL_RUN]).is_some() {
        return true;
    }
    let control = head.iter().filter(|&&b| matches!(b, 0x01..=0x08 | 0x0E..=0x1A | 0x1C..=0x1F | 0x7F)).count();
    control as f64 >= head.len() as f64 * BINARY_CONTROL_SHARE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_are_named_and_text_is_not() {
        let what = |b: &[u8]| sniff(b).map(|s| s.what);
        assert_eq!(what(b"\x7FELF\x02\x01\x01").as_deref(), Some("ELF executable or library"));
        assert_eq!(what(b"RIFF\x10\x00\x00\x00WEBPVP8 ").as_deref(), Some("WebP image"));
        assert_eq!(what(b"GIF89a\x01\x00\x01\x00\x80\x00\x00").as_deref(), Some("GIF image"));
        for text in [
            &b"a@example.com:pw\nb@example.org;x\n"[..],
            b"id,email\n1,a@example.com\n",
            b"MZ is a word\n",
            b"PAR1@example.com:pw\n",
            b"12345678WEBP@example.com\n",
            b"GIF89a@example.com\n",
            b"RIFFabcdWEBP@example.com\n",
            b"",
        ] {
            assert_eq!(sniff(text), None, "{:?}", String::from_utf8_lossy(text));
        }
        for m in MAGICS {
            assert!(m.bytes.iter().any(|b| !(0x20..0x7F).contains(b)), "{}: a text line could match", m.what);
        }
        let random: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        assert_eq!(sniff(&random).map(|s| s.read_anyway), Some(true));
    }
}
