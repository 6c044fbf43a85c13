//! The data sync inside the platform's run, against real PostgreSQL +
//! PostGIS and a local share: `plan` on a host not built yet shows every
//! dataset as new next to the database it needs, `--exclude sync` leaves
//! it out, `apply` runs the pass as its last step, `status` reports it;
//! a part-1 ledger is upgraded in place; the loop picks up a file added
//! while it runs and stops cleanly on SIGTERM.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::pg;
use crate::support::{unique, Workspace};
use crate::sync::{copy_dir, CORPUS};

/// A workspace whose manifest declares the target's database (not created
/// yet) and one target reading `share/` into it.
fn platform(extra_sync: &str) -> (Workspace, String) {
    let db = unique("syncp");
    let ws = Workspace::new();
    ws.write(
        "geosync.toml",
        &format!(
            "[postgres]\nhost = \"127.0.0.1\"\nport = {}\nsslmode = \"disable\"\n\n\
             [[postgres.database]]\nname = \"{db}\"\nextensions = [\"postgis\"]\n\n\
             [sync]\n{extra_sync}\n\
             [[sync.target]]\nname = \"t\"\nsource = {{ path = \"share\" }}\ndatabase = \"{db}\"\nschema = \"data\"\n",
            pg::port()
        ),
    );
    std::fs::create_dir_all(ws.join("share")).unwrap();
    (ws, db)
}

fn add_case(ws: &Workspace, case: &str) {
    let from = Path::new(CORPUS).join("valid").join(case);
    copy_dir(&from, &ws.join("share").join(case));
}

fn tables(db: &str) -> Vec<String> {
    pg::query(
        pg::port(),
        db,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'data' ORDER BY 1",
    )
    .into_iter()
    .map(|r| r[0].clone().unwrap())
    .collect()
}

fn plan_json(ws: &Workspace, extra: &[&str]) -> Value {
    let mut args = vec!["plan", "--json"];
    args.extend_from_slice(extra);
    let run = ws.geosync(&args);
    run.assert_code(0);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

fn addresses(plan: &Value, kind: &str) -> Vec<String> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no_op")
        .filter_map(|c| {
            c["address"]
                .as_str()?
                .strip_prefix(&format!("{kind}:"))
                .map(String::from)
        })
        .collect()
}

#[test]
fn plan_on_an_empty_host_then_apply_runs_the_sync_as_its_last_step() {
    let (ws, db) = platform("");
    add_case(&ws, "220_sld_shp_point");
    add_case(&ws, "050_xmlmissing");

    let plan = plan_json(&ws, &[]);
    assert_eq!(addresses(&plan, "postgres.database"), vec![db.clone()]);
    assert_eq!(
        addresses(&plan, "sync.dataset"),
        vec![
            "t/050_xmlmissing/050_test_nyc_shape_noxml.shp",
            "t/220_sld_shp_point/220_test_sld_shp_point.shp"
        ]
    );
    // The datasets wait for the database they are loaded into.
    let dataset = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"].as_str().unwrap().starts_with("sync.dataset:"))
        .unwrap();
    assert!(dataset["depends_on"].to_string().contains(&db), "{dataset:#}");
    for exclude in ["sync", "sync.dataset"] {
        let without = plan_json(&ws, &["--exclude", exclude]);
        assert!(
            addresses(&without, "sync.dataset").is_empty(),
            "--exclude {exclude}"
        );
        assert_eq!(addresses(&without, "postgres.database"), vec![db.clone()]);
    }

    let run = ws.geosync(&["apply", "--auto-approve", "--no-sync"]);
    run.assert_code(0);
    assert!(tables(&db).is_empty(), "--no-sync loaded something");

    // One dataset left out by name: the pass does not touch it.
    let run = ws.geosync(&[
        "apply",
        "--auto-approve",
        "--exclude",
        "sync.dataset:t/050_xmlmissing/050_test_nyc_shape_noxml.shp",
    ]);
    run.assert_code(0);
    assert_eq!(tables(&db), vec!["l_220_test_sld_shp_point"]);

    let run = ws.geosync(&["apply", "--auto-approve"]);
    run.assert_code(0);
    assert_eq!(
        tables(&db),
        vec!["l_050_test_nyc_shape_noxml", "l_220_test_sld_shp_point"]
    );
    let again = ws.geosync(&["plan", "--detailed-exitcode"]);
    again.assert_code(0);

    let status = ws.geosync(&["status", "--json"]);
    status.assert_code(0);
    let document: Value = serde_json::from_str(&status.stdout).unwrap();
    let datasets = document["targets"][0]["datasets"].as_array().unwrap();
    assert_eq!(datasets.len(), 2, "{document:#}");
    assert!(datasets.iter().all(|d| d["state"] == "loaded"), "{document:#}");
    let human = ws.geosync(&["status"]);
    assert!(
        human
            .stdout
            .contains("loaded     220_sld_shp_point/220_test_sld_shp_point.shp -> l_220_test_sld_shp_point"),
        "{}",
        human.stdout
    );
}

