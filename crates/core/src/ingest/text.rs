//! Pulling address candidates out of unstructured strings, and splitting combolist lines.
//!
//! # How free text is read ([`extract`])
//!
//! The rule is: **read the whole token around each `@`, then accept it whole or skip it; never
//! shorten it into a different address.** Indexing `brien@example.com` for `<o'brien@example.com>`
//! would make another person EXPOSED and the real one clean.
//!
//! 1. **The token.** From the `@`, read left over local-part characters: RFC 5322 `atext`
//!    (letters, digits and ``! # $ % & ' * + - / = ? ^ _ ` { | } ~``) and `.`, and non-ASCII
//!    letters, digits and combining marks (so a decomposed `jose\u{301}` is read whole). Read
//!    right over domain characters: letters, digits, `-`, `.`, non-ASCII letters, digits and
//!    marks, and the ideographic full stops `。` `．` `｡` when an ASCII domain character follows
//!    (UTS-46 maps them to `.`; before anything else they end a Japanese or Chinese sentence).
//! 2. **What ends a token.** ASCII that is not `atext` (white space, `" ( ) , : ; < > [ \ ]`,
//!    controls), and non-ASCII white space and punctuation (`‘ ’ “ ” « » （ ） ： 、 。`...).
//!    On the domain side any other ASCII also ends it (`bob@example.com/`, `…com?x=1`).
//! 3. **Unreadable tokens are skipped.** Another `@` right before the local part or right after
//!    the domain (`a@b@example.com`, `@bob@mastodon.example`), a `_` right after the domain, and
//!    an invisible or symbol character (format characters such as ZWSP U+200B, BOM, word joiner,
//!    soft hyphen, LRM/RLM, ZWNJ/ZWJ; non-ASCII symbols such as emoji; private-use and
//!    unassigned code points) *between* two token characters (`bo\u{200B}b@example.com`,
//!    `bob\u{200B}@example.com`): there is no reading of such a token that is surely the address.
//!    Such a character at the edge of a token, with a delimiter or the string's end beyond it,
//!    only ends it (`\u{FEFF}bob@example.com` from `cat a b`, `📧 bob@…`, `bob@example.com\u{200B}`).
//! 4. **Quotes and sentence punctuation around the token are dropped:** leading `'`, `` ` ``,
//!    `.` and `-` (`'bob@example.com'`, `...dave@…`, `--bob@…`), trailing `.` and `-` after
//!    the domain. A `'` inside the token is kept (`o'brien@…`).
//! 5. **URLs.** In a word with `scheme://` (looked for up to [`URL_LOOKBACK`] bytes back, to
//!    stay linear on hostile lines), an `@` in the authority (no `/`, `?` or `#` between
//!    `://` and the `@`) is URL userinfo (`https://user:secret@host/`): skipped. An `@` in the
//!    path, query or fragment is an address whose local part starts after the last `/`, `?`,
//!    `#`, `&` or `=` (`https://host/u/tina@example.com`, `…?email=tina@example.com&x=1`). A
//!    local part with `%` there is percent-encoded and cannot be read without decoding: skipped
//!    (`%40` in place of the `@` is not looked for).
//! 6. **`key=value`.** Outside URLs, a token `KEY=local@domain` whose `KEY` (after the last `?`
//!    or `&`) is a well-known field name (`email`, `e-mail`, `mail`, `user`, `username`, `login`,
//!    `account`, `to`, `from`, `cc`, `bcc`, `reply-to`, `sender`, `recipient`, `address`,
//!    `addr`, `uid`, `id`, `name`, case-insensitive) gives `local@domain`, as in logs
//!    (`user=bob@example.com`). Any other `=` is part of the local part: `sales=eu@example.com`
//!    is that address, never `eu@example.com`.
//! 7. **Slashes** outside URLs are part of the local part (`first/last@example.com`).
//! 8. `mailto:` links are read first, up to white space or `" ' < > ) ,`, and percent-decoded by
//!    [`crate::normalize_email`].
//!
//! Every candidate is then checked by [`crate::normalize_email`]; `icon@2x.png` fails there.

use icu_properties::props::{GeneralCategory, GeneralCategoryGroup};
use icu_properties::CodePointMapData;

use crate::normalize::is_format;

/// Field names of `KEY=address` pairs (rule 6 of the module documentation), lowercase.
const ADDRESS_KEYS: &[&str] = &[
    "email",
    "e-mail",
    "mail",
    "user",
    "username",
    "login",
    "account",
    "to",
    "from",
    "cc",
    "bcc",
    "reply-to",
    "sender",
    "recipient",
    "address",
    "addr",
    "uid",
    "id",
    "name",
];

/// How the scan around an `@` treats a character.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    /// Part of the token.
    Token,
    /// Ends the token.
    Delimiter,
    /// Ends the token at its edge; makes it unreadable between two token characters.
    Opaque,
}

fn non_ascii_class(c: char) -> Class {
    if c.is_whitespace() {
        return Class::Delimiter;
    }
    let gc = CodePointMapData::<GeneralCategory>::new().get(c);
    if GeneralCategoryGroup::Letter.contains(gc)
        || GeneralCategoryGroup::Number.contains(gc)
        || GeneralCategoryGroup::Mark.contains(gc)
    {
        Class::Token
    } else if GeneralCategoryGroup::Punctuation.contains(gc) || gc == GeneralCategory::Control {
        Class::Delimiter
    } else {
        Class::Opaque
    }
}

fn is_atext_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-.".contains(&b)
}

/// The ASCII character a full-width letter, digit or address sign stands for (`ａ` → `a`,
/// `＿` → `_`, `．` → `.`, `＋` → `+`, `－` → `-`): read as that character, as normalization
/// maps them (policy step 0). Other full-width punctuation (`（` `：` `，`) keeps its Unicode
/// class: it ends an address.
fn fullwidth_ascii(c: char) -> Option<char> {
    let a = char::from_u32((c as u32).checked_sub(0xFEE0)?).filter(|_| ('\u{FF01}'..='\u{FF5E}').contains(&c))?;
    (a.is_ascii_alphanumeric() || matches!(a, '_' | '+' | '-' | '.')).then_some(a)
}

