//! The platform: every part of a manifest and everything that converges it.
//! This is the one place that lists the sections a manifest may have, the
//! resource kinds, and the systems a manifest involves; it sits above both
//! the systems and the sync (which uses the systems' clients), so neither
//! has to know the other.

pub mod manifest;
pub mod schema;
pub mod sync_step;

#[cfg(test)]
mod mutation_tests;

pub use manifest::{load, Manifest};

use crate::manifest::ManifestErrors;
use crate::systems::{self, System};

/// Every resource kind geosync knows, for checking `--only`/`--exclude`.
pub fn kinds() -> Vec<&'static str> {
    let mut kinds = systems::kinds();
    kinds.push(crate::sync::plan::DATASET_KIND);
    kinds
}

/// The systems a manifest involves. Building them renders what can be
/// rendered offline (templates), so `validate` catches those errors too.
/// The data sync comes last, when the run includes it (`sync` says where
/// its walk state and staging live and which datasets the run may touch;
/// None leaves it out).
pub fn systems(
    manifest: &Manifest,
    sync: Option<sync_step::Scope>,
) -> Result<Vec<Box<dyn System>>, ManifestErrors> {
    let mut systems = systems::from_manifest(&manifest.systems)?;
    if let (Some(targets), Some(scope)) = (&manifest.sync, sync) {
        if let Some(step) = sync_step::SyncStep::new(targets, &manifest.systems, scope) {
            systems.push(Box::new(step));
        }
    }
    Ok(systems)
}
