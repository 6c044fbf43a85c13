//! Databases, and the schemas and extensions inside them.

use serde_json::json;

use super::{Draft, PlanError, Planned, Roles, EXTENSION_KIND, SCHEMA_KIND};
use crate::plan::{Action, Address, FieldChange, PlanOptions, Reason, Warning};
use crate::systems::postgres::client::{ident, literal};
use crate::systems::postgres::manifest::DATABASE_KIND;
use crate::systems::postgres::manifest::{PgDatabase, PgExtension, PgSchema, Postgres};
use crate::systems::postgres::observed::{Inside, Observed, ObservedDatabase};

pub(super) fn plan_databases(
    desired: &Postgres,
    observed: &Observed,
    options: PlanOptions,
    roles: &Roles,
    planned: &mut Planned,
) {
    for database in &desired.databases {
        if let Some(owner) = &database.owner {
            roles.check(&format!("{DATABASE_KIND}:{}", database.name), owner, planned);
        }
        let existing = observed.databases.get(&database.name);
        if let Some(mut draft) = plan_database(database, existing, options, &mut planned.warnings) {
            draft
                .depends_on
                .extend(database.owner.as_deref().and_then(|o| roles.dependency(o)));
            planned.changes.push(draft.finish());
        }
        if database.present {
            let inside = existing.and_then(|d| d.inside.as_ref());
            for schema in &database.schemas {
                let draft = plan_schema(database, schema, inside, roles, planned);
                planned.changes.push(draft.finish());
            }
            for extension in &database.extensions {
                check_extension(database, extension, observed, planned);
                let draft = plan_extension(database, extension, inside);
                planned.changes.push(draft.finish());
            }
        }
    }
}

fn plan_database(
    database: &PgDatabase,
    observed: Option<&ObservedDatabase>,
    options: PlanOptions,
    warnings: &mut Vec<Warning>,
) -> Option<Draft> {
    let draft = Draft::new(Address::new(DATABASE_KIND, &database.name), None);
    match (database.present, observed) {
        (true, None) => Some(create_database(database, draft)),
        (true, Some(now)) => {
            warn_fixed_at_creation(database, now, &draft.address, warnings);
            Some(update_owner(database, now, draft))
        }
        (false, Some(now)) => drop_database(database, now, options, draft, warnings),
        (false, None) => Some(draft.doing(Action::NoOp, Reason::new("in_sync", "absent as declared"))),
    }
}

fn create_database(database: &PgDatabase, draft: Draft) -> Draft {
    let mut draft = draft.doing(
        Action::Create,
        Reason::new("absent", "the database does not exist"),
    );
    let mut sql = format!("CREATE DATABASE {}", ident(&database.name));
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
            draft.field(FieldChange::new(field, None, Some(json!(value))));
        }
    }
    draft.sql(sql);
    draft
}

/// Encoding and locale are fixed at creation: a difference is reported,
/// never "fixed" by recreating the database.
fn warn_fixed_at_creation(
    database: &PgDatabase,
    now: &ObservedDatabase,
    address: &Address,
    warnings: &mut Vec<Warning>,
) {
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
}

fn update_owner(database: &PgDatabase, now: &ObservedDatabase, mut draft: Draft) -> Draft {
    if let Some(owner) = database.owner.as_ref().filter(|o| **o != now.owner) {
        draft.field(FieldChange::new(
            "owner",
            Some(json!(now.owner)),
            Some(json!(owner)),
        ));
        draft.sql(format!(
            "ALTER DATABASE {} OWNER TO {}",
            ident(&database.name),
            ident(owner)
        ));
    }
    draft.update_if_changed()
}

fn drop_database(
    database: &PgDatabase,
    now: &ObservedDatabase,
    options: PlanOptions,
    draft: Draft,
    warnings: &mut Vec<Warning>,
) -> Option<Draft> {
    let tables = now.inside.as_ref().map_or(0, Inside::user_tables);
    let holds = match tables {
        0 => String::new(),
        1 => "; it holds 1 table of user data".to_string(),
        n => format!("; it holds {n} tables of user data"),
    };
    if !options.allow_drop {
        warnings.push(Warning {
            address: Some(draft.address),
            message: format!("declared absent but exists{holds}: kept (--allow-drop drops it)"),
        });
        return None;
    }
    let mut draft = draft.doing(
        Action::Delete,
        Reason::new(
            "declared_absent",
            format!("declared absent (--allow-drop){holds}"),
        ),
    );
    draft.sql(format!("DROP DATABASE {}", ident(&database.name)));
    Some(draft)
}

