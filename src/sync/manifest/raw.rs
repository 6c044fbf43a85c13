//! `[sync]` as written in the TOML.

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::manifest::raw::Text;
use crate::manifest::secret::SecretRef;

/// `[sync]`: the cloud shares geosync publishes, one target per visibility level.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSync {
    /// A share and where its datasets are loaded.
    #[serde(default)]
    #[schemars(with = "Vec<RawSyncTarget>")]
    pub target: Vec<Spanned<RawSyncTarget>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSyncTarget {
    /// The target's name: `sync.target:<name>`, `geosync sync --target <name>`.
    #[schemars(with = "String")]
    pub name: Text,
    /// Where the datasets come from: `{ webdav = URL, user, password }` or `{ path = FOLDER }`.
    #[schemars(with = "RawSyncSource")]
    pub source: Spanned<RawSyncSource>,
    /// The PostgreSQL database the datasets are loaded into, on the `[postgres]` server.
    #[schemars(with = "String")]
    pub database: Text,
    /// The schema of that database the tables go to.
    #[schemars(with = "Option<String>")]
    #[schemars(extend("default" = "public"))]
    pub schema: Option<Text>,
    /// The GeoServer workspace the layers are published in.
    #[schemars(with = "Option<String>")]
    pub workspace: Option<Text>,
    /// The CRS of datasets that do not say theirs (a shapefile without .prj), as EPSG:<code>; without it they are rejected.
    #[schemars(with = "Option<String>")]
    pub default_crs: Option<Text>,
    /// Who may see the published layers: public or restricted.
    #[schemars(with = "Option<Visibility>")]
    #[schemars(extend("default" = "restricted"))]
    pub visibility: Option<Text>,
}

/// The values `visibility` takes (for the schema).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // Only its schema is used.
pub enum Visibility {
    Public,
    Restricted,
}

/// A WebDAV share (`webdav`, `user`, `password`) or a local folder (`path`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSyncSource {
    /// The share's WebDAV folder, e.g. https://cloud.example.org/remote.php/dav/files/georchestra-ouvert/
    #[schemars(with = "Option<String>")]
    pub webdav: Option<Text>,
    /// The WebDAV user.
    #[schemars(with = "Option<String>")]
    pub user: Option<Text>,
    /// The WebDAV user's password (an app password on ownCloud).
    #[schemars(with = "Option<SecretRef>")]
    pub password: Option<Spanned<SecretRef>>,
    /// A folder on this machine (a mounted share); relative to the manifest.
    #[schemars(with = "Option<String>")]
    pub path: Option<Text>,
}
