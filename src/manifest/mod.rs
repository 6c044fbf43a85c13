//! The machinery every system's manifest section is read with.
//!
//! A manifest is a set of TOML files in git describing the whole platform.
//! This module reads the files ([`document`]), keeps every value's place
//! for errors ([`source`], [`error`]), expands `[vars]` ([`vars`]), keeps
//! secrets as references resolved at run time ([`secret`]) and offers the
//! lowering toolkit ([`lower`]). It knows no system: each system lowers its
//! own section, and `platform::manifest` reads them all.

pub mod document;
pub mod error;
pub mod http;
pub mod line;
pub mod lower;
pub mod model;
pub mod raw;
pub mod schema;
pub mod secret;
pub mod source;
pub mod vars;

use std::collections::BTreeMap;
use std::path::PathBuf;

use toml::Spanned;

pub use error::{ManifestError, ManifestErrors};

use document::Document;
use error::closest;
use source::Location;
use vars::Vars;

/// Reads every file; the problems of all of them are reported together.
pub fn read_documents(paths: &[PathBuf], errors: &mut Vec<ManifestError>) -> Vec<Document> {
    let mut documents = Vec::new();
    for path in paths {
        match Document::read(path) {
            Ok(doc) => documents.push(doc),
            Err(problems) => errors.extend(problems),
        }
    }
    documents
}

/// The variables of every file, each declared once, with the overrides.
pub fn collect_vars(documents: &[Document], overrides: &[String], errors: &mut Vec<ManifestError>) -> Vars {
    let mut values = BTreeMap::new();
    let mut declared_at: BTreeMap<String, Location> = BTreeMap::new();
    for doc in documents {
        let source = &doc.source;
        let declared: BTreeMap<String, Spanned<toml::Value>> =
            doc.section("vars", errors).unwrap_or_default();
        for (name, value) in &declared {
            let at = source.span_location(&value.span());
            if let Some(first) = declared_at.get(name) {
                errors.push(ManifestError::Duplicate {
                    at,
                    first: first.clone(),
                    subject: format!("variable `{name}`"),
                });
                continue;
            }
            let text = match value.get_ref() {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => {
                    errors.push(ManifestError::Invalid {
                        at: at.clone(),
                        subject: format!("variable `{name}`"),
                        message: "a variable holds a string, number or boolean".into(),
                    });
                    continue;
                }
            };
            declared_at.insert(name.clone(), at);
            values.insert(name.clone(), text);
        }
    }
    let mut vars = Vars::new(values);
    for assignment in overrides {
        let Some((name, value)) = assignment.split_once('=') else {
            errors.push(ManifestError::MalformedOverride(assignment.clone()));
            continue;
        };
        if vars.contains(name) {
            vars.set(name, value.to_string());
        } else {
            errors.push(ManifestError::UnknownOverride {
                name: name.to_string(),
                hint: closest(name, vars.names()).map(|c| format!("did you mean `{c}`?")),
            });
        }
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::document::did_you_mean;

    #[test]
    fn suggestion_comes_from_the_expected_list() {
        assert_eq!(
            did_you_mean("unknown field `titel`, expected one of `name`, `title`", &[]).as_deref(),
            Some("did you mean `title`?")
        );
        assert_eq!(did_you_mean("invalid type: integer", &[]), None);
    }
}
