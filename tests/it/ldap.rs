//! geOrchestra's OpenLDAP: roles, orgs and the manifest's users
//! (pseudo-users), against the real slapd of tests/peers/slapd.sh. Each test
//! works in a branch of its own (`ou=<unique>,dc=georchestra,dc=org` with
//! ou=users, ou=roles, ou=orgs, and a console-made USER role).

use std::io::Write;

use base64::Engine;
use std::process::{Command, Stdio};

use crate::support::{peer_env, unique, Workspace};

/// A test's own part of the directory.
pub struct Dit {
    pub base: String,
}

impl Dit {
    /// The branch, with a USER role and a user made "in the console"
    /// (no geosync marker) who is a member of it.
    pub fn new() -> Dit {
        let name = unique("t");
        let base = format!("ou={name},{}", peer_env("GEOSYNC_TEST_LDAP_BASE"));
        ldap_add(&format!(
            "dn: {base}\nobjectClass: organizationalUnit\nou: {name}\n\n\
             dn: ou=users,{base}\nobjectClass: organizationalUnit\nou: users\n\n\
             dn: ou=roles,{base}\nobjectClass: organizationalUnit\nou: roles\n\n\
             dn: ou=orgs,{base}\nobjectClass: organizationalUnit\nou: orgs\n\n\
             dn: uid=console,ou=users,{base}\nobjectClass: inetOrgPerson\nuid: console\ncn: console\nsn: console\n\n\
             dn: cn=USER,ou=roles,{base}\nobjectClass: groupOfMembers\nobjectClass: georchestraRole\ncn: USER\n\
             description: console's\nmember: uid=console,ou=users,{base}\n"
        ));
        Dit { base }
    }

    pub fn users(&self) -> String {
        format!("ou=users,{}", self.base)
    }

    pub fn user_dn(&self, uid_rdn: &str) -> String {
        format!("uid={uid_rdn},ou=users,{}", self.base)
    }

    /// The `[ldap]` connection lines, the admin password from $LDAP_ADMIN_PW.
    pub fn connection(&self) -> String {
        format!(
            "[ldap]\nurl = \"{}\"\nbind_dn = \"{}\"\nbind_password = {{ env = \"LDAP_ADMIN_PW\" }}\nbase_dn = \"{}\"\n",
            peer_env("GEOSYNC_TEST_LDAP_URL"),
            peer_env("GEOSYNC_TEST_LDAP_ADMIN"),
            self.base
        )
    }

    /// A workspace holding `manifest` as m.toml, with the admin password.
    pub fn workspace(&self, manifest: &str) -> Workspace {
        let mut ws = Workspace::new();
        ws.set_env("LDAP_ADMIN_PW", &peer_env("GEOSYNC_TEST_LDAP_ADMIN_PASSWORD"));
        ws.write("m.toml", manifest);
        ws
    }

    /// Values of `attr` on the entry `dn` (empty when absent or no entry).
    pub fn values(&self, dn: &str, attr: &str) -> Vec<String> {
        let out = ldap_tool(
            "ldapsearch",
            &["-LLL", "-o", "ldif-wrap=no", "-s", "base", "-b", dn, attr],
            None,
        );
        let plain = format!("{}: ", attr.to_lowercase());
        let encoded = format!("{}:: ", attr.to_lowercase());
        out.lines()
            .filter_map(|l| {
                let lower = l.to_lowercase();
                if lower.starts_with(&plain) {
                    Some(l[plain.len()..].to_string())
                } else if lower.starts_with(&encoded) {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(&l[encoded.len()..])
                        .unwrap();
                    Some(String::from_utf8_lossy(&bytes).into_owned())
                } else {
                    None
                }
            })
            .collect()
    }

    pub fn exists(&self, dn: &str) -> bool {
        let output = admin_command("ldapsearch", &["-LLL", "-s", "base", "-b", dn, "dn"])
            .output()
            .unwrap();
        output.status.success()
    }
}

fn admin_command(tool: &str, args: &[&str]) -> Command {
    let mut command = Command::new(tool);
    command
        .args(["-x", "-H", &peer_env("GEOSYNC_TEST_LDAP_URL")])
        .args(["-D", &peer_env("GEOSYNC_TEST_LDAP_ADMIN")])
        .args(["-w", &peer_env("GEOSYNC_TEST_LDAP_ADMIN_PASSWORD")])
        .args(args);
    command
}

