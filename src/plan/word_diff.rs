//! A changed value too long for one `old -> new` line, shown as a word
//! diff: removed words as `[-old-]`, added ones as `{+new+}` (as
//! `git diff --word-diff` marks them), long unchanged stretches shortened
//! to `…`, wrapped to the terminal's usual width. A 400-character value
//! with one word changed then shows that word at a glance.

use similar::{ChangeTag, TextDiff};

use crate::escape::escape;

/// Unchanged text longer than this between changes is shortened.
const KEEP: usize = 24;
/// Width of a wrapped line, indentation excluded.
const WIDTH: usize = 72;

/// The word diff of two texts, as wrapped lines (without indentation).
pub fn word_diff(before: &str, after: &str) -> Vec<String> {
    let old = tokens(before);
    let new = tokens(after);
    let diff = TextDiff::configure().diff_slices(&old, &new);
    let mut pieces: Vec<Piece> = Vec::new();
    for change in diff.iter_all_changes() {
        let text = change.value();
        match (change.tag(), pieces.last_mut()) {
            (tag, Some(last)) if last.tag == tag => last.text.push_str(text),
            (tag, _) => pieces.push(Piece {
                tag,
                text: text.to_string(),
            }),
        }
    }
    let count = pieces.len();
    let marked: Vec<String> = pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| piece.show(i == 0, i + 1 == count))
        .collect();
    wrap(&marked.concat())
}

struct Piece {
    tag: ChangeTag,
    text: String,
}

impl Piece {
    fn show(&self, first: bool, last: bool) -> String {
        let text = escape(&self.text);
        match self.tag {
            ChangeTag::Delete => format!("[-{text}-]"),
            ChangeTag::Insert => format!("{{+{text}+}}"),
            ChangeTag::Equal => shorten(&text, first, last),
        }
    }
}

/// Keeps the unchanged words next to a change, drops the middle.
fn shorten(text: &str, first: bool, last: bool) -> String {
    let chars: Vec<char> = text.chars().collect();
    let keep_head = if first { 0 } else { KEEP };
    let keep_tail = if last { 0 } else { KEEP };
    if chars.len() <= keep_head + keep_tail + 1 {
        return text.to_string();
    }
    let head: String = chars[..keep_head].iter().collect();
    let tail: String = chars[chars.len() - keep_tail..].iter().collect();
    format!("{head}…{tail}")
}

/// Words, and each character between them, so punctuation and spaces are
/// diffed as their own tokens.
fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() || c == '_' {
            start.get_or_insert(i);
            continue;
        }
        if let Some(s) = start.take() {
            out.push(&text[s..i]);
        }
        out.push(&text[i..i + c.len_utf8()]);
    }
    if let Some(s) = start {
        out.push(&text[s..]);
    }
    out
}

/// Breaks at spaces so no line exceeds WIDTH characters, unless one word does.
fn wrap(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let width = line.chars().count() + word.chars().count() + 1;
        if !line.is_empty() && width > WIDTH {
            lines.push(std::mem::take(&mut line));
        } else if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_changed_word_in_a_long_value_is_marked_and_the_rest_shortened() {
        let before = format!(
            "{} -Xmx2g {}",
            "-Dlong.option=value ".repeat(10),
            "-Dend=1 ".repeat(10)
        );
        let after = before.replace("-Xmx2g", "-Xmx4g");
        let lines = word_diff(&before, &after);
        let text = lines.join("\n");
        assert!(text.contains("-[-Xmx2g-]{+Xmx4g+}"), "{text}");
        assert!(text.starts_with('…') && text.ends_with('…'), "{text}");
        assert!(lines.iter().all(|l| l.chars().count() <= WIDTH), "{text}");
    }

    #[test]
    fn control_characters_in_words_are_escaped() {
        let text = word_diff("a b", "a\nb\u{1b}[2J").join("\n");
        assert!(text.contains("\\n") && text.contains("\\u{1b}"), "{text}");
        assert!(!text.contains('\n') && !text.contains('\u{1b}'));
    }
}
