//! `[postgres]` as written in the TOML.

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::manifest::raw::Text;

/// `[postgres]`: the server to converge and what to converge there.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPostgres {
    /// The server; a path starting with / is a socket folder.
    #[schemars(with = "Option<String>")]
    #[schemars(extend("default" = "127.0.0.1"))]
    pub host: Option<Text>,
    /// The server's port.
    #[schemars(with = "Option<i64>")]
    #[schemars(extend("default" = 5432))]
    pub port: Option<Spanned<i64>>,
    /// The administrator geosync connects as.
    #[schemars(with = "Option<String>")]
    #[schemars(extend("default" = "postgres"))]
    pub user: Option<Text>,
    /// None: the server trusts the connection (or a local socket peer).
    #[schemars(with = "Option<crate::manifest::secret::SecretRef>")]
    pub password: Option<Spanned<crate::manifest::secret::SecretRef>>,
    /// The database geosync connects to for server-wide work.
    #[schemars(with = "Option<String>")]
    #[schemars(extend("default" = "postgres"))]
    pub maintenance_db: Option<Text>,
    /// TLS as in libpq: disable, prefer, require, verify-ca, verify-full.
    #[schemars(with = "Option<SslMode>")]
    #[schemars(extend("default" = "prefer"))]
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
    /// Connections geosync opens at most at once (default 4).
    #[schemars(with = "Option<i64>")]
    #[schemars(extend("default" = 4))]
    pub pool_size: Option<Spanned<i64>>,
    /// Roles (users and groups).
    #[serde(default)]
    #[schemars(with = "Vec<RawPgRole>")]
    pub role: Vec<Spanned<RawPgRole>>,
    /// Databases with their extensions and schemas.
    #[serde(default)]
    #[schemars(with = "Vec<RawPgDatabase>")]
    pub database: Vec<Spanned<RawPgDatabase>>,
    /// Privileges of a declared role on a database, a schema or the tables of a schema.
    #[serde(default)]
    #[schemars(with = "Vec<RawPgGrant>")]
    pub grant: Vec<Spanned<RawPgGrant>>,
    /// The rules of geosync's managed block of pg_hba.conf, in order; the block is managed only when at least one is declared.
    #[serde(default)]
    #[schemars(with = "Vec<RawHbaRule>")]
    pub hba: Vec<Spanned<RawHbaRule>>,
}

/// `ensure = "present" | "absent"`, the same in every section.
pub use crate::manifest::raw::Ensure;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPgRole {
    /// The role name.
    #[schemars(with = "String")]
    pub name: Text,
    /// present, or absent to drop it (with --allow-drop).
    #[serde(default)]
    pub ensure: Ensure,
    /// May log in.
    #[serde(default)]
    pub login: bool,
    /// May create databases.
    #[serde(default)]
    pub createdb: bool,
    /// May create roles.
    #[serde(default)]
    pub createrole: bool,
    /// The most connections at once; -1 for no limit.
    #[schemars(with = "Option<i64>")]
    #[schemars(extend("default" = -1))]
    pub connection_limit: Option<Spanned<i64>>,
    /// Write-only: geosync compares SCRAM verifiers, never stores it.
    #[schemars(with = "Option<crate::manifest::secret::SecretRef>")]
    pub password: Option<Spanned<crate::manifest::secret::SecretRef>>,
    /// Exactly these memberships.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub member_of: Vec<Text>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPgDatabase {
    /// The database name.
    #[schemars(with = "String")]
    pub name: Text,
    /// present, or absent to drop it (with --allow-drop).
    #[serde(default)]
    pub ensure: Ensure,
    /// A declared role.
    #[schemars(with = "Option<String>")]
    pub owner: Option<Text>,
    /// At creation only, e.g. UTF8.
    #[schemars(with = "Option<String>")]
    pub encoding: Option<Text>,
    /// At creation only.
    #[schemars(with = "Option<String>")]
    pub lc_collate: Option<Text>,
    /// At creation only.
    #[schemars(with = "Option<String>")]
    pub lc_ctype: Option<Text>,
    /// At creation only, e.g. template0.
    #[schemars(with = "Option<String>")]
    pub template: Option<Text>,
    /// Extensions: "postgis" or { name, version, schema }.
    #[serde(default)]
    #[schemars(with = "Vec<RawPgExtension>")]
    pub extensions: Vec<Spanned<RawPgExtension>>,
    /// Schemas: "data" or { name, owner }.
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
    /// A declared role.
    #[schemars(with = "String")]
    pub role: Text,
    /// A declared database.
    #[schemars(with = "String")]
    pub database: Text,
    /// Privileges on this schema; with `tables = true`, on its tables.
    #[schemars(with = "Option<String>")]
    pub schema: Option<Text>,
    /// On every table of the schema (and, with default_for, on those created later).
    #[serde(default)]
    pub tables: bool,
    /// With `tables = true`: also on tables these roles create later.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub default_for: Vec<Text>,
    /// Database: CONNECT, CREATE, TEMPORARY; schema: USAGE, CREATE; tables: SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER; or ALL.
    #[schemars(with = "Vec<String>")]
    pub privileges: Spanned<Vec<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHbaRule {
    /// local, host, hostssl, hostnossl, hostgssenc, hostnogssenc.
    #[serde(rename = "type")]
    #[schemars(with = "HbaType")]
    pub kind: Text,
    /// The databases the rule matches, e.g. all.
    #[schemars(with = "String")]
    pub database: Text,
    /// The users the rule matches, e.g. all.
    #[schemars(with = "String")]
    pub user: Text,
    /// A CIDR address; none for local.
    #[schemars(with = "Option<String>")]
    pub address: Option<Text>,
    /// The authentication method, e.g. scram-sha-256.
    #[schemars(with = "HbaMethod")]
    pub method: Text,
    /// Options of the method, e.g. clientcert=verify-full.
    #[schemars(with = "Option<String>")]
    pub options: Option<Text>,
}

crate::schema_string!(
    /// disable, prefer, require, verify-ca or verify-full, as libpq means them.
    SslMode = crate::manifest::schema::choice(&["disable", "prefer", "require", "verify-ca", "verify-full"])
);
crate::schema_string!(
    /// The connection type of a pg_hba.conf rule.
    HbaType = crate::manifest::schema::choice(super::HBA_TYPES)
);
crate::schema_string!(
    /// The authentication method of a pg_hba.conf rule.
    HbaMethod = crate::manifest::schema::choice(super::HBA_METHODS)
);
