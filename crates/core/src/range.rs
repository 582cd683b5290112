//! The k-anonymity range protocol, in one place: what `leakdex serve` answers, what
//! `export-ranges` writes ([`crate::export`]) and what the range client reads.
//!
//! - Prefix lengths: [`PASSWORD_PREFIX_LEN`] (5 hex digits, as Pwned Passwords, for SHA-1 and
//!   NTLM password indexes) and [`EMAIL_PREFIX_LEN`] (6, as Mozilla Monitor's email search);
//!   [`parse_prefix`] accepts exactly that many hex digits, any case, and a malformed prefix is
//!   answered 400 [`BAD_PREFIX`].
//! - Password bodies ([`password_body`]): `SUFFIX:COUNT` lines (uppercase hex, 35 digits for
//!   SHA-1, 27 for NTLM), CRLF between lines, no terminator after the last.
//! - Email bodies ([`email_body`]): a JSON array of
//!   `{"hashSuffix":"<34 hex>","websites":["Source",...],"count":N}`.
//! - Padding ([`Padding`]): on request (`Add-Padding: true`), random count-0 suffixes up to
//!   800–1,000 lines ([`ON_REQUEST_LINES`]); constant, every body of an index the same number of
//!   entries ([`constant_lines`]) and the same byte length ([`constant_body_len`]), reached by
//!   [`fill_password_body`] (leading zeros in padding counts) and [`fill_email_body`] (JSON white
//!   space before the closing `]`). Padding suffixes are never real ones ([`padding_suffixes`]).
//! - Decoding ([`password_lines`], [`for_each_email_entry`]): what a client accepts, and which
//!   entries are padding ([`EmailEntryIn::is_padding`], a password count of 0).
//!
//! ```
//! use leakdex_core::range::{parse_prefix, password_body, password_lines, PASSWORD_PREFIX_LEN};
//!
//! assert_eq!(parse_prefix("5baa6", PASSWORD_PREFIX_LEN).as_deref(), Some("5BAA6"));
//! let body = password_body(&[("1E4C9B93F3F0682250B6CF8331B7EE68FD8".into(), 3)]);
//! assert_eq!(body, "1E4C9B93F3F0682250B6CF8331B7EE68FD8:3");
//! let lines: Vec<_> = password_lines(&body, 35).collect();
//! assert_eq!(lines, [Ok(("1E4C9B93F3F0682250B6CF8331B7EE68FD8", 3))]);
//! ```

use std::fmt::Write as _;

use crate::{hex, Entry, Index, Kind, Result};

/// What a range API answers, with status 400, to a malformed prefix (as HIBP does).
pub const BAD_PREFIX: &str = "The hash prefix was not in a valid format";
/// Prefix length of password ranges (SHA-1 and NTLM), in hex digits.
pub const PASSWORD_PREFIX_LEN: usize = 5;
/// Prefix length of email ranges, in hex digits.
pub const EMAIL_PREFIX_LEN: usize = 6;
/// Constant padding rounds the number of entries per response up to a multiple of this.
pub const CONSTANT_LINES_STEP: usize = 64;
/// Lines of a password range (or entries of an email range) padded on request, as HIBP
/// documents: a random number in this range, or the real entries when there are more.
pub const ON_REQUEST_LINES: std::ops::RangeInclusive<usize> = 800..=1000;

/// The hex digits of the prefix of `kind`'s ranges.
pub fn prefix_len(kind: Kind) -> usize {
    match kind {
        Kind::Password | Kind::Ntlm => PASSWORD_PREFIX_LEN,
        Kind::Email => EMAIL_PREFIX_LEN,
    }
}

/// The hex digits of a suffix in `kind`'s ranges with prefixes of `prefix_len` digits: 35 for
/// SHA-1 passwords, 27 for NTLM, 34 for emails with the standard prefixes.
pub fn suffix_len(kind: Kind, prefix_len: usize) -> usize {
    kind.hex_len().saturating_sub(prefix_len)
}

