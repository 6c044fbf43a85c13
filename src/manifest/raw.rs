//! The TOML as written, mirrored by serde structs.
//!
//! Strict on purpose: every table refuses unknown keys, so a misspelt key is
//! an error with a suggestion instead of a setting silently ignored. Strings
//! that may hold `${var}` references keep their span, so a bad reference can
//! be pointed at.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub type Text = Spanned<String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawManifest {
    #[serde(default)]
    pub vars: BTreeMap<String, Spanned<toml::Value>>,
    pub mviewer: Option<RawMviewer>,
    #[serde(default)]
    pub file: Vec<RawFile>,
    pub postgres: Option<RawPostgres>,
    pub docker: Option<RawDocker>,
}

/// Any configuration file rendered from a template or given inline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    pub name: Text,
    pub path: Text,
    pub template: Option<Text>,
    pub content: Option<Text>,
    /// Octal, as chmod takes it: "0640".
    pub mode: Option<Text>,
    /// Values the template reads as `{{ context.NAME }}`.
    #[serde(default)]
    pub context: BTreeMap<String, Text>,
    /// Secrets the template reads as `{{ secrets.NAME }}`.
    #[serde(default)]
    pub secrets: BTreeMap<String, Spanned<crate::manifest::secret::SecretRef>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMviewer {
    /// The folder that receives one `<app>.xml` per application: on the
    /// host, or inside `target_container`, or inside `target_volume`.
    pub target_dir: Option<Text>,
    /// A `[[docker.container]]`: `target_dir` is an absolute path in it.
    pub target_container: Option<Text>,
    /// A `[[docker.volume]]`: `target_dir` is relative to its root.
    pub target_volume: Option<Text>,
    /// Base URL of the platform's GeoServer, for layers named `workspace:layer`.
    pub geoserver_url: Option<Text>,
    #[serde(default)]
    pub app: Vec<RawMviewerApp>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMviewerApp {
    pub name: Text,
    pub title: Text,
    /// A template of the site's own instead of the built-in one.
    pub template: Option<Text>,
    pub logo: Option<Text>,
    pub help: Option<Text>,
    pub mouseposition: Option<bool>,
    pub measuretools: Option<bool>,
    pub mapprint: Option<bool>,
    pub exportpng: Option<bool>,
    pub map: Spanned<RawMapOptions>,
    #[serde(default)]
    pub baselayer: Vec<Spanned<RawBaseLayer>>,
    #[serde(default)]
    pub theme: Vec<Spanned<RawTheme>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMapOptions {
    pub projection: Option<Text>,
    pub center: Spanned<Vec<f64>>,
    pub zoom: Spanned<i64>,
    pub maxzoom: Option<Spanned<i64>>,
    pub projextent: Option<Spanned<Vec<f64>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBaseLayer {
    pub id: Text,
    #[serde(rename = "type")]
    pub kind: BaseLayerKind,
    pub label: Text,
    pub title: Option<Text>,
    pub url: Text,
    pub layers: Option<Text>,
    pub format: Option<Text>,
    #[serde(default)]
    pub visible: bool,
    pub attribution: Option<Text>,
    pub thumbgallery: Option<Text>,
    pub style: Option<Text>,
    pub matrixset: Option<Text>,
    pub maxzoom: Option<i64>,
    pub maxscale: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum BaseLayerKind {
    #[serde(rename = "WMS")]
    Wms,
    #[serde(rename = "WMTS")]
    Wmts,
    #[serde(rename = "OSM")]
    Osm,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTheme {
    pub id: Text,
    pub name: Text,
    pub icon: Option<Text>,
    #[serde(default = "default_true")]
    pub collapsed: bool,
    #[serde(default)]
    pub layer: Vec<Spanned<RawLayer>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLayer {
    /// `workspace:layer` on the platform's GeoServer.
    pub layer: Text,
    /// The name shown to users.
    pub name: Text,
    /// A WMS endpoint other than the platform's GeoServer.
    pub url: Option<Text>,
    #[serde(default)]
    pub visible: bool,
    #[serde(default = "default_true")]
    pub queryable: bool,
    #[serde(default)]
    pub tiled: bool,
    pub opacity: Option<Spanned<f64>>,
    pub style: Option<Text>,
    pub legendurl: Option<Text>,
    pub metadata: Option<Text>,
    #[serde(rename = "metadata-csw")]
    pub metadata_csw: Option<Text>,
    pub infoformat: Option<Text>,
    pub featurecount: Option<u32>,
    pub attribution: Option<Text>,
}

fn default_true() -> bool {
    true
}

/// `[postgres]`: the server to converge and what to converge there.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPostgres {
    pub host: Option<Text>,
    pub port: Option<Spanned<i64>>,
    /// The administrator geosync connects as.
    pub user: Option<Text>,
    /// None: the server trusts the connection (or a local socket peer).
    pub password: Option<Spanned<crate::manifest::secret::SecretRef>>,
    /// The database geosync connects to for server-wide work.
    pub maintenance_db: Option<Text>,
    pub sslmode: Option<Text>,
    /// CA certificates (PEM) for sslmode verify-ca and verify-full.
    pub sslrootcert: Option<Text>,
    /// pg_hba.conf's path; default: the server's own `SHOW hba_file`.
    pub hba_file: Option<Text>,
    /// The container whose file system holds pg_hba.conf.
    pub hba_container: Option<Text>,
    #[serde(default)]
    pub role: Vec<Spanned<RawPgRole>>,
    #[serde(default)]
    pub database: Vec<Spanned<RawPgDatabase>>,
    #[serde(default)]
    pub grant: Vec<Spanned<RawPgGrant>>,
    #[serde(default)]
    pub hba: Vec<Spanned<RawHbaRule>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ensure {
    #[default]
    Present,
    /// Drop it: also needs `--allow-drop` on the command line.
    Absent,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPgRole {
    pub name: Text,
    #[serde(default)]
    pub ensure: Ensure,
    #[serde(default)]
    pub login: bool,
    #[serde(default)]
    pub createdb: bool,
    #[serde(default)]
    pub createrole: bool,
    pub connection_limit: Option<Spanned<i64>>,
    pub password: Option<Spanned<crate::manifest::secret::SecretRef>>,
    #[serde(default)]
    pub member_of: Vec<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPgDatabase {
    pub name: Text,
    #[serde(default)]
    pub ensure: Ensure,
    pub owner: Option<Text>,
    pub encoding: Option<Text>,
    pub lc_collate: Option<Text>,
    pub lc_ctype: Option<Text>,
    pub template: Option<Text>,
    #[serde(default)]
    pub extensions: Vec<Spanned<RawPgExtension>>,
    #[serde(default)]
    pub schemas: Vec<Spanned<RawPgSchema>>,
}

/// `"postgis"` or `{ name = "postgis", version = "3.3.2", schema = "public" }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawPgExtension {
    Name(String),
    Full {
        name: String,
        version: Option<String>,
        schema: Option<String>,
    },
}

/// `"data"` or `{ name = "data", owner = "geosync" }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawPgSchema {
    Name(String),
    Full { name: String, owner: Option<String> },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPgGrant {
    pub role: Text,
    pub database: Text,
    /// Privileges on this schema; with `tables = true`, on its tables.
    pub schema: Option<Text>,
    #[serde(default)]
    pub tables: bool,
    /// With `tables = true`: also on tables these roles create later.
    #[serde(default)]
    pub default_for: Vec<Text>,
    pub privileges: Spanned<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHbaRule {
    #[serde(rename = "type")]
    pub kind: Text,
    pub database: Text,
    pub user: Text,
    pub address: Option<Text>,
    pub method: Text,
    pub options: Option<Text>,
}

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

/// An `env_file` entry: a path, or `{ path, required = false }` for a file
/// that may be absent (compose's long form).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawEnvFile {
    // Spans do not survive untagged enums: the outer span locates the value.
    Path(String),
    Detailed {
        path: String,
        #[serde(default = "required_default")]
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
    pub env_file: Vec<Spanned<RawEnvFile>>,
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
