//! Stealer logs: multi-line blocks of labelled fields, one block per saved credential.
//!
//! ```text
//! URL: https://login.example.org/
//! Username: tina@example.com
//! Password: Pa:ss w0rd
//! Application: Google_[Chrome]_Default
//! ===============
//! ```
//!
//! Labels are matched without case (`URL`/`Host`/`Site`, `Username`/`Login`/`User`/`Email`,
//! `Password`/`Pass`/`PWD`); other labels (`Soft`, `Application`, `Storage`) belong to the block
//! and are ignored. Blocks end at a blank line, at a rule line (`===`, `---`, `***`, `___`), or
//! where a field of the same kind starts again (logs written without separators). The value is
//! what follows the label's `:` and the blanks after it, verbatim to the end of the line.
//! The framer ([`cut`]) cuts a stream only between blocks, so a block is never split between
//! chunks.

use super::{parse, FileStats, Sink, MAX_RECORD};
use crate::format::Kind;

/// A field of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The site (`URL`, `Host`, `Site`).
    Url,
    /// The login (`Username`, `Login`, `User`, `Email`).
    User,
    /// The password (`Password`, `Pass`, `PWD`).
    Pass,
    /// Any other labelled field.
    Other,
}

/// Longest label, in bytes.
const MAX_LABEL: usize = 24;

/// The label and value of a `Label: value` line.
pub fn labelled(line: &str) -> Option<(Field, &str)> {
    let t = line.trim_start_matches([' ', '\t', '\u{feff}']);
    let colon = t.as_bytes().iter().take(MAX_LABEL + 1).position(|&b| b == b':')?;
    let label = t[..colon].trim();
    if label.is_empty() || !label.chars().all(|c| c.is_alphabetic() || matches!(c, ' ' | '_' | '-')) {
        return None;
    }
    let folded: String = label.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect();
    let field = match folded.as_str() {
        // English, then the labels of stealer logs in other languages (Russian, Spanish,
        // Portuguese, German, French, Chinese).
        "url" | "host" | "hostname" | "site" | "website" | "origin" | "link" | "сайт" | "ссылка" | "адрес"
        | "sitio" | "网址" | "网站" => Field::Url,
        "username"
        | "user"
        | "login"
        | "loginname"
        | "userlogin"
        | "email"
        | "mail"
        | "account"
        | "логин"
        | "пользователь"
        | "почта"
        | "usuario"
        | "usuário"
        | "benutzername"
        | "benutzer"
        | "utilisateur"
        | "identifiant"
        | "用户名"
        | "账号" => Field::User,
        "password" | "pass" | "pwd" | "passwd" | "userpassword" | "пароль" | "contraseña" | "senha" | "passwort"
        | "kennwort" | "motdepasse" | "密码" => Field::Pass,
        _ => Field::Other,
    };
    let value = &t[colon + 1..];
    if value.starts_with("//") {
        return None; // `https://...`: a URL, not a label
    }
    let value = value.trim_start_matches([' ', '\t']);
    Some((field, value.strip_suffix('\r').unwrap_or(value)))
}

/// Whether a line separates blocks: blank, or a rule of `=`, `-`, `*`, `_`, `#`, `~` (three or
/// more, spaces allowed).
pub fn is_separator(line: &[u8]) -> bool {
    let t = line.trim_ascii();
    t.is_empty()
        || (t.iter().filter(|b| !b.is_ascii_whitespace()).count() >= 3
            && t.iter().all(|b| b.is_ascii_whitespace() || matches!(b, b'=' | b'-' | b'*' | b'_' | b'#' | b'~')))
}

