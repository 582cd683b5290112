//! CSV and TSV: Excel's `sep=` line, the delimiter, the header row, and which columns hold the
//! identifiers ([`choose_columns`], by header name *and* by content), plus reading a cell that
//! holds several addresses.

use super::{FileFormat, Format, FormatError, SNIFF_BYTES};
use crate::format::Kind;

/// Delimiters tried when no `sep=` line names one.
pub const DELIMITERS: [u8; 4] = [b',', b'\t', b';', b'|'];
/// Data rows sampled after the header to choose columns by content.
pub const SAMPLE_ROWS: usize = 200;

/// The identifier columns chosen for a CSV file, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnChoice {
    /// Column indexes, the main one first.
    pub columns: Vec<usize>,
    /// Their header names, in the same order.
    pub names: Vec<String>,
    /// A human-readable reason (`column "E-mail Address" (+2 e-mail columns: ...) by header
    /// and content`), for the build summary. Never holds a cell value.
    pub reason: String,
}

/// Header names (lowercase, without spaces, `-`, `_` and `.`) that say "e-mail" in the
/// languages met in address books; a column is an e-mail column by name when its name contains
/// one. Content decides anyway when the sampled rows hold values.
const EMAIL_NAME_PARTS: &[&str] = &[
    "mail",
    "courriel",
    "correo",
    "メール",
    "ﾒｰﾙ",
    "邮箱",
    "邮件",
    "郵件",
    "電郵",
    "이메일",
    "почта",
    "poczta",
    "eposta",
    "epost",
    "sähköposti",
    "électronique",
    "electronique",
    "电邮",
    "メアド",
    "전자우편",
];
/// Name parts that mean the column describes an address rather than holding one (Outlook's
/// `E-mail Display Name`, Google's `E-mail 1 - Type`/`- Label`).
const EMAIL_NAME_EXCLUDED: &[&str] = &["type", "label", "display", "name", "format"];
/// Password column names, most specific first (compared without case).
const PASSWORD_NAMES: &[&str] = &[
    "password",
    "pass",
    "passwd",
    "pwd",
    "plaintext",
    "plain_password",
    "password_plain",
    "passwort",
    "contraseña",
    "contrasena",
    "mot de passe",
    "motdepasse",
    "senha",
    "wachtwoord",
    "パスワード",
    "密码",
    "密碼",
];

/// Whether a header cell looks like a column name rather than data: letters (any script),
/// digits, spaces and `_ - . ( ) # /`, with a letter, no `@`, at most 64 characters.
fn looks_like_name(h: &str) -> bool {
    h.chars().count() <= 64
        && h.chars().any(char::is_alphabetic)
        && h.chars().all(|c| c.is_alphanumeric() || " _-.()#/".contains(c))
}

/// `name` folded for comparisons: lowercase, without white space, `-`, `_` and `.`.
fn fold(name: &str) -> String {
    name.chars().filter(|c| !c.is_whitespace() && !matches!(c, '-' | '_' | '.')).flat_map(char::to_lowercase).collect()
}

/// Whether a header name says "e-mail" (in one of several languages).
pub fn is_email_name(name: &str) -> bool {
    let f = fold(name);
    EMAIL_NAME_PARTS.iter().any(|p| f.contains(p)) && !EMAIL_NAME_EXCLUDED.iter().any(|x| f.contains(x))
}

/// The rank of a header name as a password column (lower is better), if it is one.
fn password_rank(name: &str) -> Option<usize> {
    let t = name.trim();
    let f = fold(t);
    if f.contains("hash") || f.contains("salt") || f.contains("hint") {
        return None;
    }
    PASSWORD_NAMES.iter().position(|p| t.eq_ignore_ascii_case(p) || f == fold(p)).or_else(|| {
        PASSWORD_NAMES.iter().position(|p| fold(p).chars().count() >= 5 && f.contains(&fold(p))).map(|r| r + 100)
    })
}