/// A hex prefix of exactly `len` digits (any case), uppercased; `None` for anything else.
pub fn parse_prefix(p: &str, len: usize) -> Option<String> {
    (p.len() == len && p.bytes().all(|b| b.is_ascii_hexdigit())).then(|| p.to_ascii_uppercase())
}

/// How range responses are padded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// Only when the client sends `Add-Padding: true`: up to a random 800–1,000 lines, as HIBP.
    OnRequest,
    /// Every range response of the index to one byte length and header set: the largest
    /// bucket plus one, rounded up to 64 lines, filled to a length computed at load; never
    /// compressed, no `ETag`, no 304.
    Constant,
}

impl Padding {
    /// The default for `kind`: constant for email indexes (their bodies name sources, so
    /// their length tells a lot), on request for password indexes (as HIBP).
    pub fn default_for(kind: Kind) -> Padding {
        match kind {
            Kind::Email => Padding::Constant,
            Kind::Password | Kind::Ntlm => Padding::OnRequest,
        }
    }
}

impl std::fmt::Display for Padding {
    /// The words of `--padding`: `on-request` or `constant`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Padding::OnRequest => "on-request",
            Padding::Constant => "constant",
        })
    }
}

/// Every entry of the index in key order: the ranges of the 16 one-digit prefixes, one after
/// the other (what an export and the constant-padding scan walk).
pub fn all_entries<D: AsRef<[u8]>>(index: &Index<D>) -> impl Iterator<Item = Result<Entry<'_>>> + '_ {
    "0123456789ABCDEF".chars().flat_map(move |first| {
        let range: Box<dyn Iterator<Item = Result<Entry<'_>>> + '_> = match index.range(&first.to_string()) {
            Ok(r) => Box::new(r),
            Err(e) => Box::new(std::iter::once(Err(e))),
        };
        range
    })
}

/// One line of a password range: the suffix after `prefix_len` digits, uppercase, and the count.
pub fn password_line(entry: &Entry<'_>, kind: Kind, prefix_len: usize) -> (String, u64) {
    (hex(&entry.key)[prefix_len..kind.hex_len()].to_string(), entry.count)
}

/// The lines of the password range of `prefix` (already checked with [`parse_prefix`]).
pub fn password_range<D: AsRef<[u8]>>(index: &Index<D>, prefix: &str) -> Result<Vec<(String, u64)>> {
    let kind = index.kind();
    let mut lines = Vec::new();
    for e in index.range(prefix)? {
        lines.push(password_line(&e?, kind, prefix.len()));
    }
    Ok(lines)
}

/// One entry of an email range response.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EmailEntry<'a> {
    /// The hex digits after the prefix, uppercase.
    #[serde(rename = "hashSuffix")]
    pub hash_suffix: String,
    /// Source names; empty for padding.
    pub websites: Vec<&'a str>,
    /// Occurrences; 0 for padding.
    pub count: u64,
}

/// The email range entry of `entry`: its suffix after `prefix_len` digits and its sources'
/// names (from `sources`, the index's).
pub fn email_entry<'s>(entry: &Entry<'_>, sources: &'s [crate::Source], prefix_len: usize) -> EmailEntry<'s> {
    EmailEntry {
        hash_suffix: hex(&entry.key)[prefix_len..].to_string(),
        websites: entry.sources.iter().filter_map(|s| sources.get(s as usize)).map(|s| s.name.as_str()).collect(),
        count: entry.count,
    }
}

/// The entries of the email range of `prefix` (already checked with [`parse_prefix`]).
pub fn email_range<'i, D: AsRef<[u8]>>(index: &'i Index<D>, prefix: &str) -> Result<Vec<EmailEntry<'i>>> {
    let sources = index.sources();
    let mut entries = Vec::new();
    for e in index.range(prefix)? {
        entries.push(email_entry(&e?, sources, prefix.len()));
    }
    Ok(entries)
}

