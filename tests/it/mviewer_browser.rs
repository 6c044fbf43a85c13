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

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::chromium::{self, Page};
use crate::loopback_http::{Cgi, LoopbackServer};
use crate::pg;
use crate::support::{peer_env, unique, Workspace};

const PROBE: &str = include_str!("../fixtures/mviewer/probe.js");
/// Virtual time the page gets: Mviewer reveals the app 2 s after it loaded.
const BUDGET_MS: u32 = 20_000;

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

/// A copy of Mviewer with the probe as the first script of index.html.
struct Site {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Site {
    fn copy_of(mviewer: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("mviewer");
        copy_tree(mviewer, &root);
        let index = root.join("index.html");
        let html = std::fs::read_to_string(&index).unwrap();
        assert!(html.contains("<head>"), "Mviewer's index.html has no <head>");
        let html = html.replacen(
            "<head>",
            "<head>\n    <script src=\"geosync-probe.js\"></script>",
            1,
        );
        std::fs::write(&index, html).unwrap();
        std::fs::write(root.join("geosync-probe.js"), PROBE).unwrap();
        Site { _dir: dir, root }
    }

    fn apps(&self) -> PathBuf {
        self.root.join("apps")
    }

    /// Opens `apps/NAME.xml` in Chromium and checks it initialised.
    fn open(&self, server: &LoopbackServer, app: &str) -> (Page, Value) {
        let profile = tempfile::tempdir().unwrap();
        let page = chromium::open(
            &server.url(&format!("/index.html?config=apps/{app}.xml")),
            profile.path(),
            BUDGET_MS,
        );
        if !page.has_probe() {
            eprintln!("requests the server saw: {:#?}", server.requests());
        }
        let probe = page.probe();
        assert!(probe.get("probeError").is_none(), "the probe failed: {probe:#}");
        assert!(
            page.uncaught().is_empty(),
            "uncaught exceptions: {:#?}",
            page.console
        );
        assert_eq!(probe["errors"], serde_json::json!([]), "{probe:#}");
        assert_eq!(
            probe["loadingVisible"], false,
            "the loading screen stayed: {probe:#}"
        );
        assert!(probe["map"].is_object(), "no map: {probe:#}");
        (page, probe)
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A WMS on loopback: MapServer's CGI over a PostGIS table of the test
/// cluster holding one square around the test view. Layer `geosync-test:parcelles`
/// fills it in rgb(200,60,40) (the probe counts those pixels), `fond` in grey
/// (a base layer), `batiments` in blue.
struct LoopbackWms {
    database: String,
    _dir: tempfile::TempDir,
    cgi: Cgi,
}

impl LoopbackWms {
    fn new() -> Self {
        let port = pg::port();
        let database = unique("geosync_mv");
        pg::query(port, "postgres", &format!("CREATE DATABASE {database}"));
        pg::query(
            port,
            &database,
            "CREATE EXTENSION postgis;
             CREATE TABLE parcelles (id serial PRIMARY KEY, geom geometry(Polygon, 3857));
             INSERT INTO parcelles (geom) VALUES (ST_MakeEnvelope(618000, 5880000, 698000, 5960000, 3857));",
        );
        let dir = tempfile::tempdir().unwrap();
        let mapfile = dir.path().join("geosync.map");
        std::fs::write(&mapfile, mapfile_text(port, &database)).unwrap();
        let config = dir.path().join("mapserver.conf");
        std::fs::write(
            &config,
            format!(
                "CONFIG\n  ENV\n    MS_MAP_PATTERN \"^{}/\"\n    MS_MAPFILE \"{}\"\n  END\nEND\n",
                dir.path().display(),
                mapfile.display()
            ),
        )
        .unwrap();
        let cgi = Cgi {
            program: PathBuf::from(peer_env("GEOSYNC_TEST_MAPSERV")),
            prefixes: vec!["/wms".into(), "/geoserver/".into()],
            env: vec![("MAPSERVER_CONFIG_FILE".into(), config.display().to_string())],
        };
        LoopbackWms {
            database,
            _dir: dir,
            cgi,
        }
    }
}

impl Drop for LoopbackWms {
    fn drop(&mut self) {
        let _ = pg::try_query(
            pg::port(),
            "postgres",
            "postgres",
            None,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database),
        );
    }
}

fn mapfile_text(pg_port: u16, database: &str) -> String {
    let layer = |name: &str, group: &str, rgb: &str| {
        format!(
            r#"  LAYER
    NAME "{name}"
    TYPE POLYGON
    STATUS ON
    CONNECTIONTYPE POSTGIS
    CONNECTION "host=127.0.0.1 port={pg_port} dbname={database} user=postgres"
    DATA "geom from public.parcelles using unique id using srid=3857"
    PROJECTION "init=epsg:3857" END
    METADATA "wms_title" "{name}" "wms_include_items" "all" "gml_include_items" "all" END
    TEMPLATE "void"
    CLASSGROUP "{group}"
    CLASS GROUP "{group}" STYLE COLOR {rgb} END END
  END
"#
        )
    };
    format!(
        r#"MAP
  NAME "geosync_browser_test"
  EXTENT -20037508 -20037508 20037508 20037508
  UNITS METERS
  PROJECTION "init=epsg:3857" END
  WEB METADATA
    "wms_title" "geosync browser test"
    "wms_onlineresource" "http://127.0.0.1/wms?"
    "wms_srs" "EPSG:3857 EPSG:4326 EPSG:2154"
    "wms_enable_request" "*"
  END END
{}{}{}END
"#,
        layer("geosync-test:parcelles", "rouge", "200 60 40"),
        layer("fond", "default", "225 225 225"),
        layer("batiments", "default", "40 60 200"),
    )
}

/// The sidebar the manifest asks for: per app, themes in order, each with
/// its groups and its direct layers (as Mviewer names them in the DOM).
#[derive(Debug, PartialEq)]
struct Tree {
    id: String,
    groups: Vec<(String, BTreeSet<String>)>,
    layers: BTreeSet<String>,
}

/// Mviewer's DOM id of a layer: its id without `:`, `,`, spaces and dots.
fn dom_layer_id(id: &str) -> String {
    id.chars()
        .filter(|c| !matches!(c, ':' | ',' | ' ' | '.'))
        .collect()
}

fn expected_tree(app: &toml::Value) -> Vec<Tree> {
    let ids = |layers: Option<&toml::Value>| -> BTreeSet<String> {
        layers
            .and_then(|l| l.as_array())
            .map(|l| {
                l.iter()
                    .map(|l| dom_layer_id(l["layer"].as_str().unwrap()))
                    .collect()
            })
            .unwrap_or_default()
    };
    app["theme"]
        .as_array()
        .unwrap()
        .iter()
        .map(|theme| Tree {
            id: theme["id"].as_str().unwrap().to_string(),
            groups: theme
                .get("group")
                .and_then(|g| g.as_array())
                .map(|groups| {
                    groups
                        .iter()
                        .map(|g| (g["name"].as_str().unwrap().to_string(), ids(g.get("layer"))))
                        .collect()
                })
                .unwrap_or_default(),
            layers: ids(theme.get("layer")),
        })
        .collect()
}

fn seen_tree(probe: &Value) -> Vec<Tree> {
    let set = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    probe["sidebar"]
        .as_array()
        .unwrap()
        .iter()
        .map(|theme| Tree {
            id: theme["id"].as_str().unwrap().to_string(),
            groups: theme["groups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| (g["name"].as_str().unwrap().to_string(), set(&g["layers"])))
                .collect(),
            layers: set(&theme["layers"]),
        })
        .collect()
}

/// The app shows what its `[[mviewer.app]]` asks for: sidebar, title, view,
/// visible base layer.
fn assert_app_matches(probe: &Value, app: &toml::Value) {
    assert_eq!(seen_tree(probe), expected_tree(app), "sidebar: {probe:#}");
    assert_eq!(probe["title"].as_str(), app["title"].as_str(), "{probe:#}");
    let map = &probe["map"];
    let options = &app["map"];
    let projection = options
        .get("projection")
        .and_then(|p| p.as_str())
        .unwrap_or("EPSG:3857");
    assert_eq!(map["projection"], projection, "{probe:#}");
    let center: Vec<f64> = options["center"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_float().unwrap())
        .collect();
    let seen: Vec<f64> = map["center"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_f64().unwrap())
        .collect();
    assert!(
        (seen[0] - center[0]).abs() < 1.0 && (seen[1] - center[1]).abs() < 1.0,
        "center {seen:?}, manifest {center:?}"
    );
    assert_eq!(
        map["zoom"].as_f64(),
        options["zoom"].as_integer().map(|z| z as f64),
        "{probe:#}"
    );
    if let Some(max) = options.get("maxzoom") {
        assert_eq!(
            map["maxZoom"].as_f64(),
            max.as_integer().map(|z| z as f64),
            "{probe:#}"
        );
    }
    let mut baselayers: Vec<(String, bool)> = map["baselayers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["id"].as_str().unwrap().to_string(),
                b["visible"].as_bool().unwrap(),
            )
        })
        .collect();
    baselayers.sort();
    let mut wanted: Vec<(String, bool)> = app["baselayer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let visible = b.get("visible").and_then(|v| v.as_bool()).unwrap_or(false);
            (b["id"].as_str().unwrap().to_string(), visible)
        })
        .collect();
    wanted.sort();
    assert_eq!(baselayers, wanted, "base layers: {probe:#}");
    assert_search_matches(probe, app);
}

