//! Puts a dataset's ISO 19139 record into the catalogue, and takes it out,
//! idempotently: GeoNetwork through its REST API (insert-or-replace by
//! uuid, then exactly the sharing the target's visibility allows), or any
//! CSW-T catalogue (pycsw) through Transaction Update-else-Insert and
//! Delete. Every record is validated against the ISO 19139 schemas first:
//! an invalid one fails its dataset and nothing is sent.
//!
//! Visibility: a public target's record is viewable, downloadable and
//! usable in maps (dynamic) by GeoNetwork's group "all" and by the
//! configured groups; a restricted target's record only by the configured
//! groups, never by "all" (none configured: only its owner and the
//! administrators see it). A CSW catalogue has no per-record rights: a
//! restricted record goes only to one declared private.

use std::collections::BTreeMap;

use crate::sync::manifest::Visibility;
use crate::sync::metadata::{self, MetadataError, Record};
use crate::systems::geonetwork::client::{
    Deleted, GnClient, Operations, Privilege, UuidProcessing, GROUP_ALL,
};
use crate::systems::geonetwork::csw::CswClient;
use crate::systems::geonetwork::GeoNetworkError;

/// Where records go.
pub enum Catalogue {
    GeoNetwork(GnClient),
    Csw {
        client: CswClient,
        /// The endpoint, for messages (without credentials).
        url: String,
        /// Whether everyone can read this catalogue: then restricted
        /// records are refused.
        public: bool,
    },
}

/// Who may see a target's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sharing {
    pub visibility: Visibility,
    /// GeoNetwork groups (by name) granted view, download and dynamic; the
    /// first one owns the record.
    pub groups: Vec<String>,
}

/// What a put did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Put {
    pub uuid: String,
    /// GeoNetwork's internal id (None for CSW).
    pub internal_id: Option<String>,
}

/// What a removal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    Removed,
    AlreadyGone,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// Invalid record (nothing sent), or the schemas unavailable.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    #[error("{dataset}: catalogue record {uuid}")]
    Request {
        dataset: String,
        uuid: String,
        #[source]
        source: Box<GeoNetworkError>,
    },
    #[error("{dataset}: GeoNetwork has no group `{group}` to share record {uuid} with (nothing sent)")]
    UnknownGroup {
        dataset: String,
        uuid: String,
        group: String,
    },
    #[error("{dataset}: record {uuid} of a restricted target is not sent to the CSW catalogue {url}, which shows every record to everyone")]
    RestrictedOnPublicCsw {
        dataset: String,
        uuid: String,
        url: String,
    },
    #[error("{dataset}: GeoNetwork saved record {uuid} under another uuid, {saved}")]
    UuidChanged {
        dataset: String,
        uuid: String,
        saved: String,
    },
}

impl Catalogue {
    /// Inserts the record, or replaces the record of the same uuid (never
    /// a second one), with the sharing the visibility allows.
    pub async fn put(&self, record: &Record, sharing: &Sharing) -> Result<Put, CatalogueError> {
        metadata::validate(record).await?;
        match self {
            Catalogue::GeoNetwork(gn) => put_geonetwork(gn, record, sharing).await,
            Catalogue::Csw { client, url, public } => {
                if sharing.visibility == Visibility::Restricted && *public {
                    return Err(CatalogueError::RestrictedOnPublicCsw {
                        dataset: record.dataset.clone(),
                        uuid: record.uuid.clone(),
                        url: url.clone(),
                    });
                }
                put_csw(client, record).await
            }
        }
    }

    /// Deletes the record; a record that is not there is already removed.
    pub async fn remove(&self, dataset: &str, uuid: &str) -> Result<Removed, CatalogueError> {
        let failed = |source| request_error(dataset, uuid, source);
        match self {
            Catalogue::GeoNetwork(gn) => match gn.delete_record(uuid).await.map_err(failed)? {
                Deleted::Deleted => Ok(Removed::Removed),
                Deleted::AlreadyGone => Ok(Removed::AlreadyGone),
            },
            Catalogue::Csw { client, .. } => match client.delete(uuid).await.map_err(failed)?.deleted {
                0 => Ok(Removed::AlreadyGone),
                _ => Ok(Removed::Removed),
            },
        }
    }

