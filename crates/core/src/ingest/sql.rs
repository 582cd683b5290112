//! A streaming lexer for SQL dumps: finds string literals and the tuples of `INSERT ... VALUES`
//! statements, the rows of PostgreSQL `COPY ... FROM stdin;` blocks, and skips comments and
//! quoted identifiers.
//!
//! Two escape dialects: MySQL (backslash escapes in `'...'` and `"..."`) and PostgreSQL with
//! `standard_conforming_strings` on, the pg_dump default (`'C:\'` is a whole string; only
//! `E'...'` strings take backslash escapes; `"..."` is an identifier). Reading one dialect's
//! dump with the other's rules shifts every later quote by one, so the lexer also notices the
//! two signs of that (an unquoted `@` inside a tuple, and a string that runs into the next
//! `INSERT INTO` line), resynchronizes at the next statement and reports what was lost.
//!
//! The whole lexer state is a small `Clone` value: the build's framer runs this same lexer to
//! find where to cut the stream, and hands its state at the cut to the chunk's parser, so a
//! chunk parsed alone reads exactly what the whole stream would.
//!
//! Written by hand: the SQL parser crates build a full syntax tree per statement, and dump
//! statements are often megabytes long; we need only the string literals, in bounded memory.

/// The escape rules of a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// MySQL / MariaDB: backslash escapes in `'...'` and `"..."`, backtick identifiers.
    #[default]
    MySql,
    /// PostgreSQL with `standard_conforming_strings = on`: `'...'` has no backslash escapes
    /// (only `''`), `E'...'` has them, `"..."` is an identifier.
    Postgres,
    /// PostgreSQL with `standard_conforming_strings = off`: backslash escapes in `'...'` too.
    PostgresLegacy,
}

impl Dialect {
    /// Name, for reports.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::MySql => "MySQL",
            Dialect::Postgres => "PostgreSQL",
            Dialect::PostgresLegacy => "PostgreSQL, standard_conforming_strings off",
        }
    }
}

/// Where the lexer is inside a `COPY ... FROM stdin` data block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copy {
    /// At the start of a row.
    LineStart,
    /// Inside a field.
    Field,
    /// After a backslash (`line_start`: the backslash began the row, so `\.` ends the block).
    Escape {
        /// The backslash began the row.
        line_start: bool,
    },
    /// Inside `\NNN` (octal): value so far and digits read.
    Octal(u8, u8),
    /// Inside `\xHH`: value so far and digits read.
    Hex(u8, u8),
    /// Read `\.` at the start of a row: the end-of-data marker if the line ends here.
    EndDot,
}

/// Where the lexer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum State {
    /// Between tokens.
    #[default]
    Normal,
    /// Inside a quoted string (the quote byte; whether backslash escapes apply).
    Quoted(u8, bool),
    /// After a backslash inside a quoted string.
    Escape(u8),
    /// A quote that may close the string or start a doubled quote.
    QuoteEnd(u8, bool),
    /// Inside a quoted identifier (`` `name` ``, PostgreSQL `"name"`).
    Ident(u8),
    /// A quote that may close the identifier or start a doubled quote.
    IdentEnd(u8),
    /// PostgreSQL: read `$` and this many bytes of a dollar-quote tag (`$tag$`).
    DollarTag(u8),
    /// PostgreSQL: inside a dollar-quoted body (a function body; not data, no events).
    Dollar,
    /// PostgreSQL: read `$` and this many bytes of the closing tag.
    DollarEnd(u8),
    /// Inside `-- ...` up to the end of the line.
    LineComment,
    /// Inside `/* ... */`.
    BlockComment,
    /// Saw `*` inside a block comment.
    BlockStar,
    /// Inside the data of a `COPY ... FROM stdin;` block.
    Copy(Copy),
}

/// What statement the lexer is in, as far as it matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Stmt {
    #[default]
    Start,
    Insert,
    Values,
    Copy,
    CopyFrom,
    CopyStdin,
    Other,
}

