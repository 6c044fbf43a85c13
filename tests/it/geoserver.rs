//! `[geoserver]` against the GeoServer emulator (tests/emulators/geoserver):
//! GeoServer cannot run on the test machines. Each test starts its own
//! emulator on a free port.

use axum::http::Method;

use crate::geoserver_emulator::{Config, Emulator};
use crate::support::{Run, Workspace};

/// The canary: a datastore password no output may ever show.
const CANARY: &str = "Canary-Secret-7f3a9c21";

const SLD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld">
  <!-- kept as written: geosync uploads with raw=true -->
  <NamedLayer><Name>roads</Name><UserStyle><Title>Roads</Title></UserStyle></NamedLayer>
</StyledLayerDescriptor>
"#;

const SE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<StyledLayerDescriptor version="1.1.0" xmlns="http://www.opengis.net/sld" xmlns:se="http://www.opengis.net/se">
  <NamedLayer><se:Name>parcels</se:Name></NamedLayer>
</StyledLayerDescriptor>
"#;

struct Setup {
    ws: Workspace,
    gs: Emulator,
}

impl Setup {
    fn new() -> Self {
        let mut ws = Workspace::new();
        ws.set_env("GS_ADMIN_PASSWORD", "geoserver");
        ws.set_env("GS_STORE_PASSWORD", CANARY);
        ws.write("styles/roads.sld", SLD);
        ws.write("styles/parcels.sld", SE);
        Setup {
            ws,
            gs: Emulator::start(Config::default()),
        }
    }

    /// The connection part of the manifest: fast retries for the tests.
    fn header(&self) -> String {
        format!(
            "[geoserver]\nurl = \"{}\"\nuser = \"admin\"\npassword = {{ env = \"GS_ADMIN_PASSWORD\" }}\nretries = 2\nretry_backoff_ms = 1\n\n",
            self.gs.url
        )
    }

    fn manifest(&self, body: &str) {
        self.ws.write("geosync.toml", &format!("{}{body}", self.header()));
    }

    fn run(&self, args: &[&str]) -> Run {
        let run = self.ws.geosync(args);
        assert!(
            !run.all().contains(CANARY),
            "the secret was printed:\n{}",
            run.all()
        );
        run
    }

    fn plan(&self) -> Run {
        self.run(&["plan", "--detailed-exitcode"])
    }

