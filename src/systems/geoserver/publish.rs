//! The calls the data sync publishes with: a feature type from a PostGIS
//! table, a GeoTIFF coverage store, a layer's default style, a clean
//! layer delete, and what a workspace holds. Each checks names against
//! GeoServer's rules first (a shared file's name is hostile input) and is
//! idempotent: running it again after a failure converges.

use reqwest::Method;
use serde_json::json;

use super::client::{list_names, styles_path, ws_path, Body, Client};
use super::names::{name_problem, segment};
use super::GeoServerError;

/// A feature type to publish from a table of a PostGIS store.
#[derive(Debug, Clone)]
pub struct FeatureTypeSpec {
    pub workspace: String,
    pub store: String,
    /// The layer name.
    pub name: String,
    /// The table it reads.
    pub table: String,
    pub info: ResourceInfo,
}

/// What a feature type and a coverage share: their metadata, CRS and
/// whether they are served.
#[derive(Debug, Clone, Default)]
pub struct ResourceInfo {
    pub title: String,
    pub abstract_text: String,
    pub keywords: Vec<String>,
    pub metadata_links: Vec<MetadataLink>,
    pub crs: DeclaredCrs,
    pub enabled: bool,
}

/// A `metadataLink` of a resource (featuretypes.yaml, FeatureTypeInfo
/// `metadatalinks`: type, metadataType, content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataLink {
    /// The record's media type, e.g. `text/xml`.
    pub media_type: String,
    /// e.g. `ISO19115:2003` (GeoServer's list: ISO19115:2003, FGDC, TC211, 19139, other).
    pub metadata_type: String,
    /// The record's URL.
    pub url: String,
}

/// How a resource's CRS is declared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum DeclaredCrs {
    /// GeoServer reads it from the data (`srs` left out).
    #[default]
    FromData,
    /// `srs = EPSG:<code>`, `projectionPolicy = FORCE_DECLARED`: the data
    /// is served in that CRS whatever its own metadata says.
    Epsg(u32),
    /// A CRS without EPSG code: `nativeCRS` is its WKT and
    /// `projectionPolicy = NONE` ("keep native" in GeoServer's UI; the
    /// enum is FORCE_DECLARED, REPROJECT_TO_DECLARED, NONE), so GeoServer computes with the
    /// WKT; `srs` is the identifier it advertises (`EPSG:<srid>`), which
    /// GeoServer can decode only once the code is defined in its data
    /// directory (`user_projections/epsg.properties`).
    Wkt { srs: String, wkt: String },
}

impl ResourceInfo {
    /// The members of a feature type or coverage document it sets.
    fn fields(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut body = serde_json::Map::new();
        body.insert("title".into(), json!(self.title));
        body.insert("abstract".into(), json!(self.abstract_text));
        body.insert("keywords".into(), json!({"string": self.keywords}));
        let links: Vec<serde_json::Value> = self
            .metadata_links
            .iter()
            .map(|l| json!({"type": l.media_type, "metadataType": l.metadata_type, "content": l.url}))
            .collect();
        body.insert("metadataLinks".into(), json!({"metadataLink": links}));
        body.insert("enabled".into(), json!(self.enabled));
        match &self.crs {
            DeclaredCrs::FromData => {}
            DeclaredCrs::Epsg(code) => {
                body.insert("srs".into(), json!(format!("EPSG:{code}")));
                body.insert("projectionPolicy".into(), json!("FORCE_DECLARED"));
            }
            DeclaredCrs::Wkt { srs, wkt } => {
                body.insert("srs".into(), json!(srs));
                body.insert("nativeCRS".into(), json!(wkt));
                body.insert("projectionPolicy".into(), json!("NONE"));
            }
        }
        body
    }
}

/// What a layer is, as GeoServer describes it (`/layers/{ws:layer}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// VECTOR or RASTER.
    pub kind: String,
    /// `style` or `ws:style`.
    pub default_style: String,
}

/// Whether a style could be deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StyleDeletion {
    Deleted,
    Absent,
    /// GeoServer refused: layers still use it.
    InUse,
}

