//! The loader against the real PostgreSQL+PostGIS that tests/run starts
//! (tests/peers/postgres.sh), with GDAL's ogr2ogr as the reference loader:
//! every valid case of the ge@sync corpus loads and matches ogr2ogr's load
//! of the same file, every invalid case is rejected with its reason, and a
//! real process killed with SIGKILL between the COPY and the swap leaves
//! the table and the ledger as they were.
//!
//! They live here, as unit tests of the binary, because the loader is a
//! library inside it; the kill test re-runs this same test binary as the
//! process it kills.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::sync::ledger::{Ledger, Status};

pub(crate) fn pg_port() -> u16 {
    std::env::var("GEOSYNC_TEST_PG_PORT")
        .expect("GEOSYNC_TEST_PG_PORT is not set: run these tests through tests/run (it starts PostgreSQL)")
        .parse()
        .expect("GEOSYNC_TEST_PG_PORT is a port")
}

/// A connection as the test cluster's superuser (also used by the
/// publishing tests).
pub(crate) async fn connect(db: &str) -> tokio_postgres::Client {
    let mut config = tokio_postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(pg_port())
        .user("postgres")
        .dbname(db);
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

/// A database of its own, with PostGIS and the schemas `data` and `ref`.
async fn fresh_db(name: &str) -> String {
    let db = format!("gs_load_{name}_{}", std::process::id());
    let admin = connect("postgres").await;
    for sql in [
        format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        format!("CREATE DATABASE {db}"),
    ] {
        admin.batch_execute(&sql).await.unwrap();
    }
    connect(&db)
        .await
        .batch_execute("CREATE EXTENSION postgis; CREATE SCHEMA data; CREATE SCHEMA ref;")
        .await
        .unwrap();
    db
}

async fn value(client: &tokio_postgres::Client, sql: &str) -> Option<String> {
    for message in client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    {
        if let tokio_postgres::SimpleQueryMessage::Row(row) = message {
            return row.get(0).map(str::to_string);
        }
    }
    None
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gesync-corpus")
}

/// The dataset of `main`: it and every file of its folder with its stem.
fn input(main: &Path, fingerprint: &str) -> Input {
    let stem = main.file_stem().unwrap().to_string_lossy().to_lowercase();
    let members = std::fs::read_dir(main.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p != main)
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_lowercase();
            name.starts_with(&format!("{stem}."))
        })
        .collect();
    Input {
        source_path: main.strip_prefix(corpus()).unwrap_or(main).display().to_string(),
        main: main.to_path_buf(),
        members,
        kind: Kind::Vector,
        layer: None,
        fingerprint: fingerprint.to_string(),
    }
}

fn target(table: &str) -> Target {
    Target {
        schema: "data".into(),
        table: table.into(),
        default_srid: None,
    }
}

