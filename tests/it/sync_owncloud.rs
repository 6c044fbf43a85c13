//! The sync against ownCloud's semantics (tests/emulators/owncloud): the
//! etag shortcut (a no-op pass is one PROPFIND), the share going away
//! mid-walk, a file changing during its download, names that are not
//! UTF-8; and the emulator's own conformance: the real owncloudcmd syncs
//! against it, and it refuses Depth: infinity as ownCloud does.

use std::path::Path;

use crate::owncloud::OwnCloud;
use crate::support::peer_env;
use crate::sync::{copy_dir, status_of, SyncCase, CORPUS};

const USER: &str = "georchestra-ouvert";
const PASSWORD: &str = "emulator-password-9f2";

fn case_over(server: &OwnCloud) -> SyncCase {
    let mut case = SyncCase::new(&format!(
        "{{ webdav = \"{}\", user = \"{USER}\", password = {{ env = \"OC_PASSWORD\" }} }}",
        server.dav_url()
    ));
    case.ws.set_env("OC_PASSWORD", PASSWORD);
    case
}

fn propfinds(server: &OwnCloud) -> Vec<(String, Option<String>)> {
    server
        .seen()
        .into_iter()
        .filter(|s| s.method == "PROPFIND")
        .map(|s| (s.path, s.depth))
        .collect()
}

#[test]
fn a_pass_where_nothing_changed_is_one_propfind_of_the_root() {
    let share = tempfile::tempdir().unwrap();
    copy_dir(&Path::new(CORPUS).join("valid"), share.path());
    let server = OwnCloud::start(share.path(), USER, PASSWORD);
    let case = case_over(&server);
    let (run, datasets) = case.sync_json(&[]);
    run.assert_code(0);
    assert_eq!(datasets.iter().filter(|d| d["status"] == "new").count(), 25);
    assert!(
        server
            .seen()
            .iter()
            .all(|s| s.depth.as_deref() != Some("infinity")),
        "never Depth: infinity"
    );

    server.forget_seen();
    let (run, datasets) = case.sync_json(&[]);
    run.assert_code(0);
    assert!(
        datasets.iter().all(|d| d["status"] == "unchanged"),
        "{datasets:#?}"
    );
    let root = format!("/remote.php/dav/files/{USER}/");
    assert_eq!(server.seen().len(), 1, "{:?}", server.seen());
    assert_eq!(propfinds(&server), [(root.clone(), Some("0".to_string()))]);

    // A change deep down: only the folders on its way are listed again.
    let sld = share.path().join("220_sld_shp_point/220_test_sld_shp_point.sld");
    std::fs::write(&sld, "<StyledLayerDescriptor/>").unwrap();
    server.forget_seen();
    let (run, datasets) = case.sync_json(&[]);
    run.assert_code(0);
    assert_eq!(
        status_of(&datasets, "220_sld_shp_point/220_test_sld_shp_point.shp")["reason"],
        "sidecar changed"
    );
    let listed: Vec<String> = propfinds(&server).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        listed,
        [root.clone(), root.clone(), format!("{root}220_sld_shp_point/")],
        "root (depth 0, then 1) and the changed folder only"
    );
}

#[test]
fn the_share_going_away_mid_walk_is_an_error_and_nothing_is_removed() {
    let share = tempfile::tempdir().unwrap();
    for case in ["130_epsg_2154", "220_sld_shp_point", "230_sld_shp_line"] {
        copy_dir(
            &Path::new(CORPUS).join("valid").join(case),
            &share.path().join(case),
        );
    }
    let server = OwnCloud::start(share.path(), USER, PASSWORD);
    let case = case_over(&server);
    case.sync(&[]).assert_code(0);
    let ledger = "SELECT count(*) FROM geosync.ledger WHERE status = 'loaded'";
    assert_eq!(case.count(ledger), 3);
    // Something changed (so the walk goes down), and the server dies after
    // answering the root.
    std::fs::write(share.path().join("230_sld_shp_line/new.txt"), "x").unwrap();
    server.fail_after(2);
    let run = case.sync(&[]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("cannot read the share") && run.stderr.contains("503"),
        "{}",
        run.stderr
    );
    assert_eq!(case.count(ledger), 3);
    assert_eq!(case.tables().len(), 3);
}

