//! A streaming lexer for SQL dumps: finds string literals (with `\'`, `''` and the other
//! MySQL backslash escapes) and tuple boundaries, skipping comments.
//!
//! Written by hand: the SQL parser crates build a full syntax tree per statement, and dump
//! statements are often megabytes long; we need only the string literals, in bounded memory.

/// Where the lexer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum State {
    /// Between tokens.
    #[default]
    Normal,
    /// Inside a quoted string (the quote byte).
    Quoted(u8),
    /// After a backslash inside a quoted string.
    Escape(u8),
    /// A quote that may close the string or start a doubled quote.
    QuoteEnd(u8),
    /// Inside `-- ...` up to the end of the line.
    LineComment,
    /// Inside `/* ... */`.
    BlockComment,
    /// Saw `*` inside a block comment.
    BlockStar,
}

/// Events of the lexer.
pub trait Events {
    /// A byte of the current string literal (already unescaped).
    fn string_byte(&mut self, b: u8);
    /// The current string literal ended.
    fn string_end(&mut self);
    /// A top-level tuple `( ... )` ended.
    fn tuple_end(&mut self);
}

/// The lexer: feed it bytes in order, chunk after chunk.
#[derive(Debug, Clone, Default)]
pub struct Lexer {
    /// Current state.
    pub state: State,
    depth: u32,
    prev: u8,
}

fn unescape(b: u8) -> u8 {
    match b {
        b'n' => b'\n',
        b't' => b'\t',
        b'r' => b'\r',
        b'0' => 0,
        b'Z' => 0x1a,
        other => other,
    }
}

impl Lexer {
    /// Whether the lexer is between tokens (a safe place to cut the stream).
    pub fn is_normal(&self) -> bool {
        self.state == State::Normal
    }

    /// Consumes one byte.
    #[inline]
    pub fn feed<E: Events>(&mut self, b: u8, ev: &mut E) {
        let was_comment = self.state == State::BlockStar;
        self.state = match self.state {
            State::Normal => match b {
                b'\'' | b'"' => State::Quoted(b),
                b'-' if self.prev == b'-' => State::LineComment,
                b'*' if self.prev == b'/' => State::BlockComment,
                b'(' => {
                    self.depth += 1;
                    State::Normal
                }
                b')' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        ev.tuple_end();
                    }
                    State::Normal
                }
                _ => State::Normal,
            },
            State::Quoted(q) => {
                if b == b'\\' {
                    State::Escape(q)
                } else if b == q {
                    State::QuoteEnd(q)
                } else {
                    ev.string_byte(b);
                    State::Quoted(q)
                }
            }
            State::Escape(q) => {
                ev.string_byte(unescape(b));
                State::Quoted(q)
            }
            State::QuoteEnd(q) => {
                if b == q {
                    // A doubled quote is a literal quote.
                    ev.string_byte(q);
                    State::Quoted(q)
                } else {
                    ev.string_end();
                    self.state = State::Normal;
                    self.prev = 0;
                    return self.feed(b, ev);
                }
            }
            State::LineComment => {
                if b == b'\n' {
                    State::Normal
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
        };
        // `prev` only matters in the normal state (for `--` and `/*`); the `/` that closes a
        // comment does not start another.
        self.prev = if self.state == State::Normal && !was_comment { b } else { 0 };
    }

    /// Ends the input: a string still open at the end is closed.
    pub fn finish<E: Events>(&mut self, ev: &mut E) {
        if matches!(self.state, State::QuoteEnd(_)) {
            ev.string_end();
        }
        self.state = State::Normal;
    }

    /// Forgets any open string or comment (after a forced cut of an over-long literal).
    pub fn reset(&mut self) {
        *self = Lexer::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect {
        cur: Vec<u8>,
        strings: Vec<String>,
        tuples: usize,
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
    }

    fn lex(s: &str) -> Collect {
        let mut l = Lexer::default();
        let mut c = Collect::default();
        for b in s.bytes() {
            l.feed(b, &mut c);
        }
        l.finish(&mut c);
        c
    }

    #[test]
    fn reads_strings_with_both_escapes_and_counts_tuples() {
        let c = lex("INSERT INTO u VALUES (1,'o\\'neil@example.com','it''s'),(2,\"b@example.com\",'x\\\\');");
        assert_eq!(c.strings, ["o'neil@example.com", "it's", "b@example.com", "x\\"]);
        assert_eq!(c.tuples, 2);
    }

    #[test]
    fn skips_comments_and_parentheses_inside_strings() {
        let c = lex("-- 'not@example.com'\n/* 'nor@example.com' */ INSERT INTO t VALUES ('(a@example.com');");
        assert_eq!(c.strings, ["(a@example.com"]);
        assert_eq!(c.tuples, 1);
    }
}
