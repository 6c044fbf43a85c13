//! Text from manifests and systems, made safe to show. A name or value may
//! hold a newline, a carriage return or a terminal escape sequence: printed
//! as is, it could forge plan lines ("+ postgres.role:admin") or drive the
//! user's terminal. Such characters are shown as visible escapes instead
//! (`\n`, `\r`, `\u{1b}`), as Rust's debug output writes them.

use std::borrow::Cow;
use std::fmt::Write;

/// For text that is one line by nature: a name, a value, a message.
/// Every control character is escaped, newlines included.
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_with(text, false)
}

/// For text laid out in lines (a plan, a report, a line of a file's diff):
/// newlines and tabs stay, every other control character is escaped.
pub fn escape_lines(text: &str) -> Cow<'_, str> {
    escape_with(text, true)
}

fn escape_with(text: &str, keep_layout: bool) -> Cow<'_, str> {
    if !text.chars().any(|c| needs_escape(c, keep_layout)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            c if !needs_escape(c, keep_layout) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => write!(out, "\\u{{{:x}}}", u32::from(c)).expect("writing to a String"),
        }
    }
    Cow::Owned(out)
}

/// Control characters (C0, DEL, C1), and the invisible characters that
/// reorder or break lines on screen (bidirectional overrides, Unicode line
/// and paragraph separators).
fn needs_escape(c: char, keep_layout: bool) -> bool {
    match c {
        '\n' | '\t' => !keep_layout,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}' => true,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        c => c.is_control(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_and_text_stays_as_is() {
        assert_eq!(escape("Portail \"Salins\" été"), "Portail \"Salins\" été");
        assert_eq!(
            escape("a\nb\r\tc\u{1b}[2J\u{7f}\u{9b}"),
            "a\\nb\\r\\tc\\u{1b}[2J\\u{7f}\\u{9b}"
        );
        assert_eq!(escape("abc\u{202e}cba"), "abc\\u{202e}cba");
        assert_eq!(escape_lines("a\n\tb\u{1b}[31m\n"), "a\n\tb\\u{1b}[31m\n");
    }
}