/// Events of the lexer.
pub trait Events {
    /// A byte of the current string literal or COPY field (already unescaped).
    fn string_byte(&mut self, b: u8);
    /// The current string literal or COPY field ended.
    fn string_end(&mut self);
    /// A tuple `( ... )` of an `INSERT ... VALUES` statement starts.
    fn tuple_start(&mut self) {}
    /// A tuple `( ... )` of an `INSERT ... VALUES` statement ended.
    fn tuple_end(&mut self);
    /// A row of a COPY block ended.
    fn copy_row_end(&mut self) {}
    /// A statement ended (`;`).
    fn statement_end(&mut self) {}
    /// A COPY data block starts.
    fn copy_start(&mut self) {}
    /// A COPY data block ended (`\.`).
    fn copy_end(&mut self) {}
    /// An unquoted `@` inside a tuple: the quotes are out of step (wrong escape dialect or a
    /// broken dump), so this tuple's strings are not what the dump meant.
    fn bare_at(&mut self) {}
    /// A string ran into the next `INSERT INTO` or `COPY` line: it never closed where the dump
    /// meant.
    /// The current string is dropped; `rows` tuples were swallowed by it (an estimate).
    fn unclosed_string(&mut self, _rows: u64) {}
}

/// The lines that end a runaway string: a string literal never holds them in a real dump.
const RESYNC: &[u8] = b"\nINSERT INTO ";
/// The same, for PostgreSQL dumps made of COPY blocks.
const RESYNC_COPY: &[u8] = b"\nCOPY ";
/// Longest dollar-quote tag recognized (`$body$`); a longer one is not read as a quote.
const DOLLAR_TAG: usize = 16;
/// Longest keyword the lexer needs to recognize (`REPLACE`).
const WORD: usize = 8;

/// The lexer: feed it bytes in order, chunk after chunk.
#[derive(Debug, Clone, Default)]
pub struct Lexer {
    /// Current state.
    pub state: State,
    /// Escape rules.
    pub dialect: Dialect,
    depth: u32,
    prev: u8,
    stmt: Stmt,
    copy_pending: bool,
    word: [u8; WORD],
    word_len: u8,
    /// Tag of the current dollar quote.
    tag: [u8; DOLLAR_TAG],
    tag_len: u8,
    /// Progress matching [`RESYNC`] and [`RESYNC_COPY`] inside a string.
    guard: u8,
    guard_copy: u8,
    /// Last two non-blank bytes inside the current string, and tuples it swallowed.
    tail: [u8; 2],
    swallowed: u64,
}

