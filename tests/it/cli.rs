//! Command-line behaviour shared by every resource: exit codes, JSON
//! output, scoping, confirmation and the apply lock.

use crate::mviewer::manifest;
use crate::support::Workspace;

fn two_apps() -> String {
    let one = manifest("Portail");
    let app = &one[one.find("[[mviewer.app]]").unwrap()..];
    format!("{one}\n{}", app.replace("name = \"salins\"", "name = \"arc\""))
}

#[test]
fn json_plan_is_versioned_and_snapshotted() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest("Portail"));
    let run = ws.geosync(&["plan", "--json"]);
    run.assert_code(0);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("plan --json prints JSON");
    assert_eq!(plan["format_version"], 2);
    insta::assert_json_snapshot!(plan, {
        ".created_at" => "[time]",
        ".working_dir" => "[ws]",
        ".state_dir" => "[ws]/.geosync",
        ".key_id" => "[keyed digest]",
        ".geosync_version" => "[version]",
        ".manifests[].sha256" => "[sha256]",
        ".changes[].fingerprint" => "[fingerprint]",
        ".changes[].content_diff" => "[diff]",
    });
}

#[test]
fn only_and_exclude_limit_the_run() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &two_apps());
    let run = ws.geosync(&["apply", "--auto-approve", "--only", "mviewer.app:arc"]);
    run.assert_code(0);
    assert!(ws.exists("apps/arc.xml") && !ws.exists("apps/salins.xml"));

    let run = ws.geosync(&["plan", "--exclude", "mviewer.app:salins", "--detailed-exitcode"]);
    run.assert_code(0);
    let run = ws.geosync(&["plan", "--only", "mviewer", "--detailed-exitcode"]);
    run.assert_code(2);
    assert!(run
        .stdout
        .contains("Plan: 1 to create, 0 to update, 0 to replace, 0 to delete, 1 unchanged."));

    let run = ws.geosync(&["plan", "--only", "mviewer.apps"]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("no resource kind `mviewer.apps` (known: file, mviewer.app, postgres.role"),
        "{}",
        run.stderr
    );
}

/// A host being rebuilt: the database server is not there yet (its
/// container is what the run creates), so a run that leaves PostgreSQL out
/// must not need it.
#[test]
fn a_system_left_out_is_not_read() {
    let ws = Workspace::new();
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    ws.write(
        "geosync.toml",
        &format!(
            "{}\n[postgres]\nhost = \"127.0.0.1\"\nport = {closed_port}\nsslmode = \"disable\"\n\n[[postgres.database]]\nname = \"data\"\n",
            two_apps()
        ),
    );
    let run = ws.geosync(&["plan"]);
    run.assert_code(1);
    assert!(run.stderr.contains("postgres: cannot connect"), "{}", run.stderr);
    for scope in [
        &["--only", "mviewer"][..],
        &["--exclude", "postgres"],
        &["--only", "mviewer.app:arc"],
    ] {
        let run = ws.geosync(&[&["plan", "--detailed-exitcode"][..], scope].concat());
        run.assert_code(2);
        assert!(!run.all().contains("postgres"), "{scope:?}: {}", run.all());
    }
    // Leaving out one kind of it still reads the system.
    let run = ws.geosync(&["plan", "--exclude", "postgres.database"]);
    run.assert_code(1);
    assert!(run.stderr.contains("postgres: cannot connect"), "{}", run.stderr);
}

#[test]
fn apply_without_a_terminal_needs_auto_approve() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest("Portail"));
    let run = ws.geosync(&["apply"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("refusing to apply without confirmation"),
        "{}",
        run.stderr
    );
    assert!(!ws.exists("apps"));
}

#[test]
fn validate_touches_nothing_and_counts_resources() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &two_apps());
    let run = ws.geosync(&["validate"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "The manifest is valid: 1 file, 2 resources.\n");
    assert!(!ws.exists("apps"));
}

#[test]
fn the_reference_manifests_are_valid() {
    let mut ws = Workspace::new();
    for name in [
        "GEORCHESTRA_DB_PASSWORD",
        "GEOSYNC_DB_PASSWORD",
        "GEOSERVER_DB_PASSWORD",
        "GEOSERVER_ADMIN_PASSWORD",
        "SLAPD_PASSWORD",
    ] {
        ws.set_env(name, "a-test-password");
    }
    for manifest in [
        "mviewer.toml",
        "postgres.toml",
        "georchestra.toml",
        "geoserver.toml",
    ] {
        let path = format!("{}/manifests/{manifest}", env!("CARGO_MANIFEST_DIR"));
        ws.geosync(&["validate", "-f", &path]).assert_code(0);
    }
}
