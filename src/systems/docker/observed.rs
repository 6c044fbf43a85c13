//! What the engine has for the project: containers, networks, volumes,
//! images. Read-only.
//!
//! Containers are found by geosync's labels, never by name: a container
//! renamed by hand, or left under its temporary name by an interrupted
//! replace, is still the resource's container.

use std::collections::{BTreeMap, HashMap};

use bollard::errors::Error as DockerError;
use bollard::models::{ContainerInspectResponse, ContainerStateStatusEnum};
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
};
use bollard::Docker;

use super::names;
use crate::systems::docker::manifest::Docker as DesiredDocker;

#[derive(Debug, Default, Clone)]
pub struct Observed {
    /// Containers labelled for the project, by resource name.
    pub containers: BTreeMap<String, ObservedContainer>,
    /// Containers geosync did not create that hold a desired name (or are
    /// the compose service of that name), by resource name.
    pub foreign: BTreeMap<String, ForeignContainer>,
    /// Networks and volumes that exist, by resource name: desired ones
    /// whatever their labels, and any other labelled for the project.
    pub networks: BTreeMap<String, ObservedObject>,
    pub volumes: BTreeMap<String, ObservedObject>,
    /// Image reference -> what is there.
    pub images: BTreeMap<String, Option<ObservedImage>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedContainer {
    /// Its name now: `<project>-<name>` unless renamed by hand or left by
    /// an interrupted replace.
    pub engine_name: String,
    pub state: RunState,
    pub config_hash: Option<String>,
    pub config: Option<serde_json::Value>,
    pub image_id: Option<String>,
    /// Its live environment: a secret's drift is found by comparing values
    /// here, in memory, so that no label has to hold a digest of one.
    pub env: BTreeMap<String, String>,
    /// Engine network name -> id of the network it is attached to: a
    /// network removed (or recreated) since no longer has that id.
    pub networks: BTreeMap<String, String>,
    /// Other containers labelled as the same resource: leftovers of an
    /// interrupted replace (`…-geosync-new`) or duplicates.
    pub strays: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Running,
    /// Created and never started: nothing ran yet.
    Created,
    /// Stopped, by itself or by hand, with its last exit code.
    Exited(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignContainer {
    pub engine_name: String,
    /// (project, service) when Docker Compose created it.
    pub compose: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedObject {
    pub labelled: bool,
    pub disposable: bool,
    /// The engine's id (networks): containers are attached to an id.
    pub id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedImage {
    pub id: String,
    pub context_hash: Option<String>,
}

fn label_filter(label: String) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![label])])
}

fn not_found<T>(result: Result<T, DockerError>) -> Result<Option<T>, DockerError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(DockerError::DockerResponseServerError { status_code: 404, .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

pub async fn observe(docker: &Docker, desired: &DesiredDocker) -> Result<Observed, DockerError> {
    let mut observed = Observed {
        containers: observe_containers(docker, &desired.project).await?,
        ..Observed::default()
    };
    observe_foreign(docker, desired, &mut observed).await?;
    observe_networks(docker, desired, &mut observed).await?;
    observe_volumes(docker, desired, &mut observed).await?;
    observe_images(docker, desired, &mut observed).await?;
    Ok(observed)
}

/// Every container labelled for the project, grouped by resource.
async fn observe_containers(
    docker: &Docker,
    project: &str,
) -> Result<BTreeMap<String, ObservedContainer>, DockerError> {
    let ours = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&label_filter(format!("{}={project}", names::PROJECT)))
                .build(),
        ))
        .await?;
    let mut by_resource: BTreeMap<String, Vec<ObservedContainer>> = BTreeMap::new();
    for summary in ours {
        let Some(id) = summary.id else { continue };
        // Removed between the listing and now: not there.
        let Some(inspect) = not_found(docker.inspect_container(&id, None).await)? else {
            continue;
        };
        if let Some((resource, container)) = from_inspect(inspect) {
            by_resource.entry(resource).or_default().push(container);
        }
    }
    Ok(by_resource
        .into_iter()
        .map(|(resource, found)| {
            let container = pick(project, &resource, found);
            (resource, container)
        })
        .collect())
}

fn from_inspect(inspect: ContainerInspectResponse) -> Option<(String, ObservedContainer)> {
    let config = inspect.config.unwrap_or_default();
    let labels = config.labels.unwrap_or_default();
    let resource = labels.get(names::RESOURCE)?.clone();
    let env = config
        .env
        .unwrap_or_default()
        .into_iter()
        .filter_map(|pair| pair.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    let engine_name = inspect.name?.trim_start_matches('/').to_string();
    let state = inspect.state.unwrap_or_default();
    let state = match state.status {
        Some(ContainerStateStatusEnum::RUNNING | ContainerStateStatusEnum::RESTARTING) => RunState::Running,
        Some(ContainerStateStatusEnum::CREATED) => RunState::Created,
        _ => RunState::Exited(state.exit_code.unwrap_or(0)),
    };
    let networks = inspect
        .network_settings
        .and_then(|n| n.networks)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, endpoint)| (name, endpoint.network_id.unwrap_or_default()))
        .collect();
    Some((
        resource,
        ObservedContainer {
            engine_name,
            state,
            config_hash: labels.get(names::CONFIG_HASH).cloned(),
            config: labels
                .get(names::CONFIG)
                .and_then(|c| serde_json::from_str(c).ok()),
            image_id: labels.get(names::IMAGE_ID).cloned(),
            env,
            networks,
            strays: Vec::new(),
        },
    ))
}

