//! The publish stage of a pass: turns a loaded table into a GeoServer
//! layer with its style (`publish::layer`) and an ISO 19139 record in the
//! catalogue (`metadata`, `publish::catalogue`), and takes them down again.
//! The pass decides when; this module knows how, for one target. Every
//! GeoServer REST call of the process goes through one lock: GeoServer
//! handles REST in one thread, concurrent calls only queue and time out.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::claims::{Claims, LedgerSite};
use super::dataset::Dataset;
use super::ledger;
use super::manifest::{CatalogueSpec, Settings, Sync, SyncTarget};
use super::metadata::{self, BBox, Crs, DataFacts, DataKind, RecordInput, Sidecar};
use super::publish::catalogue::{Catalogue, Sharing};
use super::publish::layer::{
    self, Access, LayerData, LayerMetadata, LayerRequest, LayerTarget, NativeCrs, PublishedKind,
};
use crate::systems;
use crate::systems::geoserver::client::Client as GsClient;
use crate::systems::postgres::manifest::PgConnection;

/// What every target's publisher shares: the services and the lock around
/// GeoServer's REST API.
pub struct PublishContext {
    pub geoserver: systems::geoserver::manifest::GsConnection,
    pub geonetwork: Option<systems::geonetwork::manifest::GnConnection>,
    pub settings: Settings,
    rest: Arc<tokio::sync::Mutex<()>>,
    /// Every target's ledger: records share one catalogue, so a record's
    /// uuid is checked against all of them (`claims`).
    ledgers: Arc<[LedgerSite]>,
    /// Taken while a dataset claims a record uuid.
    claims: Arc<tokio::sync::Mutex<()>>,
}

impl PublishContext {
    /// None when the manifests declare no `[geoserver]`: the sync loads only.
    pub fn new(manifest: &systems::Manifest, sync: &Sync) -> Option<PublishContext> {
        let geoserver = manifest.geoserver.as_ref()?;
        Some(PublishContext {
            geoserver: geoserver.connection.clone(),
            geonetwork: manifest.geonetwork.as_ref().map(|g| g.connection.clone()),
            settings: sync.settings.clone(),
            rest: Arc::new(tokio::sync::Mutex::new(())),
            ledgers: sync.targets.iter().map(site_of).collect(),
            claims: Arc::new(tokio::sync::Mutex::new(())),
        })
    }
}

/// Where a target's ledger rows are.
pub fn site_of(target: &SyncTarget) -> LedgerSite {
    LedgerSite {
        target: target.name.clone(),
        database: target.database.clone(),
        schema: target.schema.clone(),
    }
}

/// A publication step that failed; the message names the dataset.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PublishError(pub String);

fn fail(error: impl std::error::Error + 'static) -> PublishError {
    PublishError(crate::error_chain::error_chain(&error))
}

/// One target's publisher.
pub struct Publisher {
    target: SyncTarget,
    layers: LayerTarget,
    public_url: String,
    catalogue_spec: CatalogueSpec,
    catalogue: Option<Catalogue>,
    geonetwork_url: Option<String>,
    gs: GsClient,
    rest: Arc<tokio::sync::Mutex<()>>,
    ledgers: Arc<[LedgerSite]>,
    claims: Arc<tokio::sync::Mutex<()>>,
}

/// A dataset (one table of it) to publish.
pub struct Job<'a> {
    pub dataset: &'a Dataset,
    pub entry: &'a ledger::Entry,
    /// The folder holding the fetched metadata and style sidecars.
    pub files: &'a Path,
    /// A raster's prepared GeoTIFF folder.
    pub raster: Option<&'a Path>,
    /// The GeoPackage holds several layers (they share its sidecars).
    pub several_layers: bool,
}

/// The names a publication uses.
#[derive(Debug, Clone)]
pub struct Names {
    pub layer: String,
    pub style: Option<String>,
    pub record_uuid: Option<String>,
}

