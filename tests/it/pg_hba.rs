//! The managed block of pg_hba.conf, on the dedicated "hba" cluster of
//! tests/peers/postgres.sh. These tests rewrite that server's file, so they
//! take turns.

use std::os::unix::fs::MetadataExt;
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::docker::Container;
use crate::pg::{hba_port, query, try_query};
use crate::support::{peer_env, Workspace};

const BEGIN: &str = "# BEGIN geosync managed block: edits between these lines are overwritten\n";
const END: &str = "# END geosync managed block\n";

/// The file as the test found it, with an administrator's own lines added
/// outside the block, so tests can check they survive byte for byte.
const SITE_LINES: &str =
    "# site rule, not geosync's:\nhost    all    all    10.9.9.0/24    md5   # keep me\n";

fn hba_file() -> String {
    peer_env("GEOSYNC_TEST_PG_HBA_FILE")
}

/// Serializes the tests and resets the file and the server before each.
fn exclusive() -> (MutexGuard<'static, ()>, String) {
    static TURN: Mutex<()> = Mutex::new(());
    static ORIGINAL: OnceLock<String> = OnceLock::new();
    let guard = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let original =
        ORIGINAL.get_or_init(|| std::fs::read_to_string(peer_env("GEOSYNC_TEST_PG_HBA_PRISTINE")).unwrap());
    let start = format!("{original}{SITE_LINES}");
    std::fs::write(hba_file(), &start).unwrap();
    query(hba_port(), "postgres", "SELECT pg_reload_conf()");
    (guard, start)
}

fn rule(address: &str, method: &str) -> String {
    format!("[[postgres.hba]]\ntype = \"host\"\ndatabase = \"all\"\nuser = \"all\"\naddress = \"{address}\"\nmethod = \"{method}\"\n\n")
}

fn manifest(rules: &[String]) -> String {
    format!(
        "[postgres]\nhost = \"127.0.0.1\"\nport = {}\n\n{}",
        hba_port(),
        rules.concat()
    )
}

/// The file with the managed block cut out: what must never change.
fn outside_block(content: &str) -> String {
    let start = content.find(BEGIN).expect("a managed block");
    let end = content.find(END).expect("an end marker") + END.len();
    format!("{}{}", &content[..start], &content[end..])
}

