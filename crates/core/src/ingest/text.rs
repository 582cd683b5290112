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

/// Class of a character on the local-part side of the `@`.
fn local_class(c: char) -> Class {
    if c.is_ascii() {
        if is_atext_byte(c as u8) {
            Class::Token
        } else {
            Class::Delimiter
        }
    } else {
        non_ascii_class(c)
    }
}

/// Class of a character on the domain side of the `@`.
fn domain_class(c: char) -> Class {
    if c.is_ascii() {
        if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
            Class::Token
        } else {
            Class::Delimiter
        }
    } else if matches!(c, '\u{3002}' | '\u{FF0E}' | '\u{FF61}') {
        Class::Token
    } else if is_format(c) {
        Class::Opaque
    } else {
        non_ascii_class(c)
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
    for at in memchr::memchr_iter(b'@', bytes) {
        if covered.iter().any(|&(a, b)| at >= a && at < b) {
            continue;
        }
        if let Some((start, end)) = token_at(s, at) {
            found(&s[start..end]);
        }
    }
}

/// The byte range of the candidate around the `@` at byte `at`, or `None` when there is none
/// or it cannot be read whole.
fn token_at(s: &str, at: usize) -> Option<(usize, usize)> {
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
                if chars.peek().is_some_and(|&(_, c)| c == '@' || local_class(c) == Class::Token) {
                    return None;
                }
                if start == at {
                    return None; // nothing before the `@` but invisible characters
                }
                break;
            }
        }
    }
    if start == at || s[..start].ends_with('@') {
        return None;
    }
    // Domain side, left to right.
    let mut end = at + 1;
    let mut rest = s[at + 1..].char_indices().peekable();
    while let Some(&(i, c)) = rest.peek() {
        let mut class = domain_class(c);
        if matches!(c, '\u{3002}' | '\u{FF0E}' | '\u{FF61}') {
            // An ideographic full stop separates labels only before ASCII domain characters
            // (`example。com`); before other text it ends a sentence (`…@example.com。次`).
            let next = s[at + 1 + i + c.len_utf8()..].chars().next();
            if !next.is_some_and(|n| {
                n.is_ascii_alphanumeric() || matches!(n, '.' | '-' | '\u{3002}' | '\u{FF0E}' | '\u{FF61}')
            }) {
                class = Class::Delimiter;
            }
        }
        match class {
            Class::Token => {
                end = at + 1 + i + c.len_utf8();
                rest.next();
            }
            Class::Delimiter => {
                if c == '@' || c == '_' {
                    return None;
                }
                break;
            }
            Class::Opaque => {
                while rest.peek().is_some_and(|&(_, c)| domain_class(c) == Class::Opaque) {
                    rest.next();
                }
                if end == at + 1
                    || rest.peek().is_some_and(|&(_, c)| c == '@' || c == '_' || domain_class(c) == Class::Token)
                {
                    return None;
                }
                break;
            }
        }
    }
    // Sentence punctuation after the domain.
    end = at + 1 + s[at + 1..end].trim_end_matches(['.', '-']).len();
    if end == at + 1 {
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
    let trimmed = local.trim_start_matches(['\'', '`', '.', '-']);
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
    let first_at = line.find('@')?;
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
