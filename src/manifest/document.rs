//! One manifest file parsed into a tree that remembers where every value is
//! written, and read section by section.
//!
//! A system reads its own section (`[docker]`, `[postgres]`…) into its own
//! raw types; this module knows none of them. Reading collects every
//! problem it can instead of stopping at the first: all syntax errors of a
//! file, and inside a section every unknown key, wrong type and refused
//! value, each at its `file:line:column`. After a problem the offending
//! key is taken out and the section read again, so one typo does not hide
//! the next one; a field reported missing because it was taken out is not
//! reported twice.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;

use serde::de::{DeserializeOwned, IntoDeserializer};
use toml::de::{DeArray, DeTable, DeValue};
use toml::Spanned;

use super::error::{closest, ManifestError};
use super::source::{Location, SourceFile};

/// A parsed manifest file. The tree is parsed again for each section read:
/// a file has a handful of sections, and this keeps the tree from borrowing
/// the text it points into.
#[derive(Debug)]
pub struct Document {
    pub source: SourceFile,
}

/// Enough retries for a section with many problems; past this the rest
/// waits for the next run.
const MAX_PROBLEMS_PER_SECTION: usize = 200;

impl Document {
    /// Reads a file and checks its syntax, reporting every syntax error.
    pub fn read(path: &Path) -> Result<Document, Vec<ManifestError>> {
        let text = super::source::read_manifest_text(path).map_err(|e| vec![e])?;
        let source = SourceFile::new(path.to_path_buf(), text);
        let (_, errors) = DeTable::parse_recoverable(&source.text);
        if errors.is_empty() {
            Ok(Document { source })
        } else {
            Err(errors
                .iter()
                .map(|e| syntax_error(&source, e.message(), e.span(), &[]))
                .collect())
        }
    }

    /// The top-level keys and where each is written.
    pub fn top_level_keys(&self) -> Vec<(String, Location)> {
        let (table, _) = DeTable::parse_recoverable(&self.source.text);
        table
            .get_ref()
            .iter()
            .map(|(key, _)| (key.get_ref().to_string(), self.source.location(key.span().start)))
            .collect()
    }

    /// Reads the top-level key `key` into `T`, if the file has it. Problems
    /// go to `errors`; the value read from what was left is still returned
    /// so later checks can report their own problems too.
    pub fn section<T: DeserializeOwned>(&self, key: &str, errors: &mut Vec<ManifestError>) -> Option<T> {
        let (mut table, _) = DeTable::parse_recoverable(&self.source.text);
        let value = table.get_mut().remove(key)?;
        read_collecting(value, &self.source, key, errors)
    }
}

/// Deserializes a value, taking out each offending key after reporting it.
fn read_collecting<T: DeserializeOwned>(
    mut value: Spanned<DeValue<'_>>,
    source: &SourceFile,
    section: &str,
    errors: &mut Vec<ManifestError>,
) -> Option<T> {
    let mut found = Vec::new();
    let read = read_pruning(&mut value, source, section, &mut found);
    // serde meets keys in its own order; people read top to bottom.
    found.sort_by_key(|(offset, _)| *offset);
    errors.extend(found.into_iter().map(|(_, error)| error));
    read
}

fn read_pruning<T: DeserializeOwned>(
    value: &mut Spanned<DeValue<'_>>,
    source: &SourceFile,
    section: &str,
    errors: &mut Vec<(usize, ManifestError)>,
) -> Option<T> {
    let mut removed: BTreeSet<String> = BTreeSet::new();
    for _ in 0..MAX_PROBLEMS_PER_SECTION {
        let error = match T::deserialize(value.clone().into_deserializer()) {
            Ok(read) => return Some(read),
            Err(error) => error,
        };
        let message = error.message().trim_end();
        let span = error.span();
        let follows_removal = missing_field(message).is_some_and(|field| removed.contains(field));
        if !follows_removal {
            let offset = span.as_ref().map_or(0, |s| s.start);
            errors.push((offset, syntax_error(source, message, span.clone(), &[section])));
        }
        let span = span?;
        match prune(value, &span) {
            Some(key) => {
                removed.insert(key);
            }
            None => return None,
        }
    }
    None
}

fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