/// The addresses of a cell: the whole cell if it is one address, else, when it holds several
/// `@`, each piece between `;`, `,` and white space (`a@example.com; b@example.com`, a newline
/// inside a quoted cell). `Err` with the reason and the failing piece when a piece that has an
/// `@` is not an address, or when a one-`@` cell is not one; the valid pieces are still given.
pub fn cell_addresses<'a>(cell: &'a str, found: &mut dyn FnMut(&'a str)) -> Result<(), (&'static str, &'a str)> {
    let t = cell.trim();
    // Several `@`: split first, as `<a@x>, "B" <b@y>` would unwrap to its last address whole.
    if t.bytes().filter(|&b| b == b'@').count() < 2 {
        return match crate::normalize_email(t) {
            Ok(_) => {
                found(t);
                Ok(())
            }
            Err(e) => Err((e.as_str(), t)),
        };
    }
    let mut first_err = None;
    for piece in t.split([';', ',']) {
        let piece = piece.trim();
        if crate::normalize_email(piece).is_ok() {
            found(piece);
            continue;
        }
        for word in piece.split(char::is_whitespace).filter(|w| w.contains('@')) {
            match crate::normalize_email(word) {
                Ok(_) => found(word),
                Err(e) => {
                    first_err.get_or_insert((e.as_str(), word));
                }
            }
        }
    }
    first_err.map_or(Ok(()), Err)
}

fn is_addresses(cell: &str) -> bool {
    let mut n = 0;
    cell_addresses(cell, &mut |_| n += 1).is_ok() && n > 0
}

/// Chooses the identifier columns of a CSV file from its header, some data rows and the
/// columns the user asked for (`asked`, matched without case; the ones present are used).
///
/// For email indexes, with nothing asked: every column whose sampled non-empty values are
/// mostly addresses wins; a column named like an e-mail column (`Email`, `E-mail 2 Address`,
/// `メールアドレス`, `Courriel`) is added when its sampled values hold an address or are all
/// empty; a column named so but holding none loses to a column holding addresses (a postal
/// `address` column never wins). When no column holds addresses, the e-mail-named columns are
/// read anyway, so that their bad values are counted as rejects rather than ignored. For
/// password indexes the column is found by name only.
pub fn choose_columns(
    header: &[String],
    sample_rows: &[Vec<String>],
    kind: Kind,
    asked: &[String],
) -> Result<ColumnChoice, FormatError> {
    // The "header" may be a data row (a headerless file): only cells that look like column
    // names are shown, and none in a password build, so that no password or address is
    // printed.
    let shown = || {
        if kind != Kind::Email {
            return format!("{} columns; names not shown in a password build", header.len());
        }
        let mut names: Vec<String> = header
            .iter()
            .take(20)
            .map(|h| if looks_like_name(h) { format!("{h:?}") } else { format!("<{} characters>", h.chars().count()) })
            .collect();
        if header.len() > 20 {
            names.push(format!("and {} more", header.len() - 20));
        }
        names.join(", ")
    };
    if !asked.is_empty() {
        let mut columns = Vec::new();
        let mut missing = Vec::new();
        for want in asked {
            match header.iter().position(|h| h.trim().eq_ignore_ascii_case(want.trim())) {
                Some(i) if !columns.contains(&i) => columns.push(i),
                Some(_) => {}
                None => missing.push(format!("{want:?}")),
            }
        }
        if columns.is_empty() {
            return Err(FormatError(format!(
                "none of the asked columns ({}) is in the CSV header (columns: {}); check --column",
                missing.join(", "),
                shown()
            )));
        }
        let names: Vec<String> = columns.iter().map(|&i| header[i].clone()).collect();
        let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
        let mut reason = format!("column{} {} as asked", if names.len() > 1 { "s" } else { "" }, quoted.join(", "));
        if !missing.is_empty() {
            reason.push_str(&format!(" (not in this file: {})", missing.join(", ")));
        }
        return Ok(ColumnChoice { columns, names, reason });
    }
    match kind {
        Kind::Password | Kind::Ntlm => {
            let best = header.iter().enumerate().filter_map(|(i, h)| password_rank(h).map(|r| (r, i))).min();
            match best {
                Some((_, i)) => Ok(ColumnChoice {
                    columns: vec![i],
                    names: vec![header[i].clone()],
                    reason: format!("column {:?} by header", header[i]),
                }),
                None => Err(FormatError(format!(
                    "no password column in the CSV header (columns: {}); name it with --column",
                    shown()
                ))),
            }
        }
        Kind::Email => choose_email_columns(header, sample_rows).ok_or_else(|| {
            FormatError(format!(
                "no e-mail column: no column is named like one and none holds addresses in the first {} rows (columns: {}); name it with --column",
                sample_rows.len(),
                shown()
            ))
        }),
    }
}

