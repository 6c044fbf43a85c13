//! What can be wrong with a manifest, each error with where it is.

use std::path::PathBuf;

use super::source::Location;
use crate::escape::escape;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{}: cannot read manifest: {failure}{}", .path.display(), hint_suffix(.hint))]
    Read {
        path: PathBuf,
        failure: ReadFailure,
        hint: Option<String>,
    },

    #[error("{at}: {message}{}", hint_suffix(.hint))]
    Syntax {
        at: Location,
        message: String,
        hint: Option<String>,
    },

    #[error("{at}: undefined variable `${{{name}}}`{}", hint_suffix(.hint))]
    UndefinedVar {
        at: Location,
        name: String,
        hint: Option<String>,
    },

    #[error("--var {name}: no variable `{name}` is declared in [vars]{}", hint_suffix(.hint))]
    UnknownOverride { name: String, hint: Option<String> },

    #[error("--var {0}: expected name=value")]
    MalformedOverride(String),

    #[error("{at}: {subject}: {message}")]
    Invalid {
        at: Location,
        subject: String,
        message: String,
    },

    #[error("{at}: {subject} is already defined at {first}")]
    Duplicate {
        at: Location,
        first: Location,
        subject: String,
    },

    #[error("{at}: {subject}: secret {reference} is not available: {reason}")]
    MissingSecret {
        at: Location,
        subject: String,
        reference: String,
        reason: String,
    },

    #[error("{at}: template {template}: {message}")]
    Template {
        at: Location,
        template: String,
        message: String,
    },
}

/// Why a manifest file could not be read, in the user's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadFailure {
    #[error("no such file")]
    NotFound,
    #[error("permission denied")]
    PermissionDenied,
    #[error("it is a directory")]
    IsADirectory,
    #[error("a folder on its path is a file")]
    NotADirectory,
    #[error("not UTF-8: invalid byte at offset {offset} (line {line}, column {column})")]
    NotUtf8 {
        offset: usize,
        line: usize,
        column: usize,
    },
    #[error("{0}")]
    Other(String),
}

impl ReadFailure {
    pub fn from_io(error: &std::io::Error) -> Self {
        match error.kind() {
            std::io::ErrorKind::NotFound => ReadFailure::NotFound,
            std::io::ErrorKind::PermissionDenied => ReadFailure::PermissionDenied,
            std::io::ErrorKind::IsADirectory => ReadFailure::IsADirectory,
            std::io::ErrorKind::NotADirectory => ReadFailure::NotADirectory,
            _ => ReadFailure::Other(error.to_string()),
        }
    }
}

impl ManifestError {
    /// Where the problem is: a place in a file, or a whole file, or
    /// nowhere (a `--var` on the command line).
    pub fn location(&self) -> Option<Location> {
        match self {
            ManifestError::Read { path, .. } => Some(Location::file_only(path)),
            ManifestError::Syntax { at, .. }
            | ManifestError::UndefinedVar { at, .. }
            | ManifestError::Invalid { at, .. }
            | ManifestError::Duplicate { at, .. }
            | ManifestError::MissingSecret { at, .. }
            | ManifestError::Template { at, .. } => Some(at.clone()),
            ManifestError::UnknownOverride { .. } | ManifestError::MalformedOverride(_) => None,
        }
    }

    /// The message without its location.
    pub fn message(&self) -> String {
        let text = self.to_string();
        match self.location() {
            Some(at) => text
                .strip_prefix(&format!("{at}: "))
                .map_or_else(|| text.clone(), str::to_string),
            None => text,
        }
    }
}

fn hint_suffix(hint: &Option<String>) -> String {
    match hint {
        Some(h) => format!(" ({h})"),
        None => String::new(),
    }
}

/// All the problems found in a set of manifests: `validate` reports every
/// one of them at once rather than making the user fix them one run at a time.
#[derive(Debug)]
pub struct ManifestErrors(pub Vec<ManifestError>);

impl std::fmt::Display for ManifestErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self.0.len();
        writeln!(
            f,
            "{count} problem{} in the manifest:",
            if count == 1 { "" } else { "s" }
        )?;
        // One line each: a value with a newline must not make a line of its own.
        for error in &self.0 {
            writeln!(f, "  {}", escape(&error.to_string()))?;
        }
        Ok(())
    }
}

impl std::error::Error for ManifestErrors {}

impl From<ManifestError> for ManifestErrors {
    fn from(error: ManifestError) -> Self {
        ManifestErrors(vec![error])
    }
}

/// The valid name closest to a misspelt one, if one is close enough to be
/// what the user meant.
pub fn closest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(wrong, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn suggests_a_close_key_and_nothing_for_nonsense() {
        assert_eq!(closest("titel", ["name", "title", "logo"]), Some("title"));
        assert_eq!(closest("zzzz", ["name", "title"]), None);
    }
}