/// Where a stealer log may be cut: after the last separator line of `buf`, else before the last
/// line that starts a block with a `URL`-type field. Only whole lines count.
pub fn cut(buf: &[u8]) -> Option<usize> {
    let whole = memchr::memrchr(b'\n', buf)? + 1;
    let mut end = whole;
    let mut url_start = None;
    while end > 0 {
        let start = memchr::memrchr(b'\n', &buf[..end - 1]).map_or(0, |p| p + 1);
        let line = &buf[start..end];
        if is_separator(line) {
            return Some(end);
        }
        if url_start.is_none() && start > 0 && line.len() <= MAX_RECORD {
            if let Some((Field::Url, _)) = labelled(&String::from_utf8_lossy(line)) {
                url_start = Some(start);
            }
        }
        end = start;
    }
    url_start
}

/// Counts a sample's stealer-log lines: (labelled login or password lines, labelled lines of any
/// kind plus separators, blocks).
pub fn sniff(lines: &[&[u8]]) -> Option<String> {
    let (mut user, mut pass, mut fields, mut other) = (0, 0, 0, 0);
    for l in lines {
        if is_separator(l) {
            fields += 1;
            continue;
        }
        match labelled(&String::from_utf8_lossy(l)) {
            Some((Field::User, _)) => user += 1,
            Some((Field::Pass, _)) => pass += 1,
            Some(_) => {}
            None => {
                other += 1;
                continue;
            }
        }
        fields += 1;
    }
    let n = fields + other;
    // Both logins and passwords, and most lines labelled fields or rules.
    (user > 0 && pass > 0 && fields * 10 >= n * 6).then(|| {
        format!(
            "stealer log (labelled URL/login/password blocks): {}% of {n} sampled lines are fields or rules, {} logins, {} passwords",
            fields * 100 / n.max(1),
            user,
            pass
        )
    })
}

#[derive(Default)]
struct Block {
    first_line: u64,
    user: Option<String>,
    pass: Option<String>,
    url: bool,
    any: bool,
}

/// Parses a chunk of whole blocks.
pub fn parse(kind: Kind, data: &[u8], first_line: u64, sink: &mut dyn Sink, stats: &mut FileStats) {
    let mut block = Block::default();
    let mut pieces = data.split(|&b| b == b'\n').peekable();
    let mut line_no = first_line;
    while let Some(raw) = pieces.next() {
        if raw.is_empty() && pieces.peek().is_none() {
            break;
        }
        let n = line_no;
        line_no += 1;
        stats.lines += 1;
        if raw.len() > MAX_RECORD {
            stats.reject("line over 64 KiB", n, || format!("<{} bytes>", raw.len()));
            continue;
        }
        if is_separator(raw) {
            finish(kind, &mut block, sink, stats);
            continue;
        }
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line = parse::decode(raw);
        let Some((field, value)) = labelled(&line) else {
            stats.reject("stealer-log line without a field label", n, String::new);
            continue;
        };
        let repeated = match field {
            Field::Url => block.url || block.user.is_some() || block.pass.is_some(),
            Field::User => block.user.is_some(),
            Field::Pass => block.pass.is_some(),
            Field::Other => false,
        };
        if repeated {
            finish(kind, &mut block, sink, stats);
        }
        if !block.any {
            block.first_line = n;
            block.any = true;
        }
        match field {
            Field::Url => block.url = true,
            Field::User => block.user = Some(value.to_string()),
            Field::Pass => block.pass = Some(value.to_string()),
            Field::Other => {}
        }
    }
    finish(kind, &mut block, sink, stats);
}

/// The keys of a stealer login.
fn found_address(login: &str) -> Result<parse::Found, crate::Invalid> {
    let mut found = parse::Found::default();
    found.address(login, parse::Written::Plain)?;
    Ok(found)
}

