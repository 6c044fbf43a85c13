//! The validated desired state: what the manifests ask for, with variables
//! expanded, paths anchored and references checked. Systems plan from this
//! and never see the raw TOML.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::raw::BaseLayerKind;
use super::secret::{Redactor, Secret};
use super::source::Location;
use super::vars::Vars;
use crate::plan::Address;

#[derive(Debug)]
pub struct Manifest {
    pub sources: Vec<ManifestSource>,
    pub vars: Vars,
    pub mviewer: Mviewer,
    pub files: Vec<ManagedFile>,
    pub postgres: Option<Postgres>,
    pub docker: Option<Docker>,
    /// Knows every secret resolved for this manifest, to keep them out of output.
    pub redactor: Redactor,
}

impl Manifest {
    /// How many resources the manifests declare, as `validate` reports it.
    pub fn resource_count(&self) -> usize {
        let postgres = self.postgres.as_ref().map_or(0, |p| {
            let inside: usize = p
                .databases
                .iter()
                .map(|d| d.extensions.len() + d.schemas.len())
                .sum();
            p.roles.len() + p.databases.len() + inside + p.grants.len() + usize::from(p.hba.is_some())
        });
        let docker = self.docker.as_ref().map_or(0, |d| {
            d.networks.len() + d.volumes.len() + d.containers.len() + d.files.len()
        });
        self.mviewer.apps.len() + self.files.len() + postgres + docker
    }
}

/// A manifest file and the digest of its text, which a saved plan records
/// to tell whether the manifest changed since.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ManifestSource {
    pub path: PathBuf,
    pub sha256: String,
}

#[derive(Debug, Default)]
pub struct Mviewer {
    /// A host folder (None when the configs go into a container or volume).
    pub target_dir: Option<PathBuf>,
    pub in_container: Option<ContainerDir>,
    pub apps: Vec<MviewerApp>,
}

/// A folder inside a container of the project; for a volume, inside the
/// container that mounts it.
#[derive(Debug, Clone)]
pub struct ContainerDir {
    pub container: String,
    pub dir: String,
    pub volume: Option<String>,
    pub at: Location,
}

/// One Mviewer application. Serialized as the template's context, so the
/// field names are the ones templates use.
#[derive(Debug, Clone, Serialize)]
pub struct MviewerApp {
    pub name: String,
    #[serde(skip)]
    pub at: Location,
    /// A site template, or the built-in one when absent.
    #[serde(skip)]
    pub template: Option<PathBuf>,
    pub title: String,
    pub logo: Option<String>,
    pub help: Option<String>,
    pub mouseposition: bool,
    pub measuretools: bool,
    pub mapprint: bool,
    pub exportpng: bool,
    pub map: MapOptions,
    pub baselayers: Vec<BaseLayer>,
    pub themes: Vec<Theme>,
}

impl MviewerApp {
    pub const KIND: &'static str = "mviewer.app";

    pub fn address(&self) -> Address {
        Address::new(Self::KIND, &self.name)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MapOptions {
    pub projection: String,
    pub center: [f64; 2],
    pub zoom: u8,
    pub maxzoom: Option<u8>,
    pub projextent: Option<[f64; 4]>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BaseLayer {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: BaseLayerKind,
    pub label: String,
    pub title: String,
    pub url: String,
    pub layers: Option<String>,
    pub format: Option<String>,
    pub visible: bool,
    pub attribution: Option<String>,
    pub thumbgallery: Option<String>,
    pub style: Option<String>,
    pub matrixset: Option<String>,
    pub maxzoom: Option<u8>,
    pub maxscale: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Theme {
    pub id: String,
    pub name: String,
    pub icon: Option<String>,
    pub collapsed: bool,
    pub layers: Vec<Layer>,
}

/// A theme layer: a WMS layer, by default one of the platform's GeoServer.
#[derive(Debug, Clone, Serialize)]
pub struct Layer {
    /// Mviewer's layer id: the WMS layer name, `workspace:layer`.
    pub id: String,
    pub name: String,
    pub url: String,
    pub visible: bool,
    pub queryable: bool,
    pub tiled: bool,
    pub opacity: Option<f64>,
    pub style: Option<String>,
    pub legendurl: Option<String>,
    pub metadata: Option<String>,
    pub metadata_csw: Option<String>,
    pub infoformat: String,
    pub featurecount: Option<u32>,
    pub attribution: Option<String>,
}

/// A whole file geosync keeps at a path of the host.
#[derive(Debug, Clone)]
pub struct ManagedFile {
    pub name: String,
    pub at: Location,
    pub path: PathBuf,
    pub source: FileSource,
    pub mode: Option<u32>,
    pub context: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, Secret>,
}

impl ManagedFile {
    pub const KIND: &'static str = "file";

    pub fn address(&self) -> Address {
        Address::new(Self::KIND, &self.name)
    }
}

#[derive(Debug, Clone)]
pub enum FileSource {
    Template(PathBuf),
    Inline(String),
}

/// `[postgres]`, validated.
#[derive(Debug, Clone)]
pub struct Postgres {
    pub connection: PgConnection,
    pub hba_file: Option<String>,
    pub hba_container: Option<String>,
    pub roles: Vec<PgRole>,
    pub databases: Vec<PgDatabase>,
    pub grants: Vec<PgGrant>,
    /// None when no `[[postgres.hba]]` is declared: the block is not managed.
    pub hba: Option<Vec<HbaRule>>,
}

#[derive(Debug, Clone)]
pub struct PgConnection {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<Secret>,
    pub maintenance_db: String,
    pub tls: TlsMode,
    /// CA certificates (PEM) for `verify-ca` and `verify-full`.
    pub root_cert: Option<PathBuf>,
}

impl Default for PgConnection {
    /// What `[postgres]` means when it says nothing: the local server's
    /// administrator, as libpq's defaults would have it.
    fn default() -> Self {
        PgConnection {
            host: "127.0.0.1".into(),
            port: 5432,
            user: "postgres".into(),
            password: None,
            maintenance_db: "postgres".into(),
            tls: TlsMode::Prefer,
            root_cert: None,
        }
    }
}

/// libpq's sslmode values, with their meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

#[derive(Debug, Clone)]
pub struct PgRole {
    pub name: String,
    pub at: Location,
    pub present: bool,
    pub login: bool,
    pub createdb: bool,
    pub createrole: bool,
    pub connection_limit: i32,
    pub password: Option<Secret>,
    pub member_of: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct PgDatabase {
    pub name: String,
    pub at: Location,
    pub present: bool,
    pub owner: Option<String>,
    pub encoding: Option<String>,
    pub lc_collate: Option<String>,
    pub lc_ctype: Option<String>,
    pub template: Option<String>,
    pub extensions: Vec<PgExtension>,
    pub schemas: Vec<PgSchema>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgExtension {
    pub name: String,
    pub version: Option<String>,
    pub schema: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgSchema {
    pub name: String,
    pub owner: Option<String>,
}

/// What a grant is on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum GrantTarget {
    Database,
    Schema(String),
    /// Every table of the schema, and those the `default_for` roles create later.
    Tables {
        schema: String,
        default_for: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub struct PgGrant {
    pub role: String,
    pub database: String,
    pub target: GrantTarget,
    pub privileges: std::collections::BTreeSet<String>,
    pub at: Location,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HbaRule {
    pub kind: String,
    pub database: String,
    pub user: String,
    pub address: Option<String>,
    pub method: String,
    pub options: Option<String>,
    pub at: Location,
}

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
}
