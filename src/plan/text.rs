//! Helpers every system uses to describe file changes and fingerprint them.

use sha2::{Digest, Sha256};

use crate::escape::escape;

/// A unified diff of two texts, headed by the path they are the content of
/// (escaped: a newline in a path must not start a line of the diff).
pub fn unified_diff(before: &str, after: &str, path: &str) -> String {
    let path = escape(path);
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&path, &path)
        .to_string()
}

/// Stands for a removed line of a file that holds secrets.
pub const HIDDEN_LINE: &str = "(line hidden: the file holds secrets)";

/// A unified diff that never shows removed lines. For files holding
/// secrets: their current content may hold an old secret that geosync no
/// longer knows and so cannot redact. Added and unchanged lines come from
/// the desired content, already rendered with `(sensitive)` placeholders.
pub fn unified_diff_hiding_removed(before: &str, after: &str, path: &str) -> String {
    let diff = similar::TextDiff::from_lines(before, after);
    let path = escape(path);
    let mut out = format!("--- {path}\n+++ {path}\n");
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        out.push_str(&format!("{}\n", hunk.header()));
        for change in hunk.iter_changes() {
            let line = match change.tag() {
                similar::ChangeTag::Delete => format!("-{HIDDEN_LINE}\n"),
                similar::ChangeTag::Insert => format!("+{}", change.value()),
                similar::ChangeTag::Equal => format!(" {}", change.value()),
            };
            out.push_str(&line);
            if !line.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}

/// A digest of the parts a change was computed from. Each part is
/// length-prefixed, so ("ab", "c") and ("a", "bc") differ.
pub fn fingerprint(parts: &[&[u8]]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    hex::encode(hash.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_lines_are_hidden_added_and_context_lines_shown() {
        let diff = unified_diff_hiding_removed("a\npw=old\nc\n", "a\npw=(sensitive)\nc\n", "f");
        assert_eq!(
            diff,
            format!("--- f\n+++ f\n@@ -1,3 +1,3 @@\n a\n-{HIDDEN_LINE}\n+pw=(sensitive)\n c\n")
        );
        assert!(!diff.contains("pw=old"));
    }
}
