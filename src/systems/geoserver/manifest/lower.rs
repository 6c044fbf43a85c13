//! Lowering of `[geoserver]`: connection, workspaces, data stores, styles
//! and ACL rules, with GeoServer's naming rules and cross-references checked.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::ops::Range;

use toml::Spanned;

use super::raw::{Ensure, RawAcl, RawDatastore, RawGeoServer, RawStyle, RawWorkspace};
use super::{
    Auth, GeoServer, GsAcl, GsConnection, GsDatastore, GsStyle, GsWorkspace, Params, StyleFormat, ACL_KIND,
    DATASTORE_KIND, STYLE_KIND, WORKSPACE_KIND,
};
use crate::manifest::error::ManifestError;
use crate::manifest::lower::Lowerer;
use crate::manifest::raw::Text;
use crate::manifest::secret::SecretResolver;
use crate::manifest::source::Location;
use crate::systems::geoserver::names::name_problem;

/// The connection parameter keys of GeoServer's PostGIS store.
pub mod keys {
    pub const DBTYPE: &str = "dbtype";
    pub const HOST: &str = "host";
    pub const PORT: &str = "port";
    pub const DATABASE: &str = "database";
    pub const SCHEMA: &str = "schema";
    pub const USER: &str = "user";
    pub const PASSWD: &str = "passwd";
    pub const MAX_CONNECTIONS: &str = "max connections";
    pub const MIN_CONNECTIONS: &str = "min connections";
    pub const CONNECTION_TIMEOUT: &str = "Connection timeout";
    pub const EXPOSE_PK: &str = "Expose primary keys";
    pub const LOOSE_BBOX: &str = "Loose bbox";
}

/// Connection settings and lists of one file; `merge` joins the files.
pub struct GeoServerPart {
    connection: Option<(GsConnection, Location)>,
    workspaces: Vec<GsWorkspace>,
    datastores: Vec<GsDatastore>,
    styles: Vec<GsStyle>,
    acl: Vec<GsAcl>,
}