fn finish(kind: Kind, block: &mut Block, sink: &mut dyn Sink, stats: &mut FileStats) {
    let b = std::mem::take(block);
    if !b.any {
        return;
    }
    match kind {
        Kind::Email => match b.user.as_deref().map(str::trim) {
            Some(u) if !u.is_empty() => match found_address(&u.replace('\0', "")) {
                Ok(mut found) => found.flush(sink, stats),
                Err(_) if !u.contains('@') => {
                    stats.reject("stealer login is not an address", b.first_line, String::new)
                }
                Err(e) => stats.reject(e.as_str(), b.first_line, || parse::redact(u)),
            },
            _ => stats.reject("stealer block without a login", b.first_line, String::new),
        },
        Kind::Password | Kind::Ntlm => match b.pass.as_deref() {
            Some(p) if !p.is_empty() => {
                sink.key(crate::password_key_for(kind, p), 1);
                stats.records += 1;
            }
            _ => stats.reject("stealer block without a password", b.first_line, String::new),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: Kind, data: &str) -> (Vec<(crate::Key, u64)>, FileStats) {
        let mut keys = Vec::new();
        let mut stats = FileStats::default();
        parse(kind, data.as_bytes(), 1, &mut keys, &mut stats);
        (keys, stats)
    }

    const REDLINE: &str = "URL: https://login.example.org/\r\nUsername: Tina@Example.com\r\nPassword: Pa:ss w0rd\r\nApplication: Chrome\r\n===============\r\nURL: android://x@com.example/\r\nUsername: gamer01\r\nPassword: hunter2\r\n===============\r\n";

    #[test]
    fn stealer_blocks_give_the_login_address_and_the_password_not_the_labels() {
        let (keys, stats) = run(Kind::Email, REDLINE);
        assert_eq!(keys, [(crate::email_key("tina@example.com").unwrap(), 1)]);
        assert_eq!((stats.lines, stats.records), (9, 1));
        assert_eq!(stats.rejects["stealer login is not an address"].count, 1);
        let (keys, _) = run(Kind::Password, REDLINE);
        assert_eq!(keys, [(crate::password_key(b"Pa:ss w0rd"), 1), (crate::password_key(b"hunter2"), 1)]);
    }

    #[test]
    fn labels_in_other_languages_are_fields() {
        assert!(matches!(labelled("Сайт: https://j.example.com"), Some((Field::Url, _))));
        assert!(matches!(labelled("Логин: ru1@example.com"), Some((Field::User, "ru1@example.com"))));
        assert!(matches!(labelled("Пароль: rupw1"), Some((Field::Pass, "rupw1"))));
        assert!(matches!(labelled("Contraseña: x"), Some((Field::Pass, "x"))));
        assert!(matches!(labelled("密码: y"), Some((Field::Pass, "y"))));
    }

    #[test]
    fn raccoon_style_blocks_without_separators() {
        let log = "URL: https://a.example.net\nUSER: ann@example.net\nPASS: one\nURL: https://b.example.net\nUSER: bob@example.net\nPASS: two\n";
        let (keys, stats) = run(Kind::Email, log);
        assert_eq!(keys.len(), 2);
        assert_eq!(stats.rejected(), 0);
        let (keys, _) = run(Kind::Password, &log.replace("URL:", "Host:"));
        assert_eq!(keys, [(crate::password_key(b"one"), 1), (crate::password_key(b"two"), 1)]);
    }

    #[test]
    fn the_framer_cuts_only_between_blocks() {
        let data = REDLINE.as_bytes();
        let cut_at = cut(&data[..60]);
        assert_eq!(cut_at, None, "no separator or later URL line in the first 60 bytes");
        let cut_at = cut(&data[..data.len() - 5]).unwrap();
        assert_eq!(&data[cut_at - 17..cut_at], b"===============\r\n");
        let no_rules = b"URL: a\nUSER: u\nPASS: p\nURL: b\nUSER: v\n";
        assert_eq!(cut(no_rules), Some(23));
    }

    #[test]
    fn sniffing_needs_logins_passwords_and_mostly_fields() {
        let lines: Vec<&[u8]> = REDLINE.lines().map(str::as_bytes).collect();
        assert!(sniff(&lines).is_some());
        let prose: Vec<&[u8]> =
            ["Note: call me", "Password: is on the fridge", "User: bob", "hello", "world", "again", "x"]
                .iter()
                .map(|s| s.as_bytes())
                .collect();
        assert!(sniff(&prose).is_none());
    }
}
