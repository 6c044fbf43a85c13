//! `plan --out` then `apply PLAN`: exactly the reviewed plan, or nothing.

use crate::mviewer::manifest;
use crate::support::Workspace;

#[test]
fn a_saved_plan_applies_exactly_and_only_once() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest("Portail"));
    ws.geosync(&["plan", "--out", "plan.json"]).assert_code(0);
    assert!(!ws.exists("apps/salins.xml"));

    ws.geosync(&["apply", "plan.json"]).assert_code(0);
    assert!(ws.read("apps/salins.xml").contains("title=\"Portail\""));

    // Applied: the platform moved on, the plan is stale now.
    let again = ws.geosync(&["apply", "plan.json"]);
    again.assert_code(1);
    assert!(
        again
            .stderr
            .contains("stale plan: the platform changed since the plan was made (mviewer.app:salins)"),
        "{}",
        again.stderr
    );
}

#[test]
fn a_plan_is_refused_when_the_platform_changed_since() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest("Portail"));
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    ws.write("geosync.toml", &manifest("Portail 2"));
    ws.geosync(&["plan", "--out", "plan.json"]).assert_code(0);
    // Someone edits the file between review and apply.
    let edited = ws.read("apps/salins.xml").replace("zoom=\"11\"", "zoom=\"4\"");
    ws.write("apps/salins.xml", &edited);

    let run = ws.geosync(&["apply", "plan.json"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("stale plan: the platform changed"),
        "{}",
        run.stderr
    );
    assert_eq!(
        ws.read("apps/salins.xml"),
        edited,
        "a stale plan changed the platform"
    );
}

#[test]
fn a_plan_is_refused_when_the_manifest_changed_since() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest("Portail"));
    ws.geosync(&["plan", "--out", "plan.json"]).assert_code(0);
    ws.write("geosync.toml", &manifest("Autre"));
    let run = ws.geosync(&["apply", "plan.json"]);
    run.assert_code(1);
    assert!(
        ws.scrub(&run.stderr)
            .contains("stale plan: the manifest geosync.toml changed since the plan was made"),
        "{}",
        run.stderr
    );
    assert!(!ws.exists("apps"));
}

#[test]
fn a_saved_plan_keeps_its_scope_and_cannot_be_mixed_with_flags() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest("Portail"));
    ws.write("other.toml", "");
    ws.geosync(&["plan", "--out", "plan.json", "--exclude", "mviewer"])
        .assert_code(0);
    ws.geosync(&["apply", "plan.json"]).assert_code(0);
    assert!(!ws.exists("apps"), "an excluded resource was applied");

    let mixed = ws.geosync(&["apply", "plan.json", "-f", "other.toml"]);
    mixed.assert_code(1);
    assert!(
        mixed.stderr.contains("a saved plan carries its own manifests"),
        "{}",
        mixed.stderr
    );
}

#[test]
fn something_that_is_not_a_plan_is_refused() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest("Portail"));
    ws.write("plan.json", r#"{"format_version": 99}"#);
    let run = ws.geosync(&["apply", "plan.json"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("plan format 99 is not supported"),
        "{}",
        run.stderr
    );
    ws.write("plan.json", "hello");
    let run = ws.geosync(&["apply", "plan.json"]);
    assert!(
        run.stderr.contains("not a plan saved by `geosync plan --out`"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_saved_plan_applied_from_another_directory_means_the_same_manifests() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest("Portail"));
    ws.geosync(&["plan", "--out", "plan.json"]).assert_code(0);
    // Another checkout, with a manifest of the same name.
    let elsewhere = Workspace::new();
    elsewhere.write("geosync.toml", &manifest("Ailleurs"));
    let plan = ws.join("plan.json").display().to_string();
    let run = ws.geosync_in(elsewhere.path(), &["apply", &plan]);
    run.assert_code(0);
    assert!(ws.read("apps/salins.xml").contains("title=\"Portail\""));
    assert!(!elsewhere.exists("apps") && !elsewhere.exists(".geosync"));
}
