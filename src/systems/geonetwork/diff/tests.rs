//! The groups diff with in-memory observed state.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::json;

use super::*;
use crate::manifest::source::Location;
use crate::systems::geonetwork::manifest::GnConnection;

fn group(name: &str) -> GnGroup {
    GnGroup {
        name: name.into(),
        at: Location::file_only(Path::new("geosync.toml")),
        present: true,
        description: None,
        email: None,
        website: None,
        labels: BTreeMap::new(),
    }
}

fn desired(groups: Vec<GnGroup>) -> GeoNetwork {
    GeoNetwork {
        connection: GnConnection::new("http://127.0.0.1/geonetwork"),
        groups,
    }
}

fn observed(entries: &[(&str, i64, serde_json::Value)]) -> Observed {
    Observed {
        groups: entries
            .iter()
            .map(|(name, id, raw)| {
                (
                    name.to_string(),
                    ObservedGroup {
                        id: *id,
                        raw: raw.clone(),
                    },
                )
            })
            .collect(),
    }
}

fn op(change: &Change) -> Option<&GroupOp> {
    change.operation.as_ref().and_then(|o| o.downcast::<GroupOp>())
}

#[test]
fn a_missing_group_is_created_with_the_new_group_id_and_declared_fields_only() {
    let mut g = group("ouvert");
    g.description = Some("Open data".into());
    g.labels.insert("fre".into(), "Ouvert".into());
    let planned = plan(&desired(vec![g]), &Observed::default(), PlanOptions::default());
    let change = &planned.changes[0];
    assert_eq!(change.action, Action::Create);
    assert_eq!(change.reason.code, "absent");
    assert_eq!(change.address.to_string(), "geonetwork.group:ouvert");
    let Some(GroupOp::Create { body }) = op(change) else {
        panic!("{change:?}")
    };
    assert_eq!(
        body,
        &json!({"id": NEW_GROUP_ID, "name": "ouvert", "description": "Open data", "labelTranslations": {"fre": "Ouvert"}})
    );
}

#[test]
fn an_equal_group_is_a_no_op_and_undeclared_fields_are_not_compared() {
    let mut g = group("ouvert");
    g.description = Some("Open data".into());
    g.labels.insert("fre".into(), "Ouvert".into());
    let now = observed(&[(
        "ouvert",
        5,
        json!({"id": 5, "name": "ouvert", "description": "Open data", "email": "set@by.hand",
               "labelTranslations": {"fre": "Ouvert", "eng": "Open"}}),
    )]);
    let planned = plan(&desired(vec![g]), &now, PlanOptions::default());
    assert_eq!(planned.changes[0].action, Action::NoOp);
    assert!(op(&planned.changes[0]).is_none());
}

#[test]
fn a_changed_field_updates_the_whole_entity_with_only_that_field_changed() {
    let mut g = group("ouvert");
    g.email = Some("new@example.org".into());
    g.labels.insert("eng".into(), "Open data".into());
    let raw = json!({"id": 5, "name": "ouvert", "email": "old@example.org", "logo": "x.png",
                     "labelTranslations": {"fre": "Ouvert", "eng": "Open"}});
    let planned = plan(
        &desired(vec![g]),
        &observed(&[("ouvert", 5, raw)]),
        PlanOptions::default(),
    );
    let change = &planned.changes[0];
    assert_eq!(change.action, Action::Update);
    let names: Vec<&str> = change.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["email", "labels.eng"]);
    let Some(GroupOp::Update { id, body }) = op(change) else {
        panic!("{change:?}")
    };
    assert_eq!(*id, 5);
    assert_eq!(
        body,
        &json!({"id": 5, "name": "ouvert", "email": "new@example.org", "logo": "x.png",
                "labelTranslations": {"fre": "Ouvert", "eng": "Open data"}})
    );
}

#[test]
fn an_empty_text_equals_an_unset_one() {
    let mut g = group("ouvert");
    g.website = Some(String::new());
    let now = observed(&[("ouvert", 5, json!({"id": 5, "name": "ouvert", "website": null}))]);
    let planned = plan(&desired(vec![g]), &now, PlanOptions::default());
    assert_eq!(planned.changes[0].action, Action::NoOp);
}

#[test]
fn removal_needs_absent_and_allow_drop() {
    let mut g = group("old");
    g.present = false;
    let now = observed(&[("old", 9, json!({"id": 9, "name": "old"}))]);
    let kept = plan(&desired(vec![g.clone()]), &now, PlanOptions::default());
    assert!(kept.changes.is_empty());
    assert!(kept.warnings[0].message.contains("--allow-drop"));

    let options = PlanOptions {
        allow_drop: true,
        ..PlanOptions::default()
    };
    let dropped = plan(&desired(vec![g.clone()]), &now, options);
    assert_eq!(dropped.changes[0].action, Action::Delete);
    assert_eq!(op(&dropped.changes[0]), Some(&GroupOp::Delete { id: 9 }));

    let gone = plan(&desired(vec![g]), &Observed::default(), options);
    assert_eq!(gone.changes[0].action, Action::NoOp);
}

#[test]
fn groups_not_in_the_manifest_are_never_touched_and_order_is_the_manifests() {
    let now = observed(&[
        ("sample", 2, json!({"id": 2, "name": "sample"})),
        ("b", 3, json!({"id": 3, "name": "b"})),
    ]);
    let options = PlanOptions {
        allow_drop: true,
        prune: true,
        ..PlanOptions::default()
    };
    let planned = plan(&desired(vec![group("z"), group("b")]), &now, options);
    let addresses: Vec<String> = planned.changes.iter().map(|c| c.address.to_string()).collect();
    assert_eq!(addresses, ["geonetwork.group:z", "geonetwork.group:b"]);
}

#[test]
fn the_fingerprint_follows_what_the_change_would_write() {
    let mut g = group("ouvert");
    g.email = Some("new@example.org".into());
    let a = observed(&[("ouvert", 5, json!({"id": 5, "name": "ouvert", "email": "old"}))]);
    let b = observed(&[(
        "ouvert",
        5,
        json!({"id": 5, "name": "ouvert", "email": "old", "logo": "y"}),
    )]);
    let fa = plan(&desired(vec![g.clone()]), &a, PlanOptions::default()).changes[0]
        .fingerprint
        .clone();
    let fa2 = plan(&desired(vec![g.clone()]), &a, PlanOptions::default()).changes[0]
        .fingerprint
        .clone();
    let fb = plan(&desired(vec![g]), &b, PlanOptions::default()).changes[0]
        .fingerprint
        .clone();
    assert_eq!(fa, fa2);
    assert_ne!(fa, fb, "a different entity to send back is a different change");
}
