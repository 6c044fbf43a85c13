//! `[geonetwork]`: the TOML (raw), its lowering and checks (lower), the
//! validated connection and groups the system plans from (here).

mod lower;
pub mod raw;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::manifest::document::Document;
use crate::manifest::lower::Lowerer;
use crate::manifest::secret::{Secret, SecretResolver};
use crate::manifest::source::Location;
use crate::manifest::vars::Vars;
use crate::manifest::ManifestError;

pub const GROUP_KIND: &str = "geonetwork.group";

/// GeoNetwork's reserved groups (`ReservedGroup.java:35-44`): they always
/// exist, cannot be created or removed, and records are shared with them
/// by their fixed ids.
pub const RESERVED_GROUPS: &[&str] = &["all", "intranet", "guest"];

/// `[geonetwork]`, validated.
#[derive(Debug, Clone)]
pub struct GeoNetwork {
    pub connection: GnConnection,
    pub groups: Vec<GnGroup>,
}

/// How geosync reaches GeoNetwork.
#[derive(Debug, Clone)]
pub struct GnConnection {
    /// The base URL with the context path, without a trailing slash and
    /// without credentials (refused at validate).
    pub url: String,
    pub portal: String,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub retries: u32,
    /// The first delay between attempts, doubled at each retry.
    pub backoff: Duration,
}

impl GnConnection {
    /// A connection with the defaults the manifest documents.
    pub fn new(url: &str) -> Self {
        GnConnection {
            url: url.trim_end_matches('/').to_string(),
            portal: "srv".into(),
            user: None,
            password: None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retries: 3,
            backoff: Duration::from_millis(200),
        }
    }
}

/// A group declared in the manifest. Fields left out (None, or a language
/// not in `labels`) are left as GeoNetwork has them: an administrator may
/// have set them in the UI, and geosync converges only what it declares.
#[derive(Debug, Clone)]
pub struct GnGroup {
    pub name: String,
    pub at: Location,
    pub present: bool,
    pub description: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub labels: BTreeMap<String, String>,
}

/// Lowers `[geonetwork]` of every file: one file says where GeoNetwork is,
/// any file may declare groups.
pub fn lower(
    documents: &[Document],
    vars: &Vars,
    resolver: &SecretResolver,
    errors: &mut Vec<ManifestError>,
) -> Option<GeoNetwork> {
    let mut parts = Vec::new();
    for doc in documents {
        let Some(section) = doc.section::<raw::RawGeoNetwork>("geonetwork", errors) else {
            continue;
        };
        // Where the section starts: problems of the section as a whole
        // (no `url` anywhere) are reported there.
        let at = doc
            .top_level_keys()
            .into_iter()
            .find(|(key, _)| key == "geonetwork")
            .map_or_else(|| Location::file_only(&doc.source.path), |(_, at)| at);
        let mut lower = Lowerer::new(&doc.source, vars, errors);
        parts.push(lower.geonetwork_part(&section, at, resolver));
    }
    lower::merge(parts, errors)
}
