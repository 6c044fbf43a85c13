//! The sync's publish stage end to end, through the real geosync binary:
//! a share (rclone's WebDAV server, or a folder) -> PostgreSQL + PostGIS
//! (real) -> the GeoServer emulator -> the same tables served by the real
//! MapServer CGI (WFS GetFeature, WMS GetMap) -> ISO 19139 records in the
//! GeoNetwork emulator (REST) or the real pycsw (CSW-T), each valid
//! against the ISO schemas (xmllint). Then the lifecycle (metadata-only,
//! style-only and data changes, rename, `_unpublished`, delete, an emptied
//! or unreachable share), kill -9 mid-publish and mid-unpublish, the
//! removal safety rail, and disaster recovery.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::geoserver_emulator::{Config, Emulator};
use crate::gn_emulator::GeoNetworkEmulator;
use crate::mapserver::{painted_pixels, MapServer};
use crate::pg;
use crate::support::{peer_env, unique, Run, Workspace};
use crate::sync::{copy_dir, CORPUS};

const WS: &str = "geosync-ouvert";
const GN_USER: &str = "admin";
const GN_PASSWORD: &str = "gn-secret-canary";
const STORE_PASSWORD: &str = "store-secret-canary";

/// A ledger row: table, layer name, record uuid, publish status.
type LedgerRow = (String, Option<String>, Option<String>, Option<String>);

/// A test SDI: a database (declared, created by apply), the emulators, and
/// one public target reading `source` into schema `data`.
struct Sdi {
    ws: Workspace,
    db: String,
    gs: Emulator,
    gn: GeoNetworkEmulator,
}

impl Sdi {
    fn new(source: &str, sync_extra: &str) -> Sdi {
        Sdi::with_target(source, sync_extra, "visibility = \"public\"")
    }

    /// `target_extra`: the target's visibility and other keys.
    fn with_target(source: &str, sync_extra: &str, target_extra: &str) -> Sdi {
        let db = unique("syncpub");
        let mut ws = Workspace::new();
        ws.set_env("GS_ADMIN_PASSWORD", "geoserver");
        ws.set_env("GS_STORE_PASSWORD", STORE_PASSWORD);
        ws.set_env("GN_PW", GN_PASSWORD);
        let gs = Emulator::start(Config::default());
        let gn = GeoNetworkEmulator::start(GN_USER, GN_PASSWORD);
        let port = pg::port();
        ws.write(
            "geosync.toml",
            &format!(
                r#"[postgres]
host = "127.0.0.1"
port = {port}
sslmode = "disable"

[[postgres.database]]
name = "{db}"
extensions = ["postgis"]

[geoserver]
url = "{gs_url}"
user = "admin"
password = {{ env = "GS_ADMIN_PASSWORD" }}
retries = 2
retry_backoff_ms = 1

[[geoserver.workspace]]
name = "{WS}"

[[geoserver.datastore]]
workspace = "{WS}"
name = "data_open"
host = "127.0.0.1"
port = {port}
database = "{db}"
schema = "data"
user = "postgres"
password = {{ env = "GS_STORE_PASSWORD" }}

[geonetwork]
url = "{gn_url}"
user = "{GN_USER}"
password = {{ env = "GN_PW" }}
retries = 0

[sync]
public_url = "https://sdi.example.org/geoserver"
{sync_extra}

[[sync.target]]
name = "ouvert"
source = {source}
database = "{db}"
schema = "data"
workspace = "{WS}"
{target_extra}
"#,
                gs_url = gs.url,
                gn_url = gn.url,
            ),
        );
        Sdi { ws, db, gs, gn }
    }

    fn local(sync_extra: &str) -> Sdi {
        let sdi = Sdi::new("{ path = \"share\" }", sync_extra);
        std::fs::create_dir_all(sdi.share()).unwrap();
        sdi
    }

    fn share(&self) -> PathBuf {
        self.ws.join("share")
    }

    fn add_case(&self, case: &str, to: &str) {
        copy_dir(&Path::new(CORPUS).join(case), &self.share().join(to));
    }

    fn run(&self, args: &[&str]) -> Run {
        let run = self.ws.geosync(args);
        for secret in [GN_PASSWORD, STORE_PASSWORD] {
            assert!(
                !run.all().contains(secret),
                "a secret was printed:\n{}",
                run.all()
            );
        }
        run
    }

    fn apply(&self) -> Run {
        self.run(&["apply", "--auto-approve"])
    }

    /// One pass, its report by dataset path.
    fn pass(&self, extra: &[&str]) -> (Run, BTreeMap<String, Value>) {
        let mut args = vec!["sync", "--once", "--json"];
        args.extend_from_slice(extra);
        let run = self.run(&args);
        let document: Value = serde_json::from_str(&run.stdout).unwrap_or_default();
        let datasets = document["targets"][0]["datasets"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|d| (d["path"].as_str().unwrap().to_string(), d))
            .collect();
        (run, datasets)
    }

    /// The ledger: path -> (table, layer name, record uuid, publish status).
    fn ledger(&self) -> BTreeMap<String, LedgerRow> {
        pg::query(
            pg::port(),
            &self.db,
            "SELECT source_path || CASE WHEN layer = '' THEN '' ELSE '#' || layer END,
                    table_name, layer_name, record_uuid, publish_status FROM geosync.ledger",
        )
        .into_iter()
        .map(|r| {
            (
                r[0].clone().unwrap(),
                (r[1].clone().unwrap(), r[2].clone(), r[3].clone(), r[4].clone()),
            )
        })
        .collect()
    }

    fn loaded_at(&self, path: &str) -> String {
        pg::value(
            pg::port(),
            &self.db,
            &format!(
                "SELECT loaded_at::text FROM geosync.ledger WHERE source_path = {}",
                pg::lit(path)
            ),
        )
        .unwrap()
    }

    fn tables(&self) -> Vec<String> {
        pg::query(
            pg::port(),
            &self.db,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'data' ORDER BY 1",
        )
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect()
    }

    fn layers(&self) -> Vec<String> {
        self.gs.with(|s| {
            s.layers
                .keys()
                .filter(|(w, _)| w == WS)
                .map(|(_, l)| l.clone())
                .collect()
        })
    }

    fn records(&self) -> BTreeMap<String, String> {
        self.gn.with(|s| {
            s.records
                .iter()
                .map(|(uuid, r)| (uuid.clone(), r.xml.clone()))
                .collect()
        })
    }

    fn featuretype(&self, layer: &str) -> crate::geoserver_emulator::FeatureType {
        self.gs.with(|s| {
            s.featuretypes
                .iter()
                .find(|((w, _, name), _)| w == WS && name == layer)
                .map(|(_, ft)| ft.clone())
                .unwrap_or_else(|| panic!("no feature type {layer}"))
        })
    }

    /// Nothing orphaned: every layer reads a table (or is a raster), every
    /// record belongs to a published layer, every ledger entry is whole.
    fn assert_nothing_orphaned(&self) {
        let tables = self.tables();
        let ledger = self.ledger();
        let rasters: Vec<String> = self.gs.with(|s| {
            s.layers
                .iter()
                .filter(|(_, l)| l.raster)
                .map(|((_, n), _)| n.clone())
                .collect()
        });
        for layer in self.layers() {
            assert!(
                tables.contains(&layer) || rasters.contains(&layer),
                "layer {layer} without its table ({tables:?})"
            );
        }
        let layers = self.layers();
        let uuids: Vec<String> = ledger.values().filter_map(|e| e.2.clone()).collect();
        for uuid in self.records().keys() {
            assert!(uuids.contains(uuid), "record {uuid} no ledger entry knows");
            let entry = ledger
                .values()
                .find(|e| e.2.as_deref() == Some(uuid.as_str()))
                .unwrap();
            assert!(
                layers.contains(entry.1.as_ref().unwrap()),
                "record {uuid} without its layer {:?}",
                entry.1
            );
        }
    }
}

