//! `[geonetwork]` groups through the real geosync binary, against the
//! GeoNetwork emulator (tests/emulators/geonetwork): create from empty,
//! no-op second plan, change, removal under policy, a 5xx mid-apply then
//! a re-run that converges, and the password never printed.

use axum::http::Method;
use serde_json::Value;

use crate::gn_emulator::GeoNetworkEmulator;
use crate::support::{unique, Workspace};

const USER: &str = "admin";
/// If this shows in any output, a secret leaked.
const CANARY: &str = "canary-GN-pw-4c1e8b2f";

fn workspace(emu: &GeoNetworkEmulator, groups: &str) -> Workspace {
    let mut ws = Workspace::new();
    ws.set_env("GEOSYNC_TEST_GN_PW", CANARY);
    write_manifest(&ws, emu, groups);
    ws
}

fn write_manifest(ws: &Workspace, emu: &GeoNetworkEmulator, groups: &str) {
    let manifest = format!(
        "[geonetwork]\nurl = \"{}\"\nuser = \"{USER}\"\npassword = {{ env = \"GEOSYNC_TEST_GN_PW\" }}\nretries = 0\n\n{groups}",
        emu.url
    );
    ws.write("geosync.toml", &manifest);
}

fn two_groups(a: &str, b: &str) -> String {
    format!(
        r#"[[geonetwork.group]]
name = "{a}"
description = "Données ouvertes de l'observatoire"
email = "sig@example.org"

[[geonetwork.group]]
name = "{b}"
label = {{ fre = "Données restreintes", eng = "Restricted data" }}
"#
    )
}

fn plan_json(ws: &Workspace, extra: &[&str]) -> Value {
    let mut args = vec!["plan", "--json"];
    args.extend_from_slice(extra);
    let run = ws.geosync(&args);
    assert!(run.code == 0 || run.code == 2, "{}{}", run.stdout, run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

fn actions(plan: &Value) -> Vec<(String, String)> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["address"].to_string(),
                c["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn groups_are_created_then_left_alone_then_changed() {
    let emu = GeoNetworkEmulator::start(USER, CANARY);
    let (a, b) = (unique("geosync ouvert"), unique("geosync-restreint"));
    let ws = workspace(&emu, &two_groups(&a, &b));

    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    assert!(plan.stdout.contains("2 to create"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains(&format!("geonetwork.group:{a}")),
        "{}",
        plan.stdout
    );
    let json = plan_json(&ws, &[]);
    assert!(json["changes"][0]["reason"]["code"] == "absent", "{json}");
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);

    let ga = emu.group_named(&a).expect("group a created");
    assert_eq!(ga["description"], "Données ouvertes de l'observatoire");
    assert_eq!(ga["email"], "sig@example.org");
    assert_eq!(
        ga["labelTranslations"]["eng"],
        a.as_str(),
        "GeoNetwork labels it by its name"
    );
    let gb = emu.group_named(&b).expect("group b created");
    assert_eq!(gb["labelTranslations"]["fre"], "Données restreintes");
    assert_eq!(gb["labelTranslations"]["ger"], b.as_str());

    // Nothing to do, and no write was made to find that out.
    let before = emu.requests().len();
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
    let reads = &emu.requests()[before..];
    assert_eq!(reads, ["GET /geonetwork/srv/api/groups"], "one list call");

    // What an administrator set by hand outside the manifest stays.
    let id = gb["id"].as_i64().unwrap();
    emu.with(|s| s.groups.get_mut(&id).unwrap()["website"] = "https://sig.example.org".into());
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);

    let changed = two_groups(&a, &b).replace("sig@example.org", "geomatique@example.org");
    write_manifest(&ws, &emu, &changed);
    let json = plan_json(&ws, &[]);
    let update: Vec<_> = actions(&json)
        .into_iter()
        .filter(|(_, act)| act == "update")
        .collect();
    assert_eq!(update.len(), 1, "{json}");
    let fields = &json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "update")
        .unwrap()["fields"];
    assert_eq!(fields[0]["name"], "email");
    assert_eq!(fields[0]["before"], "sig@example.org");
    assert_eq!(fields[0]["after"], "geomatique@example.org");
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let ga = emu.group_named(&a).unwrap();
    assert_eq!(ga["email"], "geomatique@example.org");
    assert_eq!(
        ga["description"], "Données ouvertes de l'observatoire",
        "the rest of the group is kept"
    );
    assert_eq!(emu.group_named(&b).unwrap()["website"], "https://sig.example.org");
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
    // The applies journalled their changes; the password is in none of it.
    let written = files_under(ws.path());
    assert!(
        written.iter().any(|f| f.to_string_lossy().contains(".geosync")),
        "{written:?}"
    );
    for file in written {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(!text.contains(CANARY), "{} holds the password", file.display());
    }
}

