//! Roles: attributes, write-only passwords, memberships.

use std::collections::BTreeSet;

use serde_json::json;

use super::{Draft, Planned, Roles, Statement};
use crate::plan::{Action, Address, FieldChange, PlanOptions, Reason, Warning};
use crate::systems::postgres::client::ident;
use crate::systems::postgres::manifest::ROLE_KIND;
use crate::systems::postgres::manifest::{PgRole, Postgres};
use crate::systems::postgres::observed::{Observed, ObservedRole};
use crate::systems::postgres::scram;

pub(super) fn plan_roles(
    desired: &Postgres,
    observed: &Observed,
    options: PlanOptions,
    roles: &Roles,
    planned: &mut Planned,
) {
    for role in &desired.roles {
        let subject = format!("{ROLE_KIND}:{}", role.name);
        for parent in &role.member_of {
            roles.check(&subject, parent, planned);
        }
        let now = observed.roles.get(&role.name);
        if let Some(mut draft) = plan_role(role, now, options, &mut planned.warnings) {
            draft
                .depends_on
                .extend(role.member_of.iter().filter_map(|p| roles.dependency(p)));
            planned.changes.push(draft.finish());
        }
    }
}

fn plan_role(
    role: &PgRole,
    observed: Option<&ObservedRole>,
    options: PlanOptions,
    warnings: &mut Vec<Warning>,
) -> Option<Draft> {
    let address = Address::new(ROLE_KIND, &role.name);
    let draft = Draft::new(address.clone(), None);
    match (role.present, observed) {
        (true, None) => Some(create_role(role, draft)),
        (true, Some(now)) => Some(update_role(role, now, draft)),
        (false, Some(_)) if options.allow_drop => {
            let mut draft = draft.doing(
                Action::Delete,
                Reason::new("declared_absent", "declared absent (--allow-drop)"),
            );
            draft.sql(format!("DROP ROLE {}", ident(&role.name)));
            Some(draft)
        }
        (false, Some(_)) => {
            warnings.push(Warning {
                address: Some(address),
                message: "declared absent but exists: kept (--allow-drop drops it)".into(),
            });
            None
        }
        (false, None) => Some(draft.doing(Action::NoOp, Reason::new("in_sync", "absent as declared"))),
    }
}

fn flag(on: bool, yes: &str, no: &str) -> String {
    if on { yes } else { no }.to_string()
}

fn create_role(role: &PgRole, draft: Draft) -> Draft {
    let name = ident(&role.name);
    let mut draft = draft.doing(Action::Create, Reason::new("absent", "the role does not exist"));
    draft.fields = vec![
        FieldChange::new("login", None, Some(json!(role.login))),
        FieldChange::new("createdb", None, Some(json!(role.createdb))),
        FieldChange::new("createrole", None, Some(json!(role.createrole))),
        FieldChange::new("connection_limit", None, Some(json!(role.connection_limit))),
    ];
    draft.sql(format!(
        "CREATE ROLE {name} WITH {} {} {} CONNECTION LIMIT {}",
        flag(role.login, "LOGIN", "NOLOGIN"),
        flag(role.createdb, "CREATEDB", "NOCREATEDB"),
        flag(role.createrole, "CREATEROLE", "NOCREATEROLE"),
        role.connection_limit
    ));
    if let Some(password) = &role.password {
        draft.field(FieldChange::sensitive("password"));
        draft.op.statements.push(Statement::SetPassword {
            role: role.name.clone(),
            password: password.clone(),
        });
    }
    let parents: BTreeSet<&String> = role.member_of.iter().collect();
    if !parents.is_empty() {
        draft.field(FieldChange::new("member_of", None, Some(json!(parents))));
    }
    for parent in parents {
        draft.sql(format!("GRANT {} TO {name}", ident(parent)));
    }
    draft
}

fn update_role(role: &PgRole, now: &ObservedRole, mut draft: Draft) -> Draft {
    update_attributes(role, now, &mut draft);
    if let Some(password) = &role.password {
        let same = now
            .verifier
            .as_deref()
            .is_some_and(|v| scram::matches(v, password.expose()));
        if !same {
            draft.field(FieldChange::sensitive("password"));
            draft.op.statements.push(Statement::SetPassword {
                role: role.name.clone(),
                password: password.clone(),
            });
        }
    }
    update_memberships(role, now, &mut draft);
    draft.update_if_changed()
}

fn update_attributes(role: &PgRole, now: &ObservedRole, draft: &mut Draft) {
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
            draft.field(FieldChange::new(field, Some(json!(have)), Some(json!(want))));
            alter.push(flag(want, yes, no));
        }
    }
    if role.connection_limit != now.connection_limit {
        draft.field(FieldChange::new(
            "connection_limit",
            Some(json!(now.connection_limit)),
            Some(json!(role.connection_limit)),
        ));
        alter.push(format!("CONNECTION LIMIT {}", role.connection_limit));
    }
    if !alter.is_empty() {
        draft.sql(format!(
            "ALTER ROLE {} WITH {}",
            ident(&role.name),
            alter.join(" ")
        ));
    }
}

fn update_memberships(role: &PgRole, now: &ObservedRole, draft: &mut Draft) {
    let want: BTreeSet<String> = role.member_of.iter().cloned().collect();
    if want == now.member_of {
        return;
    }
    let name = ident(&role.name);
    draft.field(FieldChange::new(
        "member_of",
        Some(json!(now.member_of)),
        Some(json!(want)),
    ));
    for parent in want.difference(&now.member_of) {
        draft.sql(format!("GRANT {} TO {name}", ident(parent)));
    }
    for parent in now.member_of.difference(&want) {
        draft.sql(format!("REVOKE {} FROM {name}", ident(parent)));
    }
}
