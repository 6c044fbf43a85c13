//! The diff of each kind: workspaces, data stores, styles, ACL rules.

use serde_json::{json, Value};

use super::{absent, DatastoreWrite, Draft, GsOp, Planned};
use crate::plan::{unified_diff, Action, Address, FieldChange, PlanOptions, Reason};
use crate::systems::geoserver::manifest::{
    style_address, GeoServer, GsDatastore, GsStyle, ACL_KIND, DATASTORE_KIND, STYLE_KIND, WORKSPACE_KIND,
};
use crate::systems::geoserver::observed::{Observed, ObservedDatastore};
use crate::systems::geoserver::verifier;

fn create() -> Reason {
    Reason::new("missing", "does not exist")
}

fn differs() -> Reason {
    Reason::new("differs", "differs from the manifest")
}

pub fn workspaces(desired: &GeoServer, observed: &Observed, options: PlanOptions, planned: &mut Planned) {
    for ws in &desired.workspaces {
        let draft = Draft::new(WORKSPACE_KIND, &ws.name);
        let current = observed.workspaces.get(&ws.name);
        let draft = if !ws.present {
            let mut draft = absent(
                draft,
                current.is_some(),
                options,
                GsOp::DeleteWorkspace {
                    name: ws.name.clone(),
                    recurse: ws.recurse,
                },
                planned,
            );
            // Its declared contents go first.
            draft.depends_on = contents_of(desired, &ws.name);
            if draft.action == Action::Delete && ws.recurse {
                draft.field("recurse", None, Some(json!(true)));
            }
            draft
        } else if let Some(current) = current {
            let mut draft = draft;
            let isolated = (current.isolated != ws.isolated).then_some(ws.isolated);
            if isolated.is_some() {
                draft.field(
                    "isolated",
                    Some(json!(current.isolated)),
                    Some(json!(ws.isolated)),
                );
            }
            let make_default = ws.default && observed.default_workspace.as_deref() != Some(&ws.name);
            if make_default {
                draft.field(
                    "default",
                    Some(json!(observed.default_workspace)),
                    Some(json!(ws.name)),
                );
            }
            if draft.fields.is_empty() {
                draft
            } else {
                let op = GsOp::UpdateWorkspace {
                    name: ws.name.clone(),
                    isolated,
                    make_default,
                };
                draft.doing(Action::Update, differs(), op)
            }
        } else {
            let mut draft = draft;
            draft.field("isolated", None, Some(json!(ws.isolated)));
            draft.field("default", None, Some(json!(ws.default)));
            let op = GsOp::CreateWorkspace {
                name: ws.name.clone(),
                isolated: ws.isolated,
                default: ws.default,
            };
            draft.doing(Action::Create, create(), op)
        };
        planned.changes.push(draft.finish());
    }
}

/// The declared data stores and styles of a workspace, deleted before it.
fn contents_of(desired: &GeoServer, workspace: &str) -> Vec<Address> {
    let stores = desired
        .datastores
        .iter()
        .filter(|d| d.workspace == workspace)
        .map(|d| Address::new(DATASTORE_KIND, &d.address_name()));
    let styles = desired
        .styles
        .iter()
        .filter(|s| s.workspace.as_deref() == Some(workspace))
        .map(|s| Address::new(STYLE_KIND, &s.address_name()));
    stores.chain(styles).collect()
}

pub fn datastores(desired: &GeoServer, observed: &Observed, options: PlanOptions, planned: &mut Planned) {
    for store in &desired.datastores {
        let mut draft = Draft::new(DATASTORE_KIND, &store.address_name());
        let current = observed
            .datastores
            .get(&(store.workspace.clone(), store.name.clone()));
        let draft = if !store.present {
            let op = GsOp::DeleteDatastore {
                workspace: store.workspace.clone(),
                name: store.name.clone(),
                recurse: store.recurse,
            };
            let mut draft = absent(draft, current.is_some(), options, op, planned);
            if draft.action == Action::Delete && store.recurse {
                draft.field("recurse", None, Some(json!(true)));
            }
            draft
        } else {
            draft
                .depends_on
                .push(Address::new(WORKSPACE_KIND, &store.workspace));
            datastore_change(draft, store, current)
        };
        planned.changes.push(draft.finish());
    }
}

