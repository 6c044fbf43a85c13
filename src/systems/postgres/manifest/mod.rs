//! `[postgres]`: the TOML (raw), its lowering and checks (lower), the
//! validated server settings and objects the system plans from (here).

mod lower;
pub mod raw;

use std::path::PathBuf;

use crate::manifest::document::Document;
use crate::manifest::lower::Lowerer;
use crate::manifest::secret::{Secret, SecretResolver};
use crate::manifest::source::Location;
use crate::manifest::vars::Vars;
use crate::manifest::ManifestError;

pub const ROLE_KIND: &str = "postgres.role";
pub const DATABASE_KIND: &str = "postgres.database";
pub const GRANT_KIND: &str = "postgres.grant";

/// pg_hba.conf's connection types and methods, as PostgreSQL 15 reads them.
pub const HBA_TYPES: &[&str] = &[
    "local",
    "host",
    "hostssl",
    "hostnossl",
    "hostgssenc",
    "hostnogssenc",
];
pub const HBA_METHODS: &[&str] = &[
    "trust",
    "reject",
    "scram-sha-256",
    "md5",
    "password",
    "gss",
    "sspi",
    "ident",
    "peer",
    "ldap",
    "radius",
    "cert",
    "pam",
    "bsd",
];

/// `[postgres]`, validated.
#[derive(Debug, Clone)]
pub struct Postgres {
    pub connection: PgConnection,
    pub hba_file: Option<String>,
    pub hba_container: Option<String>,
    pub roles: Vec<PgRole>,
    pub databases: Vec<PgDatabase>,
    pub grants: Vec<PgGrant>,
    /// None when no `[[postgres.hba]]` is declared: the block is not managed.
    pub hba: Option<Vec<HbaRule>>,
}

#[derive(Debug, Clone)]
pub struct PgConnection {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<Secret>,
    pub maintenance_db: String,
    pub tls: TlsMode,
    /// CA certificates (PEM) for `verify-ca` and `verify-full`.
    pub root_cert: Option<PathBuf>,
    /// Connections geosync opens at most at once (lowered further at run
    /// time to what the server has free).
    pub pool_size: usize,
}

/// A few connections: enough to observe databases side by side, few
/// enough to leave the server's slots to the applications it serves.
pub const DEFAULT_POOL_SIZE: usize = 4;

/// A larger pool buys nothing on the 2-core hosts geosync targets and would
/// eat a default server's 100 slots.
pub const MAX_POOL_SIZE: i64 = 32;

impl Default for PgConnection {
    /// What `[postgres]` means when it says nothing: the local server's
    /// administrator, as libpq's defaults would have it.
    fn default() -> Self {
        PgConnection {
            host: "127.0.0.1".into(),
            port: 5432,
            user: "postgres".into(),
            password: None,
            maintenance_db: "postgres".into(),
            tls: TlsMode::Prefer,
            root_cert: None,
            pool_size: DEFAULT_POOL_SIZE,
        }
    }
}

/// libpq's sslmode values, with their meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

#[derive(Debug, Clone)]
pub struct PgRole {
    pub name: String,
    pub at: Location,
    pub present: bool,
    pub login: bool,
    pub createdb: bool,
    pub createrole: bool,
    pub connection_limit: i32,
    pub password: Option<Secret>,
    pub member_of: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct PgDatabase {
    pub name: String,
    pub at: Location,
    pub present: bool,
    pub owner: Option<String>,
    pub encoding: Option<String>,
    pub lc_collate: Option<String>,
    pub lc_ctype: Option<String>,
    pub template: Option<String>,
    pub extensions: Vec<PgExtension>,
    pub schemas: Vec<PgSchema>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgExtension {
    pub name: String,
    pub version: Option<String>,
    pub schema: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgSchema {
    pub name: String,
    pub owner: Option<String>,
}

/// What a grant is on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum GrantTarget {
    Database,
    Schema(String),
    /// Every table of the schema, and those the `default_for` roles create later.
    Tables {
        schema: String,
        default_for: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub struct PgGrant {
    pub role: String,
    pub database: String,
    pub target: GrantTarget,
    pub privileges: std::collections::BTreeSet<String>,
    pub at: Location,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HbaRule {
    pub kind: String,
    pub database: String,
    pub user: String,
    pub address: Option<String>,
    pub method: String,
    pub options: Option<String>,
    pub at: Location,
}

/// Lowers `[postgres]` of every file and checks references between them.
pub fn lower(
    documents: &[Document],
    vars: &Vars,
    resolver: &SecretResolver,
    errors: &mut Vec<ManifestError>,
) -> Option<Postgres> {
    let mut parts = Vec::new();
    for doc in documents {
        let Some(section) = doc.section::<raw::RawPostgres>("postgres", errors) else {
            continue;
        };
        let mut lower = Lowerer::new(&doc.source, vars, errors);
        parts.push(lower.postgres_part(&section, resolver));
    }
    lower::merge(parts, errors)
}
