//! Pure planning for PostgreSQL: desired state and observed state in,
//! typed SQL changes out, in a deterministic order. No I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::client::{ident, literal};
use super::observed::{Inside, Observed, ObservedRole};
use super::scram;
use crate::manifest::secret::Secret;
use crate::plan::{
    fingerprint, Action, Address, Change, FieldChange, Operation, PlanOptions, Reason, Warning,
};
use crate::systems::postgres::manifest::{GrantTarget, PgDatabase, PgGrant, PgRole, Postgres};
use crate::systems::postgres::manifest::{DATABASE_KIND, GRANT_KIND, ROLE_KIND};

pub const EXTENSION_KIND: &str = "postgres.extension";
pub const SCHEMA_KIND: &str = "postgres.schema";

/// One statement of a change. A password travels as a secret to the
/// executor, which turns it into a SCRAM verifier at the last moment.
#[derive(Debug, Clone)]
pub enum Statement {
    Sql(String),
    SetPassword { role: String, password: Secret },
}

/// What applying one PostgreSQL change runs, and in which database.
#[derive(Debug, Clone)]
pub struct SqlOp {
    /// None: the maintenance database (server-wide statements).
    pub database: Option<String>,
    pub statements: Vec<Statement>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("{subject}: role `{role}` does not exist and is not declared in [[postgres.role]]")]
    UnknownRole { subject: String, role: String },
    #[error("{subject}: extension `{extension}` is not available on the server")]
    ExtensionUnavailable { subject: String, extension: String },
    #[error("{subject}: extension `{extension}` version {version} is not available on the server (available: {available})")]
    VersionUnavailable {
        subject: String,
        extension: String,
        version: String,
        available: String,
    },
}

/// Collects changes and warnings in the order they are found.
#[derive(Default)]
pub struct Planned {
    pub changes: Vec<Change>,
    pub warnings: Vec<Warning>,
    pub errors: Vec<PlanError>,
}

struct Draft {
    address: Address,
    action: Action,
    reason: Reason,
    fields: Vec<FieldChange>,
    depends_on: Vec<Address>,
    op: SqlOp,
}

impl Draft {
    fn finish(self) -> Change {
        let envelope = json!([self.address, self.action, self.reason.code, self.fields]);
        Change {
            fingerprint: fingerprint(&[envelope.to_string().as_bytes()]),
            address: self.address,
            action: self.action,
            reason: self.reason,
            fields: self.fields,
            content_diff: None,
            depends_on: self.depends_on,
            preflight: false,
            operation: (self.action != Action::NoOp).then(|| Operation::new(self.op)),
        }
    }
}

pub fn plan(desired: &Postgres, observed: &Observed, options: PlanOptions) -> Planned {
    let mut planned = Planned::default();
    let declared_roles: BTreeSet<&str> = desired
        .roles
        .iter()
        .filter(|r| r.present)
        .map(|r| r.name.as_str())
        .collect();
    let role_exists = |name: &str| declared_roles.contains(name) || observed.roles.contains_key(name);
    let role_dependency = |name: &str| {
        declared_roles
            .contains(name)
            .then(|| Address::new(ROLE_KIND, name))
    };

    for role in &desired.roles {
        for parent in &role.member_of {
            if !role_exists(parent) {
                planned.errors.push(PlanError::UnknownRole {
                    subject: format!("{ROLE_KIND}:{}", role.name),
                    role: parent.clone(),
                });
            }
        }
        if let Some(draft) = plan_role(
            role,
            observed.roles.get(&role.name),
            options,
            &mut planned.warnings,
        ) {
            let mut draft = draft;
            draft
                .depends_on
                .extend(role.member_of.iter().filter_map(|p| role_dependency(p)));
            planned.changes.push(draft.finish());
        }
    }

    for database in &desired.databases {
        if let Some(owner) = &database.owner {
            if !role_exists(owner) {
                planned.errors.push(PlanError::UnknownRole {
                    subject: format!("{DATABASE_KIND}:{}", database.name),
                    role: owner.clone(),
                });
            }
        }
        let existing = observed.databases.get(&database.name);
        if let Some(mut draft) = plan_database(database, existing, options, &mut planned.warnings) {
            draft
                .depends_on
                .extend(database.owner.as_deref().and_then(role_dependency));
            planned.changes.push(draft.finish());
        }
        if !database.present {
            continue;
        }
        let inside = existing.and_then(|d| d.inside.as_ref());
        plan_inside(
            database,
            inside,
            observed,
            &role_dependency,
            &role_exists,
            &mut planned,
        );
    }

    plan_grants(desired, observed, &mut planned);
    planned
}

