//! Docker Engine: networks, volumes, images and containers of the project,
//! through the Engine API (bollard), never the docker CLI.

mod anonymous;
mod converge;
mod diff;
mod files;
mod health;
mod images;
pub mod manifest;
mod names;
mod observed;
mod spec;

use std::collections::{BTreeMap, HashMap};

use bollard::errors::Error as DockerError;
use bollard::models::{NetworkCreateRequest, VolumeCreateRequest};
use futures::future::BoxFuture;
use tokio::sync::OnceCell;

use crate::manifest::ManifestErrors;
use crate::placement::file_diff::{DesiredFile, WriteFile};
use crate::placement::file_render as render;
use crate::placement::{connect_docker, ContainerFileError};
use crate::plan::{Address, Change, PlanOptions};
use crate::systems::docker::manifest::{Docker as DesiredDocker, DockerFile, DockerNetwork};
use crate::systems::docker::manifest::{CONTAINER_KIND, FILE_KIND, NETWORK_KIND, VOLUME_KIND};
use crate::systems::Manifest;
use crate::systems::{Blocker, BoxError, System, SystemPlan};
use diff::DockerOp;

pub const KINDS: &[&str] = &[
    diff::IMAGE_KIND,
    NETWORK_KIND,
    VOLUME_KIND,
    CONTAINER_KIND,
    FILE_KIND,
];

