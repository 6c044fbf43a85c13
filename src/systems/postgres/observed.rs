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
    /// Every role by oid, to name the owners and grantees read inside databases.
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
    /// What is inside; read only for the databases the manifest names.
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

/// Role names by oid, to name the owners and grantees inside databases
/// without joining the role catalog in each of them.
pub type RoleNames = BTreeMap<u32, String>;

/// Server-wide role oids, read with the roles.
pub async fn role_names(client: &Client) -> Result<RoleNames, tokio_postgres::Error> {
    let rows = client.query("SELECT oid, rolname FROM pg_authid", &[]).await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

const USER_SCHEMAS: &str = "n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'";

/// What is inside one database, read over a connection to it in ONE
/// simple-protocol statement: a new backend pays for every catalog it
/// opens and every statement it plans, and a plan of many databases pays
/// that once per database. Each row is tagged with what it describes;
/// owners and grantees come back as oids, named from `roles`.
fn inside_sql() -> String {
    format!(
        "SELECT 'e', e.extname::text, e.extversion, n.nspname::text, NULL \
           FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace \
         UNION ALL SELECT 's', n.nspname::text, n.nspowner::text, NULL, NULL \
           FROM pg_namespace n WHERE {USER_SCHEMAS} \
         UNION ALL SELECT 'a', n.nspname::text, a.grantee::text, a.privilege_type, NULL \
           FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a WHERE {USER_SCHEMAS} \
         UNION ALL SELECT 't', c.oid::text, n.nspname::text, c.relname::text, c.relowner::text \
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
           WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {USER_SCHEMAS} \
         UNION ALL SELECT 'T', c.oid::text, a.grantee::text, a.privilege_type, NULL \
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
           CROSS JOIN LATERAL aclexplode(c.relacl) a \
           WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {USER_SCHEMAS} \
         UNION ALL SELECT 'x', d.objid::text, NULL, NULL, NULL FROM pg_depend d \
           WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e' \
         UNION ALL SELECT 'd', d.defaclrole::text, n.nspname::text, a.grantee::text, a.privilege_type \
           FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace \
           CROSS JOIN LATERAL aclexplode(d.defaclacl) a WHERE d.defaclobjtype = 'r'"
    )
}

pub async fn inside(client: &Client, roles: &RoleNames) -> Result<Inside, tokio_postgres::Error> {
    let mut rows = Vec::new();
    for message in client.simple_query(&inside_sql()).await? {
        if let tokio_postgres::SimpleQueryMessage::Row(row) = message {
            let text = |i: usize| row.get(i).unwrap_or_default().to_string();
            rows.push([text(0), text(1), text(2), text(3), text(4)]);
        }
    }
    Ok(Inside::from_rows(rows, roles))
}

impl Inside {
    /// Builds what was read from the tagged rows of [`inside_sql`].
    fn from_rows(rows: Vec<[String; 5]>, roles: &RoleNames) -> Inside {
        let role = |oid: &str| -> Option<String> { roles.get(&oid.parse().ok()?).cloned() };
        let owner = |oid: &str| role(oid).unwrap_or_else(|| format!("unknown (OID={oid})"));
        let mut inside = Inside::default();
        let mut tables: BTreeMap<String, ObservedTable> = BTreeMap::new();
        let mut table_acl = Vec::new();
        let mut from_extension = BTreeSet::new();
        for [tag, a, b, c, d] in rows {
            match tag.as_str() {
                "e" => {
                    inside.extensions.insert(a, (b, c));
                }
                "s" => {
                    inside.schemas.insert(a, owner(&b));
                }
                // Grants to PUBLIC (oid 0) and to dropped roles name no role.
                "a" => {
                    if let Some(grantee) = role(&b) {
                        inside.schema_acl.entry((a, grantee)).or_default().insert(c);
                    }
                }
                "t" => {
                    tables.insert(a, ObservedTable::new(b, c, owner(&d)));
                }
                "T" => table_acl.push((a, b, c)),
                "x" => {
                    from_extension.insert(a);
                }
                "d" => {
                    if let Some(grantee) = role(&c) {
                        let key = (owner(&a), b, grantee);
                        inside.default_acl.entry(key).or_default().insert(d);
                    }
                }
                _ => {}
            }
        }
        for (oid, grantee, privilege) in table_acl {
            if let (Some(table), Some(grantee)) = (tables.get_mut(&oid), role(&grantee)) {
                table.acl.entry(grantee).or_default().insert(privilege);
            }
        }
        inside.tables = tables
            .into_iter()
            .map(|(oid, mut table)| {
                table.from_extension = from_extension.contains(&oid);
                table
            })
            .collect();
        inside
            .tables
            .sort_by(|x, y| (&x.schema, &x.name).cmp(&(&y.schema, &y.name)));
        inside
    }
}

impl ObservedTable {
    fn new(schema: String, name: String, owner: String) -> Self {
        ObservedTable {
            schema,
            name,
            owner,
            from_extension: false,
            acl: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(fields: [&str; 5]) -> [String; 5] {
        fields.map(str::to_string)
    }

    #[test]
    fn tagged_rows_name_owners_and_grantees_and_drop_public_grants() {
        let roles: RoleNames = [(10, "postgres".to_string()), (20, "reader".to_string())].into();
        let rows = vec![
            row(["e", "postgis", "3.3.2", "public", ""]),
            row(["s", "data", "10", "", ""]),
            row(["s", "orphan", "99", "", ""]),
            row(["a", "data", "20", "USAGE", ""]),
            row(["a", "data", "0", "USAGE", ""]),
            row(["t", "500", "public", "spatial_ref_sys", "10"]),
            row(["t", "600", "data", "roads", "10"]),
            row(["T", "600", "20", "SELECT", ""]),
            row(["T", "600", "0", "SELECT", ""]),
            row(["x", "500", "", "", ""]),
            row(["d", "10", "data", "20", "SELECT"]),
        ];
        let inside = Inside::from_rows(rows, &roles);
        assert_eq!(inside.extensions["postgis"], ("3.3.2".into(), "public".into()));
        assert_eq!(inside.schemas["data"], "postgres");
        assert_eq!(inside.schemas["orphan"], "unknown (OID=99)");
        assert_eq!(inside.schema_acl.len(), 1, "the PUBLIC grant names no role");
        assert!(inside.schema_acl[&("data".into(), "reader".into())].contains("USAGE"));
        let names: Vec<&str> = inside.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["roads", "spatial_ref_sys"], "sorted by schema, then name");
        let roads = &inside.tables[0];
        assert!(!roads.from_extension);
        assert_eq!(roads.acl.keys().collect::<Vec<_>>(), ["reader"]);
        assert!(inside.tables[1].from_extension);
        assert_eq!(inside.user_tables(), 1);
        let key = ("postgres".to_string(), "data".to_string(), "reader".to_string());
        assert!(inside.default_acl[&key].contains("SELECT"));
    }
}
