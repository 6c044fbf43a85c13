//! `[docker]` as written in the TOML.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::manifest::raw::{RawFile, Text};

/// `[docker]`: the engine and the project's networks, volumes, containers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDocker {
    /// Engine address; default: DOCKER_HOST, else the local socket.
    pub host: Option<Text>,
    /// Names every object geosync creates (`<project>-<name>`) and its labels.
    pub project: Option<Text>,
    #[serde(default)]
    pub network: Vec<Spanned<RawDockerNetwork>>,
    #[serde(default)]
    pub volume: Vec<Spanned<RawDockerVolume>>,
    #[serde(default)]
    pub container: Vec<Spanned<RawDockerContainer>>,
    #[serde(default)]
    pub file: Vec<RawDockerFile>,
}

/// A file placed inside a container of the project.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDockerFile {
    pub name: Text,
    /// A `[[docker.container]]` of the project, or
    pub container: Option<Text>,
    /// a `[[docker.volume]]`, written through a container that mounts it.
    pub volume: Option<Text>,
    /// Absolute in a container; relative to the volume's root in a volume.
    pub path: Text,
    pub template: Option<Text>,
    pub content: Option<Text>,
    pub mode: Option<Text>,
    /// "uid:gid" of the file; default: the existing file's, else 0:0.
    pub owner: Option<Text>,
    #[serde(default)]
    pub context: BTreeMap<String, Text>,
    #[serde(default)]
    pub secrets: BTreeMap<String, Spanned<crate::manifest::secret::SecretRef>>,
    /// What to do once the file changed: `{ restart = true }` or `{ exec = [...] }`.
    pub on_change: Option<RawOnChange>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOnChange {
    #[serde(default)]
    pub restart: bool,
    pub exec: Option<Vec<Text>>,
}

impl RawDockerFile {
    /// The parts it shares with a host `[[file]]`.
    pub fn as_file(&self) -> RawFile {
        RawFile {
            name: self.name.clone(),
            path: self.path.clone(),
            template: self.template.clone(),
            content: self.content.clone(),
            mode: self.mode.clone(),
            context: self.context.clone(),
            secrets: self.secrets.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDockerNetwork {
    pub name: Text,
    pub driver: Option<Text>,
    #[serde(default)]
    pub internal: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDockerVolume {
    pub name: Text,
    pub driver: Option<Text>,
    /// May be removed (with --prune --allow-drop) when it leaves the manifest.
    #[serde(default)]
    pub disposable: bool,
}

/// A value of `env`: text, or a secret reference.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawEnvValue {
    // Spans do not survive untagged enums: the outer span locates the value.
    Text(String),
    Number(i64),
    Bool(bool),
    Secret(crate::manifest::secret::SecretRef),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawNetworks {
    Names(Vec<String>),
    WithAliases(BTreeMap<String, RawNetworkAttachment>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetworkAttachment {
    #[serde(default)]
    pub aliases: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealthcheck {
    pub test: Vec<Text>,
    pub interval: Option<Text>,
    pub timeout: Option<Text>,
    pub start_period: Option<Text>,
    pub retries: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBuild {
    pub context: Text,
    pub dockerfile: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDockerContainer {
    pub name: Text,
    pub image: Text,
    /// missing (default), always or never.
    pub pull: Option<Text>,
    pub build: Option<RawBuild>,
    pub command: Option<Vec<Text>>,
    pub entrypoint: Option<Vec<Text>>,
    #[serde(default)]
    pub env: BTreeMap<String, Spanned<RawEnvValue>>,
    #[serde(default)]
    pub env_file: Vec<Text>,
    #[serde(default)]
    pub ports: Vec<Text>,
    #[serde(default)]
    pub volumes: Vec<Text>,
    pub networks: Option<Spanned<RawNetworks>>,
    #[serde(default)]
    pub labels: BTreeMap<String, Text>,
    pub restart: Option<Text>,
    pub healthcheck: Option<Spanned<RawHealthcheck>>,
    /// container name -> started, healthy or completed
    #[serde(default)]
    pub depends_on: BTreeMap<String, Text>,
    pub memory: Option<Text>,
    pub user: Option<Text>,
    pub working_dir: Option<Text>,
    /// How long dependents wait for this container's condition (default:
    /// what its healthcheck allows, or 60s).
    pub wait_timeout: Option<Text>,
}
