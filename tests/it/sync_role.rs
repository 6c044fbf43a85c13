//! `[sync] postgres_role`: the sync loads as a least-privileged role
//! against the real PostgreSQL + PostGIS peer. Its tables are that role's,
//! so the reader's default privileges apply at once and the next plan is
//! clean; a ledger left by the superuser is named with its fix; a role
//! that cannot be the sync's is refused at validate; a custom CRS needs a
//! grant PostGIS does not give, and the error says which.

use std::path::Path;

use crate::pg;
use crate::support::{unique, Run, Workspace};
use crate::sync::{copy_dir, CORPUS};

struct Case {
    ws: Workspace,
    db: String,
    role: String,
    reader: String,
    role_pw: String,
    reader_pw: String,
    runs: Vec<Run>,
}

/// The roles, database and grants of the reference manifest, with one
/// target reading `share/`; `[sync]` holds `sync`.
fn manifest(case: &Case, sync: &str) -> String {
    let (role, reader, db) = (&case.role, &case.reader, &case.db);
    format!(
        r#"[postgres]
host = "127.0.0.1"
port = {port}
sslmode = "disable"
password = {{ env = "GEOSYNC_TEST_SUPERUSER_PW" }}

[[postgres.role]]
name = "{role}"
login = true
password = {{ env = "GEOSYNC_TEST_SYNC_PW" }}
member_of = ["geosync_pw_users"]

[[postgres.role]]
name = "{reader}"
login = true
password = {{ env = "GEOSYNC_TEST_READER_PW" }}
member_of = ["geosync_pw_users"]

[[postgres.database]]
name = "{db}"
owner = "{role}"
extensions = ["postgis"]
schemas = [{{ name = "data", owner = "{role}" }}]

[[postgres.grant]]
role = "{reader}"
database = "{db}"
privileges = ["CONNECT"]

[[postgres.grant]]
role = "{reader}"
database = "{db}"
schema = "data"
privileges = ["USAGE"]

[[postgres.grant]]
role = "{reader}"
database = "{db}"
schema = "data"
tables = true
default_for = ["{role}"]
privileges = ["SELECT"]

[sync]
{sync}

[[sync.target]]
name = "t"
source = {{ path = "share" }}
database = "{db}"
schema = "data"
"#,
        port = pg::port()
    )
}

impl Case {
    /// With `as_role`, `[sync] postgres_role` names the case's role.
    fn new(as_role: bool) -> Case {
        let mut case = Case {
            ws: Workspace::new(),
            db: unique("syncrole"),
            role: unique("sync_as"),
            reader: unique("sync_reader"),
            role_pw: unique("Sync-Role-Pw"),
            reader_pw: unique("Sync-Reader-Pw"),
            runs: Vec::new(),
        };
        if as_role {
            case.use_role();
        } else {
            case.ws.write("geosync.toml", &manifest(&case, ""));
        }
        std::fs::create_dir_all(case.ws.join("share")).unwrap();
        // The peer trusts the superuser on loopback: the value only has to be set.
        case.ws.set_env("GEOSYNC_TEST_SUPERUSER_PW", "unused-by-trust");
        let (role_pw, reader_pw) = (case.role_pw.clone(), case.reader_pw.clone());
        case.ws.set_env("GEOSYNC_TEST_SYNC_PW", &role_pw);
        case.ws.set_env("GEOSYNC_TEST_READER_PW", &reader_pw);
        case
    }

    fn use_role(&self) {
        let sync = format!("postgres_role = \"{}\"", self.role);
        self.ws.write("geosync.toml", &manifest(self, &sync));
    }

    fn add_case(&self, case: &str) {
        let from = Path::new(CORPUS).join("valid").join(case);
        copy_dir(&from, &self.ws.join("share").join(case));
    }

    /// Runs geosync, keeping the run to check no secret reached its output.
    fn run(&mut self, args: &[&str]) -> &Run {
        let run = self.ws.geosync(args);
        self.runs.push(run);
        self.runs.last().unwrap()
    }

    fn value(&self, sql: &str) -> Option<String> {
        pg::value(pg::port(), &self.db, sql)
    }