/// A publication ready to send: its names, layer request and record.
pub struct Prepared {
    names: Names,
    request: LayerRequest,
    record: metadata::Record,
    /// The record's earlier uuid, when a sidecar's fileIdentifier changed it.
    replaced_uuid: Option<String>,
}

impl Prepared {
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// Facts for the data manager (a sidecar ignored, an encoding guessed).
    pub fn warnings(&self) -> &[String] {
        &self.record.warnings
    }

    /// The record uuid this dataset published before, when its sidecar
    /// changed it: `put_record` removes that record.
    pub fn replaced_uuid(&self) -> Option<&str> {
        self.replaced_uuid.as_deref()
    }

    /// Leaves the earlier record in the catalogue: another dataset holds it.
    pub fn keep_replaced_record(&mut self) {
        self.replaced_uuid = None;
    }

    /// Whether the uuid is the author's (a sidecar's fileIdentifier) rather
    /// than the one geosync derives from the dataset's place.
    pub fn uuid_from_sidecar(&self, target: &str, key: &ledger::Key) -> bool {
        let layer = (!key.layer.is_empty()).then_some(key.layer.as_str());
        self.record.uuid != metadata::stable_uuid(target, &key.source_path, layer)
    }

    /// The sidecar's fileIdentifier the record's uuid was derived from (a
    /// layer of a GeoPackage holding several).
    pub fn derived_from(&self) -> Option<&str> {
        self.record.parent.as_deref()
    }
}

impl Publisher {
    /// The target's publisher, when it publishes (it names a workspace and
    /// its datastore was resolved at load).
    pub fn for_target(
        context: &PublishContext,
        target: &SyncTarget,
    ) -> Result<Option<Publisher>, PublishError> {
        let (Some(workspace), Some(datastore)) = (target.workspace.clone(), target.datastore.clone()) else {
            return Ok(None);
        };
        let catalogue_spec = match &context.settings.catalogue {
            CatalogueSpec::Default if context.geonetwork.is_some() => CatalogueSpec::GeoNetwork,
            CatalogueSpec::Default => CatalogueSpec::None,
            other => other.clone(),
        };
        let catalogue = match &catalogue_spec {
            CatalogueSpec::GeoNetwork => {
                let connection = context.geonetwork.as_ref().ok_or_else(|| {
                    PublishError("[sync] catalogue = \"geonetwork\" needs [geonetwork]".into())
                })?;
                Some(Catalogue::GeoNetwork(
                    systems::geonetwork::client::GnClient::new(connection).map_err(fail)?,
                ))
            }
            CatalogueSpec::Csw {
                url,
                user,
                password,
                public,
            } => Some(Catalogue::Csw {
                client: systems::geonetwork::csw::CswClient::new(
                    url.as_str(),
                    user.clone(),
                    password.clone(),
                    std::time::Duration::from_secs(30),
                )
                .map_err(fail)?,
                url: url.to_string(),
                public: *public,
            }),
            CatalogueSpec::Default | CatalogueSpec::None => None,
        };
        let access = Access::of(target);
        Ok(Some(Publisher {
            target: target.clone(),
            layers: LayerTarget {
                workspace,
                datastore,
                access,
            },
            public_url: context
                .settings
                .public_url
                .clone()
                .unwrap_or_else(|| context.geoserver.url.trim_end_matches('/').to_string()),
            catalogue_spec,
            catalogue,
            geonetwork_url: context
                .geonetwork
                .as_ref()
                .map(|g| g.url.trim_end_matches('/').to_string()),
            gs: GsClient::new(&context.geoserver).map_err(fail)?,
            rest: context.rest.clone(),
            ledgers: context.ledgers.clone(),
            claims: context.claims.clone(),
        }))
    }

    /// The check of record uuids against every target's ledger, for one
    /// pass of this target; None when it sends no record.
    pub fn claims<'a>(&'a self, connection: &'a PgConnection) -> Option<Claims<'a>> {
        self.catalogue.as_ref()?;
        Some(Claims::new(
            site_of(&self.target),
            &self.ledgers,
            connection,
            self.claims.clone(),
        ))
    }

