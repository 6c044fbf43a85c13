//! A no-op plan over 5,000 AD users and their 5,000 geOrchestra entries,
//! side by side in the same run with the floor: two paged `ldapsearch`
//! dumps (AD, then slapd) of the same attributes. Also the first import of
//! those users: its time and LDAP write operations per second. All 5,000
//! are members of one AD group mapped to a role: geosync reads it in
//! ranged reads of `member_range` (default 1,500) values, which Samba
//! answers as AD does (it would answer a plain read with all 5,000).
//!
//! The real services come from tests/peers (slapd.sh, samba.sh), started
//! here in a state folder of this run and stopped at the end. Run with
//! `cargo bench --bench ldap_noop` (as root, like tests/run: Samba must).
//! GEOSYNC_BENCH_USERS=500 measures another size.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use common::measure;

const RUNS: usize = 3;

struct Peers {
    state: tempfile::TempDir,
    env: BTreeMap<String, String>,
}

impl Peers {
    fn start() -> Peers {
        let state = tempfile::Builder::new()
            .prefix("geosync-peers-bench")
            .tempdir()
            .unwrap();
        let output = Command::new("bash")
            .arg("-c")
            .arg(
                "set -e; source tests/peers/lib.sh; source tests/peers/slapd.sh; source tests/peers/samba.sh; \
                 slapd_install; samba_install; slapd_start; samba_start; env | grep '^GEOSYNC_TEST_'",
            )
            .env("PEERS_STATE_DIR", state.path())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        assert!(output.status.success(), "the peers did not start");
        let env = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Peers { state, env }
    }

    fn get(&self, name: &str) -> &str {
        &self.env[name]
    }
}

impl Drop for Peers {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg("-c")
            .arg("source tests/peers/lib.sh; source tests/peers/slapd.sh; source tests/peers/samba.sh; slapd_stop; samba_stop")
            .env("PEERS_STATE_DIR", self.state.path())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status();
    }
}