fn plan_role(
    role: &PgRole,
    observed: Option<&ObservedRole>,
    options: PlanOptions,
    warnings: &mut Vec<Warning>,
) -> Option<Draft> {
    let address = Address::new(ROLE_KIND, &role.name);
    let name = ident(&role.name);
    let flag = |on: bool, yes: &str, no: &str| if on { yes.to_string() } else { no.to_string() };
    let draft = |action, reason, fields, statements| Draft {
        address: address.clone(),
        action,
        reason,
        fields,
        depends_on: Vec::new(),
        op: SqlOp {
            database: None,
            statements,
        },
    };
    match (role.present, observed) {
        (true, None) => {
            let mut fields = vec![
                FieldChange::new("login", None, Some(json!(role.login))),
                FieldChange::new("createdb", None, Some(json!(role.createdb))),
                FieldChange::new("createrole", None, Some(json!(role.createrole))),
                FieldChange::new("connection_limit", None, Some(json!(role.connection_limit))),
            ];
            let mut statements = vec![Statement::Sql(format!(
                "CREATE ROLE {name} WITH {} {} {} CONNECTION LIMIT {}",
                flag(role.login, "LOGIN", "NOLOGIN"),
                flag(role.createdb, "CREATEDB", "NOCREATEDB"),
                flag(role.createrole, "CREATEROLE", "NOCREATEROLE"),
                role.connection_limit
            ))];
            if let Some(password) = &role.password {
                fields.push(FieldChange::sensitive("password"));
                statements.push(Statement::SetPassword {
                    role: role.name.clone(),
                    password: password.clone(),
                });
            }
            if !role.member_of.is_empty() {
                fields.push(FieldChange::new(
                    "member_of",
                    None,
                    Some(json!(sorted(&role.member_of))),
                ));
            }
            for parent in sorted(&role.member_of) {
                statements.push(Statement::Sql(format!("GRANT {} TO {name}", ident(&parent))));
            }
            Some(draft(
                Action::Create,
                Reason::new("absent", "the role does not exist"),
                fields,
                statements,
            ))
        }
        (true, Some(now)) => {
            let mut fields = Vec::new();
            let mut alter = Vec::new();
            for (field, want, have, yes, no) in [
                ("login", role.login, now.login, "LOGIN", "NOLOGIN"),
                ("createdb", role.createdb, now.createdb, "CREATEDB", "NOCREATEDB"),
                (
                    "createrole",
                    role.createrole,
                    now.createrole,
                    "CREATEROLE",
                    "NOCREATEROLE",
                ),
            ] {
                if want != have {
                    fields.push(FieldChange::new(field, Some(json!(have)), Some(json!(want))));
                    alter.push(flag(want, yes, no));
                }
            }
            if role.connection_limit != now.connection_limit {
                fields.push(FieldChange::new(
                    "connection_limit",
                    Some(json!(now.connection_limit)),
                    Some(json!(role.connection_limit)),
                ));
                alter.push(format!("CONNECTION LIMIT {}", role.connection_limit));
            }
            let mut statements = Vec::new();
            if !alter.is_empty() {
                statements.push(Statement::Sql(format!(
                    "ALTER ROLE {name} WITH {}",
                    alter.join(" ")
                )));
            }
            if let Some(password) = &role.password {
                let same = now
                    .verifier
                    .as_deref()
                    .is_some_and(|v| scram::matches(v, password.expose()));
                if !same {
                    fields.push(FieldChange::sensitive("password"));
                    statements.push(Statement::SetPassword {
                        role: role.name.clone(),
                        password: password.clone(),
                    });
                }
            }
            let want: BTreeSet<String> = role.member_of.iter().cloned().collect();
            if want != now.member_of {
                fields.push(FieldChange::new(
                    "member_of",
                    Some(json!(now.member_of)),
                    Some(json!(want)),
                ));
                for parent in want.difference(&now.member_of) {
                    statements.push(Statement::Sql(format!("GRANT {} TO {name}", ident(parent))));
                }
                for parent in now.member_of.difference(&want) {
                    statements.push(Statement::Sql(format!("REVOKE {} FROM {name}", ident(parent))));
                }
            }
            if fields.is_empty() {
                Some(draft(
                    Action::NoOp,
                    Reason::new("in_sync", "as declared"),
                    fields,
                    statements,
                ))
            } else {
                Some(draft(
                    Action::Update,
                    Reason::new("differs", "differs from the manifest"),
                    fields,
                    statements,
                ))
            }
        }
        (false, Some(_)) if options.allow_drop => Some(draft(
            Action::Delete,
            Reason::new("declared_absent", "declared absent (--allow-drop)"),
            Vec::new(),
            vec![Statement::Sql(format!("DROP ROLE {name}"))],
        )),
        (false, Some(_)) => {
            warnings.push(Warning {
                address: Some(address),
                message: "declared absent but exists: kept (--allow-drop drops it)".into(),
            });
            None
        }
        (false, None) => Some(draft(
            Action::NoOp,
            Reason::new("in_sync", "absent as declared"),
            Vec::new(),
            Vec::new(),
        )),
    }
}