    /// The record as the catalogue holds it, None when it has none.
    pub async fn get(&self, dataset: &str, uuid: &str) -> Result<Option<String>, CatalogueError> {
        let result = match self {
            Catalogue::GeoNetwork(gn) => gn.get_record(uuid).await,
            Catalogue::Csw { client, .. } => client.get_record_by_id(uuid).await,
        };
        result.map_err(|source| request_error(dataset, uuid, source))
    }
}

fn request_error(dataset: &str, uuid: &str, source: GeoNetworkError) -> CatalogueError {
    CatalogueError::Request {
        dataset: dataset.to_string(),
        uuid: uuid.to_string(),
        source: Box::new(source),
    }
}

/// GeoNetwork: the privileges first when a restricted record already
/// exists (its new content is never shown under older, wider rights), then
/// PUT with OVERWRITE (same uuid -> same record, updated in place), then
/// exactly the privileges the visibility allows.
async fn put_geonetwork(gn: &GnClient, record: &Record, sharing: &Sharing) -> Result<Put, CatalogueError> {
    let failed = |source| request_error(&record.dataset, &record.uuid, source);
    let groups = group_ids(gn, record, &sharing.groups).await?;
    let privileges = privileges(sharing.visibility, &groups);
    if sharing.visibility == Visibility::Restricted
        && gn.get_sharing(&record.uuid).await.map_err(failed)?.is_some()
    {
        gn.set_sharing(&record.uuid, &privileges).await.map_err(failed)?;
    }
    let owner = groups.first().copied();
    let saved = gn
        .put_record(&record.xml, UuidProcessing::Overwrite, owner)
        .await
        .map_err(failed)?;
    if saved.uuid != record.uuid {
        return Err(CatalogueError::UuidChanged {
            dataset: record.dataset.clone(),
            uuid: record.uuid.clone(),
            saved: saved.uuid,
        });
    }
    gn.set_sharing(&record.uuid, &privileges).await.map_err(failed)?;
    Ok(Put {
        uuid: saved.uuid,
        internal_id: Some(saved.id),
    })
}

/// The ids of the named groups, in order; one unknown name fails the put.
async fn group_ids(gn: &GnClient, record: &Record, names: &[String]) -> Result<Vec<i64>, CatalogueError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let listed = gn
        .groups()
        .await
        .map_err(|source| request_error(&record.dataset, &record.uuid, source))?;
    let by_name: BTreeMap<&str, i64> = listed
        .iter()
        .filter_map(|g| Some((g.get("name")?.as_str()?, g.get("id")?.as_i64()?)))
        .collect();
    names
        .iter()
        .map(|name| {
            by_name
                .get(name.as_str())
                .copied()
                .ok_or_else(|| CatalogueError::UnknownGroup {
                    dataset: record.dataset.clone(),
                    uuid: record.uuid.clone(),
                    group: name.clone(),
                })
        })
        .collect()
}

/// Public: "all" and the groups; restricted: the groups only.
pub fn privileges(visibility: Visibility, groups: &[i64]) -> Vec<Privilege> {
    let mut ids: Vec<i64> = groups.iter().copied().filter(|g| *g != GROUP_ALL).collect();
    if visibility == Visibility::Public {
        ids.insert(0, GROUP_ALL);
    }
    ids.dedup();
    ids.into_iter()
        .map(|group| Privilege {
            group,
            operations: Operations::PUBLISHED,
        })
        .collect()
}

/// CSW-T: Update replaces the record of that identifier; when the
/// catalogue has none (totalUpdated 0), Insert. An Insert that meets a
/// record inserted meanwhile is retried as an Update.
async fn put_csw(client: &CswClient, record: &Record) -> Result<Put, CatalogueError> {
    let failed = |source| request_error(&record.dataset, &record.uuid, source);
    let put = Put {
        uuid: record.uuid.clone(),
        internal_id: None,
    };
    if client.update(&record.xml).await.map_err(failed)?.updated > 0 {
        return Ok(put);
    }
    match client.insert(&record.xml).await {
        Ok(_) => Ok(put),
        Err(GeoNetworkError::CswException { .. }) => {
            let summary = client.update(&record.xml).await.map_err(failed)?;
            if summary.updated > 0 {
                Ok(put)
            } else {
                Err(failed(GeoNetworkError::RecordXml(
                    "the catalogue neither updated nor inserted it".into(),
                )))
            }
        }
        Err(e) => Err(failed(e)),
    }
}

#[cfg(test)]
mod tests;
