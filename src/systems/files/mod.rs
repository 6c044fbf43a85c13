//! `[[file]]`: whole configuration files at host paths, rendered from a
//! template (which may use secrets) or given inline. Declaring a path means
//! owning its content: geosync creates and updates it, and never deletes it.

pub mod manifest;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use futures::future::BoxFuture;

use crate::manifest::model::ManagedFile;
use crate::manifest::secret::Redactor;
use crate::manifest::ManifestErrors;
use crate::placement::file_diff::{self as diff, DesiredFile, ObservedFile, WriteFile};
use crate::placement::file_render as render;
use crate::placement::{HostDir, PlacementError};
use crate::plan::{Change, Warning};
use crate::systems::Manifest;
use crate::systems::{BoxError, PlanOptions, System, SystemPlan};

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The executor names the change; the placement error names the path.
    #[error(transparent)]
    Placement(#[from] PlacementError),
    #[error("{0}: the change was not planned by the file system")]
    ForeignChange(String),
    #[error("{first} and {second} name the same file {path} (through a symbolic link): declare it once")]
    SameFile {
        first: String,
        second: String,
        path: PathBuf,
    },
}

struct Target {
    dir: HostDir,
    file_name: String,
    desired: DesiredFile,
}

pub struct Files {
    targets: Vec<Target>,
    redactor: Redactor,
}

impl Files {
    pub fn from_manifest(manifest: &Manifest) -> Result<Option<Self>, ManifestErrors> {
        if manifest.files.is_empty() {
            return Ok(None);
        }
        let mut targets = Vec::new();
        let mut errors = Vec::new();
        for file in &manifest.files {
            match render::render(file, &manifest.vars) {
                Ok(rendered) => targets.push(target(file, rendered)),
                Err(error) => errors.push(error),
            }
        }
        if !errors.is_empty() {
            return Err(ManifestErrors(errors));
        }
        Ok(Some(Files {
            targets,
            redactor: manifest.redactor.clone(),
        }))
    }
}

fn target(file: &ManagedFile, rendered: render::Rendered) -> Target {
    let parent = file.path.parent().unwrap_or(Path::new("/"));
    let file_name = file
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Target {
        dir: HostDir::new(parent.to_path_buf()),
        file_name,
        desired: DesiredFile {
            change_address: crate::plan::Address::new(manifest::KIND, &file.name),
            path: file.path.display().to_string(),
            content: rendered.content,
            display: rendered.display,
            mode: file.mode,
            has_secrets: !file.secrets.is_empty(),
        },
    }
}

impl System for Files {
    fn name(&self) -> &'static str {
        manifest::KIND
    }

    fn concurrency(&self) -> usize {
        8
    }

    fn plan(&self, _options: PlanOptions) -> BoxFuture<'_, Result<SystemPlan, BoxError>> {
        Box::pin(async move {
            refuse_aliases(&self.targets)?;
            let mut changes = Vec::new();
            let mut warnings = Vec::new();
            for target in &self.targets {
                if let Some(link) = target
                    .dir
                    .link_target(&target.file_name)
                    .map_err(FileError::Placement)?
                {
                    warnings.push(Warning {
                        address: Some(target.desired.change_address.clone()),
                        message: format!(
                            "{} is a symbolic link (to {}) that geosync did not create: left alone; declare the file it points to instead",
                            target.desired.path,
                            link.display()
                        ),
                    });
                    continue;
                }
                let observed = observe(target, &self.redactor).map_err(FileError::Placement)?;
                changes.push(diff::diff(&target.desired, observed.as_ref()));
            }
            Ok(SystemPlan {
                changes,
                warnings,
                blockers: Vec::new(),
            })
        })
    }

    fn apply<'a>(&'a self, change: &'a Change) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            let address = change.address.to_string();
            let write = change
                .operation
                .as_ref()
                .and_then(|op| op.downcast::<WriteFile>())
                .ok_or_else(|| FileError::ForeignChange(address.clone()))?;
            let target = self
                .targets
                .iter()
                .find(|t| t.desired.change_address == change.address)
                .ok_or_else(|| FileError::ForeignChange(address.clone()))?;
            target
                .dir
                .write_atomic(&target.file_name, write.content.as_bytes(), write.mode)
                .map_err(FileError::Placement)?;
            Ok(())
        })
    }
}

/// Two declared paths that reach one file through a linked folder would
/// overwrite each other on every run: the real paths must differ.
fn refuse_aliases(targets: &[Target]) -> Result<(), FileError> {
    let mut seen: BTreeMap<PathBuf, &Target> = BTreeMap::new();
    for target in targets {
        let folder =
            std::fs::canonicalize(target.dir.root()).unwrap_or_else(|_| target.dir.root().to_path_buf());
        let real = folder.join(&target.file_name);
        if let Some(first) = seen.get(&real) {
            return Err(FileError::SameFile {
                first: first.desired.change_address.to_string(),
                second: target.desired.change_address.to_string(),
                path: real,
            });
        }
        seen.insert(real, target);
    }
    Ok(())
}

fn observe(target: &Target, redactor: &Redactor) -> Result<Option<ObservedFile>, PlacementError> {
    let Some(bytes) = target.dir.read(&target.file_name)? else {
        return Ok(None);
    };
    let mode = target.dir.mode(&target.file_name)?.unwrap_or(0);
    let content = String::from_utf8_lossy(&bytes).into_owned();
    Ok(Some(ObservedFile {
        display: redactor.redact(&content),
        content,
        mode,
    }))
}