    pub fn workspace(&self) -> &str {
        &self.layers.workspace
    }

    /// A digest of everything of the target a publication depends on: a
    /// change republishes every dataset.
    pub fn settings_digest(&self) -> String {
        let catalogue = match &self.catalogue_spec {
            CatalogueSpec::Csw { url, public, .. } => format!("csw={url} public={public}"),
            CatalogueSpec::GeoNetwork => "geonetwork".into(),
            _ => "none".into(),
        };
        let text = format!(
            "workspace={}\ndatastore={}\nurl={}\ncatalogue={catalogue}\naccess={:?}\nmetadata={:?}\ngroups={:?}\n",
            self.layers.workspace,
            self.layers.datastore,
            self.public_url,
            self.layers.access,
            self.target.metadata_visibility,
            self.target.metadata_groups,
        );
        hex::encode(Sha256::digest(text.as_bytes()))[..12].to_string()
    }

    /// Builds the record and the layer request of one table, reading the
    /// facts (CRS, extent, geometry) from PostGIS.
    pub async fn prepare(
        &self,
        job: &Job<'_>,
        pg: &tokio_postgres::Client,
    ) -> Result<Prepared, PublishError> {
        let entry = job.entry;
        let layer_name = entry.table_name.clone();
        let dataset = match entry.key.layer.as_str() {
            "" => entry.key.source_path.clone(),
            layer => format!("{} (layer {layer})", entry.key.source_path),
        };
        let (facts, data) = match job.raster {
            Some(dir) => raster_facts(entry, dir)?,
            None => vector_facts(entry, pg).await?,
        };
        let input = RecordInput {
            target: self.target.name.clone(),
            source_path: entry.key.source_path.clone(),
            layer: (!entry.key.layer.is_empty()).then(|| entry.key.layer.clone()),
            several_layers: job.several_layers,
            facts,
            sidecars: sidecars(&dataset, job.dataset, job.files)?,
            publication: metadata::Publication {
                workspace: self.layers.workspace.clone(),
                layer: layer_name.clone(),
                ows_url: format!("{}/ows", self.public_url),
                download_url: None,
            },
            uuid: None,
            modified: modified(job.dataset),
            contact: None,
            language: None,
        };
        let record = metadata::build_record(&input).map_err(fail)?;
        let sld =
            match job.dataset.members.get("sld") {
                Some(file) => Some(std::fs::read(job.files.join(file.name())).map_err(|e| {
                    PublishError(format!("{dataset}: reading its style {}: {e}", file.name()))
                })?),
                None => None,
            };
        let names = Names {
            layer: layer_name.clone(),
            style: sld.is_some().then(|| layer_name.clone()),
            record_uuid: self.catalogue.as_ref().map(|_| record.uuid.clone()),
        };
        let request = LayerRequest {
            dataset,
            layer: layer_name,
            data,
            metadata: LayerMetadata {
                title: record.title.clone(),
                abstract_text: record.abstract_text.clone(),
                keywords: record.keywords.clone(),
                record_url: self.record_url(&record.uuid),
            },
            sld,
        };
        let replaced_uuid = entry
            .publication
            .record_uuid
            .clone()
            .filter(|old| !old.is_empty() && *old != record.uuid);
        Ok(Prepared {
            names,
            request,
            record,
            replaced_uuid,
        })
    }

    /// Where the layer's metadataLink points: the record in the catalogue.
    fn record_url(&self, uuid: &str) -> Option<String> {
        match &self.catalogue_spec {
            CatalogueSpec::GeoNetwork => self
                .geonetwork_url
                .as_ref()
                .map(|gn| format!("{gn}/srv/api/records/{uuid}/formatters/xml")),
            CatalogueSpec::Csw { url, .. } => Some(format!(
                "{}?service=CSW&version=2.0.2&request=GetRecordById&elementSetName=full&outputSchema=http://www.isotc211.org/2005/gmd&id={uuid}",
                url.as_str().trim_end_matches('/')
            )),
            _ => None,
        }
    }