fn choose_email_columns(header: &[String], rows: &[Vec<String>]) -> Option<ColumnChoice> {
    struct Col {
        i: usize,
        named: bool,
        filled: usize,
        addresses: usize,
    }
    let cols: Vec<Col> = (0..header.len())
        .map(|i| {
            let mut c = Col { i, named: is_email_name(&header[i]), filled: 0, addresses: 0 };
            for row in rows {
                let cell = row.get(i).map_or("", |s| s.trim());
                if !cell.is_empty() {
                    c.filled += 1;
                    c.addresses += usize::from(is_addresses(cell));
                }
            }
            c
        })
        .collect();
    let by_content = |c: &Col| c.filled > 0 && c.addresses * 2 > c.filled;
    let mut chosen: Vec<(&Col, &'static str)> = Vec::new();
    for c in &cols {
        let how = match (c.named, by_content(c)) {
            (true, true) => "by header and content",
            (false, true) => "by content",
            (true, false) if c.addresses > 0 => "by header (some values are addresses)",
            (true, false) if c.filled == 0 => "by header (empty in the sampled rows)",
            _ => continue,
        };
        chosen.push((c, how));
    }
    let mut reason_tail = String::new();
    if chosen.iter().all(|(c, _)| c.addresses == 0) {
        // Nothing holds addresses: read the e-mail-named columns, so that their values are
        // counted (as rejects) instead of silently skipped.
        chosen = cols.iter().filter(|c| c.named).map(|c| (c, "by header")).collect();
        if chosen.iter().any(|(c, _)| c.filled > 0) {
            reason_tail = "; its sampled values are not addresses".into();
        }
    } else {
        let losers: Vec<String> = cols
            .iter()
            .filter(|c| c.named && c.filled > 0 && c.addresses == 0)
            .map(|c| format!("{:?}", header[c.i]))
            .collect();
        if !losers.is_empty() {
            reason_tail = format!("; not {} (no address in the sampled rows)", losers.join(", "));
        }
    }
    if chosen.is_empty() {
        return None;
    }
    // The main column first: named and holding addresses, then most addresses, then leftmost.
    chosen.sort_by_key(|(c, _)| (!(c.named && c.addresses > 0), std::cmp::Reverse(c.addresses), c.i));
    let (main, how) = chosen[0];
    let mut reason = format!("column {:?} {how}", header[main.i]);
    if chosen.len() > 1 {
        let others: Vec<String> = chosen[1..].iter().map(|(c, how)| format!("{:?} {how}", header[c.i])).collect();
        reason.push_str(&format!(
            " (+{} e-mail column{}: {})",
            others.len(),
            if others.len() > 1 { "s" } else { "" },
            others.join(", ")
        ));
    }
    reason.push_str(&reason_tail);
    let columns: Vec<usize> = chosen.iter().map(|(c, _)| c.i).collect();
    let names = columns.iter().map(|&i| header[i].clone()).collect();
    Some(ColumnChoice { columns, names, reason })
}

/// Excel's `sep=X` first line (also quoted, `"sep=;"`): the delimiter it names.
fn sep_line(line: &[u8]) -> Option<u8> {
    let t = line.trim_ascii();
    let t = t.strip_prefix(b"\"").and_then(|t| t.strip_suffix(b"\"")).unwrap_or(t);
    match t {
        [s, e, p, b'=', d] if [s, e, p].map(u8::to_ascii_lowercase) == *b"sep" && *d != b'"' && *d != b'\n' => Some(*d),
        _ => None,
    }
}

/// Counts `d` in `line` outside double quotes.
fn count_outside_quotes(line: &[u8], d: u8) -> usize {
    let mut quoted = false;
    let mut n = 0;
    for &b in line {
        if b == b'"' {
            quoted = !quoted;
        } else if b == d && !quoted {
            n += 1;
        }
    }
    n
}

/// Reads `head` as CSV: `Ok(None)` when it does not look like CSV (and CSV was not forced),
/// `Err` when it is CSV (by header shape, name, or because `forced` or `asked` say so) but no
/// column can be used. Returns the format and the bytes to skip (the `sep=` line and the
/// header).
///
/// A file is CSV when its header line has a delimiter (`,` tab `;` `|`, or the one a `sep=`
/// line names), no header cell is itself an address, and most sampled rows have as many fields
/// as the header; or, for a header without delimiter, when the one name is an asked column or
/// (email indexes) an e-mail column name. A plain list whose first line is `password` is thus
/// not CSV unless `--format csv` is asked.
pub fn sniff(
    head: &[u8],
    name: &str,
    kind: Kind,
    forced: bool,
    asked: &[String],
) -> Result<Option<(FileFormat, usize)>, FormatError> {
    let lower_name = name.to_ascii_lowercase();
    let named_csv = [".csv", ".tsv"].iter().any(|e| lower_name.contains(e));
    let first_end = memchr::memchr(b'\n', head).map_or(head.len(), |p| p + 1);
    let (sep, header_start) = match sep_line(&head[..first_end]) {
        Some(d) => (Some(d), first_end),
        None => (None, 0),
    };
    let rest = &head[header_start..];
    let header_line = rest.split(|&b| b == b'\n').next().unwrap_or(b"");
    let header_line = header_line.strip_suffix(b"\r").unwrap_or(header_line);
    let (delimiter, counted) = match sep {
        Some(d) => (d, 1),
        None => {
            let best = DELIMITERS
                .iter()
                .copied()
                .max_by_key(|&d| (count_outside_quotes(header_line, d), std::cmp::Reverse(d)));
            let d = best.unwrap_or(b',');
            (d, count_outside_quotes(header_line, d))
        }
    };
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).delimiter(delimiter).flexible(true).from_reader(rest);
    let mut brec = csv::ByteRecord::new();
    match rdr.read_byte_record(&mut brec) {
        Ok(true) => {}
        Ok(false) if forced => return Err(FormatError("empty file: no CSV header".into())),
        Ok(false) => return Ok(None),
        Err(e) if forced => return Err(FormatError(format!("CSV header: {e}"))),
        Err(_) => return Ok(None),
    }
    let header_len = header_start + rdr.position().byte() as usize;
    let header: Vec<String> =
        brec.iter().map(|f| super::parse::decode(f).trim().trim_start_matches('\u{feff}').to_string()).collect();
    // `--column` alone does not make a file CSV: it applies to every input, combolists too.
    let insist = forced || named_csv;
    if counted == 0 {
        // One field: CSV only if asked for, or if the name is an asked or e-mail column.
        let one = header.first().map(String::as_str).unwrap_or("");
        let asked_name = asked.iter().any(|a| a.trim().eq_ignore_ascii_case(one));
        let word_like = one.chars().count() <= 64 && one.chars().all(|c| c.is_alphanumeric() || " -_.".contains(c));
        let email_name = kind == Kind::Email && word_like && is_email_name(one);
        if !(forced || asked_name || email_name) {
            return Ok(None);
        }
    }
    if !insist && header.iter().any(|h| h.contains('@') || h.starts_with(['{', '['])) {
        return Ok(None); // a data line (an address, JSON), not a header
    }
    if kind == Kind::Email {
        if let Some(a) = header.iter().find(|h| crate::normalize_email(h).is_ok()) {
            if forced {
                return Err(FormatError(format!(
                    "the first line holds an address ({}), so it is not a CSV header; CSV needs a header row",
                    super::parse::redact(a)
                )));
            }
            return Ok(None);
        }
    }
    // Sample rows (the last one may be cut by the sniff window).
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut same_width = 0;
    while rows.len() < SAMPLE_ROWS {
        // Bytes, decoded per field as the parser does (UTF-8, else windows-1252).
        match rdr.read_byte_record(&mut brec) {
            Ok(true) => {
                if brec.iter().all(|f| f.trim_ascii().is_empty()) {
                    continue;
                }
                same_width += usize::from(brec.len() == header.len());
                rows.push(brec.iter().map(|f| super::parse::decode(f).into_owned()).collect());
            }
            Ok(false) | Err(_) => break,
        }
    }
    if head.len() >= SNIFF_BYTES && rows.len() > 1 {
        rows.pop();
    }
    if !insist && counted > 0 && !rows.is_empty() && same_width * 2 < rows.len() {
        return Ok(None);
    }
    // The file's own evidence of being CSV: columns found by name and content, holding an
    // address (email indexes) when the sampled rows have values.
    let filled = |i: usize| rows.iter().any(|r| r.get(i).is_some_and(|c| !c.trim().is_empty()));
    let holds_address = |i: usize| rows.iter().any(|r| r.get(i).is_some_and(|c| is_addresses(c)));
    let found = choose_columns(&header, &rows, kind, &[]);
    let own = found.as_ref().ok().filter(|c| {
        kind != Kind::Email || !c.columns.iter().any(|&i| filled(i)) || c.columns.iter().any(|&i| holds_address(i))
    });
    let is_csv = insist || own.is_some();
    let choice = match (asked.is_empty(), own) {
        (true, Some(c)) => Ok(c.clone()),
        (true, None) => found.clone(),
        (false, _) => choose_columns(&header, &rows, kind, asked),
    };
    let choice = match choice {
        Ok(c) if is_csv || !asked.is_empty() => c,
        // A CSV file (by name, by --format or by its own columns) without usable columns.
        Err(e) if is_csv => return Err(e),
        _ => return Ok(None),
    };
    let delim = match sep {
        Some(d) => format!("delimiter {} from sep= line", show_delimiter(d)),
        None if counted == 0 => "one column".to_string(),
        None => format!("delimiter {}", show_delimiter(delimiter)),
    };
    let skipped = if sep.is_some() { "sep= line and header (lines 1-2) skipped" } else { "header line skipped" };
    let detection = format!("csv, {}, {delim}; {skipped}", choice.reason);
    Ok(Some((
        FileFormat {
            format: Format::Csv,
            delimiter,
            columns: choice.columns,
            column_names: choice.names,
            ..FileFormat::simple(Format::Csv)
        }
        .with_detection(detection),
        header_len,
    )))
}