/// Whether `c` is an at sign: `@` or the full-width `＠`.
fn is_at(c: char) -> bool {
    c == '@' || c == '\u{FF20}'
}

/// Whether a line may hold a full-width at sign `＠` (U+FF20), read like `@`.
pub fn may_hold_fullwidth_at(s: &str) -> bool {
    memchr::memmem::find(s.as_bytes(), "\u{FF20}".as_bytes()).is_some()
}

/// Class of a character on the local-part side of the `@`.
#[inline]
fn local_class(c: char) -> Class {
    if c.is_ascii() {
        ascii_local_class(c as u8)
    } else if let Some(a) = fullwidth_ascii(c) {
        ascii_local_class(a as u8)
    } else {
        non_ascii_class(c)
    }
}

fn ascii_local_class(b: u8) -> Class {
    if is_atext_byte(b) {
        Class::Token
    } else {
        Class::Delimiter
    }
}

/// Class of a character on the domain side of the `@`.
#[inline]
fn domain_class(c: char) -> Class {
    if c.is_ascii() {
        ascii_domain_class(c as u8)
    } else if let Some(a) = fullwidth_ascii(c).filter(|&a| a != '.') {
        ascii_domain_class(a as u8)
    } else if matches!(c, '\u{3002}' | '\u{FF0E}' | '\u{FF61}') {
        Class::Token
    } else if is_format(c) {
        Class::Opaque
    } else {
        non_ascii_class(c)
    }
}

/// [`domain_class`] of `c` at byte `pos` of `s`, with the rule for ideographic full stops: one
/// separates labels only before ASCII domain characters (`example。com`, also full-width
/// ones); before other text or at the end it ends a sentence (`…@example.com。次`,
/// `…@example.com。。`).
#[inline]
fn domain_class_at(s: &str, pos: usize, c: char) -> Class {
    if !is_stop(c) {
        return domain_class(c);
    }
    // Past a run of stops, dots and hyphens (`…com。。`), a label must follow. Looked for
    // over a few characters only, so that a line of stops stays linear (such a run is no
    // domain anyway: its labels are empty).
    let next = s[pos + c.len_utf8()..]
        .chars()
        .take(64)
        .map(|n| fullwidth_ascii(n).unwrap_or(n))
        .find(|&n| !(n == '.' || n == '-' || is_stop(n)));
    if next.is_some_and(|n| n.is_ascii_alphanumeric()) {
        Class::Token
    } else {
        Class::Delimiter
    }
}

fn ascii_domain_class(b: u8) -> Class {
    if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
        Class::Token
    } else {
        Class::Delimiter
    }
}

/// Calls `found` with every address candidate of a free-text string, in order, following the
/// rule of the module documentation. Candidates are slices of `s` and still have to pass
/// [`crate::normalize_email`].
pub fn extract(s: &str, found: &mut dyn FnMut(&str)) {
    let bytes = s.as_bytes();
    // `mailto:` tokens first; their range is skipped by the scan for `@` below.
    let mut covered: Vec<(usize, usize)> = Vec::new();
    let lower_has_mailto = bytes.windows(7).any(|w| w.eq_ignore_ascii_case(b"mailto:"));
    if lower_has_mailto {
        let mut i = 0;
        while i + 7 <= bytes.len() {
            if bytes[i..i + 7].eq_ignore_ascii_case(b"mailto:") {
                let end = bytes[i..]
                    .iter()
                    .position(|&b| b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'<' | b'>' | b')' | b','))
                    .map_or(bytes.len(), |p| i + p);
                found(&s[i..end]);
                covered.push((i, end));
                i = end;
            } else {
                i += 1;
            }
        }
    }
    let fullwidth: Vec<usize> = if !s.is_ascii() && may_hold_fullwidth_at(s) {
        memchr::memmem::find_iter(bytes, "\u{FF20}".as_bytes()).collect()
    } else {
        Vec::new()
    };
    let mut wide = fullwidth.iter().copied().peekable();
    let mut narrow = memchr::memchr_iter(b'@', bytes).peekable();
    loop {
        // Both kinds of at sign, in order.
        let at = match (narrow.peek(), wide.peek()) {
            (Some(&n), Some(&w)) if w < n => wide.next(),
            (Some(_), _) => narrow.next(),
            (None, _) => wide.next(),
        };
        let Some(at) = at else { break };
        if covered.iter().any(|&(a, b)| at >= a && at < b) {
            continue;
        }
        if let Some((start, end)) = token_at(s, at) {
            found(&s[start..end]);
        }
    }
}

/// Brackets around an obfuscation word (`[at]`, `(dot)`, `{at}`, `<at>`, and their full-width
/// forms `［at］` `（at）` `｛at｝` `＜at＞`): opening and closing pairs.
const OBFUSCATION_BRACKETS: [(char, char); 8] = [
    ('[', ']'),
    ('(', ')'),
    ('{', '}'),
    ('<', '>'),
    ('\u{FF3B}', '\u{FF3D}'),
    ('\u{FF08}', '\u{FF09}'),
    ('\u{FF5B}', '\u{FF5D}'),
    ('\u{FF1C}', '\u{FF1E}'),
];

/// Words that stand before a bare ` at ` in prose (`look at example dot com`), never read as a
/// local part of the bare word form. The bracketed forms are not affected.
const BARE_AT_STOPWORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "am",
    "i",
    "we",
    "you",
    "he",
    "she",
    "it",
    "they",
    "me",
    "us",
    "him",
    "her",
    "them",
    "this",
    "that",
    "look",
    "looking",
    "looked",
    "work",
    "works",
    "worked",
    "working",
    "live",
    "lives",
    "lived",
    "me",
    "meet",
    "stay",
    "and",
    "or",
    "not",
    "only",
    "just",
    "here",
    "there",
    "available",
    "found",
    "based",
    "located",
    "arrive",
    "arrived",
    "shop",
    "sold",
    "buy",
    "see",
];

