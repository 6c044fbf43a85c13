//! Reads a set of manifest files and lowers every section they may hold.
//! src/manifest/ provides the machinery; each system (and, above them, the
//! sync) owns the raw types, model and checks of its own section.

use std::path::PathBuf;

use crate::manifest::document::Document;
use crate::manifest::error::closest;
use crate::manifest::secret::{Redactor, SecretMode, SecretResolver};
use crate::manifest::{self, ManifestError, ManifestErrors};
use crate::{sync, systems};

/// Every top-level key a manifest file may have.
pub fn sections() -> Vec<&'static str> {
    let mut sections = systems::manifest::SECTIONS.to_vec();
    sections.push("sync");
    sections
}

/// The whole desired state.
#[derive(Debug)]
pub struct Manifest {
    /// What the systems converge (with the vars, sources and secrets of the load).
    pub systems: systems::Manifest,
    /// The data sync's targets (`[[sync.target]]`), when declared.
    pub sync: Option<sync::manifest::Sync>,
}

impl Manifest {
    /// How many resources the manifests declare, as `validate` reports it.
    pub fn resource_count(&self) -> usize {
        self.systems.resource_count() + self.sync.as_ref().map_or(0, |s| s.targets.len())
    }
}

/// Loads and validates a set of manifest files, with `--var name=value`
/// overrides. Every problem of every file is reported at once; syntax
/// errors first, since what follows them cannot be read reliably.
pub fn load(
    paths: &[PathBuf],
    overrides: &[String],
    redactor: &Redactor,
    secrets: SecretMode,
) -> Result<Manifest, ManifestErrors> {
    let resolver = SecretResolver::new(redactor, secrets);
    let mut errors = Vec::new();
    let documents = manifest::read_documents(paths, &mut errors);
    if !errors.is_empty() {
        return Err(ManifestErrors(errors));
    }
    check_sections(&documents, &mut errors);
    let vars = manifest::collect_vars(&documents, overrides, &mut errors);
    let mut systems = systems::manifest::lower(&documents, vars, &resolver, &mut errors);
    let mut sync = sync::manifest::lower(&documents, &systems.vars, &resolver, &mut errors);
    match (&mut sync, &systems.postgres) {
        (Some(sync), None) => sync::manifest::require_postgres(sync, &mut errors),
        (Some(sync), Some(postgres)) => sync::manifest::resolve_role(sync, postgres, &mut errors),
        (None, _) => {}
    }
    if let (Some(sync), Some(geoserver)) = (&mut sync, &systems.geoserver) {
        sync::manifest::resolve_datastores(sync, geoserver, &mut errors);
        sync::manifest::check_access_rules(sync, geoserver, &mut errors);
    }
    if !errors.is_empty() {
        return Err(ManifestErrors(errors).in_reading_order(paths));
    }
    // Every section has been lowered: all the notes are in.
    systems.unresolved_secrets = resolver.notes();
    Ok(Manifest { systems, sync })
}

fn check_sections(documents: &[Document], errors: &mut Vec<ManifestError>) {
    let known = sections();
    for doc in documents {
        for (key, at) in doc.top_level_keys() {
            if !known.contains(&key.as_str()) {
                errors.push(ManifestError::Syntax {
                    at,
                    message: format!("unknown section `{key}`"),
                    hint: closest(&key, known.iter().copied()).map(|c| format!("did you mean `{c}`?")),
                });
            }
        }
    }
}
