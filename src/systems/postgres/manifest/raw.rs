//! `[postgres]` as written in the TOML.

use serde::Deserialize;
use toml::Spanned;

use crate::manifest::raw::Text;

/// `[postgres]`: the server to converge and what to converge there.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPostgres {
    pub host: Option<Text>,
    pub port: Option<Spanned<i64>>,
    /// The administrator geosync connects as.
    pub user: Option<Text>,
    /// None: the server trusts the connection (or a local socket peer).
    pub password: Option<Spanned<crate::manifest::secret::SecretRef>>,
    /// The database geosync connects to for server-wide work.
    pub maintenance_db: Option<Text>,
    pub sslmode: Option<Text>,
    /// CA certificates (PEM) for sslmode verify-ca and verify-full.
    pub sslrootcert: Option<Text>,
    /// pg_hba.conf's path; default: the server's own `SHOW hba_file`.
    pub hba_file: Option<Text>,
    /// The container whose file system holds pg_hba.conf.
    pub hba_container: Option<Text>,
    #[serde(default)]
    pub role: Vec<Spanned<RawPgRole>>,
    #[serde(default)]
    pub database: Vec<Spanned<RawPgDatabase>>,
    #[serde(default)]
    pub grant: Vec<Spanned<RawPgGrant>>,
    #[serde(default)]
    pub hba: Vec<Spanned<RawHbaRule>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ensure {
    #[default]
    Present,
    /// Drop it: also needs `--allow-drop` on the command line.
    Absent,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPgRole {
    pub name: Text,
    #[serde(default)]
    pub ensure: Ensure,
    #[serde(default)]
    pub login: bool,
    #[serde(default)]
    pub createdb: bool,
    #[serde(default)]
    pub createrole: bool,
    pub connection_limit: Option<Spanned<i64>>,
    pub password: Option<Spanned<crate::manifest::secret::SecretRef>>,
    #[serde(default)]
    pub member_of: Vec<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPgDatabase {
    pub name: Text,
    #[serde(default)]
    pub ensure: Ensure,
    pub owner: Option<Text>,
    pub encoding: Option<Text>,
    pub lc_collate: Option<Text>,
    pub lc_ctype: Option<Text>,
    pub template: Option<Text>,
    #[serde(default)]
    pub extensions: Vec<Spanned<RawPgExtension>>,
    #[serde(default)]
    pub schemas: Vec<Spanned<RawPgSchema>>,
}

/// `"postgis"` or `{ name = "postgis", version = "3.3.2", schema = "public" }`.
#[derive(Debug, Deserialize)]
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
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawPgSchema {
    Name(String),
    Full { name: String, owner: Option<String> },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPgGrant {
    pub role: Text,
    pub database: Text,
    /// Privileges on this schema; with `tables = true`, on its tables.
    pub schema: Option<Text>,
    #[serde(default)]
    pub tables: bool,
    /// With `tables = true`: also on tables these roles create later.
    #[serde(default)]
    pub default_for: Vec<Text>,
    pub privileges: Spanned<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHbaRule {
    #[serde(rename = "type")]
    pub kind: Text,
    pub database: Text,
    pub user: Text,
    pub address: Option<Text>,
    pub method: Text,
    pub options: Option<Text>,
}
