//! The plan of a pass, pure: what the share holds (grouped into datasets)
//! against what the ledger recorded, as one typed change per dataset with
//! its reason. Rendered by the project's plan printer and as JSON.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::dataset::{Dataset, Fingerprint, Format, Grouping, Rejected};
use super::ledger::{Publication, PublishStatus};
use super::naming;
use super::source::Refused;
use crate::plan::{Action, Address, Change, FieldChange, Reason, Warning};

pub const DATASET_KIND: &str = "sync.dataset";

/// One ledger row, as the planner needs it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Recorded {
    pub path: String,
    /// "" for a single-layer file.
    pub layer: String,
    pub table: String,
    pub loaded_fingerprint: Option<String>,
    pub failed_fingerprint: Option<String>,
    pub failed: bool,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// Whether a failed load may be tried again now (its backoff is over).
    pub retry_due: bool,
    pub next_retry_at: Option<DateTime<Utc>>,
    /// Its publication (part 2): names, state, fingerprint.
    pub publication: Publication,
    /// Whether a failed publication may be tried again now.
    pub publish_retry_due: bool,
}

/// Why a loaded dataset is published again without reloading its table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum PublishReason {
    /// Loaded, never published (or its publication was lost).
    NotPublished,
    MetadataChanged,
    StyleChanged,
    /// The target's publishing settings changed (workspace, visibility, URLs).
    SettingsChanged,
    RetryAfterFailure {
        attempts: i32,
        last_error: String,
    },
}

/// Why a dataset is loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum LoadReason {
    New,
    ContentChanged,
    SidecarChanged,
    RetryAfterFailure { attempts: i32, last_error: String },
}

