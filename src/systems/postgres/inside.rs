//! Reading what is inside one database, over a connection to it.
//!
//! A plan opens one fresh backend per database, and a fresh backend pays
//! for every catalog it opens, every statement it plans and every
//! function it looks up. So each database is read with ONE simple-protocol
//! statement that touches only what the plan compares: for a database the
//! manifest wants, its declared schemas and `public` (their owners and
//! privileges, their tables' privileges, the default privileges in them)
//! and its declared extensions; for a database declared absent, only its
//! tables (to say what dropping it loses). Rows are tagged with what they
//! describe; owners come back as oids, named from the server-wide role
//! list, and privileges as the access lists' text, read by [`acl`].
//!
//! Nothing the plan compares is left out: grants are planned only on the
//! declared schemas and `public` (see `diff::grants`), schemas and
//! extensions only when declared.

use std::collections::BTreeMap;

use tokio_postgres::{Client, SimpleQueryMessage};

use super::acl;
use super::observed::{Inside, ObservedTable, RoleNames};
use crate::systems::postgres::manifest::PgDatabase;

/// What one database's read covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A database the manifest wants: these schemas (the declared ones and
    /// `public`) and these extensions.
    Declared {
        schemas: Vec<String>,
        extensions: Vec<String>,
    },
    /// A database declared absent: its tables, and which are extensions'.
    Tables,
}

