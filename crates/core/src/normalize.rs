//! The one normalization policy for email addresses, used by the build and by every query.
//!
//! The policy (version [`POLICY_VERSION`], recorded in every index):
//!
//! 0. A string holding a Halfwidth and Fullwidth Forms character (U+FF00..U+FFEF: `ｔａｒｏ`,
//!    `＠`, `．`, `ｶﾞ`) is NFKC-normalized whole first ([`has_fullwidth`]), so
//!    `ｙｏｓｈｉｄａ＠ｍｌｉｔ．ｇｏ．ｊｐ` is `yoshida@mlit.go.jp`: Japanese input methods type
//!    these forms, and no mail system treats them as other mailboxes.
//! 1. Trim surrounding white space (Unicode `White_Space`, so also `\v`, `\f`, U+0085, U+00A0,
//!    U+3000...) and invisible format characters (general category `Cf`: BOM, zero-width space,
//!    word joiner, soft hyphen, LRM/RLM, ZWNJ/ZWJ...). See [`is_trimmed`].
//! 2. Unwrap `mailto:` (percent-decoded, `?query` dropped), `"Display Name" <addr>` and `<addr>`.
//! 3. Reject a format character left inside the address ([`Invalid::FormatChar`]): it is
//!    invisible, so `bob\u{200B}@example.com` cannot be told from `bob@example.com` by a reader,
//!    and silently dropping it would merge two different strings into one key.
//! 4. Lowercase the whole address (Unicode lowercase), as HIBP and Mozilla Monitor do, then
//!    normalize the local part to NFC, so a decomposed `jose\u{301}` and a composed `jos\u{e9}`
//!    meet.
//! 5. Map the domain with UTS-46 to ASCII (punycode, which includes NFC), so `münchen.example`
//!    and `xn--mnchen-3ya.example` meet; then strip one trailing dot of the mapped domain (so a
//!    trailing ideographic full stop `。`, `．` or `｡` counts as that dot).
//! 6. Reject what is not an address: no or several `@`, an empty local part, a local part over
//!    64 octets, with `..` or a leading or trailing `.`, characters outside RFC 5322 `atext`
//!    (non-ASCII is allowed, RFC 6531), IP-literal domains, a label empty, over 63 octets or
//!    starting or ending with `-`, a single-label domain, a TLD that is numeric or not in the
//!    public suffix list (`.test` and `.example` are accepted, RFC 2606), an address over 254
//!    octets.
//!
//! Policy 3 added step 0 (full-width forms); before it a full-width local part was kept as
//! written and got a key no client computes.
//!
//! Policy 2 added NFC, the format-character rule, the Unicode white space of the fast path
//! and the order of step 5 (policy 1 stripped the dot before mapping).
//!
//! `+tags` and dots are kept: `ivan+shop@example.com` is a different account from
//! `ivan@example.com`.
//!
//! The key of an address is the SHA-1 of its normalized UTF-8 bytes ([`crate::email_key`]).

use std::borrow::Cow;
use std::fmt;

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

/// Version of the normalization policy; stored in index metadata so that an index built with
/// another policy can be recognised.
pub const POLICY_VERSION: u32 = 3;

/// Longest local part, in octets (RFC 5321 section 4.5.3.1.1).
pub const MAX_LOCAL_LEN: usize = 64;
/// Longest address, in octets (RFC 5321 path limit less the angle brackets).
pub const MAX_ADDRESS_LEN: usize = 254;
/// Longest domain, in octets.
pub const MAX_DOMAIN_LEN: usize = 253;
/// Longest domain label, in octets.
pub const MAX_LABEL_LEN: usize = 63;

/// Top-level domains reserved for testing and documentation (RFC 2606, RFC 6761). They are not
/// in the public suffix list, but synthetic data and test suites use them.
const RESERVED_TLDS: &[&str] = &["test", "example"];

