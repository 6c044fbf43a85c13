//! What the role the sync connects as must be allowed in a target
//! database, checked before a pass touches it. A role short of a privilege
//! would otherwise fail mid-pass with PostgreSQL's bare "permission
//! denied" (or "must be owner"), which names neither the object's owner
//! nor the fix; the usual cause is a ledger and tables loaded earlier by
//! the superuser, before `[sync] postgres_role` was set. A superuser passes
//! every check.

use crate::systems::postgres::client::{ident, literal};

use super::ledger;

/// At most this many tables are listed, one `ALTER TABLE` each.
const TABLES_LISTED: usize = 10;

/// Why the role cannot work in the database, and the statements that fix it.
#[derive(Debug, Default)]
pub struct Shortfall {
    pub role: String,
    pub problems: Vec<String>,
    pub fixes: Vec<String>,
}

impl Shortfall {
    /// What is wrong and the statements that fix it, in one line.
    pub fn message(&self, database: &str) -> String {
        format!(
            "role {} cannot work in database {database}: {}; as a superuser, in database {database}, run: {}",
            self.role,
            self.problems.join("; "),
            self.fixes.join(" ")
        )
    }
}

/// The role's shortfall in this database for the ledger and `schema` (the
/// target's), or None when it may do everything the sync does there.
pub async fn check(
    client: &tokio_postgres::Client,
    database: &str,
    schema: &str,
) -> Result<Option<Shortfall>, tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT current_user::text, has_database_privilege(current_database(), 'CREATE')",
            &[],
        )
        .await?;
    let mut shortfall = Shortfall {
        role: row.get(0),
        ..Shortfall::default()
    };
    let may_create_schemas: bool = row.get(1);
    let ledger_schema_owned = schema_access(client, &mut shortfall, ledger::SCHEMA, true).await?;
    let target_schema_usable = schema_access(client, &mut shortfall, schema, false).await?;
    let missing = [
        (ledger_schema_owned.is_none(), ledger::SCHEMA),
        (target_schema_usable.is_none(), schema),
    ];
    if !may_create_schemas && missing.iter().any(|(m, _)| *m) {
        let names: Vec<&str> = missing.iter().filter(|(m, _)| *m).map(|(_, s)| *s).collect();
        shortfall.problems.push(format!(
            "it may not create schema {} in database {database}",
            names.join(" and ")
        ));
        shortfall.fixes.push(format!(
            "GRANT CREATE ON DATABASE {} TO {};",
            ident(database),
            ident(&shortfall.role)
        ));
    }
    if ledger_schema_owned.is_some() {
        match ledger_table(client, &mut shortfall).await? {
            Ledger::Readable => loaded_tables_owned(client, &mut shortfall, schema).await?,
            Ledger::Unreadable => every_loaded_table(&mut shortfall),
            Ledger::Missing => {}
        }
    }
    Ok((!shortfall.problems.is_empty()).then_some(shortfall))
}

/// Whether the role can use `schema` (own it, for the ledger's; create
/// tables in it, for the target's); None when there is no such schema.
async fn schema_access(
    client: &tokio_postgres::Client,
    shortfall: &mut Shortfall,
    schema: &str,
    must_own: bool,
) -> Result<Option<bool>, tokio_postgres::Error> {
    let Some(row) = client
        .query_opt(
            "SELECT pg_get_userbyid(nspowner)::text, pg_has_role(nspowner, 'USAGE'),
                    has_schema_privilege(oid, 'USAGE') AND has_schema_privilege(oid, 'CREATE')
             FROM pg_namespace WHERE nspname = $1",
            &[&schema],
        )
        .await?
    else {
        return Ok(None);
    };
    let owner: String = row.get(0);
    let (owns, creates): (bool, bool) = (row.get(1), row.get(2));
    let role = ident(&shortfall.role);
    if must_own && !owns {
        shortfall
            .problems
            .push(format!("schema {schema} (the sync's ledger) is owned by {owner}"));
        shortfall
            .fixes
            .push(format!("ALTER SCHEMA {} OWNER TO {role};", ident(schema)));
    } else if !must_own && !creates {
        shortfall.problems.push(format!(
            "it may not create tables in schema {schema} (owned by {owner})"
        ));
        shortfall.fixes.push(format!(
            "GRANT USAGE, CREATE ON SCHEMA {} TO {role};",
            ident(schema)
        ));
    }
    Ok(Some(if must_own { owns } else { creates }))
}