impl Lowerer<'_> {
    pub fn geoserver_part(&mut self, raw: &RawGeoServer, resolver: &SecretResolver) -> GeoServerPart {
        let sets_connection = raw.url.is_some()
            || raw.user.is_some()
            || raw.password.is_some()
            || raw.preauth.is_some()
            || raw.http_keys().any();
        GeoServerPart {
            connection: sets_connection.then(|| self.gs_connection(raw, resolver)),
            workspaces: raw
                .workspace
                .iter()
                .map(|w| self.gs_workspace(w.get_ref()))
                .collect(),
            datastores: raw
                .datastore
                .iter()
                .map(|d| self.gs_datastore(d.get_ref(), resolver))
                .collect(),
            styles: raw
                .style
                .iter()
                .map(|s| self.gs_style(s.get_ref(), &s.span()))
                .collect(),
            acl: raw
                .acl
                .iter()
                .map(|a| self.gs_acl(a.get_ref(), &a.span()))
                .collect(),
        }
    }

    fn gs_connection(&mut self, raw: &RawGeoServer, resolver: &SecretResolver) -> (GsConnection, Location) {
        let defaults = GsConnection::default();
        let subject = "[geoserver]";
        let at = raw
            .url
            .as_ref()
            .map_or_else(|| Location::file_only(&self.source.path), |u| self.at(&u.span()));
        let url = match &raw.url {
            Some(url) => self.gs_url(url),
            None => defaults.url.clone(),
        };
        let auth = self.gs_auth(raw, &url, resolver);
        let http = self.http_settings(&raw.http_keys(), subject);
        let connection = GsConnection {
            url,
            auth,
            timeout: http.timeout,
            connect_timeout: http.connect_timeout,
            retries: http.retries,
            backoff: http.backoff,
        };
        (connection, at)
    }

    /// An http(s) URL without credentials in it (they would end up in
    /// every error message), kept without its trailing slash.
    fn gs_url(&mut self, raw: &Text) -> String {
        let url = self.text(raw);
        let trimmed = url.trim_end_matches('/').to_string();
        let authority = trimmed
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next());
        if authority.is_some_and(|a| a.contains('@')) {
            // The URL is not quoted back: it holds a password.
            self.invalid(
                &raw.span(),
                "[geoserver]",
                "url carries credentials (user:password@): give `user` and `password` instead",
            );
            return trimmed;
        }
        let problem = match url_host(&trimmed) {
            Err(problem) => Some(problem),
            Ok(_) if trimmed.contains(['?', '#']) => Some("has a query or fragment".to_string()),
            Ok(_) => None,
        };
        if let Some(problem) = problem {
            self.invalid(&raw.span(), "[geoserver]", format!("url `{url}` {problem}"));
        }
        trimmed
    }

    fn gs_auth(&mut self, raw: &RawGeoServer, url: &str, resolver: &SecretResolver) -> Auth {
        let subject = "[geoserver]";
        match (&raw.user, &raw.password, &raw.preauth) {
            (None, None, None) => Auth::None,
            (Some(user), Some(password), None) => Auth::Basic {
                user: self.text(user),
                password: self
                    .secret(password, "[geoserver]: password", resolver)
                    .unwrap_or_else(crate::manifest::secret::Secret::placeholder),
            },
            (None, None, Some(preauth)) => {
                let host = url_host(url).unwrap_or_default();
                if !is_private_host(&host) {
                    self.invalid(
                        &preauth.span(),
                        subject,
                        format!(
                            "preauth headers are trusted by GeoServer from anyone who can reach it: allowed only on a loopback, private or single-label host, not `{host}`"
                        ),
                    );
                }
                let preauth = preauth.get_ref();
                if preauth.username.is_empty()
                    || preauth
                        .roles
                        .iter()
                        .any(|r| r.is_empty() || r.contains([';', '\r', '\n']))
                {
                    self.invalid(
                        &raw.preauth.as_ref().map(|p| p.span()).unwrap_or_default(),
                        subject,
                        "preauth: username must not be empty and roles hold no `;` or line break",
                    );
                }
                Auth::Preauth {
                    username: preauth.username.clone(),
                    roles: preauth.roles.clone(),
                }
            }
            _ => {
                let span = raw
                    .user
                    .as_ref()
                    .map(|u| u.span())
                    .or_else(|| raw.password.as_ref().map(|p| p.span()))
                    .unwrap_or_default();
                self.invalid(
                    &span,
                    subject,
                    "give `user` and `password` (HTTP Basic), or `preauth`, not a mix",
                );
                Auth::None
            }
        }
    }

    fn gs_name(&mut self, span: &Range<usize>, subject: &str, what: &str, name: &str) {
        if let Some(problem) = name_problem(name) {
            self.invalid(
                span,
                subject,
                format!("{what} `{}`: {problem}", name.escape_debug()),
            );
        }
    }

    fn gs_workspace(&mut self, raw: &RawWorkspace) -> GsWorkspace {
        let name = self.text(&raw.name);
        let subject = format!("{WORKSPACE_KIND}:{name}");
        self.gs_name(&raw.name.span(), &subject, "name", &name);
        if name == "default" {
            self.invalid(&raw.name.span(), &subject, "`default` is reserved by GeoServer");
        }
        if raw.recurse && raw.ensure == Ensure::Present {
            self.invalid(
                &raw.name.span(),
                &subject,
                "`recurse` goes with ensure = \"absent\"",
            );
        }
        GsWorkspace {
            at: self.at(&raw.name.span()),
            present: raw.ensure == Ensure::Present,
            isolated: raw.isolated,
            default: raw.default,
            recurse: raw.recurse,
            name,
        }
    }

    fn gs_datastore(&mut self, raw: &RawDatastore, resolver: &SecretResolver) -> GsDatastore {
        let workspace = self.text(&raw.workspace);
        let name = self.text(&raw.name);
        let subject = format!("{DATASTORE_KIND}:{workspace}:{name}");
        self.gs_name(&raw.name.span(), &subject, "name", &name);
        if raw.recurse && raw.ensure == Ensure::Present {
            self.invalid(
                &raw.name.span(),
                &subject,
                "`recurse` goes with ensure = \"absent\"",
            );
        }
        let mut params = Params::new();
        params.insert(keys::DBTYPE.into(), "postgis".into());
        params.insert(keys::HOST.into(), self.text(&raw.host));
        let port = raw
            .port
            .as_ref()
            .map_or(5432, |p| self.bounded(p, &subject, "port", 1, 65535));
        params.insert(keys::PORT.into(), port.to_string());
        params.insert(keys::DATABASE.into(), self.text(&raw.database));
        let schema = raw
            .schema
            .as_ref()
            .map_or_else(|| "public".to_string(), |s| self.text(s));
        params.insert(keys::SCHEMA.into(), schema);
        params.insert(keys::USER.into(), self.text(&raw.user));
        let mut number =
            |lower: &mut Self, key: &str, value: &Option<Spanned<i64>>, default: i64, what: &str| {
                let n = value
                    .as_ref()
                    .map_or(default, |v| lower.bounded(v, &subject, what, 0, 10_000));
                params.insert(key.into(), n.to_string());
            };
        number(
            self,
            keys::MAX_CONNECTIONS,
            &raw.max_connections,
            10,
            "max_connections",
        );
        number(
            self,
            keys::MIN_CONNECTIONS,
            &raw.min_connections,
            1,
            "min_connections",
        );
        number(
            self,
            keys::CONNECTION_TIMEOUT,
            &raw.connection_timeout,
            20,
            "connection_timeout",
        );
        params.insert(
            keys::EXPOSE_PK.into(),
            raw.expose_primary_keys.unwrap_or(false).to_string(),
        );
        params.insert(
            keys::LOOSE_BBOX.into(),
            raw.loose_bbox.unwrap_or(true).to_string(),
        );
        let password = raw
            .password
            .as_ref()
            .and_then(|p| self.secret(p, &format!("{subject}: password"), resolver));
        GsDatastore {
            at: self.at(&raw.name.span()),
            present: raw.ensure == Ensure::Present,
            recurse: raw.recurse,
            description: self.opt(&raw.description),
            enabled: raw.enabled.unwrap_or(true),
            params,
            password,
            workspace,
            name,
        }
    }

    fn gs_style(&mut self, raw: &RawStyle, span: &Range<usize>) -> GsStyle {
        let name = self.text(&raw.name);
        let workspace = self.opt(&raw.workspace);
        let subject = format!(
            "{STYLE_KIND}:{}",
            super::style_address(workspace.as_deref(), &name)
        );
        self.gs_name(&raw.name.span(), &subject, "name", &name);
        let present = raw.ensure == Ensure::Present;
        let (content, format) = match (&raw.file, present) {
            (Some(file), true) => self.style_file(file, &subject),
            (None, true) => {
                self.invalid(span, &subject, "a present style needs `file`");
                (String::new(), StyleFormat::Sld10)
            }
            (_, false) => (String::new(), StyleFormat::Sld10),
        };
        GsStyle {
            at: self.at(&raw.name.span()),
            present,
            content,
            format,
            workspace,
            name,
        }
    }

    fn style_file(&mut self, file: &Text, subject: &str) -> (String, StyleFormat) {
        let path = self.path(file);
        let content = match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() && meta.len() <= MAX_STYLE_BYTES => {
                std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
            }
            Ok(meta) if meta.is_file() => Err(format!("{} is larger than 4 MiB", path.display())),
            Ok(_) => Err(format!("{} is not a regular file", path.display())),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        };
        let parsed = content.and_then(|c| style_format(&c).map(|f| (c, f)));
        match parsed {
            Ok(found) => found,
            Err(problem) => {
                self.invalid(&file.span(), subject, problem);
                (String::new(), StyleFormat::Sld10)
            }
        }
    }

    fn gs_acl(&mut self, raw: &RawAcl, span: &Range<usize>) -> GsAcl {
        let rule = self.text(&raw.rule);
        let subject = format!("{ACL_KIND}:{rule}");
        if let Some(problem) = acl_rule_problem(&rule) {
            self.invalid(&raw.rule.span(), &subject, problem);
        }
        let mut roles = BTreeSet::new();
        for role in &raw.roles {
            let name = self.text(role);
            if name.is_empty() || name.contains([',', ' ', '\t', '\r', '\n']) {
                self.invalid(
                    &role.span(),
                    &subject,
                    format!(
                        "role `{}` is empty or holds a comma or blank",
                        name.escape_debug()
                    ),
                );
            }
            roles.insert(name);
        }
        let present = raw.ensure == Ensure::Present;
        if present && roles.is_empty() {
            self.invalid(
                span,
                &subject,
                "a present rule needs at least one role (or \"*\")",
            );
        }
        if roles.contains("*") && roles.len() > 1 {
            self.invalid(span, &subject, "`*` (everyone) stands alone");
        }
        GsAcl {
            at: self.at(span),
            present,
            roles,
            rule,
        }
    }
}

