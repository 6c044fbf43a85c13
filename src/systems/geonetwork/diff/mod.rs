//! Pure planning of GeoNetwork's groups: desired + observed -> changes, in
//! the manifest's order, no I/O.
//!
//! A group is found by its name (GeoNetwork's unique key for groups). Only
//! the fields the manifest gives are compared and written; a removal needs
//! `ensure = "absent"` and `--allow-drop`, and is never forced: GeoNetwork
//! refuses to remove a group that still owns records, holds privileges or
//! has users, and the apply reports that refusal.

use serde_json::{json, Map, Value};

use crate::plan::{
    fingerprint, Action, Address, Change, FieldChange, Operation, PlanOptions, Reason, Warning,
};
use crate::systems::geonetwork::manifest::{GeoNetwork, GnGroup, GROUP_KIND};
use crate::systems::geonetwork::observed::{Observed, ObservedGroup};

/// The id GeoNetwork's admin UI sends for a group it creates: an id that
/// exists would be refused ("A group with id '0' already exist.", GroupsApi
/// addGroup), and 0 is the reserved intranet group.
pub const NEW_GROUP_ID: i64 = -99;

/// What applying a group change does.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupOp {
    /// PUT /groups with this body.
    Create { body: Value },
    /// PUT /groups/{id} with the whole entity.
    Update { id: i64, body: Value },
    /// DELETE /groups/{id}.
    Delete { id: i64 },
}

#[derive(Debug, Default)]
pub struct Planned {
    pub changes: Vec<Change>,
    pub warnings: Vec<Warning>,
}

pub fn plan(desired: &GeoNetwork, observed: &Observed, options: PlanOptions) -> Planned {
    let mut planned = Planned::default();
    for group in &desired.groups {
        let address = Address::new(GROUP_KIND, &group.name);
        let now = observed.groups.get(&group.name);
        let change = match (group.present, now) {
            (true, None) => Some(create(group, address)),
            (true, Some(now)) => Some(update(group, now, address)),
            (false, Some(now)) if options.allow_drop => Some(finish(
                address,
                Action::Delete,
                Reason::new("declared_absent", "declared absent (--allow-drop)"),
                vec![FieldChange::new("id", Some(json!(now.id)), None)],
                Some(GroupOp::Delete { id: now.id }),
            )),
            (false, Some(_)) => {
                planned.warnings.push(Warning {
                    address: Some(address),
                    message: "declared absent but exists: kept (--allow-drop removes it)".into(),
                });
                None
            }
            (false, None) => Some(finish(
                address,
                Action::NoOp,
                Reason::new("in_sync", "absent as declared"),
                Vec::new(),
                None,
            )),
        };
        planned.changes.extend(change);
    }
    planned
}

/// The fields geosync manages, as GeoNetwork's Group JSON names them,
/// with the manifest's values; None where the manifest is silent.
fn declared_fields(group: &GnGroup) -> Vec<(&'static str, Option<Value>)> {
    vec![
        ("description", group.description.as_ref().map(|v| json!(v))),
        ("email", group.email.as_ref().map(|v| json!(v))),
        ("website", group.website.as_ref().map(|v| json!(v))),
    ]
}

fn create(group: &GnGroup, address: Address) -> Change {
    let mut body = Map::new();
    body.insert("id".into(), json!(NEW_GROUP_ID));
    body.insert("name".into(), json!(group.name));
    let mut fields = vec![FieldChange::new("name", None, Some(json!(group.name)))];
    for (name, value) in declared_fields(group) {
        if let Some(value) = value {
            fields.push(FieldChange::new(name, None, Some(value.clone())));
            body.insert(name.into(), value);
        }
    }
    if !group.labels.is_empty() {
        fields.push(FieldChange::new("labels", None, Some(json!(group.labels))));
        body.insert("labelTranslations".into(), json!(group.labels));
    }
    finish(
        address,
        Action::Create,
        Reason::new("absent", "the group does not exist"),
        fields,
        Some(GroupOp::Create {
            body: Value::Object(body),
        }),
    )
}

fn update(group: &GnGroup, now: &ObservedGroup, address: Address) -> Change {
    let mut body = now.raw.clone();
    let mut fields = Vec::new();
    for (name, value) in declared_fields(group) {
        let Some(value) = value else { continue };
        let current = now.raw.get(name).cloned().unwrap_or(Value::Null);
        // GeoNetwork stores an unset text as null or "": the same to people.
        let same = current == value || (current.is_null() && value == json!(""));
        if !same {
            fields.push(FieldChange::new(name, Some(current), Some(value.clone())));
            body[name] = value;
        }
    }
    let labels_now = now
        .raw
        .get("labelTranslations")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut labels_after = labels_now.as_object().cloned().unwrap_or_default();
    for (lang, label) in &group.labels {
        let current = labels_now.get(lang).cloned().unwrap_or(Value::Null);
        if current != json!(label) {
            fields.push(FieldChange::new(
                &format!("labels.{lang}"),
                Some(current),
                Some(json!(label)),
            ));
            labels_after.insert(lang.clone(), json!(label));
        }
    }
    if !group.labels.is_empty() {
        body["labelTranslations"] = Value::Object(labels_after);
    }
    if fields.is_empty() {
        return finish(
            address,
            Action::NoOp,
            Reason::new("in_sync", "as declared"),
            fields,
            None,
        );
    }
    finish(
        address,
        Action::Update,
        Reason::new("differs", "differs from the manifest"),
        fields,
        Some(GroupOp::Update { id: now.id, body }),
    )
}

fn finish(
    address: Address,
    action: Action,
    reason: Reason,
    fields: Vec<FieldChange>,
    op: Option<GroupOp>,
) -> Change {
    let body = match &op {
        Some(GroupOp::Create { body }) | Some(GroupOp::Update { body, .. }) => body.to_string(),
        Some(GroupOp::Delete { id }) => id.to_string(),
        None => String::new(),
    };
    let envelope = json!([address, action, reason.code, fields]);
    Change {
        fingerprint: fingerprint(&[envelope.to_string().as_bytes(), body.as_bytes()]),
        address,
        action,
        reason,
        fields,
        content_diff: None,
        depends_on: Vec::new(),
        preflight: false,
        operation: op.map(Operation::new),
    }
}

#[cfg(test)]
mod tests;
