//! Validated values shared by several systems: a manifest file's identity,
//! and a whole file rendered from a template or given inline (`[[file]]`,
//! `[[docker.file]]`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::secret::Secret;
use super::source::{Location, SourceFile};

/// A manifest file and the digest of its text, which a saved plan records
/// to tell whether the manifest changed since.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ManifestSource {
    pub path: PathBuf,
    pub sha256: String,
}

impl ManifestSource {
    pub fn of(source: &SourceFile) -> Self {
        use sha2::{Digest, Sha256};
        ManifestSource {
            path: source.path.clone(),
            sha256: hex::encode(Sha256::digest(source.text.as_bytes())),
        }
    }
}

/// A whole file geosync keeps at a path of the host.
#[derive(Debug, Clone)]
pub struct ManagedFile {
    pub name: String,
    pub at: Location,
    pub path: PathBuf,
    pub source: FileSource,
    pub mode: Option<u32>,
    pub context: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, Secret>,
}

#[derive(Debug, Clone)]
pub enum FileSource {
    Template(PathBuf),
    Inline(String),
}