/// A style document is read whole: refuse what is not plausibly one.
const MAX_STYLE_BYTES: u64 = 4 * 1024 * 1024;

/// SLD 1.0 or SE 1.1, from the root `StyledLayerDescriptor`'s `version`.
pub fn style_format(content: &str) -> Result<StyleFormat, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(content);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                if e.local_name().as_ref() != b"StyledLayerDescriptor" {
                    return Err("the root element is not a StyledLayerDescriptor (SLD 1.0 or SE 1.1)".into());
                }
                let version = e
                    .try_get_attribute("version")
                    .ok()
                    .flatten()
                    .map(|a| String::from_utf8_lossy(&a.value).into_owned());
                return match version.as_deref() {
                    Some("1.0.0") => Ok(StyleFormat::Sld10),
                    Some("1.1.0") => Ok(StyleFormat::Se11),
                    Some(other) => Err(format!(
                        "StyledLayerDescriptor version `{other}`: geosync uploads 1.0.0 (SLD) or 1.1.0 (SE)"
                    )),
                    None => Err("StyledLayerDescriptor has no `version` (1.0.0 or 1.1.0)".into()),
                };
            }
            Ok(Event::Eof) => return Err("the style file holds no XML element".into()),
            Ok(_) => {}
            Err(e) => return Err(format!("the style file is not well-formed XML: {e}")),
        }
    }
}