/// What a published layer reads from, for deleting it cleanly.
#[derive(Debug, Clone)]
pub enum LayerSource {
    FeatureType {
        store: String,
    },
    /// A coverage store holding one uploaded GeoTIFF: deleted with it.
    CoverageStore {
        store: String,
    },
}

/// What a workspace holds, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkspaceContents {
    pub datastores: Vec<String>,
    pub coveragestores: Vec<String>,
    pub featuretypes: Vec<String>,
    pub styles: Vec<String>,
}

fn checked(what: &'static str, name: &str) -> Result<(), GeoServerError> {
    match name_problem(name) {
        Some(problem) => Err(GeoServerError::InvalidName {
            what,
            name: name.escape_debug().to_string(),
            problem,
        }),
        None => Ok(()),
    }
}

fn featuretype_path(workspace: &str, store: &str, name: &str) -> String {
    format!(
        "{}/datastores/{}/featuretypes/{}",
        ws_path(workspace),
        segment(store),
        segment(name)
    )
}

/// The feature types of the spec's store, after checking its names.
fn featuretypes_path(spec: &FeatureTypeSpec) -> Result<String, GeoServerError> {
    checked("workspace", &spec.workspace)?;
    checked("data store", &spec.store)?;
    checked("layer", &spec.name)?;
    Ok(format!(
        "{}/datastores/{}/featuretypes",
        ws_path(&spec.workspace),
        segment(&spec.store)
    ))
}

fn featuretype_body(spec: &FeatureTypeSpec) -> serde_json::Value {
    let mut fields = spec.info.fields();
    fields.insert("name".into(), json!(spec.name));
    fields.insert("nativeName".into(), json!(spec.table));
    json!({ "featureType": fields })
}

/// `ws:layer` for /layers, each part encoded.
fn layer_path(workspace: &str, layer: &str) -> String {
    format!("/layers/{}:{}", segment(workspace), segment(layer))
}

impl Client {
    /// Creates the feature type (and its layer) or updates it, then has
    /// GeoServer recompute both bounding boxes from the data. Returns
    /// whether it was created.
    pub async fn publish_featuretype(&self, spec: &FeatureTypeSpec) -> Result<bool, GeoServerError> {
        let exists = self
            .featuretype_native_name(&spec.workspace, &spec.store, &spec.name)
            .await?
            .is_some();
        let created = !exists && self.create_featuretype(spec).await?;
        self.update_featuretype(spec).await?;
        Ok(created)
    }

    /// The table a feature type of `store` reads (its `nativeName`); None
    /// when the store has no such feature type.
    pub async fn featuretype_native_name(
        &self,
        workspace: &str,
        store: &str,
        name: &str,
    ) -> Result<Option<String>, GeoServerError> {
        checked("workspace", workspace)?;
        checked("data store", store)?;
        checked("layer", name)?;
        let path = format!("{}.json", featuretype_path(workspace, store, name));
        let Some(doc) = self.get_json(&path).await? else {
            return Ok(None);
        };
        let native = doc["featureType"]["nativeName"].as_str().unwrap_or(name);
        Ok(Some(native.to_string()))
    }

    /// POSTs a new feature type (GeoServer computes its bounding boxes
    /// and makes its layer). Returns false when it existed already (a
    /// create whose answer was lost): the caller updates it then.
    pub async fn create_featuretype(&self, spec: &FeatureTypeSpec) -> Result<bool, GeoServerError> {
        let types = featuretypes_path(spec)?;
        let body = Body::json(&featuretype_body(spec));
        let answer = self.send(Method::POST, &types, "text/plain", Some(&body)).await?;
        if answer.status.as_u16() == 201 {
            return Ok(true);
        }
        if super::client::is_conflict(&answer) {
            return Ok(false);
        }
        Err(self.failure(&Method::POST, &types, answer))
    }

    /// PUTs the whole feature type and has GeoServer recompute both
    /// bounding boxes from the data (`recalculate=nativebbox,latlonbbox`).
    pub async fn update_featuretype(&self, spec: &FeatureTypeSpec) -> Result<(), GeoServerError> {
        featuretypes_path(spec)?;
        let one = featuretype_path(&spec.workspace, &spec.store, &spec.name);
        let path = format!("{one}?recalculate=nativebbox,latlonbbox");
        let body = Body::json(&featuretype_body(spec));
        self.expect(Method::PUT, &path, "text/plain", Some(&body), &[200])
            .await?;
        Ok(())
    }