impl Scope {
    pub fn of(database: &PgDatabase) -> Scope {
        if !database.present {
            return Scope::Tables;
        }
        let mut schemas: Vec<String> = database.schemas.iter().map(|s| s.name.clone()).collect();
        schemas.push("public".to_string());
        schemas.sort();
        schemas.dedup();
        Scope::Declared {
            schemas,
            extensions: database.extensions.iter().map(|e| e.name.clone()).collect(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InsideError {
    #[error(transparent)]
    Query(#[from] tokio_postgres::Error),
    #[error("{0}")]
    Acl(String),
}

pub async fn read(client: &Client, roles: &RoleNames, scope: &Scope) -> Result<Inside, InsideError> {
    let sql = match scope {
        Scope::Declared { schemas, extensions } => declared_sql(schemas, extensions),
        Scope::Tables => TABLES_SQL.to_string(),
    };
    let mut rows = Vec::new();
    for message in client.simple_query(&sql).await? {
        if let SimpleQueryMessage::Row(row) = message {
            let text = |i: usize| row.get(i).unwrap_or_default().to_string();
            rows.push([text(0), text(1), text(2), text(3), text(4)]);
        }
    }
    match scope {
        Scope::Declared { .. } => from_declared_rows(rows, roles).map_err(InsideError::Acl),
        Scope::Tables => Ok(from_table_rows(rows, roles)),
    }
}

/// A string literal whatever `standard_conforming_strings` is in this
/// database (it can be set per database): the escape-string syntax.
fn literal(value: &str) -> String {
    format!("E'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn list(names: &[String]) -> String {
    names.iter().map(|n| literal(n)).collect::<Vec<_>>().join(", ")
}

const RELATIONS: &str = "c.relkind IN ('r', 'p', 'v', 'm', 'f')";

/// Tags: `s` schema (oid, name, owner, acl), `t` table (schema oid, name,
/// owner, acl), `d` default privileges on tables (creator, schema oid,
/// acl), `e` extension (name, version, schema).
fn declared_sql(schemas: &[String], extensions: &[String]) -> String {
    let schemas = list(schemas);
    let in_schemas = format!("(SELECT oid FROM pg_namespace WHERE nspname IN ({schemas}))");
    let mut sql = format!(
        "SELECT 's', n.oid::text, n.nspname::text, n.nspowner::text, n.nspacl::text \
           FROM pg_namespace n WHERE n.nspname IN ({schemas}) \
         UNION ALL SELECT 't', c.relnamespace::text, c.relname::text, c.relowner::text, c.relacl::text \
           FROM pg_class c WHERE {RELATIONS} AND c.relnamespace IN {in_schemas} \
         UNION ALL SELECT 'd', d.defaclrole::text, d.defaclnamespace::text, d.defaclacl::text, NULL \
           FROM pg_default_acl d WHERE d.defaclobjtype = 'r' AND d.defaclnamespace IN {in_schemas}"
    );
    if !extensions.is_empty() {
        sql.push_str(&format!(
            " UNION ALL SELECT 'e', e.extname::text, e.extversion, n.nspname::text, NULL \
               FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace \
               WHERE e.extname IN ({})",
            list(extensions)
        ));
    }
    sql
}

/// Tags: `r` relation (oid, schema, name, owner), `x` a relation that is
/// part of an extension (oid).
const TABLES_SQL: &str = "SELECT 'r', c.oid::text, n.nspname::text, c.relname::text, c.relowner::text \
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
       WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') \
         AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' \
     UNION ALL SELECT 'x', d.objid::text, NULL, NULL, NULL FROM pg_depend d \
       WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e'";

fn owner_name(roles: &RoleNames, oid: &str) -> String {
    oid.parse()
        .ok()
        .and_then(|oid: u32| roles.get(&oid).cloned())
        .unwrap_or_else(|| format!("unknown (OID={oid})"))
}

/// Privileges by grantee; grants to PUBLIC name no role and are left out.
fn privileges_by_role(text: &str) -> Result<BTreeMap<String, Vec<&'static str>>, String> {
    let mut by_role: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    for entry in acl::parse(text)? {
        if let Some(grantee) = entry.grantee {
            by_role.entry(grantee).or_default().extend(entry.privileges);
        }
    }
    Ok(by_role)
}

/// Builds what was read from the tagged rows of [`declared_sql`].
fn from_declared_rows(rows: Vec<[String; 5]>, roles: &RoleNames) -> Result<Inside, String> {
    let mut inside = Inside::default();
    // Schemas first: the other rows name theirs by oid.
    let (schemas, rows): (Vec<_>, Vec<_>) = rows.into_iter().partition(|row| row[0] == "s");
    let mut schema_names: BTreeMap<String, String> = BTreeMap::new();
    for [_, oid, name, owner, acl] in schemas {
        inside.schemas.insert(name.clone(), owner_name(roles, &owner));
        for (role, privileges) in privileges_by_role(&acl)? {
            let held = inside.schema_acl.entry((name.clone(), role)).or_default();
            held.extend(privileges.into_iter().map(str::to_string));
        }
        schema_names.insert(oid, name);
    }
    for [tag, a, b, c, d] in rows {
        match tag.as_str() {
            "t" => {
                let Some(schema) = schema_names.get(&a) else {
                    continue;
                };
                let mut table = ObservedTable::new(schema.clone(), b, owner_name(roles, &c));
                for (role, privileges) in privileges_by_role(&d)? {
                    let held = table.acl.entry(role).or_default();
                    held.extend(privileges.into_iter().map(str::to_string));
                }
                inside.tables.push(table);
            }
            "d" => {
                let Some(schema) = schema_names.get(&b) else {
                    continue;
                };
                for (role, privileges) in privileges_by_role(&c)? {
                    let key = (owner_name(roles, &a), schema.clone(), role);
                    let held = inside.default_acl.entry(key).or_default();
                    held.extend(privileges.into_iter().map(str::to_string));
                }
            }
            "e" => {
                inside.extensions.insert(a, (b, c));
            }
            _ => {}
        }
    }
    inside.sort_tables();
    Ok(inside)
}

/// Builds what was read from the tagged rows of [`TABLES_SQL`].
fn from_table_rows(rows: Vec<[String; 5]>, roles: &RoleNames) -> Inside {
    let mut tables: BTreeMap<String, ObservedTable> = BTreeMap::new();
    let mut from_extension = Vec::new();
    for [tag, a, b, c, d] in rows {
        match tag.as_str() {
            "r" => {
                tables.insert(a, ObservedTable::new(b, c, owner_name(roles, &d)));
            }
            "x" => from_extension.push(a),
            _ => {}
        }
    }
    for oid in from_extension {
        if let Some(table) = tables.get_mut(&oid) {
            table.from_extension = true;
        }
    }
    let mut inside = Inside {
        tables: tables.into_values().collect(),
        ..Inside::default()
    };
    inside.sort_tables();
    inside
}

#[cfg(test)]
mod tests;