/// The search box shows exactly when an address service is configured,
/// with the configured placeholder.
fn assert_search_matches(probe: &Value, app: &toml::Value) {
    let params = app.get("searchparameters");
    let localities = params
        .and_then(|p| p.get("localities"))
        .and_then(|l| l.as_bool())
        .unwrap_or(app.get("olscompletion").is_some());
    if !localities {
        assert_eq!(
            probe["search"],
            Value::Null,
            "a search box without search: {probe:#}"
        );
        return;
    }
    assert!(probe["search"].is_object(), "no search box: {probe:#}");
    if let Some(label) = params.and_then(|p| p.get("inputlabel")).and_then(|l| l.as_str()) {
        assert_eq!(probe["search"]["placeholder"].as_str(), Some(label), "{probe:#}");
    }
}

/// Every layer attribute of the manifest, as Mviewer read it from the config.
fn assert_layers_match(probe: &Value, app: &toml::Value, geoserver_url: Option<&str>) {
    let overlays = probe["overlays"].as_object().expect("the probe lists overlays");
    let mut manifest_layers = Vec::new();
    for theme in app["theme"].as_array().unwrap() {
        manifest_layers.extend(
            theme
                .get("layer")
                .and_then(|l| l.as_array())
                .into_iter()
                .flatten(),
        );
        for group in theme
            .get("group")
            .and_then(|g| g.as_array())
            .into_iter()
            .flatten()
        {
            manifest_layers.extend(group["layer"].as_array().unwrap());
        }
    }
    assert_eq!(overlays.len(), manifest_layers.len(), "overlays: {overlays:#?}");
    for layer in manifest_layers {
        let id = layer["layer"].as_str().unwrap();
        let mut seen = overlays
            .get(id)
            .unwrap_or_else(|| panic!("{id} is not a layer of the app: {overlays:#?}"))
            .clone();
        // JSON keeps 1 and 1.0 apart; the opacity is a number either way.
        seen["opacity"] = serde_json::json!(seen["opacity"].as_f64());
        let text = |key: &str| layer.get(key).and_then(|v| v.as_str());
        let flag = |key: &str, default: bool| layer.get(key).and_then(|v| v.as_bool()).unwrap_or(default);
        let url = match (text("url"), id.split_once(':')) {
            (Some(url), _) => url.to_string(),
            (None, Some((workspace, _))) => format!("{}/{workspace}/wms", geoserver_url.unwrap()),
            (None, None) => unreachable!("geosync refuses such a layer"),
        };
        if text("legendurl").is_none() {
            // Mviewer asks the layer's WMS for a legend then.
            let legend = seen["legendurl"].as_str().unwrap_or_default().to_string();
            assert!(
                legend.starts_with(&url) && legend.contains("REQUEST=GetLegendGraphic"),
                "{id}: legend {legend}"
            );
            seen["legendurl"] = Value::Null;
        }
        let expected = serde_json::json!({
            "name": text("name"),
            "url": url,
            "visible": flag("visible", false),
            "opacity": Some(layer.get("opacity").and_then(|v| v.as_float()).unwrap_or(1.0)),
            "queryable": flag("queryable", true),
            "tiled": flag("tiled", false),
            "style": text("style"),
            "legendurl": text("legendurl"),
            "metadata": text("metadata"),
            "metadatacsw": text("metadata-csw"),
            "infoformat": text("infoformat").unwrap_or("application/vnd.ogc.gml"),
            "featurecount": layer.get("featurecount").map(|v| v.as_integer().unwrap().to_string()),
            "attribution": text("attribution"),
        });
        assert_eq!(seen, expected, "layer {id}");
    }
}