    /// PUTs a coverage's metadata (api-coverages.rst: PUT modifies the
    /// coverage). Its bounding boxes are those GeoServer computed from the
    /// file at upload: the manual documents no `recalculate` for coverages.
    pub async fn update_coverage(
        &self,
        workspace: &str,
        store: &str,
        coverage: &str,
        info: &ResourceInfo,
    ) -> Result<(), GeoServerError> {
        checked("workspace", workspace)?;
        checked("coverage store", store)?;
        checked("coverage", coverage)?;
        let path = format!(
            "{}/coveragestores/{}/coverages/{}",
            ws_path(workspace),
            segment(store),
            segment(coverage)
        );
        let mut fields = info.fields();
        fields.insert("name".into(), json!(coverage));
        let body = Body::json(&json!({ "coverage": fields }));
        self.expect(Method::PUT, &path, "text/plain", Some(&body), &[200])
            .await?;
        Ok(())
    }

    /// The coverages of a coverage store; None when there is no such store.
    pub async fn coverages(
        &self,
        workspace: &str,
        store: &str,
    ) -> Result<Option<Vec<String>>, GeoServerError> {
        checked("workspace", workspace)?;
        checked("coverage store", store)?;
        let path = format!(
            "{}/coveragestores/{}/coverages.json",
            ws_path(workspace),
            segment(store)
        );
        let Some(doc) = self.get_json(&path).await? else {
            return Ok(None);
        };
        Ok(Some(list_names(&doc, "coverages", "coverage")))
    }

    /// Creates or overwrites a coverage store from a GeoTIFF, configuring
    /// its coverage (and layer) under `coverage` on first upload.
    pub async fn upload_geotiff(
        &self,
        workspace: &str,
        store: &str,
        coverage: &str,
        tiff: Vec<u8>,
    ) -> Result<(), GeoServerError> {
        checked("workspace", workspace)?;
        checked("coverage store", store)?;
        checked("coverage", coverage)?;
        let path = format!(
            "{}/coveragestores/{}/file.geotiff?configure=first&coverageName={}",
            ws_path(workspace),
            segment(store),
            segment(coverage)
        );
        let body = Body {
            content_type: "image/tiff",
            bytes: tiff,
        };
        self.expect(Method::PUT, &path, "text/plain", Some(&body), &[200, 201])
            .await?;
        Ok(())
    }

    /// Sets a layer's default style (a global style, or one of `style_workspace`).
    pub async fn set_default_style(
        &self,
        workspace: &str,
        layer: &str,
        style_workspace: Option<&str>,
        style: &str,
    ) -> Result<(), GeoServerError> {
        checked("workspace", workspace)?;
        checked("layer", layer)?;
        checked("style", style)?;
        let mut default_style = json!({"name": style});
        if let Some(ws) = style_workspace {
            checked("workspace", ws)?;
            default_style["workspace"] = json!(ws);
        }
        let body = Body::json(&json!({"layer": {"defaultStyle": default_style}}));
        let path = layer_path(workspace, layer);
        self.expect(Method::PUT, &path, "text/plain", Some(&body), &[200])
            .await?;
        Ok(())
    }

