//! The reading state a chunk starts in.
//!
//! **Rule: a format's chunk splitting and its parsing never disagree.** The build cuts each
//! file into chunks parsed in parallel. Formats whose records are lines are cut at newlines
//! and need nothing more. Formats with state that spans lines (SQL: dialect, statement, COPY
//! block; JSON documents: the enclosing brackets; mbox: being an mbox) are cut by a framer
//! that runs the *same* state machine as the parser, only where that machine is between
//! records, and the framer's state at the cut travels with the chunk as its [`Start`]. A
//! chunk parsed from its `Start` therefore reads exactly what the whole stream would.
//!
//! Lines are counted per file: a chunk that does not end with a newline (a SQL or JSON cut
//! inside a line) adds no line unless it is the file's last chunk ([`Start::last`]).

use super::{json, sql, FileFormat, Format};

/// The state a chunk's parser starts in.
#[derive(Debug, Clone, Default)]
pub enum Mode {
    /// Nothing beyond the format: records are lines (or CSV records, or JSON lines).
    #[default]
    Records,
    /// Free text that is an mbox: `From ` separator lines are skipped.
    Mbox,
    /// A SQL dump: the lexer at the cut.
    Sql(sql::Lexer),
    /// A JSON document: the scanner at the cut.
    JsonDoc(json::Scanner),
}

/// Where a chunk starts, as the framer saw it at the cut.
#[derive(Debug, Clone, Default)]
pub struct Start {
    /// Parser state at the chunk's first byte.
    pub mode: Mode,
    /// The chunk ends its file: an unterminated last line counts, and open strings or
    /// brackets are reported.
    pub last: bool,
}

impl Start {
    /// The start of a whole file held in one buffer: its first-byte state from
    /// [`initial_mode`], and last.
    pub fn whole(data: &[u8], fmt: &FileFormat) -> Start {
        Start { mode: initial_mode(data, fmt).0, last: true }
    }
}

/// The state a file starts in, settled from its first bytes (`head`), and why, for the
/// file's report (for example `PostgreSQL dialect: pg_dump header`). `None`: nothing to say
/// beyond the format.
pub fn initial_mode(head: &[u8], fmt: &FileFormat) -> (Mode, Option<String>) {
    match fmt.format {
        Format::Sql => {
            let (dialect, why) = sql::detect_dialect(head);
            let copies = count_copy_blocks(head);
            let mut text = format!("{} dialect: {why}", dialect.name());
            if copies > 0 {
                text.push_str(&format!("; COPY ... FROM stdin blocks (first 64 KiB: {copies})"));
            }
            (Mode::Sql(sql::Lexer::new(dialect)), Some(text))
        }
        Format::Json => match json::document_kind(head) {
            Some(kind) => (Mode::JsonDoc(json::Scanner::default()), Some(format!("json document ({kind})"))),
            None => (Mode::Records, Some("json lines (one value a line)".into())),
        },
        Format::Text if is_mbox(head) => {
            (Mode::Mbox, Some("free text, mbox (first line is a `From ` separator; separators skipped)".into()))
        }
        _ => (Mode::Records, None),
    }
}

fn count_copy_blocks(head: &[u8]) -> usize {
    head.split(|&b| b == b'\n')
        .filter(|l| l.len() > 5 && l[..5].eq_ignore_ascii_case(b"COPY ") && l.trim_ascii_end().ends_with(b"stdin;"))
        .count()
}

/// Whether a file is an mbox: its first line is a `From ` separator.
pub fn is_mbox(head: &[u8]) -> bool {
    let first = head.split(|&b| b == b'\n').next().unwrap_or(b"");
    is_mbox_separator(first.strip_suffix(b"\r").unwrap_or(first))
}

/// Whether a line is an mbox `From ` separator: `From SENDER DATE`, the date in `asctime` form
/// (`From alice@example.com Mon Jan  1 00:00:00 2024`). A body line that starts with `From `
/// is escaped as `>From ` in an mbox, so it never matches.
pub fn is_mbox_separator(line: &[u8]) -> bool {
    const DAYS: [&[u8]; 7] = [b"Mon ", b"Tue ", b"Wed ", b"Thu ", b"Fri ", b"Sat ", b"Sun "];
    let Some(rest) = line.strip_prefix(b"From ") else { return false };
    let Some(sp) = rest.iter().position(|&b| b == b' ') else { return false };
    if sp == 0 {
        return false;
    }
    let date = rest[sp..].trim_ascii_start();
    DAYS.iter().any(|d| date.starts_with(d)) && date.iter().filter(|b| b.is_ascii_digit()).count() >= 8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbox_separators_are_told_from_body_lines() {
        assert!(is_mbox_separator(b"From alice@example.com Mon Jan  1 00:00:00 2024"));
        assert!(is_mbox_separator(b"From MAILER-DAEMON Fri Jul  8 12:08:34 2011"));
        assert!(!is_mbox_separator(b"From: Alice <alice@example.com>"));
        assert!(!is_mbox_separator(b">From bob@example.com Mon Jan  1 00:00:00 2024"));
        assert!(!is_mbox_separator(b"From bob@example.com we heard nothing"));
        assert!(is_mbox(b"From bob@example.org Tue Feb  6 10:00:00 2024\r\nFrom: bob@example.org\r\n"));
        assert!(!is_mbox(b"Hello\nFrom bob@example.org Tue Feb  6 10:00:00 2024\n"));
    }
}
