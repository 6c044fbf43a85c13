//! Grants are exact for the roles geosync manages, on the databases and
//! schemas it manages: what the manifest grants is granted, anything else
//! explicitly granted to those roles there is revoked. Owners hold every
//! privilege implicitly and are left alone.
//!
//! Only the roles that have something declared or held in a database are
//! looked at there, through indexes built once: the work grows with the
//! grants, not with databases × roles × schemas.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::json;

use super::{join, Draft, Planned, SCHEMA_KIND};
use crate::plan::{Action, Address, FieldChange, Reason};
use crate::systems::postgres::client::ident;
use crate::systems::postgres::manifest::{GrantTarget, PgDatabase, PgGrant, Postgres};
use crate::systems::postgres::manifest::{DATABASE_KIND, GRANT_KIND, ROLE_KIND};
use crate::systems::postgres::observed::{Inside, Observed, ObservedDatabase, ObservedTable};

type Privileges = BTreeSet<String>;

/// The manifest's grants, by what they grant on.
struct Declared<'a> {
    database: HashMap<(&'a str, &'a str), &'a PgGrant>,
    schema: HashMap<(&'a str, &'a str, &'a str), &'a PgGrant>,
    tables: HashMap<(&'a str, &'a str, &'a str), &'a PgGrant>,
    roles_by_database: HashMap<&'a str, BTreeSet<&'a str>>,
}

impl<'a> Declared<'a> {
    fn new(grants: &'a [PgGrant]) -> Self {
        let mut declared = Declared {
            database: HashMap::new(),
            schema: HashMap::new(),
            tables: HashMap::new(),
            roles_by_database: HashMap::new(),
        };
        for grant in grants {
            let (role, database) = (grant.role.as_str(), grant.database.as_str());
            match &grant.target {
                GrantTarget::Database => declared.database.insert((role, database), grant),
                GrantTarget::Schema(schema) => declared.schema.insert((role, database, schema), grant),
                GrantTarget::Tables { schema, .. } => declared.tables.insert((role, database, schema), grant),
            };
            declared
                .roles_by_database
                .entry(database)
                .or_default()
                .insert(role);
        }
        declared
    }
}

/// One declared database as observed, indexed for lookups by schema and role.
struct Here<'a> {
    database: &'a PgDatabase,
    existing: Option<&'a ObservedDatabase>,
    inside: Option<&'a Inside>,
    /// The declared schemas and `public`.
    schemas: BTreeSet<&'a str>,
    tables: HashMap<&'a str, Vec<&'a ObservedTable>>,
    /// (schema, grantee) -> (creator, privileges on its future tables)
    default_acl: HashMap<(&'a str, &'a str), Vec<(&'a str, &'a Privileges)>>,
    /// Roles holding any explicit privilege here.
    holders: BTreeSet<&'a str>,
}

impl<'a> Here<'a> {
    fn new(database: &'a PgDatabase, existing: Option<&'a ObservedDatabase>) -> Self {
        let inside = existing.and_then(|d| d.inside.as_ref());
        let mut schemas: BTreeSet<&str> = database.schemas.iter().map(|s| s.name.as_str()).collect();
        schemas.insert("public");
        let mut here = Here {
            database,
            existing,
            inside,
            schemas,
            tables: HashMap::new(),
            default_acl: HashMap::new(),
            holders: existing
                .iter()
                .flat_map(|d| d.acl.keys())
                .map(String::as_str)
                .collect(),
        };
        if let Some(inside) = inside {
            here.index_inside(inside);
        }
        here
    }

    fn index_inside(&mut self, inside: &'a Inside) {
        self.holders
            .extend(inside.schema_acl.keys().map(|(_, role)| role.as_str()));
        for table in &inside.tables {
            self.tables.entry(&table.schema).or_default().push(table);
            self.holders.extend(table.acl.keys().map(String::as_str));
        }
        for ((creator, schema, grantee), privileges) in &inside.default_acl {
            self.default_acl
                .entry((schema, grantee))
                .or_default()
                .push((creator, privileges));
            self.holders.insert(grantee);
        }
    }

    fn name(&self) -> &'a str {
        &self.database.name
    }

    fn owner(&self) -> Option<&'a str> {
        self.existing
            .map(|d| d.owner.as_str())
            .or(self.database.owner.as_deref())
    }

    fn schema_owner(&self, schema: &str) -> Option<&'a str> {
        match self.inside.and_then(|i| i.schemas.get(schema)) {
            Some(owner) => Some(owner),
            None => self
                .database
                .schemas
                .iter()
                .find(|s| s.name == schema)
                .and_then(|s| s.owner.as_deref()),
        }
    }
}

