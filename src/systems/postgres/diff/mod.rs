//! Pure planning for PostgreSQL: desired state and observed state in,
//! typed SQL changes out, in a deterministic order. No I/O. Roles,
//! databases (and what is inside them) and grants each have their module.

mod databases;
mod grants;
mod roles;

use std::collections::BTreeSet;

use serde_json::json;

use super::observed::Observed;
use crate::manifest::secret::Secret;
use crate::plan::{
    fingerprint, Action, Address, Change, FieldChange, Operation, PlanOptions, Reason, Warning,
};
use crate::systems::postgres::manifest::Postgres;
use crate::systems::postgres::manifest::ROLE_KIND;

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
    /// A change to `address`, in sync until told otherwise; its statements
    /// run in `database` (None: the maintenance database).
    fn new(address: Address, database: Option<&str>) -> Self {
        Draft {
            address,
            action: Action::NoOp,
            reason: Reason::new("in_sync", "as declared"),
            fields: Vec::new(),
            depends_on: Vec::new(),
            op: SqlOp {
                database: database.map(str::to_string),
                statements: Vec::new(),
            },
        }
    }

    fn doing(mut self, action: Action, reason: Reason) -> Self {
        self.action = action;
        self.reason = reason;
        self
    }

    /// Update when something differs, else in sync.
    fn update_if_changed(self) -> Self {
        if self.fields.is_empty() {
            self
        } else {
            self.doing(
                Action::Update,
                Reason::new("differs", "differs from the manifest"),
            )
        }
    }

    fn sql(&mut self, statement: String) {
        self.op.statements.push(Statement::Sql(statement));
    }

    fn field(&mut self, field: FieldChange) {
        self.fields.push(field);
    }

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
    let roles = Roles::new(desired, observed);
    roles::plan_roles(desired, observed, options, &roles, &mut planned);
    databases::plan_databases(desired, observed, options, &roles, &mut planned);
    grants::plan_grants(desired, observed, &mut planned);
    planned
}

/// The roles a plan may refer to: declared present, or on the server.
pub(super) struct Roles<'a> {
    declared: BTreeSet<&'a str>,
    observed: &'a Observed,
}

impl<'a> Roles<'a> {
    fn new(desired: &'a Postgres, observed: &'a Observed) -> Self {
        Roles {
            declared: desired
                .roles
                .iter()
                .filter(|r| r.present)
                .map(|r| r.name.as_str())
                .collect(),
            observed,
        }
    }

    fn exists(&self, name: &str) -> bool {
        self.declared.contains(name) || self.observed.roles.contains_key(name)
    }

    /// The role's change, when the manifest declares it: what depends on
    /// the role runs after it.
    fn dependency(&self, name: &str) -> Option<Address> {
        self.declared
            .contains(name)
            .then(|| Address::new(ROLE_KIND, name))
    }

    /// An error unless `role` exists or is declared.
    fn check(&self, subject: &str, role: &str, planned: &mut Planned) {
        if !self.exists(role) {
            planned.errors.push(PlanError::UnknownRole {
                subject: subject.to_string(),
                role: role.to_string(),
            });
        }
    }
}

fn join(privileges: &[&String]) -> String {
    privileges
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::manifest::source::Location;
    use crate::systems::postgres::manifest::{GrantTarget, PgDatabase, PgGrant, PgRole};
    use crate::systems::postgres::manifest::{PgConnection, PgSchema, TlsMode};
    use crate::systems::postgres::observed::{Inside, ObservedRole};
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