/// xmllint against the ISO 19139 schemas pycsw ships (GEOSYNC_TEST_ISO_XSD
/// is gmd.xsd; gmx beside it: records written by QGIS use gmx:Anchor).
fn assert_valid_iso(xml: &str, what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("record.xml");
    std::fs::write(&file, xml).unwrap();
    let gmd = PathBuf::from(peer_env("GEOSYNC_TEST_ISO_XSD"));
    let gmx = gmd.parent().unwrap().parent().unwrap().join("gmx/gmx.xsd");
    let schema = dir.path().join("iso19139.xsd");
    std::fs::write(
        &schema,
        format!(
            r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:geosync:test">
  <xs:import namespace="http://www.isotc211.org/2005/gmd" schemaLocation="{}"/>
  <xs:import namespace="http://www.isotc211.org/2005/gmx" schemaLocation="{}"/>
</xs:schema>"#,
            gmd.display(),
            gmx.display()
        ),
    )
    .unwrap();
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("xmllint runs");
    assert!(
        output.status.success(),
        "{what}: not valid ISO 19139: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_corpus_is_published_from_webdav_with_records_and_served_by_mapserver() {
    let folder = unique("pubshare");
    let root = PathBuf::from(peer_env("GEOSYNC_TEST_WEBDAV_DIR")).join(&folder);
    copy_dir(Path::new(CORPUS), &root);
    let url = format!("{}/{folder}/", peer_env("GEOSYNC_TEST_WEBDAV_URL"));
    let mut sdi = Sdi::new(
        &format!(
            "{{ webdav = \"{url}\", user = \"{}\", password = {{ env = \"SHARE_PASSWORD\" }} }}",
            peer_env("GEOSYNC_TEST_WEBDAV_USER")
        ),
        "",
    );
    sdi.ws
        .set_env("SHARE_PASSWORD", &peer_env("GEOSYNC_TEST_WEBDAV_PASSWORD"));

    let run = sdi.apply();
    run.assert_code(0);
    let ledger = sdi.ledger();
    assert_eq!(ledger.len(), 25, "{ledger:#?}");
    assert_corpus_layers(&sdi, &ledger);
    assert_corpus_records_and_status(&sdi, &ledger);
    // Nothing left to do.
    sdi.run(&["plan", "--detailed-exitcode"]).assert_code(0);
    sdi.assert_nothing_orphaned();

    // The share unreachable (its folder gone from the server: 404), then
    // emptied: nothing is taken down.
    let away = root.with_extension("away");
    std::fs::rename(&root, &away).unwrap();
    let (run, _) = sdi.pass(&[]);
    run.assert_code(1);
    std::fs::create_dir_all(&root).unwrap();
    let (run, _) = sdi.pass(&[]);
    run.assert_code(1);
    assert!(run.stderr.contains("the share lists no file"), "{}", run.stderr);
    assert_eq!(sdi.layers().len(), 25);
    assert_eq!(sdi.records().len(), 25);
    assert_eq!(sdi.ledger().len(), 25);
}

/// Each valid case a layer named after its table, with its CRS, style,
/// metadata link, and served by the real MapServer.
fn assert_corpus_layers(sdi: &Sdi, ledger: &BTreeMap<String, LedgerRow>) {
    for (path, (table, layer, uuid, status)) in ledger {
        assert_eq!(status.as_deref(), Some("published"), "{path}");
        assert_eq!(
            layer.as_deref(),
            Some(table.as_str()),
            "{path}: the layer is named after its table"
        );
        assert!(sdi.layers().contains(table), "{path}: no layer {table}");
        assert!(uuid.is_some(), "{path}: no record");
    }
    // Two files of the same name: two layers.
    let same = |folder: &str| {
        ledger[&format!("valid/080_samefilename/{folder}/080_test_nyc_samefilename.shp")]
            .0
            .clone()
    };
    assert_ne!(same("080_samefilename_pathA"), same("080_samefilename_pathB"));
    // The CRS declared, the SLD as the default style, the record linked.
    let nyc = &ledger["valid/130_epsg_2154/130_test_nyc_epsg_2154.shp"];
    let ft = sdi.featuretype(&nyc.0);
    assert_eq!(ft.srs.as_deref(), Some("EPSG:2154"));
    assert!(
        ft.info
            .metadata_links
            .iter()
            .any(|(_, _, content)| content.contains(nyc.2.as_deref().unwrap())),
        "{:?}",
        ft.info.metadata_links
    );
    let point = &ledger["valid/220_sld_shp_point/220_test_sld_shp_point.shp"].0;
    let style = sdi
        .gs
        .with(|s| s.layers[&(WS.to_string(), point.clone())].default_style.clone());
    assert_eq!(style, format!("{WS}:{point}"));
    let plain = &ledger["valid/050_xmlmissing/050_test_nyc_shape_noxml.shp"].0;
    let style = sdi
        .gs
        .with(|s| s.layers[&(WS.to_string(), plain.clone())].default_style.clone());
    assert!(!style.contains(':'), "a built-in default style: {style}");
    let raster = &ledger["valid/040_raster_tif/040_test_raster_tif.tif"].0;
    assert!(sdi
        .gs
        .with(|s| s.layers[&(WS.to_string(), raster.clone())].raster));
    // Public: everyone reads the workspace.
    assert_eq!(
        sdi.gs
            .with(|s| s.acl.get(&format!("{WS}.*.r")).cloned())
            .as_deref(),
        Some("*")
    );
    // The same table, served by the real MapServer.
    let mapserver = MapServer::serve_table(&sdi.db, "data", &nyc.0);
    assert_eq!(mapserver.get_features().len(), 40);
    assert!(painted_pixels(&mapserver.get_map(256, 256)) > 0);
}

/// One valid ISO 19139 record per dataset naming its layer; every invalid
/// case rejected, and `status` says so.
fn assert_corpus_records_and_status(sdi: &Sdi, ledger: &BTreeMap<String, LedgerRow>) {
    let records = sdi.records();
    assert_eq!(records.len(), 25);
    for (path, (table, _, uuid, _)) in ledger {
        let xml = &records[uuid.as_ref().unwrap()];
        assert_valid_iso(xml, path);
        assert!(
            xml.contains(&format!("{WS}:{table}")),
            "{path}: the record names its layer"
        );
    }

    // Every invalid case rejected, and `status` says why.
    let status = sdi.run(&["status", "--json"]);
    status.assert_code(0);
    let document: Value = serde_json::from_str(&status.stdout).unwrap();
    let datasets = document["targets"][0]["datasets"].as_array().unwrap();
    let rejected: Vec<&Value> = datasets.iter().filter(|d| d["state"] == "rejected").collect();
    assert_eq!(rejected.len(), 3, "{document:#}");
    assert!(rejected
        .iter()
        .all(|d| d["path"].as_str().unwrap().starts_with("invalid/")));
    let published = datasets.iter().filter(|d| d["state"] == "published").count();
    assert_eq!(published, 25);
    let nyc = &ledger["valid/130_epsg_2154/130_test_nyc_epsg_2154.shp"];
    let human = sdi.run(&["status"]);
    assert!(
        human.stdout.contains(&format!(
            "published  valid/130_epsg_2154/130_test_nyc_epsg_2154.shp -> {WS}:{}, record {}",
            nyc.0,
            nyc.2.as_deref().unwrap()
        )),
        "{}",
        human.stdout
    );
}

/// pycsw's answer to GetRecordById.
fn csw_record(uuid: &str) -> String {
    let url = format!(
        "{}?service=CSW&version=2.0.2&request=GetRecordById&elementSetName=full&outputSchema=http://www.isotc211.org/2005/gmd&id={uuid}",
        peer_env("GEOSYNC_TEST_CSW_URL").trim_end_matches('/')
    );
    let output = Command::new("curl")
        .args(["-sf", &url])
        .output()
        .expect("curl runs");
    assert!(output.status.success(), "GetRecordById failed");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn records_go_to_pycsw_through_csw_t_and_leave_with_their_dataset() {
    let sdi = Sdi::local(&format!(
        "catalogue = \"csw\"\ncsw = {{ url = \"{}\" }}",
        peer_env("GEOSYNC_TEST_CSW_URL")
    ));
    sdi.add_case("valid/170_meta_iso19139_data", "iso");
    sdi.add_case("valid/050_xmlmissing", "plain");
    sdi.apply().assert_code(0);
    let ledger = sdi.ledger();
    assert_eq!(ledger.len(), 2);
    for (path, (_, _, uuid, status)) in &ledger {
        assert_eq!(status.as_deref(), Some("published"), "{path}");
        let answer = csw_record(uuid.as_deref().unwrap());
        assert!(answer.contains(uuid.as_deref().unwrap()), "{path}: {answer}");
    }
    assert!(sdi.records().is_empty(), "CSW chosen: nothing goes to GeoNetwork");
    let uuid = ledger["plain/050_test_nyc_shape_noxml.shp"].2.clone().unwrap();
    std::fs::remove_dir_all(sdi.share().join("plain")).unwrap();
    let (run, datasets) = sdi.pass(&[]);
    run.assert_code(0);
    assert_eq!(
        datasets["plain/050_test_nyc_shape_noxml.shp"]["status"],
        "removed"
    );
    assert!(
        !csw_record(&uuid).contains(&uuid),
        "the record left with its dataset"
    );
}

fn geojson(features: usize) -> String {
    let features: Vec<String> = (0..features)
        .map(|i| {
            format!(
                r#"{{"type":"Feature","properties":{{"id":{i}}},"geometry":{{"type":"Point","coordinates":[{}.5,45.5]}}}}"#,
                i % 3
            )
        })
        .collect();
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        features.join(",")
    )
}

#[test]
fn the_lifecycle_of_datasets_from_add_to_unshare() {
    let sdi = Sdi::local("");
    sdi.add_case("valid/220_sld_shp_point", "points");
    sdi.add_case("valid/101_encodage_latin_cpg", "arcgis");
    std::fs::create_dir_all(sdi.share().join("pts")).unwrap();
    std::fs::write(sdi.share().join("pts/stations.geojson"), geojson(2)).unwrap();
    sdi.apply().assert_code(0);
    let before = sdi.ledger();
    assert_eq!(before.len(), 3);
    let arcgis = "arcgis/101_test_nyc_encodage_latin_cpg.shp";
    let points = "points/220_test_sld_shp_point.shp";
    let stations = "pts/stations.geojson";
    assert!(before.values().all(|e| e.3.as_deref() == Some("published")));

    // Only the metadata changes: republished, the table is not reloaded.
    let loaded = sdi.loaded_at(arcgis);
    let xml_path = sdi.share().join("arcgis/101_test_nyc_encodage_latin_cpg.shp.xml");
    let xml = std::fs::read_to_string(&xml_path).unwrap();
    std::fs::write(
        &xml_path,
        xml.replace("101 test encodage latin cpg", "Census blocks, renamed title"),
    )
    .unwrap();
    let (run, datasets) = sdi.pass(&[]);
    run.assert_code(0);
    assert_eq!(
        datasets[arcgis]["status"], "republished",
        "{:#?}",
        datasets[arcgis]
    );
    assert_eq!(datasets[points]["status"], "unchanged");
    assert_eq!(sdi.loaded_at(arcgis), loaded, "the table was reloaded");
    let table = &before[arcgis].0;
    assert_eq!(sdi.featuretype(table).title, "Census blocks, renamed title");
    let uuid = before[arcgis].2.clone().unwrap();
    assert!(sdi.records()[&uuid].contains("Census blocks, renamed title"));

    // Only the style changes: republished with the new SLD.
    let loaded = sdi.loaded_at(points);
    let sld_path = sdi.share().join("points/220_test_sld_shp_point.sld");
    let sld = std::fs::read_to_string(&sld_path).unwrap();
    std::fs::write(&sld_path, sld.replace("#009999", "#cc3300")).unwrap();
    let (run, datasets) = sdi.pass(&[]);
    run.assert_code(0);
    assert_eq!(datasets[points]["status"], "republished");
    assert_eq!(sdi.loaded_at(points), loaded);
    let point_layer = before[points].0.clone();
    let content = sdi.gs.with(|s| {
        s.styles[&(Some(WS.to_string()), point_layer.clone())]
            .content
            .clone()
            .unwrap()
    });
    assert!(content.contains("#cc3300"), "{content}");

    // The data changes: reloaded and republished.
    std::fs::write(sdi.share().join(stations), geojson(3)).unwrap();
    let (run, datasets) = sdi.pass(&[]);
    run.assert_code(0);
    assert_eq!(datasets[stations]["status"], "changed");
    assert_eq!(
        pg::value(
            pg::port(),
            &sdi.db,
            &format!("SELECT count(*) FROM data.{}", before[stations].0)
        )
        .unwrap(),
        "3"
    );

    takes_down_renamed_moved_and_deleted(&sdi, &before);
}

/// The second half of the lifecycle: rename, `_unpublished`, delete, then
/// an unreachable and an emptied share that take nothing down.
fn takes_down_renamed_moved_and_deleted(sdi: &Sdi, before: &BTreeMap<String, LedgerRow>) {
    let (points, arcgis, stations) = (
        "points/220_test_sld_shp_point.shp",
        "arcgis/101_test_nyc_encodage_latin_cpg.shp",
        "pts/stations.geojson",
    );
    let point_layer = before[points].0.clone();
    let (table, uuid) = (&before[arcgis].0, before[arcgis].2.clone().unwrap());
    // Renamed: the old layer and record go, new ones come.
    for ext in ["shp", "shx", "prj", "sld"] {
        std::fs::rename(
            sdi.share().join(format!("points/220_test_sld_shp_point.{ext}")),
            sdi.share().join(format!("points/stops.{ext}")),
        )
        .unwrap();
    }
    let (run, datasets) = sdi.pass(&[]);
    run.assert_code(0);
    assert_eq!(datasets[points]["status"], "removed");
    assert_eq!(datasets["points/stops.shp"]["status"], "new");
    assert!(!sdi.layers().contains(&point_layer));
    assert!(!sdi.records().contains_key(before[points].2.as_ref().unwrap()));
    let stops = sdi.ledger()["points/stops.shp"].clone();
    assert!(sdi.layers().contains(&stops.0));
    assert!(sdi.records().contains_key(stops.2.as_ref().unwrap()));

    // Moved into _unpublished: taken down.
    std::fs::create_dir_all(sdi.share().join("_unpublished")).unwrap();
    std::fs::rename(
        sdi.share().join("arcgis"),
        sdi.share().join("_unpublished/arcgis"),
    )
    .unwrap();
    let (run, datasets) = sdi.pass(&[]);
    run.assert_code(0);
    assert_eq!(datasets[arcgis]["status"], "removed");
    assert!(!sdi.layers().contains(table));
    assert!(!sdi.tables().contains(table));
    assert!(!sdi.records().contains_key(&uuid));

    // Deleted: taken down.
    std::fs::remove_file(sdi.share().join(stations)).unwrap();
    let (run, _) = sdi.pass(&[]);
    run.assert_code(0);
    assert_eq!(sdi.ledger().len(), 1);
    sdi.assert_nothing_orphaned();

    // Unshared (the share lists nothing) or unreachable: nothing goes.
    let kept = (sdi.layers(), sdi.tables(), sdi.records().len());
    std::fs::rename(sdi.share(), sdi.ws.join("elsewhere")).unwrap();
    let (run, _) = sdi.pass(&[]);
    run.assert_code(1);
    std::fs::create_dir_all(sdi.share()).unwrap();
    let (run, _) = sdi.pass(&[]);
    run.assert_code(1);
    assert!(run.stderr.contains("refusing"), "{}", run.stderr);
    assert_eq!((sdi.layers(), sdi.tables(), sdi.records().len()), kept);
}

#[test]
fn killed_mid_publish_or_mid_unpublish_the_next_pass_converges() {
    let sdi = Sdi::local("");
    sdi.run(&["apply", "--auto-approve", "--no-sync"]).assert_code(0);
    sdi.add_case("valid/130_epsg_2154", "nyc");
    // Killed once the names are noted, before GeoServer heard of it.
    sdi.ws.kill_at(&["sync", "--once"], "sync-publish-names");
    let noted = sdi.ledger()["nyc/130_test_nyc_epsg_2154.shp"].clone();
    assert!(noted.1.is_some() && noted.2.is_some(), "{noted:?}");
    assert!(sdi.layers().is_empty());
    // Again, killed once the layer is there.
    sdi.ws.kill_at(&["sync", "--once"], "sync-layer-published");
    let ledger = sdi.ledger();
    let (table, _, uuid, status) = ledger["nyc/130_test_nyc_epsg_2154.shp"].clone();
    assert_eq!(status, None, "killed before it was recorded published");
    assert!(sdi.layers().contains(&table));
    assert!(sdi.records().is_empty());
    let (run, _) = sdi.pass(&[]);
    run.assert_code(0);
    let after = sdi.ledger()["nyc/130_test_nyc_epsg_2154.shp"].clone();
    assert_eq!(after.3.as_deref(), Some("published"));
    assert_eq!(
        after.2, uuid,
        "the uuid noted before publishing is the one published"
    );
    assert!(sdi.records().contains_key(uuid.as_ref().unwrap()));
    sdi.assert_nothing_orphaned();

    // Taken down, killed once its layer is gone: the next pass finishes.
    std::fs::remove_dir_all(sdi.share().join("nyc")).unwrap();
    sdi.add_case("valid/050_xmlmissing", "other");
    sdi.ws.kill_at(&["sync", "--once"], "sync-layer-removed");
    assert!(!sdi.layers().contains(&table));
    assert!(sdi.tables().contains(&table), "the table goes after the layer");
    // Killed again once the table is dropped, before the record goes.
    sdi.ws.kill_at(&["sync", "--once"], "sync-table-dropped");
    assert!(!sdi.tables().contains(&table));
    assert!(sdi.records().contains_key(uuid.as_ref().unwrap()));
    let (run, datasets) = sdi.pass(&[]);
    run.assert_code(0);
    assert_eq!(datasets["nyc/130_test_nyc_epsg_2154.shp"]["status"], "removed");
    assert!(!sdi.tables().contains(&table));
    assert!(!sdi.records().contains_key(uuid.as_ref().unwrap()));
    assert!(!sdi.ledger().contains_key("nyc/130_test_nyc_epsg_2154.shp"));
    sdi.assert_nothing_orphaned();
}

#[test]
fn a_mass_removal_stops_unless_forced_and_a_dry_run_shows_what_would_go() {
    let sdi = Sdi::local("max_removal_share = 0.5\nmin_removals = 2\n");
    for case in ["050_xmlmissing", "130_epsg_2154", "220_sld_shp_point"] {
        sdi.add_case(&format!("valid/{case}"), case);
    }
    sdi.apply().assert_code(0);
    let layers = sdi.layers();
    assert_eq!(layers.len(), 3);
    std::fs::remove_dir_all(sdi.share().join("050_xmlmissing")).unwrap();
    std::fs::remove_dir_all(sdi.share().join("130_epsg_2154")).unwrap();
    let dry = sdi.run(&["sync", "--once", "--dry-run", "--force-removals"]);
    dry.assert_code(0);
    assert!(
        dry.stdout
            .contains("- sync.dataset:ouvert/050_xmlmissing/050_test_nyc_shape_noxml.shp"),
        "{}",
        dry.stdout
    );
    // Exactly what would go: the layer, the table and the record.
    let uuid = sdi.ledger()["050_xmlmissing/050_test_nyc_shape_noxml.shp"]
        .2
        .clone()
        .unwrap();
    for what in [
        "- layer: \"l_050_test_nyc_shape_noxml\"".to_string(),
        "- table: \"l_050_test_nyc_shape_noxml\"".to_string(),
        format!("- record: \"{uuid}\""),
    ] {
        assert!(dry.stdout.contains(&what), "{what} in:\n{}", dry.stdout);
    }
    let (run, _) = sdi.pass(&[]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("2 of 3 loaded datasets left the share"),
        "{}",
        run.stderr
    );
    assert_eq!(sdi.layers(), layers, "nothing was taken down");
    let (run, _) = sdi.pass(&["--force-removals"]);
    run.assert_code(0);
    assert_eq!(sdi.layers().len(), 1);
    sdi.assert_nothing_orphaned();
}

#[test]
fn after_a_wipe_apply_rebuilds_and_republishes_with_the_same_names_and_uuids() {
    let sdi = Sdi::local("");
    sdi.add_case("valid/080_samefilename", "same");
    sdi.add_case("valid/170_meta_iso19139_data", "iso");
    sdi.add_case("valid/220_sld_shp_point", "points");
    sdi.apply().assert_code(0);
    let before = sdi.ledger();
    let records_before: Vec<String> = sdi.records().keys().cloned().collect();
    assert_eq!(before.len(), 4);

    // The platform is lost: database, GeoServer's and GeoNetwork's content,
    // geosync's state directory.
    pg::query(
        pg::port(),
        "postgres",
        &format!("DROP DATABASE {} WITH (FORCE)", sdi.db),
    );
    sdi.gs.with(|s| {
        s.workspaces.clear();
        s.datastores.clear();
        s.featuretypes.clear();
        s.coveragestores.clear();
        s.layers.clear();
        s.acl.clear();
        s.styles.retain(|(ws, _), _| ws.is_none());
    });
    sdi.gn.with(|s| s.records.clear());
    std::fs::remove_dir_all(sdi.ws.join(".geosync")).unwrap();

    sdi.apply().assert_code(0);
    let after = sdi.ledger();
    let names = |l: &BTreeMap<String, LedgerRow>| {
        l.iter()
            .map(|(p, e)| (p.clone(), e.1.clone(), e.2.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&after), names(&before), "same layer names and record uuids");
    let records_after: Vec<String> = sdi.records().keys().cloned().collect();
    assert_eq!(records_after, records_before);
    assert_eq!(sdi.layers().len(), 4);
    sdi.assert_nothing_orphaned();
}

#[test]
fn a_failed_publication_is_reported_by_status_and_retried_after_its_backoff() {
    let sdi = Sdi::local("");
    sdi.add_case("valid/050_xmlmissing", "plain");
    let path = "plain/050_test_nyc_shape_noxml.shp";
    sdi.gn.fail_next(axum::http::Method::PUT, "/records", 500, 1);
    let run = sdi.apply();
    run.assert_code(1);
    assert!(
        run.stdout
            .contains(&format!("FAILED     sync.dataset:ouvert/{path}")),
        "{}",
        run.stdout
    );

    let status = sdi.run(&["status", "--json"]);
    let document: Value = serde_json::from_str(&status.stdout).unwrap();
    let dataset = &document["targets"][0]["datasets"][0];
    assert_eq!(dataset["state"], "failed", "{document:#}");
    assert_eq!(dataset["step"], "publish");
    assert_eq!(dataset["attempts"], 1);
    assert!(dataset["next_retry_at"].is_string(), "{dataset}");
    assert!(dataset["error"].as_str().unwrap().contains(path), "{dataset}");
    let human = sdi.run(&["status"]);
    assert!(
        human.stdout.contains(&format!("failed     {path}: publish: ")),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("(1 attempt(s), next try 20"),
        "{}",
        human.stdout
    );

    // Within its backoff: not tried again.
    let (run, datasets) = sdi.pass(&[]);
    run.assert_code(1);
    assert!(datasets[path]["error"]
        .as_str()
        .unwrap()
        .contains("waiting for the next try"));
    assert!(sdi.records().is_empty());
    // Backoff over: published.
    pg::query(
        pg::port(),
        &sdi.db,
        "UPDATE geosync.ledger SET publish_next_retry_at = now() - interval '1 second'",
    );
    let (run, datasets) = sdi.pass(&[]);
    run.assert_code(0);
    assert_eq!(datasets[path]["status"], "republished");
    assert_eq!(sdi.records().len(), 1);
    sdi.assert_nothing_orphaned();
}

#[test]
fn the_loop_publishes_a_file_added_while_it_runs_and_exits_on_sigterm() {
    let sdi = Sdi::local("interval = \"1s\"\nmax_in_flight = 2\n");
    sdi.run(&["apply", "--auto-approve", "--no-sync"]).assert_code(0);
    let mut child = sdi.ws.spawn(&["sync"], &[]);
    // Each dataset whole as it appears (a rename): a file refused with
    // its files (no .shx), a copied metadata file refused at publication
    // (b's is a's), the copy arriving last.
    for (case, to) in [
        ("valid/220_sld_shp_point", "points"),
        ("invalid/970_shx_missing", "broken"),
        ("valid/200_metadata_xml_QGIS_gmd", "a"),
        ("valid/200_metadata_xml_QGIS_gmd", "b"),
    ] {
        let staged = sdi.ws.join("staged").join(to);
        copy_dir(&Path::new(CORPUS).join(case), &staged);
        std::fs::rename(&staged, sdi.share().join(to)).unwrap();
    }
    let copy = "b/200_metadata_xml_QGIS_gmd.shp";
    crate::sync_platform::eventually(std::time::Duration::from_secs(60), "the layers", || {
        sdi.layers().len() == 2
            && sdi.records().len() == 2
            && sdi.ledger().get(copy).is_some_and(|e| e.3.is_some())
    });
    let sent = std::time::Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            sent.elapsed() < std::time::Duration::from_secs(20),
            "no exit after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr
            .contains("sync.target:ouvert dataset=points/220_test_sld_shp_point.shp step=load+publish: new"),
        "{stderr}"
    );
    // Each rejection labelled with the step that refused it.
    for line in [
        "dataset=broken/970_test_invalid_nyccensusblocks_shxmissing.shp step=group: rejected",
        &format!("dataset={copy} step=publish: rejected"),
    ] {
        assert!(stderr.contains(line), "no {line:?} in {stderr}");
    }
    for secret in [GN_PASSWORD, STORE_PASSWORD] {
        assert!(!stderr.contains(secret));
    }
}

#[test]
fn a_restricted_target_is_read_by_its_roles_and_its_records_never_by_all() {
    let sdi = Sdi::with_target(
        "{ path = \"share\" }",
        "",
        "visibility = \"restricted\"\nmetadata_groups = [\"sample\"]",
    );
    std::fs::create_dir_all(sdi.share()).unwrap();
    sdi.add_case("valid/130_epsg_2154", "nyc");
    sdi.apply().assert_code(0);
    assert_eq!(
        sdi.gs
            .with(|s| s.acl.get(&format!("{WS}.*.r")).cloned())
            .as_deref(),
        Some("ROLE_AUTHENTICATED")
    );
    let uuid = sdi.ledger()["nyc/130_test_nyc_epsg_2154.shp"].2.clone().unwrap();
    let privileges = sdi.gn.with(|s| s.records[&uuid].privileges.clone());
    assert!(!privileges.contains_key(&1), "shared with all: {privileges:?}");
    assert!(
        privileges.get(&2).is_some_and(|ops| ops.contains("view")),
        "group sample sees it: {privileges:?}"
    );
    let status = sdi.run(&["status"]);
    assert!(status.stdout.contains("1 published"), "{}", status.stdout);
}

#[test]
fn each_layer_of_a_geopackage_is_a_layer_with_a_record_of_its_own() {
    let sdi = Sdi::local("");
    let gpkg = sdi.share().join("gpkg/two.gpkg");
    two_layer_geopackage(&gpkg);
    // Published, killed before its record: `status` says pending.
    sdi.run(&["apply", "--auto-approve", "--no-sync"]).assert_code(0);
    sdi.ws.kill_at(&["sync", "--once"], "sync-layer-published");
    let status = sdi.run(&["status", "--json"]);
    let document: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(
        document["targets"][0]["datasets"][0]["state"], "pending",
        "{document:#}"
    );

    sdi.apply().assert_code(0);
    let ledger = sdi.ledger();
    assert_eq!(ledger.len(), 2, "{ledger:#?}");
    let blocks = &ledger["gpkg/two.gpkg#blocks"];
    let points = &ledger["gpkg/two.gpkg#points"];
    assert_ne!(blocks.0, points.0);
    assert_ne!(blocks.2, points.2, "one record per layer");
    assert_eq!(sdi.layers().len(), 2);
    assert_eq!(sdi.records().len(), 2);
    assert_eq!(sdi.featuretype(&blocks.0).srs.as_deref(), Some("EPSG:2154"));
    sdi.assert_nothing_orphaned();

    // Its last file gone: the share is empty, which only forced is a deletion.
    std::fs::remove_file(&gpkg).unwrap();
    sdi.pass(&[]).0.assert_code(1);
    assert_eq!(sdi.layers().len(), 2);
    let (run, _) = sdi.pass(&["--force-removals"]);
    run.assert_code(0);
    assert!(sdi.layers().is_empty() && sdi.records().is_empty() && sdi.ledger().is_empty());
}

/// A GeoPackage of two layers, `blocks` and `points`, from the corpus.
fn two_layer_geopackage(gpkg: &Path) {
    std::fs::create_dir_all(gpkg.parent().unwrap()).unwrap();
    for (shp, layer) in [
        ("valid/130_epsg_2154/130_test_nyc_epsg_2154.shp", "blocks"),
        ("valid/220_sld_shp_point/220_test_sld_shp_point.shp", "points"),
    ] {
        let status = Command::new("ogr2ogr")
            .args(["-f", "GPKG", "-update", "-append"])
            .arg(gpkg)
            .arg(Path::new(CORPUS).join(shp))
            .args(["-nln", layer, "-a_srs", "EPSG:2154"])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// The text of the first `<gmd:{element}>` of a record (its CharacterString).
fn gmd_value(xml: &str, element: &str) -> Option<String> {
    let start = xml.find(&format!("<gmd:{element}"))?;
    let rest = &xml[start..];
    let value = &rest[rest.find("<gco:CharacterString>")? + "<gco:CharacterString>".len()..];
    Some(value[..value.find("</gco:CharacterString>")?].to_string())
}

/// The ISO sidecar the GeoPackage's layers share: the corpus's 211.
const GPKG_SIDECAR: &str = "valid/211_us-ascii/211_us-ascii.xml";
const GPKG_AUTHOR_ID: &str = "0249cb98-6f01-4875-aa83-b87233906b10";
const GPKG_TITLE: &str = "211 test unknown-8bit";

/// Each layer's record uuid, from the ledger (layer -> uuid), all published.
fn layer_uuids(sdi: &Sdi, path: &str) -> BTreeMap<String, String> {
    sdi.ledger()
        .into_iter()
        .filter_map(|(key, row)| {
            let layer = key.strip_prefix(&format!("{path}#"))?.to_string();
            assert_eq!(row.3.as_deref(), Some("published"), "{key}: {row:?}");
            Some((layer, row.2.expect("a record uuid")))
        })
        .collect()
}

#[test]
fn each_layer_of_a_geopackage_with_one_iso_sidecar_gets_its_own_valid_record() {
    let sdi = Sdi::local("");
    let gpkg = sdi.share().join("gpkg/two.gpkg");
    two_layer_geopackage(&gpkg);
    let sidecar = sdi.share().join("gpkg/two.xml");
    std::fs::copy(Path::new(CORPUS).join(GPKG_SIDECAR), &sidecar).unwrap();
    sdi.apply().assert_code(0);

    let uuids = layer_uuids(&sdi, "gpkg/two.gpkg");
    assert_eq!(
        uuids.keys().collect::<Vec<_>>(),
        ["blocks", "points"],
        "{uuids:?}"
    );
    assert_ne!(uuids["blocks"], uuids["points"]);
    assert!(!uuids.values().any(|u| u == GPKG_AUTHOR_ID), "{uuids:?}");
    let records = sdi.records();
    assert_eq!(records.len(), 2, "{:?}", records.keys());
    let ledger = sdi.ledger();
    for (layer, uuid) in &uuids {
        let xml = &records[uuid];
        assert_eq!(gmd_value(xml, "fileIdentifier").as_deref(), Some(uuid.as_str()));
        assert_eq!(
            gmd_value(xml, "parentIdentifier").as_deref(),
            Some(GPKG_AUTHOR_ID)
        );
        let title = format!("{GPKG_TITLE} — {layer}");
        assert!(xml.contains(&title), "{layer}: {xml}");
        let table = ledger[&format!("gpkg/two.gpkg#{layer}")].1.clone().unwrap();
        assert_eq!(sdi.featuretype(&table).title, title);
        assert_valid_iso(xml, layer);
    }
    sdi.assert_nothing_orphaned();

    // The sidecar edited: republished under the same identifiers.
    let edited = std::fs::read_to_string(&sidecar)
        .unwrap()
        .replace(GPKG_TITLE, "211 test edited");
    std::fs::write(&sidecar, edited).unwrap();
    let (run, datasets) = sdi.pass(&[]);
    run.assert_code(0);
    assert_ne!(datasets["gpkg/two.gpkg"]["status"], "unchanged", "{datasets:#?}");
    assert_eq!(layer_uuids(&sdi, "gpkg/two.gpkg"), uuids);
    let records = sdi.records();
    assert_eq!(records.len(), 2);
    assert!(records[&uuids["points"]].contains("211 test edited — points"));

    // The same GeoPackage and sidecar copied elsewhere: the copy is
    // rejected, nothing of it published, the first's records untouched.
    let copy = sdi.share().join("copy/two.gpkg");
    two_layer_geopackage(&copy);
    std::fs::copy(&sidecar, sdi.share().join("copy/two.xml")).unwrap();
    let (run, datasets) = sdi.pass(&[]);
    run.assert_code(0);
    let copied = &datasets["copy/two.gpkg"];
    assert_eq!(copied["status"], "rejected", "{copied:#}");
    let reason = copied["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!(
            "derived from its metadata fileIdentifier {GPKG_AUTHOR_ID}"
        )) && reason.contains("dataset gpkg/two.gpkg (layer"),
        "{reason}"
    );
    let published: std::collections::BTreeSet<String> = sdi.records().into_keys().collect();
    assert_eq!(published, uuids.into_values().collect());
    assert_eq!(sdi.layers().len(), 2, "nothing of the copy is published");
}

/// Lines of a child's stderr, as they come.
fn stderr_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// Waits for `child` to exit, killing it and failing after `seconds`;
/// its exit status and what it printed on stdout.
fn exit_within(mut child: std::process::Child, seconds: u64) -> (std::process::ExitStatus, String) {
    use std::io::Read;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("geosync did not exit within {seconds}s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    (status, stdout)
}

fn wait_for_line(lines: &std::sync::mpsc::Receiver<String>, wanted: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(wanted) => return,
            Ok(line) => seen.push(line),
            Err(_) => panic!("never saw {wanted:?}; stderr:\n{}", seen.join("\n")),
        }
    }
}