fn block(content: &str) -> Vec<String> {
    let start = content.find(BEGIN).unwrap() + BEGIN.len();
    let end = content.find(END).unwrap();
    content[start..end]
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

fn loaded_addresses() -> Vec<String> {
    query(
        hba_port(),
        "postgres",
        "SELECT address FROM pg_hba_file_rules WHERE address IS NOT NULL ORDER BY line_number",
    )
    .into_iter()
    .filter_map(|row| row[0].clone())
    .collect()
}

#[test]
fn rules_are_added_reordered_and_removed_inside_the_block_only() {
    let (_turn, start) = exclusive();
    let ws = Workspace::new();
    let lan = rule("172.20.74.0/24", "scram-sha-256");
    let vpn = rule("10.8.0.0/16", "scram-sha-256");

    ws.write("geosync.toml", &manifest(&[lan.clone(), vpn.clone()]));
    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    assert!(
        plan.stdout.contains("+ postgres.hba:pg_hba.conf (create:"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("+host    all             all             172.20.74.0/24          scram-sha-256"),
        "{}",
        plan.stdout
    );
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let content = std::fs::read_to_string(hba_file()).unwrap();
    assert_eq!(outside_block(&content), start, "lines outside the block changed");
    assert_eq!(
        block(&content),
        [
            "host all all 172.20.74.0/24 scram-sha-256",
            "host all all 10.8.0.0/16 scram-sha-256"
        ]
    );
    // The server reloaded: the new rules are in force, before the old ones.
    let loaded = loaded_addresses();
    assert_eq!(&loaded[..2], ["172.20.74.0", "10.8.0.0"]);
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);

    ws.write("geosync.toml", &manifest(&[vpn.clone(), lan]));
    let plan = ws.geosync(&["apply", "--auto-approve"]);
    plan.assert_code(0);
    assert!(
        plan.stdout.contains("~ postgres.hba:pg_hba.conf (update:"),
        "{}",
        plan.stdout
    );
    let content = std::fs::read_to_string(hba_file()).unwrap();
    assert_eq!(
        block(&content),
        [
            "host all all 10.8.0.0/16 scram-sha-256",
            "host all all 172.20.74.0/24 scram-sha-256"
        ]
    );
    assert_eq!(outside_block(&content), start);

    ws.write("geosync.toml", &manifest(&[vpn]));
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let content = std::fs::read_to_string(hba_file()).unwrap();
    assert_eq!(block(&content), ["host all all 10.8.0.0/16 scram-sha-256"]);
    assert_eq!(outside_block(&content), start);
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
}

#[test]
fn a_rule_postgresql_rejects_is_rolled_back_and_the_server_keeps_serving() {
    let (_turn, start) = exclusive();
    let ws = Workspace::new();
    // Valid for geosync, refused by PostgreSQL: ldap needs its server options.
    ws.write("geosync.toml", &manifest(&[rule("192.168.77.0/24", "ldap")]));
    let run = ws.geosync(&["apply", "--auto-approve"]);
    run.assert_code(1);
    assert!(
        run.stdout
            .contains("FAILED     postgres.hba:pg_hba.conf: PostgreSQL rejected the new"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("192.168.77.0/24"), "{}", run.stdout);
    assert!(run.stdout.contains("from geosync.toml:"), "{}", run.stdout);
    assert!(
        run.stdout.contains("the previous file was restored"),
        "{}",
        run.stdout
    );
    assert_eq!(
        std::fs::read_to_string(hba_file()).unwrap(),
        start,
        "not restored byte for byte"
    );
    assert!(try_query(hba_port(), "postgres", "postgres", None, "SELECT 1").is_ok());
    assert!(!loaded_addresses().contains(&"192.168.77.0".to_string()));
}

#[test]
fn a_rule_set_that_locks_geosync_out_is_refused_at_plan_time() {
    let (_turn, start) = exclusive();
    let ws = Workspace::new();
    let reject = "[[postgres.hba]]\ntype = \"host\"\ndatabase = \"all\"\nuser = \"postgres\"\naddress = \"127.0.0.0/8\"\nmethod = \"reject\"\n".to_string();
    ws.write("geosync.toml", &manifest(&[reject]));
    let run = ws.geosync(&["plan"]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("the pg_hba rules would lock geosync out: line ")
            && run.stderr.contains(
                "is the first to match user postgres to database postgres from 127.0.0.1, and rejects it"
            ),
        "{}",
        run.stderr
    );
    ws.geosync(&["apply", "--auto-approve"]).assert_code(1);
    assert_eq!(std::fs::read_to_string(hba_file()).unwrap(), start);
}

#[test]
fn pg_hba_conf_inside_a_container_is_updated_through_the_engine() {
    let (_turn, start) = exclusive();
    let data_dir = std::path::Path::new(&hba_file()).parent().unwrap().to_path_buf();
    let owner = std::fs::metadata(hba_file()).unwrap().uid();
    // The database container's view of its data directory.
    let mount = format!("{}:/pgdata", data_dir.display());
    let container = Container::start(&["-v", &mount]);
    let ws = Workspace::new();
    let settings = format!(
        "hba_container = \"{}\"\nhba_file = \"/pgdata/pg_hba.conf\"\n",
        container.name
    );
    let text =
        manifest(&[rule("172.20.74.0/24", "scram-sha-256")]).replacen("\n\n", &format!("\n{settings}\n"), 1);
    ws.write("geosync.toml", &text);

    let run = ws.geosync(&["apply", "--auto-approve"]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains(&format!("--- {}:/pgdata/pg_hba.conf", container.name)),
        "{}",
        run.stdout
    );
    let content = std::fs::read_to_string(hba_file()).unwrap();
    assert_eq!(outside_block(&content), start);
    assert_eq!(block(&content), ["host all all 172.20.74.0/24 scram-sha-256"]);
    assert_eq!(
        std::fs::metadata(hba_file()).unwrap().uid(),
        owner,
        "the owner changed"
    );
    assert!(loaded_addresses().contains(&"172.20.74.0".to_string()));
    assert!(
        !data_dir.join(".pg_hba.conf.geosync-tmp").exists(),
        "temporary file left behind"
    );
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
}