/// A delimiter for messages: `','`, `tab`.
pub fn show_delimiter(d: u8) -> String {
    match d {
        b'\t' => "tab".into(),
        b' ' => "space".into(),
        d if d.is_ascii_graphic() => format!("'{}'", d as char),
        d => format!("byte 0x{d:02x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }
    fn rows(rs: &[&[&str]]) -> Vec<Vec<String>> {
        rs.iter().map(|r| h(r)).collect()
    }

    #[test]
    fn a_headerless_files_first_row_is_never_printed_in_the_error() {
        let first = h(&["1", "asmith@example.com", "Winter2024!", "Smith"]);
        let data = rows(&[&["2", "bk@example.com", "Pw2", "K"]]);
        let e = choose_columns(&first, &data, Kind::Password, &[]).unwrap_err();
        assert!(!e.0.contains("Winter2024") && !e.0.contains("asmith"), "{}", e.0);
        let e = choose_columns(&first, &data, Kind::Email, &["mail".into()]).unwrap_err();
        assert!(!e.0.contains("Winter2024") && !e.0.contains("asmith"), "{}", e.0);
        assert!(e.0.contains("\"Smith\""), "{}", e.0);
    }

    #[test]
    fn postal_address_column_loses_to_the_column_holding_addresses() {
        let header = h(&["Name", "address", "Email_Addr"]);
        let sample = rows(&[&["Jo", "1 Main St", "jo@example.com"], &["Al", "2 High St", "al@example.org"]]);
        let c = choose_columns(&header, &sample, Kind::Email, &[]).unwrap();
        assert_eq!(c.columns, [2]);
        assert!(c.reason.contains("\"Email_Addr\" by header and content"), "{}", c.reason);
        // Named "E-mail" but holding postal data, with addresses under another name.
        let header = h(&["E-mail", "contact"]);
        let sample = rows(&[&["1 Main St", "jo@example.com"], &["2 High St", "al@example.org"]]);
        let c = choose_columns(&header, &sample, Kind::Email, &[]).unwrap();
        assert_eq!(c.columns, [1]);
        assert!(c.reason.contains("by content") && c.reason.contains("not \"E-mail\""), "{}", c.reason);
    }

    #[test]
    fn outlook_three_email_columns_are_all_read() {
        let header = h(&[
            "First Name",
            "E-mail Address",
            "E-mail Type",
            "E-mail Display Name",
            "E-mail 2 Address",
            "E-mail 3 Address",
        ]);
        let sample = rows(&[
            &["Jo", "jo@example.com", "SMTP", "Jo (jo@example.com)", "jo.home@example.net", ""],
            &["Al", "al@example.org", "SMTP", "Al (al@example.org)", "", ""],
        ]);
        let c = choose_columns(&header, &sample, Kind::Email, &[]).unwrap();
        assert_eq!(c.columns, [1, 4, 5]);
        assert!(
            c.reason.starts_with("column \"E-mail Address\" by header and content (+2 e-mail columns"),
            "{}",
            c.reason
        );
    }

    #[test]
    fn foreign_header_names_are_found_by_content_or_name() {
        for name in [
            "メールアドレス",
            "メール",
            "電子メール",
            "E-Mail-Adresse",
            "E-Mail",
            "Courriel",
            "Adresse électronique",
            "Correo electrónico",
            "邮箱",
            "电子邮件",
            "이메일",
            "E-post",
            "correo",
            "Primäre E-Mail-Adresse",
            "Xyz",
        ] {
            let header = h(&["名前", name]);
            let sample = rows(&[&["山田", "taro@example.jp"], &["佐藤", "hanako@example.jp"]]);
            let c = choose_columns(&header, &sample, Kind::Email, &[]).unwrap();
            assert_eq!(c.columns, [1], "{name}");
        }
        // No rows: found by name alone, in every language listed.
        let c = choose_columns(&h(&["氏名", "メールアドレス"]), &[], Kind::Email, &[]).unwrap();
        assert_eq!((c.columns, c.reason.contains("by header")), (vec![1], true));
        for name in
            ["電子メール", "E-Mail", "Adresse électronique", "Correo electrónico", "电子邮件", "이메일", "E-post"]
        {
            let c = choose_columns(&h(&["Name", name]), &[], Kind::Email, &[]).unwrap();
            assert_eq!(c.columns, [1], "{name}");
        }
    }

    #[test]
    fn asked_columns_are_used_and_an_unmatched_ask_names_the_columns() {
        let header = h(&["id", "Mail", "E-mail 2 Address"]);
        let asked = h(&["e-mail 2 address", "mail", "Nope"]);
        let c = choose_columns(&header, &[], Kind::Email, &asked).unwrap();
        assert_eq!(c.columns, [2, 1]);
        assert!(c.reason.contains("not in this file: \"Nope\""), "{}", c.reason);
        let e = choose_columns(&header, &[], Kind::Email, &h(&["Nope"])).unwrap_err();
        assert!(e.0.contains("\"id\", \"Mail\", \"E-mail 2 Address\""), "{}", e.0);
    }

    #[test]
    fn password_columns_by_name_skip_hashes() {
        let c = choose_columns(&h(&["user", "password_hash", "Passwort"]), &[], Kind::Password, &[]).unwrap();
        assert_eq!(c.columns, [2]);
        assert!(choose_columns(&h(&["user", "hash"]), &[], Kind::Password, &[]).is_err());
    }

    #[test]
    fn a_cell_with_several_addresses_gives_each() {
        for cell in [
            "a@example.com; b@example.org",
            "a@example.com, b@example.org",
            "a@example.com\nb@example.org",
            "<a@example.com>,\"B\" <b@example.org>",
        ] {
            let mut got = Vec::new();
            cell_addresses(cell, &mut |a| got.push(crate::normalize_email(a).unwrap())).unwrap();
            assert_eq!(got, ["a@example.com", "b@example.org"], "{cell:?}");
        }
        let mut got = Vec::new();
        let e = cell_addresses("a@example.com; bad@@x", &mut |a| got.push(a.to_string())).unwrap_err();
        assert_eq!((got.len(), e.1), (1, "bad@@x"));
    }

    #[test]
    fn sep_lines_and_one_column_files() {
        assert_eq!(sep_line(b"sep=;\r\n"), Some(b';'));
        assert_eq!(sep_line(b"\"sep=,\"\n"), Some(b','));
        assert_eq!(sep_line(b"separator\n"), None);
        let (f, skip) =
            sniff(b"sep=;\nName;E-mail\nJo;jo@example.com\n", "x.txt", Kind::Email, false, &[]).unwrap().unwrap();
        assert_eq!((f.delimiter, f.columns.clone(), skip), (b';', vec![1], 18));
        assert!(f.detection.contains("from sep= line"), "{}", f.detection);
        // A password list starting with "password" is not CSV.
        assert_eq!(sniff(b"password\nhunter2\n", "x.txt", Kind::Password, false, &[]).unwrap(), None);
        // --column applies to every input but does not make a combolist or prose CSV.
        let asked = ["Email".to_string()];
        assert_eq!(sniff(b"gamer01;hunter2\nbob;pw\n", "x.txt", Kind::Password, false, &asked).unwrap(), None);
        assert_eq!(sniff(b"Hello, there\nBye, now\n", "x.txt", Kind::Email, false, &asked).unwrap(), None);
        // ... while a CSV by its own columns without the asked one is an error.
        let e = sniff(b"id;Mail\n1;a@example.com\n", "x.txt", Kind::Email, false, &asked).unwrap_err();
        assert!(e.0.contains("\"id\", \"Mail\""), "{}", e.0);
        // An email list whose first line is "email" is a one-column CSV.
        let (f, _) = sniff(b"email\na@example.com\n", "x", Kind::Email, false, &[]).unwrap().unwrap();
        assert_eq!(f.columns, [0]);
    }
}
