//! `[geoserver]` as written in the TOML.

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::manifest::raw::Text;
use crate::manifest::secret::SecretRef;

/// `[geoserver]`: the server to converge and what to converge there.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGeoServer {
    /// The GeoServer base URL, e.g. http://geoserver:8080/geoserver (its REST API is under /rest).
    #[schemars(with = "Option<String>")]
    pub url: Option<Text>,
    /// HTTP Basic user (with `password`).
    #[schemars(with = "Option<String>")]
    pub user: Option<Text>,
    /// HTTP Basic password: a secret reference.
    #[schemars(with = "Option<SecretRef>")]
    pub password: Option<Spanned<SecretRef>>,
    /// geOrchestra's pre-authentication headers (sec-username, sec-roles) instead of Basic; only on a private URL.
    #[schemars(with = "Option<RawPreauth>")]
    pub preauth: Option<Spanned<RawPreauth>>,
    /// Seconds a whole request may take, from connecting to the last byte (1..3600).
    #[schemars(with = "Option<i64>")]
    #[schemars(extend("default" = 30))]
    pub timeout: Option<Spanned<i64>>,
    /// Seconds to establish a connection (1..600).
    #[schemars(with = "Option<i64>")]
    #[schemars(extend("default" = 5))]
    pub connect_timeout: Option<Spanned<i64>>,
    /// Attempts after the first for an idempotent request that met a connection error or a 5xx (0..10).
    #[schemars(with = "Option<i64>")]
    #[schemars(extend("default" = 3))]
    pub retries: Option<Spanned<i64>>,
    /// First delay between attempts in milliseconds, doubled at each retry (1..60000).
    #[schemars(with = "Option<i64>")]
    #[schemars(extend("default" = 200))]
    pub retry_backoff_ms: Option<Spanned<i64>>,
    /// Workspaces (each with its namespace).
    #[serde(default)]
    #[schemars(with = "Vec<RawWorkspace>")]
    pub workspace: Vec<Spanned<RawWorkspace>>,
    /// PostGIS data stores.
    #[serde(default)]
    #[schemars(with = "Vec<RawDatastore>")]
    pub datastore: Vec<Spanned<RawDatastore>>,
    /// Styles from SLD 1.0 or SE 1.1 files.
    #[serde(default)]
    #[schemars(with = "Vec<RawStyle>")]
    pub style: Vec<Spanned<RawStyle>>,
    /// Layer access rules (`workspace.layer.r|w|a` = roles); rules not declared here are left alone.
    #[serde(default)]
    #[schemars(with = "Vec<RawAcl>")]
    pub acl: Vec<Spanned<RawAcl>>,
}

/// geOrchestra's security proxy headers, as the proxy would send them.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPreauth {
    /// Sent as `sec-username`.
    pub username: String,
    /// Sent as `sec-roles`, joined with `;`.
    pub roles: Vec<String>,
}

/// `ensure = "present" | "absent"`, the same in every section.
pub use crate::manifest::raw::Ensure;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWorkspace {
    /// The workspace name (an XML name: letters, digits, `_`, `-`, `.`).
    #[schemars(with = "String")]
    pub name: Text,
    /// present, or absent to delete it (with --allow-drop).
    #[serde(default)]
    pub ensure: Ensure,
    /// An isolated workspace's contents are visible only through its virtual services.
    #[serde(default)]
    pub isolated: bool,
    /// GeoServer's default workspace.
    #[serde(default)]
    pub default: bool,
    /// With ensure = "absent": delete its contents too (and --allow-drop).
    #[serde(default)]
    pub recurse: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDatastore {
    /// A declared workspace.
    #[schemars(with = "String")]
    pub workspace: Text,
    /// The store name.
    #[schemars(with = "String")]
    pub name: Text,
    /// present, or absent to delete it (with --allow-drop).
    #[serde(default)]
    pub ensure: Ensure,
    /// With ensure = "absent": delete its feature types and layers too (and --allow-drop).
    #[serde(default)]
    pub recurse: bool,
    /// Shown in GeoServer's store list.
    #[schemars(with = "Option<String>")]
    pub description: Option<Text>,
    /// Default true.
    #[schemars(with = "Option<bool>")]
    pub enabled: Option<bool>,
    /// The PostgreSQL server as GeoServer reaches it.
    #[schemars(with = "String")]
    pub host: Text,
    /// Default 5432.
    #[schemars(with = "Option<i64>")]
    pub port: Option<Spanned<i64>>,
    /// The database.
    #[schemars(with = "String")]
    pub database: Text,
    /// Default public.
    #[schemars(with = "Option<String>")]
    pub schema: Option<Text>,
    /// The PostgreSQL user GeoServer connects as.
    #[schemars(with = "String")]
    pub user: Text,
    /// Write-only: GeoServer keeps it encrypted; geosync re-sets it only when the secret changed.
    #[schemars(with = "Option<SecretRef>")]
    pub password: Option<Spanned<SecretRef>>,
    /// Connection pool: most connections (default 10).
    #[schemars(with = "Option<i64>")]
    pub max_connections: Option<Spanned<i64>>,
    /// Connection pool: fewest connections (default 1).
    #[schemars(with = "Option<i64>")]
    pub min_connections: Option<Spanned<i64>>,
    /// Seconds to wait for a pooled connection (default 20).
    #[schemars(with = "Option<i64>")]
    pub connection_timeout: Option<Spanned<i64>>,
    /// "Expose primary keys" (default false).
    #[schemars(with = "Option<bool>")]
    pub expose_primary_keys: Option<bool>,
    /// "Loose bbox" (default true).
    #[schemars(with = "Option<bool>")]
    pub loose_bbox: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStyle {
    /// The style name.
    #[schemars(with = "String")]
    pub name: Text,
    /// A declared workspace; none for a global style.
    #[schemars(with = "Option<String>")]
    pub workspace: Option<Text>,
    /// present, or absent to delete it (with --allow-drop).
    #[serde(default)]
    pub ensure: Ensure,
    /// The SLD 1.0 or SE 1.1 document, relative to the manifest.
    #[schemars(with = "Option<String>")]
    pub file: Option<Text>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAcl {
    /// `workspace.layer.access`, access r, w or a; `*` for any workspace or layer.
    #[schemars(with = "String")]
    pub rule: Text,
    /// Exactly these roles (or ["*"]).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub roles: Vec<Text>,
    /// present, or absent to delete the rule (with --allow-drop).
    #[serde(default)]
    pub ensure: Ensure,
}

impl RawGeoServer {
    /// The HTTP client keys, spelt as in every section that names a service.
    pub fn http_keys(&self) -> crate::manifest::http::RawHttpKeys<'_> {
        crate::manifest::http::RawHttpKeys {
            timeout: &self.timeout,
            connect_timeout: &self.connect_timeout,
            retries: &self.retries,
            retry_backoff_ms: &self.retry_backoff_ms,
        }
    }
}
