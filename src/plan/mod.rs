//! A plan as data: every change geosync would make, in a deterministic
//! order, renderable for people and for machines. Knows no system.

mod address;
mod change;
pub mod render;
mod text;
mod word_diff;

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use address::{Address, Selector};
pub use change::{Action, Change, FieldChange, Operation, Reason};
pub use text::{fingerprint, unified_diff, unified_diff_hiding_removed};

/// Bumped whenever a saved plan's meaning changes; older plans are refused.
pub const FORMAT_VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub geosync_version: String,
    pub created_at: DateTime<Utc>,
    pub manifests: Vec<PlannedManifest>,
    /// `--var` overrides in force: needed to re-plan the same way.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub var_overrides: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only: Vec<Selector>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<Selector>,
    pub options: PlanOptions,
    /// The directory the plan was made in: applying a saved plan resolves
    /// its manifests (and every path relative to them) from there again,
    /// wherever it is run from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<PathBuf>,
    /// Where the lock, the journal and the fingerprint key were: a saved
    /// plan is applied with the same ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_dir: Option<PathBuf>,
    /// Names the fingerprint key the plan was made with (a keyed digest of
    /// a constant), so a plan made with another key is told apart.
    #[serde(default)]
    pub key_id: String,
    /// Every secret the manifests resolved, by reference, with a keyed
    /// digest of its value: a saved plan is refused when one changed since.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
    pub summary: Summary,
    pub changes: Vec<Change>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
}

/// Run-wide choices that change what a plan contains.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanOptions {
    /// Delete what geosync owns that left the manifest.
    pub prune: bool,
    /// Take over existing objects with a desired name that geosync did not create.
    pub adopt: bool,
    /// Drop what the manifest declares absent (roles, databases).
    #[serde(default)]
    pub allow_drop: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedManifest {
    pub path: PathBuf,
    pub sha256: String,
}

/// Something the user should know that is not a change, such as a file
/// geosync owns that left the manifest and is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    pub address: Option<Address>,
    pub message: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub unchanged: usize,
}

impl Summary {
    pub fn of(changes: &[Change]) -> Self {
        let mut summary = Summary::default();
        for change in changes {
            let counter = match change.action {
                Action::Create => &mut summary.create,
                Action::Update => &mut summary.update,
                Action::Replace => &mut summary.replace,
                Action::Delete => &mut summary.delete,
                Action::NoOp => &mut summary.unchanged,
            };
            *counter += 1;
        }
        summary
    }

    pub fn pending(&self) -> usize {
        let Summary {
            create,
            update,
            replace,
            delete,
            unchanged: _,
        } = *self;
        create + update + replace + delete
    }
}

impl Plan {
    pub fn new(
        manifests: Vec<PlannedManifest>,
        var_overrides: Vec<String>,
        only: Vec<Selector>,
        exclude: Vec<Selector>,
        options: PlanOptions,
        mut changes: Vec<Change>,
        warnings: Vec<Warning>,
    ) -> Self {
        changes.sort_by(|a, b| a.address.cmp(&b.address));
        Plan {
            format_version: FORMAT_VERSION,
            geosync_version: env!("CARGO_PKG_VERSION").to_string(),
            created_at: Utc::now(),
            manifests,
            var_overrides,
            only,
            exclude,
            options,
            working_dir: None,
            state_dir: None,
            key_id: String::new(),
            secrets: BTreeMap::new(),
            summary: Summary::of(&changes),
            changes,
            warnings,
        }
    }

    pub fn has_changes(&self) -> bool {
        self.summary.pending() > 0
    }

    pub fn pending(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| !c.is_noop())
    }

    /// Addresses whose change differs between two plans of the same
    /// manifests: empty when applying one is exactly applying the other.
    pub fn differences(&self, other: &Plan) -> Vec<Address> {
        let mine: BTreeMap<&Address, &Change> = self.changes.iter().map(|c| (&c.address, c)).collect();
        let theirs: BTreeMap<&Address, &Change> = other.changes.iter().map(|c| (&c.address, c)).collect();
        let mut differing: Vec<Address> = mine
            .iter()
            .filter(|(address, change)| theirs.get(*address).is_none_or(|t| !t.same_effect(change)))
            .map(|(address, _)| (*address).clone())
            .collect();
        differing.extend(
            theirs
                .keys()
                .filter(|address| !mine.contains_key(*address))
                .map(|address| (*address).clone()),
        );
        differing.sort();
        differing
    }
}
