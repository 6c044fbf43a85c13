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
    /// Networks of the project (`<project>_<name>`).
    #[serde(default)]
    #[schemars(with = "Vec<RawDockerNetwork>")]
    pub network: Vec<Spanned<RawDockerNetwork>>,
    /// Volumes of the project (`<project>_<name>`).
    #[serde(default)]
    #[schemars(with = "Vec<RawDockerVolume>")]
    pub volume: Vec<Spanned<RawDockerVolume>>,
    /// Containers of the project (`<project>-<name>`).
    #[serde(default)]
    #[schemars(with = "Vec<RawDockerContainer>")]
    pub container: Vec<Spanned<RawDockerContainer>>,
    /// Rendered files inside a container or a volume of the project.
    #[serde(default)]
    pub file: Vec<RawDockerFile>,
}

/// A file placed inside a container of the project.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDockerFile {
    /// The resource name: `docker.file:<name>`.
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
    /// A minijinja template reading `vars.*`, `context.*` and `secrets.*`; or give `content`.
    #[schemars(with = "Option<String>")]
    pub template: Option<Text>,
    /// The file's content, taken as is; or give `template`.
    #[schemars(with = "Option<String>")]
    pub content: Option<Text>,
    /// Octal, as chmod takes it: "0640".
    #[schemars(with = "Option<String>")]
    pub mode: Option<Text>,
    /// "uid:gid" of the file; default: the existing file's, else 0:0.
    #[schemars(with = "Option<String>")]
    pub owner: Option<Text>,
    /// Values the template reads as `{{ context.NAME }}`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub context: BTreeMap<String, Text>,
    /// Secrets the template reads as `{{ secrets.NAME }}`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, crate::manifest::secret::SecretRef>")]
    pub secrets: BTreeMap<String, Spanned<crate::manifest::secret::SecretRef>>,
    /// What to do once the file changed: `{ restart = true }` or `{ exec = [...] }`.
    pub on_change: Option<RawOnChange>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOnChange {
    /// Restart the container.
    #[serde(default)]
    pub restart: bool,
    /// Run this command in the container.
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
    /// The network name in the project.
    #[schemars(with = "String")]
    pub name: Text,
    /// The network driver.
    #[schemars(with = "Option<String>")]
    #[schemars(extend("default" = "bridge"))]
    pub driver: Option<Text>,
    /// No access to the outside.
    #[serde(default)]
    pub internal: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDockerVolume {
    /// The volume name in the project.
    #[schemars(with = "String")]
    pub name: Text,
    /// The volume driver.
    #[schemars(with = "Option<String>")]
    #[schemars(extend("default" = "local"))]
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

/// An `env_file` entry: a path, or `{ path, required = false }` for a file
/// that may be absent (compose's long form).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawEnvFile {
    // Spans do not survive untagged enums: the outer span locates the value.
    /// The env file's path, relative to the manifest; it must exist.
    Path(String),
    /// An env file that may be absent.
    Detailed {
        /// The env file's path, relative to the manifest.
        path: String,
        /// false: an absent file is skipped, as compose's `required: false`.
        #[serde(default = "required_default")]
        #[schemars(extend("default" = true))]
        required: bool,
    },
}

fn required_default() -> bool {
    true
}

impl RawEnvFile {
    pub fn path(&self) -> &str {
        match self {
            RawEnvFile::Path(path) | RawEnvFile::Detailed { path, .. } => path,
        }
    }

    pub fn required(&self) -> bool {
        match self {
            RawEnvFile::Path(_) => true,
            RawEnvFile::Detailed { required, .. } => *required,
        }
    }
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
    /// Other names of the container on this network.
    #[serde(default)]
    pub aliases: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHealthcheck {
    /// ["CMD", ...] or ["CMD-SHELL", "command"].
    #[schemars(with = "Vec<String>")]
    pub test: Vec<Text>,
    /// A duration: "10s", "1m".
    #[schemars(with = "Option<String>")]
    #[schemars(extend("default" = "30s"))]
    pub interval: Option<Text>,
    /// A duration.
    #[schemars(with = "Option<String>")]
    #[schemars(extend("default" = "30s"))]
    pub timeout: Option<Text>,
    /// A duration.
    #[schemars(with = "Option<String>")]
    #[schemars(extend("default" = "0s"))]
    pub start_period: Option<Text>,
    /// Failures before unhealthy.
    #[schemars(extend("default" = 3))]
    pub retries: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBuild {
    /// The build context folder, relative to the manifest.
    #[schemars(with = "String")]
    pub context: Text,
    /// The Dockerfile, relative to the context.
    #[schemars(with = "Option<String>")]
    #[schemars(extend("default" = "Dockerfile"))]
    pub dockerfile: Option<Text>,
    /// The stage of a multi-stage Dockerfile to build (compose's `target`).
    #[schemars(with = "Option<String>")]
    pub target: Option<Text>,
    /// Build arguments (`ARG`), as compose's `args`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub args: BTreeMap<String, Text>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDockerContainer {
    /// The container name in the project.
    #[schemars(with = "String")]
    pub name: Text,
    /// The image, e.g. georchestra/geoserver:${tag}.
    #[schemars(with = "String")]
    pub image: Text,
    /// missing (default), always or never.
    #[schemars(with = "Option<PullPolicy>")]
    #[schemars(extend("default" = "missing"))]
    pub pull: Option<Text>,
    /// Build `image` from a folder instead of pulling it.
    pub build: Option<RawBuild>,
    /// The command, as a list.
    #[schemars(with = "Option<Vec<String>>")]
    pub command: Option<Vec<Text>>,
    /// The entrypoint, as a list.
    #[schemars(with = "Option<Vec<String>>")]
    pub entrypoint: Option<Vec<Text>>,
    /// Environment variables: text, numbers, booleans or secret references (a literal for a name like *PASSWORD* is refused).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawEnvValue>")]
    pub env: BTreeMap<String, Spanned<RawEnvValue>>,
    /// Env files read like compose (${VAR} from earlier lines), relative to the manifest; { path, required = false } may be absent.
    #[serde(default)]
    #[schemars(with = "Vec<RawEnvFile>")]
    pub env_file: Vec<Spanned<RawEnvFile>>,
    /// [IP:][HOST:]CONTAINER[/tcp|udp].
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub ports: Vec<Text>,
    /// VOLUME:PATH[:ro], ./HOST_PATH:PATH[:ro], or PATH[:ro] alone (an anonymous volume).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub volumes: Vec<Text>,
    /// ["name", ...] or { name = { aliases = [...] } }.
    #[schemars(with = "Option<RawNetworks>")]
    pub networks: Option<Spanned<RawNetworks>>,
    /// Labels of the container.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub labels: BTreeMap<String, Text>,
    /// no, always, unless-stopped, on-failure[:N].
    #[schemars(with = "Option<RestartPolicy>")]
    #[schemars(extend("default" = "no"))]
    pub restart: Option<Text>,
    /// How the engine checks the container is healthy.
    #[schemars(with = "Option<RawHealthcheck>")]
    pub healthcheck: Option<Spanned<RawHealthcheck>>,
    /// container name -> started, healthy or completed
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, DependsCondition>")]
    pub depends_on: BTreeMap<String, Text>,
    /// A memory limit: "2g", "512m".
    #[schemars(with = "Option<String>")]
    pub memory: Option<Text>,
    /// The user the command runs as.
    #[schemars(with = "Option<String>")]
    pub user: Option<Text>,
    /// The working folder of the command.
    #[schemars(with = "Option<String>")]
    pub working_dir: Option<Text>,
    /// How long dependents wait for this container's condition (default:
    /// what its healthcheck allows, or 60s).
    #[schemars(with = "Option<String>")]
    pub wait_timeout: Option<Text>,
    /// A one-shot job: done once it exited 0, never started again.
    #[schemars(with = "Option<bool>")]
    #[schemars(extend("default" = false))]
    pub job: Option<Spanned<bool>>,
}

crate::schema_string!(
    /// When to pull the image: missing (default), always or never.
    PullPolicy = crate::manifest::schema::choice(&["missing", "always", "never"])
);
crate::schema_string!(
    /// no (default), always, unless-stopped, on-failure[:N].
    RestartPolicy = crate::manifest::schema::shaped("^(no|always|unless-stopped|on-failure)(:.*)?$")
);
crate::schema_string!(
    /// started, healthy or completed (compose's service_* names too).
    DependsCondition = crate::manifest::schema::choice(&[
        "started",
        "healthy",
        "completed",
        "service_started",
        "service_healthy",
        "service_completed_successfully",
    ])
);