/// Every .shp under `dir`, in a stable order.
fn shapefiles(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(shapefiles(&path));
        } else if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("shp")) {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// ogr2ogr's load of the same file into ref.<table>.
fn ogr2ogr(db: &str, path: &Path, table: &str, encoding: &str, extra: &[&str]) {
    let conn = format!("PG:host=127.0.0.1 port={} user=postgres dbname={db}", pg_port());
    let output = Command::new("ogr2ogr")
        .args(["-f", "PostgreSQL", &conn])
        .arg(path)
        .args([
            "-nln",
            &format!("ref.{table}"),
            "-nlt",
            "PROMOTE_TO_MULTI",
            "-preserve_fid",
        ])
        .args([
            "-lco",
            "GEOMETRY_NAME=geom",
            "-lco",
            "FID=ogc_fid",
            "-lco",
            "PRECISION=NO",
        ])
        .args(["--config", "SHAPE_ENCODING", encoding])
        .args(extra)
        .output()
        .expect("ogr2ogr (gdal-bin) is installed");
    assert!(
        output.status.success(),
        "ogr2ogr {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The SRID a corpus .prj stands for.
fn expected_srid(main: &Path) -> i32 {
    let prj = std::fs::read_dir(main.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("prj")))
        .expect("a .prj");
    let text = std::fs::read_to_string(prj).unwrap();
    if text.contains("Lambert") {
        2154
    } else if text.contains("UTM_Zone_18N") {
        26918
    } else {
        panic!("unexpected .prj {text}")
    }
}

/// Rows of data.t and ref.t that differ (geometry as WKB, each attribute
/// cast to our type), plus the count of invalid geometries of ours.
async fn differences(client: &tokio_postgres::Client, table: &str) -> (i64, i64) {
    let columns = client
        .query(
            "SELECT column_name, data_type FROM information_schema.columns
             WHERE table_schema = 'data' AND table_name = $1 AND column_name NOT IN ('ogc_fid', 'geom')",
            &[&table],
        )
        .await
        .unwrap();
    let mut checks = vec!["ST_AsBinary(a.geom) IS DISTINCT FROM ST_AsBinary(ST_Multi(b.geom))".to_string()];
    for c in &columns {
        let (name, ty): (String, String) = (c.get(0), c.get(1));
        checks.push(format!("a.\"{name}\" IS DISTINCT FROM b.\"{name}\"::{ty}"));
    }
    let sql = format!(
        "SELECT count(*) FILTER (WHERE a.ogc_fid IS NULL OR b.ogc_fid IS NULL OR {}),
                count(*) FILTER (WHERE NOT ST_IsValid(a.geom))
         FROM data.\"{table}\" a FULL JOIN ref.\"{table}\" b ON a.ogc_fid = b.ogc_fid",
        checks.join(" OR ")
    );
    let row = client
        .query_one(&sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    (row.get(0), row.get(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_valid_corpus_shapefile_loads_like_ogr2ogr() {
    let db = fresh_db("corpus").await;
    let mut client = connect(&db).await;
    let files = shapefiles(&corpus().join("valid"));
    assert!(files.len() >= 20, "{files:?}");
    for (i, main) in files.iter().enumerate() {
        let table = format!("case_{i}");
        let report = load_vector(&mut client, &input(main, "v1"), &target(&table))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let srid = expected_srid(main);
        assert_eq!(report.srid, srid, "{}", main.display());
        let geom_type = value(
            &client,
            &format!("SELECT type FROM geometry_columns WHERE f_table_name = '{table}'"),
        )
        .await;
        let our_count = value(&client, &format!("SELECT count(*) FROM data.{table}"))
            .await
            .unwrap();
        assert_eq!(our_count, report.features.to_string());
        let dbf = input(main, "").member("dbf").map(Path::to_path_buf);
        let encoding = match &dbf {
            Some(dbf) => encoding::decide(dbf, input(main, "").member("cpg")).unwrap().name,
            None => "UTF-8".into(),
        };
        ogr2ogr(&db, main, &table, &encoding, &[]);
        let ref_count = value(&client, &format!("SELECT count(*) FROM ref.{table}"))
            .await
            .unwrap();
        assert_eq!(our_count, ref_count, "{}", main.display());
        let (differ, invalid) = differences(&client, &table).await;
        assert_eq!(differ, 0, "{}: rows differ from ogr2ogr's", main.display());
        assert_eq!(invalid, 0, "{}: invalid geometries", main.display());
        // ogr2ogr 3.6 leaves ESRI .prj files unidentified (a 9009xx SRID
        // of its own); where it did find an EPSG code, it is ours.
        let ref_srid: i32 = value(
            &client,
            &format!("SELECT DISTINCT ST_SRID(geom) FROM ref.{table}"),
        )
        .await
        .unwrap()
        .parse()
        .unwrap();
        assert!(
            ref_srid >= 900_000 || ref_srid == srid,
            "{}: ogr2ogr says {ref_srid}",
            main.display()
        );
        assert!(
            geom_type.is_some_and(|t| t.starts_with("MULTI")),
            "{}",
            main.display()
        );
    }
    let ledger = Ledger::entries(&client).await.unwrap();
    assert_eq!(ledger.len(), files.len());
    assert!(ledger
        .iter()
        .all(|e| e.status == Status::Loaded && e.loaded_fingerprint.as_deref() == Some("v1")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latin1_dbf_without_cpg_and_every_cpg_spelling_give_utf8() {
    let db = fresh_db("latin").await;
    let mut client = connect(&db).await;
    for (i, case) in [
        "100_encodage_latin",
        "101_encodage_latin_cpg",
        "102_latin_CPG_UPPERCASE",
        "103_latin_CPg_MixedCase",
        "104_latin_UPPERCASE",
        "110_encodage_utf8",
        "120_utf8_lambert93_cpg",
    ]
    .iter()
    .enumerate()
    {
        let main = shapefiles(&corpus().join("valid").join(case)).remove(0);
        let table = format!("enc_{i}");
        load_vector(&mut client, &input(&main, "v1"), &target(&table))
            .await
            .unwrap();
        let names = value(
            &client,
            &format!("SELECT string_agg(DISTINCT boroname, '|' ORDER BY boroname) FROM data.{table}"),
        )
        .await
        .unwrap();
        assert!(
            names.contains("Été à l'Île") && names.contains("Besançon"),
            "{case}: {names}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_corpus_cases_are_rejected_with_their_reason() {
    let db = fresh_db("invalid").await;
    let mut client = connect(&db).await;
    let invalid = corpus().join("invalid");
    let shx = invalid.join("970_shx_missing/970_test_invalid_nyccensusblocks_shxmissing.shp");
    let error = load_vector(&mut client, &input(&shx, "v1"), &target("shx"))
        .await
        .unwrap_err();
    assert!(
        error.is_rejection() && error.to_string().contains(".shx index file is missing"),
        "{error}"
    );
    assert!(
        error.to_string().starts_with("invalid/970_shx_missing/"),
        "{error}"
    );

    let shp = invalid.join("980_shp_missing/980_test_invalid_nyccensusblocks_shpmissing.shp");
    let mut no_shp = input(&shp, "v1");
    no_shp.members = shapefiles_members(&shp);
    let error = load_vector(&mut client, &no_shp, &target("shp"))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("main file 980_test_invalid_nyccensusblocks_shpmissing.shp is missing"),
        "{error}"
    );

    let prj = invalid.join("990_prj_missing/990_test_invalid_nyccensusblocks_prjmissing.shp");
    let error = load_vector(&mut client, &input(&prj, "v1"), &target("prj"))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("no .prj and the target declares no default CRS"),
        "{error}"
    );
    // The same file loads where the target declares a default CRS.
    let with_default = Target {
        default_srid: Some(26918),
        ..target("prj")
    };
    let report = load_vector(&mut client, &input(&prj, "v1"), &with_default)
        .await
        .unwrap();
    assert_eq!((report.srid, report.features), (26918, 40));

    // Each rejection is in the ledger, with its reason.
    let ledger = Ledger::entries(&client).await.unwrap();
    let failed: Vec<_> = ledger.iter().filter(|e| e.status == Status::Failed).collect();
    assert_eq!(failed.len(), 2, "{ledger:?}");
    assert!(failed.iter().all(|e| e.attempts == 1 && e.last_error.is_some()));
}

/// The members of a shapefile whose .shp is absent.
fn shapefiles_members(shp: &Path) -> Vec<PathBuf> {
    let stem = shp.file_stem().unwrap().to_string_lossy().to_lowercase();
    std::fs::read_dir(shp.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .to_lowercase()
                .starts_with(&stem)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_load_is_recorded_with_attempts_and_retried_until_it_loads() {
    let db = fresh_db("retry").await;
    let mut client = connect(&db).await;
    let main = corpus().join("valid/130_epsg_2154/130_test_nyc_epsg_2154.shp");
    // A table geosync did not make holds the name: never replaced.
    client
        .batch_execute("CREATE TABLE data.blocks (precious text); INSERT INTO data.blocks VALUES ('keep me')")
        .await
        .unwrap();
    for attempt in 1..=2 {
        let error = load_vector(&mut client, &input(&main, "v1"), &target("blocks"))
            .await
            .unwrap_err();
        assert!(!error.is_rejection());
        assert!(error.to_string().contains("geosync did not create it"), "{error}");
        let entry = Ledger::entries(&client).await.unwrap().remove(0);
        assert_eq!((entry.status, entry.attempts), (Status::Failed, attempt));
        assert_eq!(entry.failed_fingerprint.as_deref(), Some("v1"));
        assert_eq!(entry.loaded_fingerprint, None);
        let wait = entry.next_retry_at.unwrap() - chrono::Utc::now();
        let expected = crate::sync::ledger::backoff(attempt).as_secs() as i64;
        assert!(
            (expected - 5..=expected).contains(&wait.num_seconds()),
            "{wait:?}"
        );
        assert!(!entry.retry_due(chrono::Utc::now()));
    }
    assert_eq!(
        value(&client, "SELECT precious FROM data.blocks")
            .await
            .as_deref(),
        Some("keep me")
    );
    client
        .batch_execute("ALTER TABLE data.blocks RENAME TO blocks_saved")
        .await
        .unwrap();
    let report = load_vector(&mut client, &input(&main, "v1"), &target("blocks"))
        .await
        .unwrap();
    let entry = Ledger::entries(&client).await.unwrap().remove(0);
    assert_eq!(
        (entry.status, entry.attempts, entry.features),
        (Status::Loaded, 0, Some(report.features as i64))
    );
    assert_eq!(
        (entry.loaded_fingerprint.as_deref(), entry.last_error),
        (Some("v1"), None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_replaces_the_table_and_remove_drops_it() {
    let db = fresh_db("reload").await;
    let mut client = connect(&db).await;
    let first = corpus().join("valid/130_epsg_2154/130_test_nyc_epsg_2154.shp");
    let second = corpus().join("valid/220_sld_shp_point/220_test_sld_shp_point.shp");
    let progress = std::sync::Arc::new(Progress::default());
    let report = load_vector_with_progress(&mut client, &input(&first, "v1"), &target("layer"), &progress)
        .await
        .unwrap();
    let seen = |p: &std::sync::atomic::AtomicU64| p.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        (seen(&progress.features), seen(&progress.total)),
        (report.features, 40)
    );
    let mut changed = input(&second, "v2");
    changed.source_path = input(&first, "").source_path;
    let report = load_vector(&mut client, &changed, &target("layer"))
        .await
        .unwrap();
    assert_eq!(report.features, 12);
    assert_eq!(
        value(&client, "SELECT count(*) FROM data.layer").await.as_deref(),
        Some("12")
    );
    assert_eq!(
        value(
            &client,
            "SELECT type FROM geometry_columns WHERE f_table_name = 'layer'"
        )
        .await
        .as_deref(),
        Some("MULTIPOINT")
    );
    let entries = Ledger::entries(&client).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].loaded_fingerprint.as_deref(), Some("v2"));
    assert!(Ledger::remove(&mut client, &entries[0].key).await.unwrap());
    assert_eq!(
        value(&client, "SELECT to_regclass('data.layer')::text").await,
        None
    );
    assert!(Ledger::entries(&client).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_geopackage_with_two_layers_loads_each_layer() {
    let db = fresh_db("gpkg").await;
    let mut client = connect(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let gpkg = dir.path().join("two.gpkg");
    for (shp, layer) in [
        ("valid/130_epsg_2154/130_test_nyc_epsg_2154.shp", "blocks"),
        ("valid/220_sld_shp_point/220_test_sld_shp_point.shp", "points"),
    ] {
        let status = Command::new("ogr2ogr")
            .args(["-f", "GPKG", "-update", "-append"])
            .arg(&gpkg)
            .arg(corpus().join(shp))
            // A CRS ogr2ogr writes from an ESRI .prj comes back as
            // IGNF:LAMB93, which geosync keeps as custom WKT: say EPSG.
            .args(["-nln", layer, "-oo", "ENCODING=ISO-8859-1", "-a_srs", "EPSG:2154"])
            .status()
            .unwrap();
        assert!(status.success());
    }
    assert_eq!(layers(&gpkg).unwrap(), ["blocks", "points"]);
    let mut whole = input(&gpkg, "g1");
    whole.members.clear();
    let error = load_vector(&mut client, &whole, &target("two"))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("holds 2 layers and none was chosen"),
        "{error}"
    );
    for (layer, count, ty) in [("blocks", 40, "MULTIPOLYGON"), ("points", 12, "MULTIPOINT")] {
        let mut one = whole.clone();
        one.layer = Some(layer.into());
        let report = load_vector(&mut client, &one, &target(&format!("two_{layer}")))
            .await
            .unwrap();
        assert_eq!((report.features, report.srid), (count, 2154));
        let sql = format!("SELECT type FROM geometry_columns WHERE f_table_name = 'two_{layer}'");
        assert_eq!(value(&client, &sql).await.as_deref(), Some(ty));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn geojson_loads_in_wgs84_with_typed_attributes() {
    let db = fresh_db("geojson").await;
    let mut client = connect(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sites.geojson");
    std::fs::write(
        &path,
        r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"nom":"Salins","n":3,"x":1.5,"ok":true,"d":"2024-05-01","tags":["a","b"]},"geometry":{"type":"Polygon","coordinates":[[[5.8,46.9],[5.9,46.9],[5.9,47.0],[5.8,46.9]]]}},
 {"type":"Feature","properties":{"nom":"Arc-et-Senans","n":null,"x":2,"ok":false,"d":null,"tags":[]},"geometry":{"type":"MultiPolygon","coordinates":[[[[5.7,47.0],[5.8,47.0],[5.8,47.1],[5.7,47.0]]]]}}]}"#,
    )
    .unwrap();
    let mut geojson = input(&path, "j1");
    geojson.members.clear();
    let report = load_vector(&mut client, &geojson, &target("sites"))
        .await
        .unwrap();
    assert_eq!((report.features, report.srid), (2, 4326));
    let row = value(
        &client,
        "SELECT concat_ws(',', pg_typeof(n), pg_typeof(x), pg_typeof(ok), pg_typeof(d), tags::text,
                ST_GeometryType(geom), sum(n) OVER ())
         FROM data.sites ORDER BY ogc_fid LIMIT 1",
    )
    .await
    .unwrap();
    assert_eq!(
        row,
        "integer,double precision,boolean,date,[\"a\", \"b\"],ST_MultiPolygon,3"
    );
}

#[test]
fn the_corpus_geotiff_becomes_a_tiled_geotiff_with_its_nodata() {
    let tif = corpus().join("valid/040_raster_tif/040_test_raster_tif.tif");
    let out = tempfile::tempdir().unwrap();
    let raster = Input {
        source_path: "valid/040_raster_tif/040_test_raster_tif.tif".into(),
        main: tif.clone(),
        members: vec![],
        kind: Kind::Raster,
        layer: None,
        fingerprint: "r1".into(),
    };
    let report = prepare_raster(&raster, out.path()).unwrap();
    let source = gdal::Dataset::open(&tif).unwrap();
    let written = gdal::Dataset::open(&report.path).unwrap();
    assert_eq!(written.raster_size(), source.raster_size());
    assert_eq!(written.geo_transform().unwrap(), source.geo_transform().unwrap());
    let nodata: Vec<_> = source.rasterbands().map(|b| b.unwrap().no_data_value()).collect();
    assert_eq!(report.nodata, nodata);
    let band = written.rasterband(1).unwrap();
    assert_eq!(band.no_data_value(), nodata[0]);
    let (bx, by) = band.block_size();
    assert!(bx == by && bx >= 256, "tiled: {bx}x{by}");
    // Its CRS (an unnamed Lambert-93 bound to WGS84) is kept as written.
    assert_eq!(
        written.spatial_ref().unwrap().to_wkt().unwrap(),
        source.spatial_ref().unwrap().to_wkt().unwrap()
    );
}

#[test]
fn an_image_without_georeferencing_is_rejected_with_that_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan.tif");
    let driver = gdal::DriverManager::get_driver_by_name("GTiff").unwrap();
    driver.create_with_band_type::<u8, _>(&path, 16, 16, 1).unwrap();
    let scan = Input {
        source_path: "photos/scan.tif".into(),
        main: path,
        members: vec![],
        kind: Kind::Raster,
        layer: None,
        fingerprint: "s1".into(),
    };
    let error = prepare_raster(&scan, dir.path()).unwrap_err().to_string();
    assert!(
        error.starts_with("photos/scan.tif: rejected: it is not georeferenced"),
        "{error}"
    );
}

/// The process the kill test kills: loads v2 over v1 and, between the
/// COPY and the swap, says so and waits to be killed. Run only by
/// `a_load_killed_between_copy_and_swap_leaves_table_and_ledger_true`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by the kill test as the process it kills"]
async fn kill_child() {
    let db = std::env::var("GEOSYNC_KILL_CHILD_DB").expect("run by the kill test");
    let marker = PathBuf::from(std::env::var("GEOSYNC_KILL_CHILD_MARKER").unwrap());
    let mut client = connect(&db).await;
    let main = corpus().join("valid/211_us-ascii/211_us-ascii.shp");
    let mut changed = input(&main, "v2");
    changed.source_path = "layer".into();
    vector::load::load_vector_with(
        &mut client,
        &changed,
        &target("layer"),
        &Default::default(),
        &|| {
            std::fs::write(&marker, "copied").unwrap();
            loop {
                std::thread::park();
            }
        },
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_killed_between_copy_and_swap_leaves_table_and_ledger_true() {
    let db = fresh_db("kill").await;
    let mut client = connect(&db).await;
    let v1 = corpus().join("valid/130_epsg_2154/130_test_nyc_epsg_2154.shp");
    let mut first = input(&v1, "v1");
    first.source_path = "layer".into();
    load_vector(&mut client, &first, &target("layer")).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("copied");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "sync::load::tests::kill_child",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("GEOSYNC_KILL_CHILD_DB", &db)
        .env("GEOSYNC_KILL_CHILD_MARKER", &marker)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !marker.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the loading process ended before the swap: {status}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the loading process never reached the swap"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The staging table is full (not yet visible) when the process dies.
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // The old table and the ledger are untouched.
    assert_eq!(
        value(&client, "SELECT count(*) FROM data.layer").await.as_deref(),
        Some("40")
    );
    let entry = Ledger::entries(&client).await.unwrap().remove(0);
    assert_eq!(
        (entry.status, entry.loaded_fingerprint.as_deref()),
        (Status::Loaded, Some("v1"))
    );
    assert_eq!(entry.features, Some(40));
    // The next run converges: the new content is in, the ledger says so.
    let mut again = input(&corpus().join("valid/211_us-ascii/211_us-ascii.shp"), "v2");
    again.source_path = "layer".into();
    let report = load_vector(&mut client, &again, &target("layer")).await.unwrap();
    assert_eq!(report.features, 594);
    assert_eq!(
        value(&client, "SELECT count(*) FROM data.layer").await.as_deref(),
        Some("594")
    );
    let entry = Ledger::entries(&client).await.unwrap().remove(0);
    assert_eq!(
        (entry.status, entry.loaded_fingerprint.as_deref(), entry.features),
        (Status::Loaded, Some("v2"), Some(594))
    );
    let leftovers = value(
        &client,
        "SELECT count(*) FROM pg_tables WHERE schemaname IN ('geosync', 'data') AND tablename LIKE 'load_%'",
    )
    .await;
    assert_eq!(leftovers.as_deref(), Some("0"));
}