#[test]
fn a_part_one_ledger_is_upgraded_in_place_and_keeps_its_rows() {
    let (ws, db) = platform("");
    pg::query(pg::port(), "postgres", &format!("CREATE DATABASE {db}"));
    pg::query(pg::port(), &db, "CREATE EXTENSION postgis");
    // The ledger as part 1 made it, with one dataset loaded.
    pg::query(
        pg::port(),
        &db,
        "CREATE SCHEMA geosync; CREATE SCHEMA data;
         CREATE TABLE geosync.ledger (
            source_path text NOT NULL, layer text NOT NULL DEFAULT '',
            table_schema text NOT NULL, table_name text NOT NULL,
            status text NOT NULL CHECK (status IN ('loaded', 'failed')),
            loaded_fingerprint text, failed_fingerprint text, features bigint, srid integer,
            attempts integer NOT NULL DEFAULT 0, last_error text, next_retry_at timestamptz,
            loaded_at timestamptz, updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (source_path, layer), UNIQUE (table_schema, table_name));
         CREATE TABLE data.old_one (id int);
         INSERT INTO geosync.ledger (source_path, table_schema, table_name, status, loaded_fingerprint, features, srid, loaded_at)
         VALUES ('kept/old_one.geojson', 'data', 'old_one', 'loaded', 'v1:x:y', 1, 4326, now());",
    );
    // It stays in the share (unchanged files are not what this checks: the
    // dataset is there, so it is not removed).
    add_case(&ws, "050_xmlmissing");
    ws.write("share/kept/old_one.geojson", r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":1},"geometry":{"type":"Point","coordinates":[1,2]}}]}"#);
    let status = ws.geosync(&["status"]);
    status.assert_code(1);
    assert!(status.stdout.contains("predates publishing"), "{}", status.stdout);

    let run = ws.geosync(&["sync", "--once"]);
    run.assert_code(0);
    let columns = pg::value(
        pg::port(),
        &db,
        "SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns
         WHERE table_schema = 'geosync' AND table_name = 'ledger' AND column_name LIKE 'publish%'",
    )
    .unwrap();
    assert_eq!(
        columns,
        "publish_attempts,publish_error,publish_failed_fingerprint,publish_fingerprint,\
         publish_next_retry_at,publish_status,published_at"
    );
    assert_eq!(
        pg::value(pg::port(), &db, "SELECT count(*) FROM geosync.ledger").unwrap(),
        "2"
    );
    assert_eq!(
        pg::value(
            pg::port(),
            &db,
            "SELECT table_name FROM geosync.ledger WHERE source_path = 'kept/old_one.geojson'"
        )
        .unwrap(),
        "old_one",
        "the part-1 row keeps its table"
    );
    // Upgrading twice changes nothing.
    ws.geosync(&["sync", "--once"]).assert_code(0);
    ws.geosync(&["status"]).assert_code(0);
}

/// Polls `check` every 100 ms until it holds or `timeout` passes.
pub fn eventually(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_loop_loads_a_file_added_while_it_runs_and_stops_on_sigterm() {
    let (ws, db) = platform("interval = \"1s\"\n");
    ws.geosync(&["apply", "--auto-approve", "--no-sync"])
        .assert_code(0);
    add_case(&ws, "050_xmlmissing");
    let mut child = ws.spawn(&["sync"], &[]);
    eventually(Duration::from_secs(60), "the first dataset", || {
        tables(&db) == vec!["l_050_test_nyc_shape_noxml"]
    });
    add_case(&ws, "220_sld_shp_point");
    eventually(Duration::from_secs(60), "the dataset added while running", || {
        tables(&db).len() == 2
    });
    let sent = Instant::now();
    nix_kill(child.id(), "TERM");
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(20),
            "geosync sync did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains("sync.target:t dataset=220_sld_shp_point/220_test_sld_shp_point.shp step=load: new"),
        "the log names target, dataset and step:\n{stderr}"
    );
}

fn nix_kill(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_target_without_a_datastore_reading_its_database_is_refused_at_validate() {
    let ws = Workspace::new();
    let manifest = |datastore_db: &str, named: &str| {
        format!(
            "[postgres]\nhost = \"127.0.0.1\"\n\n\
             [geoserver]\nurl = \"http://127.0.0.1:1/geoserver\"\n\n\
             [[geoserver.workspace]]\nname = \"open\"\n\n\
             [[geoserver.datastore]]\nworkspace = \"open\"\nname = \"store\"\nhost = \"db\"\ndatabase = \"{datastore_db}\"\nschema = \"data\"\nuser = \"reader\"\n\n\
             [sync]\nmax_removal_share = 0.3\n\n\
             [[sync.target]]\nname = \"t\"\nsource = {{ path = \"share\" }}\ndatabase = \"gis\"\nschema = \"data\"\nworkspace = \"open\"\n{named}"
        )
    };
    ws.write("geosync.toml", &manifest("gis", ""));
    ws.geosync(&["validate"]).assert_code(0);
    ws.write("geosync.toml", &manifest("other", ""));
    let run = ws.geosync(&["validate"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("geosync.toml:21:1: sync.target:t: publishes in workspace `open`, but none of its [[geoserver.datastore]] reads database gis schema data"),
        "{}",
        run.stderr
    );
    ws.write("geosync.toml", &manifest("other", "datastore = \"store\"\n"));
    let run = ws.geosync(&["validate"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("geosync.toml:27:13: sync.target:t: datastore `open:store` reads database other schema data, not the target's gis schema data"),
        "{}",
        run.stderr
    );
    ws.write(
        "geosync.toml",
        &manifest("gis", "").replace("max_removal_share = 0.3", "max_removal_share = 1.5"),
    );
    let run = ws.geosync(&["validate"]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("max_removal_share 1.5 is not between 0 and 1"),
        "{}",
        run.stderr
    );
}

/// The sync sets its workspace's read rule itself: a `[[geoserver.acl]]`
/// giving the same rule other roles would be rewritten by one and then the
/// other at every run, so the layers' audience would flip.
#[test]
fn a_geoserver_acl_contradicting_a_targets_read_rule_is_refused_at_validate() {
    let ws = Workspace::new();
    let manifest = |visibility: &str, acl_roles: &str| {
        format!(
            "[postgres]\nhost = \"127.0.0.1\"\n\n\
             [geoserver]\nurl = \"http://127.0.0.1:1/geoserver\"\n\n\
             [[geoserver.workspace]]\nname = \"lab\"\n\n\
             [[geoserver.datastore]]\nworkspace = \"lab\"\nname = \"store\"\nhost = \"db\"\ndatabase = \"gis\"\nschema = \"data\"\nuser = \"reader\"\n\n\
             [[geoserver.acl]]\nrule = \"lab.*.r\"\nroles = {acl_roles}\n\n\
             [[sync.target]]\nname = \"t\"\nsource = {{ path = \"share\" }}\ndatabase = \"gis\"\nschema = \"data\"\nworkspace = \"lab\"\nvisibility = \"{visibility}\"\n"
        )
    };
    ws.write(
        "geosync.toml",
        &manifest("restricted", "[\"ROLE_AUTHENTICATED\"]"),
    );
    ws.geosync(&["validate"]).assert_code(0);
    ws.write("geosync.toml", &manifest("public", "[\"*\"]"));
    ws.geosync(&["validate"]).assert_code(0);
    ws.write("geosync.toml", &manifest("restricted", "[\"*\"]"));
    let run = ws.geosync(&["validate"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains(
            "geoserver.acl:lab.*.r: sync.target:t sets this rule to ROLE_AUTHENTICATED (its restricted visibility)"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("geosync.toml:18:1: "), "{}", run.stderr);
}
