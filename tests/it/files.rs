//! `[[file]]` resources, and what happens to the secrets they use.

use crate::support::{listing, Workspace};

const SECRET: &str = "s3cret-Ldap-Bind-pw";

fn manifest() -> &'static str {
    r#"
[vars]
ldap_host = "ldap.example.org"

[[file]]
name = "saslauthd"
path = "etc/saslauthd.conf"
template = "templates/saslauthd.conf.j2"
mode = "0640"
context = { search_base = "dc=lab,dc=example" }
secrets = { bind_pw = { env = "GEOSYNC_TEST_BIND_PW" } }
"#
}

const TEMPLATE: &str = "ldap_servers: ldap://{{ vars.ldap_host }}\nldap_search_base: {{ context.search_base }}\nldap_bind_pw: {{ secrets.bind_pw }}\n";

fn workspace() -> Workspace {
    let mut ws = Workspace::new();
    ws.write("geosync.toml", manifest());
    ws.write("templates/saslauthd.conf.j2", TEMPLATE);
    ws.set_env("GEOSYNC_TEST_BIND_PW", SECRET);
    ws
}

#[test]
fn secret_reaches_the_file_and_nothing_else() {
    let mut ws = workspace();
    let plan = ws.geosync(&["plan", "--json", "--out", "plan.json"]);
    plan.assert_code(0);
    ws.geosync(&["plan"]).assert_code(0);
    let apply = ws.geosync(&["apply", "--auto-approve"]);
    apply.assert_code(0);

    let written = ws.read("etc/saslauthd.conf");
    assert!(
        written.contains(&format!("ldap_bind_pw: {SECRET}\n")),
        "{written}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(ws.join("etc/saslauthd.conf"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o640);

    assert!(
        apply.stdout.contains("+ldap_bind_pw: (sensitive)"),
        "{}",
        apply.stdout
    );
    for (what, text) in [
        ("plan output", plan.all()),
        ("saved plan", ws.read("plan.json")),
        ("apply output", apply.all()),
        ("journal", ws.read(".geosync/journal.jsonl")),
    ] {
        assert!(!text.contains(SECRET), "the secret leaked into the {what}");
    }

    // A new secret value is a change, shown without either value: the old
    // one is no longer known to geosync, so the lines it replaces are hidden.
    ws.set_env("GEOSYNC_TEST_BIND_PW", "another-Secret-value");
    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    assert!(
        plan.stdout
            .contains("-(line hidden: the file holds secrets)\n      +ldap_bind_pw: (sensitive)\n"),
        "{}",
        plan.stdout
    );
    assert!(!plan.all().contains(SECRET) && !plan.all().contains("another-Secret-value"));
    ws.set_env("GEOSYNC_TEST_BIND_PW", SECRET);
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
}

#[test]
fn a_missing_secret_stops_everything_before_anything_is_touched() {
    let mut ws = workspace();
    ws.set_env("GEOSYNC_TEST_BIND_PW", "");
    let run = ws.geosync(&["apply", "--auto-approve"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains(
            "geosync.toml:11:23: file:saslauthd: secrets.bind_pw: secret { env = \"GEOSYNC_TEST_BIND_PW\" } is not available: environment variable GEOSYNC_TEST_BIND_PW is empty"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(listing(ws.path()), ["geosync.toml", "templates"]);
}

#[test]
fn a_secret_file_is_read_relative_to_the_manifest() {
    let ws = Workspace::new();
    ws.write(
        "conf/geosync.toml",
        &manifest().replace(
            "{ env = \"GEOSYNC_TEST_BIND_PW\" }",
            "{ file = \"../secrets/bind_pw\" }",
        ),
    );
    ws.write("conf/templates/saslauthd.conf.j2", TEMPLATE);
    ws.write("secrets/bind_pw", &format!("{SECRET}\n"));
    let run = ws.geosync(&["apply", "-f", "conf/geosync.toml", "--auto-approve"]);
    run.assert_code(0);
    assert!(ws
        .read("conf/etc/saslauthd.conf")
        .contains(&format!("ldap_bind_pw: {SECRET}\n")));
    assert!(!run.all().contains(SECRET));
}

#[test]
fn a_literal_secret_is_refused_without_being_echoed() {
    let ws = workspace();
    ws.write(
        "geosync.toml",
        &manifest().replace("{ env = \"GEOSYNC_TEST_BIND_PW\" }", &format!("\"{SECRET}\"")),
    );
    let run = ws.geosync(&["validate"]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("geosync.toml:11:23: a literal secret is refused here"),
        "{}",
        run.stderr
    );
    assert!(!run.all().contains(SECRET), "{}", run.stderr);
}

#[test]
fn a_failure_stops_only_what_it_fails_and_a_rerun_converges() {
    let ws = workspace();
    ws.write("blocker", "a file where a directory should be");
    let manifest = format!(
        "{}\n[[file]]\nname = \"broken\"\npath = \"blocker/x.conf\"\ncontent = \"x\"\n\n[[file]]\nname = \"fine\"\npath = \"etc/fine.conf\"\ncontent = \"fine\"\n",
        manifest()
    );
    ws.write("geosync.toml", &manifest);
    let run = ws.geosync(&["apply", "--auto-approve"]);
    run.assert_code(1);
    assert!(
        run.stdout.contains("FAILED     file:broken: cannot write"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("done       file:fine"), "{}", run.stdout);
    assert!(
        run.stdout.contains("Apply incomplete: 2 succeeded, 1 failed"),
        "{}",
        run.stdout
    );
    assert_eq!(ws.read("etc/fine.conf"), "fine");
    let journal = ws.read(".geosync/journal.jsonl");
    assert!(journal.contains(r#""address":"file:broken""#) && journal.contains(r#""outcome":"failed""#));

    std::fs::remove_file(ws.join("blocker")).unwrap();
    let rerun = ws.geosync(&["apply", "--auto-approve"]);
    rerun.assert_code(0);
    assert!(rerun
        .stdout
        .contains("Plan: 1 to create, 0 to update, 0 to replace, 0 to delete, 2 unchanged."));
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
}