fn unescape(b: u8) -> u8 {
    match b {
        b'n' => b'\n',
        b't' => b'\t',
        b'r' => b'\r',
        b'b' => 8,
        b'f' => 12,
        b'0' => 0,
        b'Z' => 0x1a,
        other => other,
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl Lexer {
    /// A lexer for a dump of `dialect`.
    pub fn new(dialect: Dialect) -> Lexer {
        Lexer { dialect, ..Lexer::default() }
    }

    /// Whether the stream may be cut here: between tokens and outside any tuple (so that no
    /// tuple's strings are split between two chunks), or at the start of a COPY row.
    pub fn at_boundary(&self) -> bool {
        match self.state {
            State::Normal => self.depth == 0,
            State::Copy(Copy::LineStart) => true,
            _ => false,
        }
    }

    /// Whether the stream may be cut just after `b`, the byte last fed: at a boundary
    /// ([`Lexer::at_boundary`]) that ends a line, a tuple, a list item or a statement.
    pub fn cut_after(&self, b: u8) -> bool {
        self.at_boundary() && matches!(b, b'\n' | b',' | b';' | b')')
    }

    /// Whether the lexer is inside a COPY data block.
    pub fn in_copy(&self) -> bool {
        matches!(self.state, State::Copy(_))
    }

    fn end_word(&mut self) {
        if self.word_len == 0 {
            return;
        }
        let w = if (self.word_len as usize) <= WORD { &self.word[..self.word_len as usize] } else { b"" };
        self.stmt = match (self.stmt, w) {
            (Stmt::Start, b"INSERT" | b"REPLACE") => Stmt::Insert,
            (Stmt::Start, b"COPY") => Stmt::Copy,
            (Stmt::Start, _) => Stmt::Other,
            (Stmt::Insert, b"VALUES") => Stmt::Values,
            (Stmt::Copy, b"FROM") => Stmt::CopyFrom,
            (Stmt::CopyFrom, b"STDIN") => Stmt::CopyStdin,
            (Stmt::CopyFrom, _) => Stmt::Copy,
            (s, _) => s,
        };
        self.word_len = 0;
    }

    fn open_string(&mut self, q: u8, escapes: bool) -> State {
        self.guard = 0;
        self.guard_copy = 0;
        self.tail = [0; 2];
        self.swallowed = 0;
        State::Quoted(q, escapes)
    }

    /// Watches string content for the signs of a runaway string. Returns true when the
    /// string ran into the next `INSERT INTO` or `COPY` line (the lexer is then reset to read
    /// it).
    fn watch<E: Events>(&mut self, b: u8, ev: &mut E) -> bool {
        let step = |at: u8, pattern: &[u8]| if b == pattern[at as usize] { at + 1 } else { u8::from(b == b'\n') };
        self.guard = step(self.guard, RESYNC);
        self.guard_copy = step(self.guard_copy, RESYNC_COPY);
        if !b.is_ascii_whitespace() {
            if b == b'(' && self.tail == [b')', b','] {
                self.swallowed += 1;
            }
            self.tail = [self.tail[1], b];
        }
        let insert = self.guard as usize == RESYNC.len();
        if insert || self.guard_copy as usize == RESYNC_COPY.len() {
            ev.unclosed_string(self.swallowed + 1);
            self.state = State::Normal;
            self.stmt = if insert { Stmt::Insert } else { Stmt::Copy };
            self.depth = 0;
            self.word_len = 0;
            self.prev = b' ';
            self.guard = 0;
            self.guard_copy = 0;
            return true;
        }
        false
    }

    /// Consumes one byte.
    #[inline]
    pub fn feed<E: Events>(&mut self, b: u8, ev: &mut E) {
        let was_comment = self.state == State::BlockStar;
        self.state = match self.state {
            State::Normal => {
                if is_word_byte(b) {
                    if (self.word_len as usize) < WORD {
                        self.word[self.word_len as usize] = b.to_ascii_uppercase();
                    }
                    self.word_len = self.word_len.saturating_add(1);
                    self.prev = b;
                    return;
                }
                // `E'...'` (PostgreSQL): the `E` is a prefix, not a word.
                let e_prefix = self.word_len == 1 && self.word[0] == b'E';
                if b == b'\'' && e_prefix {
                    self.word_len = 0;
                } else {
                    self.end_word();
                }
                match b {
                    b'\'' => {
                        let escapes = self.dialect != Dialect::Postgres || e_prefix;
                        self.open_string(b, escapes)
                    }
                    b'"' if self.dialect == Dialect::MySql => self.open_string(b, true),
                    b'"' | b'`' => State::Ident(b),
                    // `$tag$...$tag$` (not inside an identifier such as `a$b`).
                    b'$' if self.dialect != Dialect::MySql && !is_word_byte(self.prev) => State::DollarTag(0),
                    b'-' if self.prev == b'-' => State::LineComment,
                    b'*' if self.prev == b'/' => State::BlockComment,
                    b'@' if self.stmt == Stmt::Values && self.depth > 0 => {
                        ev.bare_at();
                        State::Normal
                    }
                    b'(' => {
                        self.depth += 1;
                        if self.depth == 1 && self.stmt == Stmt::Values {
                            ev.tuple_start();
                        }
                        State::Normal
                    }
                    b')' => {
                        // A stray `)` at depth 0 closes nothing.
                        if self.depth > 0 {
                            self.depth -= 1;
                            if self.depth == 0 && self.stmt == Stmt::Values {
                                ev.tuple_end();
                            }
                        }
                        State::Normal
                    }
                    b';' if self.depth == 0 => {
                        self.copy_pending = self.stmt == Stmt::CopyStdin;
                        self.stmt = Stmt::Start;
                        ev.statement_end();
                        State::Normal
                    }
                    b'\n' if self.copy_pending => {
                        self.copy_pending = false;
                        ev.copy_start();
                        State::Copy(Copy::LineStart)
                    }
                    _ => State::Normal,
                }
            }
            State::Quoted(q, escapes) => {
                if self.watch(b, ev) {
                    return;
                }
                if b == b'\\' && escapes {
                    State::Escape(q)
                } else if b == q {
                    State::QuoteEnd(q, escapes)
                } else {
                    ev.string_byte(b);
                    State::Quoted(q, escapes)
                }
            }
            State::Escape(q) => {
                if self.watch(b, ev) {
                    return;
                }
                ev.string_byte(unescape(b));
                State::Quoted(q, true)
            }
            State::QuoteEnd(q, escapes) => {
                if b == q {
                    // A doubled quote is a literal quote.
                    ev.string_byte(q);
                    State::Quoted(q, escapes)
                } else {
                    ev.string_end();
                    self.state = State::Normal;
                    self.prev = 0;
                    return self.feed(b, ev);
                }
            }
            State::DollarTag(n) => {
                if b == b'$' {
                    self.tag_len = n;
                    State::Dollar
                } else if is_word_byte(b) && !(n == 0 && b.is_ascii_digit()) && (n as usize) < DOLLAR_TAG {
                    self.tag[n as usize] = b;
                    State::DollarTag(n + 1)
                } else {
                    // `$1`, a lone `$`: not a quote.
                    self.state = State::Normal;
                    self.prev = 0;
                    return self.feed(b, ev);
                }
            }
            State::Dollar => {
                if b == b'$' {
                    State::DollarEnd(0)
                } else {
                    State::Dollar
                }
            }
            State::DollarEnd(k) => {
                if k == self.tag_len && b == b'$' {
                    State::Normal
                } else if k < self.tag_len && b == self.tag[k as usize] {
                    State::DollarEnd(k + 1)
                } else if b == b'$' {
                    State::DollarEnd(0)
                } else {
                    State::Dollar
                }
            }
            State::Ident(q) => {
                if b == q {
                    State::IdentEnd(q)
                } else {
                    State::Ident(q)
                }
            }
            State::IdentEnd(q) => {
                if b == q {
                    State::Ident(q)
                } else {
                    self.state = State::Normal;
                    self.prev = 0;
                    return self.feed(b, ev);
                }
            }
            State::LineComment => {
                if b == b'\n' {
                    if self.copy_pending {
                        self.copy_pending = false;
                        ev.copy_start();
                        State::Copy(Copy::LineStart)
                    } else {
                        State::Normal
                    }
                } else {
                    State::LineComment
                }
            }
            State::BlockComment => {
                if b == b'*' {
                    State::BlockStar
                } else {
                    State::BlockComment
                }
            }
            State::BlockStar => match b {
                b'/' => State::Normal,
                b'*' => State::BlockStar,
                _ => State::BlockComment,
            },
            State::Copy(c) => self.copy(c, b, ev),
        };
        // `prev` only matters in the normal state (for `--` and `/*`); the `/` that closes a
        // comment does not start another.
        self.prev = if self.state == State::Normal && !was_comment { b } else { 0 };
    }

    /// One byte of COPY data (PostgreSQL text format: tab-separated fields, `\n` ends a row,
    /// backslash escapes, `\N` is NULL, `\.` alone on a line ends the block).
    fn copy<E: Events>(&mut self, c: Copy, b: u8, ev: &mut E) -> State {
        let field = |this: &mut Lexer, b: u8, ev: &mut E| -> State {
            let _ = this;
            match b {
                b'\t' => {
                    ev.string_end();
                    State::Copy(Copy::Field)
                }
                b'\n' => {
                    ev.string_end();
                    ev.copy_row_end();
                    State::Copy(Copy::LineStart)
                }
                b'\\' => State::Copy(Copy::Escape { line_start: false }),
                _ => {
                    ev.string_byte(b);
                    State::Copy(Copy::Field)
                }
            }
        };
        match c {
            Copy::LineStart if b == b'\\' => State::Copy(Copy::Escape { line_start: true }),
            Copy::LineStart | Copy::Field => field(self, b, ev),
            Copy::Escape { line_start } => match b {
                b'.' if line_start => State::Copy(Copy::EndDot),
                b'N' => State::Copy(Copy::Field), // NULL: an empty field
                b'x' => State::Copy(Copy::Hex(0, 0)),
                b'0'..=b'7' => State::Copy(Copy::Octal(b - b'0', 1)),
                b'v' => {
                    ev.string_byte(11);
                    State::Copy(Copy::Field)
                }
                _ => {
                    ev.string_byte(unescape(b));
                    State::Copy(Copy::Field)
                }
            },
            Copy::Octal(v, n) => match b {
                b'0'..=b'7' if n < 3 => {
                    let v = v.wrapping_mul(8).wrapping_add(b - b'0');
                    if n == 2 {
                        ev.string_byte(v);
                        State::Copy(Copy::Field)
                    } else {
                        State::Copy(Copy::Octal(v, n + 1))
                    }
                }
                _ => {
                    ev.string_byte(v);
                    field(self, b, ev)
                }
            },
            Copy::Hex(v, n) => match (b as char).to_digit(16) {
                Some(d) => {
                    let v = v.wrapping_mul(16).wrapping_add(d as u8);
                    if n == 1 {
                        ev.string_byte(v);
                        State::Copy(Copy::Field)
                    } else {
                        State::Copy(Copy::Hex(v, 1))
                    }
                }
                None if n == 0 => {
                    ev.string_byte(b'x');
                    field(self, b, ev)
                }
                None => {
                    ev.string_byte(v);
                    field(self, b, ev)
                }
            },
            Copy::EndDot => match b {
                b'\n' => {
                    ev.copy_end();
                    self.stmt = Stmt::Start;
                    self.depth = 0;
                    self.word_len = 0;
                    State::Normal
                }
                b'\r' => State::Copy(Copy::EndDot),
                _ => {
                    ev.string_byte(b'.');
                    field(self, b, ev)
                }
            },
        }
    }

    /// Ends the input: a string still open at the end is closed, a COPY row still open ends.
    pub fn finish<E: Events>(&mut self, ev: &mut E) {
        self.end_word();
        match self.state {
            State::QuoteEnd(..) => ev.string_end(),
            State::Quoted(..) | State::Escape(_) => ev.unclosed_string(self.swallowed + 1),
            State::Copy(Copy::Field | Copy::Escape { line_start: false } | Copy::Octal(..) | Copy::Hex(..)) => {
                if let State::Copy(Copy::Octal(v, _) | Copy::Hex(v, 1..)) = self.state {
                    ev.string_byte(v);
                }
                ev.string_end();
                ev.copy_row_end();
            }
            _ => {}
        }
        self.state = State::Normal;
    }

    /// Forgets any open string or comment (after a forced cut of an over-long literal).
    pub fn reset(&mut self) {
        *self = Lexer::new(self.dialect);
    }
}

/// Settles the dialect of a dump from its first bytes, and says why.
pub fn detect_dialect(head: &[u8]) -> (Dialect, &'static str) {
    let has = |needle: &[u8]| memchr::memmem::find(head, needle).is_some();
    let lower = head.to_ascii_lowercase();
    let has_lower = |needle: &[u8]| memchr::memmem::find(&lower, needle).is_some();
    let scs_off = has_lower(b"standard_conforming_strings = off") || has_lower(b"standard_conforming_strings=off");
    if has(b"-- PostgreSQL database dump") || has(b"-- Dumped by pg_dump") {
        if scs_off {
            return (Dialect::PostgresLegacy, "pg_dump header, standard_conforming_strings off");
        }
        return (Dialect::Postgres, "pg_dump header");
    }
    if scs_off {
        return (Dialect::PostgresLegacy, "SET standard_conforming_strings = off");
    }
    if has_lower(b"standard_conforming_strings = on") || has_lower(b"standard_conforming_strings=on") {
        return (Dialect::Postgres, "SET standard_conforming_strings = on");
    }
    if has(b"-- MySQL dump") || has(b"-- MariaDB dump") {
        return (Dialect::MySql, "mysqldump header");
    }
    if has_lower(b" from stdin;") {
        return (Dialect::Postgres, "COPY ... FROM stdin block");
    }
    if has(b"`") {
        return (Dialect::MySql, "backtick identifiers");
    }
    if has(b"\\'") {
        return (Dialect::MySql, "backslash-escaped quotes");
    }
    if has_lower(b"public.") || has_lower(b"pg_catalog.") {
        return (Dialect::Postgres, "PostgreSQL schema names");
    }
    (Dialect::MySql, "no dialect marker: MySQL escapes, runaway strings reported")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect {
        cur: Vec<u8>,
        strings: Vec<String>,
        tuples: usize,
        rows: usize,
        bare: usize,
        lost: u64,
    }
    impl Events for Collect {
        fn string_byte(&mut self, b: u8) {
            self.cur.push(b);
        }
        fn string_end(&mut self) {
            self.strings.push(String::from_utf8(std::mem::take(&mut self.cur)).unwrap());
        }
        fn tuple_end(&mut self) {
            self.tuples += 1;
        }
        fn copy_row_end(&mut self) {
            self.rows += 1;
        }
        fn bare_at(&mut self) {
            self.bare += 1;
        }
        fn unclosed_string(&mut self, rows: u64) {
            self.cur.clear();
            self.lost += rows;
        }
    }

    fn lex(dialect: Dialect, s: &str) -> Collect {
        let mut l = Lexer::new(dialect);
        let mut c = Collect::default();
        for b in s.bytes() {
            l.feed(b, &mut c);
        }
        l.finish(&mut c);
        c
    }

    #[test]
    fn reads_strings_with_both_escapes_and_counts_tuples() {
        let c = lex(
            Dialect::MySql,
            "INSERT INTO u VALUES (1,'o\\'neil@example.com','it''s'),(2,\"b@example.com\",'x\\\\');",
        );
        assert_eq!(c.strings, ["o'neil@example.com", "it's", "b@example.com", "x\\"]);
        assert_eq!(c.tuples, 2);
    }

    #[test]
    fn skips_comments_and_parentheses_inside_strings() {
        let c = lex(
            Dialect::MySql,
            "-- 'not@example.com'\n/* 'nor@example.com' */ INSERT INTO t VALUES ('(a@example.com');",
        );
        assert_eq!(c.strings, ["(a@example.com"]);
        assert_eq!(c.tuples, 1);
    }

    #[test]
    fn column_lists_and_create_table_are_not_tuples() {
        let c = lex(
            Dialect::MySql,
            "CREATE TABLE `u` (`id` int, `email` varchar(255));\nINSERT INTO `u` (`id`,`email`) VALUES (1,'a@example.com'),(2,'b@example.com');\n",
        );
        assert_eq!(c.tuples, 2);
        assert_eq!(c.strings, ["a@example.com", "b@example.com"]);
    }

    #[test]
    fn postgres_string_ending_in_backslash_does_not_swallow_the_next_string() {
        let sql = "INSERT INTO public.u VALUES (1, 'C:\\', 'a@example.com'), (2, E'x\\'y', 'b@example.com');";
        let c = lex(Dialect::Postgres, sql);
        assert_eq!(c.strings, ["C:\\", "a@example.com", "x'y", "b@example.com"]);
        assert_eq!((c.tuples, c.bare, c.lost), (2, 0, 0));
        // The same dump read with MySQL rules is out of step, and says so.
        let c = lex(Dialect::MySql, &format!("{sql}\nINSERT INTO public.u VALUES (3, 'c@example.com');\n"));
        assert!(c.bare > 0 || c.lost > 0, "bare {} lost {}", c.bare, c.lost);
        assert_eq!(c.strings.last().map(String::as_str), Some("c@example.com"));
    }

    #[test]
    fn runaway_string_resyncs_at_the_next_copy_block() {
        // standard_conforming_strings off, yet a string written for on: `'C:\'` runs away.
        let sql = "COMMENT ON TABLE t IS 'C:\\';\nCOPY public.u (email) FROM stdin;\na@example.com\n\\.\n";
        let c = lex(Dialect::PostgresLegacy, sql);
        assert_eq!((c.lost, c.rows), (1, 1));
        assert_eq!(c.strings, ["a@example.com"]);
    }

    #[test]
    fn postgres_dollar_quoted_bodies_are_skipped_whole() {
        let sql = "CREATE FUNCTION f() RETURNS text LANGUAGE plpython3u AS $body$\n# don't $x$ 'a@example.com\nreturn \"$\"\n$body$;\nCREATE FUNCTION g() AS $$ SELECT $1 $$;\nINSERT INTO public.t VALUES ('b@example.com', 'x$y');\n";
        let c = lex(Dialect::Postgres, sql);
        assert_eq!(c.strings, ["b@example.com", "x$y"]);
        assert_eq!((c.tuples, c.lost, c.bare), (1, 0, 0));
    }

    #[test]
    fn copy_rows_are_fields_with_copy_escapes() {
        let sql = "COPY public.users (id, email, note) FROM stdin;\n1\ta@example.com\tx\\ty\n2\t\\N\t\\x41\\101\\\\\n\\.\nSELECT 1;\n";
        let c = lex(Dialect::Postgres, sql);
        assert_eq!(c.strings, ["1", "a@example.com", "x\ty", "2", "", "AA\\"]);
        assert_eq!((c.rows, c.tuples), (2, 0));
    }
}