fn plan_database(
    database: &PgDatabase,
    observed: Option<&super::observed::ObservedDatabase>,
    options: PlanOptions,
    warnings: &mut Vec<Warning>,
) -> Option<Draft> {
    let address = Address::new(DATABASE_KIND, &database.name);
    let name = ident(&database.name);
    let draft = |action, reason, fields, statements| Draft {
        address: address.clone(),
        action,
        reason,
        fields,
        depends_on: Vec::new(),
        op: SqlOp {
            database: None,
            statements,
        },
    };
    match (database.present, observed) {
        (true, None) => {
            let mut sql = format!("CREATE DATABASE {name}");
            let mut fields = Vec::new();
            for (field, value, rendered) in [
                ("owner", &database.owner, database.owner.as_deref().map(ident)),
                (
                    "template",
                    &database.template,
                    database.template.as_deref().map(ident),
                ),
                (
                    "encoding",
                    &database.encoding,
                    database.encoding.as_deref().map(literal),
                ),
                (
                    "lc_collate",
                    &database.lc_collate,
                    database.lc_collate.as_deref().map(literal),
                ),
                (
                    "lc_ctype",
                    &database.lc_ctype,
                    database.lc_ctype.as_deref().map(literal),
                ),
            ] {
                if let (Some(value), Some(rendered)) = (value, rendered) {
                    sql.push_str(&format!(" {} {rendered}", field.to_uppercase()));
                    fields.push(FieldChange::new(field, None, Some(json!(value))));
                }
            }
            Some(draft(
                Action::Create,
                Reason::new("absent", "the database does not exist"),
                fields,
                vec![Statement::Sql(sql)],
            ))
        }
        (true, Some(now)) => {
            for (field, want, have) in [
                ("encoding", &database.encoding, &now.encoding),
                ("lc_collate", &database.lc_collate, &now.lc_collate),
                ("lc_ctype", &database.lc_ctype, &now.lc_ctype),
            ] {
                if let Some(want) = want.as_ref().filter(|w| !w.eq_ignore_ascii_case(have)) {
                    warnings.push(Warning {
                        address: Some(address.clone()),
                        message: format!(
                            "{field} is {have}, the manifest says {want}: it is fixed at creation and kept (recreating the database would lose its data)"
                        ),
                    });
                }
            }
            match database.owner.as_ref().filter(|o| **o != now.owner) {
                Some(owner) => Some(draft(
                    Action::Update,
                    Reason::new("differs", "differs from the manifest"),
                    vec![FieldChange::new(
                        "owner",
                        Some(json!(now.owner)),
                        Some(json!(owner)),
                    )],
                    vec![Statement::Sql(format!(
                        "ALTER DATABASE {name} OWNER TO {}",
                        ident(owner)
                    ))],
                )),
                None => Some(draft(
                    Action::NoOp,
                    Reason::new("in_sync", "as declared"),
                    Vec::new(),
                    Vec::new(),
                )),
            }
        }
        (false, Some(now)) => {
            let tables = now.inside.as_ref().map_or(0, Inside::user_tables);
            let holds = if tables > 0 {
                format!(
                    "; it holds {tables} table{} of user data",
                    if tables == 1 { "" } else { "s" }
                )
            } else {
                String::new()
            };
            if options.allow_drop {
                Some(draft(
                    Action::Delete,
                    Reason::new(
                        "declared_absent",
                        format!("declared absent (--allow-drop){holds}"),
                    ),
                    Vec::new(),
                    vec![Statement::Sql(format!("DROP DATABASE {name}"))],
                ))
            } else {
                warnings.push(Warning {
                    address: Some(address),
                    message: format!("declared absent but exists{holds}: kept (--allow-drop drops it)"),
                });
                None
            }
        }
        (false, None) => Some(draft(
            Action::NoOp,
            Reason::new("in_sync", "absent as declared"),
            Vec::new(),
            Vec::new(),
        )),
    }
}

