//! Text made fit for a record: XML 1.0 cannot hold most control characters
//! even escaped (`&#1;` is not well-formed), so they are dropped, and one-line
//! fields (titles, names, keywords) lose their line breaks.

/// Whether XML 1.0 allows the character (§2.2 Char), C1 controls excluded:
/// they are allowed but only ever garbage in a title.
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
        || c >= '\u{10000}'
}

/// Whether XML 1.0 can hold the character at all (§2.2 Char).
pub fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}') || c >= '\u{10000}'
}

/// The text without the characters XML cannot hold.
pub fn xml_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().all(xml_char) {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(text.chars().filter(|c| xml_char(*c)).collect())
    }
}

/// One line: controls dropped, whitespace runs made one space, trimmed.
pub fn clean_line(text: &str) -> String {
    let kept: String = text.chars().filter(|c| allowed(*c)).collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A block (an abstract): controls dropped, lines trimmed at their end,
/// at most one empty line in a row, no empty line at either end.
pub fn clean_block(text: &str) -> String {
    let kept: String = text
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|c| allowed(*c))
        .collect();
    let mut out: Vec<String> = Vec::new();
    for line in kept.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() && out.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        out.push(line);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

/// A file or layer name made readable: `120_roads-v2` -> `120 roads v2`.
pub fn readable_name(name: &str) -> String {
    clean_line(&name.replace(['_', '-', '.'], " "))
}

/// None for a value that is empty once cleaned.
pub fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_dropped_and_lines_joined() {
        assert_eq!(clean_line("a\u{0}b\u{1b}[31m \n\t c\u{85}\u{fffe}"), "ab[31m c");
        assert_eq!(clean_line("<&>\""), "<&>\"");
        assert_eq!(clean_block("\n\n a \r\n\r\n\r\nb\u{7}  \n\n"), "a\n\nb");
    }

    #[test]
    fn names_become_words() {
        assert_eq!(readable_name("120_utf8_lambert93-cpg"), "120 utf8 lambert93 cpg");
    }
}
