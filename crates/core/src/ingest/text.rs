//! Pulling address candidates out of unstructured strings, and splitting combolist lines.

/// Characters a local part may have in free text. Stricter than RFC 5322 `atext` on purpose:
/// in prose, `=`, `/`, `'` and friends are far more often punctuation than address.
fn is_text_local_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-') || b >= 0x80
}

fn is_text_domain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-') || b >= 0x80
}

/// Calls `found` with every address candidate of a free-text string, in order. Candidates
/// still have to pass [`crate::normalize_email`].
///
/// Rejected up front: URL userinfo (`https://user:secret@host/`). Handled: `mailto:` with
/// percent-encoding, `<addr>`, sentence punctuation around the address.
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
        let mut start = at;
        while start > 0 && is_text_local_byte(bytes[start - 1]) {
            start -= 1;
        }
        let mut end = at + 1;
        while end < bytes.len() && is_text_domain_byte(bytes[end]) {
            end += 1;
        }
        // Only ASCII bytes stop the scans, so `start` and `end` are on character boundaries.
        let mut cand = &s[start..end];
        // Sentence punctuation: trailing dots or hyphens, leading dots, dashes or pluses.
        cand = cand.trim_end_matches(|c: char| !c.is_alphanumeric());
        cand = cand.trim_start_matches(['.', '-', '+']);
        if is_url_userinfo(bytes, start) {
            continue;
        }
        if cand.contains('@') {
            found(cand);
        }
    }
}

/// Whether the address scanned back to `start` is the userinfo of a URL: the token it stands
/// in (back to white space) has `://` before it.
fn is_url_userinfo(bytes: &[u8], start: usize) -> bool {
    if start == 0 || !matches!(bytes[start - 1], b':' | b'/') {
        return false;
    }
    let token_start = bytes[..start].iter().rposition(|b| b.is_ascii_whitespace()).map_or(0, |p| p + 1);
    bytes[token_start..start].windows(3).any(|w| w == b"://")
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
    }

    #[test]
    fn rejects_url_userinfo_and_file_names() {
        assert!(all("see https://user:secret@host.example.com/path").is_empty());
        assert!(all("https://admin@host.example.com/").is_empty());
        assert!(all("icon@2x.png and logo@3x.png").is_empty());
        assert!(all("a..b@example.com").is_empty());
    }

    #[test]
    fn decodes_mailto_links() {
        assert_eq!(all("<a href=\"mailto:ivan%2Bshop@example.com?subject=x\">"), ["ivan+shop@example.com"]);
        assert_eq!(all("mailto:john.doe%40example.org"), ["john.doe@example.org"]);
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