fn plan_inside(
    database: &PgDatabase,
    inside: Option<&Inside>,
    observed: &Observed,
    role_dependency: &dyn Fn(&str) -> Option<Address>,
    role_exists: &dyn Fn(&str) -> bool,
    planned: &mut Planned,
) {
    let database_address = Address::new(DATABASE_KIND, &database.name);
    let in_database =
        |address: Address, action, reason, fields, statements: Vec<String>, deps: Vec<Address>| Draft {
            address,
            action,
            reason,
            fields,
            depends_on: deps,
            op: SqlOp {
                database: Some(database.name.clone()),
                statements: statements.into_iter().map(Statement::Sql).collect(),
            },
        };
    for schema in &database.schemas {
        let address = Address::new(SCHEMA_KIND, &format!("{}/{}", database.name, schema.name));
        let mut deps = vec![database_address.clone()];
        if let Some(owner) = &schema.owner {
            if !role_exists(owner) {
                planned.errors.push(PlanError::UnknownRole {
                    subject: address.to_string(),
                    role: owner.clone(),
                });
            }
            deps.extend(role_dependency(owner));
        }
        let name = ident(&schema.name);
        let draft = match inside.and_then(|i| i.schemas.get(&schema.name)) {
            None => {
                let mut sql = format!("CREATE SCHEMA IF NOT EXISTS {name}");
                if let Some(owner) = &schema.owner {
                    sql.push_str(&format!(" AUTHORIZATION {}", ident(owner)));
                }
                in_database(
                    address,
                    Action::Create,
                    Reason::new("absent", "the schema does not exist"),
                    schema
                        .owner
                        .iter()
                        .map(|o| FieldChange::new("owner", None, Some(json!(o))))
                        .collect(),
                    vec![sql],
                    deps,
                )
            }
            Some(owner) => match schema.owner.as_ref().filter(|o| *o != owner) {
                Some(want) => in_database(
                    address,
                    Action::Update,
                    Reason::new("differs", "differs from the manifest"),
                    vec![FieldChange::new("owner", Some(json!(owner)), Some(json!(want)))],
                    vec![format!("ALTER SCHEMA {name} OWNER TO {}", ident(want))],
                    deps,
                ),
                None => in_database(
                    address,
                    Action::NoOp,
                    Reason::new("in_sync", "as declared"),
                    Vec::new(),
                    Vec::new(),
                    deps,
                ),
            },
        };
        planned.changes.push(draft.finish());
    }

    for extension in &database.extensions {
        let address = Address::new(EXTENSION_KIND, &format!("{}/{}", database.name, extension.name));
        let subject = address.to_string();
        match (
            observed.available_extensions.get(&extension.name),
            &extension.version,
        ) {
            (None, _) => planned.errors.push(PlanError::ExtensionUnavailable {
                subject,
                extension: extension.name.clone(),
            }),
            (Some(available), Some(version)) if !available.contains(version) => {
                planned.errors.push(PlanError::VersionUnavailable {
                    subject,
                    extension: extension.name.clone(),
                    version: version.clone(),
                    available: available.iter().cloned().collect::<Vec<_>>().join(", "),
                })
            }
            _ => {}
        }
        let mut deps = vec![database_address.clone()];
        if let Some(schema) = &extension.schema {
            if database.schemas.iter().any(|s| &s.name == schema) {
                deps.push(Address::new(SCHEMA_KIND, &format!("{}/{schema}", database.name)));
            }
        }
        let name = ident(&extension.name);
        let draft = match inside.and_then(|i| i.extensions.get(&extension.name)) {
            None => {
                let mut sql = format!("CREATE EXTENSION IF NOT EXISTS {name}");
                let mut fields = Vec::new();
                if let Some(schema) = &extension.schema {
                    sql.push_str(&format!(" SCHEMA {}", ident(schema)));
                    fields.push(FieldChange::new("schema", None, Some(json!(schema))));
                }
                if let Some(version) = &extension.version {
                    sql.push_str(&format!(" VERSION {}", literal(version)));
                    fields.push(FieldChange::new("version", None, Some(json!(version))));
                }
                in_database(
                    address,
                    Action::Create,
                    Reason::new("absent", "not installed"),
                    fields,
                    vec![sql],
                    deps,
                )
            }
            Some((version, schema)) => {
                let mut fields = Vec::new();
                let mut statements = Vec::new();
                if let Some(want) = extension.version.as_ref().filter(|v| *v != version) {
                    fields.push(FieldChange::new(
                        "version",
                        Some(json!(version)),
                        Some(json!(want)),
                    ));
                    statements.push(format!("ALTER EXTENSION {name} UPDATE TO {}", literal(want)));
                }
                if let Some(want) = extension.schema.as_ref().filter(|s| *s != schema) {
                    fields.push(FieldChange::new("schema", Some(json!(schema)), Some(json!(want))));
                    statements.push(format!("ALTER EXTENSION {name} SET SCHEMA {}", ident(want)));
                }
                if fields.is_empty() {
                    in_database(
                        address,
                        Action::NoOp,
                        Reason::new("in_sync", "as declared"),
                        fields,
                        statements,
                        deps,
                    )
                } else {
                    in_database(
                        address,
                        Action::Update,
                        Reason::new("differs", "differs from the manifest"),
                        fields,
                        statements,
                        deps,
                    )
                }
            }
        };
        planned.changes.push(draft.finish());
    }
}