/// Runs an ldap-utils tool as the rootdn; panics with its output on failure.
pub fn ldap_tool(tool: &str, args: &[&str], stdin: Option<&str>) -> String {
    let mut child = admin_command(tool, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.unwrap_or("").as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{tool} {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn ldap_add(ldif: &str) {
    ldap_tool("ldapadd", &[], Some(ldif));
}

/// Whether `dn` can bind with `password` (ldapwhoami).
pub fn can_bind(dn: &str, password: &str) -> bool {
    Command::new("ldapwhoami")
        .args([
            "-x",
            "-H",
            &peer_env("GEOSYNC_TEST_LDAP_URL"),
            "-D",
            dn,
            "-w",
            password,
        ])
        .output()
        .unwrap()
        .status
        .success()
}

const OUVERT_PW: &str = "ouvert-Secret-7f3a9";
const RESTREINT_PW: &str = "restreint-Secret-c81e2";

fn pseudo_users(dit: &Dit) -> String {
    format!(
        r#"{conn}
[[ldap.role]]
name = "GEOSYNC_OPEN"
description = "Open data of the lab"

[[ldap.org]]
name = "MSHE"
title = "MSHE Claude-Nicolas Ledoux"

[[ldap.user]]
uid = "georchestra-ouvert"
org = "MSHE"
roles = ["USER", "GEOSYNC_OPEN"]
mail = "ouvert@mshe.example"
password = {{ env = "OUVERT_PW" }}

[[ldap.user]]
uid = "georchestra-restreint"
org = "MSHE"
roles = ["USER"]
password = {{ env = "RESTREINT_PW" }}
"#,
        conn = dit.connection()
    )
}

fn pseudo_workspace(dit: &Dit) -> Workspace {
    let mut ws = dit.workspace(&pseudo_users(dit));
    ws.set_env("OUVERT_PW", OUVERT_PW);
    ws.set_env("RESTREINT_PW", RESTREINT_PW);
    ws
}

fn assert_no_secret(text: &str) {
    for secret in [
        OUVERT_PW,
        RESTREINT_PW,
        &peer_env("GEOSYNC_TEST_LDAP_ADMIN_PASSWORD"),
    ] {
        assert!(!text.contains(secret), "a secret was printed:\n{text}");
    }
}

#[test]
fn pseudo_users_with_roles_and_org_converge_then_nothing_changes() {
    let dit = Dit::new();
    let ws = pseudo_workspace(&dit);
    let plan = ws.geosync(&["plan", "-f", "m.toml", "--detailed-exitcode"]);
    plan.assert_code(2);
    assert!(
        plan.stdout.contains("+ ldap.user:georchestra-ouvert"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("userPassword: (sensitive)"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("~ ldap.role:USER"), "{}", plan.stdout);
    assert_no_secret(&plan.all());

    let apply = ws.geosync(&["apply", "-f", "m.toml", "--auto-approve"]);
    apply.assert_code(0);
    assert_no_secret(&apply.all());

    let ouvert = dit.user_dn("georchestra-ouvert");
    let mut member_of = dit.values(&ouvert, "memberOf");
    member_of.sort();
    let base = &dit.base;
    assert_eq!(
        member_of,
        vec![
            format!("cn=GEOSYNC_OPEN,ou=roles,{base}"),
            format!("cn=MSHE,ou=orgs,{base}"),
            format!("cn=USER,ou=roles,{base}"),
        ]
    );
    assert!(can_bind(&ouvert, OUVERT_PW));
    assert!(can_bind(&dit.user_dn("georchestra-restreint"), RESTREINT_PW));
    // The password is stored hashed by slapd, never as given.
    let stored = dit.values(&ouvert, "userPassword");
    assert!(stored.iter().all(|v| !v.contains(OUVERT_PW)));
    // The console's member of USER is still there, its description untouched.
    let role = format!("cn=USER,ou=roles,{base}");
    assert!(dit.values(&role, "member").contains(&dit.user_dn("console")));
    assert_eq!(dit.values(&role, "description"), vec!["console's"]);
    assert!(dit.exists(&format!("o=MSHE,ou=orgs,{base}")));
    assert_eq!(dit.values(&ouvert, "employeeType"), vec!["geosync:manifest"]);

    let again = ws.geosync(&["plan", "-f", "m.toml", "--detailed-exitcode"]);
    again.assert_code(0);
    assert!(again.stdout.contains("No changes"), "{}", again.stdout);
}

#[test]
fn password_drift_is_found_by_binding_and_set_again() {
    let dit = Dit::new();
    let ws = pseudo_workspace(&dit);
    ws.geosync(&["apply", "-f", "m.toml", "--auto-approve"])
        .assert_code(0);
    let ouvert = dit.user_dn("georchestra-ouvert");
    ldap_tool("ldappasswd", &["-s", "changed-by-hand", &ouvert], None);
    assert!(!can_bind(&ouvert, OUVERT_PW));

    let plan = ws.geosync(&["plan", "-f", "m.toml", "--detailed-exitcode", "--json"]);
    plan.assert_code(2);
    assert_no_secret(&plan.all());
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let pending: Vec<&serde_json::Value> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no_op")
        .collect();
    assert_eq!(pending.len(), 1, "{}", plan.stdout);
    assert_eq!(pending[0]["address"], "ldap.user:georchestra-ouvert");
    assert_eq!(pending[0]["fields"][0]["name"], "userPassword");
    assert_eq!(pending[0]["fields"][0]["sensitive"], true);
    assert!(pending[0]["fields"][0].get("after").is_none());

    let apply = ws.geosync(&["apply", "-f", "m.toml", "--auto-approve"]);
    apply.assert_code(0);
    assert_no_secret(&apply.all());
    assert!(can_bind(&ouvert, OUVERT_PW));
    ws.geosync(&["plan", "-f", "m.toml", "--detailed-exitcode"])
        .assert_code(0);
}

#[test]
fn entries_made_in_the_console_are_left_alone_and_pruning_takes_only_geosyncs() {
    let dit = Dit::new();
    // A console user with the uid the manifest wants.
    ldap_add(&format!(
        "dn: {}\nobjectClass: inetOrgPerson\nuid: georchestra-restreint\ncn: by hand\nsn: hand\n",
        dit.user_dn("georchestra-restreint")
    ));
    let ws = pseudo_workspace(&dit);
    let plan = ws.geosync(&["plan", "-f", "m.toml"]);
    plan.assert_code(0);
    assert!(plan.all().contains("is not geosync's"), "{}", plan.all());
    ws.geosync(&["apply", "-f", "m.toml", "--auto-approve"])
        .assert_code(0);
    let restreint = dit.user_dn("georchestra-restreint");
    assert_eq!(dit.values(&restreint, "cn"), vec!["by hand"]);
    assert!(dit.values(&restreint, "employeeType").is_empty());
    assert!(!dit
        .values(&format!("cn=USER,ou=roles,{}", dit.base), "member")
        .contains(&restreint));

    // georchestra-ouvert leaves the manifest: kept without --prune, deleted with it.
    let without = pseudo_users(&dit).replace("uid = \"georchestra-ouvert\"", "uid = \"georchestra-other\"");
    ws.write("m.toml", &without);
    let kept = ws.geosync(&["apply", "-f", "m.toml", "--auto-approve"]);
    kept.assert_code(0);
    assert!(kept.all().contains("--prune deletes it"), "{}", kept.all());
    let ouvert = dit.user_dn("georchestra-ouvert");
    assert!(dit.exists(&ouvert));
    ws.geosync(&["apply", "-f", "m.toml", "--auto-approve", "--prune"])
        .assert_code(0);
    assert!(!dit.exists(&ouvert));
    assert!(dit.exists(&restreint), "the console's user is never pruned");
    assert!(dit.exists(&dit.user_dn("console")));
    let members = dit.values(&format!("cn=USER,ou=roles,{}", dit.base), "member");
    assert!(!members.contains(&ouvert) && members.contains(&dit.user_dn("console")));
}

#[test]
fn names_with_commas_plus_signs_accents_and_a_leading_hash_are_escaped() {
    let dit = Dit::new();
    let manifest = format!(
        r##"{conn}
[[ldap.role]]
name = "GÉO, éditeurs+1"

[[ldap.org]]
name = "#Zoé & Cie, Lyon"

[[ldap.user]]
uid = "#dupont, jean+x"
org = "#Zoé & Cie, Lyon"
roles = ["GÉO, éditeurs+1"]
given_name = "Jean"
sn = "Dupont, Jr"
"##,
        conn = dit.connection()
    );
    let ws = dit.workspace(&manifest);
    ws.geosync(&["apply", "-f", "m.toml", "--auto-approve"])
        .assert_code(0);
    let out = ldap_tool(
        "ldapsearch",
        &[
            "-LLL",
            "-o",
            "ldif-wrap=no",
            "-b",
            &dit.users(),
            "(uid=#dupont, jean+x)",
            "uid",
            "memberOf",
        ],
        None,
    );
    // One entry, its DN escaped as RFC 4514 says, its uid as written.
    assert!(
        out.starts_with("dn: uid=\\23dupont\\2C jean\\2Bx,ou=users,"),
        "{out}"
    );
    assert!(out.contains("\nuid: #dupont, jean+x\n"), "{out}");
    let member_of = ldap_tool(
        "ldapsearch",
        &["-LLL", "-b", &dit.users(), "(uid=#dupont, jean+x)", "memberOf"],
        None,
    );
    assert_eq!(member_of.matches("memberOf").count(), 2, "{member_of}");
    let roles = ldap_tool(
        "ldapsearch",
        &[
            "-LLL",
            "-b",
            &format!("ou=roles,{}", dit.base),
            "(cn=GÉO, éditeurs+1)",
            "cn",
        ],
        None,
    );
    assert!(roles.contains("dn"), "{roles}");
    ws.geosync(&["plan", "-f", "m.toml", "--detailed-exitcode"])
        .assert_code(0);
}

#[test]
fn a_role_no_one_declared_or_made_is_a_clear_error() {
    let dit = Dit::new();
    let manifest = format!(
        "{}\n[[ldap.user]]\nuid = \"u1\"\norg = \"NOWHERE\"\nroles = [\"USER\"]\n",
        dit.connection()
    );
    let ws = dit.workspace(&manifest);
    let plan = ws.geosync(&["plan", "-f", "m.toml"]);
    plan.assert_code(1);
    assert!(
        plan.stderr.contains("ldap.org:NOWHERE") && plan.stderr.contains("neither declared"),
        "{}",
        plan.stderr
    );
    assert!(!dit.exists(&dit.user_dn("u1")));
}
