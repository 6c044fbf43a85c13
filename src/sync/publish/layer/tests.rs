//! Publishing against the GeoServer emulator (GeoServer cannot run on the
//! test machines) with the datasets loaded by the real loader into the
//! real PostGIS that tests/run starts (tests/peers/postgres.sh): what a
//! GeoServer administrator would check in the layer's page afterwards.
//! They live here, as unit tests of the binary, because the sync is a
//! library inside it.

use crate::sync::load::tests::connect;
use std::path::{Path, PathBuf};

use super::*;
use crate::manifest::secret::Secret;
use crate::sync::load::{load_vector, prepare_raster, Input, Kind, Target};
use crate::systems::geoserver::manifest::{Auth, GsConnection};
use crate::systems::geoserver::publish::emulator::{Config, DataStore, Emulator, State, Workspace};

const WS: &str = "geosync-ouvert";
const STORE: &str = "geosync_data";

fn corpus(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/gesync-corpus/valid")
        .join(path)
}

fn geoserver() -> (Emulator, Client) {
    let gs = Emulator::start(Config::default());
    gs.with(|st| {
        st.workspaces.insert(WS.into(), Workspace::default());
        st.datastores
            .insert((WS.into(), STORE.into()), DataStore::default());
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
    let client = Client::new(&connection).unwrap();
    (gs, client)
}

fn target(access: Access) -> LayerTarget {
    LayerTarget {
        workspace: WS.into(),
        datastore: STORE.into(),
        access,
    }
}

fn restricted() -> Access {
    Access::Restricted {
        roles: vec![AUTHENTICATED.into()],
    }
}

fn metadata() -> LayerMetadata {
    LayerMetadata {
        title: "Emprise LiDAR 2025".into(),
        abstract_text: "Zones couvertes par le vol LiDAR.".into(),
        keywords: vec!["lidar".into(), "Salins".into()],
        record_url: Some("http://127.0.0.1:8080/geonetwork/srv/api/records/3f0c/formatters/xml".into()),
    }
}

/// A database of its own with PostGIS and schema `data`.
async fn fresh_db(name: &str) -> tokio_postgres::Client {
    let db = format!("gs_publish_{name}_{}", std::process::id());
    let admin = connect("postgres").await;
    for sql in [
        format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        format!("CREATE DATABASE {db}"),
    ] {
        admin.batch_execute(&sql).await.unwrap();
    }
    let client = connect(&db).await;
    client
        .batch_execute("CREATE EXTENSION postgis; CREATE SCHEMA data;")
        .await
        .unwrap();
    client
}

/// Loads a corpus shapefile as the sync would, and describes it for
/// publishing as the sync pass will: CRS and geometry from PostGIS.
async fn loaded(pg: &mut tokio_postgres::Client, shp: &str, table: &str) -> LayerData {
    let main = corpus(shp);
    let stem = main.file_stem().unwrap().to_string_lossy().to_lowercase();
    let members = std::fs::read_dir(main.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| *p != main)
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_lowercase();
            name.starts_with(&format!("{stem}."))
        })
        .collect();
    let input = Input {
        source_path: shp.into(),
        main,
        members,
        kind: Kind::Vector,
        layer: None,
        fingerprint: "v1".into(),
    };
    let target = Target {
        schema: "data".into(),
        table: table.into(),
        default_srid: None,
    };
    let report = load_vector(pg, &input, &target)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    LayerData::Vector {
        table: table.into(),
        crs: native_crs(&*pg, report.srid)
            .await
            .unwrap()
            .expect("a known SRID"),
        geometry: geometry_kind(&*pg, "data", table).await.unwrap(),
    }
}

fn request(dataset: &str, layer: &str, data: LayerData, sld: Option<Vec<u8>>) -> LayerRequest {
    LayerRequest {
        dataset: dataset.into(),
        layer: layer.into(),
        data,
        metadata: metadata(),
        sld,
    }
}

/// The index of the first request whose "METHOD path" starts with `prefix`.
fn position(st: &State, prefix: &str) -> usize {
    st.requests
        .iter()
        .position(|(m, p)| format!("{m} {p}").starts_with(prefix))
        .unwrap_or_else(|| panic!("no request {prefix} in {:#?}", st.requests))
}