/// Why a string is not an email address under the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Invalid {
    /// Empty after trimming and unwrapping.
    Empty,
    /// No `@`.
    NoAt,
    /// More than one `@` (quoted local parts are not supported).
    SeveralAt,
    /// Nothing before the `@`.
    EmptyLocal,
    /// Local part over 64 octets.
    LocalTooLong,
    /// `..` in the local part, or a `.` at its start or end.
    LocalDots,
    /// A character not allowed in a local part (white space, control, quote, `,`, `:` ...).
    LocalChar,
    /// Nothing after the `@`.
    EmptyDomain,
    /// `[...]` IP-literal domains are not accepted.
    IpLiteral,
    /// The domain could not be mapped with UTS-46 or has a bad label.
    BadDomain,
    /// The domain has a single label (`user@localhost`).
    SingleLabel,
    /// The top-level domain is numeric or not a known TLD (`icon@2x.png`).
    UnknownTld,
    /// The whole address is over 254 octets.
    TooLong,
    /// An invisible format character (zero-width space, BOM, word joiner, soft hyphen,
    /// directional mark...) inside the address.
    FormatChar,
}

impl Invalid {
    /// A short, stable, human-readable reason.
    pub fn as_str(self) -> &'static str {
        match self {
            Invalid::Empty => "empty",
            Invalid::NoAt => "no @",
            Invalid::SeveralAt => "more than one @",
            Invalid::EmptyLocal => "empty local part",
            Invalid::LocalTooLong => "local part over 64 octets",
            Invalid::LocalDots => "misplaced dot in local part",
            Invalid::LocalChar => "bad character in local part",
            Invalid::EmptyDomain => "empty domain",
            Invalid::IpLiteral => "IP-literal domain",
            Invalid::BadDomain => "invalid domain",
            Invalid::SingleLabel => "domain has a single label",
            Invalid::UnknownTld => "unknown or numeric top-level domain",
            Invalid::TooLong => "address over 254 octets",
            Invalid::FormatChar => "invisible format character inside the address",
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for Invalid {}

/// Normalizes an email address under the policy described in the module documentation.
///
/// ```
/// use leakdex_core::normalize_email;
/// assert_eq!(normalize_email(" \"Ivan\" <Ivan+Shop@Example.COM.> ").unwrap(), "ivan+shop@example.com");
/// assert_eq!(normalize_email("mailto:a%2Bb@M\u{fc}nchen.example").unwrap(), "a+b@xn--mnchen-3ya.example");
/// assert!(normalize_email("icon@2x.png").is_err());
/// ```
pub fn normalize_email(input: &str) -> Result<String, Invalid> {
    if let Some(done) = normalize_plain_ascii(input.as_bytes()) {
        return done;
    }
    normalize_general(input)
}

/// The policy for any input: the reference for [`normalize_plain_ascii`].
fn normalize_general(input: &str) -> Result<String, Invalid> {
    let mapped;
    let input = if has_fullwidth(input) {
        mapped = icu_normalizer::ComposingNormalizerBorrowed::new_nfkc().normalize(input);
        &*mapped
    } else {
        input
    };
    let unwrapped = unwrap(trim(input));
    let s = trim(&unwrapped);
    if s.is_empty() {
        return Err(Invalid::Empty);
    }
    if !s.is_ascii() && s.chars().any(is_format) {
        return Err(Invalid::FormatChar);
    }
    let at = s.rfind('@').ok_or(Invalid::NoAt)?;
    let (local, domain) = (&s[..at], &s[at + 1..]);
    if local.contains('@') {
        return Err(Invalid::SeveralAt);
    }
    let local = check_local(local)?;
    let domain = check_domain(domain)?;
    let mut out = String::with_capacity(local.len() + 1 + domain.len());
    out.push_str(&local);
    out.push('@');
    out.push_str(&domain);
    if out.len() > MAX_ADDRESS_LEN {
        return Err(Invalid::TooLong);
    }
    Ok(out)
}

/// The Halfwidth and Fullwidth Forms block (U+FF00..U+FFEF): full-width ASCII (`ｔａｒｏ＠`),
/// half-width katakana and their marks.
pub const FULLWIDTH_FORMS: std::ops::RangeInclusive<char> = '\u{FF00}'..='\u{FFEF}';

/// Whether `s` holds a character of [`FULLWIDTH_FORMS`]: then the policy reads it through
/// NFKC first (step 0), and the build counts the address as written in full-width forms.
pub fn has_fullwidth(s: &str) -> bool {
    // Every character of the block is encoded EF BC xx, EF BD xx, EF BE xx or EF BF xx.
    !s.is_ascii() && s.chars().any(|c| FULLWIDTH_FORMS.contains(&c))
}

/// Whether `c` is trimmed from both ends of an address (step 1 of the policy): Unicode
/// `White_Space` (as [`char::is_whitespace`]) or an invisible format character ([`is_format`]).
pub fn is_trimmed(c: char) -> bool {
    c.is_whitespace() || is_format(c)
}

/// Whether `c` is an invisible format character: Unicode general category `Cf` (U+00AD soft
/// hyphen, U+200B zero-width space, U+200C/U+200D ZWNJ/ZWJ, U+200E/U+200F LRM/RLM, U+2060 word
/// joiner, U+FEFF BOM, bidi embeddings and isolates, tags...). No ASCII character is one.
pub fn is_format(c: char) -> bool {
    !c.is_ascii()
        && icu_properties::CodePointMapData::<icu_properties::props::GeneralCategory>::new().get(c)
            == icu_properties::props::GeneralCategory::Format
}

/// Trims what [`is_trimmed`] accepts from both ends.
fn trim(s: &str) -> &str {
    s.trim_matches(is_trimmed)
}

/// ASCII bytes that are Unicode white space: what [`is_trimmed`] accepts among ASCII (tab, line
/// feed, vertical tab, form feed, carriage return, space). `u8::is_ascii_whitespace` leaves out
/// the vertical tab, which `str::trim` removes.
fn is_ascii_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

/// Bytes allowed in an ASCII local part: RFC 5322 `atext` and `.`.
const LOCAL_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'/'
                    | b'='
                    | b'?'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'{'
                    | b'|'
                    | b'}'
                    | b'~'
                    | b'-'
                    | b'.'
            );
        b += 1;
    }
    t
};

