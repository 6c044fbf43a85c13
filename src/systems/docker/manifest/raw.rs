//! `[docker]` as written in the TOML.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::manifest::raw::{RawFile, Text};

/// `[docker]`: the engine and the project's networks, volumes, containers.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDocker {
    /// Engine address; default: DOCKER_HOST, else the local socket.
    #[schemars(with = "Option<String>")]
    pub host: Option<Text>,
    /// Names every object geosync creates (`<project>-<name>`) and its labels.
    #[schemars(with = "Option<String>")]
    pub project: Option<Text>,
    #[serde(default)]
    #[schemars(with = "Vec<RawDockerNetwork>")]
    pub network: Vec<Spanned<RawDockerNetwork>>,
    #[serde(default)]
    #[schemars(with = "Vec<RawDockerVolume>")]
    pub volume: Vec<Spanned<RawDockerVolume>>,
    #[serde(default)]
    #[schemars(with = "Vec<RawDockerContainer>")]
    pub container: Vec<Spanned<RawDockerContainer>>,
    #[serde(default)]
    pub file: Vec<RawDockerFile>,
}

/// A file placed inside a container of the project.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDockerFile {
    #[schemars(with = "String")]
    pub name: Text,
    /// A `[[docker.container]]` of the project, or
    #[schemars(with = "Option<String>")]
    pub container: Option<Text>,
    /// a `[[docker.volume]]`, written through a container that mounts it.
    #[schemars(with = "Option<String>")]
    pub volume: Option<Text>,
    /// Absolute in a container; relative to the volume's root in a volume.
    #[schemars(with = "String")]
    pub path: Text,
    #[schemars(with = "Option<String>")]
    pub template: Option<Text>,
    #[schemars(with = "Option<String>")]
    pub content: Option<Text>,
    #[schemars(with = "Option<String>")]
    pub mode: Option<Text>,
    /// "uid:gid" of the file; default: the existing file's, else 0:0.
    #[schemars(with = "Option<String>")]
    pub owner: Option<Text>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub context: BTreeMap<String, Text>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, crate::manifest::secret::SecretRef>")]
    pub secrets: BTreeMap<String, Spanned<crate::manifest::secret::SecretRef>>,
    /// What to do once the file changed: `{ restart = true }` or `{ exec = [...] }`.
    pub on_change: Option<RawOnChange>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOnChange {
    #[serde(default)]
    pub restart: bool,
    #[schemars(with = "Option<Vec<String>>")]
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

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDockerNetwork {
    #[schemars(with = "String")]
    pub name: Text,
    #[schemars(with = "Option<String>")]
    pub driver: Option<Text>,
    #[serde(default)]
    pub internal: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDockerVolume {
    #[schemars(with = "String")]
    pub name: Text,
    #[schemars(with = "Option<String>")]
    pub driver: Option<Text>,
    /// May be removed (with --prune --allow-drop) when it leaves the manifest.
    #[serde(default)]
    pub disposable: bool,
}

/// A value of `env`: text, or a secret reference.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawEnvValue {
    // Spans do not survive untagged enums: the outer span locates the value.
    Text(String),
    Number(i64),
    Bool(bool),
    Secret(crate::manifest::secret::SecretRef),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawNetworks {
    Names(Vec<String>),
    WithAliases(BTreeMap<String, RawNetworkAttachment>),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNetworkAttachment {
    #[serde(default)]
    pub aliases: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHealthcheck {
    #[schemars(with = "Vec<String>")]
    pub test: Vec<Text>,
    #[schemars(with = "Option<String>")]
    pub interval: Option<Text>,
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Text>,
    #[schemars(with = "Option<String>")]
    pub start_period: Option<Text>,
    pub retries: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBuild {
    #[schemars(with = "String")]
    pub context: Text,
    #[schemars(with = "Option<String>")]
    pub dockerfile: Option<Text>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDockerContainer {
    #[schemars(with = "String")]
    pub name: Text,
    #[schemars(with = "String")]
    pub image: Text,
    /// missing (default), always or never.
    #[schemars(with = "Option<String>")]
    pub pull: Option<Text>,
    pub build: Option<RawBuild>,
    #[schemars(with = "Option<Vec<String>>")]
    pub command: Option<Vec<Text>>,
    #[schemars(with = "Option<Vec<String>>")]
    pub entrypoint: Option<Vec<Text>>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawEnvValue>")]
    pub env: BTreeMap<String, Spanned<RawEnvValue>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub env_file: Vec<Text>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub ports: Vec<Text>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub volumes: Vec<Text>,
    #[schemars(with = "Option<RawNetworks>")]
    pub networks: Option<Spanned<RawNetworks>>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub labels: BTreeMap<String, Text>,
    #[schemars(with = "Option<String>")]
    pub restart: Option<Text>,
    #[schemars(with = "Option<RawHealthcheck>")]
    pub healthcheck: Option<Spanned<RawHealthcheck>>,
    /// container name -> started, healthy or completed
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub depends_on: BTreeMap<String, Text>,
    #[schemars(with = "Option<String>")]
    pub memory: Option<Text>,
    #[schemars(with = "Option<String>")]
    pub user: Option<Text>,
    #[schemars(with = "Option<String>")]
    pub working_dir: Option<Text>,
    /// How long dependents wait for this container's condition (default:
    /// what its healthcheck allows, or 60s).
    #[schemars(with = "Option<String>")]
    pub wait_timeout: Option<Text>,
}
