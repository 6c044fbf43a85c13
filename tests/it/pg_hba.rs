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
    // An earlier test may have left a symlink or an interrupted write.
    let _ = std::fs::remove_file(hba_file());
    let _ = std::fs::remove_file(previous_file());
    std::fs::write(hba_file(), &start).unwrap();
    chown_postgres(std::path::Path::new(&hba_file()));
    query(hba_port(), "postgres", "SELECT pg_reload_conf()");
    (guard, start)
}

fn previous_file() -> String {
    format!("{}.geosync-previous", hba_file())
}

fn chown_postgres(path: &std::path::Path) {
    let data = std::fs::metadata(std::path::Path::new(&hba_file()).parent().unwrap()).unwrap();
    std::os::unix::fs::chown(path, Some(data.uid()), Some(data.gid())).unwrap();
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

/// What PostgreSQL parsed from the file on disk, one row per rule line:
/// type, databases, users, address, netmask, method, options, error.
fn parsed_rules() -> Vec<Vec<Option<String>>> {
    query(
        hba_port(),
        "postgres",
        "SELECT type, array_to_string(database, ','), array_to_string(user_name, ','), address, netmask, \
         auth_method, array_to_string(options, ','), error FROM pg_hba_file_rules ORDER BY line_number",
    )
}

#[test]
fn long_values_and_hostnossl_stay_in_their_columns() {
    let (_turn, _start) = exclusive();
    let ws = Workspace::new();
    // The reference manifest's database list, longer user lists, the
    // longest address form, and every type whose name is 9+ characters.
    let rules = [
        (
            "hostnossl",
            "geosync_data_open,geosync_data_restricted",
            "all",
            "172.20.74.0/24",
            "scram-sha-256",
            "",
        ),
        (
            "host",
            "geosync_data_open",
            "geoserver_reader,geonetwork_editor,geosync",
            "2001:db8:abcd:12::/64",
            "scram-sha-256",
            "",
        ),
        (
            "hostnogssenc",
            "sameuser",
            "+geosync_readers",
            "10.200.200.200/32",
            "md5",
            "",
        ),
        (
            "local",
            "geosync_data_restricted,geosync_data_open,georchestra",
            "geosync_administrator",
            "",
            "peer",
            "map=lab",
        ),
    ];
    let text: String = rules
        .iter()
        .map(|(kind, database, user, address, method, options)| {
            let mut rule = format!("[[postgres.hba]]\ntype = \"{kind}\"\ndatabase = \"{database}\"\nuser = \"{user}\"\nmethod = \"{method}\"\n");
            if !address.is_empty() {
                rule.push_str(&format!("address = \"{address}\"\n"));
            }
            if !options.is_empty() {
                rule.push_str(&format!("options = \"{options}\"\n"));
            }
            rule + "\n"
        })
        .collect();
    ws.write("geosync.toml", &manifest(&[text]));
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let parsed = parsed_rules();
    let some = |v: &str| (!v.is_empty()).then(|| v.to_string());
    let expected: Vec<Vec<Option<String>>> = vec![
        vec![
            some("hostnossl"),
            some("geosync_data_open,geosync_data_restricted"),
            some("all"),
            some("172.20.74.0"),
            some("255.255.255.0"),
            some("scram-sha-256"),
            None,
            None,
        ],
        vec![
            some("host"),
            some("geosync_data_open"),
            some("geoserver_reader,geonetwork_editor,geosync"),
            some("2001:db8:abcd:12::"),
            some("ffff:ffff:ffff:ffff::"),
            some("scram-sha-256"),
            None,
            None,
        ],
        vec![
            some("hostnogssenc"),
            some("sameuser"),
            some("+geosync_readers"),
            some("10.200.200.200"),
            some("255.255.255.255"),
            some("md5"),
            None,
            None,
        ],
        vec![
            some("local"),
            some("geosync_data_restricted,geosync_data_open,georchestra"),
            some("geosync_administrator"),
            None,
            None,
            some("peer"),
            some("map=lab"),
            None,
        ],
    ];
    assert_eq!(&parsed[..4], &expected[..], "PostgreSQL parsed other columns");
    assert!(parsed.iter().all(|row| row[7].is_none()), "{parsed:?}");
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
}

#[test]
fn bytes_outside_the_block_are_kept_even_when_not_utf8() {
    let (_turn, start) = exclusive();
    // A latin-1 comment ("café", "Ledoux") and a CRLF line, as an
    // administrator's editor may leave them.
    let mut original = start.into_bytes();
    original
        .extend_from_slice(b"# r\xe9seau du caf\xe9 Ledoux\r\nhost all all 10.7.7.0/24 md5 # \xe9t\xe9\n");
    std::fs::write(hba_file(), &original).unwrap();
    let ws = Workspace::new();
    ws.write(
        "geosync.toml",
        &manifest(&[rule("172.20.74.0/24", "scram-sha-256")]),
    );
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let content = std::fs::read(hba_file()).unwrap();
    let begin = find(&content, BEGIN.as_bytes());
    let end = find(&content, END.as_bytes()) + END.len();
    let outside = [&content[..begin], &content[end..]].concat();
    assert_eq!(outside, original, "bytes outside the block changed");
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
    // Removing the rules keeps the same bytes too.
    ws.write("geosync.toml", &manifest(&[]).replace("\n\n", "\n\n[[postgres.hba]]\ntype = \"host\"\ndatabase = \"all\"\nuser = \"all\"\naddress = \"10.1.0.0/16\"\nmethod = \"reject\"\n"));
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let content = std::fs::read(hba_file()).unwrap();
    assert!(content.ends_with(b"# r\xe9seau du caf\xe9 Ledoux\r\nhost all all 10.7.7.0/24 md5 # \xe9t\xe9\n"));
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("present")
}

/// Puts a regular pg_hba.conf back when a test made it a symlink.
struct Unlink(std::path::PathBuf);

impl Drop for Unlink {
    fn drop(&mut self) {
        if std::fs::symlink_metadata(hba_file()).is_ok_and(|m| m.file_type().is_symlink()) {
            let _ = std::fs::remove_file(hba_file());
            let _ = std::fs::copy(&self.0, hba_file());
        }
    }
}

#[test]
fn a_symlinked_pg_hba_conf_is_written_through_its_link() {
    let (_turn, start) = exclusive();
    // The administrator keeps the real file elsewhere, as Debian's
    // /etc/postgresql layout does.
    let data_dir = std::path::Path::new(&hba_file()).parent().unwrap().to_path_buf();
    let site = data_dir.parent().unwrap().join("site-config");
    std::fs::create_dir_all(&site).unwrap();
    chown_postgres(&site);
    let real = site.join("pg_hba.conf");
    std::fs::write(&real, &start).unwrap();
    chown_postgres(&real);
    std::fs::remove_file(hba_file()).unwrap();
    std::os::unix::fs::symlink(&real, hba_file()).unwrap();
    let _unlink = Unlink(real.clone());

    let ws = Workspace::new();
    ws.write(
        "geosync.toml",
        &manifest(&[rule("172.20.74.0/24", "scram-sha-256")]),
    );
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let link = std::fs::symlink_metadata(hba_file()).unwrap();
    assert!(link.file_type().is_symlink(), "the link was replaced by a file");
    assert_eq!(std::fs::read_link(hba_file()).unwrap(), real);
    let content = std::fs::read_to_string(&real).unwrap();
    assert_eq!(block(&content), ["host all all 172.20.74.0/24 scram-sha-256"]);
    assert_eq!(outside_block(&content), start);
    assert!(loaded_addresses().contains(&"172.20.74.0".to_string()));
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
}

/// kill -9 at every step of a pg_hba.conf write: the next plan sees the
/// unfinished write and the next apply finishes it; the server never
/// keeps a file it did not check and load.
#[test]
fn a_kill_at_any_step_of_the_write_is_finished_by_the_next_apply() {
    for step in ["hba:previous-kept", "hba:replaced", "hba:checked", "hba:reloaded"] {
        let (_turn, start) = exclusive();
        let ws = Workspace::new();
        ws.write(
            "geosync.toml",
            &manifest(&[rule("172.20.74.0/24", "scram-sha-256")]),
        );
        ws.kill_at(&["apply", "--auto-approve"], step);
        assert_eq!(
            std::fs::read_to_string(previous_file()).unwrap(),
            start,
            "{step}: the previous file is not kept beside"
        );
        let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
        plan.assert_code(2);
        assert!(
            plan.stdout.contains("an earlier apply stopped before"),
            "{step}: {}",
            plan.stdout
        );
        // The killed run's lock file is left behind (the engine's lock is
        // another finding of issue 8).
        ws.geosync(&["apply", "--auto-approve", "--break-lock"])
            .assert_code(0);
        let content = std::fs::read_to_string(hba_file()).unwrap();
        assert_eq!(
            block(&content),
            ["host all all 172.20.74.0/24 scram-sha-256"],
            "{step}"
        );
        assert_eq!(outside_block(&content), start, "{step}");
        assert!(
            !std::path::Path::new(&previous_file()).exists(),
            "{step}: copy left"
        );
        assert!(loaded_addresses().contains(&"172.20.74.0".to_string()), "{step}");
        ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
    }
}

/// The crash the attack found: killed after a file PostgreSQL refuses
/// replaced the good one. The next plan must see the errors (not "No
/// changes") and the next apply put the last good file back.
#[test]
fn a_kill_after_writing_a_rejected_file_is_repaired_by_the_next_apply() {
    let (_turn, start) = exclusive();
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest(&[rule("192.168.77.0/24", "ldap")]));
    ws.kill_at(&["apply", "--auto-approve"], "hba:replaced");
    let errors = query(
        hba_port(),
        "postgres",
        "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL",
    );
    assert_eq!(
        errors[0][0].as_deref(),
        Some("1"),
        "the crash left no broken file to repair"
    );

    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    assert!(
        plan.stdout.contains("PostgreSQL reports errors in"),
        "{}",
        plan.stdout
    );
    let run = ws.geosync(&["apply", "--auto-approve", "--break-lock"]);
    run.assert_code(1);
    assert!(
        run.stdout.contains("the previous file was restored"),
        "{}",
        run.stdout
    );
    assert_eq!(std::fs::read_to_string(hba_file()).unwrap(), start);
    assert!(!std::path::Path::new(&previous_file()).exists());
    let errors = query(
        hba_port(),
        "postgres",
        "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL",
    );
    assert_eq!(errors[0][0].as_deref(), Some("0"));
    assert!(try_query(hba_port(), "postgres", "postgres", None, "SELECT 1").is_ok());
}