/// The same policy for the common case, in one pass without allocation but the result: a
/// plain ASCII `local@domain` with no brackets, no `mailto:` and no punycode label. Returns
/// `None` when the input needs the general path, which gives identical results (a property
/// test checks this).
fn normalize_plain_ascii(input: &[u8]) -> Option<Result<String, Invalid>> {
    let start = input.iter().position(|&b| !is_ascii_space(b)).unwrap_or(input.len());
    let end = input.iter().rposition(|&b| !is_ascii_space(b)).map_or(start, |p| p + 1);
    let s = &input[start..end];
    if s.is_empty() || !s.is_ascii() {
        return None;
    }
    let at = memchr::memchr(b'@', s)?;
    if memchr::memrchr(b'@', s) != Some(at) {
        return None;
    }
    let (local, mut domain) = (&s[..at], &s[at + 1..]);
    if local.len() >= 7 && local[..7].eq_ignore_ascii_case(b"mailto:") || s[0] == b'<' || s.contains(&b'<') {
        return None;
    }
    if local.is_empty() {
        return Some(Err(Invalid::EmptyLocal));
    }
    if !local.iter().all(|&b| LOCAL_BYTE[usize::from(b)]) {
        return Some(Err(Invalid::LocalChar));
    }
    if local[0] == b'.' || local[local.len() - 1] == b'.' || local.windows(2).any(|w| w == b"..") {
        return Some(Err(Invalid::LocalDots));
    }
    if local.len() > MAX_LOCAL_LEN {
        return Some(Err(Invalid::LocalTooLong));
    }
    if let Some(d) = domain.strip_suffix(b".") {
        domain = d;
    }
    if domain.is_empty() {
        return Some(Err(Invalid::EmptyDomain));
    }
    let mut labels = 0;
    let mut last_start = 0;
    for (i, label) in domain.split(|&b| b == b'.').enumerate() {
        if label.len() >= 4 && label[..4].eq_ignore_ascii_case(b"xn--") {
            return None;
        }
        if !label.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-') {
            return None; // let UTS-46 decide what other characters mean
        }
        if label.is_empty() || label.len() > MAX_LABEL_LEN || label[0] == b'-' || label[label.len() - 1] == b'-' {
            return Some(Err(Invalid::BadDomain));
        }
        labels += 1;
        if i > 0 {
            last_start = label.as_ptr() as usize - domain.as_ptr() as usize;
        }
    }
    if domain.len() > MAX_DOMAIN_LEN {
        return Some(Err(Invalid::BadDomain));
    }
    if labels < 2 {
        return Some(Err(Invalid::SingleLabel));
    }
    let mut tld = [0u8; MAX_LABEL_LEN];
    let tld = &mut tld[..domain.len() - last_start];
    tld.copy_from_slice(&domain[last_start..]);
    tld.make_ascii_lowercase();
    if !tld_is_known(std::str::from_utf8(tld).expect("ASCII")) {
        return Some(Err(Invalid::UnknownTld));
    }
    if local.len() + 1 + domain.len() > MAX_ADDRESS_LEN {
        return Some(Err(Invalid::TooLong));
    }
    let mut out = Vec::with_capacity(local.len() + 1 + domain.len());
    out.extend_from_slice(local);
    out.push(b'@');
    out.extend_from_slice(domain);
    out.make_ascii_lowercase();
    Some(Ok(String::from_utf8(out).expect("ASCII")))
}

