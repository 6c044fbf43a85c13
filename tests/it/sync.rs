//! `geosync sync --once` against real services: PostgreSQL + PostGIS, a
//! local folder and rclone's WebDAV server as shares, the ge@sync corpus
//! as the data (tests/fixtures/gesync-corpus).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::pg;
use crate::support::{peer_env, unique, Run, Workspace};

pub const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gesync-corpus");

/// A workspace with a database of its own (PostGIS) and a manifest whose
/// one target `t` reads `source` (a TOML inline table) into schema `data`.
pub struct SyncCase {
    pub ws: Workspace,
    pub db: String,
}

impl SyncCase {
    pub fn new(source: &str) -> SyncCase {
        let db = unique("sync");
        pg::query(pg::port(), "postgres", &format!("CREATE DATABASE {db}"));
        pg::query(pg::port(), &db, "CREATE EXTENSION postgis");
        let ws = Workspace::new();
        ws.write(
            "geosync.toml",
            &format!(
                "[postgres]\nhost = \"127.0.0.1\"\nport = {}\nsslmode = \"disable\"\n\n\
                 [[sync.target]]\nname = \"t\"\nsource = {source}\ndatabase = \"{db}\"\nschema = \"data\"\n",
                pg::port()
            ),
        );
        SyncCase { ws, db }
    }

    pub fn sync(&self, extra: &[&str]) -> Run {
        let mut args = vec!["sync", "--once"];
        args.extend_from_slice(extra);
        self.ws.geosync(&args)
    }

    /// A pass with --json: the statuses by dataset path.
    pub fn sync_json(&self, extra: &[&str]) -> (Run, Vec<Value>) {
        let mut args = vec!["--json"];
        args.extend_from_slice(extra);
        let run = self.sync(&args);
        let document: Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{e}: not JSON:\n{}\n{}", run.stdout, run.stderr));
        let datasets = document["targets"][0]["datasets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        (run, datasets)
    }

    pub fn count(&self, sql: &str) -> i64 {
        pg::value(pg::port(), &self.db, sql).unwrap().parse().unwrap()
    }

    pub fn tables(&self) -> Vec<String> {
        pg::query(
            pg::port(),
            &self.db,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'data' ORDER BY 1",
        )
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect()
    }
}

pub fn status_of<'a>(datasets: &'a [Value], path: &str) -> &'a Value {
    datasets
        .iter()
        .find(|d| d["path"] == path)
        .unwrap_or_else(|| panic!("no dataset {path} in {datasets:#?}"))
}