    /// Publishes the layer (GeoServer's REST calls one at a time); returns
    /// GeoServer-side warnings (a malformed SLD replaced by a default style).
    pub async fn publish_layer(&self, prepared: &Prepared) -> Result<Vec<String>, PublishError> {
        let _rest = self.rest.lock().await;
        let published = layer::publish_layer(&self.gs, &self.layers, &prepared.request)
            .await
            .map_err(fail)?;
        Ok(published.warnings)
    }

    /// Puts the record, with the sharing the target's metadata visibility
    /// allows; a record whose uuid changed replaces the old one.
    pub async fn put_record(&self, prepared: &Prepared) -> Result<(), PublishError> {
        let Some(catalogue) = &self.catalogue else {
            return Ok(());
        };
        let sharing = Sharing {
            visibility: self.target.metadata_visibility,
            groups: self.target.metadata_groups.clone(),
        };
        catalogue.put(&prepared.record, &sharing).await.map_err(fail)?;
        if let Some(old) = &prepared.replaced_uuid {
            catalogue
                .remove(&prepared.request.dataset, old)
                .await
                .map_err(fail)?;
        }
        Ok(())
    }

    /// Removes a layer geosync published (and its style, unless another
    /// layer uses it). Absent: success.
    pub async fn remove_layer(&self, dataset: &str, layer: &str, table: &str) -> Result<(), PublishError> {
        let _rest = self.rest.lock().await;
        let kind = if is_raster_path(dataset) {
            PublishedKind::Raster
        } else {
            PublishedKind::Vector {
                table: table.to_string(),
            }
        };
        layer::unpublish_layer(&self.gs, &self.layers, dataset, layer, &kind)
            .await
            .map_err(fail)?;
        Ok(())
    }

    /// Removes a record. Absent: success.
    pub async fn remove_record(&self, dataset: &str, uuid: &str) -> Result<(), PublishError> {
        let Some(catalogue) = &self.catalogue else {
            return Ok(());
        };
        catalogue.remove(dataset, uuid).await.map_err(fail)?;
        Ok(())
    }
}

fn is_raster_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".tif") || lower.ends_with(".tiff")
}

/// The dataset's metadata sidecars, as fetched.
/// The metadata sidecars fetched with the dataset. One that was fetched
/// but cannot be read fails the publication (retried with backoff): a
/// record generated without it would silently replace the author's.
fn sidecars(label: &str, dataset: &Dataset, dir: &Path) -> Result<Vec<Sidecar>, PublishError> {
    dataset
        .members
        .iter()
        .filter(|(ext, _)| {
            super::plan::is_publication_sidecar(ext) && ext.as_str() != "sld" && ext.as_str() != "qml"
        })
        .map(|(_, file)| {
            let bytes = std::fs::read(dir.join(file.name()))
                .map_err(|e| PublishError(format!("{label}: reading its metadata {}: {e}", file.name())))?;
            Ok(Sidecar {
                file_name: file.name().to_string(),
                bytes,
            })
        })
        .collect()
}

/// When the dataset last changed: its newest file.
fn modified(dataset: &Dataset) -> DateTime<Utc> {
    dataset
        .files()
        .filter_map(|f| f.modified)
        .max()
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .unwrap_or_else(|| DateTime::from_timestamp(0, 0).expect("the epoch"))
}