/// Longest obfuscated address read, in bytes of the text (an address is at most 254 octets;
/// the markers and spaces add a few per label). Bounds the work per marker.
const MAX_OBFUSCATED: usize = 512;

/// How an obfuscated address separates its parts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Marker {
    /// `[at]`, `(dot)`... or `＠` / `@` with white space on both sides: unambiguous.
    Bracketed,
    /// The bare words ` at ` and ` dot `: read only when unambiguous.
    Bare,
}

/// The obfuscation word `word` (`at`, `dot`) at byte `i` of `s`, bracketed or bare, with the
/// white space around it: the byte just past it and how it was written. For a bare word, white
/// space must stand on both sides.
fn marker_at(s: &str, i: usize, word: &str) -> Option<(usize, Marker)> {
    let rest = &s[i..];
    let ws_len = |t: &str| t.len() - t.trim_start_matches(char::is_whitespace).len();
    let lead = ws_len(rest);
    let body = &rest[lead..];
    let mut chars = body.chars();
    let open = chars.next()?;
    if let Some(&(_, close)) = OBFUSCATION_BRACKETS.iter().find(|(o, _)| *o == open) {
        let inner = &body[open.len_utf8()..];
        let inner_ws = ws_len(inner);
        let w = inner.get(inner_ws..inner_ws + word.len())?;
        if !w.eq_ignore_ascii_case(word) {
            return None;
        }
        let after = &inner[inner_ws + word.len()..];
        let after_ws = ws_len(after);
        if !after[after_ws..].starts_with(close) {
            return None;
        }
        let end = i + lead + open.len_utf8() + inner_ws + word.len() + after_ws + close.len_utf8();
        return Some((end + ws_len(&s[end..]), Marker::Bracketed));
    }
    if word == "at" && is_at(open) && lead > 0 {
        let end = i + lead + open.len_utf8();
        let trail = ws_len(&s[end..]);
        return (trail > 0).then_some((end + trail, Marker::Bracketed));
    }
    if lead > 0 && body.get(..word.len()).is_some_and(|w| w.eq_ignore_ascii_case(word)) {
        let end = i + lead + word.len();
        let trail = ws_len(&s[end..]);
        return (trail > 0).then_some((end + trail, Marker::Bare));
    }
    None
}

/// Whether `c` may be in a domain label of an obfuscated address.
fn label_char(c: char) -> bool {
    let c = fullwidth_ascii(c).unwrap_or(c);
    c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && domain_class(c) == Class::Token && !is_stop(c))
}

/// The ideographic and full-width full stops, which separate labels like `.`.
fn is_stop(c: char) -> bool {
    matches!(c, '\u{3002}' | '\u{FF0E}' | '\u{FF61}')
}

/// Calls `found` with every obfuscated address of a free-text string, rebuilt as an address
/// (`taro [at] example [dot] jp` → `taro@example.jp`). Candidates still have to pass
/// [`crate::normalize_email`]. Addresses written plainly are left to [`extract`].
///
/// Read: `[at]`, `(at)`, `{at}`, `<at>` (any case, spaces inside or around, full-width
/// brackets too) and an at sign `@`/`＠` with white space on both sides, between a local part
/// and a domain whose labels are separated by `.`, `．`, `。` or `[dot]`-like markers. The bare
/// words `taro at example dot jp` only when unambiguous: white space around both words, at
/// least one ` dot ` word, a single-token local part that is not a word of prose before "at"
/// (`look at example dot com` is not read), and a domain whose top-level domain is known (as
/// every address's must be). The whole-token rule of [`extract`] holds: a local part glued to
/// something else, or a domain followed by `@` or `_`, is skipped, never shortened.
pub fn extract_obfuscated(s: &str, found: &mut dyn FnMut(&str)) {
    if !may_be_obfuscated(s) {
        return;
    }
    let mut cand = String::new();
    let mut next = 0;
    for i in marker_starts(s) {
        if i < next || i == 0 {
            continue;
        }
        let Some((after, how)) = marker_at(s, i, "at") else { continue };
        if let Some(local) = obfuscated_local(s, i, how) {
            if let Some(end) = obfuscated_domain(s, after, how, local, &mut cand) {
                found(&cand);
                next = end;
            }
        }
    }
}