/// Strips `mailto:` (percent-decoding what follows) and angle brackets with a display name.
fn unwrap(s: &str) -> Cow<'_, str> {
    // `"Name" <addr>` or `Name <addr>` or `<addr>`: take what is inside the last `<...>`,
    // unless the display name holds another `<...>` or `@` outside quotes: a list of several
    // addresses (`Zoë <z@x>; Nobody <n@x>`) is not the last of them, and is left whole for the
    // checks below to reject.
    let s = match (s.rfind('<'), s.ends_with('>')) {
        (Some(open), true) if !holds_another_address(&s[..open]) => trim(&s[open + 1..s.len() - 1]),
        _ => s,
    };
    if s.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("mailto:")) {
        let rest = &s[7..];
        let rest = rest.split('?').next().unwrap_or(rest);
        return match percent_encoding::percent_decode_str(rest).decode_utf8() {
            Ok(decoded) => Cow::Owned(trim(&decoded).to_owned()),
            // Not UTF-8 once decoded: keep it encoded, the checks below reject the `%`.
            Err(_) => Cow::Borrowed(rest),
        };
    }
    Cow::Borrowed(s)
}

/// Whether a display name (what precedes the last `<`) holds an angle bracket or an `@`
/// outside double quotes: then it is not a name but more addresses.
fn holds_another_address(name: &str) -> bool {
    let mut quoted = false;
    for c in name.chars() {
        match c {
            '"' => quoted = !quoted,
            '<' | '>' | '@' if !quoted => return true,
            _ => {}
        }
    }
    false
}

/// RFC 5322 `atext` for ASCII, plus `.`; beyond ASCII (RFC 6531), letters, numbers and marks
/// of any script. Non-ASCII punctuation and symbols (`：`, `（`, `「`, `«`, `“`, `€`, emoji) are
/// not: in text they stand against an address (`メール：taro@example.jp`), and an address that
/// kept them would be someone else's key.
fn is_local_char(c: char) -> bool {
    if c.is_ascii() {
        return is_atext_byte(c as u8);
    }
    use icu_properties::props::{GeneralCategory, GeneralCategoryGroup};
    let gc = icu_properties::CodePointMapData::<GeneralCategory>::new().get(c);
    GeneralCategoryGroup::Letter.contains(gc)
        || GeneralCategoryGroup::Number.contains(gc)
        || GeneralCategoryGroup::Mark.contains(gc)
}

fn is_atext_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-.".contains(&b)
}

