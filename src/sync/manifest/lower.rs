//! Lowering of `[[sync.target]]`: the source, the database and schema, the
//! default CRS, and the checks between targets.

use std::collections::BTreeMap;
use std::ops::Range;

use reqwest::Url;

use super::raw::{RawSyncSource, RawSyncTarget};
use super::{SourceSpec, Sync, SyncTarget, Visibility, TARGET_KIND};
use crate::manifest::lower::Lowerer;
use crate::manifest::secret::SecretResolver;
use crate::manifest::source::Location;
use crate::manifest::ManifestError;

/// The schema of the sync's ledger in every target database.
pub const LEDGER_SCHEMA: &str = "geosync";

impl Lowerer<'_> {
    pub fn sync_target(
        &mut self,
        raw: &RawSyncTarget,
        span: &Range<usize>,
        resolver: &SecretResolver,
    ) -> SyncTarget {
        let name = self.text(&raw.name);
        let subject = format!("{TARGET_KIND}:{name}");
        if !is_target_name(&name) {
            self.invalid(
                &raw.name.span(),
                &subject,
                "a target name is lowercase letters, digits, '-' and '_' (it names a folder of the state directory)",
            );
        }
        let source = self.sync_source(raw.source.get_ref(), &raw.source.span(), &subject, resolver);
        let database = self.text(&raw.database);
        if database.is_empty() {
            self.invalid(&raw.database.span(), &subject, "`database` is empty");
        }
        let schema = match &raw.schema {
            Some(text) => {
                let schema = self.text(text);
                if let Some(problem) = schema_problem(&schema) {
                    self.invalid(&text.span(), &subject, format!("schema `{schema}` {problem}"));
                }
                schema
            }
            None => "public".to_string(),
        };
        let default_srid = raw.default_crs.as_ref().and_then(|text| {
            let value = self.text(text);
            let code = value
                .strip_prefix("EPSG:")
                .and_then(|c| c.parse::<u32>().ok())
                .filter(|c| *c > 0);
            if code.is_none() {
                self.invalid(
                    &text.span(),
                    &subject,
                    format!("default_crs `{value}` is not of the form EPSG:<code>"),
                );
            }
            code
        });
        let visibility = match raw.visibility.as_ref().map(|v| (self.text(v), v.span())) {
            None => Visibility::Restricted,
            Some((v, _)) if v == "public" => Visibility::Public,
            Some((v, _)) if v == "restricted" => Visibility::Restricted,
            Some((v, at)) => {
                self.invalid(
                    &at,
                    &subject,
                    format!("visibility `{v}` is not public or restricted"),
                );
                Visibility::Restricted
            }
        };
        SyncTarget {
            at: self.at(span),
            workspace: self.opt(&raw.workspace),
            name,
            source,
            database,
            schema,
            default_srid,
            visibility,
        }
    }

    fn sync_source(
        &mut self,
        raw: &RawSyncSource,
        span: &Range<usize>,
        subject: &str,
        resolver: &SecretResolver,
    ) -> SourceSpec {
        match (&raw.webdav, &raw.path) {
            (Some(url), None) => {
                let text = self.text(url);
                let url = self.webdav_url(&text, &url.span(), subject);
                let user = self.opt(&raw.user);
                let password = raw
                    .password
                    .as_ref()
                    .and_then(|p| self.secret(p, &format!("{subject}: source.password"), resolver));
                if password.is_some() && user.is_none() {
                    self.invalid(span, subject, "source.password needs source.user");
                }
                SourceSpec::WebDav { url, user, password }
            }
            (None, Some(path)) => {
                if raw.user.is_some() || raw.password.is_some() {
                    self.invalid(
                        span,
                        subject,
                        "user and password are for a webdav source, not a local path",
                    );
                }
                SourceSpec::Local {
                    path: self.path(path),
                }
            }
            _ => {
                self.invalid(
                    span,
                    subject,
                    "give exactly one of source.webdav (a URL) or source.path (a folder)",
                );
                SourceSpec::Local { path: ".".into() }
            }
        }
    }

    fn webdav_url(&mut self, text: &str, span: &Range<usize>, subject: &str) -> Url {
        let fallback = || Url::parse("http://invalid.invalid/").expect("a valid URL");
        let url = match Url::parse(text) {
            Ok(url) => url,
            Err(e) => {
                self.invalid(span, subject, format!("source.webdav is not a URL: {e}"));
                return fallback();
            }
        };
        if !matches!(url.scheme(), "http" | "https") {
            self.invalid(span, subject, "source.webdav must be an http:// or https:// URL");
        }
        // Never echo credentials written into the URL.
        if !url.username().is_empty() || url.password().is_some() {
            self.invalid(
                span,
                subject,
                "source.webdav must not hold credentials: give source.user and source.password (a secret reference)",
            );
            return fallback();
        }
        if url.query().is_some() || url.fragment().is_some() {
            self.invalid(
                span,
                subject,
                "source.webdav is a folder URL, without ?query or #fragment",
            );
        }
        url
    }
}

/// Checks what spans targets: unique names, and one database schema per
/// target (two targets loading into one schema would fight over its tables).
pub fn check_targets(sync: &Sync, errors: &mut Vec<ManifestError>) {
    let mut names: BTreeMap<&str, &Location> = BTreeMap::new();
    let mut places: BTreeMap<(&str, &str), &SyncTarget> = BTreeMap::new();
    for target in &sync.targets {
        if let Some(first) = names.insert(&target.name, &target.at) {
            errors.push(ManifestError::Duplicate {
                at: target.at.clone(),
                first: first.clone(),
                subject: target.address().to_string(),
            });
            continue;
        }
        if let Some(other) = places.insert((&target.database, &target.schema), target) {
            errors.push(ManifestError::Invalid {
                at: target.at.clone(),
                subject: target.address().to_string(),
                message: format!(
                    "loads into {}.{} like {}: give each target a database or schema of its own",
                    target.database,
                    target.schema,
                    other.address()
                ),
            });
        }
    }
}

fn is_target_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Why a schema name cannot hold the sync's tables, if it cannot.
fn schema_problem(schema: &str) -> Option<&'static str> {
    let valid = !schema.is_empty()
        && schema.len() <= 63
        && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        Some("is not a lowercase identifier of at most 63 bytes")
    } else if schema == LEDGER_SCHEMA {
        Some("is the sync's ledger schema: load datasets elsewhere")
    } else if schema.starts_with("pg_") || schema == "information_schema" {
        Some("is a PostgreSQL system schema")
    } else {
        None
    }
}
