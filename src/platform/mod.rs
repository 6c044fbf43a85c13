//! The platform: every part of a manifest and everything that converges it.
//! This is the one place that lists the sections a manifest may have, the
//! resource kinds, and the systems a manifest involves; it sits above both
//! the systems and the sync (which uses the systems' clients), so neither
//! has to know the other.

pub mod manifest;
pub mod schema;

#[cfg(test)]
mod mutation_tests;

pub use manifest::{load, Manifest};

use crate::manifest::ManifestErrors;
use crate::systems::{self, System};

/// Every resource kind geosync knows, for checking `--only`/`--exclude`.
pub fn kinds() -> Vec<&'static str> {
    systems::kinds()
}

/// The systems a manifest involves. Building them renders what can be
/// rendered offline (templates), so `validate` catches those errors too.
pub fn systems(manifest: &Manifest) -> Result<Vec<Box<dyn System>>, ManifestErrors> {
    systems::from_manifest(&manifest.systems)
}
