//! Text of legacy Word documents (Word 97 to 2003 `.doc`, [MS-DOC]), from the streams of their
//! OLE compound file: the `WordDocument` stream's File Information Block (FIB) says where the
//! piece table (the `Clx`) is in the table stream (`0Table` or `1Table`); each piece is a run
//! of characters stored as UTF-16LE or, "compressed", as windows-1252 bytes. Written by hand
//! because no maintained crate reads `.doc` text; only the piece table is read (no formatting,
//! no fields evaluated): the text of the body, footnotes, headers, comments and text boxes, in
//! that stream order, which is all a reader of the document sees.
//!
//! Every offset comes from the file and is checked before use: a piece outside the stream is
//! skipped and counted, never read past.

/// `wIdent` of a Word 97+ binary document, and of a Word 6/95 one.
const WORD_IDENT: u16 = 0xA5EC;
const WORD6_IDENT: u16 = 0xA5DC;
/// Lowest `nFib` of Word 97 (earlier versions have another FIB layout).
const NFIB_WORD97: u16 = 0x00C1;
/// Offsets in FibBase.
const FIB_IDENT: usize = 0;
const FIB_NFIB: usize = 2;
const FIB_FLAGS: usize = 0x0A;
/// Flags in FibBase.
const F_ENCRYPTED: u16 = 0x0100;
const F_WHICH_TBL_STM: u16 = 0x0200;
const F_OBFUSCATED: u16 = 0x8000;
/// Size of FibBase, where `csw` starts.
const FIB_BASE_LEN: usize = 32;
/// Index of the `fcClx`/`lcbClx` pair in FibRgFcLcb97.
const CLX_PAIR: usize = 33;
/// Clx entry types.
const CLXT_PRC: u8 = 0x01;
const CLXT_PCDT: u8 = 0x02;
/// Size of a piece descriptor (PCD).
const PCD_LEN: usize = 8;
/// Bit of a PCD's `fc` saying its text is 8-bit ("compressed"), and the mask of the offset.
const FC_COMPRESSED: u32 = 0x4000_0000;
const FC_MASK: u32 = 0x3FFF_FFFF;

/// What the text of a `.doc` could not be read for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DocError {
    /// Password-protected (encrypted or obfuscated).
    Encrypted,
    /// Word 6 or 95 (or older): another layout.
    TooOld,
    /// Damaged: the reason, without content.
    Malformed(String),
}

/// The text of a document, and how many pieces pointed outside the stream.
#[derive(Debug)]
pub(crate) struct DocText {
    pub text: String,
    pub bad_pieces: usize,
}

/// Which table stream the document's FIB names (`"1Table"` or `"0Table"`), after checking
/// that it is a Word 97+ document that is not encrypted.
pub(crate) fn table_stream_name(word: &[u8]) -> Result<&'static str, DocError> {
    let ident = u16_at(word, FIB_IDENT).ok_or_else(|| malformed("WordDocument stream shorter than its header"))?;
    if ident == WORD6_IDENT {
        return Err(DocError::TooOld);
    }
    if ident != WORD_IDENT {
        return Err(malformed("WordDocument stream without the Word signature"));
    }
    let nfib = u16_at(word, FIB_NFIB).ok_or_else(|| malformed("header cut short"))?;
    let flags = u16_at(word, FIB_FLAGS).ok_or_else(|| malformed("header cut short"))?;
    if flags & (F_ENCRYPTED | F_OBFUSCATED) != 0 {
        return Err(DocError::Encrypted);
    }
    if nfib < NFIB_WORD97 {
        return Err(DocError::TooOld);
    }
    Ok(if flags & F_WHICH_TBL_STM != 0 { "1Table" } else { "0Table" })
}