/// Where at markers may start, in order: the end of the token before each `at` word (bare or
/// bracketed) and before each at sign that follows white space.
fn marker_starts(s: &str) -> Vec<usize> {
    let b = s.as_bytes();
    let token_end = |k: usize| {
        let t = s[..k].trim_end_matches(char::is_whitespace);
        // An opening bracket of `[at]` belongs to the marker.
        let t = match t.chars().next_back() {
            Some(c) if OBFUSCATION_BRACKETS.iter().any(|(o, _)| *o == c) => {
                t[..t.len() - c.len_utf8()].trim_end_matches(char::is_whitespace)
            }
            _ => t,
        };
        t.len()
    };
    let mut out = Vec::new();
    for p in memchr::memchr2_iter(b't', b'T', b) {
        if p > 0 && b[p - 1].eq_ignore_ascii_case(&b'a') {
            let word = p - 1;
            let prev = s[..word].chars().next_back();
            if prev.is_some_and(|c| c.is_whitespace() || OBFUSCATION_BRACKETS.iter().any(|(o, _)| *o == c)) {
                out.push(token_end(word));
            }
        }
    }
    let mut ats: Vec<usize> = memchr::memchr_iter(b'@', b).collect();
    if !s.is_ascii() {
        ats.extend(memchr::memmem::find_iter(b, "\u{FF20}".as_bytes()));
    }
    for p in ats {
        if s[..p].ends_with(char::is_whitespace) {
            out.push(token_end(p));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether a line may hold an obfuscated address: an `at` word or a spaced at sign. A cheap
/// test, so that lines without one cost one pass of `memchr`.
fn may_be_obfuscated(s: &str) -> bool {
    let b = s.as_bytes();
    // Bytes that may stand beside a marker word: ASCII white space, brackets, or any byte of
    // a non-ASCII character (ideographic space, full-width brackets).
    let open = |c: u8| c.is_ascii_whitespace() || b"[({<".contains(&c) || !c.is_ascii();
    let close = |c: u8| c.is_ascii_whitespace() || b"])}>".contains(&c) || !c.is_ascii();
    let at_word = |p: usize| {
        p > 0
            && b[p - 1].eq_ignore_ascii_case(&b'a')
            && p >= 2
            && open(b[p - 2])
            && b.get(p + 1).is_some_and(|&c| close(c))
    };
    memchr::memchr2_iter(b't', b'T', b).any(at_word)
        || memchr::memchr_iter(b'@', b).any(|p| p > 0 && (b[p - 1].is_ascii_whitespace() || !b[p - 1].is_ascii()))
        || (!s.is_ascii() && may_hold_fullwidth_at(s))
}

/// The local part before an at marker starting at byte `marker`: a run of local-part
/// characters ending right there (white space between them belongs to the marker). `None`
/// when there is none, when it is glued to something that could continue it, or (bare form)
/// when it is a word of prose.
fn obfuscated_local(s: &str, marker: usize, how: Marker) -> Option<&str> {
    let before = s[..marker].trim_end_matches(char::is_whitespace);
    let floor = before.len().saturating_sub(MAX_OBFUSCATED);
    let mut start = before.len();
    for (p, c) in before.char_indices().rev() {
        if p < floor {
            return None;
        }
        if local_class(c) == Class::Token {
            start = p;
        } else {
            // Something that is neither white space nor a delimiter glues the token.
            if local_class(c) == Class::Opaque || is_at(c) {
                return None;
            }
            break;
        }
    }
    let local = &before[start..];
    let off = plain_local_offset(local);
    let local = &local[off..];
    if local.is_empty() {
        return None;
    }
    if how == Marker::Bare {
        let word_before = before[..start].chars().next_back();
        if word_before.is_some_and(|c| !c.is_whitespace() && !"([{<\"'".contains(c))
            || BARE_AT_STOPWORDS.iter().any(|w| w.eq_ignore_ascii_case(local))
        {
            return None;
        }
    }
    Some(local)
}

/// Reads the domain of an obfuscated address from byte `from` into `cand` (as
/// `local@label.label`). Returns the byte where it ends, or `None` when there is no domain of
/// two labels or more, when the form is ambiguous, or when the domain is glued to more.
fn obfuscated_domain(s: &str, from: usize, how: Marker, local: &str, cand: &mut String) -> Option<usize> {
    cand.clear();
    cand.push_str(local);
    cand.push('@');
    let limit = (from + MAX_OBFUSCATED).min(s.len());
    let mut i = from;
    let mut labels = 0;
    let mut word_dots = 0;
    loop {
        // A label.
        let start = i;
        while i < limit {
            let c = s[i..].chars().next().expect("in bounds");
            if !label_char(c) {
                break;
            }
            i += c.len_utf8();
        }
        if i == start {
            return None;
        }
        if i >= limit && limit < s.len() {
            return None; // longer than any address
        }
        cand.push_str(&s[start..i]);
        labels += 1;
        // A separator and the next label, or the end.
        let next = s[i..].chars().next();
        let sep_end = match next {
            Some(c) if c == '.' || is_stop(c) => {
                let after = i + c.len_utf8();
                s[after..].chars().next().filter(|&n| label_char(n)).map(|_| after)
            }
            _ => None,
        };
        let sep_end = sep_end.or_else(|| match marker_at(s, i, "dot") {
            Some((after, _)) if s[after..].chars().next().is_some_and(label_char) => {
                word_dots += 1;
                Some(after)
            }
            _ => None,
        });
        match sep_end {
            Some(after) => {
                cand.push('.');
                i = after;
            }
            None => break,
        }
    }
    // Glued to more: another at sign or an underscore right after the domain.
    if s[i..].chars().next().is_some_and(|c| is_at(c) || c == '_' || c == '\u{FF3F}') {
        return None;
    }
    if labels < 2 || (how == Marker::Bare && word_dots == 0) {
        return None;
    }
    // Sentence punctuation: a trailing `-` is not part of a label end.
    while cand.ends_with('-') {
        cand.pop();
    }
    Some(i)
}

/// The byte range of the candidate around the `@` at byte `at`, or `None` when there is none
/// or it cannot be read whole.
fn token_at(s: &str, at: usize) -> Option<(usize, usize)> {
    // The at sign's end: `@` is one byte, `＠` three.
    let dom = at + s[at..].chars().next().map_or(1, char::len_utf8);
    // Local side, right to left.
    let before = &s[..at];
    let mut start = at;
    let mut chars = before.char_indices().rev().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match local_class(c) {
            Class::Token => {
                start = i;
                chars.next();
            }
            Class::Delimiter => break,
            Class::Opaque => {
                // Skip the run of opaque characters; a token character beyond glues it.
                while chars.peek().is_some_and(|&(_, c)| local_class(c) == Class::Opaque) {
                    chars.next();
                }
                if chars.peek().is_some_and(|&(_, c)| is_at(c) || local_class(c) == Class::Token) {
                    return None;
                }
                if start == at {
                    return None; // nothing before the `@` but invisible characters
                }
                break;
            }
        }
    }
    if start == at || s[..start].ends_with(is_at) {
        return None;
    }
    // Domain side, left to right.
    let mut end = dom;
    let mut rest = s[dom..].char_indices().peekable();
    while let Some(&(i, c)) = rest.peek() {
        match domain_class_at(s, dom + i, c) {
            Class::Token => {
                end = dom + i + c.len_utf8();
                rest.next();
            }
            Class::Delimiter => {
                if is_at(c) || c == '_' || c == '\u{FF3F}' {
                    return None;
                }
                break;
            }
            Class::Opaque => {
                while rest.peek().is_some_and(|&(_, c)| domain_class(c) == Class::Opaque) {
                    rest.next();
                }
                if end == dom
                    || rest.peek().is_some_and(|&(j, c)| {
                        is_at(c) || c == '_' || c == '\u{FF3F}' || domain_class_at(s, dom + j, c) == Class::Token
                    })
                {
                    return None;
                }
                break;
            }
        }
    }
    // Sentence punctuation after the domain.
    end = dom + s[dom..end].trim_end_matches(['.', '-', '\u{FF0D}']).len();
    if end == dom {
        return None;
    }
    let local = &s[start..at];
    let local_start = match url_local_start(s, start, at) {
        UrlContext::None => start + plain_local_offset(local),
        UrlContext::Userinfo => return None,
        UrlContext::Path(from) => {
            if s[from..at].contains('%') {
                return None;
            }
            from
        }
    };
    (local_start < at).then_some((local_start, end))
}

/// How far before a token `scheme://` is looked for, in bytes: a URL whose part before the
/// address is longer is read as plain text.
pub const URL_LOOKBACK: usize = 2048;

enum UrlContext {
    /// Not in a URL.
    None,
    /// URL userinfo: not an address.
    Userinfo,
    /// In a URL's path, query or fragment; the local part starts at this byte.
    Path(usize),
}

/// Rule 5: whether the token `s[start..at]` is in a URL, and where its local part starts.
fn url_local_start(s: &str, start: usize, at: usize) -> UrlContext {
    // Bounded, so that a long line with many `@` and no white space stays linear.
    let mut floor = start.saturating_sub(URL_LOOKBACK);
    while !s.is_char_boundary(floor) {
        floor += 1;
    }
    let word_start = s[floor..start]
        .char_indices()
        .rev()
        .find(|&(_, c)| c.is_whitespace() || matches!(c, '"' | '<' | '(' | '['))
        .map_or(floor, |(p, c)| floor + p + c.len_utf8());
    let Some(p) = s[word_start..at].rfind("://") else { return UrlContext::None };
    let authority = &s[word_start + p + 3..at];
    if !authority.contains(['/', '?', '#']) {
        return UrlContext::Userinfo;
    }
    let from = s[start..at].rfind(['/', '?', '#', '&', '=']).map_or(start, |q| start + q + 1);
    UrlContext::Path(from)
}

/// Rules 4 and 6 outside URLs: the offset in `local` where the local part starts.
fn plain_local_offset(local: &str) -> usize {
    let trimmed = local.trim_start_matches(['\'', '`', '.', '-', '\u{FF0E}', '\u{FF0D}']);
    let mut off = local.len() - trimmed.len();
    if let Some(eq) = trimmed.rfind('=') {
        let key_start = trimmed[..eq].rfind(['?', '&']).map_or(0, |q| q + 1);
        let key = &trimmed[key_start..eq];
        if ADDRESS_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            let value = &trimmed[eq + 1..];
            off += eq + 1 + (value.len() - value.trim_start_matches(['\'', '`']).len());
        }
    }
    off
}

/// Separators between the address and the password of a combolist line.
pub const COMBO_SEPARATORS: &[u8] = b":;|\t ";

/// A combolist line split into the address field and what follows the separator.
#[derive(Debug, PartialEq, Eq)]
pub struct Combo<'a> {
    /// The address as written (not yet normalized).
    pub address: &'a str,
    /// The rest of the line after the first separator that follows the address, verbatim.
    pub password: Option<&'a str>,
}

