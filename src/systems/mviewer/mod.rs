//! Mviewer application configs: one XML file per `[[mviewer.app]]`,
//! rendered from a template and placed in the apps folder Mviewer reads:
//! on the host, or inside a container or volume of the project.

mod diff;
pub mod manifest;
mod observed;
mod render;

use std::collections::BTreeMap;
use std::path::PathBuf;

use futures::future::BoxFuture;

use crate::manifest::ManifestErrors;
use crate::placement::CONTAINER_KIND;
use crate::placement::{connect_docker, ContainerFileError, ContainerFolder, HostDir, PlacementError};
use crate::plan::{Address, Change};
use crate::systems::mviewer::manifest::{ContainerDir, MviewerApp};
use crate::systems::Manifest;
use crate::systems::{BoxError, PlanOptions, System, SystemPlan};
use diff::{Asset, DesiredApp, MviewerOp};
use observed::{ObservedDir, ObservedFile};

#[derive(Debug, thiserror::Error)]
pub enum MviewerError {
    /// The executor names the change; the placement error names the path.
    #[error(transparent)]
    Placement(#[from] PlacementError),
    #[error(transparent)]
    Container(#[from] ContainerFileError),
    #[error("{address}: {path} no longer carries geosync's marker; it was not removed")]
    OwnershipChanged { address: String, path: String },
    #[error("{0}: the change was not planned by the mviewer system")]
    ForeignChange(String),
}

/// Where the apps folder is.
enum AppsDir {
    Host(HostDir),
    Container {
        engine_name: String,
        dir: String,
        docker_host: Option<String>,
        /// The container's address, which the writes wait for.
        address: Address,
    },
}

pub struct Mviewer {
    target: AppsDir,
    apps: Vec<DesiredApp>,
}

impl Mviewer {
    /// None when the manifest declares no Mviewer folder at all.
    pub fn from_manifest(manifest: &Manifest) -> Result<Option<Self>, ManifestErrors> {
        let target = match (
            &manifest.mviewer.target_dir,
            &manifest.mviewer.in_container,
            &manifest.docker,
        ) {
            (Some(dir), _, _) => AppsDir::Host(HostDir::new(dir.clone())),
            (None, Some(ContainerDir { container, dir, .. }), Some(docker)) => AppsDir::Container {
                engine_name: format!("{}-{container}", docker.project),
                dir: dir.clone(),
                docker_host: docker.host.clone(),
                address: Address::new(CONTAINER_KIND, container),
            },
            _ => return Ok(None),
        };
        let mut apps = Vec::new();
        let mut errors = Vec::new();
        for app in &manifest.mviewer.apps {
            match render::render(app, &manifest.vars) {
                Ok(content) => apps.push(DesiredApp {
                    name: app.name.clone(),
                    file_name: format!("{}.xml", app.name),
                    content,
                    assets: assets_of(app),
                }),
                Err(error) => errors.push(error),
            }
        }
        if !errors.is_empty() {
            return Err(ManifestErrors(errors));
        }
        Ok(Some(Mviewer { target, apps }))
    }

    async fn folder(&self) -> Result<Option<ContainerFolder>, MviewerError> {
        match &self.target {
            AppsDir::Host(_) => Ok(None),
            AppsDir::Container {
                engine_name,
                dir,
                docker_host,
                ..
            } => Ok(Some(ContainerFolder::new(
                connect_docker(docker_host.as_deref()).await?,
                engine_name,
                dir,
            ))),
        }
    }

    fn display_root(&self) -> PathBuf {
        match &self.target {
            AppsDir::Host(dir) => dir.root().to_path_buf(),
            AppsDir::Container { engine_name, dir, .. } => PathBuf::from(format!("{engine_name}:{dir}")),
        }
    }

    async fn observe(&self) -> Result<ObservedDir, MviewerError> {
        match (&self.target, self.folder().await?) {
            (AppsDir::Host(dir), _) => {
                let dir = dir.clone();
                let assets = self
                    .apps
                    .iter()
                    .flat_map(|a| &a.assets)
                    .map(|a| a.path.clone())
                    .collect();
                let observed = tokio::task::spawn_blocking(move || observed::observe(&dir, &assets))
                    .await
                    .expect("observation does not panic")?;
                Ok(observed)
            }
            (AppsDir::Container { .. }, Some(folder)) => {
                let listing = folder.read_all().await?;
                let mut files: BTreeMap<String, ObservedFile> = listing
                    .files
                    .into_iter()
                    .filter(|(name, _)| name.ends_with(".xml"))
                    .map(|(name, bytes)| {
                        (
                            name,
                            ObservedFile::new(String::from_utf8_lossy(&bytes).into_owned()),
                        )
                    })
                    .collect();
                for (name, target) in listing.links.into_iter().filter(|(n, _)| n.ends_with(".xml")) {
                    files.insert(name, ObservedFile::link(target));
                }
                // Whether a container's Mviewer has the logo is not looked up.
                Ok(ObservedDir {
                    files,
                    served_from: None,
                })
            }
            (AppsDir::Container { .. }, None) => Ok(ObservedDir::default()),
        }
    }

    async fn apply_op(&self, op: MviewerOp, address: String) -> Result<(), MviewerError> {
        if let AppsDir::Host(dir) = &self.target {
            let dir = dir.clone();
            return tokio::task::spawn_blocking(move || apply_on_host(&dir, op, address))
                .await
                .expect("a write does not panic");
        }
        let folder = self.folder().await?.expect("a container target has a folder");
        match op {
            MviewerOp::Write { file_name, content } => {
                let file = folder.file(&file_name);
                let (mode, uid, gid) = match file.read().await? {
                    Some(existing) => (existing.mode, existing.uid, existing.gid),
                    None => (0o644, 0, 0),
                };
                Ok(file.write(content.as_bytes(), mode, uid, gid).await?)
            }
            MviewerOp::Remove { file_name, owner } => {
                let Some(existing) = folder.file(&file_name).read().await? else {
                    return Ok(());
                };
                if render::owner_of(&String::from_utf8_lossy(&existing.bytes)) != Some(owner.as_str()) {
                    return Err(MviewerError::OwnershipChanged {
                        path: format!("{}/{file_name}", folder.describe()),
                        address,
                    });
                }
                Ok(folder.remove(&file_name).await?)
            }
        }
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
            let observed = self.observe().await?;
            let mut plan = diff::diff(&self.apps, &observed, options, &self.display_root());
            if let AppsDir::Container { address, .. } = &self.target {
                for change in &mut plan.changes {
                    change.depends_on.push(address.clone());
                }
            }
            Ok(plan)
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
            self.apply_op(op, address).await?;
            Ok(())
        })
    }
}