fn datastore_change(mut draft: Draft, store: &GsDatastore, current: Option<&ObservedDatastore>) -> Draft {
    let empty = ObservedDatastore::default();
    let seen = current.unwrap_or(&empty);
    let shown = |value: Option<&String>| value.map(|v| json!(v));
    if seen.description != store.description {
        draft.field(
            "description",
            shown(seen.description.as_ref()),
            shown(store.description.as_ref()),
        );
    }
    if current.is_none() || seen.enabled != store.enabled {
        draft.field(
            "enabled",
            current.map(|c| json!(c.enabled)),
            Some(json!(store.enabled)),
        );
    }
    for (key, value) in &store.params {
        let before = seen.params.get(key);
        if before != Some(value) {
            draft.field(&format!("connection.{key}"), shown(before), Some(json!(value)));
        }
    }
    let stored_verifier = seen.params.get(verifier::PARAM);
    let password_current = match (&store.password, stored_verifier) {
        (None, _) => true,
        (Some(secret), Some(v)) => verifier::matches(secret.expose(), v),
        (Some(_), None) => false,
    };
    if !password_current {
        draft.fields.push(FieldChange::sensitive("connection.passwd"));
    }
    if current.is_some() && draft.fields.is_empty() {
        return draft;
    }
    let mut params = seen.params.clone();
    params.remove(verifier::PARAM);
    params.extend(store.params.clone());
    let write = DatastoreWrite {
        workspace: store.workspace.clone(),
        name: store.name.clone(),
        create: current.is_none(),
        description: store.description.clone(),
        enabled: store.enabled,
        params,
        password: store.password.clone(),
        verifier: stored_verifier.filter(|_| password_current).cloned(),
    };
    match current {
        None => draft.doing(Action::Create, create(), GsOp::PutDatastore(write)),
        Some(_) if draft.fields.len() == 1 && !password_current => {
            let reason = Reason::new(
                "password_changed",
                "the password differs from the manifest's secret",
            );
            draft.doing(Action::Update, reason, GsOp::PutDatastore(write))
        }
        Some(_) => draft.doing(Action::Update, differs(), GsOp::PutDatastore(write)),
    }
}

pub fn styles(desired: &GeoServer, observed: &Observed, options: PlanOptions, planned: &mut Planned) {
    for style in &desired.styles {
        let mut draft = Draft::new(STYLE_KIND, &style.address_name());
        let current = observed
            .styles
            .get(&(style.workspace.clone(), style.name.clone()));
        let draft = if !style.present {
            let op = GsOp::DeleteStyle {
                workspace: style.workspace.clone(),
                name: style.name.clone(),
            };
            absent(draft, current.is_some(), options, op, planned)
        } else {
            if let Some(ws) = &style.workspace {
                draft.depends_on.push(Address::new(WORKSPACE_KIND, ws));
            }
            style_change(draft, style, current)
        };
        planned.changes.push(draft.finish());
    }
}

/// `current`: None when the style does not exist, Some(None) when it
/// exists without a document.
fn style_change(mut draft: Draft, style: &GsStyle, current: Option<&Option<String>>) -> Draft {
    draft.digest = crate::plan::fingerprint(&[style.content.as_bytes()]);
    let document = current.and_then(Option::as_ref);
    if document.is_some_and(|c| same_document(c, &style.content)) {
        return draft;
    }
    let label = format!("style {}", style_address(style.workspace.as_deref(), &style.name));
    draft.content_diff = Some(unified_diff(
        document.map_or("", String::as_str),
        &style.content,
        &label,
    ));
    draft.field("format", None, Some(json!(style.format.content_type())));
    let op = GsOp::PutStyle {
        workspace: style.workspace.clone(),
        name: style.name.clone(),
        create: current.is_none(),
        content: style.content.clone(),
        format: style.format,
    };
    match (current, document) {
        (None, _) => draft.doing(Action::Create, create(), op),
        (Some(_), None) => {
            let reason = Reason::new(
                "document_missing",
                "the style has no document (an interrupted create)",
            );
            draft.doing(Action::Update, reason, op)
        }
        (Some(_), Some(_)) => {
            let reason = Reason::new("content_differs", "the document differs from the file");
            draft.doing(Action::Update, reason, op)
        }
    }
}

/// Documents compare equal up to line endings and trailing blank space
/// (what an editor or a transfer may change without meaning anything).
fn same_document(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.replace("\r\n", "\n").trim_end().to_string();
    norm(a) == norm(b)
}

pub fn acl(desired: &GeoServer, observed: &Observed, options: PlanOptions, planned: &mut Planned) {
    for rule in &desired.acl {
        let mut draft = Draft::new(ACL_KIND, &rule.rule);
        let current = observed.acl.get(&rule.rule);
        let draft = if !rule.present {
            let op = GsOp::DeleteAcl {
                rule: rule.rule.clone(),
            };
            absent(draft, current.is_some(), options, op, planned)
        } else if current == Some(&rule.roles) {
            draft
        } else {
            let roles: Vec<&String> = rule.roles.iter().collect();
            let before = current.map(|c| Value::from(c.iter().cloned().collect::<Vec<_>>()));
            draft.field("roles", before, Some(json!(roles)));
            let op = GsOp::PutAcl {
                rule: rule.rule.clone(),
                roles: roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(","),
                create: current.is_none(),
            };
            match current {
                None => draft.doing(Action::Create, create(), op),
                Some(_) => draft.doing(Action::Update, differs(), op),
            }
        };
        planned.changes.push(draft.finish());
    }
}