pub(super) fn plan_grants(desired: &Postgres, observed: &Observed, planned: &mut Planned) {
    let declared = Declared::new(&desired.grants);
    let managed: HashMap<&str, usize> = desired
        .roles
        .iter()
        .filter(|r| r.present)
        .enumerate()
        .map(|(i, r)| (r.name.as_str(), i))
        .collect();
    for database in desired.databases.iter().filter(|d| d.present) {
        let here = Here::new(database, observed.databases.get(&database.name));
        let mut roles: Vec<(usize, &str)> = here
            .holders
            .iter()
            .copied()
            .chain(
                declared
                    .roles_by_database
                    .get(here.name())
                    .into_iter()
                    .flatten()
                    .copied(),
            )
            .filter_map(|role| managed.get(role).map(|i| (*i, role)))
            .collect();
        // In manifest order, as the roles are declared.
        roles.sort_unstable();
        roles.dedup();
        for (_, role) in roles {
            plan_role_grants(planned, &declared, &here, role);
        }
    }
}

fn plan_role_grants(planned: &mut Planned, declared: &Declared, here: &Here, role: &str) {
    let database = here.name();
    if here.owner() != Some(role) {
        let have = here.existing.and_then(|d| d.acl.get(role));
        grant_change(
            planned,
            GrantSpec {
                role,
                database,
                target: &GrantTarget::Database,
                have_all: have.unwrap_or(&EMPTY),
                have_any: have.unwrap_or(&EMPTY),
                want: declared.database.get(&(role, database)).map(|g| &g.privileges),
                on: || format!("DATABASE {}", ident(database)),
                run_in: None,
            },
        );
    }
    for schema in &here.schemas {
        if here.schema_owner(schema) != Some(role) {
            let have = here
                .inside
                .and_then(|i| i.schema_acl.get(&(schema.to_string(), role.to_string())));
            grant_change(
                planned,
                GrantSpec {
                    role,
                    database,
                    target: &GrantTarget::Schema(schema.to_string()),
                    have_all: have.unwrap_or(&EMPTY),
                    have_any: have.unwrap_or(&EMPTY),
                    want: declared
                        .schema
                        .get(&(role, database, schema))
                        .map(|g| &g.privileges),
                    on: || format!("SCHEMA {}", ident(schema)),
                    run_in: Some(database),
                },
            );
        }
        let grant = declared.tables.get(&(role, database, schema)).copied();
        tables_change(planned, grant, here, role, schema);
    }
}

static EMPTY: Privileges = BTreeSet::new();

struct GrantSpec<'a, On: Fn() -> String> {
    role: &'a str,
    database: &'a str,
    target: &'a GrantTarget,
    /// Privileges held on every object of the target.
    have_all: &'a Privileges,
    /// Privileges held on at least one object of the target.
    have_any: &'a Privileges,
    want: Option<&'a Privileges>,
    /// The SQL object clause: `DATABASE "x"`, `SCHEMA "s"`, `ALL TABLES IN SCHEMA "s"`.
    on: On,
    run_in: Option<&'a str>,
}

fn grant_address(role: &str, database: &str, target: &GrantTarget) -> Address {
    let name = match target {
        GrantTarget::Database => format!("{role}@{database}"),
        GrantTarget::Schema(schema) => format!("{role}@{database}/{schema}"),
        GrantTarget::Tables { schema, .. } => format!("{role}@{database}/{schema}/tables"),
    };
    Address::new(GRANT_KIND, &name)
}

fn grant_dependencies(role: &str, database: &str, target: &GrantTarget) -> Vec<Address> {
    let mut deps = vec![
        Address::new(ROLE_KIND, role),
        Address::new(DATABASE_KIND, database),
    ];
    if let GrantTarget::Schema(schema) | GrantTarget::Tables { schema, .. } = target {
        deps.push(Address::new(SCHEMA_KIND, &format!("{database}/{schema}")));
    }
    deps
}

/// The statements and field of one privilege set, or nothing when it is
/// as wanted (or not wanted and not there).
fn privilege_statements<On: Fn() -> String>(
    spec: &GrantSpec<On>,
    fields: &mut Vec<FieldChange>,
) -> Option<Vec<String>> {
    let want = spec.want.unwrap_or(&EMPTY);
    let grant: Vec<&String> = want.difference(spec.have_all).collect();
    let revoke: Vec<&String> = spec.have_any.difference(want).collect();
    if grant.is_empty() && revoke.is_empty() {
        return None;
    }
    let role = ident(spec.role);
    let on = (spec.on)();
    let mut statements = Vec::new();
    if !grant.is_empty() {
        statements.push(format!("GRANT {} ON {on} TO {role}", join(&grant)));
    }
    if !revoke.is_empty() {
        statements.push(format!("REVOKE {} ON {on} FROM {role}", join(&revoke)));
    }
    fields.push(FieldChange::new(
        "privileges",
        (!spec.have_any.is_empty()).then(|| json!(spec.have_any)),
        (!want.is_empty()).then(|| json!(want)),
    ));
    Some(statements)
}

fn grant_change<On: Fn() -> String>(planned: &mut Planned, spec: GrantSpec<On>) {
    let address = grant_address(spec.role, spec.database, spec.target);
    let mut draft = Draft::new(address, spec.run_in);
    let Some(statements) = privilege_statements(&spec, &mut draft.fields) else {
        if spec.want.is_some() {
            planned.changes.push(draft.finish());
        }
        return;
    };
    let (action, reason) = grant_action(spec.have_any.is_empty(), spec.want.is_none());
    draft.depends_on = grant_dependencies(spec.role, spec.database, spec.target);
    for statement in statements {
        draft.sql(statement);
    }
    planned.changes.push(draft.doing(action, reason).finish());
}