/// The body of a password range: `SUFFIX:COUNT` lines joined by CRLF, no final terminator.
pub fn password_body(entries: &[(String, u64)]) -> String {
    let mut body = String::with_capacity(entries.len() * 42);
    for (i, (s, c)) in entries.iter().enumerate() {
        if i > 0 {
            body.push_str("\r\n");
        }
        let _ = write!(body, "{s}:{c}");
    }
    body
}

/// Appends a `SUFFIX:0` padding line for each of `padding` to a password body.
pub fn pad_password_body(body: &mut String, padding: &[String]) {
    for s in padding {
        if !body.is_empty() {
            body.push_str("\r\n");
        }
        let _ = write!(body, "{s}:0");
    }
}

/// The body of an email range: a JSON array.
pub fn email_body(entries: &[EmailEntry<'_>]) -> String {
    serde_json::to_string(entries).expect("entries serialize")
}

/// A constant-padded body came out longer than the constant length (which
/// [`constant_body_len`] rules out): its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overlong(pub usize);

/// The password body of `real` lines and `padding` suffixes, `target` bytes long: the padding
/// lines' counts get leading zeros, spread evenly (`SUFFIX:000` is still count 0 to every
/// client).
pub fn fill_password_body(
    real: &[(String, u64)],
    padding: &[String],
    target: usize,
) -> std::result::Result<String, Overlong> {
    let mut body = password_body(real);
    pad_password_body(&mut body, padding);
    let missing = target.checked_sub(body.len()).ok_or(Overlong(body.len()))?;
    if missing == 0 {
        return Ok(body);
    }
    let base_len = body.len();
    let n = padding.len().max(1);
    let mut filled = password_body(real);
    for (i, s) in padding.iter().enumerate() {
        if !filled.is_empty() {
            filled.push_str("\r\n");
        }
        let zeros = missing / n + usize::from(i < missing % n);
        let _ = write!(filled, "{s}:{}", "0".repeat(zeros + 1));
    }
    debug_assert_eq!(filled.len(), base_len + missing);
    Ok(filled)
}

/// Fills an email body to `target` bytes with JSON white space before its closing `]`: the
/// same array to every JSON parser.
pub fn fill_email_body(body: &mut String, target: usize) -> std::result::Result<(), Overlong> {
    let missing = target.checked_sub(body.len()).ok_or(Overlong(body.len()))?;
    if missing > 0 {
        body.insert_str(body.len() - 1, &" ".repeat(missing));
    }
    Ok(())
}

/// Entries (real and padding) in every range response of a constant-padded index whose
/// largest bucket holds `largest_bucket`: one more, so that every response has at least one
/// padding entry to absorb the filling, rounded up to [`CONSTANT_LINES_STEP`].
pub fn constant_lines(largest_bucket: u64) -> usize {
    (largest_bucket as usize + 1).div_ceil(CONSTANT_LINES_STEP) * CONSTANT_LINES_STEP
}

/// Entries of a response of `real` entries under `padding`: constant indexes always
/// `constant` (or more, which [`constant_lines`] rules out), on request a random
/// [`ON_REQUEST_LINES`] when `asked`.
pub fn padded_len(padding: Padding, constant: usize, real: usize, asked: bool, rng: &mut impl rand::Rng) -> usize {
    match padding {
        Padding::Constant => real.max(constant),
        Padding::OnRequest if asked => real.max(rng.gen_range(ON_REQUEST_LINES)),
        Padding::OnRequest => real,
    }
}

/// `n` random uppercase hex suffixes of `digits` digits, none equal to one of `real` (sorted,
/// as a range's suffixes are).
pub fn padding_suffixes(n: usize, digits: usize, real: &[String], rng: &mut impl rand::Rng) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let bytes: [u8; 20] = rng.gen();
        let s = hex(&bytes)[..digits].to_string();
        if real.binary_search(&s).is_err() {
            out.push(s);
        }
    }
    out
}