/// A newline in any field would write a second, unchecked rule (here a
/// `trust` for everyone): refused at validate, before anything is read or
/// written, with the field's place in the manifest.
#[test]
fn control_characters_in_any_rule_field_are_refused_at_validate() {
    let ws = Workspace::new();
    let base = [
        ("type", "host"),
        ("database", "all"),
        ("user", "all"),
        ("address", "172.20.74.0/24"),
        ("method", "scram-sha-256"),
        ("options", "map=lab"),
    ];
    for (field, hostile) in [
        ("options", "map=lab\\nhost all all 0.0.0.0/0 trust"),
        ("database", "all\\nhost all all 0.0.0.0/0 trust\\n#"),
        ("user", "all\\r"),
        ("address", "172.20.74.0/24\\u0085"),
        ("method", "md5\\u001b[2K"),
        ("type", "host\\u2028local"),
    ] {
        let mut rule = String::from("[[postgres.hba]]\n");
        for (name, value) in base {
            let value = if name == field { hostile } else { value };
            rule.push_str(&format!("{name} = \"{value}\"\n"));
        }
        ws.write("geosync.toml", &manifest(&[rule]));
        let run = ws.geosync(&["validate"]);
        run.assert_code(1);
        assert!(
            run.stderr.contains(&format!("postgres.hba: `{field}` holds ")),
            "{field}: {}",
            run.stderr
        );
        let line = 6 + base.iter().position(|(name, _)| *name == field).unwrap();
        assert!(
            run.stderr.contains(&format!("geosync.toml:{line}:")),
            "{field}: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("0.0.0.0/0 trust"),
            "the value is echoed: {}",
            run.stderr
        );
    }
}