/// Takes the entry at `span` out of the tree; returns its key (or "" for
/// an array element). None when nothing there can be taken out.
fn prune(value: &mut Spanned<DeValue<'_>>, span: &Range<usize>) -> Option<String> {
    match value.get_mut() {
        DeValue::Table(table) => {
            let hit = table
                .iter()
                .find(|(k, v)| k.span() == *span || v.span() == *span)
                .map(|(k, _)| k.get_ref().to_string());
            if let Some(key) = hit {
                table.remove(key.as_str());
                return Some(key);
            }
            // Spans of arrays of tables do not cover their elements, so
            // every child is searched.
            table.iter_mut().find_map(|(_, v)| prune(v, span))
        }
        DeValue::Array(array) => {
            if let Some(index) = array.iter().position(|v| v.span() == *span) {
                let mut kept = DeArray::new();
                for (i, item) in array.iter().enumerate() {
                    if i != index {
                        kept.push(item.clone());
                    }
                }
                *array = kept;
                return Some(String::new());
            }
            array.iter_mut().find_map(|v| prune(v, span))
        }
        _ => None,
    }
}

/// A parse or type error in the manifest's words, at its place.
pub fn syntax_error(
    source: &SourceFile,
    message: &str,
    span: Option<Range<usize>>,
    extra_keys: &[&str],
) -> ManifestError {
    let at = span.map_or_else(
        || Location::file_only(&source.path),
        |span| source.location(span.start),
    );
    let key = span_key(source, &at);
    ManifestError::Syntax {
        hint: did_you_mean(message, extra_keys),
        message: super::error::in_manifest_words(message, key.as_deref()),
        at,
    }
}

/// The key written before `=` on the line of a value, to name it in a
/// type error ("zoom must be an integer…").
fn span_key(source: &SourceFile, at: &Location) -> Option<String> {
    let line = source.text.lines().nth(at.line.checked_sub(1)?)?;
    let before: String = line.chars().take(at.column.saturating_sub(1)).collect();
    let before = before.trim_end().strip_suffix('=')?.trim_end();
    let key: String = before
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    (!key.is_empty()).then_some(key)
}

/// serde names an unknown key or variant and the valid ones in backticks:
/// "unknown field `titel`, expected one of `name`, `title`".
pub fn did_you_mean(message: &str, extra: &[&str]) -> Option<String> {
    if !message.starts_with("unknown field") && !message.starts_with("unknown variant") {
        return None;
    }
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let (wrong, valid) = quoted.split_first()?;
    closest(
        wrong,
        valid
            .iter()
            .copied()
            .chain(extra.iter().copied())
            .filter(|c| c != wrong),
    )
    .map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Layer {
        id: String,
        opacity: Option<f64>,
        featurecount: Option<i64>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Section {
        layer: Vec<Layer>,
        zoom: Option<i64>,
    }

    fn read(text: &str) -> (Option<Section>, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.toml");
        std::fs::write(&path, text).unwrap();
        let doc = Document::read(&path).unwrap();
        let mut errors = Vec::new();
        let section = doc.section::<Section>("s", &mut errors);
        let errors = errors
            .iter()
            .map(|e| e.to_string().replace(&path.display().to_string(), "m.toml"))
            .collect();
        (section, errors)
    }

    #[test]
    fn every_unknown_key_and_wrong_type_is_reported_in_one_read() {
        let (section, errors) = read(
            "[s]\nzoom = \"11\"\n[[s.layer]]\nid = \"a\"\nopacty = 0.5\n[[s.layer]]\nid = \"b\"\nfeaturcount = 3\n",
        );
        assert_eq!(
            errors,
            [
                "m.toml:2:8: zoom must be an integer, found the string \"11\"",
                "m.toml:5:1: unknown key `opacty` (did you mean `opacity`?)",
                "m.toml:8:1: unknown key `featurcount` (did you mean `featurecount`?)",
            ],
            "{errors:#?}"
        );
        assert_eq!(section.unwrap().layer.len(), 2);
    }

    #[test]
    fn a_field_taken_out_is_not_reported_missing_again() {
        let (_, errors) = read("[s]\n[[s.layer]]\nid = 3\n");
        assert_eq!(errors, ["m.toml:3:6: id must be a string, found the integer 3"]);
    }

    #[test]
    fn all_syntax_errors_of_a_file_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.toml");
        std::fs::write(&path, "a = \"x\nb = = 2\nc = 3\n").unwrap();
        let errors = Document::read(&path).unwrap_err();
        assert!(errors.len() >= 2, "{errors:?}");
    }
}
