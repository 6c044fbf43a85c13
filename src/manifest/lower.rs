//! The toolkit systems lower their raw TOML with: expands variables,
//! anchors paths at the manifest's folder, checks values, and collects every
//! problem with its location instead of stopping at the first.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::error::ManifestError;
use super::model::{FileSource, ManagedFile};
use super::raw::{RawFile, Text};
use super::secret::{Secret, SecretMode, SecretRef, SecretResolver};
use super::source::{Location, SourceFile};
use super::vars::Vars;

pub struct Lowerer<'a> {
    pub source: &'a SourceFile,
    pub vars: &'a Vars,
    pub errors: &'a mut Vec<ManifestError>,
}

impl<'a> Lowerer<'a> {
    pub fn new(source: &'a SourceFile, vars: &'a Vars, errors: &'a mut Vec<ManifestError>) -> Self {
        Lowerer { source, vars, errors }
    }

    pub fn at(&self, span: &Range<usize>) -> Location {
        self.source.span_location(span)
    }

    pub fn manifest_dir(&self) -> &Path {
        self.source.path.parent().unwrap_or(Path::new("."))
    }

    /// Anchors a path written in a manifest at the manifest's folder.
    pub fn path(&mut self, text: &Text) -> PathBuf {
        let path = PathBuf::from(self.text(text));
        if path.is_relative() {
            normalize(&self.manifest_dir().join(path))
        } else {
            normalize(&path)
        }
    }

    /// A path already expanded, anchored like `path`.
    pub fn path_unexpanded(&mut self, text: &Text) -> PathBuf {
        let path = PathBuf::from(text.get_ref());
        if path.is_relative() {
            normalize(&self.manifest_dir().join(path))
        } else {
            normalize(&path)
        }
    }

    pub fn text(&mut self, text: &Text) -> String {
        match self.vars.expand(text, self.source) {
            Ok(value) => value,
            Err(error) => {
                self.errors.push(error);
                String::new()
            }
        }
    }

    pub fn opt(&mut self, text: &Option<Text>) -> Option<String> {
        text.as_ref().map(|t| self.text(t))
    }

    /// Resolves a secret reference, or reports why it cannot be. Under
    /// `validate` an unavailable secret is a note and a placeholder.
    pub fn secret(
        &mut self,
        reference: &Spanned<SecretRef>,
        subject: &str,
        resolver: &SecretResolver,
    ) -> Option<Secret> {
        let anchored = reference.get_ref().clone().anchored_at(self.manifest_dir());
        let reason = match resolver.resolve(&anchored) {
            Ok(secret) => return Some(secret),
            Err(reason) => reason,
        };
        let problem = ManifestError::MissingSecret {
            at: self.at(&reference.span()),
            subject: subject.to_string(),
            reference: anchored.to_string(),
            reason: reason.to_string(),
        };
        match resolver.mode {
            SecretMode::Require => {
                self.errors.push(problem);
                None
            }
            SecretMode::Placeholder => {
                resolver.note(problem.to_string());
                Some(Secret::placeholder())
            }
        }
    }

    /// Refuses a value that would not stay on its one line of a
    /// line-oriented file (see [`super::line`]).
    pub fn single_line(&mut self, span: &Range<usize>, subject: &str, field: &str, value: &str) {
        if let Some(problem) = super::line::single_line_problem(value) {
            self.invalid(span, subject, format!("`{field}` {problem}"));
        }
    }

    pub fn invalid(&mut self, span: &Range<usize>, subject: &str, message: impl Into<String>) {
        self.errors.push(ManifestError::Invalid {
            at: self.at(span),
            subject: subject.to_string(),
            message: message.into(),
        });
    }

    /// An integer within `min..=max`; out of bounds is an error naming the
    /// key and the bounds (the clamped value keeps lowering going).
    pub fn bounded(&mut self, value: &Spanned<i64>, subject: &str, what: &str, min: i64, max: i64) -> i64 {
        let v = *value.get_ref();
        if !(min..=max).contains(&v) {
            self.invalid(
                &value.span(),
                subject,
                format!("`{what}` must be between {min} and {max}"),
            );
        }
        v.clamp(min, max)
    }

    pub fn small_int(&mut self, value: &Spanned<i64>, subject: &str, what: &str, max: i64) -> u8 {
        let v = *value.get_ref();
        if !(0..=max).contains(&v) {
            self.invalid(
                &value.span(),
                subject,
                format!("{what} must be between 0 and {max}"),
            );
        }
        v.clamp(0, max) as u8
    }

    pub fn managed_file(&mut self, raw: &RawFile, kind: &str, resolver: &SecretResolver) -> ManagedFile {
        let name = self.text(&raw.name);
        let subject = format!("{kind}:{name}");
        let source = match (&raw.template, &raw.content) {
            (Some(template), None) => FileSource::Template(self.path(template)),
            (None, Some(content)) => FileSource::Inline(self.text(content)),
            _ => {
                self.invalid(
                    &raw.name.span(),
                    &subject,
                    "give exactly one of `template` or `content`",
                );
                FileSource::Inline(String::new())
            }
        };
        let mode = raw.mode.as_ref().and_then(|m| {
            let text = self.text(m);
            let parsed = u32::from_str_radix(&text, 8).ok().filter(|mode| *mode <= 0o7777);
            if parsed.is_none() {
                self.invalid(
                    &m.span(),
                    &subject,
                    format!("mode `{text}` is not an octal file mode such as \"0640\""),
                );
            }
            parsed
        });
        let context = raw
            .context
            .iter()
            .map(|(k, v)| (k.clone(), self.text(v)))
            .collect();
        let mut secrets = BTreeMap::new();
        for (key, reference) in &raw.secrets {
            if let Some(secret) = self.secret(reference, &format!("{subject}: secrets.{key}"), resolver) {
                secrets.insert(key.clone(), secret);
            }
        }
        ManagedFile {
            at: self.at(&raw.name.span()),
            path: self.path(&raw.path),
            name,
            source,
            mode,
            context,
            secrets,
        }
    }
}

/// Resolves `.` and `..` without touching the disk (the path may not exist
/// yet), so plans show `out/apps`, not `manifests/../out/apps`.
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                let last_is_normal = matches!(out.components().next_back(), Some(Component::Normal(_)));
                if last_is_normal {
                    out.pop();
                } else if !matches!(out.components().next_back(), Some(Component::RootDir)) {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize;
    use std::path::Path;

    #[test]
    fn normalize_resolves_dots_lexically() {
        assert_eq!(
            normalize(Path::new("manifests/../out/./apps")),
            Path::new("out/apps")
        );
        assert_eq!(normalize(Path::new("../x")), Path::new("../x"));
        assert_eq!(normalize(Path::new("/../etc")), Path::new("/etc"));
        assert_eq!(normalize(Path::new("a/..")), Path::new("."));
    }
}
