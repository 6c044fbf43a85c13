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
}

impl SourceFile {
    /// The location of a byte offset, as a person counts it (1-based).
    pub fn location(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Location {
            file: self.path.clone(),
            line,
            column,
        }
    }

    pub fn span_location(&self, span: &Range<usize>) -> Location {
        self.location(span.start)
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
        let source = SourceFile {
            path: "m.toml".into(),
            text: "a = 1\nbé = 2\n".into(),
        };
        let at = source.location(source.text.find('2').unwrap());
        assert_eq!((at.line, at.column), (2, 6));
        assert_eq!(at.to_string(), "m.toml:2:6");
    }
}