/// Decimal digits of `n`.
pub fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// A padding entry of an email range: `{"hashSuffix":"<34 hex>","websites":[],"count":0}`.
fn email_padding_entry_len() -> usize {
    let e = EmailEntry { hash_suffix: "0".repeat(40 - EMAIL_PREFIX_LEN), websites: Vec::new(), count: 0 };
    email_body(&[e]).len() - 2
}

/// The byte length every range body of a constant-padded index gets: the longest body any
/// bucket would have with `lines` entries (its real ones, then padding entries or lines), so
/// that every response is filled up to exactly this length.
///
/// A body is its real entries plus `lines - real` padding entries, so it is longer than a body
/// of `lines` padding entries by the sum, over its real entries, of what each is longer than a
/// padding entry (source names, count digits). One pass over the index finds the largest such
/// excess of any bucket. Email bodies are then filled with JSON white space before the closing
/// `]` (invisible to JSON parsers); password bodies with leading zeros in the counts of their
/// padding lines (`:000`, still the integer 0 every HIBP client ignores; there is always at
/// least one padding line, since `lines` exceeds the largest bucket).
pub fn constant_body_len<D: AsRef<[u8]>>(index: &Index<D>, lines: usize) -> Result<usize> {
    let kind = index.kind();
    let shift = 32 - 4 * prefix_len(kind) as u32;
    let source_len: Vec<usize> =
        index.sources().iter().map(|s| serde_json::to_string(&s.name).map_or(0, |j| j.len())).collect();
    let (mut largest_excess, mut excess, mut current) = (0usize, 0usize, None);
    for e in all_entries(index) {
        let e = e?;
        let bucket = u32::from_be_bytes(e.key[..4].try_into().expect("4 bytes")) >> shift;
        if current != Some(bucket) {
            current = Some(bucket);
            excess = 0;
        }
        // A real count is at least one digit, like the padding's `0`; real websites are at
        // least `[]`.
        excess += digits(e.count) - 1;
        if kind == Kind::Email {
            let n = e.sources.len();
            let names: usize = e.sources.iter().map(|id| source_len.get(id as usize).copied().unwrap_or(0)).sum();
            excess += names + n.saturating_sub(1);
        }
        largest_excess = largest_excess.max(excess);
    }
    let base = match kind {
        // `[` entries joined by `,` `]`.
        Kind::Email => 2 + lines * email_padding_entry_len() + lines.saturating_sub(1),
        // `SUFFIX:0` lines joined by CRLF.
        Kind::Password | Kind::Ntlm => {
            lines * (suffix_len(kind, PASSWORD_PREFIX_LEN) + 2) + 2 * lines.saturating_sub(1)
        }
    };
    Ok(base + largest_excess)
}

/// A line of a password range body that is not `SUFFIX:COUNT` with a suffix of the expected
/// number of hex digits and a decimal count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadLine;

/// The lines of a password range body, as a client reads them: split at LF (a CR before it is
/// dropped), empty lines skipped, each `SUFFIX:COUNT` with `suffix_len` hex digits (any case)
/// and a decimal count (white space around it allowed). A count of 0 is padding.
pub fn password_lines(
    body: &str,
    suffix_len: usize,
) -> impl Iterator<Item = std::result::Result<(&str, u64), BadLine>> + '_ {
    body.split('\n').map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty()).map(move |line| {
        line.split_once(':')
            .and_then(|(s, c)| {
                (s.len() == suffix_len && s.bytes().all(|b| b.is_ascii_hexdigit()))
                    .then_some(())
                    .and(c.trim().parse::<u64>().ok().map(|c| (s, c)))
            })
            .ok_or(BadLine)
    })
}

