use std::collections::BTreeSet;

use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::sync::dataset::group;
use crate::sync::source::ShareFile;

fn file(path: &str, etag: &str) -> ShareFile {
    ShareFile {
        path: path.into(),
        size: 1,
        modified: None,
        etag: Some(etag.into()),
        checksum: None,
    }
}

fn loaded(path: &str, table: &str, fingerprint: &str) -> Recorded {
    Recorded {
        path: path.into(),
        layer: String::new(),
        table: table.into(),
        loaded_fingerprint: Some(fingerprint.into()),
        failed_fingerprint: None,
        failed: false,
        attempts: 0,
        last_error: None,
        retry_due: false,
        next_retry_at: None,
        ..Recorded::default()
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

fn actions(plan: &PassPlan) -> Vec<(String, DatasetAction)> {
    plan.changes
        .iter()
        .map(|c| (c.path.clone(), c.action.clone()))
        .collect()
}

#[test]
fn every_kind_of_change_with_its_reason() {
    let v1 = [
        file("a.shp", "1"),
        file("a.shx", "1"),
        file("b.shp", "1"),
        file("b.shx", "1"),
        file("c.shp", "1"),
        file("c.shx", "1"),
    ];
    let g1 = group(&v1);
    let fp = |g: &Grouping, i: usize| g.datasets[i].fingerprint().to_string();
    let recorded = vec![
        loaded("a.shp", "a", &fp(&g1, 0)),
        loaded("b.shp", "b", &fp(&g1, 1)),
        loaded("c.shp", "c", &fp(&g1, 2)),
        loaded("gone.shp", "gone", "v1:x:y"),
    ];
    // a unchanged, b's .shp changed, c's .shx changed, d new, gone left.
    let v2 = [
        file("a.shp", "1"),
        file("a.shx", "1"),
        file("b.shp", "2"),
        file("b.shx", "1"),
        file("c.shp", "1"),
        file("c.shx", "2"),
        file("d.shp", "1"),
        file("d.shx", "1"),
        file("e.shp", "1"),
    ];
    let plan = plan(
        "t",
        Some(2154),
        &group(&v2),
        &[],
        &recorded,
        &BTreeSet::new(),
        None,
    );
    let got = actions(&plan);
    assert_eq!(got[0], ("a.shp".into(), DatasetAction::Unchanged));
    assert_eq!(
        got[1],
        ("b.shp".into(), DatasetAction::Load(LoadReason::ContentChanged))
    );
    assert_eq!(
        got[2],
        ("c.shp".into(), DatasetAction::Load(LoadReason::SidecarChanged))
    );
    assert_eq!(got[3], ("d.shp".into(), DatasetAction::Load(LoadReason::New)));
    assert!(
        matches!(&got[4].1, DatasetAction::Rejected { reason } if reason.contains(".shx")),
        "{got:?}"
    );
    assert_eq!(
        got[5],
        (
            "gone.shp".into(),
            DatasetAction::Remove {
                tables: vec!["gone".into()],
                layers: vec![],
                records: vec![],
            }
        )
    );
    assert_eq!(plan.changes[3].table.as_deref(), Some("d"));
    let (envelopes, warnings) = plan.envelopes();
    let codes: Vec<_> = envelopes
        .iter()
        .map(|c| (c.action, c.reason.code.as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            (Action::NoOp, "unchanged"),
            (Action::Replace, "content_changed"),
            (Action::Replace, "sidecar_changed"),
            (Action::Create, "new"),
            (Action::Delete, "left_share")
        ]
    );
    assert_eq!(warnings.len(), 1);
    assert_eq!(envelopes[3].address.to_string(), "sync.dataset:t/d.shp");
}

#[test]
fn failures_are_retried_when_due_or_when_the_data_changed() {
    let files = [file("a.shp", "1"), file("a.shx", "1")];
    let g = group(&files);
    let fingerprint = g.datasets[0].fingerprint().to_string();
    let mut failed = loaded("a.shp", "a", "v1:old:old");
    failed.failed = true;
    failed.failed_fingerprint = Some(fingerprint);
    failed.attempts = 2;
    failed.last_error = Some("boom".into());
    failed.next_retry_at = Some(now() + Duration::minutes(5));
    failed.retry_due = false;
    let waiting = plan(
        "t",
        Some(2154),
        &g,
        &[],
        &[failed.clone()],
        &BTreeSet::new(),
        None,
    );
    assert!(matches!(
        waiting.changes[0].action,
        DatasetAction::Waiting { attempts: 2, .. }
    ));
    failed.next_retry_at = Some(now() - Duration::minutes(1));
    failed.retry_due = true;
    let due = plan(
        "t",
        Some(2154),
        &g,
        &[],
        &[failed.clone()],
        &BTreeSet::new(),
        None,
    );
    assert_eq!(
        due.changes[0].action,
        DatasetAction::Load(LoadReason::RetryAfterFailure {
            attempts: 2,
            last_error: "boom".into()
        })
    );
    failed.failed_fingerprint = Some("v1:other:other".into());
    failed.next_retry_at = Some(now() + Duration::hours(1));
    failed.retry_due = false;
    let changed = plan("t", Some(2154), &g, &[], &[failed], &BTreeSet::new(), None);
    assert_eq!(
        changed.changes[0].action,
        DatasetAction::Load(LoadReason::ContentChanged)
    );
}

#[test]
fn missing_prj_needs_a_default_crs_and_broken_datasets_keep_their_tables() {
    let files = [file("a.shp", "1"), file("a.shx", "1"), file("b.shp", "1")];
    let recorded = [loaded("b.shp", "b", "v1:x:y")];
    let without = plan("t", None, &group(&files), &[], &recorded, &BTreeSet::new(), None);
    assert!(
        matches!(&without.changes[0].action, DatasetAction::Rejected { reason } if reason.contains("default_crs"))
    );
    // b lost its .shx: rejected, and its table is not removed.
    assert!(matches!(
        &without.changes[1].action,
        DatasetAction::Rejected { .. }
    ));
    assert_eq!(without.removals().count(), 0);
    let with = plan("t", Some(2154), &group(&files), &[], &[], &BTreeSet::new(), None);
    assert_eq!(with.changes[0].action, DatasetAction::Load(LoadReason::New));
}

#[test]
fn new_datasets_avoid_tables_already_there() {
    let files = [
        file("x/roads.shp", "1"),
        file("x/roads.shx", "1"),
        file("y/roads.shp", "1"),
        file("y/roads.shx", "1"),
    ];
    let existing: BTreeSet<String> = ["roads".to_string()].into();
    let plan = plan("t", Some(2154), &group(&files), &[], &[], &existing, None);
    let tables: Vec<_> = plan.changes.iter().map(|c| c.table.clone().unwrap()).collect();
    assert_eq!(tables, ["x_roads", "y_roads"]);
}

/// A loaded dataset as published with `settings`, from its current files.
fn published(dataset: &Dataset, table: &str, settings: &str) -> Recorded {
    Recorded {
        publication: Publication {
            layer_name: Some(table.into()),
            fingerprint: Some(Parts::of(dataset).publish_fingerprint(settings)),
            status: Some(PublishStatus::Published),
            ..Publication::default()
        },
        publish_retry_due: true,
        ..loaded(&dataset.path, table, &dataset.fingerprint().to_string())
    }
}

#[test]
fn metadata_style_and_data_changes_are_told_apart_when_publishing() {
    let v1 = [
        file("a.shp", "1"),
        file("a.shx", "1"),
        file("a.shp.xml", "1"),
        file("a.sld", "1"),
    ];
    let g1 = group(&v1);
    let recorded = vec![published(&g1.datasets[0], "a", "s1")];
    let action = |files: &[ShareFile], settings: &str| {
        plan(
            "t",
            Some(2154),
            &group(files),
            &[],
            &recorded,
            &BTreeSet::new(),
            Some(settings),
        )
        .changes[0]
            .action
            .clone()
    };
    assert_eq!(action(&v1, "s1"), DatasetAction::Unchanged);
    let mut metadata = v1.clone();
    metadata[2].etag = Some("2".into());
    assert_eq!(
        action(&metadata, "s1"),
        DatasetAction::Publish(PublishReason::MetadataChanged)
    );
    let mut style = v1.clone();
    style[3].etag = Some("2".into());
    assert_eq!(
        action(&style, "s1"),
        DatasetAction::Publish(PublishReason::StyleChanged)
    );
    assert_eq!(
        action(&v1, "s2"),
        DatasetAction::Publish(PublishReason::SettingsChanged)
    );
    let mut data = v1.clone();
    data[1].etag = Some("2".into());
    assert_eq!(
        action(&data, "s1"),
        DatasetAction::Load(LoadReason::SidecarChanged)
    );
    let mut main = v1.clone();
    main[0].etag = Some("2".into());
    assert_eq!(
        action(&main, "s1"),
        DatasetAction::Load(LoadReason::ContentChanged)
    );
    // Without publishing, a metadata change is a sidecar change (part 1).
    let without = plan(
        "t",
        Some(2154),
        &group(&metadata),
        &[],
        &recorded,
        &BTreeSet::new(),
        None,
    );
    assert_eq!(
        without.changes[0].action,
        DatasetAction::Load(LoadReason::SidecarChanged)
    );
}

#[test]
fn loaded_but_unpublished_or_failed_publications_are_planned_with_their_backoff() {
    let files = [file("a.geojson", "1")];
    let g = group(&files);
    let never = loaded("a.geojson", "a", &g.datasets[0].fingerprint().to_string());
    let p = plan("t", None, &g, &[], &[never], &BTreeSet::new(), Some("s"));
    assert_eq!(
        p.changes[0].action,
        DatasetAction::Publish(PublishReason::NotPublished)
    );
    let mut failed = published(&g.datasets[0], "a", "s");
    failed.publication.status = Some(PublishStatus::Failed);
    failed.publication.error = Some("GeoServer said 500".into());
    failed.publication.attempts = 2;
    failed.publish_retry_due = false;
    let p = plan("t", None, &g, &[], &[failed.clone()], &BTreeSet::new(), Some("s"));
    assert!(matches!(
        p.changes[0].action,
        DatasetAction::Waiting { attempts: 2, .. }
    ));
    failed.publish_retry_due = true;
    let p = plan("t", None, &g, &[], &[failed], &BTreeSet::new(), Some("s"));
    assert_eq!(
        p.changes[0].action,
        DatasetAction::Publish(PublishReason::RetryAfterFailure {
            attempts: 2,
            last_error: "GeoServer said 500".into()
        })
    );
    let (changes, _) = p.envelopes();
    assert_eq!(changes[0].action, Action::Update);
    assert_eq!(changes[0].reason.code, "retry_publish_after_failure");
}

#[test]
fn a_failed_publication_whose_sidecar_was_fixed_is_published_again_at_once() {
    let v1 = [file("a.shp", "1"), file("a.shx", "1"), file("a.xml", "1")];
    let g1 = group(&v1);
    // Published once; then tried with a copied .xml (etag 2), rejected.
    let mut v2 = v1.clone();
    v2[2].etag = Some("2".into());
    let g2 = group(&v2);
    let mut rejected = published(&g1.datasets[0], "a", "s");
    rejected.publication.status = Some(PublishStatus::Failed);
    rejected.publication.error = Some("a.shp: rejected: its metadata fileIdentifier x ...".into());
    rejected.publication.failed_fingerprint = Some(Parts::of(&g2.datasets[0]).publish_fingerprint("s"));
    rejected.publish_retry_due = false;
    let action = |files: &[ShareFile]| {
        plan(
            "t",
            Some(2154),
            &group(files),
            &[],
            &[rejected.clone()],
            &BTreeSet::new(),
            Some("s"),
        )
        .changes[0]
            .action
            .clone()
    };
    assert!(
        matches!(action(&v2), DatasetAction::Waiting { .. }),
        "the same files wait for the backoff"
    );
    let mut v3 = v2.clone();
    v3[2].etag = Some("3".into());
    assert_eq!(
        action(&v3),
        DatasetAction::Publish(PublishReason::MetadataChanged),
        "a fixed sidecar is tried at once"
    );
}