/// `workspace.layer.access` as GeoServer's layer rules read them: three
/// dot-separated parts, `*` or a GeoServer name each, access r, w or a;
/// `*` for the workspace goes with `*` for the layer.
pub fn acl_rule_problem(rule: &str) -> Option<String> {
    let parts: Vec<&str> = rule.split('.').collect();
    let [workspace, layer, access] = parts.as_slice() else {
        return Some(format!(
            "`{}` is not workspace.layer.access (exactly three parts: a workspace with a dot cannot have rules)",
            rule.escape_debug()
        ));
    };
    if !matches!(*access, "r" | "w" | "a") {
        return Some(format!("access `{}` is not r, w or a", access.escape_debug()));
    }
    for part in [workspace, layer] {
        if *part != "*" {
            if let Some(problem) = name_problem(part) {
                return Some(problem);
            }
        }
    }
    if *workspace == "*" && *layer != "*" {
        return Some("a rule for any workspace (`*`) covers any layer (`*.*`)".into());
    }
    None
}

/// The host of an http(s) URL.
pub fn url_host(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| "is not an http:// or https:// URL".to_string())?;
    let authority = rest.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default().to_string()
    } else {
        host_port.split(':').next().unwrap_or_default().to_string()
    };
    if host.is_empty() {
        return Err("has no host".into());
    }
    Ok(host)
}

/// Whether a host can only be reached from inside a private network:
/// a loopback, private or link-local address, or a single-label name
/// (a Docker service name such as `geoserver`).
pub fn is_private_host(host: &str) -> bool {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback() || ip.is_private() || ip.is_link_local(),
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback() || (ip.segments()[0] & 0xfe00) == 0xfc00 || (ip.segments()[0] & 0xffc0) == 0xfe80
        }
        Err(_) => !host.is_empty() && !host.contains('.'),
    }
}

/// Joins the parts of every file and checks references between them.
pub fn merge(parts: Vec<GeoServerPart>, errors: &mut Vec<ManifestError>) -> Option<GeoServer> {
    if parts.is_empty() {
        return None;
    }
    let mut connection: Option<(GsConnection, Location)> = None;
    let (mut workspaces, mut datastores, mut styles, mut acl) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for part in parts {
        if let Some((conn, at)) = part.connection {
            match &connection {
                Some((_, first)) => errors.push(ManifestError::Duplicate {
                    at,
                    first: first.clone(),
                    subject: "[geoserver] connection settings".into(),
                }),
                None => connection = Some((conn, at)),
            }
        }
        workspaces.extend(part.workspaces);
        datastores.extend(part.datastores);
        styles.extend(part.styles);
        acl.extend(part.acl);
    }
    check_references(&workspaces, &datastores, &styles, &acl, errors);
    Some(GeoServer {
        connection: connection.map(|(c, _)| c).unwrap_or_default(),
        workspaces,
        datastores,
        styles,
        acl,
    })
}