#[test]
fn a_second_signal_stops_the_loop_at_once_and_the_next_run_converges() {
    let sdi = Sdi::local("interval = \"1s\"\n");
    sdi.run(&["apply", "--auto-approve", "--no-sync"]).assert_code(0);
    sdi.add_case("valid/050_xmlmissing", "plain");
    let mut child = sdi
        .ws
        .spawn(&["sync"], &[("GEOSYNC_TEST_PAUSE_AT", "sync-layer-published")]);
    let lines = stderr_lines(&mut child);
    wait_for_line(&lines, "geosync: paused at sync-layer-published");
    let pid = child.id().to_string();
    let kill = |signal: &str| {
        assert!(Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success())
    };
    // The first signal waits for the dataset in hand (held at the pause).
    kill("-TERM");
    wait_for_line(&lines, "stopping after the dataset in hand");
    assert!(
        child.try_wait().unwrap().is_none(),
        "it left its dataset half done"
    );
    kill("-INT");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit after a second signal"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
    assert!(sdi.records().is_empty());
    let (run, _) = sdi.pass(&[]);
    run.assert_code(0);
    assert_eq!(sdi.layers().len(), 1);
    assert_eq!(sdi.records().len(), 1);
    sdi.assert_nothing_orphaned();
}

/// Two datasets to publish; geosync `args` held once the first one's layer
/// is published, then sent SIGTERM (the hold ends on the stop request).
/// The SDI, the exit status and stdout.
fn sigterm_while_the_first_of_two_is_published(args: &[&str]) -> (Sdi, std::process::ExitStatus, String) {
    let sdi = Sdi::local("");
    sdi.run(&["apply", "--auto-approve", "--no-sync"]).assert_code(0);
    sdi.add_case("valid/050_xmlmissing", "a_first");
    sdi.add_case("valid/220_sld_shp_point", "b_second");
    let mut child = sdi.ws.spawn_with_stdout(
        args,
        &[
            ("GEOSYNC_TEST_PAUSE_AT", "sync-layer-published"),
            ("GEOSYNC_TEST_RESUME_ON_STOP", "1"),
        ],
    );
    let lines = stderr_lines(&mut child);
    wait_for_line(&lines, "geosync: paused at sync-layer-published");
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let (status, stdout) = exit_within(child, 60);
    (sdi, status, stdout)
}