const QGIS: &str = "200_metadata_xml_QGIS_gmd/200_metadata_xml_QGIS_gmd";

/// The QGIS case (Lambert-93 polygons with an SE 1.1 SLD) loaded into
/// PostGIS as `emprise` and published in a public target.
async fn published_qgis_case(db: &str) -> (Emulator, Client, LayerRequest, Published) {
    let mut pg = fresh_db(db).await;
    let data = loaded(&mut pg, &format!("{QGIS}.shp"), "emprise").await;
    assert_eq!(
        data,
        LayerData::Vector {
            table: "emprise".into(),
            crs: NativeCrs::Epsg(2154),
            geometry: GeometryKind::Polygon
        }
    );
    let sld = std::fs::read(corpus(&format!("{QGIS}.sld"))).unwrap();
    let (gs, client) = geoserver();
    let req = request(&format!("{QGIS}.shp"), "emprise", data, Some(sld));
    let published = publish_layer(&client, &target(Access::Public), &req)
        .await
        .unwrap();
    (gs, client, req, published)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loaded_shapefile_is_published_with_its_metadata_crs_and_se_style() {
    let (gs, _client, _req, published) = published_qgis_case("qgis").await;
    assert_eq!(published.layer, "geosync-ouvert:emprise");
    assert!(published.created);
    assert!(published.warnings.is_empty(), "{:?}", published.warnings);
    assert_eq!(
        published.style,
        StyleChoice::Dataset {
            name: "geosync-ouvert:emprise".into(),
            version: SldVersion::V1_1
        }
    );
    gs.with(|st| {
        let ft = &st.featuretypes[&(WS.into(), STORE.into(), "emprise".into())];
        assert_eq!(ft.native_name, "emprise");
        assert_eq!(ft.srs.as_deref(), Some("EPSG:2154"));
        assert_eq!(ft.info.projection_policy.as_deref(), Some("FORCE_DECLARED"));
        assert_eq!(ft.title, "Emprise LiDAR 2025");
        assert_eq!(
            ft.info.abstract_text.as_deref(),
            Some("Zones couvertes par le vol LiDAR.")
        );
        assert_eq!(ft.info.keywords, ["lidar", "Salins"]);
        assert_eq!(
            ft.info.metadata_links,
            [(
                "text/xml".to_string(),
                "ISO19115:2003".to_string(),
                metadata().record_url.unwrap()
            )]
        );
        assert!(ft.info.enabled);
        assert_eq!(ft.recalculated, ["nativebbox,latlonbbox"]);
        let layer = &st.layers[&(WS.into(), "emprise".into())];
        assert_eq!(layer.default_style, "geosync-ouvert:emprise");
        // Uploaded as SE 1.1 (application/vnd.ogc.se+xml): GeoServer
        // records the version from the media type.
        let style = &st.styles[&(Some(WS.into()), "emprise".into())];
        assert_eq!(style.version, "1.1.0");
        assert!(style.content.as_ref().unwrap().contains("lidar_emprise"));
        assert_eq!(st.acl.get("geosync-ouvert.*.r").map(String::as_str), Some("*"));
        // Created disabled, enabled by the last request once styled.
        let created = position(
            st,
            "POST /geoserver/rest/workspaces/geosync-ouvert/datastores/geosync_data/featuretypes",
        );
        let styled = position(st, "PUT /geoserver/rest/layers/geosync-ouvert:emprise");
        let enabled = position(
            st,
            "PUT /geoserver/rest/workspaces/geosync-ouvert/datastores/geosync_data/featuretypes/emprise",
        );
        assert!(created < styled && styled < enabled, "{:#?}", st.requests);
    });
}

/// The SLD changes (same version): the style is replaced, not duplicated,
/// and the layer updated in place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn republishing_after_an_sld_change_replaces_the_style_in_place() {
    let (gs, client, req, _) = published_qgis_case("qgis_again").await;
    let changed = String::from_utf8(req.sld.clone().unwrap())
        .unwrap()
        .replace("lidar_emprise", "emprise_2026");
    let mut again = req.clone();
    again.sld = Some(changed.into_bytes());
    again.metadata.title = "Emprise LiDAR 2026".into();
    let republished = publish_layer(&client, &target(Access::Public), &again)
        .await
        .unwrap();
    assert!(!republished.created);
    gs.with(|st| {
        let styles: Vec<_> = st.styles.keys().filter(|(w, _)| w.is_some()).collect();
        assert_eq!(styles.len(), 1, "{styles:?}");
        let style = &st.styles[&(Some(WS.into()), "emprise".into())];
        assert!(style.content.as_ref().unwrap().contains("emprise_2026"));
        let ft = &st.featuretypes[&(WS.into(), STORE.into(), "emprise".into())];
        assert_eq!(ft.title, "Emprise LiDAR 2026");
        assert_eq!(ft.recalculated.len(), 2);
        assert_eq!(st.layers.len(), 1);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_sld_each_geometry_gets_geoservers_builtin_style() {
    let mut pg = fresh_db("builtin").await;
    let (gs, client) = geoserver();
    let cases = [
        ("220_sld_shp_point/220_test_sld_shp_point.shp", "points", "point"),
        ("230_sld_shp_line/230_test_sld_shp_line.shp", "lignes", "line"),
        (&format!("{QGIS}.shp") as &str, "surfaces", "polygon"),
    ];
    for (shp, table, style) in cases {
        let data = loaded(&mut pg, shp, table).await;
        let published = publish_layer(&client, &target(Access::Public), &request(shp, table, data, None))
            .await
            .unwrap();
        assert_eq!(published.style, StyleChoice::Builtin(style), "{shp}");
        let default = gs.with(|st| st.layers[&(WS.into(), table.into())].default_style.clone());
        assert_eq!(default, style, "{shp}");
    }
    assert!(gs.with(|st| st.styles.keys().all(|(w, _)| w.is_none())));
}

#[tokio::test]
async fn a_malformed_sld_leaves_the_layer_published_with_the_default_style_and_a_warning() {
    let (gs, client) = geoserver();
    let data = LayerData::Vector {
        table: "routes".into(),
        crs: NativeCrs::Epsg(2154),
        geometry: GeometryKind::Line,
    };
    // First a good SLD, then a broken one: the old style must not linger.
    let good = std::fs::read(corpus("230_sld_shp_line/230_test_sld_shp_line.sld")).unwrap();
    let mut req = request("voirie/routes.shp", "routes", data, Some(good));
    let first = publish_layer(&client, &target(Access::Public), &req)
        .await
        .unwrap();
    assert!(matches!(
        first.style,
        StyleChoice::Dataset {
            version: SldVersion::V1_0,
            ..
        }
    ));
    assert_eq!(
        gs.with(|st| st.styles[&(Some(WS.into()), "routes".into())].version.clone()),
        "1.0.0"
    );
    req.sld = Some(b"<StyledLayerDescriptor version=\"1.0.0\"><NamedLayer>".to_vec());
    let published = publish_layer(&client, &target(Access::Public), &req)
        .await
        .unwrap();
    assert_eq!(published.style, StyleChoice::Builtin("line"));
    assert_eq!(published.warnings.len(), 1);
    let warning = &published.warnings[0];
    assert!(
        warning.starts_with("voirie/routes.shp: its SLD style is not usable"),
        "{warning}"
    );
    assert!(warning.contains("`line`"), "{warning}");
    gs.with(|st| {
        assert_eq!(st.layers[&(WS.into(), "routes".into())].default_style, "line");
        assert!(
            st.featuretypes[&(WS.into(), STORE.into(), "routes".into())]
                .info
                .enabled
        );
        assert!(!st.styles.contains_key(&(Some(WS.into()), "routes".into())));
    });
}

#[tokio::test]
async fn geoservers_refusal_of_an_sld_is_a_warning_too() {
    let (gs, client) = geoserver();
    gs.with(|st| {
        st.faults
            .push(crate::systems::geoserver::publish::emulator::Fault {
                // The document's PUT (GET .json and the entry's POST pass).
                method: reqwest::Method::PUT,
                path: "/workspaces/geosync-ouvert/styles/routes".into(),
                status: 400,
                body: "Invalid style: unknown element".into(),
                times: 1,
                after: false,
            })
    });
    let data = LayerData::Vector {
        table: "routes".into(),
        crs: NativeCrs::Epsg(2154),
        geometry: GeometryKind::Point,
    };
    let sld = std::fs::read(corpus("220_sld_shp_point/220_test_sld_shp_point.sld")).unwrap();
    let published = publish_layer(
        &client,
        &target(Access::Public),
        &request("a/routes.shp", "routes", data, Some(sld)),
    )
    .await
    .unwrap();
    assert_eq!(published.style, StyleChoice::Builtin("point"));
    assert!(
        published.warnings[0].contains("GeoServer refused it: Invalid style"),
        "{:?}",
        published.warnings
    );
    // The catalog entry made before the refused document does not linger.
    assert!(!gs.with(|st| st.styles.contains_key(&(Some(WS.into()), "routes".into()))));
}

#[tokio::test]
async fn a_restricted_target_has_its_rule_before_any_layer_and_never_opens_one() {
    let (gs, client) = geoserver();
    let data = LayerData::Vector {
        table: "parcelles".into(),
        crs: NativeCrs::Epsg(2154),
        geometry: GeometryKind::Polygon,
    };
    let req = request("cadastre/parcelles.shp", "parcelles", data, None);
    publish_layer(&client, &target(restricted()), &req).await.unwrap();
    gs.with(|st| {
        assert_eq!(st.acl["geosync-ouvert.*.r"], "ROLE_AUTHENTICATED");
        let rule = position(st, "POST /geoserver/rest/security/acl/layers");
        let layer = position(st, "POST /geoserver/rest/workspaces/geosync-ouvert/datastores");
        assert!(rule < layer, "{:#?}", st.requests);
    });
    // Again: the rule is read, not rewritten.
    gs.clear_requests();
    publish_layer(&client, &target(restricted()), &req).await.unwrap();
    assert!(
        gs.writes().iter().all(|w| !w.contains("/security/")),
        "{:?}",
        gs.writes()
    );

    // Going public rewrites the rule; back to restricted, too.
    publish_layer(&client, &target(Access::Public), &req)
        .await
        .unwrap();
    assert_eq!(gs.with(|st| st.acl["geosync-ouvert.*.r"].clone()), "*");
    publish_layer(&client, &target(restricted()), &req).await.unwrap();
    assert_eq!(
        gs.with(|st| st.acl["geosync-ouvert.*.r"].clone()),
        "ROLE_AUTHENTICATED"
    );

    // A layer rule opening one layer to all: that layer is not published.
    gs.with(|st| st.acl.insert("geosync-ouvert.ouvert.r".into(), "*".into()));
    let mut open = req.clone();
    open.layer = "ouvert".into();
    open.data = LayerData::Vector {
        table: "ouvert".into(),
        crs: NativeCrs::Epsg(2154),
        geometry: GeometryKind::Point,
    };
    let error = publish_layer(&client, &target(restricted()), &open)
        .await
        .unwrap_err();
    assert!(matches!(error, LayerError::Exposed { .. }), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("cadastre/parcelles.shp: layer ouvert: the rule geosync-ouvert.ouvert.r = *"),
        "{error}"
    );
    assert!(!gs.with(|st| st.layers.contains_key(&(WS.into(), "ouvert".into()))));
    // And roles that would mean everyone are refused before any request.
    gs.clear_requests();
    let star = target(Access::Restricted {
        roles: vec!["*".into()],
    });
    assert!(matches!(
        publish_layer(&client, &star, &req).await,
        Err(LayerError::Roles { .. })
    ));
    let mut dotted = target(restricted());
    dotted.workspace = "it.geosolutions".into();
    assert!(matches!(
        publish_layer(&client, &dotted, &req).await,
        Err(LayerError::RuleName { .. })
    ));
    assert_eq!(gs.request_count(), 0);
}

#[tokio::test]
async fn unpublishing_removes_the_layer_then_its_style_and_twice_is_fine() {
    let (gs, client) = geoserver();
    let data = LayerData::Vector {
        table: "ecoles".into(),
        crs: NativeCrs::Epsg(2154),
        geometry: GeometryKind::Point,
    };
    let sld = std::fs::read(corpus("220_sld_shp_point/220_test_sld_shp_point.sld")).unwrap();
    let t = target(Access::Public);
    publish_layer(&client, &t, &request("e/ecoles.shp", "ecoles", data, Some(sld)))
        .await
        .unwrap();
    gs.clear_requests();
    let kind = PublishedKind::Vector {
        table: "ecoles".into(),
    };
    let gone = unpublish_layer(&client, &t, "e/ecoles.shp", "ecoles", &kind)
        .await
        .unwrap();
    assert_eq!(
        gone,
        Unpublished {
            removed: true,
            style: StyleDeletion::Deleted
        }
    );
    let writes = gs.writes();
    let order: Vec<&str> = writes.iter().map(String::as_str).collect();
    assert_eq!(
        order,
        [
            "DELETE /geoserver/rest/layers/geosync-ouvert:ecoles",
            "DELETE /geoserver/rest/workspaces/geosync-ouvert/datastores/geosync_data/featuretypes/ecoles",
            "DELETE /geoserver/rest/workspaces/geosync-ouvert/styles/ecoles?purge=true",
        ]
    );
    gs.with(|st| {
        assert!(st.layers.is_empty() && st.featuretypes.is_empty());
        assert!(st.styles.keys().all(|(w, _)| w.is_none()));
    });
    let again = unpublish_layer(&client, &t, "e/ecoles.shp", "ecoles", &kind)
        .await
        .unwrap();
    assert_eq!(
        again,
        Unpublished {
            removed: false,
            style: StyleDeletion::Absent
        }
    );
}

#[tokio::test]
async fn layers_geosync_did_not_publish_are_left_alone() {
    let (gs, client) = geoserver();
    let t = target(Access::Public);
    // Someone's feature type of the same name reads another table.
    let theirs = FeatureTypeSpec {
        workspace: WS.into(),
        store: STORE.into(),
        name: "communes".into(),
        table: "communes_ign".into(),
        info: ResourceInfo {
            enabled: true,
            ..ResourceInfo::default()
        },
    };
    client.publish_featuretype(&theirs).await.unwrap();
    let kind = PublishedKind::Vector {
        table: "communes".into(),
    };
    let error = unpublish_layer(&client, &t, "c/communes.shp", "communes", &kind)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("its feature type reads table `communes_ign`, not `communes`"),
        "{error}"
    );
    let data = LayerData::Vector {
        table: "communes".into(),
        crs: NativeCrs::Epsg(2154),
        geometry: GeometryKind::Polygon,
    };
    let error = publish_layer(&client, &t, &request("c/communes.shp", "communes", data, None))
        .await
        .unwrap_err();
    assert!(matches!(error, LayerError::NotOurs { .. }), "{error}");
    // A raster layer of that name, unpublished as a vector: not touched either.
    client
        .upload_geotiff(WS, "mnt", "mnt", b"II*\0rest".to_vec())
        .await
        .unwrap();
    let kind = PublishedKind::Vector { table: "mnt".into() };
    let error = unpublish_layer(&client, &t, "m/mnt.shp", "mnt", &kind)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("a raster layer of that name exists"),
        "{error}"
    );
    gs.with(|st| {
        assert!(st.layers.contains_key(&(WS.into(), "communes".into())));
        assert!(st.layers.contains_key(&(WS.into(), "mnt".into())));
    });
}

#[tokio::test]
async fn a_custom_crs_is_declared_by_its_wkt_with_a_warning() {
    let (gs, client) = geoserver();
    let wkt = "PROJCS[\"unnamed\",GEOGCS[\"GRS 1980(IUGG, 1980)\"]]";
    let data = LayerData::Vector {
        table: "ile".into(),
        crs: NativeCrs::Custom {
            srid: 940_001,
            wkt: wkt.into(),
        },
        geometry: GeometryKind::Polygon,
    };
    let published = publish_layer(
        &client,
        &target(Access::Public),
        &request("x/ile.shp", "ile", data, None),
    )
    .await
    .unwrap();
    assert_eq!(published.warnings.len(), 1, "{:?}", published.warnings);
    assert!(published.warnings[0].contains("user_projections/epsg.properties"));
    gs.with(|st| {
        let ft = &st.featuretypes[&(WS.into(), STORE.into(), "ile".into())];
        assert_eq!(ft.srs.as_deref(), Some("EPSG:940001"));
        assert_eq!(ft.info.native_crs.as_deref(), Some(wkt));
        assert_eq!(ft.info.projection_policy.as_deref(), Some("NONE"));
    });
}

#[tokio::test]
async fn a_raster_is_published_as_a_coverage_store_with_its_metadata() {
    let out = tempfile::tempdir().unwrap();
    let tif = corpus("040_raster_tif/040_test_raster_tif.tif");
    let input = Input {
        source_path: "040_raster_tif/040_test_raster_tif.tif".into(),
        main: tif,
        members: Vec::new(),
        kind: Kind::Raster,
        layer: None,
        fingerprint: "r1".into(),
    };
    let report = prepare_raster(&input, out.path()).unwrap();
    let (gs, client) = geoserver();
    let data = LayerData::Raster {
        geotiff: report.path.clone(),
        crs: report.epsg.map(NativeCrs::Epsg),
    };
    let req = request(&input.source_path, "mnt_salins", data, None);
    let t = target(restricted());
    let published = publish_layer(&client, &t, &req).await.unwrap();
    assert!(published.created);
    assert_eq!(published.style, StyleChoice::Builtin("raster"));
    let size = std::fs::metadata(&report.path).unwrap().len() as usize;
    gs.with(|st| {
        let store = &st.coveragestores[&(WS.into(), "mnt_salins".into())];
        assert_eq!(store.bytes, size);
        assert_eq!(store.coverages, ["mnt_salins"]);
        let (title, meta) = &store.info["mnt_salins"];
        assert_eq!(title, "Emprise LiDAR 2025");
        assert_eq!(meta.keywords, ["lidar", "Salins"]);
        assert_eq!(meta.metadata_links.len(), 1);
        let layer = &st.layers[&(WS.into(), "mnt_salins".into())];
        assert!(layer.raster);
        assert_eq!(layer.default_style, "raster");
        let rule = position(st, "POST /geoserver/rest/security/acl/layers");
        let upload = position(
            st,
            "PUT /geoserver/rest/workspaces/geosync-ouvert/coveragestores/mnt_salins/file.geotiff",
        );
        assert!(rule < upload);
    });
    // A new version of the file: the store is made again from it (so its
    // extent is the new file's), the layer keeps its metadata and style.
    gs.clear_requests();
    assert!(!publish_layer(&client, &t, &req).await.unwrap().created);
    gs.with(|st| {
        let deleted = position(
            st,
            "DELETE /geoserver/rest/workspaces/geosync-ouvert/coveragestores/mnt_salins?purge=all",
        );
        let uploaded = position(
            st,
            "PUT /geoserver/rest/workspaces/geosync-ouvert/coveragestores/mnt_salins/file.geotiff",
        );
        assert!(deleted < uploaded);
        assert_eq!(st.coveragestores.len(), 1);
        assert_eq!(
            st.coveragestores[&(WS.into(), "mnt_salins".into())].info["mnt_salins"].0,
            "Emprise LiDAR 2025"
        );
        assert_eq!(
            st.layers[&(WS.into(), "mnt_salins".into())].default_style,
            "raster"
        );
    });
    let gone = unpublish_layer(
        &client,
        &t,
        &input.source_path,
        "mnt_salins",
        &PublishedKind::Raster,
    )
    .await
    .unwrap();
    assert!(gone.removed);
    assert!(gs.with(|st| st.coveragestores.is_empty() && st.layers.is_empty()));
}

#[tokio::test]
async fn a_publication_cut_short_serves_nothing_and_the_next_run_finishes_it() {
    let (gs, client) = geoserver();
    // GeoServer fails while the style is being set: the new layer exists
    // but stays disabled, so nothing half-configured is served.
    gs.fail(reqwest::Method::PUT, "/layers/geosync-ouvert:gares", 503, 1);
    let data = LayerData::Vector {
        table: "gares".into(),
        crs: NativeCrs::Epsg(2154),
        geometry: GeometryKind::Point,
    };
    let sld = std::fs::read(corpus("220_sld_shp_point/220_test_sld_shp_point.sld")).unwrap();
    let req = request("t/gares.shp", "gares", data, Some(sld));
    let error = publish_layer(&client, &target(restricted()), &req)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("t/gares.shp: layer gares: setting the default style: PUT http://127.0.0.1:"),
        "{error}"
    );
    gs.with(|st| {
        assert!(
            !st.featuretypes[&(WS.into(), STORE.into(), "gares".into())]
                .info
                .enabled
        )
    });
    let published = publish_layer(&client, &target(restricted()), &req).await.unwrap();
    assert!(!published.created);
    gs.with(|st| {
        assert!(
            st.featuretypes[&(WS.into(), STORE.into(), "gares".into())]
                .info
                .enabled
        );
        assert_eq!(
            st.layers[&(WS.into(), "gares".into())].default_style,
            "geosync-ouvert:gares"
        );
        assert_eq!(st.featuretypes.len(), 1);
    });
}

