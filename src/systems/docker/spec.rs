//! The Engine API body that creates a container from its manifest entry.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, Mount, MountType, NetworkingConfig,
    PortBinding, RestartPolicy, RestartPolicyNameEnum,
};

use super::diff::RunContainer;
use super::names;
use crate::systems::docker::manifest::{DockerContainer, MountSource};

/// `inherited`: the anonymous volumes of the container this one replaces,
/// by mount path (see `anonymous.rs`).
pub fn create_body(
    run: &RunContainer,
    project: &str,
    image_id: &str,
    inherited: &BTreeMap<String, String>,
) -> ContainerCreateBody {
    let container = &run.container;
    let mut labels: HashMap<String, String> = container.labels.clone().into_iter().collect();
    labels.insert(names::PROJECT.into(), project.into());
    labels.insert(names::RESOURCE.into(), container.name.clone());
    labels.insert(names::CONFIG_HASH.into(), run.config_hash.clone());
    labels.insert(names::CONFIG.into(), run.config_json.clone());
    labels.insert(names::IMAGE_ID.into(), image_id.into());

    let mut port_bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for port in &container.ports {
        port_bindings
            .entry(format!("{}/{}", port.container_port, port.protocol))
            .or_default()
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: (!port.host_ip.is_empty()).then(|| port.host_ip.clone()),
                host_port: port.host_port.map(|p| p.to_string()),
            });
    }
    let (mounts, binds) = mounts_and_binds(container, project, inherited);
    let (policy, retries) = match container.restart.split_once(':') {
        Some((name, count)) => (name, count.parse().ok()),
        None => (container.restart.as_str(), None),
    };
    let restart_policy = RestartPolicy {
        name: Some(match policy {
            "always" => RestartPolicyNameEnum::ALWAYS,
            "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
            "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
            _ => RestartPolicyNameEnum::NO,
        }),
        maximum_retry_count: retries,
    };
    // Older engines take one network at creation; the others are connected
    // before the container starts.
    let networking_config = first_network(run, project).map(|(name, endpoint)| NetworkingConfig {
        endpoints_config: Some(HashMap::from([(name, endpoint)])),
    });
    ContainerCreateBody {
        image: Some(container.image.clone()),
        cmd: container.command.clone(),
        entrypoint: container.entrypoint.clone(),
        env: Some(
            container
                .env
                .iter()
                .map(|(k, v)| format!("{k}={}", v.expose()))
                .collect(),
        ),
        exposed_ports: (!port_bindings.is_empty()).then(|| port_bindings.keys().cloned().collect()),
        labels: Some(labels),
        user: container.user.clone(),
        working_dir: container.working_dir.clone(),
        healthcheck: container.healthcheck.as_ref().map(|h| HealthConfig {
            test: Some(h.test.clone()),
            interval: Some(nanos(h.interval_ms)),
            timeout: Some(nanos(h.timeout_ms)),
            start_period: Some(nanos(h.start_period_ms)),
            retries: Some(i64::from(h.retries)),
            ..Default::default()
        }),
        host_config: Some(HostConfig {
            port_bindings: Some(port_bindings),
            mounts: Some(mounts),
            binds: (!binds.is_empty()).then_some(binds),
            restart_policy: Some(restart_policy),
            memory: container.memory,
            ..Default::default()
        }),
        networking_config,
        ..Default::default()
    }
}

/// Networks beyond the first, to connect before starting.
pub fn other_networks(run: &RunContainer, project: &str) -> Vec<(String, EndpointSettings)> {
    endpoints(run, project).into_iter().skip(1).collect()
}

fn first_network(run: &RunContainer, project: &str) -> Option<(String, EndpointSettings)> {
    endpoints(run, project).into_iter().next()
}

fn endpoints(run: &RunContainer, project: &str) -> Vec<(String, EndpointSettings)> {
    run.container
        .networks
        .iter()
        .map(|(network, aliases)| {
            let mut all_aliases = vec![run.container.name.clone()];
            all_aliases.extend(aliases.iter().cloned());
            (
                names::network(project, network),
                EndpointSettings {
                    aliases: Some(all_aliases),
                    ..Default::default()
                },
            )
        })
        .collect()
}

fn nanos(ms: u64) -> i64 {
    i64::try_from(ms.saturating_mul(1_000_000)).unwrap_or(i64::MAX)
}

/// Volumes as mounts; binds as `SOURCE:TARGET[:ro]` binds, as compose
/// writes them, so that the engine creates a missing source folder as it
/// does for compose (a bind mount would be refused). `inherited`: the
/// replaced container's anonymous volumes to keep, by path.
fn mounts_and_binds(
    container: &DockerContainer,
    project: &str,
    inherited: &BTreeMap<String, String>,
) -> (Vec<Mount>, Vec<String>) {
    let mut mounts = Vec::new();
    let mut binds = Vec::new();
    for mount in &container.mounts {
        let (typ, source) = match &mount.source {
            MountSource::Bind(path) => {
                let source = path.display().to_string();
                if !source.contains(':') && !mount.target.contains(':') {
                    let mode = if mount.read_only { ":ro" } else { "" };
                    binds.push(format!("{source}:{}{mode}", mount.target));
                    continue;
                }
                (MountType::BIND, Some(source))
            }
            MountSource::Volume(volume) => (MountType::VOLUME, Some(names::volume(project, volume))),
            // None: the engine creates a new one.
            MountSource::Anonymous => (MountType::VOLUME, inherited.get(&mount.target).cloned()),
        };
        mounts.push(Mount {
            target: Some(mount.target.clone()),
            source,
            typ: Some(typ),
            read_only: Some(mount.read_only),
            ..Default::default()
        });
    }
    // The image's VOLUME paths the manifest does not mount keep theirs too.
    for (target, volume) in inherited {
        if !container.mounts.iter().any(|m| &m.target == target) {
            mounts.push(Mount {
                target: Some(target.clone()),
                source: Some(volume.clone()),
                typ: Some(MountType::VOLUME),
                ..Default::default()
            });
        }
    }
    (mounts, binds)
}