#[test]
fn a_file_modified_during_its_download_is_fetched_again_next_pass() {
    let share = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(CORPUS).join("valid/130_epsg_2154"),
        &share.path().join("nyc"),
    );
    let server = OwnCloud::start(share.path(), USER, PASSWORD);
    let case = case_over(&server);
    let dbf = share.path().join("nyc/130_test_nyc_epsg_2154.dbf");
    let original = std::fs::read(&dbf).unwrap();
    let mut edited = original.clone();
    edited.extend_from_slice(b"\x1a");
    server.change_on_get("nyc/130_test_nyc_epsg_2154.dbf", &edited);
    let (run, datasets) = case.sync_json(&[]);
    run.assert_code(1);
    let d = status_of(&datasets, "nyc/130_test_nyc_epsg_2154.shp");
    assert_eq!(d["status"], "failed", "{d}");
    assert!(
        d["error"].as_str().unwrap().contains("changed while it was read"),
        "{d}"
    );
    assert!(case.tables().is_empty(), "nothing half-loaded");
    let (run, datasets) = case.sync_json(&[]);
    run.assert_code(0);
    assert_eq!(
        status_of(&datasets, "nyc/130_test_nyc_epsg_2154.shp")["status"],
        "new"
    );
}

#[test]
fn names_that_are_not_utf8_on_the_server_are_refused_not_fatal() {
    use std::os::unix::ffi::OsStrExt;
    let share = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(CORPUS).join("valid/130_epsg_2154"),
        &share.path().join("nyc"),
    );
    std::fs::write(
        share.path().join(std::ffi::OsStr::from_bytes(b"r\xe9seau.shp")),
        b"x",
    )
    .unwrap();
    std::fs::write(share.path().join("tab\there.shp"), b"x").unwrap();
    let server = OwnCloud::start(share.path(), USER, PASSWORD);
    let case = case_over(&server);
    let run = case.sync(&[]);
    run.assert_code(0);
    let rejected: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("  rejected"))
        .collect();
    assert_eq!(rejected.len(), 2, "{}", run.stdout);
    assert!(
        rejected
            .iter()
            .any(|l| l.contains("r\u{fffd}seau.shp") && l.contains("not valid UTF-8")),
        "{rejected:?}"
    );
    assert!(
        rejected
            .iter()
            .any(|l| l.contains("tab\\there.shp") && l.contains("control character")),
        "{rejected:?}"
    );
    assert_eq!(case.tables().len(), 1);
}

#[test]
fn owncloudcmd_syncs_against_the_emulator() {
    let share = tempfile::tempdir().unwrap();
    copy_dir(&Path::new(CORPUS).join("valid"), share.path());
    let server = OwnCloud::start(share.path(), USER, PASSWORD);
    let local = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    // Debian's owncloud-client-cmd ships no system exclude list (the GUI
    // package does), and owncloudcmd refuses to run without one.
    let exclude = home.path().join("sync-exclude.lst");
    std::fs::write(&exclude, "*~\n.~lock.*\n~$*\n*.part\n").unwrap();
    let output = std::process::Command::new(peer_env("GEOSYNC_TEST_OWNCLOUDCMD"))
        .args([
            "--non-interactive",
            "-u",
            USER,
            "-p",
            PASSWORD,
            "--max-sync-retries",
            "1",
            "--exclude",
        ])
        .arg(&exclude)
        .arg(local.path())
        .arg(&server.base)
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .env("QT_QPA_PLATFORM", "offscreen")
        .output()
        .expect("owncloudcmd runs");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "owncloudcmd failed:\n{log}");
    let mut compared = 0;
    compare_trees(share.path(), local.path(), &mut compared);
    assert!(compared > 100, "{compared} files synced");
    let seen = server.seen();
    assert!(
        seen.iter().any(|s| s.path == "/ocs/v1.php/cloud/capabilities"),
        "{seen:?}"
    );
    assert!(seen.iter().all(|s| s.depth.as_deref() != Some("infinity")));
}

fn compare_trees(server: &Path, local: &Path, compared: &mut usize) {
    for entry in std::fs::read_dir(server).unwrap() {
        let entry = entry.unwrap();
        let there = local.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            compare_trees(&entry.path(), &there, compared);
        } else {
            let a = std::fs::read(entry.path()).unwrap();
            let b = std::fs::read(&there).unwrap_or_else(|e| panic!("{}: {e}", there.display()));
            assert!(a == b, "{} differs", there.display());
            *compared += 1;
        }
    }
}

#[test]
fn the_emulator_refuses_depth_infinity_as_owncloud_does() {
    let share = tempfile::tempdir().unwrap();
    let server = OwnCloud::start(share.path(), USER, PASSWORD);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, content_type, body) = runtime.block_on(async {
        let response = reqwest::Client::builder()
            .build()
            .unwrap()
            .request(
                reqwest::Method::from_bytes(b"PROPFIND").unwrap(),
                server.dav_url(),
            )
            .basic_auth(USER, Some(PASSWORD))
            .header("Depth", "Infinity")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
        (status, content_type, response.text().await.unwrap())
    });
    assert_eq!(status, 412);
    assert_eq!(content_type, "application/xml; charset=utf-8");
    assert!(body.contains("Depth infinity not supported"), "{body}");
}