/// One entry of an email range as a client reads it, borrowed from the body where it can be.
/// `websites` and `count` may be missing (Monitor-style servers send no count).
#[derive(Debug, serde::Deserialize)]
pub struct EmailEntryIn<'a> {
    /// The hex digits after the prefix, as sent.
    #[serde(rename = "hashSuffix", borrow)]
    pub hash_suffix: std::borrow::Cow<'a, str>,
    /// Source names.
    #[serde(default)]
    pub websites: Vec<String>,
    /// Occurrences, when the server sends them.
    #[serde(default)]
    pub count: Option<u64>,
}

impl EmailEntryIn<'_> {
    /// A padding entry: no websites, or a count of 0.
    pub fn is_padding(&self) -> bool {
        self.websites.is_empty() || self.count == Some(0)
    }
}

/// Why an email range body was not read to its end.
#[derive(Debug)]
pub enum EmailBodyError<E> {
    /// An entry's `hashSuffix` is not `suffix_len` hex digits: its length in characters.
    BadSuffix(usize),
    /// The body is not a JSON list of `hashSuffix` entries.
    NotJson(serde_json::Error),
    /// The caller's closure refused an entry.
    Stopped(E),
}

/// Reads an email range body (a JSON list of [`EmailEntryIn`]) one entry at a time, checking
/// that each suffix is `suffix_len` hex digits and handing it to `each`, then dropping it: a
/// range of 8 MiB of padding entries costs one entry's memory, not a `Vec` of them all.
pub fn for_each_email_entry<'de, E>(
    body: &'de str,
    suffix_len: usize,
    each: impl FnMut(EmailEntryIn<'de>) -> std::result::Result<(), E>,
) -> std::result::Result<(), EmailBodyError<E>> {
    let mut stopped = None;
    let mut de = serde_json::Deserializer::from_str(body);
    let read = serde::de::DeserializeSeed::deserialize(EachEntry { each, suffix_len, stopped: &mut stopped }, &mut de)
        .and_then(|()| de.end());
    if let Some(e) = stopped {
        return Err(e);
    }
    read.map_err(EmailBodyError::NotJson)
}

/// Reads a JSON list one entry at a time. By hand because serde_json has no "for each element"
/// reader for a borrowed body; this is serde's documented `visit_seq` pattern. The closure's
/// error (or a bad suffix) is kept in `stopped` and ends the list.
struct EachEntry<'s, F, E> {
    each: F,
    suffix_len: usize,
    stopped: &'s mut Option<EmailBodyError<E>>,
}

