//! The configs geosync writes, opened in the real Mviewer in headless
//! Chromium: the app must initialise (no uncaught exception, loading screen
//! gone), list every theme, group and layer of the manifest where the
//! manifest put them, open on the configured view and base layer, and draw
//! tiles from a real WMS (MapServer over PostGIS) on loopback.
//!
//! Mviewer is GPL and large, so it is not in this repository: the tests use
//! the folder named by GEOSYNC_MVIEWER_DIR (any Mviewer 4.1 checkout; .ci/run
//! sets it when one is at hand) and are skipped without it. Each test serves
//! a copy of that folder, never the folder itself.

mod apps;
mod expect;
mod site;
mod wms;

use std::path::PathBuf;

use crate::loopback_http::LoopbackServer;
use crate::support::Workspace;
use apps::loopback_manifest;
use expect::{apps_of, assert_app_matches, assert_layers_match};
use site::Site;
use wms::LoopbackWms;

/// The Mviewer folder to test against, or None (the test is skipped).
pub fn mviewer_dir() -> Option<PathBuf> {
    match std::env::var_os("GEOSYNC_MVIEWER_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            assert!(
                dir.join("index.html").is_file(),
                "GEOSYNC_MVIEWER_DIR={} holds no index.html: point it at an Mviewer 4.1 folder",
                dir.display()
            );
            Some(dir)
        }
        None => {
            eprintln!(
                "skipped: set GEOSYNC_MVIEWER_DIR to an Mviewer 4.1 folder to run the browser tests \
                 (.ci/run does when ../shared/vendor/mviewer exists)"
            );
            None
        }
    }
}

/// manifests/mviewer.toml as shipped: its layers and base layers live on
/// outside hosts, which the browser cannot reach, so no tile draws; the app
/// must still initialise with everything in place (Mviewer 4.1 crashed on
/// its WMTS base layer until geosync wrote `fromcapacity="false"`).
#[test]
fn the_reference_manifest_initialises_in_mviewer() {
    let Some(mviewer) = mviewer_dir() else { return };
    let site = Site::copy_of(&mviewer);
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/manifests/mviewer.toml")).unwrap();
    let ws = Workspace::new();
    ws.write("manifests/mviewer.toml", &manifest);
    let apps_dir = format!("apps_dir={}", site.apps().display());
    ws.geosync(&[
        "apply",
        "-f",
        "manifests/mviewer.toml",
        "--var",
        &apps_dir,
        "--auto-approve",
    ])
    .assert_code(0);

    let server = LoopbackServer::start(&site.root, None);
    for app in apps_of(&manifest) {
        let (_, probe) = site.open(&server, app["name"].as_str().unwrap(), None);
        assert_app_matches(&probe, &app);
        assert_layers_match(&probe, &app, Some("https://georchestra.example.org/geoserver"));
    }
}

/// Every base layer type and every layer attribute geosync writes, against
/// MapServer on loopback: one app per visible base layer, since Mviewer only
/// loads the visible one, and one in Lambert-93 (EPSG:2154).
#[test]
fn every_base_layer_type_and_layer_attribute_draws_from_a_loopback_wms() {
    let Some(mviewer) = mviewer_dir() else { return };
    let site = Site::copy_of(&mviewer);
    let wms = LoopbackWms::new();
    let server = LoopbackServer::start(&site.root, Some(wms.cgi.clone()));
    let manifest = loopback_manifest(&site.apps(), &server.url(""));
    // The address service's answer, in the shape of IGN's completion
    // service (results with x, y in degrees, kind, fulltext): a static file.
    site.write(
        "geocodage/completion",
        r#"{"status":"OK","results":[{"x":5.8797,"y":46.9377,"kind":"municipality","fulltext":"Salins-les-Bains"}]}"#,
    );
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest);
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);

    // What each visible base layer must have fetched from loopback.
    let base_requests = [
        ("loopback_wms", "LAYERS=fond"),
        ("loopback_wmts", "/wmts?"),
        ("loopback_osm", "/osm/12/"),
        ("loopback_l93", "SRS=EPSG%3A2154"),
    ];
    for app in apps_of(&manifest) {
        let name = app["name"].as_str().unwrap();
        let before = server.requests().len();
        let (_, probe) = site.open(&server, name, Some("Salins"));
        assert_app_matches(&probe, &app);
        assert_layers_match(&probe, &app, Some(&server.url("/geoserver")));
        assert!(
            probe["map"]["wmsPixels"].as_u64().unwrap() > 0,
            "{name}: no pixel of the loopback WMS layer on the map: {probe:#}"
        );
        let requests = server.requests()[before..].to_vec();
        let (_, wanted) = base_requests.iter().find(|(app, _)| *app == name).unwrap();
        assert!(
            requests.iter().any(|r| r.contains(wanted)),
            "{name}: the base layer fetched nothing matching {wanted}: {requests:#?}"
        );
        for layer in ["LAYERS=geosync-test%3Aparcelles", "LAYERS=batiments"] {
            assert!(
                requests
                    .iter()
                    .any(|r| r.contains(layer) && r.contains("REQUEST=GetMap")),
                "{name}: no GetMap for {layer}: {requests:#?}"
            );
        }
        // The typed text went to the configured address service, as a
        // completion request limited to the map's extent, and its answer
        // is listed.
        assert!(
            requests.iter().any(|r| r.starts_with("/geocodage/completion?")
                && r.contains("text=Salins")
                && r.contains("bbox=")),
            "{name}: no address search request: {requests:#?}"
        );
        assert_eq!(
            probe["search"]["results"],
            serde_json::json!(["Salins-les-Bains"]),
            "{name}: {probe:#}"
        );
        assert!(
            requests.iter().any(|r| r.contains("STYLES=rouge")),
            "{name}: the layer style was not requested: {requests:#?}"
        );
    }
}