#[test]
fn sync_once_stopped_by_sigterm_finishes_the_dataset_in_hand_and_leaves_the_rest() {
    let (sdi, status, stdout) = sigterm_while_the_first_of_two_is_published(&["sync", "--once", "--json"]);
    // A cron job must see that the pass did not complete.
    assert_eq!(status.code(), Some(1));
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let statuses: BTreeMap<String, String> = report["targets"][0]["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["path"].as_str().unwrap().to_string(), d["status"].to_string()))
        .collect();
    let first = "a_first/050_test_nyc_shape_noxml.shp";
    let second = "b_second/220_test_sld_shp_point.shp";
    assert!(statuses[second].contains("interrupted"), "{statuses:?}");
    // The dataset in hand was finished: its record is in the catalogue.
    assert_eq!(sdi.records().len(), 1, "{statuses:?}");
    assert_eq!(sdi.ledger()[first].3.as_deref(), Some("published"));
    assert!(!sdi.ledger().contains_key(second));
    let (run, _) = sdi.pass(&[]);
    run.assert_code(0);
    assert_eq!(sdi.layers().len(), 2);
    assert_eq!(sdi.records().len(), 2);
    sdi.assert_nothing_orphaned();
}

#[test]
fn apply_stopped_by_sigterm_during_its_sync_finishes_the_dataset_in_hand_only() {
    let (sdi, status, report) = sigterm_while_the_first_of_two_is_published(&["apply", "--auto-approve"]);
    assert_eq!(status.code(), Some(1), "{report}");
    // The sync did not go on with the share after the signal.
    assert_eq!(sdi.records().len(), 1, "{report}");
    assert_eq!(sdi.layers().len(), 1, "{report}");
    sdi.apply().assert_code(0);
    assert_eq!(sdi.layers().len(), 2);
    assert_eq!(sdi.records().len(), 2);
    sdi.assert_nothing_orphaned();
}

#[test]
fn a_raster_whose_prepared_copy_was_lost_is_prepared_again_when_republished() {
    let sdi = Sdi::local("");
    sdi.add_case("valid/040_raster_tif", "dem");
    sdi.apply().assert_code(0);
    let path = "dem/040_test_raster_tif.tif";
    let layer = sdi.ledger()[path].0.clone();
    assert!(sdi.gs.with(|s| s.layers[&(WS.to_string(), layer.clone())].raster));
    std::fs::remove_dir_all(sdi.ws.join(".geosync/sync/ouvert/rasters")).unwrap();
    // Only its metadata changes (a QGIS .qmd appears): it must be prepared again.
    sdi.ws.write(
        "share/dem/040_test_raster_tif.qmd",
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis version=\"3.28\"><identifier>dem</identifier><title>Elevation model</title><abstract>A DEM.</abstract></qgis>\n",
    );
    let (run, datasets) = sdi.pass(&[]);
    run.assert_code(0);
    assert_eq!(datasets[path]["status"], "changed", "{:#?}", datasets[path]);
    assert!(sdi.ws.exists(&format!(".geosync/sync/ouvert/rasters/{layer}")));
    let uuid = sdi.ledger()[path].2.clone().unwrap();
    assert!(sdi.records()[&uuid].contains("Elevation model"));
    sdi.assert_nothing_orphaned();
}

const WS2: &str = "geosync-second";
const COPIED_TITLE: &str = "Census blocks copied for the 2025 survey";
const FIRST: &str = "first/200_metadata_xml_QGIS_gmd.shp";
const COPY: &str = "copy/050_test_nyc_shape_noxml.shp";

/// A second target, `second`, reading `share2` into a database of its own
/// (so a ledger of its own) and its own workspace; both targets' records
/// go to the one catalogue. Returns its database.
fn add_second_target(sdi: &Sdi) -> String {
    let db2 = unique("syncpub2");
    let port = pg::port();
    let mut manifest = sdi.ws.read("geosync.toml");
    manifest.push_str(&format!(
        r#"
[[postgres.database]]
name = "{db2}"
extensions = ["postgis"]

[[geoserver.workspace]]
name = "{WS2}"

[[geoserver.datastore]]
workspace = "{WS2}"
name = "data_second"
host = "127.0.0.1"
port = {port}
database = "{db2}"
schema = "data"
user = "postgres"
password = {{ env = "GS_STORE_PASSWORD" }}

[[sync.target]]
name = "second"
source = {{ path = "share2" }}
database = "{db2}"
schema = "data"
workspace = "{WS2}"
visibility = "public"
"#
    ));
    sdi.ws.write("geosync.toml", &manifest);
    std::fs::create_dir_all(sdi.ws.join("share2")).unwrap();
    db2
}

/// What a researcher does: new data, with the `.xml` of another dataset
/// copied beside it and only its title edited.
fn copy_with_copied_sidecar(dir: &Path) {
    copy_dir(&Path::new(CORPUS).join("valid/050_xmlmissing"), dir);
    let xml = std::fs::read_to_string(
        Path::new(CORPUS).join("valid/200_metadata_xml_QGIS_gmd/200_metadata_xml_QGIS_gmd.xml"),
    )
    .unwrap();
    std::fs::write(
        dir.join("050_test_nyc_shape_noxml.xml"),
        xml.replace("200 metadata xml QGIS gmd", COPIED_TITLE),
    )
    .unwrap();
}

/// One pass over both targets: the run, datasets by (target, path), and
/// each target's warnings.
fn pass_both(sdi: &Sdi, extra: &[&str]) -> (Run, BTreeMap<(String, String), Value>, Vec<String>) {
    let mut args = vec!["sync", "--once", "--json"];
    args.extend_from_slice(extra);
    let run = sdi.run(&args);
    let document: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    let mut datasets = BTreeMap::new();
    let mut warnings = Vec::new();
    for target in document["targets"].as_array().unwrap() {
        let name = target["target"].as_str().unwrap().to_string();
        for d in target["datasets"].as_array().unwrap() {
            datasets.insert((name.clone(), d["path"].as_str().unwrap().to_string()), d.clone());
        }
        for w in target["warnings"].as_array().into_iter().flatten() {
            warnings.push(w.as_str().unwrap().to_string());
        }
    }
    (run, datasets, warnings)
}

/// `geosync status --json`: the state of `path` in `target`.
fn status_in(sdi: &Sdi, target: &str, path: &str) -> Value {
    let status = sdi.run(&["status", "--json"]);
    status.assert_code(0);
    let document: Value = serde_json::from_str(&status.stdout).unwrap();
    document["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"] == target)
        .and_then(|t| {
            t["datasets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["path"] == path)
        })
        .cloned()
        .unwrap_or_else(|| panic!("no {target}/{path} in {document:#}"))
}

/// The catalogue still holds the first dataset's record, as its author
/// wrote it, pointing at its layer.
fn assert_first_record(sdi: &Sdi, uuid: &str, table: &str) {
    let records = sdi.records();
    let xml = records.get(uuid).expect("the first dataset's record is there");
    assert!(xml.contains("200 metadata xml QGIS gmd"), "{xml}");
    assert!(
        !xml.contains(COPIED_TITLE),
        "the copy's title took the record over"
    );
    assert!(xml.contains(&format!("{WS}:{table}")), "{xml}");
}

#[test]
fn a_copied_metadata_file_never_takes_over_nor_removes_another_datasets_record() {
    let sdi = Sdi::local("");
    let db2 = add_second_target(&sdi);
    sdi.add_case("valid/200_metadata_xml_QGIS_gmd", "first");
    sdi.apply().assert_code(0);
    let (table, _, uuid, _) = sdi.ledger()[FIRST].clone();
    let uuid = uuid.unwrap();
    assert_eq!(
        uuid, "be81d9fe-8abf-40f7-8de1-139d067ec215",
        "the author's fileIdentifier"
    );
    assert_first_record(&sdi, &uuid, &table);
    let why = format!(
        "rejected: its metadata fileIdentifier {uuid} is already the record of dataset {FIRST} in target ouvert"
    );

    // In the same target, under a path that sorts first: the ledger, not
    // the order of paths, says who came first.
    copy_with_copied_sidecar(&sdi.share().join("copy"));
    let (run, datasets, _) = pass_both(&sdi, &[]);
    run.assert_code(0);
    let copy = &datasets[&("ouvert".to_string(), COPY.to_string())];
    assert_eq!(copy["status"], "rejected", "{copy:#}");
    assert!(copy["reason"].as_str().unwrap().contains(&why), "{copy:#}");
    assert_first_record(&sdi, &uuid, &table);
    assert_eq!(sdi.records().len(), 1);
    assert_eq!(
        sdi.layers(),
        vec![table.clone()],
        "nothing of the copy is published"
    );
    let status = status_in(&sdi, "ouvert", COPY);
    assert_eq!(status["state"], "rejected", "{status:#}");
    assert!(status["reason"].as_str().unwrap().contains(&why), "{status:#}");

    // In another target, whose ledger is in another database.
    copy_with_copied_sidecar(&sdi.ws.join("share2/copy"));
    let (run, datasets, _) = pass_both(&sdi, &[]);
    run.assert_code(0);
    let copy = &datasets[&("second".to_string(), COPY.to_string())];
    assert_eq!(copy["status"], "rejected", "{copy:#}");
    assert!(copy["reason"].as_str().unwrap().contains(&why), "{copy:#}");
    assert_first_record(&sdi, &uuid, &table);
    let status = status_in(&sdi, "second", COPY);
    assert_eq!(status["state"], "rejected", "{status:#}");
    assert!(status["reason"].as_str().unwrap().contains(&why), "{status:#}");

    // The researcher gives the copy's metadata an identifier of its own:
    // published at once (no backoff) under it, the first record untouched.
    let own = "6f1d3c0e-2b7a-4c55-9d3e-0a1b2c3d4e5f";
    let sidecar = sdi.share().join("copy/050_test_nyc_shape_noxml.xml");
    let fixed = std::fs::read_to_string(&sidecar)
        .unwrap()
        .replace(uuid.as_str(), own)
        .replace(COPIED_TITLE, &format!("{COPIED_TITLE}, fixed"));
    std::fs::write(&sidecar, fixed).unwrap();
    let (run, datasets, _) = pass_both(&sdi, &[]);
    run.assert_code(0);
    let copy = &datasets[&("ouvert".to_string(), COPY.to_string())];
    assert_eq!(copy["published"][0]["record_uuid"], own, "{copy:#}");
    assert!(sdi.records()[own].contains(&format!("{COPIED_TITLE}, fixed")));
    assert_first_record(&sdi, &uuid, &table);
    assert_eq!(status_in(&sdi, "ouvert", COPY)["state"], "published");

    // Both copies deleted: taken down, the first's record stays.
    std::fs::remove_dir_all(sdi.share().join("copy")).unwrap();
    std::fs::remove_dir_all(sdi.ws.join("share2/copy")).unwrap();
    let (run, datasets, _) = pass_both(&sdi, &["--force-removals"]);
    run.assert_code(0);
    for target in ["ouvert", "second"] {
        assert_eq!(
            datasets[&(target.to_string(), COPY.to_string())]["status"],
            "removed"
        );
    }
    assert_first_record(&sdi, &uuid, &table);
    assert!(
        !sdi.records().contains_key(own),
        "the copy's own record left with it"
    );

    legacy_double_claims_are_settled_by_the_ledger(&sdi, &db2, &uuid, &table);
}

/// A ledger written before uuids were checked: another target's dataset
/// recorded the first one's uuid too, later. Published again, it is
/// rejected and gives the uuid up; taken down while holding it, it leaves
/// the record; the first dataset's own removal takes it.
fn legacy_double_claims_are_settled_by_the_ledger(sdi: &Sdi, db2: &str, uuid: &str, table: &str) {
    copy_with_copied_sidecar(&sdi.ws.join("share2/copy"));
    let (run, _, _) = pass_both(sdi, &[]);
    run.assert_code(0);
    let claim_it = format!(
        "UPDATE geosync.ledger SET record_uuid = {}, record_claimed_at = now(),
             publish_status = 'published', publish_fingerprint = NULL",
        pg::lit(uuid)
    );
    pg::query(pg::port(), db2, &claim_it);
    let (run, datasets, _) = pass_both(sdi, &[]);
    run.assert_code(0);
    let copy = &datasets[&("second".to_string(), COPY.to_string())];
    assert_eq!(copy["status"], "rejected", "{copy:#}");
    assert_first_record(sdi, uuid, table);
    let held = pg::value(pg::port(), db2, "SELECT record_uuid FROM geosync.ledger");
    assert_eq!(held, None, "the later claim was given up");

    pg::query(pg::port(), db2, &claim_it);
    std::fs::remove_dir_all(sdi.ws.join("share2/copy")).unwrap();
    let (run, datasets, warnings) = pass_both(sdi, &["--force-removals"]);
    run.assert_code(0);
    assert_eq!(
        datasets[&("second".to_string(), COPY.to_string())]["status"],
        "removed"
    );
    assert_first_record(sdi, uuid, table);
    let kept = format!("{COPY}: its record {uuid} stays in the catalogue: it is the record of dataset {FIRST} in target ouvert");
    assert!(warnings.contains(&kept), "{warnings:#?}");

    std::fs::remove_dir_all(sdi.share().join("first")).unwrap();
    let (run, datasets, _) = pass_both(sdi, &["--force-removals"]);
    run.assert_code(0);
    assert_eq!(
        datasets[&("ouvert".to_string(), FIRST.to_string())]["status"],
        "removed"
    );
    assert!(sdi.records().is_empty(), "its own record left with it");
}

/// The advisory locks waiting on the claims' key (geosync's 7468053, 3).
fn claim_lock_waiters(db: &str) -> String {
    pg::value(
        pg::port(),
        db,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
           AND classid = 7468053 AND objid = 3 AND objsubid = 2 AND NOT granted",
    )
    .unwrap()
}

#[test]
fn two_geosync_processes_claim_record_uuids_one_at_a_time() {
    use std::io::Write;
    let sdi = Sdi::local("");
    sdi.run(&["apply", "--auto-approve", "--no-sync"]).assert_code(0);
    sdi.add_case("valid/200_metadata_xml_QGIS_gmd", "first");
    // Another process holds the claims' turn (psql standing for it).
    let mut other = Command::new("psql")
        .args(["-X", "-q", "-h", "127.0.0.1", "-U", "postgres"])
        .args(["-p", &pg::port().to_string(), "-d", &sdi.db])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("psql runs");
    let mut input = other.stdin.take().unwrap();
    writeln!(input, "SELECT pg_advisory_lock(7468053, 3);").unwrap();
    crate::sync_platform::eventually(std::time::Duration::from_secs(30), "psql's lock", || {
        pg::value(
            pg::port(),
            &sdi.db,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 3 AND granted",
        )
        .as_deref()
            == Some("1")
    });
    let mut child = sdi.ws.spawn(&["sync", "--once"], &[]);
    crate::sync_platform::eventually(std::time::Duration::from_secs(60), "geosync waiting", || {
        claim_lock_waiters(&sdi.db) == "1"
    });
    assert!(sdi.records().is_empty(), "a claim made out of turn");
    assert!(child.try_wait().unwrap().is_none());

    writeln!(input, "SELECT pg_advisory_unlock(7468053, 3);").unwrap();
    drop(input);
    assert!(other.wait().unwrap().success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_eq!(sdi.records().len(), 1, "published in its turn");
    assert_eq!(claim_lock_waiters(&sdi.db), "0");
}
