//! What can be wrong with a manifest, each error with where it is.

use std::path::PathBuf;

use super::source::Location;
use crate::escape::escape;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{path}: cannot read manifest: {reason}")]
    Read { path: PathBuf, reason: String },

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

impl ManifestError {
    /// Where the problem is, when it is in a file.
    pub fn location(&self) -> Option<&Location> {
        match self {
            ManifestError::Syntax { at, .. }
            | ManifestError::UndefinedVar { at, .. }
            | ManifestError::Invalid { at, .. }
            | ManifestError::Duplicate { at, .. }
            | ManifestError::MissingSecret { at, .. }
            | ManifestError::Template { at, .. } => Some(at),
            ManifestError::Read { .. }
            | ManifestError::UnknownOverride { .. }
            | ManifestError::MalformedOverride(_) => None,
        }
    }
}

impl ManifestError {
    /// Where the problem is, as the JSON error document says it: a place
    /// in a file, a whole file (one that cannot be read), or nowhere (a
    /// `--var` on the command line).
    pub fn place(&self) -> Option<Location> {
        match self {
            ManifestError::Read { path, .. } => Some(Location::file_only(path)),
            other => other.location().cloned(),
        }
    }

    /// The message without its place.
    pub fn message(&self) -> String {
        let text = self.to_string();
        match self.place() {
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

impl ManifestErrors {
    /// Orders the problems as a person reads the files: file by file in
    /// the order given, top to bottom; problems without a place first.
    pub fn in_reading_order(mut self, files: &[std::path::PathBuf]) -> Self {
        self.0.sort_by_key(|error| {
            error.location().map(|at| {
                let file = files.iter().position(|f| *f == at.file).unwrap_or(usize::MAX);
                (file, at.line, at.column)
            })
        });
        self
    }
}

impl From<ManifestError> for ManifestErrors {
    fn from(error: ManifestError) -> Self {
        ManifestErrors(vec![error])
    }
}

/// Rewrites serde's wording ("invalid type: string \"11\", expected i64")
/// in the manifest's ("zoom must be an integer, found the string \"11\"").
/// `key` is the key the value is written under, when known.
pub fn in_manifest_words(message: &str, key: Option<&str>) -> String {
    let subject = key.map_or_else(|| "the value".to_string(), str::to_string);
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            return format!(
                "{subject} must be {}, found {}",
                expected_words(expected),
                found_words(found)
            );
        }
    }
    if let Some(rest) = message.strip_prefix("invalid value: ") {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            return format!(
                "{subject} must be {}, found {}",
                expected_words(expected),
                found_words(found)
            );
        }
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        return format!("unknown key {}", rest.split(',').next().unwrap_or(rest));
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        return format!("missing key {rest}");
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        return match rest.split_once(", expected ") {
            Some((found, expected)) => format!("{subject} must be {expected}, found {found}"),
            None => format!("{subject}: unknown value {rest}"),
        };
    }
    if message.starts_with("data did not match any variant of untagged enum") {
        return format!("{subject} has none of the forms it accepts (see the manifest reference)");
    }
    message.to_string()
}

fn expected_words(expected: &str) -> String {
    match expected {
        "i64" | "i32" | "i16" | "i8" | "isize" => "an integer".into(),
        "u64" | "u32" | "u16" | "u8" | "usize" => "an integer of 0 or more".into(),
        "f64" | "f32" => "a number".into(),
        "a boolean" | "bool" => "true or false".into(),
        "a string" | "a borrowed string" | "string" | "a character" => "a string".into(),
        "a sequence" => "an array".into(),
        "a map" => "a table".into(),
        other if other.starts_with("struct ") => "a table".into(),
        other if other.starts_with("a sequence") => "an array".into(),
        other => other.into(),
    }
}

fn found_words(found: &str) -> String {
    let strip = |s: &str| s.trim_matches('`').to_string();
    if let Some(s) = found.strip_prefix("string ") {
        return format!("the string {s}");
    }
    if let Some(n) = found.strip_prefix("integer ") {
        return format!("the integer {}", strip(n));
    }
    if let Some(n) = found.strip_prefix("floating point ") {
        return format!("the number {}", strip(n));
    }
    if let Some(b) = found.strip_prefix("boolean ") {
        return strip(b);
    }
    match found {
        "sequence" => "an array".into(),
        "map" => "a table".into(),
        other => other.into(),
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
    use super::{closest, in_manifest_words};

    #[test]
    fn serde_wording_becomes_the_manifests() {
        assert_eq!(
            in_manifest_words("invalid type: string \"11\", expected i64", Some("zoom")),
            "zoom must be an integer, found the string \"11\""
        );
        assert_eq!(
            in_manifest_words("invalid type: integer `3`, expected a string", Some("id")),
            "id must be a string, found the integer 3"
        );
        assert_eq!(
            in_manifest_words("unknown field `titel`, expected one of `name`, `title`", None),
            "unknown key `titel`"
        );
        assert_eq!(
            in_manifest_words("missing field `name`", None),
            "missing key `name`"
        );
    }

    #[test]
    fn suggests_a_close_key_and_nothing_for_nonsense() {
        assert_eq!(closest("titel", ["name", "title", "logo"]), Some("title"));
        assert_eq!(closest("zzzz", ["name", "title"]), None);
    }
}