    /// A layer's type and default style; None when there is no such layer.
    pub async fn layer_info(
        &self,
        workspace: &str,
        layer: &str,
    ) -> Result<Option<LayerInfo>, GeoServerError> {
        checked("workspace", workspace)?;
        checked("layer", layer)?;
        let Some(doc) = self
            .get_json(&format!("{}.json", layer_path(workspace, layer)))
            .await?
        else {
            return Ok(None);
        };
        let layer = &doc["layer"];
        Ok(Some(LayerInfo {
            kind: layer["type"].as_str().unwrap_or_default().to_string(),
            default_style: layer["defaultStyle"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        }))
    }

    /// Creates or replaces a workspace style from a style document sent
    /// with its media type (`application/vnd.ogc.sld+xml` for SLD 1.0,
    /// `application/vnd.ogc.se+xml` for SLD 1.1 / SE: api-styles.rst).
    /// The catalog entry comes first, carrying the language version
    /// (GeoServer encodes the style it stores in the entry's version),
    /// then the document is PUT without `raw`: GeoServer parses it and
    /// answers 400 "Invalid style" for one it cannot read (StyleController,
    /// `stylePut`), rather than breaking the layer's rendering later.
    pub async fn put_style_document(
        &self,
        workspace: &str,
        name: &str,
        version: &str,
        content_type: &'static str,
        document: &[u8],
    ) -> Result<(), GeoServerError> {
        checked("workspace", workspace)?;
        checked("style", name)?;
        let list = styles_path(Some(workspace));
        let one = format!("{list}/{}", segment(name));
        let info = Body::json(&json!({"style": {
            "name": name,
            "format": "sld",
            "languageVersion": {"version": version},
            "filename": format!("{name}.sld"),
        }}));
        let current = self.get_json(&format!("{one}.json")).await?;
        let known = current.as_ref().map(|doc| {
            doc["style"]["languageVersion"]["version"]
                .as_str()
                .unwrap_or("1.0.0")
                .to_string()
        });
        match known {
            None => {
                self.expect(Method::POST, &list, "text/plain", Some(&info), &[201])
                    .await?;
            }
            Some(known) if known != version => {
                self.expect(Method::PUT, &one, "text/plain", Some(&info), &[200])
                    .await?;
            }
            Some(_) => {}
        }
        let body = Body {
            content_type,
            bytes: document.to_vec(),
        };
        self.expect(Method::PUT, &one, "text/plain", Some(&body), &[200])
            .await?;
        Ok(())
    }

    /// Deletes a workspace style and its file unless a layer still uses
    /// it: without `recurse` GeoServer refuses with a 403 (api-styles.rst),
    /// which is the check geosync wants.
    pub async fn delete_style_if_unused(
        &self,
        workspace: &str,
        name: &str,
    ) -> Result<StyleDeletion, GeoServerError> {
        checked("workspace", workspace)?;
        checked("style", name)?;
        let path = format!("{}/{}?purge=true", styles_path(Some(workspace)), segment(name));
        let answer = self.send(Method::DELETE, &path, "text/plain", None).await?;
        match answer.status.as_u16() {
            200 | 202 | 204 => Ok(StyleDeletion::Deleted),
            404 => Ok(StyleDeletion::Absent),
            403 => Ok(StyleDeletion::InUse),
            _ => Err(self.failure(&Method::DELETE, &path, answer)),
        }
    }

    /// The layer access rules (`ws.layer.access` -> roles).
    pub async fn acl_rules(&self) -> Result<std::collections::BTreeMap<String, String>, GeoServerError> {
        let path = "/security/acl/layers.json";
        let doc = self.get_json(path).await?.unwrap_or_default();
        let Some(map) = doc.as_object() else {
            return Ok(Default::default());
        };
        Ok(map
            .iter()
            .filter_map(|(rule, roles)| Some((rule.clone(), roles.as_str()?.to_string())))
            .collect())
    }

    /// Adds (`exists` false) or changes one layer access rule.
    pub async fn put_acl_rule(&self, rule: &str, roles: &str, exists: bool) -> Result<(), GeoServerError> {
        let body = Body::json(&json!({ rule: roles }));
        let method = if exists { Method::PUT } else { Method::POST };
        let path = "/security/acl/layers";
        self.expect(method, path, "text/plain", Some(&body), &[200, 201])
            .await?;
        Ok(())
    }

    /// Deletes a layer, then what it read (its feature type, or its
    /// coverage store and uploaded file); whatever is already gone is
    /// skipped, so a second call after a failure finishes the job.
    pub async fn delete_layer(
        &self,
        workspace: &str,
        layer: &str,
        source: &LayerSource,
    ) -> Result<(), GeoServerError> {
        checked("workspace", workspace)?;
        checked("layer", layer)?;
        self.delete(&layer_path(workspace, layer), &[]).await?;
        match source {
            LayerSource::FeatureType { store } => {
                checked("data store", store)?;
                let path = format!(
                    "{}/datastores/{}/featuretypes/{}",
                    ws_path(workspace),
                    segment(store),
                    segment(layer)
                );
                self.delete(&path, &[]).await
            }
            LayerSource::CoverageStore { store } => {
                checked("coverage store", store)?;
                let store_path = format!("{}/coveragestores/{}", ws_path(workspace), segment(store));
                let coverage = format!("{store_path}/coverages/{}", segment(layer));
                self.delete(&coverage, &[]).await?;
                self.delete(&format!("{store_path}?purge=all"), &[]).await
            }
        }
    }

    /// The stores, feature types and styles of a workspace: four list calls.
    pub async fn list_workspace(&self, workspace: &str) -> Result<WorkspaceContents, GeoServerError> {
        checked("workspace", workspace)?;
        let ws = ws_path(workspace);
        let list = |path: String, outer: &'static str, inner: &'static str| async move {
            let doc = self.get_json(&path).await?.unwrap_or_default();
            Ok::<_, GeoServerError>(list_names(&doc, outer, inner))
        };
        let (datastores, coveragestores, featuretypes, styles) = futures::try_join!(
            list(format!("{ws}/datastores.json"), "dataStores", "dataStore"),
            list(
                format!("{ws}/coveragestores.json"),
                "coverageStores",
                "coverageStore"
            ),
            list(format!("{ws}/featuretypes.json"), "featureTypes", "featureType"),
            list(
                format!("{}.json", styles_path(Some(workspace))),
                "styles",
                "style"
            ),
        )?;
        Ok(WorkspaceContents {
            datastores,
            coveragestores,
            featuretypes,
            styles,
        })
    }
}

#[cfg(test)]
#[path = "../../../tests/emulators/geoserver/mod.rs"]
pub(crate) mod emulator;

/// The publishing calls against the GeoServer emulator: GeoServer cannot
/// run on the test machines.
#[cfg(test)]
mod tests {
    use super::emulator::{Config, DataStore, Emulator, Style, Workspace};
    use super::*;
    use crate::manifest::secret::Secret;
    use crate::systems::geoserver::manifest::{Auth, GsConnection};