fn apply_on_host(dir: &HostDir, op: MviewerOp, address: String) -> Result<(), MviewerError> {
    match op {
        MviewerOp::Write { file_name, content } => {
            Ok(dir.write_atomic(&file_name, content.as_bytes(), None)?)
        }
        MviewerOp::Remove { file_name, owner } => {
            // Checked again at the last moment: someone may have taken the
            // file over by hand since the plan was made.
            let Some(bytes) = dir.read(&file_name)? else {
                return Ok(()); // already gone: the goal is reached
            };
            if render::owner_of(&String::from_utf8_lossy(&bytes)) != Some(owner.as_str()) {
                return Err(MviewerError::OwnershipChanged {
                    path: dir.path_of(&file_name).display().to_string(),
                    address,
                });
            }
            Ok(dir.remove(&file_name)?)
        }
    }
}

/// The files an app's config names relative to Mviewer's index.html.
fn assets_of(app: &MviewerApp) -> Vec<Asset> {
    let pages = [("logo", &app.logo), ("help", &app.help)]
        .into_iter()
        .filter_map(|(attribute, value)| Asset::local(attribute, value.as_deref()?));
    let thumbnails = app.baselayers.iter().filter_map(|b| {
        Asset::local(
            format!("baselayer `{}` thumbgallery", b.id),
            b.thumbgallery.as_deref()?,
        )
    });
    pages.chain(thumbnails).collect()
}
