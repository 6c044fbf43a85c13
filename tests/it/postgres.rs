//! PostgreSQL roles, databases, extensions, schemas and grants, against the
//! real server (tests/peers/postgres.sh).

use crate::pg::{ident, lit, port, query, try_query, value};
use crate::support::{unique, Workspace};

/// TOML basic string: escapes quotes and backslashes.
fn toml_str(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn connection() -> String {
    format!("[postgres]\nhost = \"127.0.0.1\"\nport = {}\n", port())
}

struct Names {
    owner: String,
    reader: String,
    database: String,
}

fn names() -> Names {
    Names {
        owner: unique("gs_owner"),
        reader: unique("gs_reader"),
        database: unique("gs_db"),
    }
}

fn full_manifest(n: &Names) -> String {
    format!(
        r#"{conn}
[[postgres.role]]
name = {owner}
login = true
password = {{ env = "GEOSYNC_TEST_OWNER_PW" }}
member_of = ["geosync_pw_users"]

[[postgres.role]]
name = {reader}
login = true
connection_limit = 5

[[postgres.database]]
name = {db}
owner = {owner}
encoding = "UTF8"
template = "template0"
extensions = ["postgis"]
schemas = [{{ name = "data", owner = {owner} }}]

[[postgres.grant]]
role = {reader}
database = {db}
privileges = ["CONNECT"]

[[postgres.grant]]
role = {reader}
database = {db}
schema = "data"
privileges = ["USAGE"]

[[postgres.grant]]
role = {reader}
database = {db}
schema = "data"
tables = true
default_for = [{owner}]
privileges = ["SELECT"]
"#,
        conn = connection(),
        owner = toml_str(&n.owner),
        reader = toml_str(&n.reader),
        db = toml_str(&n.database),
    )
}

fn workspace(manifest: &str, password: &str) -> Workspace {
    let mut ws = Workspace::new();
    ws.write("geosync.toml", manifest);
    ws.set_env("GEOSYNC_TEST_OWNER_PW", password);
    ws
}

#[test]
fn creates_everything_from_empty_and_then_has_nothing_to_do() {
    let n = names();
    let ws = workspace(&full_manifest(&n), "Owner-pw-1");
    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    assert!(
        plan.stdout.contains("Plan: 8 to create, 0 to update"),
        "{}",
        plan.stdout
    );

    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);

    // The owner logs in with its password (the server asks for it) and
    // creates a table; the reader can read it through default privileges.
    let owner_sql =
        "CREATE TABLE data.parcels (id int); INSERT INTO data.parcels VALUES (1); SELECT postgis_version()";
    let rows =
        try_query(port(), &n.database, &n.owner, Some("Owner-pw-1"), owner_sql).expect("owner logs in");
    assert!(
        rows[0][0].as_deref().unwrap().starts_with("3."),
        "PostGIS is installed"
    );
    assert!(try_query(port(), &n.database, &n.owner, Some("wrong"), "SELECT 1").is_err());
    let rows = try_query(
        port(),
        &n.database,
        &n.reader,
        None,
        "SELECT count(*) FROM data.parcels",
    )
    .unwrap();
    assert_eq!(rows[0][0].as_deref(), Some("1"));
    assert_eq!(
        value(
            port(),
            "postgres",
            &format!(
                "SELECT rolconnlimit FROM pg_roles WHERE rolname = {}",
                lit(&n.reader)
            )
        ),
        Some("5".into())
    );
    assert_eq!(
        value(
            port(),
            &n.database,
            "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'data'"
        ),
        Some(n.owner.clone())
    );

    let again = ws.geosync(&["plan", "--detailed-exitcode"]);
    again.assert_code(0);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
}