    fn apply(&self, extra: &[&str]) -> Run {
        let mut args = vec!["apply", "--auto-approve"];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    fn journal(&self) -> String {
        std::fs::read_to_string(self.ws.join(".geosync/journal.jsonl")).unwrap_or_default()
    }
}

const FULL: &str = r#"
[[geoserver.workspace]]
name = "geosync-ouvert"

[[geoserver.workspace]]
name = "geosync-restreint"
isolated = true

[[geoserver.datastore]]
workspace = "geosync-ouvert"
name = "data_open"
host = "database"
database = "geosync_data_open"
schema = "data"
user = "geosync"
password = { env = "GS_STORE_PASSWORD" }
expose_primary_keys = true

[[geoserver.style]]
name = "roads"
workspace = "geosync-ouvert"
file = "styles/roads.sld"

[[geoserver.style]]
name = "parcels"
file = "styles/parcels.sld"

[[geoserver.acl]]
rule = "geosync-restreint.*.r"
roles = ["ROLE_AUTHENTICATED"]

[[geoserver.acl]]
rule = "geosync-ouvert.*.r"
roles = ["*"]
"#;

#[test]
fn every_resource_is_created_from_empty_and_a_second_plan_is_a_no_op() {
    let s = Setup::new();
    s.manifest(FULL);
    let plan = s.plan();
    plan.assert_code(2);
    assert!(
        plan.stdout.contains("geoserver.workspace:geosync-ouvert"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("connection.passwd"), "{}", plan.stdout);
    s.apply(&[]).assert_code(0);
    s.gs.with(|st| {
        assert!(st.workspaces["geosync-restreint"].isolated);
        let store = &st.datastores[&("geosync-ouvert".into(), "data_open".into())];
        assert_eq!(store.params["Expose primary keys"], "true");
        assert_eq!(store.params["schema"], "data");
        assert!(
            store.params["passwd"].starts_with("crypt1:"),
            "GeoServer keeps it encrypted"
        );
        let roads = &st.styles[&(Some("geosync-ouvert".into()), "roads".into())];
        assert_eq!(roads.content.as_deref(), Some(SLD), "uploaded byte for byte");
        assert_eq!(
            st.styles[&(None, "parcels".into())].version,
            "1.1.0",
            "SE by its version"
        );
        assert_eq!(st.acl["geosync-restreint.*.r"], "ROLE_AUTHENTICATED");
    });
    s.gs.clear_requests();
    s.plan().assert_code(0);
    assert!(s.gs.writes().is_empty(), "a plan only reads: {:?}", s.gs.writes());
    assert!(!s.journal().contains(CANARY));
    let json = s.run(&["plan", "--json"]);
    json.assert_code(0);
}

#[test]
fn changes_are_planned_as_updates_and_converge() {
    let s = Setup::new();
    s.manifest(FULL);
    s.apply(&[]).assert_code(0);
    s.ws.write("styles/roads.sld", &SLD.replace("Roads", "Routes"));
    let changed = FULL
        .replace(
            "name = \"geosync-restreint\"\nisolated = true",
            "name = \"geosync-restreint\"\nisolated = false",
        )
        .replace("host = \"database\"", "host = \"db2\"")
        .replace(
            "roles = [\"ROLE_AUTHENTICATED\"]",
            "roles = [\"ROLE_AUTHENTICATED\", \"ROLE_MSHE\"]",
        );
    s.manifest(&changed);
    let plan = s.plan();
    plan.assert_code(2);
    assert!(plan.stdout.contains("4 to update"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("Routes"),
        "the style's diff is shown: {}",
        plan.stdout
    );
    // Parameters GeoServer added itself are kept on update.
    s.apply(&[]).assert_code(0);
    s.plan().assert_code(0);
    s.gs.with(|st| {
        let store = &st.datastores[&("geosync-ouvert".into(), "data_open".into())];
        assert_eq!(store.params["host"], "db2");
        assert_eq!(store.params["namespace"], "http://geosync-ouvert");
        assert_eq!(st.acl["geosync-restreint.*.r"], "ROLE_AUTHENTICATED,ROLE_MSHE");
        assert!(!st.workspaces["geosync-restreint"].isolated);
    });
}

#[test]
fn a_changed_secret_re_sets_the_password_and_nothing_else() {
    let mut s = Setup::new();
    s.manifest(FULL);
    s.apply(&[]).assert_code(0);
    let key = ("geosync-ouvert".to_string(), "data_open".to_string());
    let before = s.gs.with(|st| st.datastores[&key].params["passwd"].clone());
    s.ws.set_env("GS_STORE_PASSWORD", "Another-Secret-0042");
    let plan = s.plan();
    plan.assert_code(2);
    assert!(plan.stdout.contains("1 to update"), "{}", plan.stdout);
    assert!(!plan.all().contains("Another-Secret-0042"));
    let apply = s.apply(&[]);
    apply.assert_code(0);
    assert!(!apply.all().contains("Another-Secret-0042"));
    let after = s.gs.with(|st| st.datastores[&key].params["passwd"].clone());
    assert_ne!(before, after);
    s.plan().assert_code(0);
    assert!(!s.journal().contains("Another-Secret-0042"));
}

#[test]
fn deletes_need_allow_drop_and_recursion_needs_the_manifest_too() {
    let s = Setup::new();
    s.manifest(FULL);
    s.apply(&[]).assert_code(0);
    // Someone published a layer in the open workspace's store.
    s.gs.with(|st| {
        st.featuretypes.insert(
            ("geosync-ouvert".into(), "data_open".into(), "roads".into()),
            Default::default(),
        );
    });
    let absent = r#"
[[geoserver.workspace]]
name = "geosync-ouvert"
ensure = "absent"

[[geoserver.datastore]]
workspace = "geosync-ouvert"
name = "data_open"
host = "database"
database = "d"
user = "u"
ensure = "absent"

[[geoserver.acl]]
rule = "geosync-ouvert.*.r"
ensure = "absent"
"#;
    s.manifest(absent);
    let kept = s.plan();
    kept.assert_code(0);
    assert!(kept.all().contains("--allow-drop"), "{}", kept.all());
    // Not recursive: GeoServer refuses to delete a store with feature types.
    let refused = s.apply(&["--allow-drop"]);
    refused.assert_code(1);
    assert!(refused.all().contains("403"), "{}", refused.all());
    assert!(s.gs.with(|st| st.workspaces.contains_key("geosync-ouvert")));
    assert!(
        s.gs.with(|st| !st.acl.contains_key("geosync-ouvert.*.r")),
        "the rule went: {}",
        refused.all()
    );
    // Its style is still in it: only a recursive delete of the workspace empties it.
    s.manifest(&absent.replace(
        "ensure = \"absent\"\n\n[[geoserver.acl]]",
        "ensure = \"absent\"\nrecurse = true\n\n[[geoserver.acl]]",
    ));
    let refused = s.apply(&["--allow-drop"]);
    refused.assert_code(1);
    assert!(refused.all().contains("Workspace not empty"), "{}", refused.all());
    s.manifest(&absent.replace(
        "ensure = \"absent\"\n\n[[geoserver.",
        "ensure = \"absent\"\nrecurse = true\n\n[[geoserver.",
    ));
    s.apply(&["--allow-drop"]).assert_code(0);
    s.gs.with(|st| {
        assert!(!st.workspaces.contains_key("geosync-ouvert"));
        assert!(st.workspaces.contains_key("geosync-restreint"), "untouched");
        assert!(
            st.acl.contains_key("geosync-restreint.*.r"),
            "undeclared rules are left alone"
        );
    });
    s.run(&["plan", "--detailed-exitcode", "--allow-drop"])
        .assert_code(0);
}

#[test]
fn a_5xx_mid_apply_fails_the_run_and_a_rerun_converges() {
    let s = Setup::new();
    s.manifest(FULL);
    // One 503 is retried within the run; three (1 + 2 retries) are not.
    s.gs.fail(Method::POST, "/workspaces?", 503, 1);
    s.gs.fail(Method::PUT, "/styles/roads", 500, 3);
    let failed = s.apply(&[]);
    failed.assert_code(1);
    assert!(failed.all().contains("PUT http://127.0.0.1"), "{}", failed.all());
    assert!(failed.all().contains("HTTP 500"), "{}", failed.all());
    s.apply(&[]).assert_code(0);
    s.plan().assert_code(0);
}

#[test]
fn a_create_whose_answer_was_lost_is_retried_into_success() {
    let s = Setup::new();
    s.manifest(FULL);
    // GeoServer made the store, but a proxy answered 502: the retried POST
    // meets its own store ("already exists"), which is success.
    s.gs.with(|st| {
        st.faults.push(crate::geoserver_emulator::Fault {
            method: Method::POST,
            path: "/datastores".into(),
            status: 502,
            body: "Bad Gateway".into(),
            times: 1,
            after: true,
        })
    });
    s.apply(&[]).assert_code(0);
    let posts =
        s.gs.writes()
            .iter()
            .filter(|w| w.starts_with("POST") && w.contains("/datastores"))
            .count();
    assert_eq!(posts, 2);
    s.plan().assert_code(0);
}

#[test]
fn a_duplicate_created_behind_the_plan_is_reported_as_a_conflict_and_a_rerun_converges() {
    let s = Setup::new();
    s.manifest(FULL);
    // GeoServer's duplicate answers: 409 workspace, 500 store, 403 style.
    let conflict = |method: Method, path: &str, status: u16, body: &str| {
        s.gs.with(|st| {
            st.faults.push(crate::geoserver_emulator::Fault {
                method,
                path: path.into(),
                status,
                body: body.into(),
                times: 1,
                after: false,
            })
        })
    };
    conflict(
        Method::POST,
        "/workspaces?",
        409,
        "Workspace 'geosync-ouvert' already exists",
    );
    let failed = s.apply(&[]);
    failed.assert_code(1);
    assert!(failed.all().contains("already exists"), "{}", failed.all());
    s.apply(&[]).assert_code(0);

    s.manifest(&format!(
        "{FULL}\n[[geoserver.datastore]]\nworkspace = \"geosync-ouvert\"\nname = \"second\"\nhost = \"h\"\ndatabase = \"d\"\nuser = \"u\"\n\n[[geoserver.style]]\nname = \"second\"\nfile = \"styles/roads.sld\"\n"
    ));
    conflict(
        Method::POST,
        "/datastores",
        500,
        "Store 'second' already exists in workspace 'geosync-ouvert'",
    );
    conflict(Method::POST, "/rest/styles", 403, "Style second already exists.");
    s.gs.clear_requests();
    let failed = s.apply(&[]);
    failed.assert_code(1);
    let posts = |what: &str| {
        s.gs.writes()
            .iter()
            .filter(|w| w.starts_with("POST") && w.contains(what))
            .count()
    };
    assert_eq!(
        posts("/datastores"),
        1,
        "a 500 that says 'already exists' is not retried"
    );
    assert_eq!(posts("/rest/styles"), 1);
    assert!(
        failed.all().matches("already exists").count() >= 2,
        "{}",
        failed.all()
    );
    s.apply(&[]).assert_code(0);
    s.plan().assert_code(0);
}

#[test]
fn duplicates_in_the_manifest_are_refused() {
    let s = Setup::new();
    s.manifest(&format!(
        "{FULL}\n[[geoserver.workspace]]\nname = \"geosync-ouvert\"\n"
    ));
    let run = s.run(&["validate"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("geoserver.workspace:geosync-ouvert"),
        "{}",
        run.stderr
    );
}

#[test]
fn hostile_names_are_refused_and_accented_ones_encoded() {
    let s = Setup::new();
    for bad in ["geo sync", "l'eau", "say \\\"hi\\\"", "ws:x", "a/b"] {
        s.manifest(&format!("[[geoserver.workspace]]\nname = \"{bad}\"\n"));
        let run = s.run(&["validate"]);
        run.assert_code(1);
        assert!(run.stderr.contains("geosync.toml:"), "{bad}: {}", run.stderr);
    }
    s.manifest("[[geoserver.workspace]]\nname = \"données\"\n\n[[geoserver.style]]\nname = \"écoles\"\nworkspace = \"données\"\nfile = \"styles/roads.sld\"\n");
    s.apply(&[]).assert_code(0);
    assert!(
        s.gs.writes()
            .iter()
            .any(|w| w.contains("/workspaces/donn%C3%A9es/styles")),
        "{:?}",
        s.gs.writes()
    );
    assert!(s
        .gs
        .with(|st| st.styles.contains_key(&(Some("données".into()), "écoles".into()))));
    s.plan().assert_code(0);
}

#[test]
fn preauth_headers_are_refused_on_a_public_url_and_work_on_loopback() {
    let s = Setup::new();
    s.ws.write(
        "geosync.toml",
        "[geoserver]\nurl = \"https://geoserver.example.org/geoserver\"\npreauth = { username = \"geosync\", roles = [\"ROLE_ADMINISTRATOR\"] }\n",
    );
    let run = s.run(&["validate"]);
    run.assert_code(1);
    assert!(run.stderr.contains("preauth"), "{}", run.stderr);
    let gs = Emulator::start(Config {
        preauth: true,
        ..Config::default()
    });
    s.ws.write(
        "geosync.toml",
        &format!(
            "[geoserver]\nurl = \"{}\"\npreauth = {{ username = \"geosync\", roles = [\"ROLE_ADMINISTRATOR\"] }}\n\n[[geoserver.workspace]]\nname = \"pre\"\n",
            gs.url
        ),
    );
    s.apply(&[]).assert_code(0);
    assert!(gs.with(|st| st.workspaces.contains_key("pre")));
}

#[test]
fn a_refused_login_names_the_request_and_never_the_password() {
    let mut s = Setup::new();
    s.ws.set_env("GS_ADMIN_PASSWORD", "Wrong-Admin-Password-99");
    s.manifest("[[geoserver.workspace]]\nname = \"x\"\n");
    let run = s.plan();
    run.assert_code(1);
    assert!(run.stderr.contains("GET http://127.0.0.1"), "{}", run.stderr);
    assert!(run.stderr.contains("401"), "{}", run.stderr);
    assert!(!run.all().contains("Wrong-Admin-Password-99"));
}

#[test]
fn credentials_in_the_url_are_refused_without_being_echoed() {
    let s = Setup::new();
    s.ws.write(
        "geosync.toml",
        "[geoserver]\nurl = \"http://admin:Url-Password-31337@127.0.0.1:8080/geoserver\"\n",
    );
    let run = s.run(&["validate"]);
    run.assert_code(1);
    assert!(run.stderr.contains("carries credentials"), "{}", run.stderr);
    assert!(!run.all().contains("Url-Password-31337"), "{}", run.all());
}