    fn setup() -> (Emulator, Client) {
        let gs = Emulator::start(Config::default());
        gs.with(|st| {
            st.workspaces
                .insert("geosync-ouvert".into(), Workspace::default());
            st.datastores
                .insert(("geosync-ouvert".into(), "data".into()), DataStore::default());
            st.styles.insert((None, "roads".into()), Style::default());
        });
        let connection = GsConnection {
            url: gs.url.clone(),
            auth: Auth::Basic {
                user: "admin".into(),
                password: Secret::from_env_file("geoserver".into()),
            },
            retries: 0,
            ..GsConnection::default()
        };
        (gs, Client::new(&connection).unwrap())
    }

    fn spec(name: &str) -> FeatureTypeSpec {
        FeatureTypeSpec {
            workspace: "geosync-ouvert".into(),
            store: "data".into(),
            name: name.into(),
            table: name.to_lowercase(),
            info: ResourceInfo {
                title: "Écoles de Salins".into(),
                crs: DeclaredCrs::Epsg(2154),
                enabled: true,
                ..ResourceInfo::default()
            },
        }
    }

    #[tokio::test]
    async fn a_featuretype_is_created_then_updated_with_both_bboxes_recalculated() {
        let (gs, client) = setup();
        assert!(client.publish_featuretype(&spec("ecoles")).await.unwrap());
        assert!(!client.publish_featuretype(&spec("ecoles")).await.unwrap());
        gs.with(|st| {
            let ft = &st.featuretypes[&("geosync-ouvert".into(), "data".into(), "ecoles".into())];
            // Created, then updated with its boxes recomputed each time.
            assert_eq!(ft.recalculated, ["nativebbox,latlonbbox"; 2]);
            assert_eq!(ft.srs.as_deref(), Some("EPSG:2154"));
            assert!(st
                .layers
                .contains_key(&("geosync-ouvert".into(), "ecoles".into())));
        });
    }