#[test]
fn a_new_password_is_one_sensitive_change_and_an_unchanged_one_is_none() {
    let n = names();
    let mut ws = workspace(&full_manifest(&n), "First-Password-1");
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);

    ws.set_env("GEOSYNC_TEST_OWNER_PW", "Second-Password-2");
    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    assert!(
        plan.stdout
            .contains("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(&format!(
            "~ postgres.role:{} (update: differs from the manifest)\n      ~ password: (sensitive)\n",
            n.owner
        )),
        "{}",
        plan.stdout
    );
    let apply = ws.geosync(&["apply", "--auto-approve"]);
    apply.assert_code(0);
    for output in [plan.all(), apply.all(), ws.read(".geosync/journal.jsonl")] {
        assert!(!output.contains("First-Password-1") && !output.contains("Second-Password-2"));
    }
    assert!(try_query(
        port(),
        &n.database,
        &n.owner,
        Some("Second-Password-2"),
        "SELECT 1"
    )
    .is_ok());
    assert!(try_query(
        port(),
        &n.database,
        &n.owner,
        Some("First-Password-1"),
        "SELECT 1"
    )
    .is_err());
    // Stored as a SCRAM verifier, never as the password.
    let stored = value(
        port(),
        "postgres",
        &format!(
            "SELECT rolpassword FROM pg_authid WHERE rolname = {}",
            lit(&n.owner)
        ),
    );
    assert!(stored.unwrap().starts_with("SCRAM-SHA-256$4096:"));
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
}

#[test]
fn grants_are_converged_exactly_for_managed_roles() {
    let n = names();
    let ws = workspace(&full_manifest(&n), "Owner-pw-1");
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    query(port(), &n.database, "CREATE TABLE data.extra (id int)");
    // Someone grants more than the manifest says, by hand.
    let reader = ident(&n.reader);
    query(
        port(),
        &n.database,
        &format!("GRANT INSERT, SELECT ON data.extra TO {reader}"),
    );
    query(
        port(),
        "postgres",
        &format!("GRANT CREATE ON DATABASE {} TO {reader}", ident(&n.database)),
    );
    query(
        port(),
        &n.database,
        &format!("GRANT CREATE ON SCHEMA public TO {reader}"),
    );

    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    let out = &plan.stdout;
    assert!(
        out.contains(&format!("~ postgres.grant:{}@{} (update:", n.reader, n.database)),
        "{out}"
    );
    assert!(
        out.contains("~ privileges: [\"CONNECT\",\"CREATE\"] -> [\"CONNECT\"]"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "- postgres.grant:{}@{}/public (delete: held but not granted by the manifest: revoked)",
            n.reader, n.database
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "~ postgres.grant:{}@{}/data/tables (update:",
            n.reader, n.database
        )),
        "{out}"
    );

    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let has = |sql: String| value(port(), &n.database, &sql) == Some("t".into());
    assert!(!has(format!(
        "SELECT has_table_privilege({}, 'data.extra', 'INSERT')",
        lit(&n.reader)
    )));
    assert!(has(format!(
        "SELECT has_table_privilege({}, 'data.extra', 'SELECT')",
        lit(&n.reader)
    )));
    assert!(!has(format!(
        "SELECT has_database_privilege({}, {}, 'CREATE')",
        lit(&n.reader),
        lit(&n.database)
    )));
    assert!(!has(format!(
        "SELECT has_schema_privilege({}, 'public', 'CREATE')",
        lit(&n.reader)
    )));
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
}

