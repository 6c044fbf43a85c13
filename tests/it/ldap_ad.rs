//! Users imported from Active Directory: the real Samba AD DC of
//! tests/peers/samba.sh (over LDAPS, certificate checked against the test
//! CA) into the real slapd. Each test has its own OU in AD and its own
//! branch in the directory.

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine;

use crate::ldap::Dit;
use crate::support::{peer_env, unique, Run, Workspace};

/// A test's own OU in AD.
struct Ad {
    ou: String,
    /// Appended to account names: sAMAccountName is unique in the domain.
    tag: String,
}

/// Runs an ldap-utils tool against AD as Administrator.
fn ad_tool(tool: &str, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(tool)
        .env("LDAPTLS_CACERT", peer_env("GEOSYNC_TEST_AD_CA"))
        .args(["-x", "-H", &peer_env("GEOSYNC_TEST_AD_URL")])
        .args(["-D", &peer_env("GEOSYNC_TEST_AD_ADMIN")])
        .args(["-w", &peer_env("GEOSYNC_TEST_AD_ADMIN_PASSWORD")])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn ad_change(tool: &str, ldif: &str) {
    let (ok, text) = ad_tool(tool, &[], ldif);
    assert!(ok, "{tool}: {text}\n{ldif}");
}

/// unicodePwd: the password in quotes, UTF-16LE, base64.
fn unicode_pwd(password: &str) -> String {
    let bytes: Vec<u8> = format!("\"{password}\"")
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub const AD_USER_PW: &str = "Ad-Passw0rd-9x!";

impl Ad {
    fn new() -> Ad {
        let name = unique("gs");
        let ou = format!("OU={name},{}", peer_env("GEOSYNC_TEST_AD_BASE"));
        ad_change(
            "ldapadd",
            &format!("dn: {ou}\nobjectClass: organizationalUnit\nou: {name}\n"),
        );
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let tag = format!("{:x}", (nanos / 1000) % 0xfffff);
        Ad { ou, tag }
    }

    /// An account name of this test (at most 20 characters).
    fn sam(&self, base: &str) -> String {
        format!("{base}{}", self.tag)
    }

    fn user_dn(&self, cn: &str) -> String {
        format!("CN={cn},{}", self.ou)
    }

    /// An enabled user with a password; `extra` are more LDIF lines.
    fn user(&self, sam: &str, extra: &str) -> String {
        let dn = self.user_dn(sam);
        ad_change(
            "ldapadd",
            &format!(
                "dn: {dn}\nobjectClass: user\nsAMAccountName: {sam}\ngivenName: {sam}\nsn: {sam}-sn\n{extra}\
                 unicodePwd:: {}\nuserAccountControl: 512\n",
                unicode_pwd(AD_USER_PW)
            ),
        );
        dn
    }

    /// Users with a mail address (what an import needs), one per
    /// sAMAccountName; their DNs.
    fn users_with_mail<S: AsRef<str>>(&self, sams: &[S]) -> Vec<String> {
        sams.iter()
            .map(|u| self.user(u.as_ref(), &format!("mail: {}@geo.test\n", u.as_ref())))
            .collect()
    }

    fn group(&self, name: &str, members: &[&str]) -> String {
        let dn = format!("CN={name},{}", self.ou);
        let mut ldif = format!(
            "dn: {dn}\nobjectClass: group\nsAMAccountName: {}\n",
            self.sam(name)
        );
        for member in members {
            ldif.push_str(&format!("member: {member}\n"));
        }
        ad_change("ldapadd", &ldif);
        dn
    }

    fn modify(&self, dn: &str, changes: &str) {
        ad_change(
            "ldapmodify",
            &format!("dn: {dn}\nchangetype: modify\n{changes}\n"),
        );
    }

    fn delete(&self, dn: &str) {
        ad_change("ldapdelete", &format!("{dn}\n"));
    }
}

/// The manifest: an org LAB, the role GN_EDITOR, and the AD source.
fn manifest(dit: &Dit, ad: &Ad, extra_ad: &str, groups: &str) -> String {
    format!(
        r#"{conn}
protected = ["{keeper}"]

[[ldap.org]]
name = "LAB"

[[ldap.role]]
name = "GN_EDITOR"

[ldap.active_directory]
url = "{url}"
bind_dn = "{admin}"
bind_password = {{ env = "AD_ADMIN_PW" }}
ca_file = "{ca}"
base_dns = ["{ou}"]
realm = "GEO.TEST"
org = "LAB"
page_size = 2
{extra_ad}
[ldap.active_directory.groups]
{groups}
"#,
        conn = dit.connection(),
        url = peer_env("GEOSYNC_TEST_AD_URL"),
        admin = peer_env("GEOSYNC_TEST_AD_ADMIN"),
        ca = peer_env("GEOSYNC_TEST_AD_CA"),
        ou = ad.ou,
        keeper = ad.sam("keeper"),
    )
}

fn workspace(dit: &Dit, manifest: &str) -> Workspace {
    let mut ws = dit.workspace(manifest);
    ws.set_env("AD_ADMIN_PW", &peer_env("GEOSYNC_TEST_AD_ADMIN_PASSWORD"));
    ws
}

fn apply(ws: &Workspace, extra: &[&str]) -> Run {
    let mut args = vec!["apply", "-f", "m.toml", "--auto-approve"];
    args.extend_from_slice(extra);
    let run = ws.geosync(&args);
    assert!(!run.all().contains(&peer_env("GEOSYNC_TEST_AD_ADMIN_PASSWORD")));
    run
}

fn no_op(ws: &Workspace) {
    ws.geosync(&["plan", "-f", "m.toml", "--detailed-exitcode"])
        .assert_code(0);
}

fn sorted(mut values: Vec<String>) -> Vec<String> {
    values.sort();
    values
}

#[test]
fn ad_users_are_imported_then_follow_changes_renames_and_groups() {
    let (dit, ad) = (Dit::new(), Ad::new());
    let (a, b, c, r) = (ad.sam("alice"), ad.sam("bob"), ad.sam("carol"), ad.sam("robert"));
    let alice = ad.user(&a, "mail: alice@geo.test\ndepartment: GIS\n");
    let bob = ad.user(&b, "mail: bob@geo.test\n");
    ad.user(&c, "");
    let editors = ad.group("Editors", &[&bob]);
    let ws = workspace(
        &dit,
        &manifest(&dit, &ad, "", &format!("\"{editors}\" = \"GN_EDITOR\"")),
    );

    let plan = ws.geosync(&["plan", "-f", "m.toml"]);
    plan.assert_code(0);
    assert!(
        plan.stdout
            .contains(&format!("+ ldap.user:{a} (create: new in AD)")),
        "{}",
        plan.stdout
    );
    assert!(plan.all().contains("has no mail"), "{}", plan.all());
    apply(&ws, &[]).assert_code(0);

    let alice_dn = dit.user_dn(&a);
    assert_eq!(
        dit.values(&alice_dn, "userPassword"),
        vec![format!("{{SASL}}{a}@GEO.TEST")]
    );
    assert_eq!(
        dit.values(&alice_dn, "employeeType"),
        vec!["geosync:active-directory"]
    );
    assert_eq!(dit.values(&alice_dn, "businessCategory"), vec!["GIS"]);
    assert_eq!(dit.values(&alice_dn, "sn"), vec![format!("{a}-sn")]);
    assert_eq!(dit.values(&alice_dn, "georchestraObjectIdentifier").len(), 1);
    let base = dit.base.clone();
    assert_eq!(
        sorted(dit.values(&dit.user_dn(&b), "memberOf")),
        vec![
            format!("cn=GN_EDITOR,ou=roles,{base}"),
            format!("cn=LAB,ou=orgs,{base}"),
            format!("cn=USER,ou=roles,{base}"),
        ]
    );
    assert!(!dit.exists(&dit.user_dn(&c)), "no mail: skipped");
    no_op(&ws);

    // A changed attribute follows AD.
    ad.modify(&alice, "replace: department\ndepartment: Cartography");
    let plan = ws.geosync(&["plan", "-f", "m.toml"]);
    assert!(
        plan.stdout
            .contains(&format!("~ ldap.user:{a} (update: changed in AD)")),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("\"GIS\" -> \"Cartography\""),
        "{}",
        plan.stdout
    );
    apply(&ws, &[]).assert_code(0);
    assert_eq!(dit.values(&alice_dn, "businessCategory"), vec!["Cartography"]);

    // A rename in AD (same objectGUID) is a rename here, memberships kept.
    ad.modify(&bob, &format!("replace: sAMAccountName\nsAMAccountName: {r}"));
    let plan = ws.geosync(&["plan", "-f", "m.toml"]);
    assert!(
        plan.stdout.contains(&format!("~ ldap.user:{r}")),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(&format!("\"{b}\" -> \"{r}\"")),
        "{}",
        plan.stdout
    );
    apply(&ws, &[]).assert_code(0);
    let robert = dit.user_dn(&r);
    assert!(!dit.exists(&dit.user_dn(&b)));
    assert_eq!(
        dit.values(&robert, "userPassword"),
        vec![format!("{{SASL}}{r}@GEO.TEST")]
    );
    assert_eq!(
        dit.values(&robert, "memberOf").len(),
        3,
        "{:?}",
        dit.values(&robert, "memberOf")
    );
    no_op(&ws);

    // Leaving the AD group takes the role away.
    ad.modify(&editors, &format!("delete: member\nmember: {bob}"));
    apply(&ws, &[]).assert_code(0);
    assert_eq!(dit.values(&robert, "memberOf").len(), 2);
    no_op(&ws);
}

#[test]
fn accounts_disabled_or_gone_from_ad_follow_the_policies_and_protected_ones_stay() {
    let (dit, ad) = (Dit::new(), Ad::new());
    let names: Vec<String> = ["u1", "u2", "u3", "keeper"].iter().map(|u| ad.sam(u)).collect();
    let users = ad.users_with_mail(&names);
    let uid = |i: usize| dit.user_dn(&names[i]);
    let with = |policy: &str| {
        manifest(
            &dit,
            &ad,
            &format!("max_removal_percent = 100\non_removed = \"{policy}\"\n"),
            "",
        )
    };
    let ws = workspace(&dit, &with("disable"));
    apply(&ws, &[]).assert_code(0);
    let user_role = format!("cn=USER,ou=roles,{}", dit.base);
    assert!(dit.values(&user_role, "member").contains(&uid(0)));

    // Disabled in AD: disabled here (expired, out of its roles, in its org).
    ad.modify(&users[0], "replace: userAccountControl\nuserAccountControl: 514");
    // Gone from AD under on_removed = "disable".
    ad.delete(&users[1]);
    // A protected user gone from AD stays as it is.
    ad.delete(&users[3]);
    let plan = ws.geosync(&["plan", "-f", "m.toml"]);
    let says = |text: &str| plan.stdout.contains(text);
    assert!(
        says(&format!("~ ldap.user:{} (update: disabled in AD", names[0])),
        "{}",
        plan.stdout
    );
    assert!(
        says(&format!("~ ldap.user:{} (update: left AD", names[1])),
        "{}",
        plan.stdout
    );
    assert!(plan.all().contains("protected"), "{}", plan.all());
    apply(&ws, &[]).assert_code(0);
    for i in [0, 1] {
        assert_eq!(dit.values(&uid(i), "shadowExpire"), vec!["1"], "{i}");
        assert!(!dit.values(&user_role, "member").contains(&uid(i)), "{i}");
        assert_eq!(dit.values(&uid(i), "memberOf").len(), 1, "still in its org");
    }
    assert!(dit.exists(&uid(3)));
    assert!(dit.values(&uid(3), "shadowExpire").is_empty());
    no_op(&ws);

    // on_removed = "keep": u3 leaves AD and stays as it is.
    ad.delete(&users[2]);
    ws.write("m.toml", &with("keep"));
    no_op(&ws);
    assert!(dit.values(&uid(2), "shadowExpire").is_empty());

    // on_removed = "delete": u2 and u3 (gone from AD) are deleted.
    ws.write("m.toml", &with("delete"));
    let plan = ws.geosync(&["plan", "-f", "m.toml"]);
    let deleting = format!("- ldap.user:{} (delete: left AD", names[2]);
    assert!(plan.stdout.contains(&deleting), "{}", plan.stdout);
    apply(&ws, &[]).assert_code(0);
    assert!(!dit.exists(&uid(1)) && !dit.exists(&uid(2)));
    assert!(dit.exists(&uid(0)) && dit.exists(&uid(3)));
    assert!(
        dit.exists(&dit.user_dn("console")),
        "console users are never touched"
    );
    no_op(&ws);
}

#[test]
fn removals_above_the_threshold_are_refused_without_allow_drop() {
    let (dit, ad) = (Dit::new(), Ad::new());
    let names: Vec<String> = (1..=5).map(|i| ad.sam(&format!("t{i}"))).collect();
    let users = ad.users_with_mail(&names);
    let ws = workspace(
        &dit,
        &manifest(
            &dit,
            &ad,
            "on_removed = \"delete\"\nmax_removal_percent = 20\n",
            "",
        ),
    );
    apply(&ws, &[]).assert_code(0);
    ad.delete(&users[0]);
    ad.delete(&users[1]);
    let plan = ws.geosync(&["plan", "-f", "m.toml"]);
    plan.assert_code(1);
    assert!(plan.stderr.contains("2 of 5 imported users"), "{}", plan.stderr);
    assert!(plan.stderr.contains("--allow-drop"), "{}", plan.stderr);
    apply(&ws, &[]).assert_code(1);
    assert!(dit.exists(&dit.user_dn(&names[0])) && dit.exists(&dit.user_dn(&names[1])));
    apply(&ws, &["--allow-drop"]).assert_code(0);
    assert!(!dit.exists(&dit.user_dn(&names[0])) && !dit.exists(&dit.user_dn(&names[1])));
    no_op(&ws);
}

#[test]
fn an_unreachable_ad_or_a_refused_bind_is_a_clear_error_and_changes_nothing() {
    let (dit, ad) = (Dit::new(), Ad::new());
    let x1 = ad.sam("x1");
    ad.user(&x1, "mail: x1@geo.test\n");
    let good = manifest(&dit, &ad, "", "");
    let mut ws = workspace(
        &dit,
        &good.replace("ldaps://127.0.0.1:636", "ldaps://127.0.0.1:1"),
    );
    let run = apply(&ws, &[]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("Active Directory source; nothing was changed"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("cannot connect to ldaps://127.0.0.1:1"),
        "{}",
        run.stderr
    );

    ws.write("m.toml", &good);
    ws.set_env("AD_ADMIN_PW", "not-the-password");
    let run = apply(&ws, &[]);
    run.assert_code(1);
    assert!(run.stderr.contains("invalid credentials"), "{}", run.stderr);
    assert!(!run.all().contains("not-the-password"));

    // Certificates are checked: without the test CA, the system's CAs refuse AD's.
    ws.set_env("AD_ADMIN_PW", &peer_env("GEOSYNC_TEST_AD_ADMIN_PASSWORD"));
    let ca_line = format!("ca_file = \"{}\"\n", peer_env("GEOSYNC_TEST_AD_CA"));
    ws.write("m.toml", &good.replace(&ca_line, ""));
    let run = apply(&ws, &[]);
    run.assert_code(1);
    assert!(run.stderr.contains("Active Directory"), "{}", run.stderr);
    let refused = "ldaps://127.0.0.1:636: its TLS certificate does not verify against the system's CA";
    assert!(run.stderr.contains(refused), "{}", run.stderr);
    // Nothing happened in the directory: not even the declared org and role.
    assert!(!dit.exists(&format!("cn=LAB,ou=orgs,{}", dit.base)));
    assert!(!dit.exists(&dit.user_dn(&x1)));

    // Skipping verification is possible, and said loudly.
    ws.write("m.toml", &good.replace(&ca_line, "tls_skip_verify = true\n"));
    let run = apply(&ws, &[]);
    run.assert_code(0);
    assert!(
        run.all().contains("TLS certificate verification is OFF"),
        "{}",
        run.all()
    );
    assert!(dit.exists(&dit.user_dn(&x1)));
}

/// The line of the plan that removes members from a role, if any.
fn member_removal(plan: &str) -> Option<&str> {
    plan.lines().find(|l| l.contains("member -"))
}

/// AD's effective membership: G-LabGIS holds `direct` and the group
/// G-Inner, G-Inner holds `inner` and G-Deeper, G-Deeper holds `deep` and,
/// closing a cycle, G-LabGIS. A group holding G-LabGIS (not held by it)
/// gives nothing.
#[test]
fn members_of_nested_ad_groups_get_the_role_and_lose_it_when_they_leave() {
    let (dit, ad) = (Dit::new(), Ad::new());
    let [d, i, deep, o] = ["direct", "inner", "deep", "other"].map(|u| ad.sam(u));
    let users = ad.users_with_mail(&[&d, &i, &deep, &o]);
    let deeper = ad.group("G-Deeper", &[&users[2]]);
    let inner = ad.group("G-Inner", &[&users[1], &deeper]);
    let lab = ad.group("G-LabGIS", &[&users[0], &inner]);
    ad.modify(&deeper, &format!("add: member\nmember: {lab}"));
    ad.group("G-Parent", &[&users[3], &lab]);
    let mapped = format!("\"{lab}\" = \"GN_EDITOR\"");
    let ws = workspace(&dit, &manifest(&dit, &ad, "", &mapped));

    apply(&ws, &[]).assert_code(0);
    let role = format!("cn=GN_EDITOR,ou=roles,{}", dit.base);
    let has_role = |uid: &str| dit.values(&dit.user_dn(uid), "memberOf").contains(&role);
    assert!(has_role(&d) && has_role(&i) && has_role(&deep), "nested members");
    assert!(
        dit.exists(&dit.user_dn(&o)) && !has_role(&o),
        "a parent group's member"
    );
    assert_eq!(
        sorted(dit.values(&role, "member")),
        sorted([&d, &i, &deep].iter().map(|u| dit.user_dn(u)).collect())
    );
    no_op(&ws);

    // Leaving the inner group takes the role away at the next apply.
    ad.modify(&inner, &format!("delete: member\nmember: {}", users[1]));
    let plan = ws.geosync(&["plan", "-f", "m.toml"]);
    plan.assert_code(0);
    assert!(plan.stdout.contains("~ ldap.role:GN_EDITOR"), "{}", plan.stdout);
    let removal = member_removal(&plan.stdout).unwrap_or_default();
    assert!(
        removal.contains(&i) && !removal.contains(&deep),
        "{}",
        plan.stdout
    );
    apply(&ws, &[]).assert_code(0);
    assert!(!has_role(&i) && has_role(&deep) && has_role(&d));
    no_op(&ws);

    // nested_groups = false: direct members only.
    ws.write("m.toml", &manifest(&dit, &ad, "nested_groups = false\n", &mapped));
    let plan = ws.geosync(&["plan", "-f", "m.toml"]);
    let removal = member_removal(&plan.stdout).unwrap_or_default();
    assert!(
        removal.contains(&deep) && !removal.contains(&d),
        "{}",
        plan.stdout
    );
    apply(&ws, &[]).assert_code(0);
    assert!(has_role(&d) && !has_role(&deep));
    no_op(&ws);
}

/// A group bigger than `member_range` is read in several ranged reads
/// (`member;range=0-4`, `5-9`, then `10-*`), as a group bigger than
/// MaxValRange is on AD: every member gets the role, and a member leaving
/// is seen wherever it was in the group.
#[test]
fn a_group_read_in_several_ranges_gives_every_member_the_role() {
    let (dit, ad) = (Dit::new(), Ad::new());
    let names: Vec<String> = (1..=12).map(|i| ad.sam(&format!("m{i:02}"))).collect();
    let users = ad.users_with_mail(&names);
    let big = ad.group("G-Big", &users.iter().map(String::as_str).collect::<Vec<_>>());
    let mapped = format!("\"{big}\" = \"GN_EDITOR\"");
    let ws = workspace(&dit, &manifest(&dit, &ad, "member_range = 5\n", &mapped));

    apply(&ws, &[]).assert_code(0);
    let role = format!("cn=GN_EDITOR,ou=roles,{}", dit.base);
    let every = sorted(names.iter().map(|u| dit.user_dn(u)).collect());
    assert_eq!(sorted(dit.values(&role, "member")), every);
    no_op(&ws);

    // Steps ending exactly on the last member (12 = 3 x 4), and one read
    // for all: the same members, nothing to change.
    for range in ["member_range = 4\n", "member_range = 1500\n"] {
        ws.write("m.toml", &manifest(&dit, &ad, range, &mapped));
        no_op(&ws);
    }

    // Each member leaving is seen, whichever range it was read in.
    ws.write("m.toml", &manifest(&dit, &ad, "member_range = 5\n", &mapped));
    for gone in [&users[1], &users[11]] {
        ad.modify(&big, &format!("delete: member\nmember: {gone}"));
    }
    let plan = ws.geosync(&["plan", "-f", "m.toml"]);
    let removal = member_removal(&plan.stdout).unwrap_or_default();
    assert!(
        removal.contains(&names[1]) && removal.contains(&names[11]) && !removal.contains(&names[5]),
        "{}",
        plan.stdout
    );
    apply(&ws, &[]).assert_code(0);
    assert_eq!(dit.values(&role, "member").len(), 10);
    no_op(&ws);

    ws.write("m.toml", &manifest(&dit, &ad, "member_range = 0\n", &mapped));
    let run = ws.geosync(&["plan", "-f", "m.toml"]);
    run.assert_code(1);
    let bounds = "[ldap.active_directory]: `member_range` must be between 1 and 100000";
    assert!(run.stderr.contains(bounds), "{}", run.stderr);
}

/// A mapped group that AD no longer has (renamed, moved, deleted) stops
/// the plan with the mapping's line: read as an empty group it would take
/// the role from every member. An empty group that exists is no error.
#[test]
fn a_mapped_group_missing_from_ad_stops_the_plan_and_members_keep_the_role() {
    let (dit, ad) = (Dit::new(), Ad::new());
    let (a, b) = (ad.sam("ann"), ad.sam("ben"));
    let users = ad.users_with_mail(&[&a, &b]);
    let editors = ad.group("Editors", &[&users[0], &users[1]]);
    let empty = ad.group("Empty", &[]);
    let mapped = format!("\"{empty}\" = \"GN_EDITOR\"\n\"{editors}\" = \"GN_EDITOR\"");
    let text = manifest(&dit, &ad, "", &mapped);
    let line = 1 + text
        .lines()
        .position(|l| l.starts_with(&format!("\"{editors}\"")))
        .unwrap();
    let ws = workspace(&dit, &text);
    apply(&ws, &[]).assert_code(0);
    let role = format!("cn=GN_EDITOR,ou=roles,{}", dit.base);
    let both = sorted(vec![dit.user_dn(&a), dit.user_dn(&b)]);
    assert_eq!(sorted(dit.values(&role, "member")), both);

    ad.delete(&editors);
    for run in [ws.geosync(&["plan", "-f", "m.toml"]), apply(&ws, &[])] {
        run.assert_code(1);
        for part in [
            format!("m.toml:{line}:"),
            format!("the AD group {editors} is not in AD"),
            "ldaps://127.0.0.1:636 has no group at that DN".to_string(),
            "nothing was changed".to_string(),
        ] {
            assert!(run.stderr.contains(&part), "{part} in:\n{}", run.stderr);
        }
    }
    assert_eq!(sorted(dit.values(&role, "member")), both);

    // A user's DN mapped by mistake is no group either: it must not read
    // as an empty one.
    ws.write("m.toml", &text.replace(&editors, &users[0]));
    let run = apply(&ws, &[]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains(&format!("the AD group {} is not in AD", users[0])),
        "{}",
        run.stderr
    );
    assert_eq!(sorted(dit.values(&role, "member")), both);
}

#[test]
fn a_mapped_group_emptied_in_ad_stops_the_plan_unless_allow_drop() {
    let (dit, ad) = (Dit::new(), Ad::new());
    let sams: Vec<String> = (0..6).map(|i| ad.sam(&format!("m{i}"))).collect();
    let users = ad.users_with_mail(&sams);
    let members: Vec<&str> = users.iter().map(String::as_str).collect();
    let editors = ad.group("Editors", &members);
    let ws = workspace(
        &dit,
        &manifest(&dit, &ad, "", &format!("\"{editors}\" = \"GN_EDITOR\"")),
    );
    apply(&ws, &[]).assert_code(0);
    let role = format!("cn=GN_EDITOR,ou=roles,{}", dit.base);
    assert_eq!(dit.values(&role, "member").len(), 6);

    // One member leaving is ordinary: it goes through.
    ad.modify(&editors, &format!("delete: member\nmember: {}", users[0]));
    apply(&ws, &[]).assert_code(0);
    assert_eq!(dit.values(&role, "member").len(), 5);
    // The group emptied (by mistake, in AD): all five would lose the role.
    let rest: String = users[1..].iter().map(|u| format!("member: {u}\n")).collect();
    ad.modify(&editors, &format!("delete: member\n{rest}"));
    for run in [ws.geosync(&["plan", "-f", "m.toml"]), apply(&ws, &[])] {
        run.assert_code(1);
        assert!(
            run.stderr
                .contains("role GN_EDITOR would be taken from 5 of its 5 members that geosync manages"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(dit.values(&role, "member").len(), 5);
    apply(&ws, &["--allow-drop"]).assert_code(0);
    assert!(dit.values(&role, "member").is_empty());
}

/// An other CA than the one that signed AD's certificate, made here.
fn other_ca(ws: &Workspace) -> String {
    let path = ws.join("other-ca.pem");
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=not the AD CA", "-keyout"])
        .arg(ws.join("other-ca.key"))
        .arg("-out")
        .arg(&path)
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success());
    path.display().to_string()
}

/// ldap:// on 389 with StartTLS: the peer refuses a simple bind without
/// TLS, so an import that works went through StartTLS.
#[test]
fn an_import_over_starttls_checks_the_certificate_and_says_what_to_fix() {
    let (dit, ad) = (Dit::new(), Ad::new());
    let s = ad.sam("tls");
    ad.user(&s, &format!("mail: {s}@geo.test\n"));
    let url = |u: &str| format!("url = \"{u}\"");
    let ldaps = url(&peer_env("GEOSYNC_TEST_AD_URL"));
    let starttls = url(&peer_env("GEOSYNC_TEST_AD_STARTTLS_URL"));
    let server = format!("{} (StartTLS)", peer_env("GEOSYNC_TEST_AD_STARTTLS_URL"));
    let good = manifest(&dit, &ad, "starttls = true\n", "").replace(&ldaps, &starttls);
    let ca = peer_env("GEOSYNC_TEST_AD_CA");
    let mut ws = workspace(&dit, &good);
    let refused = |ws: &Workspace, expected: &[&str]| {
        let run = apply(ws, &[]);
        run.assert_code(1);
        for text in expected {
            assert!(run.stderr.contains(text), "{text}: {}", run.stderr);
        }
        assert!(
            !dit.exists(&format!("cn=LAB,ou=orgs,{}", dit.base)),
            "nothing changed"
        );
        assert!(!dit.exists(&dit.user_dn(&s)));
    };

    let wrong = other_ca(&ws);
    ws.write("m.toml", &good.replace(&ca, &wrong));
    let against = format!("does not verify against the CA file {wrong}");
    refused(&ws, &[&server, &against, "ca_file must hold the CA certificate"]);
    ws.write("m.toml", &good.replace(&ca, "no-such-ca.pem"));
    // The path as geosync opened it: relative to the manifest's folder.
    let unreadable = "cannot read the CA certificates no-such-ca.pem (ca_file)";
    refused(&ws, &[&server, unreadable]);
    let no_ca = good.replace(&format!("ca_file = \"{ca}\"\n"), "");
    ws.write("m.toml", &no_ca);
    refused(&ws, &[&server, "the system's CA certificates", "set ca_file"]);
    // A server without TLS (the test slapd) answers StartTLS with a refusal.
    let slapd = peer_env("GEOSYNC_TEST_LDAP_URL");
    ws.write("m.toml", &good.replace(&starttls, &url(&slapd)));
    refused(
        &ws,
        &[
            &format!("{slapd} (StartTLS) refused StartTLS"),
            "use its ldaps:// URL",
        ],
    );
    ws.write("m.toml", &good.replace("starttls = true\n", ""));
    refused(&ws, &["strong(er) authentication required", "starttls = true"]);
    ws.write("m.toml", &good);
    ws.set_env("AD_ADMIN_PW", "not-the-password");
    let run = apply(&ws, &[]);
    run.assert_code(1);
    assert!(run.stderr.contains("invalid credentials"), "{}", run.stderr);
    assert!(!run.all().contains("not-the-password"));

    ws.set_env("AD_ADMIN_PW", &peer_env("GEOSYNC_TEST_AD_ADMIN_PASSWORD"));
    apply(&ws, &[]).assert_code(0);
    assert_eq!(
        dit.values(&dit.user_dn(&s), "userPassword"),
        vec![format!("{{SASL}}{s}@GEO.TEST")]
    );
    no_op(&ws);
}

/// A saslauthd started by a test, stopped when dropped.
struct Saslauthd(std::process::Child);

impl Drop for Saslauthd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// saslauthd.conf and slapd's SASL config rendered by geosync from
/// templates/sasl/, saslauthd run with the first: an imported user binds to
/// slapd with the password AD knows, and with no other.
#[test]
fn an_imported_user_binds_to_slapd_with_the_ad_password_through_saslauthd() {
    let (dit, ad) = (Dit::new(), Ad::new());
    let sam = ad.sam("sasl");
    ad.user(&sam, &format!("mail: {sam}@geo.test\n"));
    let templates = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/sasl");
    let mux = peer_env("GEOSYNC_TEST_SASLAUTHD_MUX");
    let files = format!(
        r#"
[[file]]
name = "saslauthd.conf"
path = "sasl/saslauthd.conf"
template = "{templates}/saslauthd.conf.j2"
mode = "0600"
context = {{ ad_url = "{url}", search_base = "{ou}", bind_dn = "{admin}", ca_file = "{ca}" }}
secrets = {{ bind_password = {{ env = "AD_ADMIN_PW" }} }}

[[file]]
name = "slapd-sasl2"
path = "sasl/slapd.conf"
template = "{templates}/slapd.conf.j2"
context = {{ saslauthd_mux = "{mux}" }}
"#,
        url = peer_env("GEOSYNC_TEST_AD_URL"),
        ou = ad.ou,
        admin = peer_env("GEOSYNC_TEST_AD_ADMIN"),
        ca = peer_env("GEOSYNC_TEST_AD_CA"),
    );
    let ws = workspace(&dit, &format!("{}{files}", manifest(&dit, &ad, "", "")));
    let run = apply(&ws, &[]);
    run.assert_code(0);
    assert!(run.stdout.contains("+ file:saslauthd.conf"), "{}", run.stdout);
    // The slapd side: what the slapd peer was started with.
    assert_eq!(
        ws.read("sasl/slapd.conf")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>(),
        vec![
            "pwcheck_method: saslauthd".to_string(),
            format!("saslauthd_path: {mux}")
        ]
    );
    let conf = ws.join("sasl/saslauthd.conf");
    let mux_dir = std::path::Path::new(&mux).parent().unwrap();
    let _ = std::fs::remove_file(&mux);
    let child = Command::new("saslauthd")
        .args(["-a", "ldap", "-d", "-n", "0", "-O"])
        .arg(&conf)
        .arg("-m")
        .arg(mux_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("saslauthd (Debian sasl2-bin) starts");
    let _saslauthd = Saslauthd(child);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !std::path::Path::new(&mux).exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "saslauthd never opened {mux}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let user = dit.user_dn(&sam);
    assert!(
        crate::ldap::can_bind(&user, AD_USER_PW),
        "the AD password opens slapd"
    );
    assert!(!crate::ldap::can_bind(&user, "not-the-AD-password"));
    assert!(!crate::ldap::can_bind(&user, &format!("{{SASL}}{sam}@GEO.TEST")));
}
