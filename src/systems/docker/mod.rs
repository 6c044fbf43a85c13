//! Docker Engine: networks, volumes, images and containers of the project,
//! through the Engine API (bollard), never the docker CLI.

mod diff;
mod health;
mod images;
pub mod manifest;
mod names;
mod observed;
mod spec;

use std::collections::{BTreeMap, HashMap};

use bollard::errors::Error as DockerError;
use bollard::models::{NetworkConnectRequest, NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, RenameContainerOptions,
    StopContainerOptionsBuilder,
};
use futures::future::BoxFuture;
use tokio::sync::OnceCell;

use crate::manifest::ManifestErrors;
use crate::placement::{connect_docker, ContainerFile, ContainerFileError};
use crate::plan::{Action, Address, Change, PlanOptions};
use crate::systems::docker::manifest::{Docker as DesiredDocker, DockerFile, OnChange};
use crate::systems::docker::manifest::{CONTAINER_KIND, FILE_KIND, NETWORK_KIND, VOLUME_KIND};
use crate::systems::files::diff::{DesiredFile, ObservedFile, WriteFile};
use crate::systems::files::render;
use crate::systems::Manifest;
use crate::systems::{BoxError, System, SystemPlan};
use diff::{DockerOp, RunContainer};

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
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Plan(Vec<diff::DockerPlanError>),
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

    fn container_file(&self, docker: &bollard::Docker, entry: &DockerFile) -> ContainerFile {
        let engine_name = names::container(&self.desired.project, &entry.container);
        ContainerFile::new(
            docker.clone(),
            &engine_name,
            &entry.file.path.display().to_string(),
        )
    }

    /// Files whose container is created or replaced in this run are written
    /// after it: what was in the old one is gone with it.
    async fn plan_files(
        &self,
        docker: &bollard::Docker,
        changes: &[Change],
    ) -> Result<Vec<Change>, DockerSystemError> {
        let mut planned = Vec::new();
        for (entry, desired) in &self.files {
            let container = Address::new(CONTAINER_KIND, &entry.container);
            let container_change = changes.iter().find(|c| c.address == container).map(|c| c.action);
            let fresh = matches!(container_change, None | Some(Action::Create | Action::Replace));
            let observed = if fresh {
                None
            } else {
                self.container_file(docker, entry).read().await?.map(|content| {
                    let text = String::from_utf8_lossy(&content.bytes).into_owned();
                    ObservedFile {
                        display: self.redact_known(&text),
                        content: text,
                        mode: content.mode,
                    }
                })
            };
            let mut change = crate::systems::files::diff::diff(desired, observed.as_ref());
            change.depends_on.push(container);
            planned.push(change);
        }
        Ok(planned)
    }

    fn redact_known(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (entry, _) in &self.files {
            for secret in entry.file.secrets.values() {
                if crate::manifest::secret::worth_scrubbing(secret.expose()) {
                    out = out.replace(secret.expose(), crate::manifest::secret::SENSITIVE);
                }
            }
        }
        out
    }

    async fn write_file(&self, address: &Address, write: &WriteFile) -> Result<(), DockerSystemError> {
        let docker = self.client().await?;
        let (entry, _) = self
            .files
            .iter()
            .find(|(_, desired)| &desired.change_address == address)
            .ok_or_else(|| DockerSystemError::ForeignChange(address.to_string()))?;
        let file = self.container_file(docker, entry);
        let existing = file.read().await?;
        let mode = write.mode.or(existing.as_ref().map(|e| e.mode)).unwrap_or(0o644);
        let (uid, gid) = entry
            .owner
            .or(existing.as_ref().map(|e| (e.uid, e.gid)))
            .unwrap_or((0, 0));
        file.write(write.content.as_bytes(), mode, uid, gid).await?;
        match &entry.on_change {
            None => Ok(()),
            Some(OnChange::Exec(command)) => Ok(file.run(command).await?),
            Some(OnChange::Restart) => {
                let engine_name = names::container(&self.desired.project, &entry.container);
                docker
                    .restart_container(&engine_name, None)
                    .await
                    .map_err(engine(format!("restarting {engine_name}")))
            }
        }
    }

    async fn client(&self) -> Result<&bollard::Docker, DockerSystemError> {
        self.client
            .get_or_try_init(|| async { Ok(connect_docker(self.desired.host.as_deref()).await?) })
            .await
    }

    async fn run_container(
        &self,
        docker: &bollard::Docker,
        run: &RunContainer,
    ) -> Result<(), DockerSystemError> {
        for wait in &run.wait_for {
            health::wait(docker, wait).await?;
        }
        let image_id = docker
            .inspect_image(&run.container.image)
            .await
            .map_err(engine(format!("image {}", run.container.image)))?
            .id
            .unwrap_or_default();
        let project = &self.desired.project;
        let body = spec::create_body(run, project, &image_id);
        let create_as = match &run.replaces {
            Some(_) => names::replacement(project, &run.container.name),
            None => run.engine_name.clone(),
        };
        // A replacement left by an interrupted run is not needed any more.
        already(
            docker
                .remove_container(
                    &create_as,
                    Some(RemoveContainerOptionsBuilder::default().force(true).build()),
                )
                .await,
            &[404],
        )
        .map_err(engine(format!("removing the leftover {create_as}")))?;
        docker
            .create_container(
                Some(CreateContainerOptionsBuilder::default().name(&create_as).build()),
                body,
            )
            .await
            .map_err(engine(format!("creating {create_as}")))?;
        for (network, endpoint) in spec::other_networks(run, project) {
            docker
                .connect_network(
                    &network,
                    NetworkConnectRequest {
                        container: create_as.clone(),
                        endpoint_config: Some(endpoint),
                    },
                )
                .await
                .map_err(engine(format!("connecting {create_as} to {network}")))?;
        }
        if let Some(old) = &run.replaces {
            // The old container ran until the new one existed.
            already(
                docker
                    .stop_container(old, Some(StopContainerOptionsBuilder::default().t(10).build()))
                    .await,
                &[304, 404],
            )
            .map_err(engine(format!("stopping {old}")))?;
            already(
                docker
                    .remove_container(
                        old,
                        Some(RemoveContainerOptionsBuilder::default().force(true).build()),
                    )
                    .await,
                &[404],
            )
            .map_err(engine(format!("removing {old}")))?;
            docker
                .rename_container(
                    &create_as,
                    RenameContainerOptions {
                        name: run.engine_name.clone(),
                    },
                )
                .await
                .map_err(engine(format!("renaming {create_as} to {}", run.engine_name)))?;
        }
        already(docker.start_container(&run.engine_name, None).await, &[304])
            .map_err(engine(format!("starting {}", run.engine_name)))
    }

    async fn apply_op(&self, op: &DockerOp) -> Result<(), DockerSystemError> {
        let docker = self.client().await?;
        let project = &self.desired.project;
        match op {
            DockerOp::CreateNetwork(network) => {
                let name = names::network(project, &network.name);
                docker
                    .create_network(NetworkCreateRequest {
                        name: name.clone(),
                        driver: Some(network.driver.clone()),
                        internal: Some(network.internal),
                        labels: Some(HashMap::from([
                            (names::PROJECT.to_string(), project.clone()),
                            (names::RESOURCE.to_string(), network.name.clone()),
                        ])),
                        ..Default::default()
                    })
                    .await
                    .map(|_| ())
                    .map_err(engine(format!("creating network {name}")))
            }
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
            DockerOp::Run(run) => self.run_container(docker, run).await,
            DockerOp::Start {
                engine_name,
                wait_for,
            } => {
                for wait in wait_for {
                    health::wait(docker, wait).await?;
                }
                already(docker.start_container(engine_name, None).await, &[304])
                    .map_err(engine(format!("starting {engine_name}")))
            }
            DockerOp::Remove(name) => {
                already(
                    docker
                        .stop_container(name, Some(StopContainerOptionsBuilder::default().t(10).build()))
                        .await,
                    &[304, 404],
                )
                .map_err(engine(format!("stopping {name}")))?;
                already(
                    docker
                        .remove_container(
                            name,
                            Some(RemoveContainerOptionsBuilder::default().force(true).build()),
                        )
                        .await,
                    &[404],
                )
                .map_err(engine(format!("removing {name}")))
            }
        }
    }
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
                    let hash = images::context_hash(&build.context)
                        .map_err(|source| images::ImageError::Context {
                            context: build.context.display().to_string(),
                            source,
                        })
                        .map_err(DockerSystemError::from)?;
                    context_hashes.insert(container.image.clone(), hash);
                }
            }
            let planned = diff::plan(&self.desired, &observed, &context_hashes, options);
            if !planned.errors.is_empty() {
                return Err(DockerSystemError::Plan(planned.errors).into());
            }
            let mut changes = planned.changes;
            let files = self.plan_files(docker, &changes).await?;
            changes.extend(files);
            Ok(SystemPlan {
                changes,
                warnings: planned.warnings,
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
