//! `[geonetwork]` as written in the TOML.

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::manifest::raw::Text;

/// `[geonetwork]`: the catalogue to converge and what to converge there.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGeoNetwork {
    /// GeoNetwork's base URL, context path included, e.g. http://geonetwork:8080/geonetwork (in one file of the manifest).
    #[schemars(with = "Option<String>")]
    pub url: Option<Text>,
    /// The portal the API lives under (`/{portal}/api`).
    #[schemars(with = "Option<String>")]
    #[schemars(extend("default" = "srv"))]
    pub portal: Option<Text>,
    /// The account geosync authenticates as (HTTP Basic); groups need an Administrator, records an Editor.
    #[schemars(with = "Option<String>")]
    pub user: Option<Text>,
    /// That account's password.
    #[schemars(with = "Option<crate::manifest::secret::SecretRef>")]
    pub password: Option<Spanned<crate::manifest::secret::SecretRef>>,
    /// Seconds one request may take, from connecting to the last byte.
    #[schemars(with = "Option<i64>")]
    #[schemars(extend("default" = 30))]
    pub timeout: Option<Spanned<i64>>,
    /// Seconds to wait for a connection.
    #[schemars(with = "Option<i64>")]
    #[schemars(extend("default" = 5))]
    pub connect_timeout: Option<Spanned<i64>>,
    /// Attempts after the first one for an idempotent request that met a connection error or a 5xx.
    #[schemars(with = "Option<i64>")]
    #[schemars(extend("default" = 3))]
    pub retries: Option<Spanned<i64>>,
    /// Groups records are shared with (GeoNetwork's /api/groups).
    #[serde(default)]
    #[schemars(with = "Vec<RawGnGroup>")]
    pub group: Vec<Spanned<RawGnGroup>>,
}

/// `ensure = "present" | "absent"`, the same in every section.
pub use crate::manifest::raw::Ensure;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGnGroup {
    /// The group's name, its identity in GeoNetwork (unique).
    #[schemars(with = "String")]
    pub name: Text,
    /// present, or absent to remove it (with --allow-drop).
    #[serde(default)]
    pub ensure: Ensure,
    /// Converged when given; left as it is otherwise.
    #[schemars(with = "Option<String>")]
    pub description: Option<Text>,
    /// Converged when given.
    #[schemars(with = "Option<String>")]
    pub email: Option<Text>,
    /// Converged when given.
    #[schemars(with = "Option<String>")]
    pub website: Option<Text>,
    /// Labels by ISO 639-2/B language code (eng, fre…); only the languages given are converged.
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, String>")]
    pub label: std::collections::BTreeMap<String, Text>,
}
