//! `[sync]`: the TOML (raw), its lowering and checks (lower), and the
//! validated targets the sync runs from (here).

mod lower;
pub mod raw;

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