/// Each database is read with one narrow statement (its declared schemas
/// and `public`, its declared extensions): drift in anything declared is
/// still seen, and what the manifest does not declare is left alone.
#[test]
fn drift_anywhere_declared_is_seen_and_undeclared_schemas_are_left_alone() {
    let n = names();
    let ws = workspace(&full_manifest(&n), "Owner-pw-1");
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let (owner, reader) = (ident(&n.owner), ident(&n.reader));
    query(
        port(),
        &n.database,
        &format!(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA data REVOKE SELECT ON TABLES FROM {reader};
             ALTER SCHEMA data OWNER TO postgres;
             DROP EXTENSION postgis;
             CREATE TABLE public.notes (id int);
             GRANT UPDATE ON public.notes TO {reader};
             CREATE SCHEMA undeclared;
             CREATE TABLE undeclared.t (id int);
             GRANT USAGE ON SCHEMA undeclared TO {reader};
             GRANT SELECT ON undeclared.t TO {reader};"
        ),
    );

    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    let out = &plan.stdout;
    let db = &n.database;
    for line in [
        format!("~ postgres.schema:{db}/data (update:"),
        format!("+ postgres.extension:{db}/postgis (create:"),
        // Nothing held any more: no table yet, the default revoked.
        format!("+ postgres.grant:{}@{db}/data/tables (create:", n.reader),
        format!("- postgres.grant:{}@{db}/public/tables (delete:", n.reader),
    ] {
        assert!(out.contains(&line), "{line}\n{out}");
    }
    assert!(!out.contains("undeclared"), "{out}");

    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
    let has = |sql: String| value(port(), db, &sql) == Some("t".into());
    let r = lit(&n.reader);
    assert!(!has(format!(
        "SELECT has_table_privilege({r}, 'public.notes', 'UPDATE')"
    )));
    assert!(has(format!(
        "SELECT has_schema_privilege({r}, 'undeclared', 'USAGE')"
    )));
    assert!(has(format!(
        "SELECT has_table_privilege({r}, 'undeclared.t', 'SELECT')"
    )));
}

#[test]
fn hostile_names_are_quoted_not_executed() {
    let n = Names {
        owner: format!("{}\"; DROP ROLE postgres; --", unique("Ow ner")),
        reader: format!("{}'); DROP DATABASE postgres; --", unique("lecteur_é")),
        database: format!("{} Données \"2025\"", unique("db")),
    };
    let ws = workspace(&full_manifest(&n), "It's a \"pass\\word\"");
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
    for role in [&n.owner, &n.reader] {
        assert_eq!(
            value(
                port(),
                "postgres",
                &format!("SELECT count(*) FROM pg_roles WHERE rolname = {}", lit(role))
            ),
            Some("1".into())
        );
    }
    assert_eq!(
        value(
            port(),
            "postgres",
            &format!(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = {}",
                lit(&n.database)
            )
        ),
        Some(n.owner.clone())
    );
    assert!(try_query(
        port(),
        &n.database,
        &n.owner,
        Some("It's a \"pass\\word\""),
        "SELECT 1"
    )
    .is_ok());
    assert_eq!(
        value(
            port(),
            "postgres",
            "SELECT count(*) FROM pg_roles WHERE rolname = 'postgres'"
        ),
        Some("1".into())
    );
}

#[test]
fn dropping_needs_the_manifest_and_the_flag() {
    let n = names();
    let ws = workspace(&full_manifest(&n), "Owner-pw-1");
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    query(port(), &n.database, "CREATE TABLE data.precious (id int)");
    let absent = format!(
        "{}\n[[postgres.role]]\nname = {}\nensure = \"absent\"\n\n[[postgres.database]]\nname = {}\nensure = \"absent\"\n",
        connection(),
        toml_str(&n.reader),
        toml_str(&n.database)
    );
    ws.write("geosync.toml", &absent);

    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(0);
    assert!(
        plan.stdout.contains(
            "declared absent but exists; it holds 1 table of user data: kept (--allow-drop drops it)"
        ),
        "{}",
        plan.stdout
    );
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let exists = |sql: String| value(port(), "postgres", &sql) == Some("1".into());
    assert!(exists(format!(
        "SELECT count(*) FROM pg_database WHERE datname = {}",
        lit(&n.database)
    )));

    let drop = ws.geosync(&["apply", "--auto-approve", "--allow-drop"]);
    drop.assert_code(0);
    assert!(
        drop.stdout.contains(&format!(
            "- postgres.database:{} (delete: declared absent (--allow-drop); it holds 1 table of user data)",
            n.database
        )),
        "{}",
        drop.stdout
    );
    assert!(!exists(format!(
        "SELECT count(*) FROM pg_database WHERE datname = {}",
        lit(&n.database)
    )));
    assert!(!exists(format!(
        "SELECT count(*) FROM pg_roles WHERE rolname = {}",
        lit(&n.reader)
    )));
}