/// What the role can do with the ledger table.
enum Ledger {
    Missing,
    /// It is the role's, or at least readable: the tables it lists can be checked.
    Readable,
    Unreadable,
}

/// Whether the role owns the ledger table (the sync alters it as its
/// columns grow) and can read it.
async fn ledger_table(
    client: &tokio_postgres::Client,
    shortfall: &mut Shortfall,
) -> Result<Ledger, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT pg_get_userbyid(c.relowner)::text, pg_has_role(c.relowner, 'USAGE'),
                    has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT')
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relname = 'ledger'",
            &[&ledger::SCHEMA],
        )
        .await?;
    let Some(row) = row else {
        return Ok(Ledger::Missing);
    };
    let (owner, owns, reads): (String, bool, bool) = (row.get(0), row.get(1), row.get(2));
    if !owns {
        shortfall.problems.push(format!(
            "table {}.ledger (the sync's ledger) is owned by {owner}",
            ledger::SCHEMA
        ));
        shortfall.fixes.push(format!(
            "ALTER TABLE {}.ledger OWNER TO {};",
            ident(ledger::SCHEMA),
            ident(&shortfall.role)
        ));
    }
    Ok(if reads {
        Ledger::Readable
    } else {
        Ledger::Unreadable
    })
}

/// The ledger cannot be read to list the tables it names, which were most
/// likely loaded by the ledger's owner: one statement gives them all to
/// the role (those already its own are unchanged).
fn every_loaded_table(shortfall: &mut Shortfall) {
    shortfall.problems.push("the tables it lists may be too".into());
    shortfall.fixes.push(format!(
        "DO $$DECLARE t record; BEGIN FOR t IN SELECT l.table_schema, l.table_name FROM geosync.ledger l \
         JOIN pg_tables p ON p.schemaname = l.table_schema AND p.tablename = l.table_name LOOP \
         EXECUTE format('ALTER TABLE %I.%I OWNER TO %I', t.table_schema, t.table_name, {}); END LOOP; END$$;",
        literal(&shortfall.role)
    ));
}

/// The tables the ledger says the sync loaded that the role does not own:
/// it could neither replace them with a new version nor drop them.
async fn loaded_tables_owned(
    client: &tokio_postgres::Client,
    shortfall: &mut Shortfall,
    schema: &str,
) -> Result<(), tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT l.table_name, pg_get_userbyid(c.relowner)::text
             FROM geosync.ledger l
             JOIN pg_namespace n ON n.nspname = l.table_schema
             JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = l.table_name
             WHERE l.table_schema = $1 AND NOT pg_has_role(c.relowner, 'USAGE')
             ORDER BY l.table_name",
            &[&schema],
        )
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let owners: std::collections::BTreeSet<String> = rows.iter().map(|r| r.get(1)).collect();
    shortfall.problems.push(format!(
        "{} table(s) the sync loaded in schema {schema} are owned by {}",
        rows.len(),
        owners.into_iter().collect::<Vec<_>>().join(", ")
    ));
    for row in rows.iter().take(TABLES_LISTED) {
        let table: String = row.get(0);
        shortfall.fixes.push(format!(
            "ALTER TABLE {}.{} OWNER TO {};",
            ident(schema),
            ident(&table),
            ident(&shortfall.role)
        ));
    }
    if rows.len() > TABLES_LISTED {
        shortfall.fixes.push(format!(
            "(and the same for the {} other table(s) of geosync.ledger in schema {schema})",
            rows.len() - TABLES_LISTED
        ));
    }
    Ok(())
}
