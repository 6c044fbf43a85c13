//! `${name}` references to values declared once in `[vars]`.
//!
//! Interpolation happens on the parsed strings, not the raw text, so a value
//! holding quotes cannot break the TOML around it. `$${` writes a literal `${`.

use std::collections::BTreeMap;

use toml::Spanned;

use super::error::{closest, ManifestError};
use super::source::SourceFile;

/// The variables in force for one run: `[vars]` of every manifest, with the
/// `--var` overrides applied.
#[derive(Debug, Default, Clone)]
pub struct Vars {
    values: BTreeMap<String, String>,
}

impl Vars {
    pub fn new(values: BTreeMap<String, String>) -> Self {
        Vars { values }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    pub fn set(&mut self, name: &str, value: String) {
        self.values.insert(name.to_string(), value);
    }

    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.values
    }

    /// Expands the references in a manifest string.
    pub fn expand(&self, value: &Spanned<String>, source: &SourceFile) -> Result<String, ManifestError> {
        let text = value.get_ref();
        let place =
            |needle: &str, before: &str| locate(source, value.span(), needle, before.matches(needle).count());
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        let mut consumed = 0;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let tail = &rest[at..];
            if let Some(after) = tail.strip_prefix("$${") {
                out.push_str("${");
                rest = after;
                consumed += at + 3;
            } else if tail.starts_with("${") {
                let Some(end) = tail.find('}') else {
                    return Err(ManifestError::Syntax {
                        at: place("${", &text[..consumed + at]),
                        message: "unterminated `${` in string".into(),
                        hint: Some("write `$${` for a literal `${`".into()),
                    });
                };
                let name = &tail[2..end];
                match self.values.get(name) {
                    Some(v) => out.push_str(v),
                    None => {
                        return Err(ManifestError::UndefinedVar {
                            at: place(&tail[..=end], &text[..consumed + at]),
                            name: name.to_string(),
                            hint: closest(name, self.names()).map(|c| format!("did you mean `{c}`?")),
                        })
                    }
                }
                rest = &tail[end + 1..];
                consumed += at + end + 1;
            } else {
                out.push('$');
                rest = &tail[1..];
                consumed += at + 1;
            }
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Where the `nth` `needle` of a string value is written in the file.
/// Escapes (`\"`) and multi-byte characters make offsets in the parsed value
/// differ from the file's, so the reference is looked up in the source text
/// of the value itself; the value's start when it cannot be found.
fn locate(
    source: &SourceFile,
    span: std::ops::Range<usize>,
    needle: &str,
    nth: usize,
) -> super::source::Location {
    let written = source.text.get(span.clone()).unwrap_or("");
    let offset = written
        .match_indices(needle)
        .nth(nth)
        .map_or(span.start, |(i, _)| span.start + i);
    source.location(offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct T {
        s: Spanned<String>,
    }

    fn expand(text: &str) -> Result<String, ManifestError> {
        let source = SourceFile::new("m.toml".into(), text.into());
        let t: T = toml::from_str(text).unwrap();
        let vars = Vars::new(BTreeMap::from([
            ("domain".to_string(), "geo.example.org".to_string()),
            ("tag".to_string(), "24.0".to_string()),
        ]));
        vars.expand(&t.s, &source)
    }

    #[test]
    fn expands_escapes_and_keeps_lone_dollars() {
        assert_eq!(
            expand(r#"s = "https://${domain}/x:${tag} $${keep} 5$""#).unwrap(),
            "https://geo.example.org/x:24.0 ${keep} 5$"
        );
    }

    #[test]
    fn undefined_reference_names_its_place_and_the_closest_name() {
        let err = expand("\ns = \"a ${domian}\"").unwrap_err().to_string();
        assert_eq!(
            err,
            "m.toml:2:8: undefined variable `${domian}` (did you mean `domain`?)"
        );
    }

    #[test]
    fn escapes_and_accents_before_a_reference_keep_its_column_exact() {
        let err = expand("s = \"Portail \\\"Salins\\\" été ${anne}\"")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "m.toml:1:29: undefined variable `${anne}`");
    }
}