#[test]
fn a_group_is_removed_only_when_declared_absent_and_allowed() {
    let emu = GeoNetworkEmulator::start(USER, CANARY);
    let (a, b) = (unique("gn_keep"), unique("gn_drop"));
    let ws = workspace(&emu, &two_groups(&a, &b));
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);

    let absent = two_groups(&a, &b).replace(
        &format!("name = \"{b}\"\n"),
        &format!("name = \"{b}\"\nensure = \"absent\"\n"),
    );
    write_manifest(&ws, &emu, &absent);
    // Without --allow-drop: kept, with a warning.
    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(0);
    assert!(plan.all().contains("--allow-drop"), "{}", plan.all());
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    assert!(emu.group_named(&b).is_some());

    // A group holding privileges on a record: GeoNetwork refuses, and so
    // the apply fails and says why, without forcing.
    let id = emu.group_named(&b).unwrap()["id"].as_i64().unwrap();
    emu.with(|s| {
        let record = crate::gn_emulator::Record {
            id: 7,
            xml: String::new(),
            owner_group: None,
            privileges: [(id, ["view".to_string()].into())].into(),
        };
        s.records.insert("r-1".into(), record);
    });
    let refused = ws.geosync(&["apply", "--auto-approve", "--allow-drop"]);
    refused.assert_code(1);
    assert!(
        refused.all().contains("has privileges associated with 1 record"),
        "{}",
        refused.all()
    );
    assert!(
        refused.all().contains("DELETE http://127.0.0.1:"),
        "{}",
        refused.all()
    );
    assert!(emu.group_named(&b).is_some());

    emu.with(|s| s.records.clear());
    let plan = plan_json(&ws, &["--allow-drop"]);
    assert!(
        actions(&plan).contains(&(format!("\"geonetwork.group:{b}\""), "delete".into())),
        "{plan}"
    );
    ws.geosync(&["apply", "--auto-approve", "--allow-drop"])
        .assert_code(0);
    assert!(emu.group_named(&b).is_none());
    assert!(emu.group_named(&a).is_some());
    ws.geosync(&["plan", "--detailed-exitcode", "--allow-drop"])
        .assert_code(0);
}

#[test]
fn a_5xx_mid_apply_then_a_rerun_converges() {
    let emu = GeoNetworkEmulator::start(USER, CANARY);
    let names: Vec<String> = (0..4).map(|i| unique(&format!("gn_batch{i}"))).collect();
    let groups: String = names
        .iter()
        .map(|n| format!("[[geonetwork.group]]\nname = \"{n}\"\n\n"))
        .collect();
    let ws = workspace(&emu, &groups);
    // One of the creates fails: GeoNetwork (or its proxy) answers 503.
    emu.fail_next(Method::PUT, "/srv/api/groups", 503, 1);
    let failed = ws.geosync(&["apply", "--auto-approve"]);
    failed.assert_code(1);
    assert!(failed.all().contains("HTTP 503"), "{}", failed.all());
    let created = names.iter().filter(|n| emu.group_named(n).is_some()).count();
    assert_eq!(created, 3, "the other creates went on");

    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    assert!(plan.stdout.contains("1 to create"), "{}", plan.stdout);
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    assert!(names.iter().all(|n| emu.group_named(n).is_some()));
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
    // Exactly one group each: nothing was created twice.
    let total = emu.with(|s| {
        s.groups
            .values()
            .filter(|g| names.iter().any(|n| g["name"] == n.as_str()))
            .count()
    });
    assert_eq!(total, 4);
}

#[test]
fn the_password_is_never_printed() {
    let emu = GeoNetworkEmulator::start(USER, "another-password");
    let name = unique("gn_canary");
    let ws = workspace(&emu, &format!("[[geonetwork.group]]\nname = \"{name}\"\n"));
    // GeoNetwork refuses the credentials: the error names the request only.
    let plan = ws.geosync(&["plan"]);
    plan.assert_code(1);
    assert!(plan.all().contains("HTTP 401"), "{}", plan.all());
    let json = ws.geosync(&["plan", "--json"]);
    let apply = ws.geosync(&["apply", "--auto-approve"]);
    for run in [&plan, &json, &apply] {
        assert!(!run.all().contains(CANARY), "{}", run.all());
    }
    // Nor in anything the runs wrote (journal, lock, state).
    for file in files_under(ws.path()) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(CANARY),
            "{} holds the password",
            file.display()
        );
    }
    // A wrong URL with credentials in it is refused without echoing them.
    let mut ws = Workspace::new();
    ws.set_env("GEOSYNC_TEST_GN_PW", CANARY);
    ws.write(
        "geosync.toml",
        &format!("[geonetwork]\nurl = \"http://admin:{CANARY}@127.0.0.1:1/geonetwork\"\n"),
    );
    let validate = ws.geosync(&["validate"]);
    validate.assert_code(1);
    assert!(
        validate.all().contains("must not hold credentials"),
        "{}",
        validate.all()
    );
    assert!(!validate.all().contains(CANARY), "{}", validate.all());
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn reserved_and_duplicate_groups_are_refused_at_validate() {
    let ws = Workspace::new();
    ws.write(
        "geosync.toml",
        "[geonetwork]\nurl = \"http://127.0.0.1:1/geonetwork\"\n\n[[geonetwork.group]]\nname = \"all\"\n\n[[geonetwork.group]]\nname = \"x\"\n\n[[geonetwork.group]]\nname = \"x\"\n\n[[geonetwork.group]]\nname = \" padded\"\n",
    );
    let run = ws.geosync(&["validate"]);
    run.assert_code(1);
    let all = run.all();
    assert!(all.contains("reserved groups"), "{all}");
    assert!(all.contains("geonetwork.group:x is already defined"), "{all}");
    assert!(all.contains("leading or trailing spaces"), "{all}");
    assert!(
        all.contains("geosync.toml:"),
        "errors name the file and line: {all}"
    );
}