/// Feeds LDIF to ldapadd against AD as Administrator (LDAPS).
fn ad_add(peers: &Peers, ldif: &str) {
    let mut child = Command::new("ldapadd")
        .env("LDAPTLS_CACERT", peers.get("GEOSYNC_TEST_AD_CA"))
        .args(["-x", "-c", "-H", peers.get("GEOSYNC_TEST_AD_URL")])
        .args([
            "-D",
            peers.get("GEOSYNC_TEST_AD_ADMIN"),
            "-w",
            peers.get("GEOSYNC_TEST_AD_ADMIN_PASSWORD"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(ldif.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success(), "ldapadd to AD");
}

fn populate_ad(peers: &Peers, users: usize) -> (String, String) {
    let ou = format!("OU=bench,{}", peers.get("GEOSYNC_TEST_AD_BASE"));
    let mut ldif = format!("dn: {ou}\nobjectClass: organizationalUnit\nou: bench\n\n");
    let mut members = String::new();
    for i in 0..users {
        let dn = format!("CN=user{i:05},{ou}");
        ldif.push_str(&format!(
            "dn: {dn}\nobjectClass: user\nsAMAccountName: user{i:05}\ngivenName: User\nsn: N{i}\n\
             mail: user{i:05}@geo.test\ndepartment: Lab {}\nuserAccountControl: 544\n\n",
            i % 7
        ));
        members.push_str(&format!("member: {dn}\n"));
    }
    let group = format!("CN=bench-editors,{ou}");
    ldif.push_str(&format!(
        "dn: {group}\nobjectClass: group\nsAMAccountName: bench-editors\n{members}\n"
    ));
    let started = Instant::now();
    ad_add(peers, &ldif);
    eprintln!(
        "AD: {users} users and a group of {users} added in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    (ou, group)
}

fn write_manifest(dir: &Path, peers: &Peers, ou: &str, group: &str) {
    let manifest = format!(
        r#"[ldap]
url = "{url}"
bind_dn = "{admin}"
bind_password = {{ env = "LDAP_ADMIN_PW" }}
base_dn = "{base}"

[[ldap.org]]
name = "LAB"

[[ldap.role]]
name = "GN_EDITOR"

[ldap.active_directory]
url = "{ad_url}"
bind_dn = "{ad_admin}"
bind_password = {{ env = "AD_ADMIN_PW" }}
ca_file = "{ca}"
base_dns = ["{ou}"]
realm = "GEO.TEST"
org = "LAB"

[ldap.active_directory.groups]
"{group}" = "GN_EDITOR"
"#,
        url = peers.get("GEOSYNC_TEST_LDAP_URL"),
        admin = peers.get("GEOSYNC_TEST_LDAP_ADMIN"),
        base = peers.get("GEOSYNC_TEST_LDAP_BASE"),
        ad_url = peers.get("GEOSYNC_TEST_AD_URL"),
        ad_admin = peers.get("GEOSYNC_TEST_AD_ADMIN"),
        ca = peers.get("GEOSYNC_TEST_AD_CA"),
    );
    std::fs::write(dir.join("geosync.toml"), manifest).unwrap();
}

/// The floor: the same two reads with ldapsearch, paged, one after the other.
fn write_floor(dir: &Path, peers: &Peers, ou: &str) -> String {
    let attrs = "objectGUID sAMAccountName userAccountControl cn givenName sn displayName mail telephoneNumber company department";
    let script = format!(
        "set -e\n\
         LDAPTLS_CACERT='{ca}' ldapsearch -x -LLL -E pr=500/noprompt -H '{ad_url}' -D '{ad_admin}' -w \"$AD_ADMIN_PW\" -b '{ou}' '(&(objectClass=user)(objectCategory=person))' {attrs} >/dev/null\n\
         ldapsearch -x -LLL -E pr=500/noprompt -H '{url}' -D '{admin}' -w \"$LDAP_ADMIN_PW\" -b 'ou=users,{base}' '(objectClass=person)' '*' >/dev/null\n",
        ca = peers.get("GEOSYNC_TEST_AD_CA"),
        ad_url = peers.get("GEOSYNC_TEST_AD_URL"),
        ad_admin = peers.get("GEOSYNC_TEST_AD_ADMIN"),
        url = peers.get("GEOSYNC_TEST_LDAP_URL"),
        admin = peers.get("GEOSYNC_TEST_LDAP_ADMIN"),
        base = peers.get("GEOSYNC_TEST_LDAP_BASE"),
    );
    let path = dir.join("floor.sh");
    std::fs::write(&path, script).unwrap();
    path.display().to_string()
}

fn main() {
    let users: usize = std::env::var("GEOSYNC_BENCH_USERS")
        .ok()
        .and_then(|u| u.parse().ok())
        .unwrap_or(5000);
    let peers = Peers::start();
    std::env::set_var("LDAP_ADMIN_PW", peers.get("GEOSYNC_TEST_LDAP_ADMIN_PASSWORD"));
    std::env::set_var("AD_ADMIN_PW", peers.get("GEOSYNC_TEST_AD_ADMIN_PASSWORD"));
    let (ou, group) = populate_ad(&peers, users);
    let dir = tempfile::tempdir().unwrap();
    write_manifest(dir.path(), &peers, &ou, &group);
    let geosync = env!("CARGO_BIN_EXE_geosync");

    // First import: every user created, then the USER, LAB and GN_EDITOR
    // member values (3 modifies, each adding {users} values), plus the org
    // and role entries themselves.
    let started = Instant::now();
    let output = Command::new(geosync)
        .args(["apply", "--auto-approve", "-q"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let import = started.elapsed();
    assert!(
        output.status.success(),
        "the first import failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let operations = users + 3 + 3;
    let members = Command::new("ldapsearch")
        .args(["-x", "-LLL", "-H", peers.get("GEOSYNC_TEST_LDAP_URL")])
        .args([
            "-D",
            peers.get("GEOSYNC_TEST_LDAP_ADMIN"),
            "-w",
            peers.get("GEOSYNC_TEST_LDAP_ADMIN_PASSWORD"),
        ])
        .args([
            "-b",
            &format!("cn=GN_EDITOR,ou=roles,{}", peers.get("GEOSYNC_TEST_LDAP_BASE")),
            "-s",
            "base",
            "member",
        ])
        .output()
        .unwrap();
    let count = String::from_utf8_lossy(&members.stdout)
        .matches("member: uid=user")
        .count();
    assert_eq!(
        count, users,
        "every member of the AD group (read in ranges of 1,500) has the role"
    );

    let (plan, plan_rss) = measure(&[geosync, "plan", "--detailed-exitcode", "-q"], dir.path(), RUNS);
    let floor_script = write_floor(dir.path(), &peers, &ou);
    let (floor, floor_rss) = measure(&["bash", &floor_script], dir.path(), RUNS);

    println!("LDAP: {users} AD users and their {users} geOrchestra entries; median of {RUNS} runs, peak RSS");
    println!("{:<52} {:>9} {:>10}", "tool", "time", "peak RSS");
    let row = |name: &str, time: std::time::Duration, rss: i64| {
        println!(
            "{name:<52} {:>7.0}ms {:>7.1}MiB",
            time.as_secs_f64() * 1000.0,
            rss as f64 / 1024.0
        )
    };
    println!(
        "{:<52} {:>7.0}ms",
        "geosync apply, first import",
        import.as_secs_f64() * 1000.0
    );
    row("geosync plan, no-op", plan, plan_rss);
    row("ldapsearch paged dumps, AD then slapd (floor)", floor, floor_rss);
    println!(
        "first import: {operations} LDAP write operations in {:.1}s = {:.0} ops/s",
        import.as_secs_f64(),
        operations as f64 / import.as_secs_f64()
    );
    println!(
        "ratio geosync plan / floor: {:.2}",
        plan.as_secs_f64() / floor.as_secs_f64()
    );
}
