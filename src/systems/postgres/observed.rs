//! What the server has now: read-only queries, run before planning.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use tokio_postgres::Client;

#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// geosync's own address as the server sees it (None over a socket).
    pub client_addr: Option<IpAddr>,
    pub roles: BTreeMap<String, ObservedRole>,
    pub databases: BTreeMap<String, ObservedDatabase>,
    /// Versions the server can install, for the extensions the manifest names.
    pub available_extensions: BTreeMap<String, BTreeSet<String>>,
    pub hba: Option<ObservedHba>,
    /// Every role by oid, to name the owners read inside databases.
    pub role_names: RoleNames,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedRole {
    pub login: bool,
    pub createdb: bool,
    pub createrole: bool,
    pub connection_limit: i32,
    /// pg_authid.rolpassword: a verifier, never a password.
    pub verifier: Option<String>,
    pub member_of: BTreeSet<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedDatabase {
    pub owner: String,
    pub encoding: String,
    pub lc_collate: String,
    pub lc_ctype: String,
    /// Explicit database privileges by role.
    pub acl: BTreeMap<String, BTreeSet<String>>,
    /// What is inside; read only for the databases the manifest names,
    /// and only what their plan compares (see `inside::Scope`).
    pub inside: Option<Inside>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inside {
    /// name -> (version, schema)
    pub extensions: BTreeMap<String, (String, String)>,
    /// name -> owner
    pub schemas: BTreeMap<String, String>,
    /// (schema, role) -> explicit privileges
    pub schema_acl: BTreeMap<(String, String), BTreeSet<String>>,
    pub tables: Vec<ObservedTable>,
    /// (creator, schema, grantee) -> privileges on tables created later
    pub default_acl: BTreeMap<(String, String, String), BTreeSet<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedTable {
    pub schema: String,
    pub name: String,
    pub owner: String,
    /// Part of an extension (PostGIS's spatial_ref_sys): not user data.
    /// Read only for a database declared absent, the one place it counts.
    pub from_extension: bool,
    /// role -> explicit privileges
    pub acl: BTreeMap<String, BTreeSet<String>>,
}

/// The managed pg_hba.conf as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedHba {
    /// Where it is, for messages: a host path or `container:path`.
    pub location: String,
    /// As on disk: lines outside the block may be in any encoding.
    pub content: Vec<u8>,
    /// What PostgreSQL reports wrong in the file on disk: (line, error).
    pub errors: Vec<(usize, String)>,
    /// An earlier apply stopped before the file was checked and loaded
    /// (its copy of the previous file is still there).
    pub interrupted: bool,
}

impl Inside {
    pub fn user_tables(&self) -> usize {
        self.tables.iter().filter(|t| !t.from_extension).count()
    }
}

/// Server-wide state, the queries pipelined on the one connection.
pub async fn server(client: &Client, extension_names: &[String]) -> Result<Observed, tokio_postgres::Error> {
    let (client_addr, mut roles, role_names, memberships, mut databases, database_acl, available_extensions) =
        futures::try_join!(
            client_addr(client),
            roles(client),
            role_names(client),
            memberships(client),
            databases(client),
            database_acl(client),
            available_extensions(client, extension_names)
        )?;
    for (member, parent) in memberships {
        if let Some(role) = roles.get_mut(&member) {
            role.member_of.insert(parent);
        }
    }
    for (database, role, privilege) in database_acl {
        if let Some(db) = databases.get_mut(&database) {
            db.acl.entry(role).or_default().insert(privilege);
        }
    }
    Ok(Observed {
        client_addr,
        roles,
        databases,
        available_extensions,
        hba: None,
        role_names,
    })
}

async fn client_addr(client: &Client) -> Result<Option<IpAddr>, tokio_postgres::Error> {
    let row = client.query_one("SELECT inet_client_addr()::text", &[]).await?;
    Ok(row
        .get::<_, Option<String>>(0)
        .and_then(|a| a.split('/').next().and_then(|ip| ip.parse().ok())))
}

async fn roles(client: &Client) -> Result<BTreeMap<String, ObservedRole>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT rolname, rolcanlogin, rolcreatedb, rolcreaterole, rolconnlimit, rolpassword FROM pg_authid",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            let role = ObservedRole {
                login: row.get(1),
                createdb: row.get(2),
                createrole: row.get(3),
                connection_limit: row.get(4),
                verifier: row.get(5),
                member_of: BTreeSet::new(),
            };
            (row.get(0), role)
        })
        .collect())
}

/// (member, parent) pairs.
async fn memberships(client: &Client) -> Result<Vec<(String, String)>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT m.rolname, r.rolname FROM pg_auth_members am \
             JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

async fn databases(client: &Client) -> Result<BTreeMap<String, ObservedDatabase>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT datname, pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, datctype \
             FROM pg_database WHERE datallowconn OR NOT datistemplate",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            let database = ObservedDatabase {
                owner: row.get(1),
                encoding: row.get(2),
                lc_collate: row.get(3),
                lc_ctype: row.get(4),
                ..Default::default()
            };
            (row.get(0), database)
        })
        .collect())
}

/// (database, role, privilege) triples.
async fn database_acl(client: &Client) -> Result<Vec<(String, String, String)>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT d.datname, r.rolname, a.privilege_type FROM pg_database d \
             CROSS JOIN LATERAL aclexplode(d.datacl) a JOIN pg_roles r ON r.oid = a.grantee",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect())
}

async fn available_extensions(
    client: &Client,
    names: &[String],
) -> Result<BTreeMap<String, BTreeSet<String>>, tokio_postgres::Error> {
    let mut available: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // The view reads every extension's control and script files (about
    // 20 ms of server CPU): not for a manifest that names none.
    if names.is_empty() {
        return Ok(available);
    }
    for row in client
        .query(
            "SELECT name, version FROM pg_available_extension_versions WHERE name = ANY($1)",
            &[&names],
        )
        .await?
    {
        available.entry(row.get(0)).or_default().insert(row.get(1));
    }
    Ok(available)
}

/// Role names by oid, to name the owners inside databases without
/// joining the role catalog in each of them.
pub type RoleNames = BTreeMap<u32, String>;

/// Server-wide role oids, read with the roles.
pub async fn role_names(client: &Client) -> Result<RoleNames, tokio_postgres::Error> {
    let rows = client.query("SELECT oid, rolname FROM pg_authid", &[]).await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

impl Inside {
    /// By schema, then name, as the plan lists them.
    pub(super) fn sort_tables(&mut self) {
        self.tables
            .sort_by(|x, y| (&x.schema, &x.name).cmp(&(&y.schema, &y.name)));
    }
}

impl ObservedTable {
    pub(super) fn new(schema: String, name: String, owner: String) -> Self {
        ObservedTable {
            schema,
            name,
            owner,
            from_extension: false,
            acl: BTreeMap::new(),
        }
    }
}