/// Splits a combolist line. The address runs from the start of the line to the first
/// separator (`:` `;` `|` tab space) after its `@`; the password is everything after that
/// separator, separators included (`carol@example.org:pa:ss:wd` → `pa:ss:wd`).
///
/// Stealer-log lines `URL:login:password` are recognised by their `scheme://` start: the login
/// is the first `:`-delimited field after the URL that holds an `@`.
pub fn split_combo(line: &str) -> Option<Combo<'_>> {
    let line = line.trim_start_matches([' ', '\t', '\u{feff}']);
    // A full-width `＠` counts too (`ｔａｒｏ＠example.jp:pw`): normalization reads it as `@`.
    let narrow = line.find('@');
    let first_at = match narrow {
        // ASCII before the `@`: no `＠` can come first.
        Some(n) if line.as_bytes()[..n].is_ascii() => n,
        _ => match (narrow, memchr::memmem::find(line.as_bytes(), "\u{FF20}".as_bytes())) {
            (Some(n), Some(w)) => n.min(w),
            (n, w) => n.or(w)?,
        },
    };
    let bytes = line.as_bytes();
    let scheme_end = bytes[..first_at.min(34)].windows(3).position(|w| w == b"://");
    if let Some(scheme_end) = scheme_end {
        let mut from = scheme_end + 3;
        while let Some(p) = line[from..].find(':') {
            let field_start = from + p + 1;
            let field_end = bytes[field_start..]
                .iter()
                .position(|b| COMBO_SEPARATORS.contains(b))
                .map_or(line.len(), |q| field_start + q);
            let field = &line[field_start..field_end];
            if field.contains('@') {
                let password = (field_end < line.len()).then(|| &line[field_end + 1..]);
                return Some(Combo { address: field, password });
            }
            from = field_start;
        }
        return None;
    }
    match bytes[first_at..].iter().position(|b| COMBO_SEPARATORS.contains(b)) {
        Some(p) => {
            let sep = first_at + p;
            Some(Combo { address: &line[..sep], password: Some(&line[sep + 1..]) })
        }
        None => Some(Combo { address: line.trim_end(), password: None }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(s: &str) -> Vec<String> {
        let mut v = Vec::new();
        extract(s, &mut |c| v.push(c.to_string()));
        v.into_iter().filter_map(|c| crate::normalize_email(&c).ok()).collect()
    }

    #[test]
    fn extracts_addresses_with_punctuation_around_them() {
        assert_eq!(
            all("Contact Bob (bob@example.com), or alice@example.org."),
            ["bob@example.com", "alice@example.org"]
        );
        assert_eq!(all("From: \"Ruth\" <Ruth@Example.com>"), ["ruth@example.com"]);
        assert_eq!(all("...dave@example.net..."), ["dave@example.net"]);
        assert_eq!(all("-- bob@example.com!"), ["bob@example.com"]);
        assert_eq!(all("write to bob@example.com? or carol@example.org;"), ["bob@example.com", "carol@example.org"]);
    }

    #[test]
    fn rejects_url_userinfo_and_file_names() {
        assert!(all("see https://user:secret@host.example.com/path").is_empty());
        assert!(all("https://admin@host.example.com/").is_empty());
        assert!(all("ftp://anonymous:guest@files.example.org").is_empty());
        assert!(all("icon@2x.png and logo@3x.png").is_empty());
        assert!(all("a..b@example.com").is_empty());
    }

    #[test]
    fn an_address_in_a_url_path_or_query_is_not_userinfo() {
        assert_eq!(all("https://host.example.com/u/tina@example.com"), ["tina@example.com"]);
        assert_eq!(all("see https://host/profile/tina@example.com?x=1 now"), ["tina@example.com"]);
        assert_eq!(all("GET http://h.example.org/reset?email=Bob@Example.net&t=9"), ["bob@example.net"]);
        assert_eq!(all("https://h.example.org/#/users/o'hara@example.com"), ["o'hara@example.com"]);
        // Percent-encoded local parts cannot be read whole without decoding: skipped.
        assert!(all("https://h.example.org/u/first%2Blast@example.com").is_empty());
    }

    #[test]
    fn quotes_slashes_and_equals_inside_a_local_part_are_never_cut_off() {
        // Regression (issue 9): these indexed brien@, eu@ and last@, other people.
        assert_eq!(all("<o'brien@example.com>"), ["o'brien@example.com"]);
        assert_eq!(all("contact: sales=eu@example.com"), ["sales=eu@example.com"]);
        assert_eq!(all("first/last@example.com"), ["first/last@example.com"]);
        assert_eq!(all("mail d'angelo@example.org or x!y@example.net"), ["d'angelo@example.org", "x!y@example.net"]);
        assert_eq!(all("{tina}@example.com"), ["{tina}@example.com"]);
    }

    #[test]
    fn quotes_around_an_address_are_dropped() {
        for line in [
            "'bob@example.com'",
            "`bob@example.com`",
            "\u{2018}bob@example.com\u{2019}",
            "\u{201C}bob@example.com\u{201D}",
            "\u{AB}bob@example.com\u{BB}",
            "\u{FF08}bob@example.com\u{FF09}",
            "\u{300C}bob@example.com\u{300D}",
            "email='bob@example.com'",
        ] {
            assert_eq!(all(line), ["bob@example.com"], "{line}");
        }
        assert_eq!(all("he said 'o'neil@example.com' twice"), ["o'neil@example.com"]);
    }

    #[test]
    fn key_value_pairs_give_the_value_only_for_address_field_names() {
        assert_eq!(all("user=bob@example.com ip=192.0.2.1"), ["bob@example.com"]);
        assert_eq!(all("login.php?Email=ann@example.org&pw=x"), ["ann@example.org"]);
        assert_eq!(all("to=ruth@example.net, from=ivan@example.com"), ["ruth@example.net", "ivan@example.com"]);
        assert_eq!(all("team=ops@example.com"), ["team=ops@example.com"]);
    }

    #[test]
    fn tokens_with_two_at_signs_are_skipped_whole() {
        assert!(all("a@b@example.com").is_empty());
        assert!(all("follow @bob@social.example.com").is_empty());
        assert!(all("bob@example.com@evil.example.org").is_empty());
        assert!(all("bob@example.com_backup").is_empty());
    }

    #[test]
    fn zero_width_and_format_characters_end_a_candidate_or_make_it_unreadable() {
        // At the edge, beside a delimiter or the line's end: they only end the candidate.
        for line in [
            "\u{FEFF}bob@example.com",
            "bob@example.com\u{200B}",
            "x \u{200B}bob@example.com\u{2060} y",
            "\u{200E}bob@example.com\u{200F}",
            "\u{AD}bob@example.com",
            "\u{1F4E7} bob@example.com",
        ] {
            assert_eq!(all(line), ["bob@example.com"], "{line:?}");
        }
        // Between two characters of the token: skipped, never read as `b@...` or `bob@ample...`.
        for line in [
            "bo\u{200B}b@example.com",
            "bob\u{200B}@example.com",
            "bob@\u{2060}example.com",
            "bob@exam\u{AD}ple.com",
            "ann\u{200D}marie@example.org",
            "i\u{2764}you@example.net",
        ] {
            assert!(all(line).is_empty(), "{line:?}");
        }
    }

    /// The property of the `extract` fuzz target, on a small alphabet of troublesome
    /// characters: an accepted candidate is a slice of the line that nothing that could
    /// continue the address touches on either side (invisible characters skipped).
    fn assert_bounded(line: &str) {
        let gc = CodePointMapData::<GeneralCategory>::new();
        let mark = |c: char| GeneralCategoryGroup::Mark.contains(gc.get(c));
        let continues_local = |c: char| c.is_alphanumeric() || mark(c) || "_+!$%*^{|}~@".contains(c);
        let continues_domain = |c: char| c.is_alphanumeric() || mark(c) || c == '@' || c == '_';
        let mut found = Vec::new();
        extract(line, &mut |c| found.push((c.as_ptr() as usize - line.as_ptr() as usize, c.len())));
        for (start, len) in found {
            let cand = &line[start..start + len];
            if cand.to_ascii_lowercase().starts_with("mailto:") || crate::normalize_email(cand).is_err() {
                continue;
            }
            let mut left = line[..start].chars().rev().skip_while(|&c| is_format(c)).peekable();
            if let Some(&p) = left.peek() {
                assert!(!continues_local(p), "{cand:?} cut after {p:?} in {line:?}");
                if "'`.-".contains(p) {
                    let beyond = left.find(|&c| !"'`.-".contains(c));
                    assert!(!beyond.is_some_and(continues_local), "{cand:?} cut inside a token in {line:?}");
                }
            }
            let mut right = line[start + len..].chars().skip_while(|&c| is_format(c)).peekable();
            if let Some(&n) = right.peek() {
                assert!(!continues_domain(n), "{cand:?} cut before {n:?} in {line:?}");
                if ".-\u{3002}\u{FF0E}\u{FF61}".contains(n) {
                    let beyond = right.find(|&c| !".-\u{3002}\u{FF0E}\u{FF61}".contains(c));
                    assert!(!beyond.is_some_and(|c| c.is_ascii_alphanumeric()), "{cand:?} cut in a domain in {line:?}");
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        #[test]
        fn extraction_never_truncates_a_token(
            line in "([abé0-9 '`./=?&#_+:<>\"!%{}-]|@|example\\.com|https://h\\.example\\.org/|user=|\u{2018}|\u{2019}|\u{200b}|\u{feff}|\u{301}|\u{3002}|\u{1F4E7}|\u{a0}|\u{3000}){0,24}"
        ) {
            assert_bounded(&line);
        }
    }

    #[test]
    fn a_long_line_of_at_signs_without_spaces_is_read_in_linear_time() {
        let line =
            "a@".repeat(30_000) + &"x/".repeat(2_000) + "https://h.example.org/" + &"b@example.com/".repeat(2_000);
        let t = std::time::Instant::now();
        let mut n = 0;
        extract(&line, &mut |_| n += 1);
        assert!(t.elapsed() < std::time::Duration::from_secs(5), "{:?}", t.elapsed());
        assert!(n > 0);
    }

    #[test]
    fn a_run_of_zero_width_characters_and_ideographic_stops_after_an_address_only_ends_it() {
        // Regression (issue 11 property test): a stop after the invisible run was taken for a
        // label separator, so the address was skipped as glued.
        assert_eq!(all("aa@example.com\u{200B}\u{3002}\u{3002}"), ["aa@example.com"]);
        assert_eq!(all("aa@example.com\u{3002}\u{3002}"), ["aa@example.com"]);
        // A long run of stops is read in linear time.
        let line = "x@example".to_string() + &"\u{3002}".repeat(30_000) + "com";
        let t = std::time::Instant::now();
        let _ = all(&line);
        assert!(t.elapsed() < std::time::Duration::from_secs(5), "{:?}", t.elapsed());
    }

    #[test]
    fn a_multibyte_space_before_an_address_or_url_is_stepped_over_whole() {
        // Regression (found by the `extract` fuzz target): a word start after U+00A0 or U+3000
        // was computed one byte into the space, a panic on ordinary text.
        assert_eq!(all("\u{540d}\u{524d}\u{3000}bob@example.com"), ["bob@example.com"]);
        assert_eq!(all("mail:\u{a0}ann@example.org"), ["ann@example.org"]);
        assert_eq!(all("x\u{2003}https://h.example.org/u/tina@example.com"), ["tina@example.com"]);
        assert!(all("x\u{a0}https://user:pw@h.example.org/").is_empty());
    }

    #[test]
    fn decomposed_and_non_latin_local_parts_are_read_whole() {
        assert_eq!(all("jose\u{301}@example.com"), ["jos\u{e9}@example.com"]);
        assert_eq!(all("\u{30E1}\u{30FC}\u{30EB}\u{FF1A}\u{304B}\u{3099}@example.jp"), ["\u{304C}@example.jp"]);
        assert_eq!(all("Ren\u{e9}@example.fr\u{3002}"), ["ren\u{e9}@example.fr"]);
        assert_eq!(all("\u{4FCA}@example.com\u{3002}\u{6B21}"), ["\u{4FCA}@example.com"]);
    }

    /// Boundary characters of issue 11: full-width and ideographic punctuation and spaces,
    /// typographic quotes and guillemets, zero-width characters.
    const BOUNDARIES: &[char] = &[
        '\u{FF1A}', '\u{FF08}', '\u{FF09}', '\u{300C}', '\u{300D}', '\u{300E}', '\u{300F}', '\u{3010}', '\u{3011}',
        '\u{3001}', '\u{3002}', '\u{FF0C}', '\u{FF1B}', '\u{3000}', '\u{201C}', '\u{201D}', '\u{2018}', '\u{2019}',
        '\u{AB}', '\u{BB}', '\u{2039}', '\u{203A}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', ' ',
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// An address with any run of boundary characters on either side, in any order, is
        /// extracted exactly (the expected address is the one put in).
        #[test]
        fn an_address_between_unicode_boundaries_is_extracted_exactly(
            before in proptest::collection::vec(proptest::sample::select(BOUNDARIES), 0..5),
            after in proptest::collection::vec(proptest::sample::select(BOUNDARIES), 0..5),
            local in "[a-z][a-z0-9._+-]{0,6}[a-z0-9]",
            domain in proptest::sample::select(&["example.com", "example.jp", "mail.example.org", "example.test"][..]),
            prose in proptest::sample::select(&["", "\u{9023}\u{7D61}\u{5148}", "Kontakt", "mail"][..]),
        ) {
            proptest::prop_assume!(!local.contains(".."));
            let want = format!("{local}@{domain}");
            let before: String = before.into_iter().collect();
            let after: String = after.into_iter().collect();
            // Prose before the boundaries needs a real delimiter between it and the address.
            let sep = if prose.is_empty() { "" } else { "\u{FF1A}" };
            let line = format!("{prose}{sep}{before}{want}{after}");
            proptest::prop_assert_eq!(all(&line), vec![want.clone()], "line {:?}", line);
        }

        /// Full-width forms of an address, written whole or in part, between boundaries, read as
        /// the ASCII address.
        #[test]
        fn full_width_addresses_between_boundaries_are_read_as_ascii(
            mask in proptest::collection::vec(proptest::bool::ANY, 16),
            before in proptest::sample::select(BOUNDARIES),
            after in proptest::sample::select(BOUNDARIES),
        ) {
            let ascii = "taro.y@example.jp";
            let wide: String = ascii
                .chars()
                .zip(mask.iter().cycle())
                .map(|(c, &w)| if w { char::from_u32(c as u32 + 0xFEE0).unwrap() } else { c })
                .collect();
            let line = format!("\u{9023}\u{7D61}\u{5148}\u{FF1A}{before}{wide}{after}");
            proptest::prop_assert_eq!(all(&line), vec![ascii.to_string()], "line {:?}", line);
        }
    }

    #[test]
    fn full_width_addresses_in_japanese_text_are_read_as_ascii() {
        for line in [
            "\u{9023}\u{7D61}\u{5148}\u{FF1A}\u{FF59}\u{FF4F}\u{FF53}\u{FF48}\u{FF49}\u{FF44}\u{FF41}\u{FF20}\u{FF4D}\u{FF4C}\u{FF49}\u{FF54}\u{FF0E}\u{FF47}\u{FF4F}\u{FF0E}\u{FF4A}\u{FF50}\u{3002}",
            "\u{62C5}\u{5F53}\u{3000}yoshida\u{FF20}mlit.go.jp",
            "\u{300C}yoshida\u{FF20}mlit\u{FF0E}go\u{FF0E}jp\u{300D}",
        ] {
            assert_eq!(all(line), ["yoshida@mlit.go.jp"], "{line}");
        }
        // Glued to a second at sign of either width: skipped whole.
        assert!(all("a\u{FF20}b@example.jp").is_empty());
        assert!(all("taro@example.jp\u{FF20}x.example").is_empty());
    }

    fn obfuscated(s: &str) -> Vec<String> {
        let mut v = Vec::new();
        extract_obfuscated(s, &mut |c| v.push(c.to_string()));
        v.into_iter().filter_map(|c| crate::normalize_email(&c).ok()).collect()
    }

    #[test]
    fn bracketed_and_spaced_obfuscations_are_read() {
        for line in [
            "taro [at] example.jp",
            "taro[at]example.jp",
            "taro(at)example.jp",
            "taro {AT} example.jp",
            "taro <at> example.jp",
            "taro \u{FF3B}at\u{FF3D} example.jp",
            "taro\u{FF08}at\u{FF09}example.jp",
            "taro \u{FF20} example.jp",
            "taro @ example.jp",
            "taro [at] example [dot] jp",
            "taro (at) example (dot) jp",
            "\u{9023}\u{7D61}\u{5148}\u{FF1A}taro [ at ] example.jp",
            "mail: taro [at] example [dot] jp.",
            "Contact: Taro [at] Example [DOT] JP, thanks",
        ] {
            assert_eq!(obfuscated(line), ["taro@example.jp"], "{line}");
            // Never also read as something else by the plain extraction.
            assert!(all(line).is_empty(), "{line}");
        }
        assert_eq!(obfuscated("a.b+c [at] mail [dot] example [dot] org"), ["a.b+c@mail.example.org"]);
    }

    #[test]
    fn bare_at_and_dot_words_are_read_only_when_unambiguous() {
        assert_eq!(obfuscated("taro at example dot jp"), ["taro@example.jp"]);
        assert_eq!(obfuscated("write to hanako at mail dot example dot org today"), ["hanako@mail.example.org"]);
        for line in [
            "meet taro at example.jp",    // no dot word: prose about a site
            "look at example dot com",    // a word of prose before "at"
            "we met at noon dot five",    // not a known top-level domain
            "taro at example dot",        // one label
            "at example dot com",         // no local part
            "x-y.z!at example dot jp",    // "at" glued to a token
            "tarot example dot jp",       // not the word "at"
            "taro at example dot jp_old", // glued to more
        ] {
            assert!(obfuscated(line).is_empty(), "{line}: {:?}", obfuscated(line));
        }
    }

    #[test]
    fn obfuscated_forms_keep_the_whole_token_rule() {
        // A local part glued to an invisible character or a second at sign is skipped.
        assert!(obfuscated("bo\u{200B}b [at] example.com").is_empty());
        assert!(obfuscated("a@b [at] example.com").is_empty());
        assert!(obfuscated("taro [at] example.com@evil.example").is_empty());
        // Quotes around the local part are dropped, as in plain text.
        assert_eq!(obfuscated("\u{201C}taro [at] example.jp\u{201D}"), ["taro@example.jp"]);
    }

    #[test]
    fn many_obfuscation_markers_are_read_in_linear_time() {
        let line = "a [at] ".repeat(20_000) + &"b dot ".repeat(20_000) + "x at y dot jp";
        let t = std::time::Instant::now();
        let mut n = 0;
        extract_obfuscated(&line, &mut |_| n += 1);
        assert!(n >= 1);
        assert!(t.elapsed() < std::time::Duration::from_secs(5), "{:?}", t.elapsed());
    }

    #[test]
    fn splits_combolines_at_the_first_separator_after_the_address() {
        let c = split_combo("carol@example.org:pa:ss:wd").unwrap();
        assert_eq!((c.address, c.password), ("carol@example.org", Some("pa:ss:wd")));
        for (line, pw) in [
            ("a@example.com;x;y", "x;y"),
            ("a@example.com|p|q", "p|q"),
            ("a@example.com\tp q", "p q"),
            ("a@example.com p:q", "p:q"),
        ] {
            let c = split_combo(line).unwrap();
            assert_eq!((c.address, c.password), ("a@example.com", Some(pw)), "{line}");
        }
        let c = split_combo("\u{FF54}aro\u{FF20}example.jp:pw").unwrap();
        assert_eq!((c.address, c.password), ("\u{FF54}aro\u{FF20}example.jp", Some("pw")));
        let c = split_combo("lonely@example.com").unwrap();
        assert_eq!((c.address, c.password), ("lonely@example.com", None));
        assert_eq!(split_combo("no address here"), None);
    }

    #[test]
    fn splits_stealer_log_lines() {
        let c = split_combo("https://login.example.org/auth:tina@example.com:Pa:ss").unwrap();
        assert_eq!((c.address, c.password), ("tina@example.com", Some("Pa:ss")));
        let c = split_combo("https://host.example.org:8443/x:tom@example.com:pw").unwrap();
        assert_eq!((c.address, c.password), ("tom@example.com", Some("pw")));
    }
}