fn plan_schema(
    database: &PgDatabase,
    schema: &PgSchema,
    inside: Option<&Inside>,
    roles: &Roles,
    planned: &mut Planned,
) -> Draft {
    let address = Address::new(SCHEMA_KIND, &format!("{}/{}", database.name, schema.name));
    let mut draft = Draft::new(address.clone(), Some(&database.name));
    draft.depends_on.push(Address::new(DATABASE_KIND, &database.name));
    if let Some(owner) = &schema.owner {
        roles.check(&address.to_string(), owner, planned);
        draft.depends_on.extend(roles.dependency(owner));
    }
    let name = ident(&schema.name);
    match inside.and_then(|i| i.schemas.get(&schema.name)) {
        None => {
            let mut sql = format!("CREATE SCHEMA IF NOT EXISTS {name}");
            if let Some(owner) = &schema.owner {
                sql.push_str(&format!(" AUTHORIZATION {}", ident(owner)));
                draft.field(FieldChange::new("owner", None, Some(json!(owner))));
            }
            draft.sql(sql);
            draft.doing(Action::Create, Reason::new("absent", "the schema does not exist"))
        }
        Some(owner) => {
            if let Some(want) = schema.owner.as_ref().filter(|o| *o != owner) {
                draft.field(FieldChange::new("owner", Some(json!(owner)), Some(json!(want))));
                draft.sql(format!("ALTER SCHEMA {name} OWNER TO {}", ident(want)));
            }
            draft.update_if_changed()
        }
    }
}

/// An extension the server cannot install, or a version it does not have,
/// stops the plan with the extension named.
fn check_extension(
    database: &PgDatabase,
    extension: &PgExtension,
    observed: &Observed,
    planned: &mut Planned,
) {
    let subject = format!("{EXTENSION_KIND}:{}/{}", database.name, extension.name);
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
}

fn plan_extension(database: &PgDatabase, extension: &PgExtension, inside: Option<&Inside>) -> Draft {
    let address = Address::new(EXTENSION_KIND, &format!("{}/{}", database.name, extension.name));
    let mut draft = Draft::new(address, Some(&database.name));
    draft.depends_on.push(Address::new(DATABASE_KIND, &database.name));
    if let Some(schema) = &extension.schema {
        if database.schemas.iter().any(|s| &s.name == schema) {
            draft
                .depends_on
                .push(Address::new(SCHEMA_KIND, &format!("{}/{schema}", database.name)));
        }
    }
    let name = ident(&extension.name);
    let Some((version, schema)) = inside.and_then(|i| i.extensions.get(&extension.name)) else {
        let mut sql = format!("CREATE EXTENSION IF NOT EXISTS {name}");
        if let Some(schema) = &extension.schema {
            sql.push_str(&format!(" SCHEMA {}", ident(schema)));
            draft.field(FieldChange::new("schema", None, Some(json!(schema))));
        }
        if let Some(version) = &extension.version {
            sql.push_str(&format!(" VERSION {}", literal(version)));
            draft.field(FieldChange::new("version", None, Some(json!(version))));
        }
        draft.sql(sql);
        return draft.doing(Action::Create, Reason::new("absent", "not installed"));
    };
    if let Some(want) = extension.version.as_ref().filter(|v| *v != version) {
        draft.field(FieldChange::new(
            "version",
            Some(json!(version)),
            Some(json!(want)),
        ));
        draft.sql(format!("ALTER EXTENSION {name} UPDATE TO {}", literal(want)));
    }
    if let Some(want) = extension.schema.as_ref().filter(|s| *s != schema) {
        draft.field(FieldChange::new("schema", Some(json!(schema)), Some(json!(want))));
        draft.sql(format!("ALTER EXTENSION {name} SET SCHEMA {}", ident(want)));
    }
    draft.update_if_changed()
}