pub fn statuses(datasets: &[Value]) -> Vec<(String, String)> {
    datasets
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap().to_string(),
                d["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

fn corpus_case(name: &str) -> PathBuf {
    Path::new(CORPUS).join(name)
}

#[test]
fn the_corpus_loads_every_valid_case_and_rejects_every_invalid_one() {
    let case = SyncCase::new("{ path = \"share\" }");
    copy_dir(Path::new(CORPUS), &case.ws.join("share"));
    let (run, datasets) = case.sync_json(&[]);
    run.assert_code(0);
    let valid: Vec<_> = statuses(&datasets)
        .into_iter()
        .filter(|(p, _)| p.starts_with("valid/"))
        .collect();
    assert_eq!(valid.len(), 25, "{valid:#?}");
    assert!(valid.iter().all(|(_, s)| s == "new"), "{valid:#?}");
    for (path, needle) in [
        (
            "invalid/970_shx_missing/970_test_invalid_nyccensusblocks_shxmissing.shp",
            ".shx",
        ),
        (
            "invalid/980_shp_missing/980_test_invalid_nyccensusblocks_shpmissing.dbf",
            ".shp",
        ),
        (
            "invalid/990_prj_missing/990_test_invalid_nyccensusblocks_prjmissing.shp",
            "default_crs",
        ),
    ] {
        let d = status_of(&datasets, path);
        assert_eq!(d["status"], "rejected", "{d}");
        assert!(d["reason"].as_str().unwrap().contains(needle), "{d}");
    }
    // Same file name in two folders: two tables.
    let a = status_of(
        &datasets,
        "valid/080_samefilename/080_samefilename_pathA/080_test_nyc_samefilename.shp",
    );
    let b = status_of(
        &datasets,
        "valid/080_samefilename/080_samefilename_pathB/080_test_nyc_samefilename.shp",
    );
    assert_ne!(a["tables"], b["tables"]);
    let tables = case.tables();
    assert_eq!(
        tables.len(),
        24,
        "24 vector tables (the GeoTIFF is prepared, not loaded): {tables:?}"
    );
    assert_eq!(
        case.count("SELECT count(*) FROM data.l_130_test_nyc_epsg_2154"),
        40
    );
    // The ledger says loaded for every valid case; a second pass changes nothing.
    assert_eq!(
        case.count("SELECT count(*) FROM geosync.ledger WHERE status = 'loaded'"),
        25
    );
    let (again, datasets) = case.sync_json(&[]);
    again.assert_code(0);
    let changed: Vec<_> = statuses(&datasets)
        .into_iter()
        .filter(|(p, s)| p.starts_with("valid/") && s != "unchanged")
        .collect();
    assert!(changed.is_empty(), "{changed:?}");
}

#[test]
fn a_dry_run_shows_the_plan_and_touches_nothing() {
    let case = SyncCase::new("{ path = \"share\" }");
    copy_dir(&corpus_case("valid/130_epsg_2154"), &case.ws.join("share/a"));
    copy_dir(&corpus_case("invalid/970_shx_missing"), &case.ws.join("share/b"));
    let run = case.sync(&["--dry-run"]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("+ sync.dataset:t/a/130_test_nyc_epsg_2154.shp (create: new in the share)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("+ table: \"l_130_test_nyc_epsg_2154\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("rejected: shapefile without its .shx"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Plan: 1 to create"), "{}", run.stdout);
    assert_eq!(
        pg::value(pg::port(), &case.db, "SELECT to_regclass('geosync.ledger')::text"),
        None
    );
    // The same plan as JSON, in the project's plan format.
    let json = case.sync(&["--dry-run", "--json"]);
    let plan: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(plan["changes"][0]["action"], "create");
    assert_eq!(plan["changes"][0]["reason"]["code"], "new");
}

#[test]
fn changes_sidecars_and_removals_over_a_real_webdav_server() {
    let folder = unique("share");
    let root = PathBuf::from(peer_env("GEOSYNC_TEST_WEBDAV_DIR")).join(&folder);
    copy_dir(&corpus_case("valid/220_sld_shp_point"), &root.join("points"));
    copy_dir(&corpus_case("valid/130_epsg_2154"), &root.join("nyc"));
    copy_dir(&corpus_case("valid/230_sld_shp_line"), &root.join("lines"));
    let url = format!("{}/{folder}/", peer_env("GEOSYNC_TEST_WEBDAV_URL"));
    let mut case = SyncCase::new(&format!(
        "{{ webdav = \"{url}\", user = \"{}\", password = {{ env = \"SHARE_PASSWORD\" }} }}",
        peer_env("GEOSYNC_TEST_WEBDAV_USER")
    ));
    case.ws
        .set_env("SHARE_PASSWORD", &peer_env("GEOSYNC_TEST_WEBDAV_PASSWORD"));
    let (run, datasets) = case.sync_json(&[]);
    run.assert_code(0);
    assert!(
        statuses(&datasets).iter().all(|(_, s)| s == "new"),
        "{datasets:#?}"
    );
    assert_eq!(case.tables().len(), 3);

    // A sidecar changes, the main file of another changes, one leaves.
    let sld = root.join("points/220_test_sld_shp_point.sld");
    let mut style = std::fs::read_to_string(&sld).unwrap();
    style.push_str("\n<!-- restyled -->\n");
    std::fs::write(&sld, style).unwrap();
    let shp = root.join("lines/230_test_sld_shp_line.shp");
    let bytes = std::fs::read(&shp).unwrap();
    std::fs::write(&shp, &bytes).unwrap();
    let later = filetime_later(&shp);
    assert!(later, "the rewritten file has a new modification time");
    std::fs::remove_dir_all(root.join("nyc")).unwrap();
    let (run, datasets) = case.sync_json(&[]);
    run.assert_code(0);
    let d = status_of(&datasets, "points/220_test_sld_shp_point.shp");
    assert_eq!(
        (d["status"].as_str(), d["reason"].as_str()),
        (Some("changed"), Some("sidecar changed")),
        "{d}"
    );
    let d = status_of(&datasets, "lines/230_test_sld_shp_line.shp");
    assert_eq!(
        (d["status"].as_str(), d["reason"].as_str()),
        (Some("changed"), Some("content changed")),
        "{d}"
    );
    assert_eq!(
        status_of(&datasets, "nyc/130_test_nyc_epsg_2154.shp")["status"],
        "removed"
    );
    assert_eq!(
        case.tables(),
        ["l_220_test_sld_shp_point", "l_230_test_sld_shp_line"]
    );

    // Wrong credentials: an error naming the share, never the password.
    case.ws.set_env("SHARE_PASSWORD", "not-the-password");
    let refused = case.sync(&[]);
    refused.assert_code(1);
    assert!(
        refused.stderr.contains("401") && refused.stderr.contains("user and password"),
        "{}",
        refused.stderr
    );
    assert_eq!(case.tables().len(), 2, "nothing removed");
}

/// Sets the file's modification time one minute later, as an editor saving
/// it a minute later would (rclone's etags follow the modification time).
fn filetime_later(path: &Path) -> bool {
    let meta = std::fs::metadata(path).unwrap();
    let later = meta.modified().unwrap() + std::time::Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(later)
        .is_ok()
}

#[test]
fn an_emptied_share_is_an_error_and_nothing_is_dropped() {
    let case = SyncCase::new("{ path = \"share\" }");
    copy_dir(&corpus_case("valid/130_epsg_2154"), &case.ws.join("share/a"));
    case.sync(&[]).assert_code(0);
    std::fs::remove_dir_all(case.ws.join("share/a")).unwrap();
    let run = case.sync(&[]);
    run.assert_code(1);
    assert!(run.stderr.contains("the share lists no file"), "{}", run.stderr);
    assert_eq!(case.tables(), ["l_130_test_nyc_epsg_2154"]);
    // A share that is not there at all (unmounted) is an error too.
    std::fs::remove_dir_all(case.ws.join("share")).unwrap();
    let run = case.sync(&[]);
    run.assert_code(1);
    assert!(run.stderr.contains("cannot read the share"), "{}", run.stderr);
    assert_eq!(case.tables().len(), 1);
    // Said on purpose, it is done.
    std::fs::create_dir_all(case.ws.join("share")).unwrap();
    let (run, datasets) = case.sync_json(&["--force-removals"]);
    run.assert_code(0);
    assert_eq!(
        statuses(&datasets),
        [("a/130_test_nyc_epsg_2154.shp".to_string(), "removed".to_string())]
    );
    assert!(case.tables().is_empty());
}

#[test]
fn hostile_names_in_a_local_share_are_refused_with_a_reason() {
    use std::os::unix::ffi::OsStrExt;
    let case = SyncCase::new("{ path = \"share\" }");
    let share = case.ws.join("share");
    copy_dir(&corpus_case("valid/130_epsg_2154"), &share.join("ok"));
    std::fs::create_dir_all(share.join("odd")).unwrap();
    std::fs::write(share.join("odd/bell\u{7}.shp"), b"x").unwrap();
    std::fs::write(
        share
            .join("odd")
            .join(std::ffi::OsStr::from_bytes(b"caf\xe9.shp")),
        b"x",
    )
    .unwrap();
    std::os::unix::fs::symlink("/etc", share.join("odd/escape")).unwrap();
    // 64+ characters: a table name within PostgreSQL's 63 bytes.
    let long = "a_very_long_file_name_that_goes_well_beyond_what_postgresql_accepts_as_a_name";
    for entry in std::fs::read_dir(corpus_case("valid/130_epsg_2154")).unwrap() {
        let entry = entry.unwrap();
        let name = entry
            .file_name()
            .to_string_lossy()
            .replace("130_test_nyc_epsg_2154", long);
        std::fs::copy(entry.path(), share.join("ok").join(name)).unwrap();
    }
    let run = case.sync(&[]);
    run.assert_code(0);
    for (needle, why) in [
        ("odd/bell\\u{7}.shp", "control character"),
        ("odd/caf\u{fffd}.shp", "not valid UTF-8"),
        ("odd/escape", "symbolic link"),
    ] {
        let line = run
            .stdout
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle}:\n{}", run.stdout));
        assert!(line.contains("rejected") && line.contains(why), "{line}");
    }
    let tables = case.tables();
    assert_eq!(tables.len(), 2, "{tables:?}");
    assert!(tables.iter().all(|t| t.len() <= 63), "{tables:?}");
}

#[test]
fn sync_targets_are_checked_at_validate_with_their_location() {
    let ws = Workspace::new();
    ws.write(
        "geosync.toml",
        r#"[postgres]
host = "127.0.0.1"

[[sync.target]]
name = "a"
source = { webdav = "https://u:hunter2-secret@cloud.example.org/dav/" }
database = "d"

[[sync.target]]
name = "b"
source = { webdav = "https://cloud.example.org/dav/", path = "share" }
database = "d"
default_crs = "2154"

[[sync.target]]
name = "a"
source = { path = "share" }
database = "d"
schema = "geosync"
visibilty = "public"
"#,
    );
    let run = ws.geosync(&["validate"]);
    run.assert_code(1);
    for expected in [
        "geosync.toml:6:",
        "must not hold credentials",
        "geosync.toml:11:",
        "exactly one of source.webdav",
        "default_crs `2154` is not of the form EPSG:<code>",
        "geosync.toml:20:1: unknown key `visibilty` (did you mean `visibility`?)",
        "sync.target:a is already defined at geosync.toml:4:1",
        "schema `geosync` is the sync's ledger schema",
        "loads into database d like sync.target:a",
    ] {
        assert!(run.stderr.contains(expected), "{expected}:\n{}", run.stderr);
    }
    assert!(
        !run.all().contains("hunter2"),
        "a password in a URL is never echoed"
    );

    // Without [postgres] the sync has nowhere to load.
    ws.write(
        "alone.toml",
        "[[sync.target]]\nname = \"x\"\nsource = { path = \"s\" }\ndatabase = \"d\"\n",
    );
    let run = ws.geosync(&["validate", "-f", "alone.toml"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("alone.toml:1:") && run.stderr.contains("no [postgres] server"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_unknown_target_is_named_with_the_known_ones() {
    let case = SyncCase::new("{ path = \"share\" }");
    let run = case.sync(&["--target", "nope"]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("--target nope: no such [[sync.target]] (known: t)"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_pass_killed_between_download_and_load_converges_next_time() {
    let case = SyncCase::new("{ path = \"share\" }");
    copy_dir(&corpus_case("valid/130_epsg_2154"), &case.ws.join("share/a"));
    copy_dir(&corpus_case("valid/230_sld_shp_line"), &case.ws.join("share/b"));
    case.ws.kill_at(&["sync", "--once"], "sync-fetched");
    let ledger = "SELECT count(*) FROM geosync.ledger";
    assert_eq!(case.count(ledger), 0, "nothing recorded before a load");
    assert!(case.tables().is_empty(), "{:?}", case.tables());
    let (run, datasets) = case.sync_json(&[]);
    run.assert_code(0);
    assert!(
        statuses(&datasets).iter().all(|(_, s)| s == "new"),
        "{datasets:#?}"
    );
    assert_eq!(
        case.count("SELECT count(*) FROM geosync.ledger WHERE status = 'loaded'"),
        2
    );
    assert_eq!(
        case.tables(),
        ["l_130_test_nyc_epsg_2154", "l_230_test_sld_shp_line"]
    );
    let staging = case.ws.join(".geosync/sync/t/staging");
    assert!(
        !staging.exists() || std::fs::read_dir(&staging).unwrap().next().is_none(),
        "staging cleaned"
    );
}

/// The sorted ACL entries of `data.<table>` (and of its column `id`), its
/// owner, comments and row security: what a DBA set on it.
fn admin_settings(case: &SyncCase, table: &str) -> Vec<Option<String>> {
    let relation = pg::lit(&format!("data.{}", pg::ident(table)));
    pg::query(
        pg::port(),
        &case.db,
        &format!(
            "SELECT (SELECT string_agg(x::text, ' ' ORDER BY x::text) FROM unnest(c.relacl) x),
                    (SELECT attacl::text FROM pg_attribute WHERE attrelid = c.oid AND attname = 'id'),
                    pg_get_userbyid(c.relowner)::text,
                    obj_description(c.oid, 'pg_class'),
                    col_description(c.oid, (SELECT attnum FROM pg_attribute WHERE attrelid = c.oid AND attname = 'id')),
                    c.relrowsecurity::text,
                    (SELECT string_agg(policyname || ' ' || cmd || ' ' || roles::text || ' ' || qual, '; ')
                     FROM pg_policies WHERE schemaname = 'data' AND tablename = c.relname)
             FROM pg_class c WHERE c.oid = {relation}::regclass"
        ),
    )
    .remove(0)
}

#[test]
fn a_reload_keeps_the_grants_owner_and_comments_an_administrator_set() {
    let case = SyncCase::new("{ path = \"share\" }");
    let share = case.ws.join("share");
    std::fs::create_dir_all(&share).unwrap();
    let parcels = share.join("parcels.geojson");
    std::fs::write(&parcels, points_geojson(2)).unwrap();
    case.sync(&[]).assert_code(0);
    let table = pg::value(pg::port(), &case.db, "SELECT table_name FROM geosync.ledger").unwrap();
    let qualified = format!("data.{}", pg::ident(&table));

    // Names that need quoting, PUBLIC, a column privilege, another owner,
    // comments with quotes, a row security policy; and a role the loading
    // role's default privileges would give the next table, which the old
    // one never had.
    let reader = format!("qgis \"lab\" {}", unique("reader"));
    let snoop = unique("snoop");
    let owner = format!("lab owner {}", unique("o"));
    let comment = "Parcels 'cadastre' \\ \"2024\";\nDROP TABLE x; --";
    let admin = format!(
        "CREATE ROLE {reader} LOGIN; CREATE ROLE {snoop} LOGIN; CREATE ROLE {owner};
         GRANT CREATE ON SCHEMA data TO {owner};
         GRANT USAGE ON SCHEMA data TO {reader}, {snoop};
         ALTER DEFAULT PRIVILEGES IN SCHEMA geosync GRANT SELECT ON TABLES TO {snoop};
         ALTER TABLE {qualified} OWNER TO {owner};
         GRANT SELECT ON {qualified} TO {reader} WITH GRANT OPTION;
         GRANT UPDATE (id) ON {qualified} TO {reader};
         GRANT REFERENCES ON {qualified} TO PUBLIC;
         COMMENT ON TABLE {qualified} IS {comment};
         COMMENT ON COLUMN {qualified}.id IS 'the parcel''s number';
         ALTER TABLE {qualified} ENABLE ROW LEVEL SECURITY;
         CREATE POLICY \"not parcel 0\" ON {qualified} FOR SELECT TO {reader} USING (id <> 0);",
        reader = pg::ident(&reader),
        snoop = pg::ident(&snoop),
        owner = pg::ident(&owner),
        comment = pg::lit(comment),
    );
    pg::query(pg::port(), &case.db, &admin);
    let before = admin_settings(&case, &table);
    assert!(before[0].as_deref().unwrap().contains("=r*/"), "{before:?}");

    std::fs::write(&parcels, points_geojson(3)).unwrap();
    let (run, datasets) = case.sync_json(&[]);
    run.assert_code(0);
    assert_eq!(
        status_of(&datasets, "parcels.geojson")["status"],
        "changed",
        "{datasets:#?}"
    );
    assert_eq!(
        case.count(&format!("SELECT count(*) FROM {qualified}")),
        3,
        "the new data"
    );
    assert_eq!(
        admin_settings(&case, &table),
        before,
        "what the administrator set"
    );
    assert_eq!(before[3].as_deref(), Some(comment));
    assert_eq!(before[2].as_deref(), Some(owner.as_str()));

    // As the lab's QGIS users: they still read it, the rows their policy
    // lets through (all but parcel 0); the snooper, whom default
    // privileges gave the staging table, still cannot.
    let select = format!("SELECT count(*) FROM {qualified}");
    let rows = pg::try_query(pg::port(), &case.db, &reader, None, &select).unwrap();
    assert_eq!(rows[0][0].as_deref(), Some("2"));
    let denied = pg::try_query(pg::port(), &case.db, &snoop, None, &select).unwrap_err();
    assert_eq!(
        denied.code(),
        Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)
    );
}

fn points_geojson(features: usize) -> String {
    let features: Vec<String> = (0..features)
        .map(|i| {
            format!(
                r#"{{"type":"Feature","properties":{{"id":{i}}},"geometry":{{"type":"Point","coordinates":[2.{i},45.5]}}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        features.join(",")
    )
}