fn check_references(
    workspaces: &[GsWorkspace],
    datastores: &[GsDatastore],
    styles: &[GsStyle],
    acl: &[GsAcl],
    errors: &mut Vec<ManifestError>,
) {
    let mut seen: BTreeMap<String, Location> = BTreeMap::new();
    let mut once = |subject: String, at: &Location, errors: &mut Vec<ManifestError>| match seen.get(&subject)
    {
        Some(first) => errors.push(ManifestError::Duplicate {
            at: at.clone(),
            first: first.clone(),
            subject,
        }),
        None => {
            seen.insert(subject, at.clone());
        }
    };
    for w in workspaces {
        once(format!("{WORKSPACE_KIND}:{}", w.name), &w.at, errors);
    }
    let defaults: Vec<&GsWorkspace> = workspaces.iter().filter(|w| w.default && w.present).collect();
    if let [_, second, ..] = defaults.as_slice() {
        errors.push(ManifestError::Invalid {
            at: second.at.clone(),
            subject: format!("{WORKSPACE_KIND}:{}", second.name),
            message: "only one workspace can be the default".into(),
        });
    }
    let declared = |name: &str| workspaces.iter().any(|w| w.name == name && w.present);
    for d in datastores {
        let subject = format!("{DATASTORE_KIND}:{}", d.address_name());
        once(subject.clone(), &d.at, errors);
        if d.present && !declared(&d.workspace) {
            errors.push(ManifestError::Invalid {
                at: d.at.clone(),
                subject,
                message: format!(
                    "workspace `{}` is not a present [[geoserver.workspace]]",
                    d.workspace
                ),
            });
        }
    }
    for s in styles {
        let subject = format!("{STYLE_KIND}:{}", s.address_name());
        once(subject.clone(), &s.at, errors);
        if let Some(ws) = s.workspace.as_deref().filter(|ws| s.present && !declared(ws)) {
            errors.push(ManifestError::Invalid {
                at: s.at.clone(),
                subject,
                message: format!("workspace `{ws}` is not a present [[geoserver.workspace]]"),
            });
        }
    }
    for a in acl {
        once(format!("{ACL_KIND}:{}", a.rule), &a.at, errors);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn style_versions_pick_the_format() {
        let sld = r#"<?xml version="1.0"?><StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld"/>"#;
        assert_eq!(style_format(sld), Ok(StyleFormat::Sld10));
        let se = r#"<sld:StyledLayerDescriptor xmlns:sld="http://www.opengis.net/sld" version="1.1.0"></sld:StyledLayerDescriptor>"#;
        assert_eq!(style_format(se), Ok(StyleFormat::Se11));
        assert!(style_format("<Other version=\"1.0.0\"/>").is_err());
        assert!(style_format("<StyledLayerDescriptor version=\"2.0\"/>").is_err());
        assert!(style_format("not xml <").is_err());
    }

    #[test]
    fn acl_rules_follow_geoserver_syntax() {
        for good in ["geosync-restreint.*.r", "*.*.w", "ws.layer.a"] {
            assert_eq!(acl_rule_problem(good), None, "{good}");
        }
        for bad in ["a.b", "a.b.x", "it.geo.l.r", "*.layer.r", "a b.*.r", ""] {
            assert!(acl_rule_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn private_hosts() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.20.74.5",
            "192.168.0.1",
            "geoserver",
            "localhost",
            "::1",
            "fd00::1",
        ] {
            assert!(is_private_host(private), "{private}");
        }
        for public in ["8.8.8.8", "geoserver.example.org", "2001:db8::1"] {
            assert!(!is_private_host(public), "{public}");
        }
        assert_eq!(url_host("http://[::1]:8080/geoserver").unwrap(), "::1");
        assert!(url_host("ftp://x").is_err());
    }
}
