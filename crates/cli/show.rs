//! Text from data (file names, source names, breach titles, server answers) made safe to
//! show on a terminal.

/// Characters never printed raw: control characters, line and paragraph separators,
/// bidirectional formatting characters, and every default-ignorable code point (zero-width
/// space, joiners, soft hyphen, Hangul fillers, variation selectors, tag characters, the BOM),
/// with which two different names print the same (`Breach\u{200b}A` as `BreachA`). Emoji
/// sequences and Persian or Indic text that use U+200C/U+200D or variation selectors show them
/// escaped: the price of never showing two names alike.
pub fn unsafe_char(c: char) -> bool {
    // Controls, line separators, bidirectional formatting, and every default-ignorable code
    // point of Unicode (DerivedCoreProperties: characters that render as nothing, such as the
    // soft hyphen, the Hangul fillers, variation selectors and tag characters).
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFF8}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// `s` safe to print on a terminal: control characters (C0 with tab, newline, CR and ESC,
/// DEL, C1), line and paragraph separators and bidirectional formatting characters (which
/// reorder what follows: U+202E shows `exe.txt` as `txt.exe`) are written as visible escapes,
/// `\x1b` or `\u{202e}`; everything else, every script and emoji, is left as it is. In a
/// string that needs escaping, a backslash is written `\\`, so that the name `a\x1b` (four
/// characters, backslash included) and `a` followed by ESC show differently; a string that
/// needs no escaping is shown as it is, backslashes too.
/// By hand: `char::escape_debug` also escapes quotes, backslashes and combining marks (it
/// would garble `münchen` in decomposed form), and no small crate draws this line.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if !unsafe_char(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    std::borrow::Cow::Owned(out)
}
