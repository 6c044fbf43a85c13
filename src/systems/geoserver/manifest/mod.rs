//! `[geoserver]`: the TOML (raw), its lowering and checks (lower), the
//! validated connection and objects the system plans from (here).

mod lower;
pub use lower::keys as lower_keys;
pub mod raw;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::manifest::document::Document;
use crate::manifest::lower::Lowerer;
use crate::manifest::secret::{Secret, SecretResolver};
use crate::manifest::source::Location;
use crate::manifest::vars::Vars;
use crate::manifest::ManifestError;

pub const WORKSPACE_KIND: &str = "geoserver.workspace";
pub const DATASTORE_KIND: &str = "geoserver.datastore";
pub const STYLE_KIND: &str = "geoserver.style";
pub const ACL_KIND: &str = "geoserver.acl";

/// `[geoserver]`, validated.
#[derive(Debug, Clone)]
pub struct GeoServer {
    pub connection: GsConnection,
    pub workspaces: Vec<GsWorkspace>,
    pub datastores: Vec<GsDatastore>,
    pub styles: Vec<GsStyle>,
    pub acl: Vec<GsAcl>,
}

#[derive(Debug, Clone)]
pub struct GsConnection {
    /// The base URL without a trailing slash; the REST API is `{url}/rest`.
    pub url: String,
    pub auth: Auth,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub retries: u32,
    pub backoff: Duration,
}

impl Default for GsConnection {
    fn default() -> Self {
        GsConnection {
            url: "http://127.0.0.1:8080/geoserver".into(),
            auth: Auth::None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retries: 3,
            backoff: Duration::from_millis(200),
        }
    }
}

/// How geosync proves who it is to GeoServer.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Anonymous: GeoServer refuses every write, so only for reading.
    None,
    Basic {
        user: String,
        password: Secret,
    },
    /// geOrchestra's security proxy headers, trusted by GeoServer inside
    /// the platform network only.
    Preauth {
        username: String,
        roles: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub struct GsWorkspace {
    pub name: String,
    pub at: Location,
    pub present: bool,
    pub isolated: bool,
    pub default: bool,
    pub recurse: bool,
}

/// The PostGIS connection parameters geosync sets, by GeoServer's keys.
pub type Params = BTreeMap<String, String>;

#[derive(Debug, Clone)]
pub struct GsDatastore {
    pub workspace: String,
    pub name: String,
    pub at: Location,
    pub present: bool,
    pub recurse: bool,
    pub description: Option<String>,
    pub enabled: bool,
    /// Every parameter geosync owns except the password.
    pub params: Params,
    pub password: Option<Secret>,
}

impl GsDatastore {
    pub fn address_name(&self) -> String {
        format!("{}:{}", self.workspace, self.name)
    }
}

/// The two style languages geosync uploads, told apart by the
/// document's `version`, each with the media type GeoServer expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StyleFormat {
    Sld10,
    Se11,
}

impl StyleFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            StyleFormat::Sld10 => "application/vnd.ogc.sld+xml",
            StyleFormat::Se11 => "application/vnd.ogc.se+xml",
        }
    }

    pub fn version(self) -> &'static str {
        match self {
            StyleFormat::Sld10 => "1.0.0",
            StyleFormat::Se11 => "1.1.0",
        }
    }
}

#[derive(Debug, Clone)]
pub struct GsStyle {
    pub workspace: Option<String>,
    pub name: String,
    pub at: Location,
    pub present: bool,
    /// The document, as uploaded (raw) and compared.
    pub content: String,
    pub format: StyleFormat,
}

impl GsStyle {
    pub fn address_name(&self) -> String {
        style_address(self.workspace.as_deref(), &self.name)
    }
}

pub fn style_address(workspace: Option<&str>, name: &str) -> String {
    match workspace {
        Some(ws) => format!("{ws}:{name}"),
        None => name.to_string(),
    }
}

#[derive(Debug, Clone)]
pub struct GsAcl {
    /// `workspace.layer.access`.
    pub rule: String,
    pub roles: BTreeSet<String>,
    pub present: bool,
    pub at: Location,
}

/// Lowers `[geoserver]` of every file and checks references between them.
pub fn lower(
    documents: &[Document],
    vars: &Vars,
    resolver: &SecretResolver,
    errors: &mut Vec<ManifestError>,
) -> Option<GeoServer> {
    let mut parts = Vec::new();
    for doc in documents {
        let Some(section) = doc.section::<raw::RawGeoServer>("geoserver", errors) else {
            continue;
        };
        let mut lower = Lowerer::new(&doc.source, vars, errors);
        parts.push(lower.geoserver_part(&section, resolver));
    }
    lower::merge(parts, errors)
}
