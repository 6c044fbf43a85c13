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
    /// How often `geosync sync` (the loop) runs a pass over each target: 30s, 5m, 1h.
    #[schemars(with = "Option<String>")]
    #[schemars(extend("default" = "5m"))]
    pub interval: Option<Text>,
    /// Every this many passes, the loop lists the whole share again instead of trusting folder etags.
    #[schemars(with = "Option<u32>")]
    #[schemars(extend("default" = 12))]
    pub full_rescan_every: Option<Spanned<i64>>,
    /// How many datasets the loop works on at once (GeoServer's REST calls stay one at a time).
    #[schemars(with = "Option<u32>")]
    #[schemars(extend("default" = 2))]
    pub max_in_flight: Option<Spanned<i64>>,
    /// The share of a target's datasets that may vanish in one pass before it stops and reports
    /// instead of unpublishing them (`--force-removals` goes on); 0 to 1.
    #[schemars(with = "Option<f64>")]
    #[schemars(extend("default" = 0.5))]
    pub max_removal_share: Option<Spanned<f64>>,
    /// Below this many removals in a pass, `max_removal_share` does not apply.
    #[schemars(with = "Option<u32>")]
    #[schemars(extend("default" = 10))]
    pub min_removals: Option<Spanned<i64>>,
    /// The public base URL of GeoServer (e.g. https://sdi.example.org/geoserver), for the OWS links
    /// of the metadata records [default: the [geoserver] url].
    #[schemars(with = "Option<String>")]
    pub public_url: Option<Text>,
    /// Where the metadata records go: "geonetwork" (the [geonetwork] server, over its REST API),
    /// "csw" (the CSW-T catalogue of `csw`, such as pycsw), or "none"
    /// [default: csw when `csw` is given, else geonetwork when declared, else none].
    #[schemars(with = "Option<CatalogueKind>")]
    pub catalogue: Option<Text>,
    /// The [[postgres.role]] the sync connects as (declared with `login = true` and a password):
    /// the tables it loads are then that role's, and the `default_for` grants of that role apply
    /// to them [default: the [postgres] user, often the superuser].
    #[schemars(with = "Option<String>")]
    pub postgres_role: Option<Text>,
    /// The CSW-T catalogue records go to with `catalogue = "csw"`.
    #[schemars(with = "Option<RawCsw>")]
    pub csw: Option<Spanned<RawCsw>>,
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
    /// Who may see the metadata records: public or restricted [default: the target's visibility;
    /// a restricted target's records are never public unless this says so].
    #[schemars(with = "Option<Visibility>")]
    pub metadata_visibility: Option<Text>,
    /// The [[geoserver.datastore]] (in the workspace) the layers read the tables through
    /// [default: the one of the workspace whose database and schema are the target's].
    #[schemars(with = "Option<String>")]
    pub datastore: Option<Text>,
    /// The GeoNetwork groups (by name) that may see, download and map this target's records;
    /// the first owns them. A public target's records are readable by everyone too.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub metadata_groups: Vec<Text>,
    /// The GeoServer roles that may read a restricted target's layers [default: ROLE_AUTHENTICATED].
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub roles: Vec<Text>,
    /// This target's `max_removal_share` [default: [sync] max_removal_share].
    #[schemars(with = "Option<f64>")]
    pub max_removal_share: Option<Spanned<f64>>,
}

/// The values `catalogue` takes (for the schema).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // Only its schema is used.
pub enum CatalogueKind {
    Geonetwork,
    Csw,
    None,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCsw {
    /// The CSW endpoint that accepts transactions, e.g. http://pycsw:8000/csw
    #[schemars(with = "String")]
    pub url: Text,
    /// The user, when the endpoint needs HTTP basic authentication.
    #[schemars(with = "Option<String>")]
    pub user: Option<Text>,
    /// The user's password (a secret reference).
    #[schemars(with = "Option<SecretRef>")]
    pub password: Option<Spanned<SecretRef>>,
    /// Whether everyone can read this catalogue: then restricted targets' records are not sent to it.
    #[schemars(extend("default" = true))]
    pub public: Option<bool>,
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
