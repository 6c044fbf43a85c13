//! `[docker]`: the TOML (raw), its lowering and checks (lower), the
//! validated project the system plans from (here).

mod lower;
pub mod raw;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::manifest::document::Document;
use crate::manifest::lower::Lowerer;
use crate::manifest::model::ManagedFile;
use crate::manifest::secret::{Secret, SecretResolver};
use crate::manifest::source::Location;
use crate::manifest::vars::Vars;
use crate::manifest::ManifestError;

pub use crate::placement::CONTAINER_KIND;
pub const NETWORK_KIND: &str = "docker.network";
pub const VOLUME_KIND: &str = "docker.volume";
pub const FILE_KIND: &str = "docker.file";

/// `[docker]`, validated.
#[derive(Debug, Clone)]
pub struct Docker {
    pub host: Option<String>,
    pub project: String,
    pub networks: Vec<DockerNetwork>,
    pub volumes: Vec<DockerVolume>,
    pub containers: Vec<DockerContainer>,
    pub files: Vec<DockerFile>,
}

/// A rendered file inside a container; `file.path` is the path in there.
#[derive(Debug, Clone)]
pub struct DockerFile {
    pub file: ManagedFile,
    /// The container written through (for a volume: one that mounts it).
    pub container: String,
    /// The volume, when the file was declared in one.
    pub volume: Option<String>,
    pub owner: Option<(u64, u64)>,
    pub on_change: Option<OnChange>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnChange {
    Restart,
    Exec(Vec<String>),
}

#[derive(Debug, Clone, Serialize)]
pub struct DockerNetwork {
    pub name: String,
    pub driver: String,
    pub internal: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DockerVolume {
    pub name: String,
    pub driver: String,
    pub disposable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PullPolicy {
    Missing,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Condition {
    Started,
    Healthy,
    Completed,
}

/// An env value; a secret serializes as `(sensitive)`, so the container's
/// recorded config never holds it.
#[derive(Debug, Clone)]
pub enum EnvValue {
    Plain(String),
    Secret(Secret),
}

impl EnvValue {
    pub fn expose(&self) -> &str {
        match self {
            EnvValue::Plain(value) => value,
            EnvValue::Secret(secret) => secret.expose(),
        }
    }
}

impl Serialize for EnvValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            EnvValue::Plain(value) => s.serialize_str(value),
            EnvValue::Secret(_) => s.serialize_str(crate::manifest::secret::SENSITIVE),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortBinding {
    pub host_ip: String,
    pub host_port: Option<u16>,
    pub container_port: u16,
    pub protocol: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MountSource {
    /// A volume of the project (its engine name is `<project>_<name>`).
    Volume(String),
    Bind(PathBuf),
    /// A volume the engine creates for this container alone (compose's
    /// `- /data`); kept across a replacement, as compose keeps it.
    Anonymous,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    pub source: MountSource,
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Healthcheck {
    pub test: Vec<String>,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub start_period_ms: u64,
    pub retries: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Build {
    pub context: PathBuf,
    pub dockerfile: String,
    pub target: Option<String>,
    pub args: BTreeMap<String, String>,
}

/// One container. Its serde form (secrets redacted) is the configuration
/// geosync records on the container and compares on the next run.
#[derive(Debug, Clone, Serialize)]
pub struct DockerContainer {
    pub name: String,
    #[serde(skip)]
    pub at: Location,
    pub image: String,
    /// How the image is had, not what runs: outside the recorded config.
    #[serde(skip)]
    pub pull: PullPolicy,
    #[serde(skip)]
    pub build: Option<Build>,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub env: BTreeMap<String, EnvValue>,
    pub ports: Vec<PortBinding>,
    pub mounts: Vec<Mount>,
    /// network -> aliases
    pub networks: BTreeMap<String, Vec<String>>,
    pub labels: BTreeMap<String, String>,
    pub restart: String,
    pub healthcheck: Option<Healthcheck>,
    pub depends_on: BTreeMap<String, Condition>,
    pub memory: Option<i64>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    #[serde(skip)]
    pub wait_timeout_ms: u64,
    /// A one-shot job (`job = true`): done once it exited 0. How geosync
    /// treats it, not how it runs: outside the recorded config, so setting
    /// it recreates nothing.
    #[serde(skip)]
    pub job: bool,
}

impl Docker {
    /// The first container that mounts a volume read-write, and where:
    /// geosync writes into a volume through it.
    pub fn container_mounting(&self, volume: &str) -> Option<(String, String)> {
        container_mounting(&self.containers, volume)
    }
}

fn container_mounting(containers: &[DockerContainer], volume: &str) -> Option<(String, String)> {
    containers.iter().find_map(|c| {
        c.mounts.iter().find_map(|m| match &m.source {
            MountSource::Volume(v) if v == volume && !m.read_only => Some((c.name.clone(), m.target.clone())),
            _ => None,
        })
    })
}

/// Lowers `[docker]` of every file and checks the names between them.
pub fn lower(
    documents: &[Document],
    vars: &Vars,
    resolver: &SecretResolver,
    errors: &mut Vec<ManifestError>,
) -> Option<Docker> {
    let mut parts = Vec::new();
    for doc in documents {
        let Some(section) = doc.section::<raw::RawDocker>("docker", errors) else {
            continue;
        };
        let mut lower = Lowerer::new(&doc.source, vars, errors);
        parts.push(lower.docker(&section, resolver));
    }
    lower::merge(parts, errors)
}
