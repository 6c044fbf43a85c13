//! The diff with in-memory observed state.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::manifest::source::Location;
use crate::systems::geoserver::manifest::{GsAcl, GsConnection, GsDatastore, GsStyle, GsWorkspace};
use crate::systems::geoserver::observed::{ObservedDatastore, ObservedWorkspace};
use crate::systems::geoserver::verifier;

fn at() -> Location {
    Location::file_only(std::path::Path::new("m.toml"))
}

fn desired() -> GeoServer {
    let params: Params = [("host", "db"), ("port", "5432"), ("dbtype", "postgis")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    GeoServer {
        connection: GsConnection::default(),
        workspaces: vec![GsWorkspace {
            name: "ouvert".into(),
            at: at(),
            present: true,
            isolated: false,
            default: false,
            recurse: false,
        }],
        datastores: vec![GsDatastore {
            workspace: "ouvert".into(),
            name: "data".into(),
            at: at(),
            present: true,
            recurse: false,
            description: None,
            enabled: true,
            params,
            password: Some(Secret::from_env_file("canary-pw-123456".into())),
        }],
        styles: vec![GsStyle {
            workspace: Some("ouvert".into()),
            name: "roads".into(),
            at: at(),
            present: true,
            content: "<StyledLayerDescriptor version=\"1.0.0\"/>\n".into(),
            format: StyleFormat::Sld10,
        }],
        acl: vec![GsAcl {
            rule: "ouvert.*.r".into(),
            roles: BTreeSet::from(["*".to_string()]),
            present: true,
            at: at(),
        }],
    }
}

/// What GeoServer holds after applying `desired()`.
fn in_sync() -> Observed {
    let d = desired();
    let mut params: BTreeMap<String, String> = d.datastores[0].params.clone();
    params.insert(verifier::PARAM.into(), verifier::new_verifier("canary-pw-123456"));
    params.insert("passwd".into(), "crypt1:xyz".into());
    params.insert("namespace".into(), "http://ouvert".into());
    Observed {
        workspaces: BTreeMap::from([("ouvert".into(), ObservedWorkspace { isolated: false })]),
        default_workspace: None,
        datastores: BTreeMap::from([(
            ("ouvert".into(), "data".into()),
            ObservedDatastore {
                description: None,
                enabled: true,
                params,
            },
        )]),
        styles: BTreeMap::from([(
            (Some("ouvert".into()), "roads".into()),
            Some(d.styles[0].content.clone()),
        )]),
        acl: BTreeMap::from([("ouvert.*.r".into(), BTreeSet::from(["*".to_string()]))]),
    }
}

fn actions(planned: &Planned) -> Vec<(String, Action)> {
    planned
        .changes
        .iter()
        .map(|c| (c.address.to_string(), c.action))
        .collect()
}

#[test]
fn from_empty_everything_is_created_in_dependency_order() {
    let planned = plan(&desired(), &Observed::default(), PlanOptions::default());
    assert!(
        planned.changes.iter().all(|c| c.action == Action::Create),
        "{:?}",
        actions(&planned)
    );
    let store = &planned.changes[1];
    assert_eq!(store.depends_on, [Address::new("geoserver.workspace", "ouvert")]);
    assert!(store
        .fields
        .iter()
        .any(|f| f.sensitive && f.name == "connection.passwd"));
    let rendered = serde_json::to_string(&planned.changes).unwrap();
    assert!(!rendered.contains("canary-pw"), "{rendered}");
}

#[test]
fn in_sync_is_a_no_op_with_foreign_parameters_and_encrypted_password() {
    let planned = plan(&desired(), &in_sync(), PlanOptions::default());
    assert!(
        planned.changes.iter().all(|c| c.is_noop()),
        "{:?}",
        actions(&planned)
    );
}

#[test]
fn a_changed_secret_updates_only_the_password() {
    let mut desired = desired();
    desired.datastores[0].password = Some(Secret::from_env_file("another-pw-654321".into()));
    let planned = plan(&desired, &in_sync(), PlanOptions::default());
    let store = planned
        .changes
        .iter()
        .find(|c| c.address.kind == "geoserver.datastore")
        .unwrap();
    assert_eq!(store.action, Action::Update);
    assert_eq!(store.reason.code, "password_changed");
    assert_eq!(store.fields.len(), 1);
    let GsOp::PutDatastore(write) = store.operation.as_ref().unwrap().downcast::<GsOp>().unwrap() else {
        panic!("not a datastore write");
    };
    assert_eq!(write.verifier, None, "a new verifier is made");
    assert_eq!(
        write.params.get("namespace").map(String::as_str),
        Some("http://ouvert")
    );
}

#[test]
fn changed_parameters_style_and_roles_are_updates() {
    let mut observed = in_sync();
    let store = observed.datastores.values_mut().next().unwrap();
    store.params.insert("host".into(), "old-db".into());
    observed
        .styles
        .values_mut()
        .for_each(|s| *s = Some("<old/>".into()));
    observed
        .acl
        .insert("ouvert.*.r".into(), BTreeSet::from(["ROLE_X".to_string()]));
    let planned = plan(&desired(), &observed, PlanOptions::default());
    let updates: Vec<_> = planned
        .changes
        .iter()
        .filter(|c| c.action == Action::Update)
        .collect();
    assert_eq!(updates.len(), 3, "{:?}", actions(&planned));
    assert!(updates.iter().any(|c| c.content_diff.is_some()));
}

#[test]
fn absent_resources_are_deleted_only_with_allow_drop_and_recurse_only_when_declared() {
    let mut desired = desired();
    desired.datastores[0].present = false;
    desired.workspaces[0].present = false;
    desired.workspaces[0].recurse = true;
    desired.acl[0].present = false;
    desired.styles.clear();
    let kept = plan(&desired, &in_sync(), PlanOptions::default());
    assert!(kept.changes.iter().all(|c| c.is_noop()));
    assert_eq!(kept.warnings.len(), 3);
    let options = PlanOptions {
        allow_drop: true,
        ..Default::default()
    };
    let dropped = plan(&desired, &in_sync(), options);
    assert!(
        dropped.changes.iter().all(|c| c.action == Action::Delete),
        "{:?}",
        actions(&dropped)
    );
    let ws = dropped
        .changes
        .iter()
        .find(|c| c.address.kind == "geoserver.workspace")
        .unwrap();
    assert!(matches!(
        ws.operation.as_ref().unwrap().downcast::<GsOp>(),
        Some(GsOp::DeleteWorkspace { recurse: true, .. })
    ));
    assert_eq!(
        ws.depends_on,
        [Address::new("geoserver.datastore", "ouvert:data")]
    );
    let gone = plan(&desired, &Observed::default(), options);
    assert!(gone.changes.iter().all(|c| c.is_noop()));
}

#[test]
fn rules_geosync_does_not_declare_are_left_alone() {
    let mut observed = in_sync();
    observed
        .acl
        .insert("*.*.w".into(), BTreeSet::from(["ADMIN".to_string()]));
    let planned = plan(
        &desired(),
        &observed,
        PlanOptions {
            allow_drop: true,
            prune: true,
            adopt: false,
        },
    );
    assert!(planned.changes.iter().all(|c| c.is_noop()));
    assert!(!planned.changes.iter().any(|c| c.address.name == "*.*.w"));
}

#[test]
fn a_style_without_its_document_is_uploaded_again_not_created() {
    let mut observed = in_sync();
    observed.styles.values_mut().for_each(|s| *s = None);
    let planned = plan(&desired(), &observed, PlanOptions::default());
    let style = planned
        .changes
        .iter()
        .find(|c| c.address.kind == "geoserver.style")
        .unwrap();
    assert_eq!(style.action, Action::Update);
    assert!(matches!(
        style.operation.as_ref().unwrap().downcast::<GsOp>(),
        Some(GsOp::PutStyle { create: false, .. })
    ));
}
