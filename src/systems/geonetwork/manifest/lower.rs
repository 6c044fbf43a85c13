//! Lowering of `[geonetwork]`: the connection (a base URL without
//! credentials, bounded timeouts and retries) and the groups.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::raw::{Ensure, RawGeoNetwork, RawGnGroup};
use super::{GeoNetwork, GnConnection, GnGroup, GROUP_KIND, RESERVED_GROUPS};
use crate::manifest::error::ManifestError;
use crate::manifest::lower::Lowerer;
use crate::manifest::secret::SecretResolver;
use crate::manifest::source::Location;

/// What one file's `[geonetwork]` says; `merge` joins the files.
pub struct GeoNetworkPart {
    file: Location,
    connection: Option<(GnConnection, Location)>,
    groups: Vec<GnGroup>,
}

impl Lowerer<'_> {
    pub fn geonetwork_part(
        &mut self,
        raw: &RawGeoNetwork,
        section: Location,
        resolver: &SecretResolver,
    ) -> GeoNetworkPart {
        let sets_connection = raw.url.is_some()
            || raw.portal.is_some()
            || raw.user.is_some()
            || raw.password.is_some()
            || raw.http_keys().any();
        let connection = sets_connection.then(|| self.gn_connection(raw, &section, resolver));
        GeoNetworkPart {
            file: section,
            connection,
            groups: raw.group.iter().map(|g| self.gn_group(g)).collect(),
        }
    }

    fn gn_connection(
        &mut self,
        raw: &RawGeoNetwork,
        section: &Location,
        resolver: &SecretResolver,
    ) -> (GnConnection, Location) {
        let subject = "[geonetwork]";
        let Some(url) = &raw.url else {
            let at = section.clone();
            self.errors.push(ManifestError::Invalid {
                at: at.clone(),
                subject: subject.into(),
                message: "`url` is missing: the connection settings need GeoNetwork's base URL".into(),
            });
            return (GnConnection::new("http://127.0.0.1/geonetwork"), at);
        };
        let at = self.at(&url.span());
        let text = self.text(url);
        self.check_url(&url.span(), &text);
        let mut connection = GnConnection::new(&text);
        if let Some(portal) = &raw.portal {
            let portal_text = self.text(portal);
            if portal_text.is_empty()
                || !portal_text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                self.invalid(
                    &portal.span(),
                    subject,
                    "`portal` is a portal name such as srv (letters, digits, - and _)",
                );
            }
            connection.portal = portal_text;
        }
        connection.user = raw.user.as_ref().map(|u| self.text(u));
        connection.password = raw
            .password
            .as_ref()
            .and_then(|p| self.secret(p, &format!("{subject}: password"), resolver));
        if connection.password.is_some() && connection.user.is_none() {
            let span = raw.password.as_ref().map(|p| p.span()).unwrap_or_default();
            self.invalid(
                &span,
                subject,
                "`password` needs `user`, the account it belongs to",
            );
        }
        let http = self.http_settings(&raw.http_keys(), subject);
        connection.timeout = http.timeout;
        connection.connect_timeout = http.connect_timeout;
        connection.retries = http.retries;
        connection.backoff = http.backoff;
        (connection, at)
    }

    /// An http(s) URL with a host and no user:password part: credentials
    /// go in `user` and `password`, where they stay out of messages.
    fn check_url(&mut self, span: &Range<usize>, text: &str) {
        let subject = "[geonetwork]";
        let Some((scheme, rest)) = text.split_once("://") else {
            self.invalid(span, subject, "`url` must start with http:// or https://");
            return;
        };
        if scheme != "http" && scheme != "https" {
            self.invalid(span, subject, "`url` must start with http:// or https://");
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.contains('@') {
            // The URL is not echoed: it holds a password.
            self.invalid(
                span,
                subject,
                "`url` must not hold credentials; use `user` and `password`",
            );
        } else if authority.is_empty() {
            self.invalid(span, subject, "`url` has no host");
        }
        if rest.contains(['?', '#']) {
            self.invalid(span, subject, "`url` is a base URL: no query or fragment");
        }
    }

    fn gn_group(&mut self, raw: &Spanned<RawGnGroup>) -> GnGroup {
        let group = raw.get_ref();
        let name = self.text(&group.name);
        let subject = format!("{GROUP_KIND}:{name}");
        let span = group.name.span();
        if name.trim().is_empty() || name.trim() != name {
            self.invalid(
                &span,
                &subject,
                "a group name is not empty and has no leading or trailing spaces",
            );
        } else if name.chars().any(char::is_control) {
            self.invalid(&span, &subject, "a group name has no control characters");
        } else if name.chars().count() > 255 {
            // GeoNetwork's Groups.name column is 255 long.
            self.invalid(&span, &subject, "a group name is at most 255 characters");
        } else if RESERVED_GROUPS.iter().any(|r| r.eq_ignore_ascii_case(&name)) {
            self.invalid(
                &span,
                &subject,
                "all, intranet and guest are GeoNetwork's reserved groups: they always exist and are not managed",
            );
        }
        let mut labels = BTreeMap::new();
        for (lang, label) in &group.label {
            if lang.len() != 3 || !lang.chars().all(|c| c.is_ascii_lowercase()) {
                self.invalid(
                    &label.span(),
                    &subject,
                    format!("label language `{lang}` is not a 3-letter ISO 639-2 code (eng, fre…)"),
                );
            }
            let text = self.text(label);
            labels.insert(lang.clone(), text);
        }
        GnGroup {
            at: self.at(&span),
            present: group.ensure == Ensure::Present,
            description: self.opt(&group.description),
            email: self.opt(&group.email),
            website: self.opt(&group.website),
            labels,
            name,
        }
    }
}

pub fn merge(parts: Vec<GeoNetworkPart>, errors: &mut Vec<ManifestError>) -> Option<GeoNetwork> {
    let first_file = parts.first()?.file.clone();
    let mut connection: Option<(GnConnection, Location)> = None;
    let mut groups = Vec::new();
    for part in parts {
        if let Some((conn, at)) = part.connection {
            match &connection {
                Some((_, first)) => errors.push(ManifestError::Duplicate {
                    at,
                    first: first.clone(),
                    subject: "[geonetwork] connection settings".into(),
                }),
                None => connection = Some((conn, at)),
            }
        }
        groups.extend(part.groups);
    }
    let mut seen: BTreeMap<String, Location> = BTreeMap::new();
    for group in &groups {
        // GeoNetwork finds groups by exact name (findByName).
        if let Some(first) = seen.insert(group.name.clone(), group.at.clone()) {
            errors.push(ManifestError::Duplicate {
                at: group.at.clone(),
                first,
                subject: format!("{GROUP_KIND}:{}", group.name),
            });
        }
    }
    let Some((connection, _)) = connection else {
        errors.push(ManifestError::Invalid {
            at: first_file,
            subject: "[geonetwork]".into(),
            message: "no file says where GeoNetwork is: set `url` in one [geonetwork] section".into(),
        });
        return None;
    };
    Some(GeoNetwork { connection, groups })
}
