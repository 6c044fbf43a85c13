//! Manifest files as read from disk, and positions inside them.
//!
//! Every error about a manifest names the file, line and column, so the
//! source text is kept next to what was parsed from it.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One manifest file and its text.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    /// Byte offset of each line's start: locating a value costs a binary
    /// search, not a scan from the top (which made large manifests
    /// quadratic to load).
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            path,
            text,
            line_starts,
        }
    }

    /// The location of a byte offset, as a person counts it (1-based, the
    /// column in characters). An offset inside a character counts as that
    /// character.
    pub fn location(&self, offset: usize) -> Location {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line_index = self.line_starts.partition_point(|start| *start <= offset) - 1;
        let line_start = self.line_starts[line_index];
        let column = self.text[line_start..offset].chars().count() + 1;
        Location {
            file: self.path.clone(),
            line: line_index + 1,
            column,
        }
    }

    pub fn span_location(&self, span: &Range<usize>) -> Location {
        self.location(span.start)
    }
}

/// Reads a manifest's text, saying why it cannot be read in the user's
/// terms: missing, not allowed, a folder, or not UTF-8 (with the offset of
/// the first bad byte).
pub fn read_manifest_text(path: &Path) -> Result<String, super::ManifestError> {
    let fail = |reason: String| super::ManifestError::Read {
        path: path.to_path_buf(),
        reason,
    };
    let metadata = std::fs::metadata(path).map_err(|e| fail(io_reason(&e, path)))?;
    if !metadata.is_file() {
        return Err(fail("not a regular file".into()));
    }
    if metadata.len() > MAX_MANIFEST_BYTES {
        return Err(fail(format!(
            "larger than {} MiB: is it really a manifest?",
            MAX_MANIFEST_BYTES >> 20
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(io_reason(&e, path)))?;
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let valid = String::from_utf8_lossy(&e.as_bytes()[..offset]).into_owned();
        let at = SourceFile::new(path.to_path_buf(), valid).location(offset);
        fail(format!(
            "not UTF-8: invalid byte at line {}, column {} (byte offset {offset})",
            at.line, at.column
        ))
    })
}

/// Far above any real manifest (100,000 resources fit in a few MiB).
const MAX_MANIFEST_BYTES: u64 = 256 << 20;

fn io_reason(error: &std::io::Error, path: &Path) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound if path == Path::new("geosync.toml") => {
            "not found (geosync.toml is the default manifest; name others with -f FILE)".into()
        }
        std::io::ErrorKind::NotFound => "not found".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => error.to_string(),
    }
}

/// A place in a manifest file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl Location {
    pub fn file_only(path: &Path) -> Self {
        Location {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_lines_and_columns_from_one() {
        let source = SourceFile::new("m.toml".into(), "a = 1\nbé = 2\n".into());
        let at = source.location(source.text.find('2').unwrap());
        assert_eq!((at.line, at.column), (2, 6));
        assert_eq!(at.to_string(), "m.toml:2:6");
        // Inside the two bytes of `é`: the character's column, no panic.
        let inside = source.location(source.text.find('é').unwrap() + 1);
        assert_eq!((inside.line, inside.column), (2, 2));
    }
}
