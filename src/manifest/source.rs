//! Manifest files as read from disk, and positions inside them.
//!
//! Every error about a manifest names the file, line and column, so the
//! source text is kept next to what was parsed from it.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::error::{ManifestError, ReadFailure};

/// One manifest file and its text.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

impl SourceFile {
    /// Reads a manifest, saying why it cannot be: a file that is not UTF-8
    /// is named with the offset, line and column of its first bad byte.
    pub fn read(path: &Path) -> Result<SourceFile, ManifestError> {
        let failed = |failure| ManifestError::Read {
            path: path.to_path_buf(),
            failure,
            hint: None,
        };
        let bytes = std::fs::read(path).map_err(|e| failed(ReadFailure::from_io(&e)))?;
        match String::from_utf8(bytes) {
            Ok(text) => Ok(SourceFile {
                path: path.to_path_buf(),
                text,
            }),
            Err(e) => {
                let offset = e.utf8_error().valid_up_to();
                let valid = String::from_utf8_lossy(&e.as_bytes()[..offset]).into_owned();
                let line = valid.matches('\n').count() + 1;
                let column = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                Err(failed(ReadFailure::NotUtf8 { offset, line, column }))
            }
        }
    }

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