/// What the pass does with one dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum DatasetAction {
    Load(LoadReason),
    /// Its table stays: only its layer, style or record is published again.
    Publish(PublishReason),
    /// It left the share: its layers, styles, tables and records are removed.
    Remove {
        tables: Vec<String>,
        /// The layers it was published as.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        layers: Vec<String>,
        /// The uuids of its metadata records.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        records: Vec<String>,
    },
    Unchanged,
    /// Its last load failed and the next try is not due yet.
    Waiting {
        attempts: i32,
        last_error: String,
        next_retry_at: Option<DateTime<Utc>>,
        /// The step that failed: `load` or `publish`.
        #[serde(skip)]
        step: &'static str,
    },
    Rejected {
        reason: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct DatasetChange {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// Its table (single-layer), or the table a new one will get.
    pub table: Option<String>,
    #[serde(flatten)]
    pub action: DatasetAction,
    #[serde(skip)]
    pub dataset: Option<Dataset>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// Everything a pass will do, dataset by dataset, in path order.
#[derive(Debug, Clone, Serialize)]
pub struct PassPlan {
    pub target: String,
    pub changes: Vec<DatasetChange>,
    /// Names in the share the walk refused.
    pub refused: Vec<Refused>,
}

/// Plans a pass. `existing_tables` are the tables already in the target
/// schema: a new dataset never takes the name of one. `publishing` is the
/// digest of the target's publishing settings when it publishes (part 2).
pub fn plan(
    target: &str,
    default_srid: Option<u32>,
    grouping: &Grouping,
    refused: &[Refused],
    recorded: &[Recorded],
    existing_tables: &BTreeSet<String>,
    publishing: Option<&str>,
) -> PassPlan {
    let mut by_path: BTreeMap<&str, Vec<&Recorded>> = BTreeMap::new();
    for r in recorded {
        by_path.entry(r.path.as_str()).or_default().push(r);
    }
    let mut taken: BTreeSet<String> = existing_tables.clone();
    taken.extend(recorded.iter().map(|r| r.table.clone()));
    let mut changes = Vec::new();
    for dataset in &grouping.datasets {
        let records = by_path.remove(dataset.path.as_str()).unwrap_or_default();
        let mut change = plan_dataset(dataset, default_srid, &records, &mut taken);
        if let Some(settings) = publishing {
            let sidecar_only = matches!(change.action, DatasetAction::Load(LoadReason::SidecarChanged))
                && only_publication_changed(dataset, &records);
            if sidecar_only || change.action == DatasetAction::Unchanged {
                change.action = publish_action(dataset, &records, settings);
            }
        }
        changes.push(change);
    }
    let rejected_paths: BTreeSet<&str> = grouping.rejected.iter().map(|r| r.path.as_str()).collect();
    for Rejected { path, reason } in &grouping.rejected {
        let records = by_path.get(path.as_str());
        changes.push(DatasetChange {
            path: path.clone(),
            format: None,
            table: records.and_then(|r| r.first()).map(|r| r.table.clone()),
            action: DatasetAction::Rejected {
                reason: reason.clone(),
            },
            dataset: None,
            fingerprint: None,
        });
    }
    for (path, records) in by_path {
        if rejected_paths.contains(path) {
            continue; // Still in the share, broken: its tables stay.
        }
        changes.push(DatasetChange {
            path: path.to_string(),
            format: None,
            table: (records.len() == 1).then(|| records[0].table.clone()),
            action: DatasetAction::Remove {
                tables: records.iter().map(|r| r.table.clone()).collect(),
                layers: records
                    .iter()
                    .filter_map(|r| r.publication.layer_name.clone())
                    .collect(),
                records: records
                    .iter()
                    .filter_map(|r| r.publication.record_uuid.clone())
                    .filter(|u| !u.is_empty())
                    .collect(),
            },
            dataset: None,
            fingerprint: None,
        });
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    PassPlan {
        target: target.to_string(),
        changes,
        refused: refused.to_vec(),
    }
}

fn plan_dataset(
    dataset: &Dataset,
    default_srid: Option<u32>,
    records: &[&Recorded],
    taken: &mut BTreeSet<String>,
) -> DatasetChange {
    let fingerprint = dataset.fingerprint();
    let mut change = DatasetChange {
        path: dataset.path.clone(),
        format: Some(dataset.format),
        table: None,
        action: DatasetAction::Unchanged,
        dataset: Some(dataset.clone()),
        fingerprint: Some(fingerprint.to_string()),
    };
    if dataset.format == Format::Shapefile && !dataset.has("prj") && default_srid.is_none() {
        change.table = records.first().map(|r| r.table.clone());
        change.action = DatasetAction::Rejected {
            reason: "shapefile without its .prj, and the target declares no default_crs: its coordinates cannot be placed".into(),
        };
        return change;
    }
    if records.is_empty() {
        change.table = (dataset.format != Format::GeoPackage).then(|| naming::assign(&dataset.path, taken));
        change.action = DatasetAction::Load(LoadReason::New);
        return change;
    }
    change.table = (records.len() == 1 && records[0].layer.is_empty()).then(|| records[0].table.clone());
    change.action = action_for(records, &fingerprint);
    change
}

/// A recorded dataset: unchanged, changed (which part), or failed (retry
/// now or later).
fn action_for(records: &[&Recorded], current: &Fingerprint) -> DatasetAction {
    let differs = |recorded: Option<&String>| -> Option<LoadReason> {
        let Some(old) = recorded.and_then(|f| Fingerprint::parse(f)) else {
            return Some(LoadReason::ContentChanged);
        };
        if old.main != current.main {
            Some(LoadReason::ContentChanged)
        } else if old.sidecars != current.sidecars {
            Some(LoadReason::SidecarChanged)
        } else {
            None
        }
    };
    if let Some(failed) = records.iter().find(|r| r.failed) {
        if let Some(reason) = differs(failed.failed_fingerprint.as_ref()) {
            return DatasetAction::Load(reason);
        }
        let last_error = failed.last_error.clone().unwrap_or_default();
        if failed.retry_due {
            return DatasetAction::Load(LoadReason::RetryAfterFailure {
                attempts: failed.attempts,
                last_error,
            });
        }
        return DatasetAction::Waiting {
            attempts: failed.attempts,
            last_error,
            next_retry_at: failed.next_retry_at,
            step: "load",
        };
    }
    match records
        .iter()
        .find_map(|r| differs(r.loaded_fingerprint.as_ref()))
    {
        Some(reason) => DatasetAction::Load(reason),
        None => DatasetAction::Unchanged,
    }
}

/// The three parts of a dataset a publication depends on: its data (the
/// main file and the sidecars the table is read from), its metadata
/// (`.xml`, `.shp.xml`, `.qmd`) and its style (`.sld`, `.qml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts {
    pub data: String,
    pub metadata: String,
    pub style: String,
}

const METADATA_SIDECARS: &[&str] = &["xml", "shp.xml", "qmd"];
const STYLE_SIDECARS: &[&str] = &["sld", "qml"];

/// Whether a sidecar (by its extension) is read by the publication, not
/// the load: metadata and styles.
pub fn is_publication_sidecar(ext: &str) -> bool {
    METADATA_SIDECARS.contains(&ext) || STYLE_SIDECARS.contains(&ext)
}

impl Parts {
    pub fn of(dataset: &Dataset) -> Parts {
        use sha2::{Digest, Sha256};
        let mut data = Sha256::new();
        let mut metadata = Sha256::new();
        let mut style = Sha256::new();
        data.update(format!("main={}\n", dataset.main.version()).as_bytes());
        for (ext, file) in &dataset.members {
            let line = format!("{ext}={}\n", file.version());
            if METADATA_SIDECARS.contains(&ext.as_str()) {
                metadata.update(line.as_bytes());
            } else if STYLE_SIDECARS.contains(&ext.as_str()) {
                style.update(line.as_bytes());
            } else {
                data.update(line.as_bytes());
            }
        }
        let short = |h: Sha256| hex::encode(h.finalize())[..16].to_string();
        Parts {
            data: short(data),
            metadata: short(metadata),
            style: short(style),
        }
    }

    /// The publish fingerprint: these parts and the target's settings.
    pub fn publish_fingerprint(&self, settings: &str) -> String {
        format!("p1:{}:{}:{}:{settings}", self.data, self.metadata, self.style)
    }

    fn parse(fingerprint: &str) -> Option<(Parts, &str)> {
        let mut parts = fingerprint.strip_prefix("p1:")?.splitn(4, ':');
        let (data, metadata, style, settings) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        Some((
            Parts {
                data: data.into(),
                metadata: metadata.into(),
                style: style.into(),
            },
            settings,
        ))
    }
}

/// A loaded dataset whose table is up to date: published as it is, or
/// published again for what changed (metadata, style, settings), or
/// waiting for the backoff of a failed publication.
fn publish_action(dataset: &Dataset, records: &[&Recorded], settings: &str) -> DatasetAction {
    let current = Parts::of(dataset);
    for record in records {
        let p = &record.publication;
        if p.status == Some(PublishStatus::Failed) {
            // What failed was made from other files (a fixed sidecar): now.
            let attempted = p.failed_fingerprint.as_deref().and_then(Parts::parse);
            if let Some(reason) = attempted.and_then(|(old, s)| what_changed(&old, s, &current, settings)) {
                return DatasetAction::Publish(reason);
            }
            let last_error = p.error.clone().unwrap_or_default();
            if !record.publish_retry_due {
                return DatasetAction::Waiting {
                    attempts: p.attempts,
                    last_error,
                    next_retry_at: p.next_retry_at,
                    step: "publish",
                };
            }
            return DatasetAction::Publish(PublishReason::RetryAfterFailure {
                attempts: p.attempts,
                last_error,
            });
        }
        let Some((old, old_settings)) = p.fingerprint.as_deref().and_then(Parts::parse) else {
            return DatasetAction::Publish(PublishReason::NotPublished);
        };
        if let Some(reason) = what_changed(&old, old_settings, &current, settings) {
            return DatasetAction::Publish(reason);
        }
    }
    DatasetAction::Unchanged
}

/// What a publication depends on that changed since `old` was published
/// (or tried): the metadata, the style or the target's settings.
fn what_changed(old: &Parts, old_settings: &str, current: &Parts, settings: &str) -> Option<PublishReason> {
    if old.metadata != current.metadata {
        Some(PublishReason::MetadataChanged)
    } else if old.style != current.style {
        Some(PublishReason::StyleChanged)
    } else if old_settings != settings {
        Some(PublishReason::SettingsChanged)
    } else {
        None
    }
}

/// With publishing, a changed sidecar that is metadata or a style does not
/// reload the table: the publication's data part says whether the data
/// changed.
fn only_publication_changed(dataset: &Dataset, records: &[&Recorded]) -> bool {
    let data = Parts::of(dataset).data;
    !records.is_empty()
        && records.iter().all(|r| {
            !r.failed
                && r.loaded_fingerprint.is_some()
                && r.publication
                    .fingerprint
                    .as_deref()
                    .and_then(Parts::parse)
                    .is_some_and(|(old, _)| old.data == data)
        })
}

impl PassPlan {
    pub fn removals(&self) -> impl Iterator<Item = &DatasetChange> {
        self.changes
            .iter()
            .filter(|c| matches!(c.action, DatasetAction::Remove { .. }))
    }

    /// The pass as the project's plan envelopes (rejections and waiting
    /// failures as warnings), for the plan printer and JSON.
    pub fn envelopes(&self) -> (Vec<Change>, Vec<Warning>) {
        let mut changes = Vec::new();
        let mut warnings = Vec::new();
        for c in &self.changes {
            let address = Address::new(DATASET_KIND, &format!("{}/{}", self.target, c.path));
            let (action, reason) = match &c.action {
                DatasetAction::Load(LoadReason::New) => {
                    (Action::Create, Reason::new("new", "new in the share"))
                }
                DatasetAction::Load(LoadReason::ContentChanged) => (
                    Action::Replace,
                    Reason::new("content_changed", "its content changed"),
                ),
                DatasetAction::Load(LoadReason::SidecarChanged) => (
                    Action::Replace,
                    Reason::new("sidecar_changed", "a sidecar file changed"),
                ),
                DatasetAction::Load(LoadReason::RetryAfterFailure { attempts, last_error }) => (
                    Action::Replace,
                    Reason::new(
                        "retry_after_failure",
                        format!("retry after {attempts} failed attempt(s): {last_error}"),
                    ),
                ),
                DatasetAction::Publish(reason) => (Action::Update, publish_reason(reason)),
                DatasetAction::Remove { .. } => {
                    (Action::Delete, Reason::new("left_share", "it left the share"))
                }
                DatasetAction::Unchanged => (Action::NoOp, Reason::new("unchanged", "unchanged")),
                DatasetAction::Waiting {
                    last_error,
                    next_retry_at,
                    ..
                } => {
                    let when = next_retry_at.map_or("soon".to_string(), |t| t.to_rfc3339());
                    warnings.push(Warning {
                        address: Some(address),
                        message: format!("failed: {last_error} (next try {when})"),
                    });
                    continue;
                }
                DatasetAction::Rejected { reason } => {
                    warnings.push(Warning {
                        address: Some(address),
                        message: format!("rejected: {reason}"),
                    });
                    continue;
                }
            };
            changes.push(Change {
                address,
                action,
                reason,
                fields: fields_of(c),
                content_diff: None,
                depends_on: Vec::new(),
                fingerprint: c.fingerprint.clone().unwrap_or_default(),
                preflight: false,
                operation: None,
            });
        }
        (changes, warnings)
    }
}

fn publish_reason(reason: &PublishReason) -> Reason {
    match reason {
        PublishReason::NotPublished => Reason::new("not_published", "loaded, not published yet"),
        PublishReason::MetadataChanged => Reason::new("metadata_changed", "its metadata changed"),
        PublishReason::StyleChanged => Reason::new("style_changed", "its style changed"),
        PublishReason::SettingsChanged => {
            Reason::new("settings_changed", "the target's publishing settings changed")
        }
        PublishReason::RetryAfterFailure { attempts, last_error } => Reason::new(
            "retry_publish_after_failure",
            format!("publish again after {attempts} failed attempt(s): {last_error}"),
        ),
    }
}

fn fields_of(c: &DatasetChange) -> Vec<FieldChange> {
    let mut fields = Vec::new();
    if let DatasetAction::Remove {
        tables,
        layers,
        records,
    } = &c.action
    {
        for (name, values) in [("layer", layers), ("table", tables), ("record", records)] {
            for value in values {
                fields.push(FieldChange::new(name, Some(value.clone().into()), None));
            }
        }
        return fields;
    }
    let new = matches!(c.action, DatasetAction::Load(LoadReason::New));
    if let (Some(table), true) = (&c.table, new) {
        fields.push(FieldChange::new("table", None, Some(table.clone().into())));
    }
    if let (Some(format), true) = (c.format, new) {
        fields.push(FieldChange::new("format", None, Some(format.label().into())));
    }
    fields
}

#[cfg(test)]
mod tests;
