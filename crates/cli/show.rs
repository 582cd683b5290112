//! Text from data (file names, source names, breach titles, server answers) made safe to
//! show on a terminal.

/// Characters never printed raw: control characters, line and paragraph separators,
/// bidirectional formatting characters.
pub fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` safe to print on a terminal: control characters (C0 with tab, newline, CR and ESC,
/// DEL, C1), line and paragraph separators and bidirectional formatting characters (which
/// reorder what follows: U+202E shows `exe.txt` as `txt.exe`) are written as visible escapes,
/// `\x1b` or `\u{202e}`; everything else, every script and emoji, is left as it is.
/// By hand: `char::escape_debug` also escapes quotes, backslashes and combining marks (it
/// would garble `münchen` in decomposed form), and no small crate draws this line.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if !unsafe_char(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    std::borrow::Cow::Owned(out)
}
