//! Lowering of `[[sync.target]]`: the source, the database and schema, the
//! default CRS, and the checks between targets.

use std::collections::BTreeMap;
use std::ops::Range;

use reqwest::Url;

use toml::Spanned;

use super::raw::{RawSync, RawSyncSource, RawSyncTarget};
use super::{CatalogueSpec, Settings, SourceSpec, Sync, SyncTarget, Visibility, TARGET_KIND};
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
        let visibility = self
            .visibility(raw.visibility.as_ref(), &subject, "visibility")
            .unwrap_or(Visibility::Restricted);
        let metadata_visibility = self
            .visibility(raw.metadata_visibility.as_ref(), &subject, "metadata_visibility")
            .unwrap_or(visibility);
        let max_removal_share = raw
            .max_removal_share
            .as_ref()
            .map(|share| self.share(share, &subject));
        let metadata_groups = raw.metadata_groups.iter().map(|g| self.text(g)).collect();
        let roles = raw.roles.iter().map(|r| self.text(r)).collect();
        SyncTarget {
            metadata_groups,
            roles,
            metadata_visibility,
            datastore: self.opt(&raw.datastore),
            datastore_at: self.at(&raw.datastore.as_ref().map_or(span.clone(), |d| d.span())),
            max_removal_share,
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

    fn visibility(
        &mut self,
        raw: Option<&crate::manifest::raw::Text>,
        subject: &str,
        key: &str,
    ) -> Option<Visibility> {
        let (value, at) = raw.map(|v| (self.text(v), v.span()))?;
        match value.as_str() {
            "public" => Some(Visibility::Public),
            "restricted" => Some(Visibility::Restricted),
            _ => {
                self.invalid(
                    &at,
                    subject,
                    format!("{key} `{value}` is not public or restricted"),
                );
                None
            }
        }
    }

    fn share(&mut self, value: &Spanned<f64>, subject: &str) -> f64 {
        let share = *value.get_ref();
        if !(0.0..=1.0).contains(&share) {
            self.invalid(
                &value.span(),
                subject,
                format!(
                    "max_removal_share {share} is not between 0 and 1 (a share of the target's datasets)"
                ),
            );
        }
        share.clamp(0.0, 1.0)
    }

    fn count(&mut self, value: &Spanned<i64>, subject: &str, key: &str, min: i64) -> i64 {
        let n = *value.get_ref();
        if !(min..=100_000).contains(&n) {
            self.invalid(
                &value.span(),
                subject,
                format!("{key} must be between {min} and 100000"),
            );
        }
        n.clamp(min, 100_000)
    }

    /// `[sync]`'s own keys; a key set in several files: the last wins.
    pub fn sync_settings(&mut self, raw: &RawSync, settings: &mut Settings, resolver: &SecretResolver) {
        let subject = "[sync]";
        if let Some(text) = &raw.interval {
            let value = self.text(text);
            match parse_interval(&value) {
                Some(interval) => settings.interval = interval,
                None => self.invalid(
                    &text.span(),
                    subject,
                    format!("interval `{value}` is not a duration such as 30s, 5m or 1h"),
                ),
            }
        }
        if let Some(n) = &raw.full_rescan_every {
            settings.full_rescan_every = self.count(n, subject, "full_rescan_every", 1) as u32;
        }
        if let Some(n) = &raw.max_in_flight {
            settings.max_in_flight = self.count(n, subject, "max_in_flight", 1) as usize;
        }
        if let Some(n) = &raw.min_removals {
            settings.min_removals = self.count(n, subject, "min_removals", 0) as usize;
        }
        if let Some(share) = &raw.max_removal_share {
            settings.max_removal_share = self.share(share, subject);
        }
        if let Some(text) = &raw.public_url {
            let value = self.text(text);
            match Url::parse(&value) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.password().is_none() => {
                    settings.public_url = Some(value.trim_end_matches('/').to_string());
                }
                _ => self.invalid(
                    &text.span(),
                    subject,
                    "public_url is not an http(s) URL without credentials",
                ),
            }
        }
        if let Some(text) = &raw.postgres_role {
            settings.postgres_role = Some(super::SyncRole {
                name: self.text(text),
                at: self.at(&text.span()),
                password: None,
            });
        }
        if let Some(catalogue) = self.catalogue(raw, resolver) {
            settings.catalogue = catalogue;
        }
    }

    fn catalogue(&mut self, raw: &RawSync, resolver: &SecretResolver) -> Option<CatalogueSpec> {
        let subject = "[sync] catalogue";
        let csw = raw.csw.as_ref().map(|csw| {
            let csw = csw.get_ref();
            let text = self.text(&csw.url);
            let url = self.webdav_url(&text, &csw.url.span(), subject, "csw.url");
            let user = self.opt(&csw.user);
            let password = csw
                .password
                .as_ref()
                .and_then(|p| self.secret(p, "[sync] csw.password", resolver));
            CatalogueSpec::Csw {
                url,
                user,
                password,
                public: csw.public.unwrap_or(true),
            }
        });
        let Some(kind) = &raw.catalogue else {
            return csw;
        };
        match (self.text(kind).as_str(), csw) {
            ("geonetwork", _) => Some(CatalogueSpec::GeoNetwork),
            ("none", _) => Some(CatalogueSpec::None),
            ("csw", Some(csw)) => Some(csw),
            ("csw", None) => {
                self.invalid(
                    &kind.span(),
                    subject,
                    "catalogue = \"csw\" needs [sync] csw = { url = ... }",
                );
                None
            }
            (other, _) => {
                self.invalid(
                    &kind.span(),
                    subject,
                    format!("`{other}` is not geonetwork, csw or none"),
                );
                None
            }
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
                let url = self.webdav_url(&text, &url.span(), subject, "source.webdav");
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

    fn webdav_url(&mut self, text: &str, span: &Range<usize>, subject: &str, field: &str) -> Url {
        let fallback = || Url::parse("http://invalid.invalid/").expect("a valid URL");
        let url = match Url::parse(text) {
            Ok(url) => url,
            Err(e) => {
                self.invalid(span, subject, format!("{field} is not a URL: {e}"));
                return fallback();
            }
        };
        if !matches!(url.scheme(), "http" | "https") {
            self.invalid(
                span,
                subject,
                format!("{field} must be an http:// or https:// URL"),
            );
        }
        // Never echo credentials written into the URL.
        if !url.username().is_empty() || url.password().is_some() {
            self.invalid(
                span,
                subject,
                format!("{field} must not hold credentials: give user and password (a secret reference)"),
            );
            return fallback();
        }
        if url.query().is_some() || url.fragment().is_some() {
            self.invalid(
                span,
                subject,
                format!("{field} is a plain URL, without ?query or #fragment"),
            );
        }
        url
    }
}

/// Checks what spans targets: unique names, and one database per target:
/// the ledger (`geosync.ledger`) is per database and keyed by the path in
/// the share, so two shares loading into one database would overwrite each
/// other's records.
pub fn check_targets(sync: &Sync, errors: &mut Vec<ManifestError>) {
    let mut names: BTreeMap<&str, &Location> = BTreeMap::new();
    let mut places: BTreeMap<&str, &SyncTarget> = BTreeMap::new();
    for target in &sync.targets {
        if let Some(first) = names.insert(&target.name, &target.at) {
            errors.push(ManifestError::Duplicate {
                at: target.at.clone(),
                first: first.clone(),
                subject: target.address().to_string(),
            });
            continue;
        }
        if let Some(other) = places.insert(&target.database, target) {
            errors.push(ManifestError::Invalid {
                at: target.at.clone(),
                subject: target.address().to_string(),
                message: format!(
                    "loads into database {} like {}: give each target a database of its own (the sync's ledger is per database)",
                    target.database,
                    other.address()
                ),
            });
        }
    }
}

/// 30s, 5m, 1h, 1h30m, or plain seconds.
fn parse_interval(text: &str) -> Option<std::time::Duration> {
    if let Ok(seconds) = text.parse::<u64>() {
        return (seconds > 0).then(|| std::time::Duration::from_secs(seconds));
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().ok()?;
        number.clear();
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return None,
        };
    }
    (number.is_empty() && total > 0).then(|| std::time::Duration::from_secs(total))
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

#[cfg(test)]
mod tests {
    use super::parse_interval;
    use std::time::Duration;

    #[test]
    fn intervals_are_seconds_minutes_and_hours() {
        assert_eq!(parse_interval("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_interval("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_interval("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_interval("90"), Some(Duration::from_secs(90)));
        for bad in ["", "0", "0s", "m", "5x", "5m3"] {
            assert_eq!(parse_interval(bad), None, "{bad}");
        }
    }
}