impl<'de, F, E> serde::de::DeserializeSeed<'de> for EachEntry<'_, F, E>
where
    F: FnMut(EmailEntryIn<'de>) -> std::result::Result<(), E>,
{
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F, E> serde::de::Visitor<'de> for EachEntry<'_, F, E>
where
    F: FnMut(EmailEntryIn<'de>) -> std::result::Result<(), E>,
{
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON list of hashSuffix entries")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(mut self, mut seq: A) -> std::result::Result<(), A::Error> {
        while let Some(entry) = seq.next_element::<EmailEntryIn<'de>>()? {
            let s = &entry.hash_suffix;
            let stop = if s.len() != self.suffix_len || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
                Some(EmailBodyError::BadSuffix(s.len()))
            } else {
                (self.each)(entry).err().map(EmailBodyError::Stopped)
            };
            if let Some(stop) = stop {
                *self.stopped = Some(stop);
                return Err(serde::de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

/// The HIBP breach model, filled from a source's metadata: what `GET /api/v3/breaches` lists
/// and an export writes to `api/v3/breaches`.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Breach<'a> {
    /// The source's name.
    pub name: &'a str,
    /// Its title, or its name.
    pub title: &'a str,
    /// Its domain, or empty.
    pub domain: &'a str,
    /// Its breach date, or empty.
    pub breach_date: &'a str,
    /// The index's build date.
    pub added_date: &'a str,
    /// The index's build date.
    pub modified_date: &'a str,
    /// Distinct keys of the source.
    pub pwn_count: u64,
    /// Its description, or empty.
    pub description: &'a str,
    /// Always empty.
    pub logo_path: &'a str,
    /// Its data classes.
    pub data_classes: &'a [String],
    /// Always true.
    pub is_verified: bool,
    /// Always false.
    pub is_fabricated: bool,
    /// Always false.
    pub is_sensitive: bool,
    /// Always false.
    pub is_retired: bool,
    /// Always false.
    pub is_spam_list: bool,
    /// Always false.
    pub is_malware: bool,
    /// Whether its data classes name stealer logs.
    pub is_stealer_log: bool,
    /// Always false.
    pub is_subscription_free: bool,
}

impl<'a> Breach<'a> {
    /// The breach model of source `s` of an index built at `built_at`.
    pub fn of(s: &'a crate::Source, built_at: &'a str) -> Breach<'a> {
        Breach {
            name: &s.name,
            title: s.title.as_deref().unwrap_or(&s.name),
            domain: s.domain.as_deref().unwrap_or(""),
            breach_date: s.breach_date.as_deref().unwrap_or(""),
            // When the source was first indexed (kept across a chain of `build --previous`), as
            // HIBP's AddedDate is when a breach was added to the service.
            added_date: s.first_seen.as_deref().unwrap_or(built_at),
            modified_date: built_at,
            pwn_count: s.unique,
            description: s.description.as_deref().unwrap_or(""),
            logo_path: "",
            data_classes: &s.data_classes,
            is_verified: true,
            is_fabricated: false,
            is_sensitive: false,
            is_retired: false,
            is_spam_list: false,
            is_malware: false,
            is_stealer_log: s.data_classes.iter().any(|c| c.eq_ignore_ascii_case("stealer logs")),
            is_subscription_free: false,
        }
    }
}

/// The whole breach catalogue of an index, as `GET /api/v3/breaches` answers it.
pub fn catalogue<D: AsRef<[u8]>>(index: &Index<D>) -> String {
    let built_at = index.meta().built_at.as_str();
    let list: Vec<Breach<'_>> = index.sources().iter().map(|s| Breach::of(s, built_at)).collect();
    serde_json::to_string(&list).expect("breaches serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_exactly_the_kind_length_in_hex_and_uppercased() {
        assert_eq!(prefix_len(Kind::Password), 5);
        assert_eq!(prefix_len(Kind::Ntlm), 5);
        assert_eq!(prefix_len(Kind::Email), 6);
        assert_eq!(suffix_len(Kind::Password, 5), 35);
        assert_eq!(suffix_len(Kind::Ntlm, 5), 27);
        assert_eq!(suffix_len(Kind::Email, 6), 34);
        assert_eq!(parse_prefix("faf8e9", 6).as_deref(), Some("FAF8E9"));
        for bad in ["5BAA", "5BAA61", "5BAG6", "", "5BAA6 ", "５BAA6"] {
            assert_eq!(parse_prefix(bad, 5), None, "{bad:?}");
        }
    }

    #[test]
    fn password_bodies_join_lines_with_crlf_and_no_final_terminator() {
        let lines = vec![
            ("0018A45C4D1DEF81644B54AB7F969B88D65".to_string(), 1),
            ("1E4C9B93F3F0682250B6CF8331B7EE68FD8".to_string(), 9545824),
        ];
        let body = password_body(&lines);
        assert_eq!(body, "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n1E4C9B93F3F0682250B6CF8331B7EE68FD8:9545824");
        assert_eq!(password_body(&[]), "");
        let read: Vec<_> = password_lines(&body, 35).collect::<std::result::Result<_, _>>().unwrap();
        assert_eq!(
            read,
            [("0018A45C4D1DEF81644B54AB7F969B88D65", 1), ("1E4C9B93F3F0682250B6CF8331B7EE68FD8", 9545824)]
        );
    }

    #[test]
    fn password_lines_reject_wrong_suffix_lengths_and_counts_but_take_lf_and_lowercase() {
        let ok: Vec<_> = password_lines("abcdef0123456789abcdef0123456789abc: 0\n\n", 35).collect();
        assert_eq!(ok, [Ok(("abcdef0123456789abcdef0123456789abc", 0))]);
        for bad in [
            "<html>",
            "ABCDEF0123456789ABCDEF0123456789AB:1",
            "ABCDEF0123456789ABCDEF0123456789ABC:x",
            "ABCDEF0123456789ABCDEF0123456789ABG:1",
        ] {
            assert_eq!(password_lines(bad, 35).next(), Some(Err(BadLine)), "{bad}");
        }
    }

    #[test]
    fn constant_password_fill_puts_leading_zeros_in_padding_counts_only() {
        let real = vec![("0000000000000000000000000000000000A".to_string(), 12)];
        let pad =
            vec!["0000000000000000000000000000000000B".to_string(), "0000000000000000000000000000000000C".to_string()];
        let plain_len = password_body(&real).len() + 2 * (2 + 35 + 2);
        let body = fill_password_body(&real, &pad, plain_len + 3).unwrap();
        assert_eq!(body.len(), plain_len + 3);
        assert_eq!(
            body,
            "0000000000000000000000000000000000A:12\r\n0000000000000000000000000000000000B:000\r\n0000000000000000000000000000000000C:00"
        );
        assert_eq!(fill_password_body(&real, &pad, 10), Err(Overlong(plain_len)));
    }

    #[test]
    fn constant_email_fill_is_white_space_before_the_closing_bracket() {
        let e = EmailEntry { hash_suffix: "A".repeat(34), websites: vec!["shop-2021"], count: 2 };
        let mut body = email_body(&[e]);
        let before = body.clone();
        fill_email_body(&mut body, before.len() + 5).unwrap();
        assert_eq!(body, format!("{}     ]", &before[..before.len() - 1]));
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed, serde_json::from_str::<serde_json::Value>(&before).unwrap());
        assert_eq!(constant_lines(0), 64);
        assert_eq!(constant_lines(63), 64);
        assert_eq!(constant_lines(64), 128);
    }

    #[test]
    fn email_bodies_read_entry_by_entry_and_tell_padding_bad_suffixes_and_non_json() {
        let body = r#"[{"hashSuffix":"2DD8950FBF66E9510676C802774F2295F9","websites":["chat-2023"],"count":1},{"hashSuffix":"0000000000000000000000000000000000","websites":[],"count":0},{"hashSuffix":"2dd8950fbf66e9510676c802774f2295fa","websites":["a"]}]"#;
        let mut seen = Vec::new();
        for_each_email_entry::<()>(body, 34, |e| {
            seen.push((e.hash_suffix.to_string(), e.is_padding(), e.count));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            seen,
            [
                ("2DD8950FBF66E9510676C802774F2295F9".to_string(), false, Some(1)),
                ("0000000000000000000000000000000000".to_string(), true, Some(0)),
                ("2dd8950fbf66e9510676c802774f2295fa".to_string(), false, None),
            ]
        );
        let short = r#"[{"hashSuffix":"ABC","websites":["a"],"count":1}]"#;
        assert!(matches!(for_each_email_entry::<()>(short, 34, |_| Ok(())), Err(EmailBodyError::BadSuffix(3))));
        assert!(matches!(for_each_email_entry::<()>("<html></html>", 34, |_| Ok(())), Err(EmailBodyError::NotJson(_))));
        assert!(matches!(for_each_email_entry(body, 34, |_| Err("no")), Err(EmailBodyError::Stopped("no"))));
    }

    #[test]
    fn padding_suffixes_are_never_real_ones() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        // One hex digit: 16 possible suffixes, 15 of them taken.
        let real: Vec<String> = "0123456789ABCDE".chars().map(|c| c.to_string()).collect();
        let pad = padding_suffixes(20, 1, &real, &mut rng);
        assert!(pad.iter().all(|s| s == "F"), "{pad:?}");
    }
}