/// The manifest's apps, with its `[vars]` expanded as geosync expands them.
fn apps_of(manifest: &str) -> Vec<toml::Value> {
    let value: toml::Value = toml::from_str(manifest).unwrap();
    let mut text = manifest.to_string();
    for (name, var) in value.get("vars").and_then(|v| v.as_table()).into_iter().flatten() {
        let var = var.as_str().map_or_else(|| var.to_string(), str::to_string);
        text = text.replace(&format!("${{{name}}}"), &var);
    }
    let value: toml::Value = toml::from_str(&text).unwrap();
    value["mviewer"]["app"].as_array().unwrap().clone()
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
        let (_, probe) = site.open(&server, app["name"].as_str().unwrap());
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
        let (_, probe) = site.open(&server, name);
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
        assert!(
            requests.iter().any(|r| r.contains("STYLES=rouge")),
            "{name}: the layer style was not requested: {requests:#?}"
        );
    }
}

/// Three apps over the same layers, each opening on another base layer type.
fn loopback_manifest(apps_dir: &Path, base_url: &str) -> String {
    let mut manifest = format!(
        r#"
[mviewer]
target_dir = "{apps}"
geoserver_url = "{base_url}/geoserver"
"#,
        apps = apps_dir.display()
    );
    let web_mercator =
        "projection = \"EPSG:3857\"\ncenter = [658000.0, 5920000.0]\nzoom = 12\nmaxzoom = 18\n\
        projextent = [-20037508.342789244, -20037508.342789244, 20037508.342789244, 20037508.342789244]";
    for visible in ["wms", "wmts", "osm"] {
        manifest.push_str(&loopback_app(visible, visible, web_mercator, "PM", base_url));
    }
    // Lambert-93, which Mviewer builds from projextent: the same place.
    let lambert = "projection = \"EPSG:2154\"\ncenter = [921694.0, 6644578.0]\nzoom = 8\n\
        projextent = [-357823.2365, 6037008.6939, 1313632.3628, 7230727.3772]";
    manifest.push_str(&loopback_app("l93", "wms", lambert, "EPSG:2154", base_url));
    manifest
}

