//! Combolists: telling `login:password` lines from plain lists, and splitting them.
//!
//! `email:password` lines are easy: the address has an `@`. `username:password` lines
//! (`gamer01:hunter2`, `DOMAIN\user;pw`, `+1 555 0100|pw`) look like plain passwords that
//! happen to hold a `:`, so the rule is statistical: a file is a login combolist when at least
//! [`LOGIN_COMBO_SHARE`] percent of its sampled lines have a separator (`:` `;` `|` tab) whose
//! left field is login-shaped ([`is_login`]). A plain password list where a few passwords hold
//! a `:` stays plain; the build summary says which share was found so that a user can override
//! the guess with `--format`.

use super::{text, Format};
use crate::format::Kind;

/// Separators between a login (not an address) and its password. Not the space: pass phrases
/// hold spaces.
pub const LOGIN_SEPARATORS: &[u8] = b":;|\t";
/// Percentage of sampled lines that must be `login<sep>password` for a password-kind file to be
/// read as a combolist.
pub const LOGIN_COMBO_SHARE: usize = 80;
/// Longest login accepted by the shape test, in characters.
const MAX_LOGIN: usize = 64;

/// Whether `s` looks like the login field of a combolist: a user name (letters of any script,
/// digits, `. _ - + @`), a Windows `DOMAIN\user`, or a phone number (`+`, digits, spaces,
/// `( ) - .`, at least six digits).
pub fn is_login(s: &str) -> bool {
    let n = s.chars().count();
    if n == 0 || n > MAX_LOGIN || s.trim() != s {
        return false;
    }
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let phone = s.strip_prefix('+').unwrap_or(s);
    if digits >= 6
        && phone.starts_with(|c: char| c.is_ascii_digit() || c == '(')
        && phone.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '(' | ')' | '-' | '.'))
    {
        return true;
    }
    let word =
        |w: &str| !w.is_empty() && w.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@'));
    match s.split_once('\\') {
        Some((domain, user)) => word(domain) && word(user),
        None => word(s),
    }
}

/// Splits a `URL:login:password` line (stealer-log "ULP" lists) whose login is not an address:
/// the URL runs from its `scheme://` to the first `:` that is not a port (`:8443/`), the login
/// to the next `:`, the password is the rest.
pub fn split_url_login(line: &str) -> Option<(&str, &str)> {
    let line = line.trim_start_matches([' ', '\t', '\u{feff}']);
    let b = line.as_bytes();
    let scheme_end = b[..b.len().min(34)].windows(3).position(|w| w == b"://")?;
    if !b[..scheme_end].iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')) || scheme_end == 0
    {
        return None;
    }
    let mut from = scheme_end + 3;
    loop {
        let p = from + line[from..].find(':')?;
        let digits = b[p + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 && matches!(b.get(p + 1 + digits), Some(b'/') | None) {
            from = p + 1; // a port
            continue;
        }
        let rest = &line[p + 1..];
        let q = rest.find(':')?;
        let (login, pw) = (&rest[..q], &rest[q + 1..]);
        return (!login.is_empty() && !pw.is_empty()).then_some((login, pw));
    }
}

/// The first login separator of a line and the login before it, if that login is login-shaped
/// and a password follows.
fn login_split(line: &str) -> Option<(u8, &str, &str)> {
    if let Some((login, pw)) = split_url_login(line) {
        return Some((b':', login, pw));
    }
    let p = line.bytes().position(|b| LOGIN_SEPARATORS.contains(&b))?;
    let (login, pw) = (&line[..p], &line[p + 1..]);
    (is_login(login) && !pw.is_empty()).then(|| (line.as_bytes()[p], login, pw))
}

/// `URL|host SEP address SEP password` lines, with or without a scheme and with any separator
/// (`site.example.com:c3@example.com:pw`, `https://s.example.com/login c2@example.com pw`,
/// `http://x.example.com|c4@example.com|pw`): the password is what follows the first field,
/// not the line's first, that is a whole address.
fn after_address_field(line: &str) -> Option<&str> {
    let is_sep = |c: char| matches!(c, ':' | ';' | '|' | ' ' | '\t');
    let mut start = 0;
    while start < line.len() {
        let end = line[start..].find(is_sep).map_or(line.len(), |p| start + p);
        let field = &line[start..end];
        if start > 0 && field.contains('@') && crate::normalize_email(field).is_ok() {
            return line.get(end + 1..).filter(|pw| !pw.is_empty());
        }
        start = end + 1;
    }
    None
}

/// The password of a combolist line for a password index. `delimiter` is the separator found
/// by detection (0 or another byte when none was: the first of [`LOGIN_SEPARATORS`], else a
/// space). `email:password` and `URL:login:password` lines are split after the address, as
/// [`text::split_combo`] does; other lines at the first separator.
pub fn password_of(line: &str, delimiter: u8) -> Result<&str, &'static str> {
    if let Some(c) = text::split_combo(line) {
        // An address field holding a separator is not an address (`gamer01:p@ss:x`).
        if !c.address.bytes().any(|b| text::COMBO_SEPARATORS.contains(&b)) {
            return c.password.ok_or("no password after the address");
        }
    }
    let line = line.trim_start_matches([' ', '\t', '\u{feff}']);
    if let Some(pw) = after_address_field(line) {
        return Ok(pw);
    }
    // A login-shaped field before the line's first separator wins over the file's separator:
    // combolists mix separators (`+81-90-1234-5678|p@ss:w0rd` in a file of `:` lines), and a
    // login never holds one.
    if let Some((_, _, pw)) = login_split(line) {
        return Ok(pw);
    }
    let p = if LOGIN_SEPARATORS.contains(&delimiter) { line.bytes().position(|b| b == delimiter) } else { None };
    let p = p
        .or_else(|| line.bytes().position(|b| LOGIN_SEPARATORS.contains(&b)))
        .or_else(|| line.bytes().position(|b| b == b' '))
        .ok_or("no separator")?;
    Ok(&line[p + 1..])
}

