//! `geosync validate` runs where no secret is (a manifest repository's CI,
//! a pre-commit hook): references are checked, values are not needed.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::Workspace;

const SITE: &str = r#"
[[file]]
name = "saslauthd"
path = "out/saslauthd.conf"
template = "saslauthd.conf.j2"
secrets = { bind_pw = { env = "GEOSYNC_TEST_NEVER_SET_AD_PW" } }

[[postgres.role]]
name = "geosync"
login = true
password = { file = "secrets/geosync_db" }
"#;

fn site() -> Workspace {
    let ws = Workspace::new();
    ws.write("geosync.toml", SITE);
    ws.write("saslauthd.conf.j2", "ldap_password: {{ secrets.bind_pw }}\n");
    ws
}

#[test]
fn validate_needs_no_secret_and_names_each_one_plan_will_need() {
    let ws = site();
    let run = ws.geosync(&["validate"]);
    run.assert_code(0);
    assert!(run.stdout.contains("The manifest is valid"), "{}", run.stdout);
    for expected in [
        "geosync.toml:6:23: file:saslauthd: secrets.bind_pw: secret { env = \"GEOSYNC_TEST_NEVER_SET_AD_PW\" }",
        "geosync.toml:11:12: postgres.role:geosync: password: secret { file = ",
    ] {
        assert!(run.stderr.contains(expected), "missing {expected:?} in\n{}", run.stderr);
    }
    let json = ws.geosync(&["validate", "--json"]);
    json.assert_code(0);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("validate --json is JSON");
    assert_eq!(
        doc["unresolved_secrets"].as_array().map(Vec::len),
        Some(2),
        "{doc}"
    );

    // plan needs them all, and says which.
    let plan = ws.geosync(&["plan"]);
    plan.assert_code(1);
    assert!(
        plan.stderr.contains("2 problems in the manifest"),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr.contains("GEOSYNC_TEST_NEVER_SET_AD_PW is not set"),
        "{}",
        plan.stderr
    );
}

#[test]
fn the_reference_manifests_validate_without_their_secrets() {
    let root = env!("CARGO_MANIFEST_DIR");
    for name in [
        "georchestra.toml",
        "postgres.toml",
        "mviewer.toml",
        "geonetwork.toml",
    ] {
        let path = format!("{root}/manifests/{name}");
        let run = Command::new(env!("CARGO_BIN_EXE_geosync"))
            .args(["validate", "-f", &path])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(std::env::temp_dir())
            .output()
            .expect("geosync runs");
        assert_eq!(
            run.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
}

#[test]
fn a_fifo_given_as_a_secret_file_is_refused_without_hanging() {
    let ws = site();
    let fifo = ws.join("secrets/geosync_db");
    std::fs::create_dir_all(fifo.parent().unwrap()).unwrap();
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(made.success());
    let mut child = Command::new(env!("CARGO_BIN_EXE_geosync"))
        .args(["plan"])
        .current_dir(ws.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("geosync starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("waits").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("geosync plan blocked on a FIFO secret");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("secrets/geosync_db is not a regular file"),
        "{stderr}"
    );
}

#[test]
fn a_literal_secret_does_not_hide_the_other_problems() {
    let ws = Workspace::new();
    ws.write(
        "geosync.toml",
        "[[postgres.role]]\nname = \"geosync\"\npassword = \"georchestra2024\"\nlogn = true\n",
    );
    let run = ws.geosync(&["validate"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("2 problems in the manifest"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("geosync.toml:3:12: "), "{}", run.stderr);
    assert!(
        run.stderr.contains("a literal secret is refused"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("unknown key `logn` (did you mean `login`?)"),
        "{}",
        run.stderr
    );
    assert!(!run.all().contains("georchestra2024"), "{}", run.all());
}

#[test]
fn postgres_names_the_server_would_refuse_or_cut_are_caught_at_validate() {
    let ws = Workspace::new();
    let long = "s".repeat(70);
    ws.write(
        "geosync.toml",
        &format!(
            r#"
[[postgres.role]]
name = "public"

[[postgres.role]]
name = "pg_geosync"

[[postgres.role]]
name = "geosync"

[[postgres.database]]
name = "geosync_data"
owner = "geosync"
encoding = "UTF-8"
schemas = ["pg_data", "data"]
extensions = [{{ name = "postgis", schema = "{long}" }}]

[[postgres.grant]]
role = "geosync"
database = "geosync_data"
schema = "data"
tables = true
privileges = ["SELECT"]
default_for = ["loader"]
"#
        ),
    );
    let run = ws.geosync(&["validate"]);
    run.assert_code(1);
    let stderr = ws.scrub(&run.stderr);
    for expected in [
        "5 problems in the manifest",
        "geosync.toml:3:8: postgres.role:public: role name `public` is reserved",
        "geosync.toml:6:8: postgres.role:pg_geosync: role name `pg_geosync` is reserved",
        "postgres.database:geosync_data: schema name `pg_data` is reserved",
        "has 70 bytes: a PostgreSQL name has 1 to 63 bytes",
        "default_for role `loader` is not declared in [[postgres.role]]",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in\n{stderr}");
    }
    // UTF-8 is PostgreSQL's UTF8: not a problem.
    assert!(!stderr.contains("encoding"), "{stderr}");
}