fn check_local(local: &str) -> Result<Cow<'_, str>, Invalid> {
    if local.is_empty() {
        return Err(Invalid::EmptyLocal);
    }
    let ok = if local.is_ascii() { local.bytes().all(is_atext_byte) } else { local.chars().all(is_local_char) };
    if !ok {
        return Err(Invalid::LocalChar);
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(Invalid::LocalDots);
    }
    let lowered = if local.is_ascii() {
        if local.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(local.to_ascii_lowercase())
        } else {
            Cow::Borrowed(local)
        }
    } else {
        // Lowercase first, then compose: lowercasing can decompose (`İ` → `i\u{307}`), and NFC
        // is the last step so that the result is NFC.
        let lower = local.to_lowercase();
        match icu_normalizer::ComposingNormalizerBorrowed::new_nfc().normalize(&lower) {
            Cow::Borrowed(_) => Cow::Owned(lower),
            Cow::Owned(nfc) => Cow::Owned(nfc),
        }
    };
    if lowered.len() > MAX_LOCAL_LEN {
        return Err(Invalid::LocalTooLong);
    }
    Ok(lowered)
}

fn check_domain(domain: &str) -> Result<Cow<'_, str>, Invalid> {
    if domain.is_empty() || domain == "." {
        return Err(Invalid::EmptyDomain);
    }
    if domain.starts_with('[') {
        return Err(Invalid::IpLiteral);
    }
    // Fast path: letters, digits, `-` and `.` only, no punycode label. UTS-46 would only
    // lowercase such a domain, and the label checks below are the STD3 rules it would apply.
    let plain_ascii = domain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !domain.split('.').any(|l| l.len() >= 4 && l[..4].eq_ignore_ascii_case("xn--"));
    let ascii = if plain_ascii {
        if domain.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(domain.to_ascii_lowercase())
        } else {
            Cow::Borrowed(domain)
        }
    } else {
        // UTS-46 with STD3 rules: lowercases, maps full-width and other compatibility forms,
        // converts to punycode and rejects characters that cannot appear in a host name.
        Uts46::new()
            .to_ascii(domain.as_bytes(), AsciiDenyList::STD3, Hyphens::Allow, DnsLength::VerifyAllowRootDot)
            .map_err(|_| Invalid::BadDomain)?
    };
    // Mapped first, then one trailing dot stripped: a trailing `。` has become `.` by now.
    let ascii = match ascii {
        Cow::Borrowed(d) => Cow::Borrowed(d.strip_suffix('.').unwrap_or(d)),
        Cow::Owned(mut d) => {
            if d.ends_with('.') {
                d.pop();
            }
            Cow::Owned(d)
        }
    };
    if ascii.is_empty() {
        return Err(Invalid::EmptyDomain);
    }
    if ascii.len() > MAX_DOMAIN_LEN {
        return Err(Invalid::BadDomain);
    }
    let mut labels = 0;
    for label in ascii.split('.') {
        if label.is_empty() || label.len() > MAX_LABEL_LEN || label.starts_with('-') || label.ends_with('-') {
            return Err(Invalid::BadDomain);
        }
        labels += 1;
    }
    if labels < 2 {
        return Err(Invalid::SingleLabel);
    }
    let tld = ascii.rsplit('.').next().unwrap_or("");
    if !tld_is_known(tld) {
        return Err(Invalid::UnknownTld);
    }
    Ok(ascii)
}

/// The Unicode form of a normalized address whose domain has a punycode label
/// (`anna@xn--mnchen-3ya.example` → `anna@münchen.example`: lowercase, NFC, as UTS-46
/// `ToUnicode` gives it), which is what HIBP- and Monitor-style clients hash; `None` for an
/// ASCII-only domain or a punycode label that does not decode.
pub fn unicode_form(normalized: &str) -> Option<String> {
    // Most addresses have no `-` at all: one `memchr` and done (this runs for every record).
    if !normalized.as_bytes().contains(&b'-') {
        return None;
    }
    let at = normalized.rfind('@')?;
    let (local, domain) = (&normalized[..at], &normalized[at + 1..]);
    if !domain.split('.').any(|l| l.starts_with("xn--")) {
        return None;
    }
    let (unicode, result) = idna::domain_to_unicode(domain);
    (result.is_ok() && unicode != domain && !unicode.is_ascii()).then(|| format!("{local}@{unicode}"))
}