/// The resource's container among those labelled as it: the one with its
/// name, else one renamed by hand, else a replacement an interrupted apply
/// left under its temporary name. The others are strays.
fn pick(project: &str, resource: &str, mut found: Vec<ObservedContainer>) -> ObservedContainer {
    let canonical = names::container(project, resource);
    let leftover = names::replacement(project, resource);
    found.sort_by_key(|c| {
        let rank = if c.engine_name == canonical {
            0
        } else if c.engine_name != leftover {
            1
        } else {
            2
        };
        (rank, c.engine_name.clone())
    });
    let mut found = found.into_iter();
    let mut chosen = found.next().expect("a group is never empty");
    chosen.strays = found.map(|c| c.engine_name).collect();
    chosen
}

/// Containers geosync did not create that hold a desired name: its own
/// container may have been renamed meanwhile, so every name is checked.
async fn observe_foreign(
    docker: &Docker,
    desired: &DesiredDocker,
    observed: &mut Observed,
) -> Result<(), DockerError> {
    let project = &desired.project;
    for container in &desired.containers {
        let engine_name = names::container(project, &container.name);
        let ours = observed
            .containers
            .get(&container.name)
            .is_some_and(|c| c.engine_name == engine_name || c.strays.contains(&engine_name));
        if ours {
            continue;
        }
        if not_found(docker.inspect_container(&engine_name, None).await)?.is_some() {
            observed.foreign.insert(
                container.name.clone(),
                ForeignContainer {
                    engine_name,
                    compose: None,
                },
            );
        }
    }
    let compose = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&label_filter(format!("{}={project}", names::COMPOSE_PROJECT)))
                .build(),
        ))
        .await?;
    for summary in compose {
        let labels = summary.labels.unwrap_or_default();
        let Some(service) = labels.get(names::COMPOSE_SERVICE) else {
            continue;
        };
        if desired.containers.iter().any(|c| &c.name == service) && !observed.containers.contains_key(service)
        {
            let engine_name = summary
                .names
                .and_then(|n| n.first().cloned())
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string();
            observed.foreign.insert(
                service.clone(),
                ForeignContainer {
                    engine_name,
                    compose: Some((project.clone(), service.clone())),
                },
            );
        }
    }
    Ok(())
}

async fn observe_networks(
    docker: &Docker,
    desired: &DesiredDocker,
    observed: &mut Observed,
) -> Result<(), DockerError> {
    let project = &desired.project;
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&label_filter(format!("{}={project}", names::PROJECT)))
                .build(),
        ))
        .await?;
    for network in networks {
        if let Some(resource) = network.labels.as_ref().and_then(|l| l.get(names::RESOURCE)) {
            observed.networks.insert(
                resource.clone(),
                ObservedObject {
                    labelled: true,
                    disposable: true,
                    id: network.id.clone(),
                },
            );
        }
    }
    for network in &desired.networks {
        if observed.networks.contains_key(&network.name) {
            continue;
        }
        let engine_name = names::network(project, &network.name);
        if let Some(found) = not_found(docker.inspect_network(&engine_name, None).await)? {
            observed.networks.insert(
                network.name.clone(),
                ObservedObject {
                    labelled: false,
                    disposable: false,
                    id: found.id,
                },
            );
        }
    }
    Ok(())
}

async fn observe_volumes(
    docker: &Docker,
    desired: &DesiredDocker,
    observed: &mut Observed,
) -> Result<(), DockerError> {
    let project = &desired.project;
    let volumes = docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::default()
                .filters(&label_filter(format!("{}={project}", names::PROJECT)))
                .build(),
        ))
        .await?;
    for volume in volumes.volumes.unwrap_or_default() {
        if let Some(resource) = volume.labels.get(names::RESOURCE) {
            observed.volumes.insert(
                resource.clone(),
                ObservedObject {
                    labelled: true,
                    disposable: volume.labels.get(names::DISPOSABLE).is_some_and(|d| d == "true"),
                    id: None,
                },
            );
        }
    }
    for volume in &desired.volumes {
        if observed.volumes.contains_key(&volume.name) {
            continue;
        }
        let engine_name = names::volume(project, &volume.name);
        if not_found(docker.inspect_volume(&engine_name).await)?.is_some() {
            observed.volumes.insert(
                volume.name.clone(),
                ObservedObject {
                    labelled: false,
                    disposable: false,
                    id: None,
                },
            );
        }
    }
    Ok(())
}

async fn observe_images(
    docker: &Docker,
    desired: &DesiredDocker,
    observed: &mut Observed,
) -> Result<(), DockerError> {
    for container in &desired.containers {
        if observed.images.contains_key(&container.image) {
            continue;
        }
        let image = not_found(docker.inspect_image(&container.image).await)?.and_then(|inspect| {
            inspect.id.map(|id| ObservedImage {
                id,
                context_hash: inspect
                    .config
                    .and_then(|c| c.labels)
                    .and_then(|l| l.get(names::CONTEXT_HASH).cloned()),
            })
        });
        observed.images.insert(container.image.clone(), image);
    }
    Ok(())
}