/// Grants are exact for the roles geosync manages, on the databases and
/// schemas it manages: what the manifest grants is granted, anything else
/// explicitly granted to those roles there is revoked. Owners hold every
/// privilege implicitly and are left alone.
fn plan_grants(desired: &Postgres, observed: &Observed, planned: &mut Planned) {
    let declared: BTreeMap<(&str, &str, &GrantTarget), &PgGrant> = desired
        .grants
        .iter()
        .map(|g| ((g.role.as_str(), g.database.as_str(), &g.target), g))
        .collect();
    let managed_roles: Vec<&str> = desired
        .roles
        .iter()
        .filter(|r| r.present)
        .map(|r| r.name.as_str())
        .collect();
    for database in desired.databases.iter().filter(|d| d.present) {
        let existing = observed.databases.get(&database.name);
        let inside = existing.and_then(|d| d.inside.as_ref());
        let mut schemas: BTreeSet<&str> = database.schemas.iter().map(|s| s.name.as_str()).collect();
        schemas.insert("public");
        for role in &managed_roles {
            // Database level.
            let target = GrantTarget::Database;
            let owner = existing.map(|d| d.owner.as_str()).or(database.owner.as_deref());
            if owner != Some(role) {
                let have = existing
                    .and_then(|d| d.acl.get(*role))
                    .cloned()
                    .unwrap_or_default();
                let want = declared
                    .get(&(*role, database.name.as_str(), &target))
                    .map(|g| g.privileges.clone());
                grant_change(
                    planned,
                    GrantSpec {
                        role,
                        database: &database.name,
                        target: &target,
                        have_all: &have,
                        have_any: &have,
                        want,
                        on: format!("DATABASE {}", ident(&database.name)),
                        run_in: None,
                    },
                );
            }
            for schema in &schemas {
                let schema_owner = inside.and_then(|i| i.schemas.get(*schema).cloned()).or_else(|| {
                    database
                        .schemas
                        .iter()
                        .find(|s| s.name == *schema)
                        .and_then(|s| s.owner.clone())
                });
                if schema_owner.as_deref() != Some(role) {
                    let target = GrantTarget::Schema(schema.to_string());
                    let have = inside
                        .and_then(|i| i.schema_acl.get(&(schema.to_string(), role.to_string())))
                        .cloned()
                        .unwrap_or_default();
                    let want = declared
                        .get(&(*role, database.name.as_str(), &target))
                        .map(|g| g.privileges.clone());
                    grant_change(
                        planned,
                        GrantSpec {
                            role,
                            database: &database.name,
                            target: &target,
                            have_all: &have,
                            have_any: &have,
                            want,
                            on: format!("SCHEMA {}", ident(schema)),
                            run_in: Some(&database.name),
                        },
                    );
                }
                tables_change(planned, &declared, inside, role, &database.name, schema);
            }
        }
    }
}

