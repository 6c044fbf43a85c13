//! Helpers every system uses to describe file changes and fingerprint them.

use sha2::{Digest, Sha256};

/// A unified diff of two texts, headed by the path they are the content of.
pub fn unified_diff(before: &str, after: &str, path: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(path, path)
        .to_string()
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
