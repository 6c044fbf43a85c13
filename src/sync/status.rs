//! `geosync status`: what the ledger of each target says, dataset by
//! dataset: published (layer, record, when), pending, rejected (why),
//! failed (error, attempts, next retry). It only reads: the ledger (no
//! lock, a plain SELECT) and the rejections the last pass saw in the
//! share, which never reach the ledger (a shapefile without .shx).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ledger::{self, Entry, Ledger, PublishStatus};
use super::manifest::SyncTarget;
use crate::error_chain::error_chain as chain;
use crate::systems::postgres::client as pg;
use crate::systems::postgres::manifest::PgConnection;

/// One dataset (one table of it), as `status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetStatus {
    pub path: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub layer_in_file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(flatten)]
    pub state: State,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    Published {
        layer: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        record_uuid: Option<String>,
        published_at: Option<DateTime<Utc>>,
    },
    /// Loaded into PostGIS; the target does not publish.
    Loaded {
        loaded_at: Option<DateTime<Utc>>,
    },
    /// Loaded, not published yet.
    Pending,
    Rejected {
        reason: String,
    },
    Failed {
        step: &'static str,
        error: String,
        attempts: i32,
        next_retry_at: Option<DateTime<Utc>>,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetStatus {
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// Why the ledger could not be read, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub datasets: Vec<DatasetStatus>,
}

/// The rejections a pass saw in the share, kept for `status`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LastRejections {
    pub rejected: Vec<(String, String)>,
}

impl LastRejections {
    pub fn path(state_dir: &Path, target: &str) -> PathBuf {
        state_dir.join("sync").join(target).join("rejected.json")
    }

    pub fn load(state_dir: &Path, target: &str) -> LastRejections {
        std::fs::read_to_string(Self::path(state_dir, target))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    /// Best effort: `status` merely shows less without it.
    pub fn save(&self, state_dir: &Path, target: &str) {
        let path = Self::path(state_dir, target);
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Ok(text) = serde_json::to_string(self) {
            let _ = std::fs::write(path, text);
        }
    }
}

/// Reads one target's state.
pub async fn of_target(
    target: &SyncTarget,
    connection: &PgConnection,
    state_dir: &Path,
    publishes: bool,
) -> TargetStatus {
    let mut status = TargetStatus {
        target: target.name.clone(),
        workspace: target.workspace.clone(),
        error: None,
        datasets: Vec::new(),
    };
    match entries(target, connection).await {
        Ok(entries) => {
            status.datasets = entries
                .iter()
                .filter(|e| e.table_schema == target.schema)
                .map(|e| dataset_status(e, target, publishes))
                .collect();
        }
        Err(error) => status.error = Some(error),
    }
    for (path, reason) in LastRejections::load(state_dir, &target.name).rejected {
        if !status.datasets.iter().any(|d| d.path == path) {
            status.datasets.push(DatasetStatus {
                path,
                layer_in_file: String::new(),
                table: None,
                state: State::Rejected { reason },
            });
        }
    }
    status
        .datasets
        .sort_by(|a, b| (&a.path, &a.layer_in_file).cmp(&(&b.path, &b.layer_in_file)));
    status
}

async fn entries(target: &SyncTarget, connection: &PgConnection) -> Result<Vec<Entry>, String> {
    let client = match pg::connect(connection, &target.database).await {
        Ok(client) => client,
        Err(e) if super::pass::database_missing(&e) => return Ok(Vec::new()),
        Err(e) => return Err(chain(&e)),
    };
    let shortfall = super::privileges::check(&client, &target.database, &target.schema)
        .await
        .map_err(|e| super::load::pg_message(&e))?;
    if let Some(shortfall) = shortfall {
        return Err(shortfall.message(&target.database));
    }
    let exists: Option<String> = client
        .query_one(
            &format!("SELECT to_regclass('{}.ledger')::text", ledger::SCHEMA),
            &[],
        )
        .await
        .map_err(|e| super::load::pg_message(&e))?
        .get(0);
    if exists.is_none() {
        return Ok(Vec::new());
    }
    // A part-1 ledger lacks the publication columns: read it as unpublished.
    let migrated: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns
             WHERE table_schema = 'geosync' AND table_name = 'ledger' AND column_name = 'publish_attempts')",
            &[],
        )
        .await
        .map_err(|e| super::load::pg_message(&e))?
        .get(0);
    if !migrated {
        return Err("the ledger predates publishing: run a pass (geosync sync --once) to upgrade it".into());
    }
    Ledger::entries(&client)
        .await
        .map_err(|e| super::load::pg_message(&e))
}

fn dataset_status(entry: &Entry, target: &SyncTarget, publishes: bool) -> DatasetStatus {
    let p = &entry.publication;
    let state = if entry.status == ledger::Status::Failed {
        let error = entry.last_error.clone().unwrap_or_default();
        if is_rejection(Some(&error)) {
            State::Rejected { reason: error }
        } else {
            State::Failed {
                step: "load",
                error,
                attempts: entry.attempts,
                next_retry_at: entry.next_retry_at,
            }
        }
    } else if p.status == Some(PublishStatus::Failed) && is_rejection(p.error.as_deref()) {
        State::Rejected {
            reason: p.error.clone().unwrap_or_default(),
        }
    } else if p.status == Some(PublishStatus::Failed) {
        State::Failed {
            step: "publish",
            error: p.error.clone().unwrap_or_default(),
            attempts: p.attempts,
            next_retry_at: p.next_retry_at,
        }
    } else if p.status == Some(PublishStatus::Published) {
        State::Published {
            layer: format!(
                "{}:{}",
                target.workspace.as_deref().unwrap_or(""),
                p.layer_name.as_deref().unwrap_or("")
            ),
            record_uuid: p.record_uuid.clone(),
            published_at: p.published_at,
        }
    } else if publishes {
        State::Pending
    } else {
        State::Loaded {
            loaded_at: entry.loaded_at,
        }
    };
    DatasetStatus {
        path: entry.key.source_path.clone(),
        layer_in_file: entry.key.layer.clone(),
        table: entry
            .loaded_fingerprint
            .as_ref()
            .map(|_| entry.table_name.clone()),
        state,
    }
}

/// A failure that is a rejection: what the researcher gave cannot be
/// loaded or published as it is (the loader's, or a record uuid another
/// dataset holds); it stays so until they change it.
fn is_rejection(error: Option<&str>) -> bool {
    error.is_some_and(|e| e.contains(": rejected: "))
}
