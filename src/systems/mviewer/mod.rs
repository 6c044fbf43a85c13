//! Mviewer application configs: one XML file per `[[mviewer.app]]`,
//! rendered from a template and placed in the apps directory Mviewer reads.

mod diff;
mod observed;
mod render;

use futures::future::BoxFuture;

use crate::manifest::{Manifest, ManifestErrors};
use crate::placement::{HostDir, PlacementError};
use crate::plan::Change;
use crate::systems::{BoxError, PlanOptions, System, SystemPlan};
use diff::{DesiredApp, MviewerOp};

#[derive(Debug, thiserror::Error)]
pub enum MviewerError {
    /// The executor names the change; the placement error names the path.
    #[error(transparent)]
    Placement(#[from] PlacementError),
    #[error("{address}: {path} no longer carries geosync's marker; it was not removed")]
    OwnershipChanged { address: String, path: String },
    #[error("{0}: the change was not planned by the mviewer system")]
    ForeignChange(String),
}

pub struct Mviewer {
    dir: HostDir,
    apps: Vec<DesiredApp>,
}

impl Mviewer {
    /// None when the manifest declares no Mviewer directory at all.
    pub fn from_manifest(manifest: &Manifest) -> Result<Option<Self>, ManifestErrors> {
        let Some(target_dir) = &manifest.mviewer.target_dir else {
            return Ok(None);
        };
        let mut apps = Vec::new();
        let mut errors = Vec::new();
        for app in &manifest.mviewer.apps {
            match render::render(app, &manifest.vars) {
                Ok(content) => apps.push(DesiredApp {
                    name: app.name.clone(),
                    file_name: format!("{}.xml", app.name),
                    content,
                }),
                Err(error) => errors.push(error),
            }
        }
        if !errors.is_empty() {
            return Err(ManifestErrors(errors));
        }
        Ok(Some(Mviewer {
            dir: HostDir::new(target_dir.clone()),
            apps,
        }))
    }
}

impl System for Mviewer {
    fn name(&self) -> &'static str {
        "mviewer"
    }

    fn concurrency(&self) -> usize {
        4
    }

    fn plan(&self, options: PlanOptions) -> BoxFuture<'_, Result<SystemPlan, BoxError>> {
        Box::pin(async move {
            let dir = self.dir.clone();
            let observed = tokio::task::spawn_blocking(move || observed::observe(&dir))
                .await?
                .map_err(MviewerError::Placement)?;
            Ok(diff::diff(&self.apps, &observed, options, self.dir.root()))
        })
    }

    fn apply<'a>(&'a self, change: &'a Change) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            let address = change.address.to_string();
            let op = change
                .operation
                .as_ref()
                .and_then(|op| op.downcast::<MviewerOp>())
                .ok_or_else(|| MviewerError::ForeignChange(address.clone()))?
                .clone();
            let dir = self.dir.clone();
            tokio::task::spawn_blocking(move || apply_op(&dir, op, address)).await??;
            Ok(())
        })
    }
}

fn apply_op(dir: &HostDir, op: MviewerOp, address: String) -> Result<(), MviewerError> {
    let failed = MviewerError::Placement;
    match op {
        MviewerOp::Write { file_name, content } => dir
            .write_atomic(&file_name, content.as_bytes(), None)
            .map_err(failed),
        MviewerOp::Remove { file_name, owner } => {
            // Checked again at the last moment: someone may have taken the
            // file over by hand since the plan was made.
            let Some(bytes) = dir.read(&file_name).map_err(failed)? else {
                return Ok(()); // already gone: the goal is reached
            };
            if render::owner_of(&String::from_utf8_lossy(&bytes)) != Some(owner.as_str()) {
                return Err(MviewerError::OwnershipChanged {
                    path: dir.path_of(&file_name).display().to_string(),
                    address,
                });
            }
            dir.remove(&file_name).map_err(failed)
        }
    }
}