#[tokio::test]
async fn a_style_rewritten_in_se_changes_its_version_in_place() {
    let (gs, client) = geoserver();
    let data = LayerData::Vector {
        table: "lignes".into(),
        crs: NativeCrs::Epsg(2154),
        geometry: GeometryKind::Line,
    };
    let v10 = std::fs::read(corpus("230_sld_shp_line/230_test_sld_shp_line.sld")).unwrap();
    let mut req = request("l/lignes.shp", "lignes", data, Some(v10));
    publish_layer(&client, &target(Access::Public), &req)
        .await
        .unwrap();
    let version = || gs.with(|st| st.styles[&(Some(WS.into()), "lignes".into())].version.clone());
    assert_eq!(version(), "1.0.0");
    req.sld = Some(std::fs::read(corpus(&format!("{QGIS}.sld"))).unwrap());
    let published = publish_layer(&client, &target(Access::Public), &req)
        .await
        .unwrap();
    assert!(matches!(
        published.style,
        StyleChoice::Dataset {
            version: SldVersion::V1_1,
            ..
        }
    ));
    assert_eq!(version(), "1.1.0");
    assert_eq!(
        gs.with(|st| st.styles.keys().filter(|(w, _)| w.is_some()).count()),
        1
    );
}

#[tokio::test]
async fn a_resource_left_without_its_layer_is_made_again() {
    let (gs, client) = geoserver();
    let t = target(Access::Public);
    let data = LayerData::Vector {
        table: "haies".into(),
        crs: NativeCrs::Epsg(2154),
        geometry: GeometryKind::Line,
    };
    let req = request("h/haies.shp", "haies", data, None);
    publish_layer(&client, &t, &req).await.unwrap();
    // An unpublication stopped between the layer's delete and its feature type's.
    gs.with(|st| st.layers.remove(&(WS.into(), "haies".into())));
    let published = publish_layer(&client, &t, &req).await.unwrap();
    assert!(published.created);
    gs.with(|st| {
        assert_eq!(st.layers[&(WS.into(), "haies".into())].default_style, "line");
        assert!(
            st.featuretypes[&(WS.into(), STORE.into(), "haies".into())]
                .info
                .enabled
        );
    });
    // The same for a raster's coverage store.
    let tiff = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tiff.path(), b"II*\0rest").unwrap();
    let raster = LayerData::Raster {
        geotiff: tiff.path().to_path_buf(),
        crs: Some(NativeCrs::Epsg(2154)),
    };
    let req = request("m/mnt.tif", "mnt", raster, None);
    publish_layer(&client, &t, &req).await.unwrap();
    gs.with(|st| st.layers.remove(&(WS.into(), "mnt".into())));
    assert!(publish_layer(&client, &t, &req).await.unwrap().created);
    assert!(gs.with(|st| st.layers[&(WS.into(), "mnt".into())].raster));
}
