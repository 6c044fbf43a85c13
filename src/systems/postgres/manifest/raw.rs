//! `[postgres]` as written in the TOML.

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::manifest::raw::Text;

/// `[postgres]`: the server to converge and what to converge there.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPostgres {
    #[schemars(with = "Option<String>")]
    pub host: Option<Text>,
    #[schemars(with = "Option<i64>")]
    pub port: Option<Spanned<i64>>,
    /// The administrator geosync connects as.
    #[schemars(with = "Option<String>")]
    pub user: Option<Text>,
    /// None: the server trusts the connection (or a local socket peer).
    #[schemars(with = "Option<crate::manifest::secret::SecretRef>")]
    pub password: Option<Spanned<crate::manifest::secret::SecretRef>>,
    /// The database geosync connects to for server-wide work.
    #[schemars(with = "Option<String>")]
    pub maintenance_db: Option<Text>,
    #[schemars(with = "Option<String>")]
    pub sslmode: Option<Text>,
    /// CA certificates (PEM) for sslmode verify-ca and verify-full.
    #[schemars(with = "Option<String>")]
    pub sslrootcert: Option<Text>,
    /// pg_hba.conf's path; default: the server's own `SHOW hba_file`.
    #[schemars(with = "Option<String>")]
    pub hba_file: Option<Text>,
    /// The container whose file system holds pg_hba.conf.
    #[schemars(with = "Option<String>")]
    pub hba_container: Option<Text>,
    #[serde(default)]
    #[schemars(with = "Vec<RawPgRole>")]
    pub role: Vec<Spanned<RawPgRole>>,
    #[serde(default)]
    #[schemars(with = "Vec<RawPgDatabase>")]
    pub database: Vec<Spanned<RawPgDatabase>>,
    #[serde(default)]
    #[schemars(with = "Vec<RawPgGrant>")]
    pub grant: Vec<Spanned<RawPgGrant>>,
    #[serde(default)]
    #[schemars(with = "Vec<RawHbaRule>")]
    pub hba: Vec<Spanned<RawHbaRule>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Ensure {
    #[default]
    Present,
    /// Drop it: also needs `--allow-drop` on the command line.
    Absent,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPgRole {
    #[schemars(with = "String")]
    pub name: Text,
    #[serde(default)]
    pub ensure: Ensure,
    #[serde(default)]
    pub login: bool,
    #[serde(default)]
    pub createdb: bool,
    #[serde(default)]
    pub createrole: bool,
    #[schemars(with = "Option<i64>")]
    pub connection_limit: Option<Spanned<i64>>,
    #[schemars(with = "Option<crate::manifest::secret::SecretRef>")]
    pub password: Option<Spanned<crate::manifest::secret::SecretRef>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub member_of: Vec<Text>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPgDatabase {
    #[schemars(with = "String")]
    pub name: Text,
    #[serde(default)]
    pub ensure: Ensure,
    #[schemars(with = "Option<String>")]
    pub owner: Option<Text>,
    #[schemars(with = "Option<String>")]
    pub encoding: Option<Text>,
    #[schemars(with = "Option<String>")]
    pub lc_collate: Option<Text>,
    #[schemars(with = "Option<String>")]
    pub lc_ctype: Option<Text>,
    #[schemars(with = "Option<String>")]
    pub template: Option<Text>,
    #[serde(default)]
    #[schemars(with = "Vec<RawPgExtension>")]
    pub extensions: Vec<Spanned<RawPgExtension>>,
    #[serde(default)]
    #[schemars(with = "Vec<RawPgSchema>")]
    pub schemas: Vec<Spanned<RawPgSchema>>,
}

/// `"postgis"` or `{ name = "postgis", version = "3.3.2", schema = "public" }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawPgExtension {
    Name(String),
    Full {
        name: String,
        version: Option<String>,
        schema: Option<String>,
    },
}

/// `"data"` or `{ name = "data", owner = "geosync" }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawPgSchema {
    Name(String),
    Full { name: String, owner: Option<String> },
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPgGrant {
    #[schemars(with = "String")]
    pub role: Text,
    #[schemars(with = "String")]
    pub database: Text,
    /// Privileges on this schema; with `tables = true`, on its tables.
    #[schemars(with = "Option<String>")]
    pub schema: Option<Text>,
    #[serde(default)]
    pub tables: bool,
    /// With `tables = true`: also on tables these roles create later.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub default_for: Vec<Text>,
    #[schemars(with = "Vec<String>")]
    pub privileges: Spanned<Vec<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHbaRule {
    #[serde(rename = "type")]
    #[schemars(with = "String")]
    pub kind: Text,
    #[schemars(with = "String")]
    pub database: Text,
    #[schemars(with = "String")]
    pub user: Text,
    #[schemars(with = "Option<String>")]
    pub address: Option<Text>,
    #[schemars(with = "String")]
    pub method: Text,
    #[schemars(with = "Option<String>")]
    pub options: Option<Text>,
}