#[test]
fn an_unavailable_extension_version_stops_the_plan() {
    let n = names();
    let manifest = full_manifest(&n).replace(
        "extensions = [\"postgis\"]",
        "extensions = [{ name = \"postgis\", version = \"9.9.9\" }]",
    );
    let ws = workspace(&manifest, "Owner-pw-1");
    let run = ws.geosync(&["apply", "--auto-approve"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains(&format!("postgres.extension:{}/postgis: extension `postgis` version 9.9.9 is not available on the server (available: ", n.database)),
        "{}",
        run.stderr
    );
    assert_eq!(
        value(
            port(),
            "postgres",
            &format!("SELECT count(*) FROM pg_roles WHERE rolname = {}", lit(&n.owner))
        ),
        Some("0".into())
    );
}

#[test]
fn a_missing_owner_role_is_named() {
    let n = names();
    let manifest = format!(
        "{}\n[[postgres.database]]\nname = {}\nowner = \"nobody_{}\"\n",
        connection(),
        toml_str(&n.database),
        n.owner
    );
    let ws = workspace(&manifest, "x-password");
    let run = ws.geosync(&["plan"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains(&format!(
            "postgres.database:{}: role `nobody_{}` does not exist",
            n.database, n.owner
        )),
        "{}",
        run.stderr
    );
}

/// geosync_tls_admin may only connect over TLS (tests/peers/postgres.sh).
fn tls_manifest(host: &str, settings: &str, role: &str) -> String {
    format!(
        "[postgres]\nhost = \"{host}\"\nport = {}\nuser = \"geosync_tls_admin\"\n{settings}\n[[postgres.role]]\nname = \"{role}\"\n",
        port()
    )
}

#[test]
fn tls_modes_mean_what_they_mean_in_libpq() {
    let role = unique("gs_tls");
    let ca = crate::support::peer_env("GEOSYNC_TEST_PG_CA");
    let other_ca = crate::support::peer_env("GEOSYNC_TEST_PG_OTHER_CA");
    let run = |host: &str, settings: String| {
        let ws = Workspace::new();
        ws.write("geosync.toml", &tls_manifest(host, &settings, &role));
        ws.geosync(&["plan", "--detailed-exitcode"])
    };

    let plain = run("127.0.0.1", "sslmode = \"disable\"".into());
    plain.assert_code(1);
    assert!(
        plain
            .stderr
            .contains("cannot connect to PostgreSQL at 127.0.0.1:"),
        "{}",
        plain.stderr
    );

    for mode in ["prefer", "require"] {
        run("127.0.0.1", format!("sslmode = \"{mode}\"")).assert_code(2);
    }
    run(
        "127.0.0.1",
        format!("sslmode = \"verify-full\"\nsslrootcert = \"{ca}\""),
    )
    .assert_code(2);

    let untrusted = run(
        "127.0.0.1",
        format!("sslmode = \"verify-full\"\nsslrootcert = \"{other_ca}\""),
    );
    untrusted.assert_code(1);
    assert!(
        untrusted.stderr.contains("invalid peer certificate"),
        "{}",
        untrusted.stderr
    );

    // The certificate names 127.0.0.1, not localhost: only verify-full minds.
    let wrong_name = run(
        "localhost",
        format!("sslmode = \"verify-full\"\nsslrootcert = \"{ca}\""),
    );
    wrong_name.assert_code(1);
    assert!(wrong_name.stderr.contains("certificate"), "{}", wrong_name.stderr);
    run(
        "localhost",
        format!("sslmode = \"verify-ca\"\nsslrootcert = \"{ca}\""),
    )
    .assert_code(2);

    let missing = run("127.0.0.1", "sslmode = \"verify-full\"".into());
    missing.assert_code(1);
    assert!(
        missing.stderr.contains("need `sslrootcert`"),
        "{}",
        missing.stderr
    );
}