#[derive(Debug, thiserror::Error)]
pub enum DockerSystemError {
    #[error("cannot read the project's objects from the Docker Engine")]
    Observe(#[source] DockerError),
    #[error(transparent)]
    Image(#[from] images::ImageError),
    #[error(transparent)]
    Wait(#[from] health::WaitError),
    #[error("{what}")]
    Engine {
        what: String,
        #[source]
        source: DockerError,
    },
    #[error(transparent)]
    File(#[from] ContainerFileError),
    #[error("{0}: the change was not planned by the docker system")]
    ForeignChange(String),
}

fn engine(what: impl Into<String>) -> impl FnOnce(DockerError) -> DockerSystemError {
    let what = what.into();
    move |source| DockerSystemError::Engine { what, source }
}

/// Treats "already so" answers (304 not modified, 404 on removal) as done:
/// every step can run again after an interruption.
fn already(result: Result<(), DockerError>, codes: &[u16]) -> Result<(), DockerError> {
    match result {
        Err(DockerError::DockerResponseServerError { status_code, .. }) if codes.contains(&status_code) => {
            Ok(())
        }
        other => other,
    }
}

pub struct DockerSystem {
    desired: DesiredDocker,
    /// `[[docker.file]]` entries with their rendered content.
    files: Vec<(DockerFile, DesiredFile)>,
    client: OnceCell<bollard::Docker>,
}

impl DockerSystem {
    pub fn from_manifest(manifest: &Manifest) -> Result<Option<Self>, ManifestErrors> {
        let Some(desired) = manifest.docker.clone() else {
            return Ok(None);
        };
        let mut files = Vec::new();
        let mut errors = Vec::new();
        for entry in &desired.files {
            match render::render(&entry.file, &manifest.vars) {
                Ok(rendered) => files.push((
                    entry.clone(),
                    DesiredFile {
                        change_address: Address::new(FILE_KIND, &entry.file.name),
                        path: format!(
                            "{}:{}",
                            names::container(&desired.project, &entry.container),
                            entry.file.path.display()
                        ),
                        content: rendered.content,
                        display: rendered.display,
                        mode: entry.file.mode,
                        has_secrets: !entry.file.secrets.is_empty(),
                    },
                )),
                Err(error) => errors.push(error),
            }
        }
        if !errors.is_empty() {
            return Err(ManifestErrors(errors));
        }
        Ok(Some(DockerSystem {
            desired,
            files,
            client: OnceCell::new(),
        }))
    }

    async fn client(&self) -> Result<&bollard::Docker, DockerSystemError> {
        self.client
            .get_or_try_init(|| async { Ok(connect_docker(self.desired.host.as_deref()).await?) })
            .await
    }

    async fn apply_op(&self, op: &DockerOp) -> Result<(), DockerSystemError> {
        let docker = self.client().await?;
        let project = &self.desired.project;
        match op {
            DockerOp::CreateNetwork(network) => create_network(docker, project, network).await,
            DockerOp::CreateVolume(volume) => {
                let name = names::volume(project, &volume.name);
                docker
                    .create_volume(VolumeCreateRequest {
                        name: Some(name.clone()),
                        driver: Some(volume.driver.clone()),
                        labels: Some(HashMap::from([
                            (names::PROJECT.to_string(), project.clone()),
                            (names::RESOURCE.to_string(), volume.name.clone()),
                            (names::DISPOSABLE.to_string(), volume.disposable.to_string()),
                        ])),
                        ..Default::default()
                    })
                    .await
                    .map(|_| ())
                    .map_err(engine(format!("creating volume {name}")))
            }
            DockerOp::RemoveNetwork(name) => already(docker.remove_network(name).await, &[404])
                .map_err(engine(format!("removing network {name}"))),
            DockerOp::RemoveVolume(name) => already(
                docker
                    .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
                    .await,
                &[404],
            )
            .map_err(engine(format!("removing volume {name}"))),
            DockerOp::Pull(image) => Ok(images::pull(docker, image).await?),
            DockerOp::Build {
                image,
                build,
                context_hash,
            } => Ok(images::build(docker, image, build, context_hash).await?),
            DockerOp::Container(op) => converge::converge(docker, project, op).await,
            DockerOp::Remove(names) => {
                for name in names {
                    converge::remove(docker, name).await?;
                }
                Ok(())
            }
        }
    }
}

async fn create_network(
    docker: &bollard::Docker,
    project: &str,
    network: &DockerNetwork,
) -> Result<(), DockerSystemError> {
    let name = names::network(project, &network.name);
    docker
        .create_network(NetworkCreateRequest {
            name: name.clone(),
            driver: Some(network.driver.clone()),
            internal: Some(network.internal),
            labels: Some(HashMap::from([
                (names::PROJECT.to_string(), project.to_string()),
                (names::RESOURCE.to_string(), network.name.clone()),
            ])),
            ..Default::default()
        })
        .await
        .map(|_| ())
        .map_err(engine(format!("creating network {name}")))
}

impl System for DockerSystem {
    fn name(&self) -> &'static str {
        "docker"
    }

    fn concurrency(&self) -> usize {
        4
    }

    fn plan(&self, options: PlanOptions) -> BoxFuture<'_, Result<SystemPlan, BoxError>> {
        Box::pin(async move {
            let docker = self.client().await?;
            let observed = observed::observe(docker, &self.desired)
                .await
                .map_err(DockerSystemError::Observe)?;
            let mut context_hashes = BTreeMap::new();
            for container in &self.desired.containers {
                if let Some(build) = &container.build {
                    let hash = images::context_hash(build)
                        .map_err(|source| images::ImageError::Context {
                            context: build.context.display().to_string(),
                            source,
                        })
                        .map_err(DockerSystemError::from)?;
                    context_hashes.insert(container.image.clone(), hash);
                }
            }
            let planned = diff::plan(&self.desired, &observed, &context_hashes, options);
            let blockers = planned
                .errors
                .iter()
                .map(|error| Blocker {
                    addresses: error.addresses(),
                    message: error.to_string(),
                })
                .collect();
            let mut changes = planned.changes;
            let files = self.plan_files(docker, &changes).await?;
            changes.extend(files);
            Ok(SystemPlan {
                changes,
                warnings: planned.warnings,
                blockers,
            })
        })
    }

    fn apply<'a>(&'a self, change: &'a Change) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            let operation = change.operation.as_ref();
            if let Some(op) = operation.and_then(|op| op.downcast::<DockerOp>()) {
                self.apply_op(op).await?;
            } else if let Some(write) = operation.and_then(|op| op.downcast::<WriteFile>()) {
                self.write_file(&change.address, write).await?;
            } else {
                return Err(DockerSystemError::ForeignChange(change.address.to_string()).into());
            }
            Ok(())
        })
    }
}