fn raster_facts(entry: &ledger::Entry, dir: &Path) -> Result<(DataFacts, LayerData), PublishError> {
    let geotiff: PathBuf = std::fs::read_dir(dir)
        .ok()
        .and_then(|entries| {
            entries.filter_map(Result::ok).map(|e| e.path()).find(|p| {
                p.extension().is_some_and(|x| x == "tif")
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
        })
        .ok_or_else(|| {
            PublishError(format!(
                "{}: its prepared GeoTIFF is missing from {} (it is prepared again on the next change)",
                entry.key.source_path,
                dir.display()
            ))
        })?;
    let epsg = entry.srid.filter(|s| *s > 0).map(|s| s as u32);
    Ok((
        DataFacts {
            kind: DataKind::Raster,
            bbox_wgs84: None,
            crs: epsg.map(Crs::Epsg),
            geometry_type: None,
            feature_count: None,
        },
        LayerData::Raster {
            geotiff,
            crs: epsg.map(NativeCrs::Epsg),
        },
    ))
}

async fn vector_facts(
    entry: &ledger::Entry,
    pg: &tokio_postgres::Client,
) -> Result<(DataFacts, LayerData), PublishError> {
    let (schema, table) = (&entry.table_schema, &entry.table_name);
    let srid = entry.srid.unwrap_or(0);
    let crs = layer::native_crs(pg, srid).await.map_err(fail)?.ok_or_else(|| {
        PublishError(format!(
            "{}: SRID {srid} is unknown to PostGIS",
            entry.key.source_path
        ))
    })?;
    let geometry = layer::geometry_kind(pg, schema, table).await.map_err(fail)?;
    let (bbox, geometry_type) = extent(pg, schema, table).await;
    let facts = DataFacts {
        kind: DataKind::Vector,
        bbox_wgs84: bbox,
        crs: Some(match &crs {
            NativeCrs::Epsg(code) => Crs::Epsg(*code),
            NativeCrs::Custom { wkt, .. } => Crs::Wkt(wkt.clone()),
        }),
        geometry_type,
        feature_count: entry.features.map(|n| n.max(0) as u64),
    };
    Ok((
        facts,
        LayerData::Vector {
            table: table.clone(),
            crs,
            geometry,
        },
    ))
}

/// The table's extent in WGS84 and its geometry type; None when empty or
/// not transformable (a custom CRS PROJ cannot read).
async fn extent(pg: &tokio_postgres::Client, schema: &str, table: &str) -> (Option<BBox>, Option<String>) {
    let Ok(Some(row)) = pg
        .query_opt(
            "SELECT f_geometry_column::text, srid, type FROM geometry_columns
             WHERE f_table_schema = $1 AND f_table_name = $2 LIMIT 1",
            &[&schema, &table],
        )
        .await
    else {
        return (None, None);
    };
    let (column, srid, kind): (String, i32, String) = (row.get(0), row.get(1), row.get(2));
    let sql = format!(
        "SELECT ST_XMin(b), ST_XMax(b), ST_YMin(b), ST_YMax(b) FROM
         (SELECT ST_Transform(ST_SetSRID(ST_Extent({col})::geometry, {srid}), 4326) AS b FROM {s}.{t}) e
         WHERE b IS NOT NULL",
        col = ledger::quote_ident(&column),
        s = ledger::quote_ident(schema),
        t = ledger::quote_ident(table),
    );
    let bbox = match pg.query_opt(&sql, &[]).await {
        Ok(Some(row)) => BBox {
            west: row.get(0),
            east: row.get(1),
            south: row.get(2),
            north: row.get(3),
        }
        .checked(),
        _ => None,
    };
    (bbox, Some(geometry_type_name(&kind)))
}

/// PostGIS's type (MULTIPOLYGON) as ISO names it (MultiPolygon).
fn geometry_type_name(kind: &str) -> String {
    match kind.to_ascii_uppercase().as_str() {
        "POINT" => "Point",
        "MULTIPOINT" => "MultiPoint",
        "LINESTRING" => "LineString",
        "MULTILINESTRING" => "MultiLineString",
        "POLYGON" => "Polygon",
        "MULTIPOLYGON" => "MultiPolygon",
        _ => "Geometry",
    }
    .to_string()
}
