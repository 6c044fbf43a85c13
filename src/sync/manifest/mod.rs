//! `[sync]`: the TOML (raw), its lowering and checks (lower), and the
//! validated targets the sync runs from (here).

mod lower;
pub mod raw;
mod role;
mod secrets;

pub use role::{resolve_role, SyncRole};
pub use secrets::unavailable as unavailable_secrets;

use std::path::PathBuf;

use reqwest::Url;

use crate::manifest::document::Document;
use crate::manifest::lower::Lowerer;
use crate::manifest::secret::{Secret, SecretResolver};
use crate::manifest::source::Location;
use crate::manifest::vars::Vars;
use crate::manifest::ManifestError;
use crate::plan::Address;

pub const TARGET_KIND: &str = "sync.target";

/// `[sync]`, validated.
#[derive(Debug, Clone, Default)]
pub struct Sync {
    pub targets: Vec<SyncTarget>,
    pub settings: Settings,
}

/// `[sync]`'s own keys: the loop, the safety rails, where records go.
#[derive(Debug, Clone)]
pub struct Settings {
    pub interval: std::time::Duration,
    pub full_rescan_every: u32,
    pub max_in_flight: usize,
    pub max_removal_share: f64,
    pub min_removals: usize,
    /// The public GeoServer base URL for the records' OWS links.
    pub public_url: Option<String>,
    pub catalogue: CatalogueSpec,
    /// The role the sync connects as (`postgres_role`); None: the `[postgres]` user.
    pub postgres_role: Option<SyncRole>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            interval: std::time::Duration::from_secs(300),
            full_rescan_every: 12,
            max_in_flight: 2,
            max_removal_share: 0.5,
            min_removals: 10,
            public_url: None,
            catalogue: CatalogueSpec::Default,
            postgres_role: None,
        }
    }
}

/// Where metadata records are put.
#[derive(Debug, Clone)]
pub enum CatalogueSpec {
    /// GeoNetwork when `[geonetwork]` is declared, else none.
    Default,
    GeoNetwork,
    Csw {
        url: Url,
        user: Option<String>,
        password: Option<Secret>,
        /// Everyone reads it: restricted records never go there.
        public: bool,
    },
    None,
}

#[derive(Debug, Clone)]
pub struct SyncTarget {
    pub name: String,
    pub at: Location,
    pub source: SourceSpec,
    pub database: String,
    pub schema: String,
    pub workspace: Option<String>,
    /// The EPSG code of `default_crs`.
    pub default_srid: Option<u32>,
    pub visibility: Visibility,
    /// Who may see its metadata records (defaults to `visibility`).
    pub metadata_visibility: Visibility,
    /// The GeoServer datastore its layers read from: as written, then
    /// resolved against `[geoserver]` when the manifests are loaded.
    pub datastore: Option<String>,
    /// Where `datastore` is written (or the target), for errors.
    pub datastore_at: Location,
    pub max_removal_share: Option<f64>,
    /// GeoNetwork groups that may see its records (the first owns them).
    pub metadata_groups: Vec<String>,
    /// GeoServer roles that may read its layers when restricted.
    pub roles: Vec<String>,
}

impl SyncTarget {
    pub fn address(&self) -> Address {
        Address::new(TARGET_KIND, &self.name)
    }
}