fn grant_action(nothing_held: bool, undeclared: bool) -> (Action, Reason) {
    if undeclared {
        (
            Action::Delete,
            Reason::new(
                "undeclared_privileges",
                "held but not granted by the manifest: revoked",
            ),
        )
    } else if nothing_held {
        (Action::Create, Reason::new("absent", "not granted yet"))
    } else {
        (
            Action::Update,
            Reason::new("differs", "differs from the manifest"),
        )
    }
}

/// Privileges on the tables of a schema: the tables there now, and, for
/// the `default_for` roles, the tables they create later.
fn tables_change(planned: &mut Planned, grant: Option<&PgGrant>, here: &Here, role: &str, schema: &str) {
    let database = here.name();
    let default_for: &[String] = match grant.map(|g| &g.target) {
        Some(GrantTarget::Tables { default_for, .. }) => default_for,
        _ => &[],
    };
    let target = GrantTarget::Tables {
        schema: schema.to_string(),
        default_for: default_for.to_vec(),
    };
    let mut draft = Draft::new(grant_address(role, database, &target), Some(database));
    let have_any = table_privileges(&mut draft, grant, here, role, schema);
    default_privileges(&mut draft, grant, here, role, schema);
    if draft.op.statements.is_empty() {
        if grant.is_some() {
            planned.changes.push(draft.finish());
        }
        return;
    }
    let nothing_held = have_any.is_empty() && draft.fields.iter().all(|f| f.before.is_none());
    let (action, reason) = grant_action(nothing_held, grant.is_none());
    draft.depends_on = grant_dependencies(role, database, &target);
    draft
        .depends_on
        .extend(default_for.iter().map(|c| Address::new(ROLE_KIND, c)));
    planned.changes.push(draft.doing(action, reason).finish());
}

/// Privileges on the tables there now (those the role does not own);
/// returns what the role holds on any of them.
fn table_privileges(
    draft: &mut Draft,
    grant: Option<&PgGrant>,
    here: &Here,
    role: &str,
    schema: &str,
) -> Privileges {
    let tables: Vec<&ObservedTable> = here
        .tables
        .get(schema)
        .into_iter()
        .flatten()
        .filter(|t| t.owner != role)
        .copied()
        .collect();
    let held = |t: &ObservedTable| t.acl.get(role).cloned().unwrap_or_default();
    let have_any: Privileges = tables.iter().flat_map(|t| held(t)).collect();
    let have_all: Privileges = match tables.split_first() {
        Some((first, rest)) => rest.iter().fold(held(first), |all, t| &all & &held(t)),
        // No table: nothing to grant.
        None => grant.map(|g| g.privileges.clone()).unwrap_or_default(),
    };
    let spec = GrantSpec {
        role,
        database: here.name(),
        target: &GrantTarget::Database,
        have_all: &have_all,
        have_any: &have_any,
        want: grant.map(|g| &g.privileges),
        on: || format!("ALL TABLES IN SCHEMA {}", ident(schema)),
        run_in: Some(here.name()),
    };
    for statement in privilege_statements(&spec, &mut draft.fields).unwrap_or_default() {
        draft.sql(statement);
    }
    have_any
}

/// Default privileges, per creator: the declared ones, and any other the
/// role holds in this schema (revoked).
fn default_privileges(draft: &mut Draft, grant: Option<&PgGrant>, here: &Here, role: &str, schema: &str) {
    let default_for: &[String] = match grant.map(|g| &g.target) {
        Some(GrantTarget::Tables { default_for, .. }) => default_for,
        _ => &[],
    };
    let held: BTreeMap<&str, &Privileges> = here
        .default_acl
        .get(&(schema, role))
        .into_iter()
        .flatten()
        .copied()
        .collect();
    let mut creators: BTreeSet<&str> = default_for.iter().map(String::as_str).collect();
    creators.extend(held.keys());
    for creator in creators {
        let have = held.get(creator).copied().unwrap_or(&EMPTY);
        let want = match grant {
            Some(grant) if default_for.iter().any(|c| c == creator) => &grant.privileges,
            _ => &EMPTY,
        };
        let grant_now: Vec<&String> = want.difference(have).collect();
        let revoke_now: Vec<&String> = have.difference(want).collect();
        if grant_now.is_empty() && revoke_now.is_empty() {
            continue;
        }
        let prefix = format!(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {}",
            ident(creator),
            ident(schema)
        );
        if !grant_now.is_empty() {
            draft.sql(format!(
                "{prefix} GRANT {} ON TABLES TO {}",
                join(&grant_now),
                ident(role)
            ));
        }
        if !revoke_now.is_empty() {
            draft.sql(format!(
                "{prefix} REVOKE {} ON TABLES FROM {}",
                join(&revoke_now),
                ident(role)
            ));
        }
        draft.field(FieldChange::new(
            &format!("default_privileges_for_{creator}"),
            (!have.is_empty()).then(|| json!(have)),
            (!want.is_empty()).then(|| json!(want)),
        ));
    }
}