    fn table_owners(&self, schema: &str) -> Vec<(String, String)> {
        pg::query(
            pg::port(),
            &self.db,
            &format!("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = '{schema}' ORDER BY 1"),
        )
        .into_iter()
        .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
        .collect()
    }

    fn assert_no_secret_in_output(&self) {
        for run in &self.runs {
            for secret in [&self.role_pw, &self.reader_pw] {
                assert!(
                    !run.stdout.contains(secret.as_str()) && !run.stderr.contains(secret.as_str()),
                    "a password reached the output:\n{}\n{}",
                    run.stdout,
                    run.stderr
                );
            }
        }
    }
}

#[test]
fn the_sync_loads_as_its_role_and_the_reader_reads_the_table_at_once() {
    let mut case = Case::new(true);
    let role = case.role.clone();
    case.add_case("220_sld_shp_point");
    case.run(&["apply", "--auto-approve"]).assert_code(0);

    let owners = case.table_owners("data");
    assert_eq!(
        owners,
        vec![("l_220_test_sld_shp_point".to_string(), role.clone())]
    );
    assert_eq!(
        case.table_owners("geosync"),
        vec![("ledger".to_string(), role.clone())]
    );
    // The reader, with its own password, reads the new table: the
    // default privileges of the role applied when it was created.
    let rows = pg::try_query(
        pg::port(),
        &case.db,
        &case.reader,
        Some(&case.reader_pw),
        "SELECT count(*) FROM data.l_220_test_sld_shp_point",
    )
    .unwrap_or_else(|e| panic!("the reader cannot read the table: {e:?}"));
    assert!(rows[0][0].as_deref().unwrap().parse::<i64>().unwrap() > 0);
    // Nothing for the next run to re-grant.
    case.run(&["plan", "--detailed-exitcode"]).assert_code(0);

    // The sync alone runs without the superuser's password (the geosync
    // container does not hold it), and still as the role.
    case.ws.remove_env("GEOSYNC_TEST_SUPERUSER_PW");
    case.ws.remove_env("GEOSYNC_TEST_READER_PW");
    case.add_case("050_xmlmissing");
    case.run(&["sync", "--once"]).assert_code(0);
    assert_eq!(
        case.value("SELECT tableowner FROM pg_tables WHERE tablename = 'l_050_test_nyc_shape_noxml'"),
        Some(role.clone())
    );
    case.run(&["status"]).assert_code(0);
    // Taking a dataset down drops its table: the role owns it.
    std::fs::remove_dir_all(case.ws.join("share/050_xmlmissing")).unwrap();
    case.run(&["sync", "--once"]).assert_code(0);
    assert_eq!(
        case.table_owners("data"),
        vec![("l_220_test_sld_shp_point".to_string(), role.clone())]
    );
    // Without the role's password it says which secret it needs.
    case.ws.remove_env("GEOSYNC_TEST_SYNC_PW");
    let run = case.run(&["sync", "--once"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("GEOSYNC_TEST_SYNC_PW") && run.stderr.contains(&format!("postgres.role:{role}")),
        "{}",
        run.stderr
    );
    case.assert_no_secret_in_output();
}

#[test]
fn a_ledger_left_by_the_superuser_is_named_with_its_owner_and_fix() {
    // First as today: the superuser loads, and owns the ledger and table.
    let mut case = Case::new(false);
    case.add_case("220_sld_shp_point");
    case.run(&["apply", "--auto-approve"]).assert_code(0);
    assert_eq!(
        case.table_owners("geosync"),
        vec![("ledger".to_string(), "postgres".to_string())]
    );

    let role = case.role.clone();
    case.use_role();
    for verb in [&["sync", "--once"][..], &["status"][..]] {
        let run = case.run(verb);
        run.assert_code(1);
        let text = format!("{}{}", run.stdout, run.stderr);
        for needle in [
            format!("role {role} cannot work in database {}", case.db),
            "table geosync.ledger (the sync's ledger) is owned by postgres".to_string(),
            "schema geosync (the sync's ledger) is owned by postgres".to_string(),
            "the tables it lists may be too".to_string(),
            format!("ALTER TABLE \"geosync\".ledger OWNER TO \"{role}\";"),
        ] {
            assert!(text.contains(&needle), "{verb:?}: no `{needle}` in:\n{text}");
        }
        assert!(!text.contains("permission denied"), "{text}");
    }
    // The statements it gives, run as the superuser, are the whole fix.
    let stderr = case.runs[case.runs.len() - 2].stderr.clone();
    pg::query(pg::port(), &case.db, fixes_in(&stderr));
    case.add_case("050_xmlmissing");
    case.run(&["sync", "--once"]).assert_code(0);
    assert!(case.table_owners("data").iter().all(|(_, owner)| owner == &role));

    // A readable ledger: the tables it lists are named one by one, and so
    // is a target schema the role may not create in.
    pg::query(
        pg::port(),
        &case.db,
        "ALTER TABLE data.l_220_test_sld_shp_point OWNER TO postgres; ALTER SCHEMA data OWNER TO postgres",
    );
    let run = case.run(&["sync", "--once"]);
    run.assert_code(1);
    for needle in [
        "1 table(s) the sync loaded in schema data are owned by postgres".to_string(),
        "it may not create tables in schema data (owned by postgres)".to_string(),
        format!("ALTER TABLE \"data\".\"l_220_test_sld_shp_point\" OWNER TO \"{role}\";"),
        format!("GRANT USAGE, CREATE ON SCHEMA \"data\" TO \"{role}\";"),
    ] {
        assert!(run.stderr.contains(&needle), "no `{needle}` in:\n{}", run.stderr);
    }
    let stderr = run.stderr.clone();
    pg::query(pg::port(), &case.db, fixes_in(&stderr));
    std::fs::remove_dir_all(case.ws.join("share/220_sld_shp_point")).unwrap();
    case.run(&["sync", "--once"]).assert_code(0);
    assert_eq!(
        case.table_owners("data"),
        vec![("l_050_test_nyc_shape_noxml".to_string(), role.clone())]
    );
    case.assert_no_secret_in_output();
}

/// The statements an error says to run.
fn fixes_in(stderr: &str) -> &str {
    let (_, fixes) = stderr.split_once("run: ").expect("the error gives its fix");
    fixes.lines().next().unwrap()
}

#[test]
fn a_role_that_cannot_be_the_syncs_is_refused_at_validate_with_its_line() {
    let case = Case::new(false);
    let (role, reader) = (&case.role, &case.reader);
    let base = manifest(&case, "postgres_role = \"ROLE\"");
    let undeclared = unique("nobody");
    let no_login = base.replace(
        &format!("name = \"{reader}\"\nlogin = true"),
        &format!("name = \"{reader}\"\nlogin = false"),
    );
    let no_password = base.replace(
        &format!("name = \"{reader}\"\nlogin = true\npassword = {{ env = \"GEOSYNC_TEST_READER_PW\" }}\n"),
        &format!("name = \"{reader}\"\nlogin = true\n"),
    );
    for (text, name, needle) in [
        (base.clone(), undeclared.as_str(), format!("role `{undeclared}` is not a [[postgres.role]] of the manifests (declared: {role}, {reader})")),
        (no_login, reader.as_str(), format!("role `{reader}` cannot log in")),
        (no_password, reader.as_str(), format!("role `{reader}` has no password")),
    ] {
        case.ws.write("geosync.toml", &text.replace("\"ROLE\"", &format!("\"{name}\"")));
        let line = text.lines().position(|l| l.starts_with("postgres_role")).unwrap() + 1;
        let run = case.ws.geosync(&["validate"]);
        run.assert_code(1);
        let at = format!("geosync.toml:{line}:");
        assert!(
            run.stderr.contains(&at) && run.stderr.contains("[sync] postgres_role") && run.stderr.contains(&needle),
            "no `{at}` ... `{needle}` in:\n{}",
            run.stderr
        );
    }
}

/// A Transverse Mercator no EPSG code matches: geosync keeps it as a
/// custom CRS in spatial_ref_sys.
const CUSTOM_PRJ: &str = r#"PROJCS["geosync_test_custom",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",123456.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",7.77],PARAMETER["Scale_Factor",0.9991],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;

#[test]
fn a_custom_crs_needs_an_insert_grant_on_spatial_ref_sys_and_says_so() {
    let mut case = Case::new(true);
    let role = case.role.clone();
    case.add_case("220_sld_shp_point");
    case.ws
        .write("share/220_sld_shp_point/220_test_sld_shp_point.prj", CUSTOM_PRJ);
    let run = case.run(&["apply", "--auto-approve"]);
    run.assert_code(1);
    let text = format!("{}{}", run.stdout, run.stderr);
    for needle in [
        "220_sld_shp_point/220_test_sld_shp_point.shp".to_string(),
        format!("role {role} may not add it to spatial_ref_sys"),
        format!(
            "in database {}, run: GRANT INSERT ON spatial_ref_sys TO \"{role}\";",
            case.db
        ),
    ] {
        assert!(text.contains(&needle), "no `{needle}` in:\n{text}");
    }
    // With the grant PostGIS does not give, a dataset in that CRS loads.
    pg::query(
        pg::port(),
        &case.db,
        &format!("GRANT INSERT ON spatial_ref_sys TO {role}"),
    );
    copy_dir(
        &case.ws.join("share/220_sld_shp_point"),
        &case.ws.join("share/again"),
    );
    let run = case.run(&["sync", "--once"]);
    assert!(
        run.stdout.contains("new        again/220_test_sld_shp_point.shp"),
        "{}",
        run.stdout
    );
    assert_eq!(
        case.value("SELECT auth_name FROM spatial_ref_sys WHERE srtext LIKE '%geosync_test_custom%'"),
        Some("geosync".to_string())
    );
    case.assert_no_secret_in_output();
}

/// A plan must not show a target's datasets as new because it cannot
/// connect: only a database that does not exist yet, and that the plan
/// creates, is planned empty.
#[test]
fn a_plan_that_cannot_connect_to_a_target_stops_instead_of_showing_it_empty() {
    let mut case = Case::new(true);
    let (role, db) = (case.role.clone(), case.db.clone());
    case.add_case("220_sld_shp_point");
    let dataset = "sync.dataset:t/220_sld_shp_point/220_test_sld_shp_point.shp";
    // Nothing built yet (neither the role nor the database): planned new.
    let run = case.run(&["plan"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains(&format!("+ {dataset} (create")),
        "{}",
        run.stdout
    );
    case.run(&["apply", "--auto-approve"]).assert_code(0);

    // The role's password in the manifest no longer the server's.
    let wrong = unique("Wrong-Sync-Pw");
    case.ws.set_env("GEOSYNC_TEST_SYNC_PW", &wrong);
    let server = format!("127.0.0.1:{}/{db}", pg::port());
    for args in [&["plan"][..], &["sync", "--dry-run"][..]] {
        let run = case.run(args);
        run.assert_code(1);
        let all = format!("{}{}", run.stdout, run.stderr);
        for expected in [
            "sync.target:t",
            server.as_str(),
            role.as_str(),
            "password authentication failed",
        ] {
            assert!(all.contains(expected), "{args:?}: no {expected:?} in\n{all}");
        }
        assert!(
            !all.contains(&format!("+ {dataset}")),
            "{args:?} planned it new:\n{all}"
        );
        assert!(!all.contains(&wrong), "{args:?}: the password was printed");
    }
    // As the message says: the rest first (it sets the role's password),
    // then the plan reads the ledger again: the dataset is loaded.
    case.run(&["apply", "--auto-approve", "--exclude", "sync"])
        .assert_code(0);
    case.run(&["plan", "--detailed-exitcode"]).assert_code(0);

    // A second target's database nothing creates: not planned empty either.
    let nowhere = unique("nowhere");
    let second = format!(
        "\n[[sync.target]]\nname = \"u\"\nsource = {{ path = \"share\" }}\ndatabase = \"{nowhere}\"\nschema = \"data\"\n"
    );
    let sync = format!("postgres_role = \"{role}\"");
    case.ws.write("geosync.toml", &(manifest(&case, &sync) + &second));
    for args in [&["plan"][..], &["sync", "--dry-run"][..]] {
        let run = case.run(args);
        run.assert_code(1);
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(
            all.contains("sync.target:u") && all.contains(&format!("/{nowhere} as {role}")),
            "{args:?}: {all}"
        );
        assert!(all.contains("does not exist"), "{args:?}: {all}");
    }
    case.assert_no_secret_in_output();
}
