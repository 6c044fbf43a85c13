//! What a database administrator set on a loaded table, carried over to
//! the table that replaces it at a reload: its privileges (every grantee's,
//! PUBLIC included, with their grant option; the columns' too, for the
//! columns that are still there), its comment and its columns' comments,
//! its row security (policies, enabled, forced) and its owner. A reload is
//! the same dataset with new rows: to whoever granted `SELECT` to the
//! lab's QGIS users, the table never changed, so neither may what they can
//! do with it. Row security goes with the grants: keeping a grant without
//! the policy that narrowed it would show its grantees every row. A policy
//! the new rows cannot take (it names a column that is gone) fails the
//! reload, and the old table stays.
//!
//! The old table is locked first, so a GRANT cannot slip in between the
//! reading and the drop; the statements are written by the server
//! (`format` with `%I` and `%L`), so any role name, column name or comment
//! comes through quoted as PostgreSQL itself quotes it. The new table's
//! privileges are made exactly the old ones: what the role's default
//! privileges gave the new table is revoked first, or a reload would hand
//! back an access the administrator took away.

use tokio_postgres::types::Oid;
use tokio_postgres::Transaction;

use crate::sync::ledger::quote_ident;

/// How a grantee is written in GRANT and REVOKE: PUBLIC (oid 0) is a
/// keyword, never a quoted name.
const GRANTEE: &str =
    "CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(x.grantee)::text) END";

/// What to do on the staging table (`$2`, named by its regclass) so it carries
/// the old table's (`$1`) privileges, comments and row security, in
/// order: revoke what the new table (`$2`) got by default, grant the old
/// privileges, comment, make the policies, enable row security.
fn statements_sql() -> String {
    let option = "CASE WHEN x.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END";
    let still_there = "EXISTS (SELECT 1 FROM pg_attribute n WHERE n.attrelid = $2
                       AND n.attname = a.attname AND NOT n.attisdropped)";
    format!(
        "SELECT 1, format('REVOKE ALL ON TABLE %s FROM %s', $2::regclass, g) FROM
           (SELECT DISTINCT {GRANTEE} AS g FROM pg_class c, aclexplode(c.relacl) x
            WHERE c.oid = $2 AND x.grantee <> c.relowner) new_grantees
         UNION ALL
         SELECT 2, format('GRANT %s ON TABLE %s TO %s%s', x.privilege_type, $2::regclass, {GRANTEE}, {option})
           FROM pg_class c, aclexplode(c.relacl) x WHERE c.oid = $1 AND x.grantee <> c.relowner
         UNION ALL
         SELECT 3, format('GRANT %s (%I) ON TABLE %s TO %s%s', x.privilege_type, a.attname, $2::regclass,
                          {GRANTEE}, {option})
           FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid, aclexplode(a.attacl) x
           WHERE c.oid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND x.grantee <> c.relowner AND {still_there}
         UNION ALL
         SELECT 4, format('COMMENT ON TABLE %s IS %L', $2::regclass, d.description)
           FROM pg_description d
           WHERE d.objoid = $1 AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
         UNION ALL
         SELECT 5, format('COMMENT ON COLUMN %s.%I IS %L', $2::regclass, a.attname, d.description)
           FROM pg_attribute a JOIN pg_description d
             ON d.objoid = a.attrelid AND d.classoid = 'pg_class'::regclass AND d.objsubid = a.attnum
           WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND {still_there}
         UNION ALL
         SELECT 6, format('CREATE POLICY %I ON %s AS %s FOR %s TO %s%s%s', p.polname, $2::regclass,
                          CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
                          CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                        WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                          (SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC'
                                             ELSE quote_ident(pg_get_userbyid(r)::text) END, ', ')
                           FROM unnest(p.polroles) r),
                          ' USING (' || pg_get_expr(p.polqual, p.polrelid) || ')',
                          ' WITH CHECK (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')')
           FROM pg_policy p WHERE p.polrelid = $1
         UNION ALL
         SELECT 7, format('ALTER TABLE %s %s ROW LEVEL SECURITY', $2::regclass, what)
           FROM pg_class c, LATERAL (VALUES (c.relrowsecurity, 'ENABLE'), (c.relforcerowsecurity, 'FORCE')) f(flag, what)
           WHERE c.oid = $1 AND f.flag
         ORDER BY 1, 2"
    )
}

/// What is left to do once the new table has the old one's name.
pub(super) struct Kept {
    /// `ALTER TABLE ... OWNER TO ...` when an administrator gave the old
    /// table to another role. Last: the loading role must own the table to
    /// rename it.
    owner: Option<String>,
}

/// Locks the old table `schema.table`, if there is one, and gives the
/// staging table `stage`, beside it in `schema`, its privileges and
/// comments.
pub(super) async fn carry_over(
    tx: &Transaction<'_>,
    schema: &str,
    table: &str,
    stage: &str,
) -> Result<Kept, tokio_postgres::Error> {
    let row = tx
        .query_one(
            "SELECT to_regclass(format('%I.%I', $1::text, $2::text))::oid,
                    to_regclass(format('%I.%I', $1::text, $3::text))::oid",
            &[&schema, &table, &stage],
        )
        .await?;
    let (Some(old), Some(new)): (Option<Oid>, Option<Oid>) = (row.get(0), row.get(1)) else {
        return Ok(Kept { owner: None });
    };
    tx.batch_execute(&format!(
        "LOCK TABLE {}.{} IN ACCESS EXCLUSIVE MODE",
        quote_ident(schema),
        quote_ident(table)
    ))
    .await?;
    for row in tx.query(&statements_sql(), &[&old, &new]).await? {
        tx.batch_execute(row.get::<_, &str>(1)).await?;
    }
    let owner = tx
        .query_opt(
            "SELECT format('ALTER TABLE %I.%I OWNER TO %I', $3::text, $4::text, pg_get_userbyid(o.relowner))
             FROM pg_class o, pg_class n WHERE o.oid = $1 AND n.oid = $2 AND o.relowner <> n.relowner",
            &[&old, &new, &schema, &table],
        )
        .await?
        .map(|row| row.get(0));
    Ok(Kept { owner })
}

impl Kept {
    /// Gives the new table, now in place, the old one's owner.
    pub(super) async fn finish(self, tx: &Transaction<'_>) -> Result<(), tokio_postgres::Error> {
        match self.owner {
            Some(statement) => tx.batch_execute(&statement).await,
            None => Ok(()),
        }
    }
}