/// Reads the text of a document from its `WordDocument` stream and its table stream.
pub(crate) fn text(word: &[u8], table: &[u8]) -> Result<DocText, DocError> {
    let (fc_clx, lcb_clx) = clx_location(word)?;
    let clx = table
        .get(fc_clx..fc_clx.checked_add(lcb_clx).ok_or_else(|| malformed("piece table out of range"))?)
        .ok_or_else(|| malformed("piece table outside the table stream"))?;
    let plc = pcdt(clx)?;
    // PlcPcd: n+1 character positions (u32), then n PCDs.
    if plc.len() < 4 || (plc.len() - 4) % (4 + PCD_LEN) != 0 {
        return Err(malformed("piece table of an impossible size"));
    }
    let n = (plc.len() - 4) / (4 + PCD_LEN);
    let cp = |i: usize| u32_at(plc, i * 4).unwrap_or(0);
    let mut out = String::new();
    let mut bad_pieces = 0;
    // Pieces do not overlap, so together they take at most the stream: more means pieces
    // repeating one range (a hostile file multiplying its text), and the rest is not read.
    let mut taken = 0usize;
    for i in 0..n {
        let (start, end) = (cp(i), cp(i + 1));
        let Some(chars) = end.checked_sub(start).map(|c| c as usize) else {
            bad_pieces += 1;
            continue;
        };
        let pcd = &plc[(n + 1) * 4 + i * PCD_LEN..][..PCD_LEN];
        let fc = u32::from_le_bytes([pcd[2], pcd[3], pcd[4], pcd[5]]);
        let piece = if fc & FC_COMPRESSED != 0 {
            let at = ((fc & FC_MASK) / 2) as usize;
            at.checked_add(chars)
                .and_then(|e| word.get(at..e))
                .map(|b| encoding_rs::WINDOWS_1252.decode_without_bom_handling(b).0)
        } else {
            let at = (fc & FC_MASK) as usize;
            chars
                .checked_mul(2)
                .and_then(|len| at.checked_add(len))
                .and_then(|e| word.get(at..e))
                .map(|b| encoding_rs::UTF_16LE.decode_without_bom_handling(b).0)
        };
        let bytes = if fc & FC_COMPRESSED != 0 { chars } else { chars.saturating_mul(2) };
        match piece {
            Some(p) if taken + bytes <= word.len() => {
                taken += bytes;
                out.extend(p.chars().map(plain));
            }
            _ => bad_pieces += 1,
        }
    }
    Ok(DocText { text: out, bad_pieces })
}

/// Word's control characters as what a reader sees: paragraph and line ends as newlines,
/// table cell ends as tabs, field delimiters and other marks as spaces (the field code, such
/// as `HYPERLINK "mailto:..."`, stays in the text).
fn plain(c: char) -> char {
    match c {
        '\r' | '\u{0B}' | '\u{0C}' | '\u{0E}' => '\n',
        '\u{07}' => '\t',
        '\u{00}'..='\u{1F}' if c != '\t' && c != '\n' => ' ',
        _ => c,
    }
}

/// `fcClx` and `lcbClx` from the FIB.
fn clx_location(word: &[u8]) -> Result<(usize, usize), DocError> {
    let short = || malformed("file information block cut short");
    let csw = u16_at(word, FIB_BASE_LEN).ok_or_else(short)? as usize;
    let at_cslw = FIB_BASE_LEN + 2 + csw * 2;
    let cslw = u16_at(word, at_cslw).ok_or_else(short)? as usize;
    let at_cb = at_cslw + 2 + cslw * 4;
    let cb_rg_fc_lcb = u16_at(word, at_cb).ok_or_else(short)? as usize;
    if cb_rg_fc_lcb <= CLX_PAIR {
        return Err(malformed("file information block without a piece table"));
    }
    let pair = at_cb + 2 + CLX_PAIR * 8;
    let fc = u32_at(word, pair).ok_or_else(short)? as usize;
    let lcb = u32_at(word, pair + 4).ok_or_else(short)? as usize;
    if lcb == 0 {
        return Err(malformed("empty piece table"));
    }
    Ok((fc, lcb))
}

/// The PlcPcd inside a Clx: skips the Prc entries (formatting), returns the Pcdt's array.
fn pcdt(clx: &[u8]) -> Result<&[u8], DocError> {
    let mut at = 0usize;
    loop {
        match clx.get(at) {
            Some(&CLXT_PRC) => {
                let len = u16_at(clx, at + 1).ok_or_else(|| malformed("piece table cut short"))? as usize;
                at += 3 + len;
            }
            Some(&CLXT_PCDT) => {
                let len = u32_at(clx, at + 1).ok_or_else(|| malformed("piece table cut short"))? as usize;
                return clx.get(at + 5..at + 5 + len).ok_or_else(|| malformed("piece table longer than its stream"));
            }
            _ => return Err(malformed("piece table of an unknown kind")),
        }
    }
}

fn malformed(why: &str) -> DocError {
    DocError::Malformed(why.to_string())
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}