#[derive(Debug, Clone)]
pub enum SourceSpec {
    WebDav {
        url: Url,
        user: Option<String>,
        password: Option<Secret>,
    },
    Local {
        path: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Public,
    Restricted,
}

/// Lowers `[sync]` of every file; None when no file has one.
pub fn lower(
    documents: &[Document],
    vars: &Vars,
    resolver: &SecretResolver,
    errors: &mut Vec<ManifestError>,
) -> Option<Sync> {
    let mut sync: Option<Sync> = None;
    for doc in documents {
        let Some(section) = doc.section::<raw::RawSync>("sync", errors) else {
            continue;
        };
        let mut lower = Lowerer::new(&doc.source, vars, errors);
        let targets = sync.get_or_insert_with(Sync::default);
        lower.sync_settings(&section, &mut targets.settings, resolver);
        for raw in &section.target {
            let target = lower.sync_target(raw.get_ref(), &raw.span(), resolver);
            targets.targets.push(target);
        }
    }
    if let Some(sync) = &sync {
        lower::check_targets(sync, errors);
    }
    sync
}

/// The sync loads into the `[postgres]` server: without one, every target
/// is an error.
pub fn require_postgres(sync: &Sync, errors: &mut Vec<ManifestError>) {
    for target in &sync.targets {
        errors.push(ManifestError::Invalid {
            at: target.at.clone(),
            subject: target.address().to_string(),
            message: "loads into PostgreSQL, but the manifests declare no [postgres] server".into(),
        });
    }
}

/// Gives each target that publishes (it names a workspace and the
/// manifests declare `[geoserver]`) the datastore its layers read from:
/// the one it names, or the one of its workspace whose database and schema
/// are the target's. A datastore that reads another database would publish
/// layers whose tables are not there: refused here, at validate.
pub fn resolve_datastores(
    sync: &mut Sync,
    geoserver: &crate::systems::geoserver::manifest::GeoServer,
    errors: &mut Vec<ManifestError>,
) {
    use crate::systems::geoserver::manifest::lower_keys as keys;
    for target in &mut sync.targets {
        let Some(workspace) = target.workspace.clone() else {
            continue;
        };
        let in_workspace: Vec<_> = geoserver
            .datastores
            .iter()
            .filter(|d| d.workspace == workspace && d.present)
            .collect();
        let reads_target = |d: &&crate::systems::geoserver::manifest::GsDatastore| {
            d.params.get(keys::DATABASE) == Some(&target.database)
                && d.params.get(keys::SCHEMA).map_or("public", String::as_str) == target.schema
        };
        let problem = match &target.datastore {
            Some(name) => match in_workspace.iter().find(|d| &d.name == name) {
                None => Some(format!(
                    "datastore `{name}` is not a [[geoserver.datastore]] of workspace `{workspace}`"
                )),
                Some(d) if !reads_target(d) => Some(format!(
                    "datastore `{workspace}:{name}` reads database {} schema {}, not the target's {} schema {}",
                    d.params.get(keys::DATABASE).map_or("?", String::as_str),
                    d.params.get(keys::SCHEMA).map_or("public", String::as_str),
                    target.database,
                    target.schema
                )),
                Some(_) => None,
            },
            None => match in_workspace.iter().find(|d| reads_target(d)) {
                Some(d) => {
                    target.datastore = Some(d.name.clone());
                    None
                }
                None => Some(format!(
                    "publishes in workspace `{workspace}`, but none of its [[geoserver.datastore]] reads database {} schema {}: declare one (or name it with `datastore`)",
                    target.database, target.schema
                )),
            },
        };
        if let Some(message) = problem {
            errors.push(ManifestError::Invalid {
                at: target.datastore_at.clone(),
                subject: target.address().to_string(),
                message,
            });
        }
    }
}

/// The sync sets the read rule of each publishing target's workspace
/// (`<workspace>.*.r`: its roles when restricted, `*` when public). A
/// `[[geoserver.acl]]` for the same rule with other roles would be
/// rewritten by the geoserver system and the sync in turn, at every run,
/// and the layers' audience would depend on which ran last: refused.
pub fn check_access_rules(
    sync: &Sync,
    geoserver: &crate::systems::geoserver::manifest::GeoServer,
    errors: &mut Vec<ManifestError>,
) {
    for target in &sync.targets {
        let Some(workspace) = &target.workspace else {
            continue;
        };
        let rule = format!("{workspace}.*.r");
        let wanted = crate::sync::publish::layer::Access::of(target).rule_roles();
        for acl in geoserver.acl.iter().filter(|a| a.present && a.rule == rule) {
            if acl.roles != wanted {
                errors.push(ManifestError::Invalid {
                    at: acl.at.clone(),
                    subject: format!("geoserver.acl:{rule}"),
                    message: format!(
                        "{} sets this rule to {} (its {} visibility): declare the same roles here, or leave the rule to the sync",
                        target.address(),
                        wanted.iter().cloned().collect::<Vec<_>>().join(","),
                        match target.visibility {
                            Visibility::Public => "public",
                            Visibility::Restricted => "restricted",
                        }
                    ),
                });
            }
        }
    }
}