    #[tokio::test]
    async fn a_featuretype_created_by_a_lost_answer_is_updated_not_duplicated() {
        let (gs, client) = setup();
        // The first POST went through but its answer was lost: GeoServer
        // now answers the duplicate with a 500 "already exists".
        gs.with(|st| {
            st.featuretypes.insert(
                ("geosync-ouvert".into(), "data".into(), "ecoles".into()),
                Default::default(),
            );
            st.faults.push(super::emulator::Fault {
                method: reqwest::Method::GET,
                path: "/featuretypes/ecoles.json".into(),
                status: 404,
                body: "No such feature type".into(),
                times: 1,
                after: false,
            });
        });
        assert!(!client.publish_featuretype(&spec("ecoles")).await.unwrap());
    }

    #[tokio::test]
    async fn a_geotiff_becomes_a_coverage_store_with_its_layer_and_a_bad_file_is_refused() {
        let (gs, client) = setup();
        let mut tiff = b"II*\0".to_vec();
        tiff.extend_from_slice(&[0; 64]);
        client
            .upload_geotiff("geosync-ouvert", "mnt", "mnt", tiff.clone())
            .await
            .unwrap();
        client
            .upload_geotiff("geosync-ouvert", "mnt", "mnt", tiff)
            .await
            .unwrap();
        assert!(gs.with(|st| st.layers[&("geosync-ouvert".into(), "mnt".into())].raster));
        let err = client
            .upload_geotiff("geosync-ouvert", "bad", "bad", b"not a tiff".to_vec())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("PUT http://127.0.0.1:"), "{err}");
        assert!(err.contains("file.geotiff") && err.contains("HTTP 500"), "{err}");
    }

    #[tokio::test]
    async fn default_style_delete_and_listing() {
        let (gs, client) = setup();
        client.publish_featuretype(&spec("ecoles")).await.unwrap();
        client
            .set_default_style("geosync-ouvert", "ecoles", None, "roads")
            .await
            .unwrap();
        assert_eq!(
            gs.with(|st| st.layers[&("geosync-ouvert".into(), "ecoles".into())]
                .default_style
                .clone()),
            "roads"
        );
        assert!(client
            .set_default_style("geosync-ouvert", "ecoles", None, "missing")
            .await
            .is_err());
        let contents = client.list_workspace("geosync-ouvert").await.unwrap();
        assert_eq!(contents.featuretypes, ["ecoles"]);
        assert_eq!(contents.datastores, ["data"]);
        assert!(contents.coveragestores.is_empty());
        let source = LayerSource::FeatureType { store: "data".into() };
        client
            .delete_layer("geosync-ouvert", "ecoles", &source)
            .await
            .unwrap();
        // Already gone: success, so an interrupted delete can be finished.
        client
            .delete_layer("geosync-ouvert", "ecoles", &source)
            .await
            .unwrap();
        assert!(gs.with(|st| st.featuretypes.is_empty() && st.layers.is_empty()));
        assert!(client
            .list_workspace("geosync-ouvert")
            .await
            .unwrap()
            .featuretypes
            .is_empty());
    }

    #[tokio::test]
    async fn a_raster_layer_is_deleted_with_its_store() {
        let (gs, client) = setup();
        client
            .upload_geotiff("geosync-ouvert", "mnt", "mnt", b"MM\0*rest".to_vec())
            .await
            .unwrap();
        let source = LayerSource::CoverageStore { store: "mnt".into() };
        client
            .delete_layer("geosync-ouvert", "mnt", &source)
            .await
            .unwrap();
        assert!(gs.with(|st| st.coveragestores.is_empty() && st.layers.is_empty()));
    }

    #[tokio::test]
    async fn hostile_names_are_refused_before_any_request() {
        let (gs, client) = setup();
        gs.clear_requests();
        for bad in ["a b", "l'eau", "x/../y", "ws:layer", ""] {
            let err = client.publish_featuretype(&spec(bad)).await.unwrap_err();
            assert!(matches!(err, GeoServerError::InvalidName { .. }), "{bad}: {err}");
        }
        assert_eq!(gs.request_count(), 0);
        // Accented names are legal, sent percent-encoded.
        assert!(client.publish_featuretype(&spec("écoles")).await.unwrap());
        assert!(gs.with(|st| st.requests.iter().any(|(_, p)| p.contains("%C3%A9coles"))));
    }
}
