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
    pub title: String,
    /// e.g. EPSG:2154; None lets GeoServer read it from the table.
    pub srs: Option<String>,
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

/// `ws:layer` for /layers, each part encoded.
fn layer_path(workspace: &str, layer: &str) -> String {
    format!("/layers/{}:{}", segment(workspace), segment(layer))
}

impl Client {
    /// Creates the feature type (and its layer) or updates it, then has
    /// GeoServer recompute both bounding boxes from the data. Returns
    /// whether it was created.
    pub async fn publish_featuretype(&self, spec: &FeatureTypeSpec) -> Result<bool, GeoServerError> {
        checked("workspace", &spec.workspace)?;
        checked("data store", &spec.store)?;
        checked("layer", &spec.name)?;
        let types = format!(
            "{}/datastores/{}/featuretypes",
            ws_path(&spec.workspace),
            segment(&spec.store)
        );
        let one = format!("{types}/{}", segment(&spec.name));
        let mut body = json!({"featureType": {
            "name": spec.name, "nativeName": spec.table, "title": spec.title,
        }});
        if let Some(srs) = &spec.srs {
            body["featureType"]["srs"] = json!(srs);
            body["featureType"]["projectionPolicy"] = json!("FORCE_DECLARED");
        }
        let body = Body::json(&body);
        let exists = self.get_json(&format!("{one}.json")).await?.is_some();
        if !exists {
            let answer = self.send(Method::POST, &types, "text/plain", Some(&body)).await?;
            if answer.status.as_u16() == 201 {
                return Ok(true);
            }
            // Created meanwhile (a retried POST that had gone through): update it.
            if !super::client::is_conflict(&answer) {
                return Err(self.failure(&Method::POST, &types, answer));
            }
        }
        let path = format!("{one}?recalculate=nativebbox,latlonbbox");
        self.expect(Method::PUT, &path, "text/plain", Some(&body), &[200])
            .await?;
        Ok(false)
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
mod emulator;

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
            title: "Écoles de Salins".into(),
            srs: Some("EPSG:2154".into()),
        }
    }

    #[tokio::test]
    async fn a_featuretype_is_created_then_updated_with_both_bboxes_recalculated() {
        let (gs, client) = setup();
        assert!(client.publish_featuretype(&spec("ecoles")).await.unwrap());
        assert!(!client.publish_featuretype(&spec("ecoles")).await.unwrap());
        gs.with(|st| {
            let ft = &st.featuretypes[&("geosync-ouvert".into(), "data".into(), "ecoles".into())];
            assert_eq!(ft.recalculated, ["nativebbox,latlonbbox"]);
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
