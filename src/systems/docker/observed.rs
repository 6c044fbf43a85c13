//! What the engine has for the project: containers, networks, volumes,
//! images. Read-only.

use std::collections::{BTreeMap, HashMap};

use bollard::errors::Error as DockerError;
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
    pub engine_name: String,
    pub running: bool,
    pub exit_code: i64,
    pub config_hash: Option<String>,
    pub config: Option<serde_json::Value>,
    pub image_id: Option<String>,
    /// Its live environment: a secret's drift is found by comparing values
    /// here, in memory, so that no label has to hold a digest of one.
    pub env: BTreeMap<String, String>,
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedImage {
    pub id: String,
    pub context_hash: Option<String>,
}

pub async fn observe(docker: &Docker, desired: &DesiredDocker) -> Result<Observed, DockerError> {
    let project = &desired.project;
    let mut observed = Observed::default();
    let label_filter = |label: String| HashMap::from([("label".to_string(), vec![label])]);

    let ours = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&label_filter(format!("{}={project}", names::PROJECT)))
                .build(),
        ))
        .await?;
    for summary in ours {
        let labels = summary.labels.unwrap_or_default();
        let (Some(resource), Some(name)) = (
            labels.get(names::RESOURCE),
            summary.names.and_then(|n| n.first().cloned()),
        ) else {
            continue;
        };
        let engine_name = name.trim_start_matches('/').to_string();
        // A replacement left by an interrupted apply is not the container.
        if engine_name != names::container(project, resource) {
            continue;
        }
        let state = summary.state.map(|s| s.to_string()).unwrap_or_default();
        let (exit_code, env) = match docker.inspect_container(&engine_name, None).await {
            Ok(inspect) => (
                inspect.state.and_then(|s| s.exit_code).unwrap_or(0),
                inspect
                    .config
                    .and_then(|c| c.env)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|pair| pair.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
                    .collect(),
            ),
            Err(_) => (0, BTreeMap::new()),
        };
        observed.containers.insert(
            resource.clone(),
            ObservedContainer {
                engine_name,
                running: state == "running" || state == "restarting",
                exit_code,
                config_hash: labels.get(names::CONFIG_HASH).cloned(),
                config: labels
                    .get(names::CONFIG)
                    .and_then(|c| serde_json::from_str(c).ok()),
                image_id: labels.get(names::IMAGE_ID).cloned(),
                env,
            },
        );
    }

    for container in &desired.containers {
        if observed.containers.contains_key(&container.name) {
            continue;
        }
        let engine_name = names::container(project, &container.name);
        match docker.inspect_container(&engine_name, None).await {
            Ok(_) => {
                observed.foreign.insert(
                    container.name.clone(),
                    ForeignContainer {
                        engine_name,
                        compose: None,
                    },
                );
            }
            Err(DockerError::DockerResponseServerError { status_code: 404, .. }) => {}
            Err(e) => return Err(e),
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
                },
            );
        }
    }
    for network in &desired.networks {
        if observed.networks.contains_key(&network.name) {
            continue;
        }
        match docker
            .inspect_network(&names::network(project, &network.name), None)
            .await
        {
            Ok(_) => {
                observed.networks.insert(
                    network.name.clone(),
                    ObservedObject {
                        labelled: false,
                        disposable: false,
                    },
                );
            }
            Err(DockerError::DockerResponseServerError { status_code: 404, .. }) => {}
            Err(e) => return Err(e),
        }
    }

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
                },
            );
        }
    }
    for volume in &desired.volumes {
        if observed.volumes.contains_key(&volume.name) {
            continue;
        }
        match docker.inspect_volume(&names::volume(project, &volume.name)).await {
            Ok(_) => {
                observed.volumes.insert(
                    volume.name.clone(),
                    ObservedObject {
                        labelled: false,
                        disposable: false,
                    },
                );
            }
            Err(DockerError::DockerResponseServerError { status_code: 404, .. }) => {}
            Err(e) => return Err(e),
        }
    }

    for container in &desired.containers {
        if observed.images.contains_key(&container.image) {
            continue;
        }
        let image = match docker.inspect_image(&container.image).await {
            Ok(inspect) => inspect.id.map(|id| ObservedImage {
                id,
                context_hash: inspect
                    .config
                    .and_then(|c| c.labels)
                    .and_then(|l| l.get(names::CONTEXT_HASH).cloned()),
            }),
            Err(DockerError::DockerResponseServerError { status_code: 404, .. }) => None,
            Err(e) => return Err(e),
        };
        observed.images.insert(container.image.clone(), image);
    }
    Ok(observed)
}