/// Whether `tld` (lowercase ASCII) is a top-level domain of the public suffix list, or one of
/// the reserved testing TLDs.
fn tld_is_known(tld: &str) -> bool {
    if tld.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    if RESERVED_TLDS.contains(&tld) {
        return true;
    }
    psl::suffix(tld.as_bytes()).is_some_and(|s| s.is_known())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        #[test]
        fn fast_path_agrees_with_the_general_path(
            s in "[ \t\n\r\x0b\x0c\x1c\u{85}\u{a0}\u{3000}\u{200b}\u{feff}\u{ad}a-zA-Z0-9.+_'!#=<>\":-]{0,12}@?[a-zA-Z0-9.@<>-]{0,12}(\\.(com|example|test|png|123|x))?[.\u{3002}\u{ff0e}]?[ \t\x0b\x0c\u{85}\u{a0}\u{200b}>]{0,2}"
        ) {
            proptest::prop_assert_eq!(normalize_email(&s), normalize_general(&s), "input {:?}", s);
        }

        #[test]
        fn every_ascii_white_space_is_trimmed_alike_by_both_paths(
            pre in "[ \t\n\r\x0b\x0c]{0,3}", post in "[ \t\n\r\x0b\x0c]{0,3}", local in "[a-z0-9.+_-]{1,8}"
        ) {
            let s = format!("{pre}{local}@example.com{post}");
            proptest::prop_assert_eq!(normalize_email(&s), normalize_general(&s), "input {:?}", s);
        }

        #[test]
        fn normalizing_twice_changes_nothing(s in "\\PC{0,40}") {
            if let Ok(once) = normalize_email(&s) {
                proptest::prop_assert_eq!(normalize_email(&once), Ok(once.clone()));
            }
        }
    }

    fn ok(input: &str, want: &str) {
        assert_eq!(normalize_email(input).as_deref(), Ok(want), "input {input:?}");
    }
    fn bad(input: &str, why: Invalid) {
        assert_eq!(normalize_email(input), Err(why), "input {input:?}");
    }

    #[test]
    fn lowercases_trims_and_keeps_tags_and_dots() {
        ok("  Test@Example.COM\t", "test@example.com");
        ok("Ivan+Shop@example.com", "ivan+shop@example.com");
        ok("i.van@example.com", "i.van@example.com");
        ok("ÉLODIE@example.fr", "élodie@example.fr");
    }

    #[test]
    fn unwraps_display_names_angle_brackets_and_mailto() {
        ok("\"Ruth Example\" <Ruth@Example.com>", "ruth@example.com");
        ok("Ruth <ruth@example.com>", "ruth@example.com");
        ok("<ruth@example.com>", "ruth@example.com");
        ok("mailto:Ivan%2Bshop@example.com?subject=hi", "ivan+shop@example.com");
        ok("MAILTO:john.doe%40example.org", "john.doe@example.org");
        ok("\"ruth@example.com\" <Ruth@Example.com>", "ruth@example.com");
    }

    #[test]
    fn non_ascii_punctuation_and_symbols_are_not_part_of_a_local_part() {
        for input in [
            "メール：taro@example.jp",
            "«x@example.com",
            "“cq1@example.com",
            "x€@example.com",
            "x😀@example.com",
            "（taro@example.jp",
        ] {
            bad(input, Invalid::LocalChar);
        }
        ok("田中@example.jp", "田中@example.jp");
        ok("ЁЛКА@example.com", "ёлка@example.com");
        ok("नमस्ते@example.com", "नमस्ते@example.com");
    }

    #[test]
    fn several_addresses_with_display_names_are_not_read_as_the_last_one() {
        bad("Zoë <zoe@example.com>; Nobody <nobody@example.com>", Invalid::SeveralAt);
        bad("<a@example.com>, <b@example.com>", Invalid::SeveralAt);
        bad("a@example.com <b@example.com>", Invalid::SeveralAt);
    }

    #[test]
    fn maps_international_domains_to_punycode() {
        ok("anna@münchen.example", "anna@xn--mnchen-3ya.example");
        ok("anna@xn--mnchen-3ya.example", "anna@xn--mnchen-3ya.example");
        ok("anna@MÜNCHEN.example", "anna@xn--mnchen-3ya.example");
    }

    #[test]
    fn strips_one_trailing_dot_of_the_domain() {
        ok("a@example.com.", "a@example.com");
        bad("a@example.com..", Invalid::BadDomain);
    }

    #[test]
    fn rejects_what_the_reference_lists() {
        bad("", Invalid::Empty);
        bad("plainaddress", Invalid::NoAt);
        bad("a@b@example.com", Invalid::SeveralAt);
        bad("@example.com", Invalid::EmptyLocal);
        bad("a..b@example.com", Invalid::LocalDots);
        bad(".a@example.com", Invalid::LocalDots);
        bad("a.@example.com", Invalid::LocalDots);
        bad("a b@example.com", Invalid::LocalChar);
        bad("user:secret@example.com", Invalid::LocalChar);
        bad("a@", Invalid::EmptyDomain);
        bad("a@[192.0.2.1]", Invalid::IpLiteral);
        bad("a@192.0.2.1", Invalid::UnknownTld);
        bad("a@-example.com", Invalid::BadDomain);
        bad("a@example-.com", Invalid::BadDomain);
        bad("a@localhost", Invalid::SingleLabel);
        bad("icon@2x.png", Invalid::UnknownTld);
        bad(&format!("{}@example.com", "a".repeat(65)), Invalid::LocalTooLong);
        let long_domain = format!("{}.example.com", vec!["b".repeat(60); 3].join("."));
        bad(&format!("{}@{long_domain}", "a".repeat(64)), Invalid::TooLong);
    }

    #[test]
    fn accepts_limits_exactly() {
        let local = "a".repeat(64);
        ok(&format!("{local}@example.com"), &format!("{local}@example.com"));
    }

    /// SHA-1 keys computed independently with Python:
    /// `hashlib.sha1(unicodedata.normalize("NFC", s.lower()).encode()).hexdigest()`.
    #[test]
    fn decomposed_local_parts_get_the_key_of_the_composed_nfc_form() {
        for (input, nfc, sha1) in [
            ("Jose\u{301}@example.com", "jos\u{e9}@example.com", "9a854c23ee0d6eaecde59b38649bf584266d483e"),
            (
                "Ame\u{301}lie.Co\u{302}te\u{301}@example.fr",
                "am\u{e9}lie.c\u{f4}t\u{e9}@example.fr",
                "b530fc1e12f05da26a84cc1c5ccbca070497bb08",
            ),
            // Vietnamese: two stacked marks on one letter (e + circumflex + tilde = U+1EC5).
            (
                "Nguye\u{302}\u{303}n.Thi\u{323}.A\u{301}nh@example.vn",
                "nguy\u{1ec5}n.th\u{1ecb}.\u{e1}nh@example.vn",
                "dee37489d57e7b2ee0ed2feeed918ae87799f33f",
            ),
            // Hangul conjoining jamo compose into syllables.
            (
                "\u{1112}\u{1161}\u{11ab}\u{1100}\u{1173}\u{11af}@example.kr",
                "\u{d55c}\u{ae00}@example.kr",
                "a0c69f6c9339c87c39ae8ed4614925b15f665369",
            ),
            // Japanese: ka + combining dakuten is ga.
            (
                "\u{304b}\u{3099}\u{3044}\u{3053}@example.jp",
                "\u{304c}\u{3044}\u{3053}@example.jp",
                "547d8f6c1e9a9f408b5470392aa8a12e0b98d7fa",
            ),
        ] {
            ok(input, nfc);
            ok(nfc, nfc);
            assert_eq!(crate::email_key(input).ok(), crate::parse_key(sha1), "input {input:?}");
        }
        // A decomposed domain meets its composed form through UTS-46.
        ok("anna@mu\u{308}nchen.example", "anna@xn--mnchen-3ya.example");
    }

    #[test]
    fn format_characters_are_trimmed_at_the_ends_and_rejected_inside() {
        for input in [
            "\u{feff}bob@example.com",
            "bob@example.com\u{200b}",
            "\u{2060}bob@example.com\u{ad}",
            "\u{200e}bob@example.com\u{200f}",
            "\u{200d} \u{feff}Bob@Example.com \u{200c}",
            "<\u{200b}bob@example.com>",
        ] {
            ok(input, "bob@example.com");
        }
        for input in [
            "bo\u{200b}b@example.com",
            "bob\u{feff}@example.com",
            "bob@exam\u{ad}ple.com",
            "bob@\u{2060}example.com",
            "ann\u{200d}marie@example.org",
            "r\u{200f}uth@example.net",
            "mailto:bo%E2%80%8Bb@example.com",
        ] {
            bad(input, Invalid::FormatChar);
        }
    }

    #[test]
    fn a_leading_vertical_tab_is_trimmed_like_any_white_space() {
        for input in [
            "\x0bbob@example.com",
            "bob@example.com\x0b",
            "\x0c\x0b bob@example.com\r\n",
            "\u{85}bob@example.com",
            "\u{a0}bob@example.com\u{3000}",
            "\u{2028}bob@example.com\u{202f}",
        ] {
            ok(input, "bob@example.com");
        }
        // Not Unicode white space: a control inside the address stays an error, in both paths.
        bad("\x1cbob@example.com", Invalid::LocalChar);
    }

    #[test]
    fn a_trailing_ideographic_full_stop_is_mapped_then_stripped() {
        ok("tina@example.com\u{3002}", "tina@example.com");
        ok("tina@example.com\u{ff0e}", "tina@example.com");
        ok("tina@example.com\u{ff61}", "tina@example.com");
        ok("tina@example\u{3002}com", "tina@example.com");
        ok("tina@M\u{dc}NCHEN.example\u{3002}", "tina@xn--mnchen-3ya.example");
        bad("tina@example.com\u{3002}\u{3002}", Invalid::BadDomain);
        bad("tina@example.com.\u{3002}", Invalid::BadDomain);
        bad("tina@\u{3002}", Invalid::BadDomain);
    }

    /// Expected keys computed independently with Python:
    /// `hashlib.sha1(unicodedata.normalize("NFKC", s).lower().encode()).hexdigest()`.
    #[test]
    fn full_width_forms_are_read_as_the_ascii_address() {
        for (input, want, sha1) in [
            (
                "\u{FF59}\u{FF4F}\u{FF53}\u{FF48}\u{FF49}\u{FF44}\u{FF41}\u{FF20}\u{FF4D}\u{FF4C}\u{FF49}\u{FF54}\u{FF0E}\u{FF47}\u{FF4F}\u{FF0E}\u{FF4A}\u{FF50}",
                "yoshida@mlit.go.jp",
                "1955e92e5112abe0876f207553f1213c0a21ec2f",
            ),
            ("taro\u{FF20}example.jp", "taro@example.jp", "85d97690982de0361414ec16eae2d8ac3b418493"),
            ("\u{FF34}\u{FF41}\u{FF52}\u{FF4F}@Example.JP", "taro@example.jp", "85d97690982de0361414ec16eae2d8ac3b418493"),
            ("hanako\u{FF0B}news\u{FF20}example\u{FF0E}org", "hanako+news@example.org", "1626da3c0e8ee579127307c823217dd68ecfa06b"),
            // Half-width katakana with a voiced mark compose: ｶﾞ is ガ.
            ("\u{FF76}\u{FF9E}@example.jp", "\u{30AC}@example.jp", "59a563cc86df16a3a7adc4295ed0376aac58b981"),
        ] {
            ok(input, want);
            assert_eq!(crate::email_key(input).ok(), crate::parse_key(sha1), "input {input:?}");
        }
        // Full-width punctuation that is not an address character stays a rejection.
        bad("\u{FF08}taro@example.jp", Invalid::LocalChar);
    }

    #[test]
    fn is_idempotent_on_examples() {
        for s in ["Test@Example.COM", "anna@münchen.example", "\"X\" <x+y@example.org.>"] {
            let once = normalize_email(s).unwrap();
            assert_eq!(normalize_email(&once).unwrap(), once);
        }
    }
}