struct GrantSpec<'a> {
    role: &'a str,
    database: &'a str,
    target: &'a GrantTarget,
    /// Privileges held on every object of the target.
    have_all: &'a BTreeSet<String>,
    /// Privileges held on at least one object of the target.
    have_any: &'a BTreeSet<String>,
    want: Option<BTreeSet<String>>,
    /// The SQL object clause: `DATABASE "x"`, `SCHEMA "s"`, `ALL TABLES IN SCHEMA "s"`.
    on: String,
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

/// Returns the statements and field of one privilege set, or nothing when
/// it is as wanted (or not wanted and not there).
fn privilege_statements(
    spec: &GrantSpec,
    extra_fields: &mut Vec<FieldChange>,
) -> Option<(Vec<String>, bool)> {
    let want = spec.want.clone().unwrap_or_default();
    let grant: Vec<&String> = want.difference(spec.have_all).collect();
    let revoke: Vec<&String> = spec.have_any.difference(&want).collect();
    if grant.is_empty() && revoke.is_empty() {
        return None;
    }
    let role = ident(spec.role);
    let mut statements = Vec::new();
    if !grant.is_empty() {
        statements.push(format!("GRANT {} ON {} TO {role}", join(&grant), spec.on));
    }
    if !revoke.is_empty() {
        statements.push(format!("REVOKE {} ON {} FROM {role}", join(&revoke), spec.on));
    }
    extra_fields.push(FieldChange::new(
        "privileges",
        (!spec.have_any.is_empty()).then(|| json!(spec.have_any)),
        (!want.is_empty()).then(|| json!(want)),
    ));
    Some((statements, spec.want.is_none()))
}