/// An app over the loopback layers; `visible` names its visible base layer.
fn loopback_app(name: &str, visible: &str, map: &str, matrixset: &str, base_url: &str) -> String {
    let on = |id: &str| id == visible;
    format!(
        r#"
[[mviewer.app]]
name = "loopback_{name}"
title = "Loopback {name}"
mouseposition = true
measuretools = false
mapprint = false
exportpng = false

[mviewer.app.map]
{map}

[[mviewer.app.baselayer]]
id = "wms"
type = "WMS"
label = "Fond WMS"
title = "MapServer"
url = "{base_url}/wms"
layers = "fond"
format = "image/png"
visible = {wms}
thumbgallery = "img/basemap/osm.png"
attribution = "MapServer on loopback"
maxzoom = 18

[[mviewer.app.baselayer]]
id = "wmts"
type = "WMTS"
label = "Fond WMTS"
url = "{base_url}/wmts"
layers = "tuiles"
format = "image/png"
style = "normal"
matrixset = "{matrixset}"
visible = {wmts}
thumbgallery = "img/basemap/ortho.jpg"
attribution = "Tiles on loopback"
maxscale = 1000

[[mviewer.app.baselayer]]
id = "osm"
type = "OSM"
label = "Fond OSM"
url = "{base_url}/osm/{{z}}/{{x}}/{{y}}.png"
visible = {osm}
thumbgallery = "img/basemap/osm.png"
attribution = "OSM-style tiles on loopback"

[[mviewer.app.theme]]
id = "patrimoine"
name = "Patrimoine"
icon = "fas fa-landmark"
collapsed = false

[[mviewer.app.theme.layer]]
layer = "geosync-test:parcelles"
name = "Parcelles"
visible = true
queryable = true
tiled = false
style = "rouge"
infoformat = "text/html"
featurecount = 5
legendurl = "{base_url}/wms?SERVICE=WMS&REQUEST=GetLegendGraphic&VERSION=1.1.1&FORMAT=image/png&LAYER=fond"
metadata = "{base_url}/metadata/parcelles.html"
metadata-csw = "{base_url}/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=GetRecordById&ID=parcelles"
attribution = "Parcelles : test"

[[mviewer.app.theme]]
id = "bati"
name = "Bâti"

[[mviewer.app.theme.group]]
id = "constructions"
name = "Constructions"

[[mviewer.app.theme.group.layer]]
layer = "batiments"
url = "{base_url}/wms"
name = "Bâtiments"
visible = true
queryable = false
tiled = true
opacity = 0.5

[[mviewer.app.theme.layer]]
layer = "fond"
url = "{base_url}/wms"
name = "Fond en couche"

[mviewer.app.olscompletion]
url = "{base_url}/geocodage/completion"
attribution = "Adresses sur loopback"

[mviewer.app.searchparameters]
inputlabel = "Chercher une adresse"
closeafterclick = true
animate = true
duration = 500
searchmaxzoomlevel = 16
"#,
        wms = on("wms"),
        wmts = on("wmts"),
        osm = on("osm"),
    )
}
