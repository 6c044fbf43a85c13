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

impl RawGeoNetwork {
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