fn grant_change(planned: &mut Planned, spec: GrantSpec) {
    let address = grant_address(spec.role, spec.database, spec.target);
    let mut fields = Vec::new();
    let Some((statements, undeclared)) = privilege_statements(&spec, &mut fields) else {
        if spec.want.is_some() {
            planned.changes.push(noop(address, spec.run_in));
        }
        return;
    };
    let (action, reason) = grant_action(spec.have_any.is_empty(), undeclared);
    planned.changes.push(
        Draft {
            depends_on: grant_dependencies(spec.role, spec.database, spec.target),
            address,
            action,
            reason,
            fields,
            op: SqlOp {
                database: spec.run_in.map(str::to_string),
                statements: statements.into_iter().map(Statement::Sql).collect(),
            },
        }
        .finish(),
    );
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

fn noop(address: Address, run_in: Option<&str>) -> Change {
    Draft {
        address,
        action: Action::NoOp,
        reason: Reason::new("in_sync", "as declared"),
        fields: Vec::new(),
        depends_on: Vec::new(),
        op: SqlOp {
            database: run_in.map(str::to_string),
            statements: Vec::new(),
        },
    }
    .finish()
}

/// Privileges on the tables of a schema: the tables there now, and, for
/// the `default_for` roles, the tables they create later.
fn tables_change(
    planned: &mut Planned,
    declared: &BTreeMap<(&str, &str, &GrantTarget), &PgGrant>,
    inside: Option<&Inside>,
    role: &str,
    database: &str,
    schema: &str,
) {
    let grant = declared
        .iter()
        .find(|((r, d, t), _)| {
            *r == role && *d == database && matches!(t, GrantTarget::Tables { schema: s, .. } if s == schema)
        })
        .map(|(_, g)| *g);
    let default_for: Vec<String> = match grant.map(|g| &g.target) {
        Some(GrantTarget::Tables { default_for, .. }) => default_for.clone(),
        _ => Vec::new(),
    };
    let target = GrantTarget::Tables {
        schema: schema.to_string(),
        default_for: default_for.clone(),
    };
    let tables: Vec<_> = inside
        .map(|i| {
            i.tables
                .iter()
                .filter(|t| t.schema == schema && t.owner != role)
                .collect()
        })
        .unwrap_or_default();
    let held = |t: &&super::observed::ObservedTable| t.acl.get(role).cloned().unwrap_or_default();
    let have_any: BTreeSet<String> = tables.iter().flat_map(held).collect();
    let have_all: BTreeSet<String> = match tables.split_first() {
        Some((first, rest)) => rest.iter().fold(held(first), |all, t| &all & &held(t)),
        None => grant.map(|g| g.privileges.clone()).unwrap_or_default(), // no table: nothing to grant
    };
    let spec = GrantSpec {
        role,
        database,
        target: &target,
        have_all: &have_all,
        have_any: &have_any,
        want: grant.map(|g| g.privileges.clone()),
        on: format!("ALL TABLES IN SCHEMA {}", ident(schema)),
        run_in: Some(database),
    };
    let mut fields = Vec::new();
    let mut statements = privilege_statements(&spec, &mut fields)
        .map(|(s, _)| s)
        .unwrap_or_default();

    // Default privileges, per creator: declared ones, and any other the
    // role holds in this schema (revoked).
    let want = grant.map(|g| g.privileges.clone()).unwrap_or_default();
    let mut creators: BTreeSet<String> = default_for.iter().cloned().collect();
    if let Some(inside) = inside {
        creators.extend(
            inside
                .default_acl
                .keys()
                .filter(|(_, s, grantee)| s == schema && grantee == role)
                .map(|(creator, _, _)| creator.clone()),
        );
    }
    for creator in &creators {
        let have = inside
            .and_then(|i| {
                i.default_acl
                    .get(&(creator.clone(), schema.to_string(), role.to_string()))
            })
            .cloned()
            .unwrap_or_default();
        let want_here = if default_for.contains(creator) {
            want.clone()
        } else {
            BTreeSet::new()
        };
        let grant_now: Vec<&String> = want_here.difference(&have).collect();
        let revoke_now: Vec<&String> = have.difference(&want_here).collect();
        if grant_now.is_empty() && revoke_now.is_empty() {
            continue;
        }
        let prefix = format!(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {}",
            ident(creator),
            ident(schema)
        );
        if !grant_now.is_empty() {
            statements.push(format!(
                "{prefix} GRANT {} ON TABLES TO {}",
                join(&grant_now),
                ident(role)
            ));
        }
        if !revoke_now.is_empty() {
            statements.push(format!(
                "{prefix} REVOKE {} ON TABLES FROM {}",
                join(&revoke_now),
                ident(role)
            ));
        }
        fields.push(FieldChange::new(
            &format!("default_privileges_for_{creator}"),
            (!have.is_empty()).then(|| json!(have)),
            (!want_here.is_empty()).then(|| json!(want_here)),
        ));
    }

    let address = grant_address(role, database, &target);
    if statements.is_empty() {
        if grant.is_some() {
            planned.changes.push(noop(address, Some(database)));
        }
        return;
    }
    let nothing_held = have_any.is_empty() && fields.iter().all(|f| f.before.is_none());
    let (action, reason) = grant_action(nothing_held, grant.is_none());
    let mut depends_on = grant_dependencies(role, database, &target);
    depends_on.extend(default_for.iter().map(|c| Address::new(ROLE_KIND, c)));
    planned.changes.push(
        Draft {
            address,
            action,
            reason,
            fields,
            depends_on,
            op: SqlOp {
                database: Some(database.to_string()),
                statements: statements.into_iter().map(Statement::Sql).collect(),
            },
        }
        .finish(),
    );
}

fn join(privileges: &[&String]) -> String {
    privileges
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn sorted(names: &[String]) -> Vec<String> {
    let set: BTreeSet<&String> = names.iter().collect();
    set.into_iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::source::Location;
    use crate::systems::postgres::manifest::{PgConnection, PgSchema, TlsMode};
    use crate::systems::postgres::observed::{ObservedDatabase, ObservedTable};

    fn at() -> Location {
        Location::file_only(std::path::Path::new("m.toml"))
    }

    fn role(name: &str) -> PgRole {
        PgRole {
            name: name.into(),
            at: at(),
            present: true,
            login: true,
            createdb: false,
            createrole: false,
            connection_limit: -1,
            password: None,
            member_of: Vec::new(),
        }
    }

    fn database(name: &str, present: bool) -> PgDatabase {
        PgDatabase {
            name: name.into(),
            at: at(),
            present,
            owner: Some("owner".into()),
            encoding: None,
            lc_collate: None,
            lc_ctype: None,
            template: None,
            extensions: Vec::new(),
            schemas: vec![PgSchema {
                name: "data".into(),
                owner: None,
            }],
        }
    }

    fn desired(roles: Vec<PgRole>, databases: Vec<PgDatabase>, grants: Vec<PgGrant>) -> Postgres {
        Postgres {
            connection: PgConnection {
                tls: TlsMode::Disable,
                ..PgConnection::default()
            },
            hba_file: None,
            hba_container: None,
            roles,
            databases,
            grants,
            hba: None,
        }
    }

    fn observed_role(login: bool) -> ObservedRole {
        ObservedRole {
            login,
            connection_limit: -1,
            ..Default::default()
        }
    }

    fn find<'a>(planned: &'a Planned, address: &str) -> &'a Change {
        planned
            .changes
            .iter()
            .find(|c| c.address.to_string() == address)
            .unwrap_or_else(|| panic!("no change for {address}"))
    }

    #[test]
    fn a_role_is_created_updated_field_by_field_or_left_alone() {
        let mut observed = Observed::default();
        let planned = plan(
            &desired(vec![role("r")], Vec::new(), Vec::new()),
            &observed,
            PlanOptions::default(),
        );
        assert_eq!(find(&planned, "postgres.role:r").action, Action::Create);

        observed.roles.insert("r".into(), observed_role(false));
        let planned = plan(
            &desired(vec![role("r")], Vec::new(), Vec::new()),
            &observed,
            PlanOptions::default(),
        );
        let change = find(&planned, "postgres.role:r");
        assert_eq!(change.action, Action::Update);
        assert_eq!(
            change.fields,
            vec![FieldChange::new("login", Some(json!(false)), Some(json!(true)))]
        );

        observed.roles.insert("r".into(), observed_role(true));
        let planned = plan(
            &desired(vec![role("r")], Vec::new(), Vec::new()),
            &observed,
            PlanOptions::default(),
        );
        assert_eq!(find(&planned, "postgres.role:r").action, Action::NoOp);
    }

    #[test]
    fn an_unknown_parent_role_is_an_error() {
        let mut child = role("child");
        child.member_of = vec!["nobody".into()];
        let planned = plan(
            &desired(vec![child], Vec::new(), Vec::new()),
            &Observed::default(),
            PlanOptions::default(),
        );
        assert_eq!(
            planned.errors,
            vec![PlanError::UnknownRole {
                subject: "postgres.role:child".into(),
                role: "nobody".into()
            }]
        );
    }

    #[test]
    fn a_database_declared_absent_is_dropped_only_with_the_flag() {
        let mut observed = Observed::default();
        let mut existing = ObservedDatabase {
            owner: "owner".into(),
            ..Default::default()
        };
        existing.inside = Some(Inside {
            tables: vec![ObservedTable {
                schema: "data".into(),
                name: "t".into(),
                owner: "owner".into(),
                from_extension: false,
                acl: BTreeMap::new(),
            }],
            ..Default::default()
        });
        observed.databases.insert("d".into(), existing);
        let state = desired(Vec::new(), vec![database("d", false)], Vec::new());
        let kept = plan(&state, &observed, PlanOptions::default());
        assert!(kept.changes.iter().all(|c| c.action != Action::Delete));
        assert!(kept.warnings[0].message.contains("1 table of user data"));
        let allow = PlanOptions {
            allow_drop: true,
            ..Default::default()
        };
        let dropped = plan(&state, &observed, allow);
        assert_eq!(find(&dropped, "postgres.database:d").action, Action::Delete);
    }

    #[test]
    fn grants_beyond_the_manifest_are_revoked_and_owners_left_alone() {
        let mut observed = Observed::default();
        observed.roles.insert("reader".into(), observed_role(true));
        observed.roles.insert("owner".into(), observed_role(true));
        let mut existing = ObservedDatabase {
            owner: "owner".into(),
            ..Default::default()
        };
        existing.acl.insert(
            "reader".into(),
            ["CONNECT".to_string(), "CREATE".to_string()].into(),
        );
        existing.inside = Some(Inside::default());
        observed.databases.insert("d".into(), existing);
        let grant = PgGrant {
            role: "reader".into(),
            database: "d".into(),
            target: GrantTarget::Database,
            privileges: ["CONNECT".to_string()].into(),
            at: at(),
        };
        let state = desired(
            vec![role("reader"), role("owner")],
            vec![database("d", true)],
            vec![grant],
        );
        let planned = plan(&state, &observed, PlanOptions::default());
        let change = find(&planned, "postgres.grant:reader@d");
        assert_eq!(change.action, Action::Update);
        assert!(planned
            .changes
            .iter()
            .all(|c| !c.address.name.starts_with("owner@")));
    }
}