/// What the sniffer decided for a line-based file that is neither CSV, hashes, a stealer log,
/// JSON nor SQL.
pub struct Sniffed {
    /// `Combo`, `Plain` or `Text`.
    pub format: Format,
    /// For login combolists, the separator that most lines use (else 0).
    pub delimiter: u8,
    /// Why, for the build summary.
    pub detection: String,
}

/// Tells combolists from plain lists (and, for email indexes, free text) from `lines`, the
/// sampled non-blank lines.
pub fn sniff(lines: &[&[u8]], kind: Kind) -> Sniffed {
    let n = lines.len().max(1);
    let pct = |k: usize| k * 100 / n;
    let mut email_combo = 0;
    let mut plain = 0;
    let mut login_combo = [0usize; 4];
    for l in lines {
        let s = String::from_utf8_lossy(l);
        let t = s.trim_end_matches('\r');
        let is_email_combo = text::split_combo(t).is_some_and(|c| {
            c.password.is_some()
                && !c.address.bytes().any(|b| text::COMBO_SEPARATORS.contains(&b))
                && crate::normalize_email(c.address).is_ok()
        });
        if kind == Kind::Email
            && crate::normalize_email(t.trim()).is_ok()
            && !t.trim().bytes().any(|b| text::COMBO_SEPARATORS.contains(&b))
        {
            plain += 1;
        } else if is_email_combo {
            email_combo += 1;
        } else if let Some((sep, _, _)) = login_split(t) {
            let i = LOGIN_SEPARATORS.iter().position(|&b| b == sep).expect("a login separator");
            login_combo[i] += 1;
        }
    }
    let sampled = lines.len();
    let logins: usize = login_combo.iter().sum();
    let (top, top_count) =
        login_combo.iter().enumerate().max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i))).expect("four");
    let sep = LOGIN_SEPARATORS[top];
    let sep_shown = super::csvfmt::show_delimiter(sep);
    let simple = |format, detection: String| Sniffed { format, delimiter: 0, detection };
    match kind {
        Kind::Email if plain * 2 >= n && plain > 0 => {
            simple(Format::Plain, format!("plain (one address a line), {}% of {sampled} sampled lines", pct(plain)))
        }
        Kind::Email if email_combo * 2 >= n && email_combo > 0 => simple(
            Format::Combo,
            format!("combo (address:password), {}% of {sampled} sampled lines", pct(email_combo)),
        ),
        Kind::Email if logins * 100 >= n * LOGIN_COMBO_SHARE => simple(
            Format::Text,
            format!(
                "text: {}% of {sampled} sampled lines are login:password without an address (a password list? build it with --kind password)",
                pct(logins)
            ),
        ),
        Kind::Email => simple(
            Format::Text,
            format!(
                "text (addresses extracted from free text): {}% of {sampled} sampled lines are one address, {}% address:password (50% needed)",
                pct(plain),
                pct(email_combo)
            ),
        ),
        Kind::Password | Kind::Ntlm if email_combo * 2 >= n && email_combo > 0 => Sniffed {
            format: Format::Combo,
            delimiter: if *top_count > 0 { sep } else { 0 },
            detection: format!("combo (address:password), {}% of {sampled} sampled lines", pct(email_combo + logins)),
        },
        Kind::Password | Kind::Ntlm if (email_combo + logins) * 100 >= n * LOGIN_COMBO_SHARE && logins > 0 => Sniffed {
            format: Format::Combo,
            delimiter: sep,
            detection: format!(
                "combo (login{}password, separator {sep_shown}), {}% of {sampled} sampled lines",
                sep as char,
                pct(email_combo + logins)
            )
            .replace('\t', " tab "),
        },
        Kind::Password | Kind::Ntlm if email_combo + logins > 0 => simple(
            Format::Plain,
            format!(
                "plain (one password a line): only {}% of {sampled} sampled lines look like login:password ({LOGIN_COMBO_SHARE}% needed; --format combo to override)",
                pct(email_combo + logins)
            ),
        ),
        Kind::Password | Kind::Ntlm => {
            simple(Format::Plain, format!("plain (one password a line): none of {sampled} sampled lines looks like login:password"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniffed(text: &str) -> Sniffed {
        let lines: Vec<&[u8]> = text.lines().map(str::as_bytes).collect();
        sniff(&lines, Kind::Password)
    }

    #[test]
    fn login_shapes() {
        for ok in
            ["gamer01", "jean.dupont", "CORP\\jsmith", "+1 (555) 010-0199", "0901234567", "ユーザー1", "a@b", "x_y-z"]
        {
            assert!(is_login(ok), "{ok}");
        }
        for bad in ["", " lead", "two words", "a\\b\\c", "p@ss word", &"x".repeat(65)] {
            assert!(!is_login(bad), "{bad}");
        }
    }

    #[test]
    fn username_password_combolists_are_detected_with_each_separator() {
        for (text, sep) in [
            ("gamer01:hunter2\nxX_sniper_Xx:qwerty:1\nCORP\\jsmith:Winter2023!\n", b':'),
            ("gamer01;hunter2\nalice;pa;ss\n+1 555 010 0199;letmein\n", b';'),
            ("gamer01|hunter2\nbob|x\n", b'|'),
            ("gamer01\thunter2\nbob\tx y z\n", b'\t'),
        ] {
            let s = sniffed(text);
            assert_eq!((s.format, s.delimiter), (Format::Combo, sep), "{text:?}: {}", s.detection);
            assert!(s.detection.contains("100% of"), "{}", s.detection);
        }
    }

    #[test]
    fn plain_password_lists_with_some_colons_stay_plain() {
        let s =
            sniffed("hunter2\npass:word\nletmein\nqwerty\nP@ss w0rd\ncorrect horse battery staple\nabc:def\nx\ny\nz\n");
        assert_eq!(s.format, Format::Plain);
        assert!(
            s.detection.contains("only 20% of 10 sampled lines") && s.detection.contains("--format combo"),
            "{}",
            s.detection
        );
    }

    #[test]
    fn url_address_password_lines_give_the_password_after_the_address() {
        assert_eq!(password_of("site.example.com:c3@example.com:pw3", b':'), Ok("pw3"));
        assert_eq!(password_of("https://s.example.com/login c2@example.com pw2", b':'), Ok("pw2"));
        assert_eq!(password_of("http://x.example.com|c4@example.com|pw4", b':'), Ok("pw4"));
        assert_eq!(password_of("https://s.example.com:8443/a:c5@example.com:pa:ss", b':'), Ok("pa:ss"));
        assert_eq!(password_of("gamer01:p@ss:word", b':'), Ok("p@ss:word"));
    }

    #[test]
    fn a_login_before_the_first_separator_wins_over_the_files_separator() {
        assert_eq!(password_of("+81-90-1234-5678|p@ss:w0rd", b':'), Ok("p@ss:w0rd"));
        assert_eq!(password_of("bob;pa:ss", b':'), Ok("pa:ss"));
        assert_eq!(password_of("gamer01:pa;ss|x", b';'), Ok("pa;ss|x"));
    }

    #[test]
    fn passwords_split_at_the_detected_separator() {
        assert_eq!(password_of("gamer01:hunter2", b':'), Ok("hunter2"));
        assert_eq!(password_of("gamer01:p@ss:x", b':'), Ok("p@ss:x"));
        assert_eq!(password_of("+1 555 0100;pw;2", b';'), Ok("pw;2"));
        assert_eq!(password_of("CORP\\jsmith|a:b", b'|'), Ok("a:b"));
        assert_eq!(password_of("carol@example.org:pa:ss:wd", 0), Ok("pa:ss:wd"));
        assert_eq!(password_of("a@example.com p:q", b':'), Ok("p:q"));
        assert_eq!(password_of("https://x.example/l:tina@example.com:Pa:ss", b':'), Ok("Pa:ss"));
        assert_eq!(password_of("nosep", b':'), Err("no separator"));
        // URL:login:password lines whose login is no address, with and without a port.
        assert_eq!(password_of("https://site.example/login:gamer01:hunter2", b':'), Ok("hunter2"));
        assert_eq!(password_of("https://site.example:8443/x:gamer01:pa:ss", b':'), Ok("pa:ss"));
        assert_eq!(password_of("https://site.example:gamer01:12345", b':'), Ok("12345"));
        assert_eq!(password_of("android://Qx9@com.example.app/:+15550100:pw", b':'), Ok("pw"));
    }
}
