//! What a hostile reader of plans, JSON output and journals can learn about
//! secrets: nothing, not even by testing guesses; and output stays whole
//! whatever the secrets are.

use sha2::{Digest, Sha256};

use crate::mviewer::manifest as mviewer_manifest;
use crate::pg::port;
use crate::support::{unique, Workspace};

const TEMPLATE: &str = "bind_dn: cn=admin\nbind_pw: {{ secrets.pw }}\n";

fn file_workspace(secret: &str) -> Workspace {
    let mut ws = Workspace::new();
    ws.write(
        "geosync.toml",
        "[[file]]\nname = \"sasl\"\npath = \"etc/sasl.conf\"\ntemplate = \"sasl.conf.j2\"\nmode = \"0600\"\nsecrets = { pw = { env = \"CORE_TEST_PW\" } }\n",
    );
    ws.write("sasl.conf.j2", TEMPLATE);
    ws.set_env("CORE_TEST_PW", secret);
    ws
}

/// The unkeyed digest an attacker would compute for a guess: the parts a
/// [[file]] change is made of, each length-prefixed, as geosync hashed them.
fn guess_digest(guess: &str, before: &str) -> String {
    let content = TEMPLATE.replace("{{ secrets.pw }}", guess);
    let modes = "None->Some(384)";
    let mut hash = Sha256::new();
    for part in ["file:sasl", "create", before, content.as_str(), modes] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    hex::encode(hash.finalize())
}

#[test]
fn a_guessed_secret_cannot_be_tested_against_a_plan_json_or_journal() {
    let secret = "georchestra2024";
    let ws = file_workspace(secret);
    ws.geosync(&["plan", "--out", "plan.json"]).assert_code(0);
    let json = ws.geosync(&["plan", "--json"]);
    json.assert_code(0);
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let written = [
        ws.read("plan.json"),
        json.stdout.clone(),
        ws.read(".geosync/journal.jsonl"),
    ]
    .join("\n");
    // The dictionary attack: a few words, a year, compared against
    // every digest written.
    for word in ["admin", "secret", "georchestra", "password", "geoserver"] {
        for guess in [word.to_string(), format!("{word}2024")] {
            assert!(
                !written.contains(&guess_digest(&guess, "")),
                "{guess} can be tested"
            );
        }
    }
    assert!(!written.contains(secret));
    // The digests are keyed with a key only the state directory's owner reads.
    use std::os::unix::fs::PermissionsExt;
    let key = std::fs::metadata(ws.join(".geosync/fingerprint.key")).unwrap();
    assert_eq!(key.permissions().mode() & 0o777, 0o600);
    let plan: serde_json::Value = serde_json::from_str(&ws.read("plan.json")).unwrap();
    let other = file_workspace(secret);
    let theirs: serde_json::Value = serde_json::from_str(&other.geosync(&["plan", "--json"]).stdout).unwrap();
    assert_ne!(
        plan["changes"][0]["fingerprint"], theirs["changes"][0]["fingerprint"],
        "the same inputs give the same digest without the key"
    );
}

#[test]
fn secrets_that_are_ordinary_words_never_corrupt_output() {
    let mut ws = Workspace::new();
    ws.write(
        "geosync.toml",
        &format!(
            "{}\n[[file]]\nname = \"f\"\npath = \"etc/f.conf\"\ntemplate = \"f.j2\"\nsecrets = {{ a = {{ env = \"CORE_A\" }}, b = {{ env = \"CORE_B\" }}, c = {{ env = \"CORE_C\" }} }}\n",
            mviewer_manifest("Portail")
        ),
    );
    ws.write(
        "f.j2",
        "a={{ secrets.a }}\nb={{ secrets.b }}\nc={{ secrets.c }}\nrole: update unchanged\n",
    );
    ws.set_env("CORE_A", "changed");
    ws.set_env("CORE_B", "role");
    ws.set_env("CORE_C", "update");
    ws.geosync(&["apply", "--auto-approve", "--only", "mviewer"])
        .assert_code(0);

    let plan = ws.geosync(&["plan", "-v"]);
    plan.assert_code(0);
    assert!(
        plan.stdout
            .contains("Plan: 1 to create, 0 to update, 0 to replace, 0 to delete, 1 unchanged."),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("+a=(sensitive)\n") && plan.stdout.contains("+role: update unchanged\n"));
    assert!(
        plan.stdout.contains("mviewer.app:salins (no change"),
        "{}",
        plan.stdout
    );
    let json = ws.geosync(&["plan", "--json"]);
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(parsed["summary"]["update"], 0, "{}", json.stdout);
    assert_eq!(parsed["changes"][0]["action"], "create", "{}", json.stdout);

    let apply = ws.geosync(&["apply", "--auto-approve"]);
    apply.assert_code(0);
    assert!(
        apply.stdout.contains("Apply complete: 1 change applied."),
        "{}",
        apply.stdout
    );
    for line in ws.read(".geosync/journal.jsonl").lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(record.get("event").is_some(), "{line}");
    }
}

#[test]
fn validate_warns_about_weak_secrets_by_reference_only() {
    let mut ws = file_workspace("georchestra2024");
    let run = ws.geosync(&["validate"]);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("warning: the secret { env = \"CORE_TEST_PW\" } is a common word or password"),
        "{}",
        run.stderr
    );
    assert!(!run.all().contains("georchestra2024"));
    ws.set_env("CORE_TEST_PW", "short");
    let run = ws.geosync(&["validate"]);
    assert!(
        run.stderr.contains("is shorter than 12 characters"),
        "{}",
        run.stderr
    );
    ws.set_env("CORE_TEST_PW", "Vq8#mT2!rL9zX4pW-kept-long");
    let run = ws.geosync(&["validate"]);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

#[test]
fn a_saved_plan_is_refused_when_a_secret_it_covers_changed() {
    let role = unique("core_pw");
    let mut ws = Workspace::new();
    ws.write(
        "geosync.toml",
        &format!(
            "[postgres]\nhost = \"127.0.0.1\"\nport = {}\n\n[[postgres.role]]\nname = \"{role}\"\nlogin = true\npassword = {{ env = \"CORE_ROLE_PW\" }}\n",
            port()
        ),
    );
    ws.set_env("CORE_ROLE_PW", "first-Secret-value-1");
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    ws.set_env("CORE_ROLE_PW", "second-Secret-value-2");
    ws.geosync(&["plan", "--out", "plan.json"]).assert_code(0);
    ws.set_env("CORE_ROLE_PW", "third-Secret-value-3");
    let run = ws.geosync(&["apply", "plan.json"]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("stale plan: the secret { env = \"CORE_ROLE_PW\" } changed since the plan was made"),
        "{}",
        run.stderr
    );
    // Nothing was applied: the first password still logs in.
    crate::pg::try_query(
        port(),
        "postgres",
        &role,
        Some("first-Secret-value-1"),
        "SELECT 1",
    )
    .expect("the role kept its password");
    ws.set_env("CORE_ROLE_PW", "second-Secret-value-2");
    ws.geosync(&["apply", "plan.json"]).assert_code(0);
    crate::pg::query(port(), "postgres", &format!("DROP ROLE \"{role}\""));
}
