//! `geosync schema` stays in step with the loader: every example manifest
//! validates against it, and every mutant of them (an unknown key added to
//! any table, any value changed to another type) is refused by the schema
//! exactly when `geosync validate` refuses it.

use std::path::Path;

use serde_json::Value;

use crate::support::Workspace;

const EXAMPLES: &[&str] = &[
    "mviewer.toml",
    "postgres.toml",
    "georchestra.toml",
    "geonetwork.toml",
    "geoserver.toml",
];

fn schema(ws: &Workspace) -> jsonschema::Validator {
    let run = ws.geosync(&["schema"]);
    run.assert_code(0);
    let schema: Value = serde_json::from_str(&run.stdout).expect("geosync schema prints JSON");
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

/// A workspace holding a copy of manifests/ (the env files they read).
fn examples() -> Workspace {
    let ws = Workspace::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests");
    for entry in walk(&root) {
        let relative = entry.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
        ws.write(
            &format!("manifests/{relative}"),
            &std::fs::read_to_string(&entry).unwrap(),
        );
    }
    ws
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn as_json(toml_text: &str) -> Value {
    let value: toml::Table = toml::from_str(toml_text).expect("an example is TOML");
    serde_json::to_value(value).unwrap()
}

/// Every key of every table says what it is, for an editor to show.
#[test]
fn every_key_is_described() {
    let run = Workspace::new().geosync(&["schema"]);
    let schema: Value = serde_json::from_str(&run.stdout).unwrap();
    let mut tables = vec![("the top level".to_string(), &schema)];
    for (name, definition) in schema["$defs"].as_object().unwrap() {
        tables.push((name.clone(), definition));
    }
    let mut undescribed = Vec::new();
    for (table, definition) in tables {
        for (key, property) in definition["properties"].as_object().into_iter().flatten() {
            if property["description"].as_str().is_none_or(str::is_empty) {
                undescribed.push(format!("{table}.{key}"));
            }
        }
    }
    assert!(
        undescribed.is_empty(),
        "keys without a description: {undescribed:?}"
    );
}

#[test]
fn every_example_manifest_validates_against_the_schema() {
    let ws = examples();
    let validator = schema(&ws);
    let mut texts: Vec<(String, String)> = EXAMPLES
        .iter()
        .map(|name| (name.to_string(), ws.read(&format!("manifests/{name}"))))
        .collect();
    texts.push((
        "the tests' Mviewer manifest".into(),
        crate::mviewer::manifest("Portail"),
    ));
    for (name, text) in texts {
        let problems: Vec<String> = validator
            .iter_errors(&as_json(&text))
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(problems.is_empty(), "{name}: {problems:#?}");
    }
}

#[test]
fn the_schema_refuses_what_the_loader_refuses() {
    let ws = examples();
    let validator = schema(&ws);
    let mut disagreements = Vec::new();
    let mut count = 0;
    for name in EXAMPLES {
        let original: toml::Table = toml::from_str(&ws.read(&format!("manifests/{name}"))).unwrap();
        for (what, mutant) in mutants(&original) {
            count += 1;
            let text = toml::to_string(&mutant).unwrap();
            ws.write("manifests/mutant.toml", &text);
            let loader = ws.geosync(&["validate", "-f", "manifests/mutant.toml"]);
            let schema_ok = validator.is_valid(&serde_json::to_value(&mutant).unwrap());
            if (loader.code == 0) != schema_ok {
                disagreements.push(format!(
                    "{name}, {what}: loader {}, schema {}\n{}",
                    if loader.code == 0 { "accepts" } else { "refuses" },
                    if schema_ok { "accepts" } else { "refuses" },
                    loader.stderr
                ));
            }
        }
    }
    assert!(count > 300, "only {count} mutants");
    assert!(
        disagreements.is_empty(),
        "{} of {count} mutants:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

/// Each table with an unknown key added, each value of another type.
fn mutants(table: &toml::Table) -> Vec<(String, toml::Table)> {
    let mut out = Vec::new();
    let root = toml::Value::Table(table.clone());
    for path in paths(&root, Vec::new()) {
        // A variable may hold any scalar; what it is used for is checked
        // where it is used (a volume that must be declared…), beyond a schema.
        if path.len() == 2 && path[0] == "vars" {
            continue;
        }
        let mut mutant = root.clone();
        let node = at(&mut mutant, &path);
        let what = match node {
            toml::Value::Table(t) => {
                t.insert("geosync_unknown_key".into(), toml::Value::Integer(1));
                format!("unknown key in {}", show(&path))
            }
            toml::Value::String(_) => {
                *node = toml::Value::Integer(1);
                format!("{} = 1", show(&path))
            }
            toml::Value::Array(_) => continue,
            other => {
                *other = toml::Value::String("x".into());
                format!("{} = \"x\"", show(&path))
            }
        };
        if let toml::Value::Table(t) = mutant {
            out.push((what, t));
        }
    }
    out
}

/// Where every node is: keys of tables, indexes of arrays.
fn paths(value: &toml::Value, here: Vec<String>) -> Vec<Vec<String>> {
    let mut out = vec![here.clone()];
    let children: Vec<(String, &toml::Value)> = match value {
        toml::Value::Table(t) => t.iter().map(|(k, v)| (k.clone(), v)).collect(),
        toml::Value::Array(a) => a.iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect(),
        _ => Vec::new(),
    };
    for (key, child) in children {
        let mut next = here.clone();
        next.push(key);
        out.extend(paths(child, next));
    }
    out
}

fn at<'a>(value: &'a mut toml::Value, path: &[String]) -> &'a mut toml::Value {
    path.iter().fold(value, |node, key| match node {
        toml::Value::Table(t) => t.get_mut(key).unwrap(),
        toml::Value::Array(a) => &mut a[key.parse::<usize>().unwrap()],
        _ => unreachable!("a path goes through tables and arrays"),
    })
}

fn show(path: &[String]) -> String {
    if path.is_empty() {
        "the top level".into()
    } else {
        path.join(".")
    }
}

/// Keys whose values the loader checks against a list: the schema knows
/// the list (and lets a `${var}` through, as the loader checks it expanded).
#[test]
fn the_schema_knows_the_values_a_key_takes() {
    let ws = Workspace::new();
    let validator = schema(&ws);
    let docker = |container: &str| {
        format!(
            "[vars]\np = \"never\"\n\n[docker]\nproject = \"cli\"\n\n[[docker.container]]\nname = \"db\"\nimage = \"busybox\"\n\n[[docker.container]]\nname = \"web\"\nimage = \"busybox\"\n{container}\n"
        )
    };
    let postgres = |settings: &str, rule: &str| {
        format!("[postgres]\nhost = \"127.0.0.1\"\n{settings}\n\n[[postgres.hba]]\ntype = \"host\"\ndatabase = \"all\"\nuser = \"all\"\naddress = \"127.0.0.1/32\"\n{rule}\n")
    };
    let cases = [
        (docker("pull = \"always\""), true),
        (docker("pull = \"sometimes\""), false),
        (docker("pull = \"${p}\""), true),
        (docker("restart = \"on-failure:3\""), true),
        (docker("restart = \"sometimes\""), false),
        (docker("depends_on = { db = \"healthy\" }"), true),
        (docker("depends_on = { db = \"ready\" }"), false),
        (
            postgres("sslmode = \"require\"", "method = \"scram-sha-256\""),
            true,
        ),
        (
            postgres("sslmode = \"verify\"", "method = \"scram-sha-256\""),
            false,
        ),
        (postgres("", "method = \"scram\""), false),
        (
            crate::mviewer::manifest("Portail").replace("type = \"WMS\"", "type = \"WMSS\""),
            false,
        ),
    ];
    for (text, valid) in cases {
        ws.write("geosync.toml", &text);
        let loader = ws.geosync(&["validate"]);
        assert_eq!(loader.code == 0, valid, "loader on\n{text}\n{}", loader.stderr);
        assert_eq!(validator.is_valid(&as_json(&text)), valid, "schema on\n{text}");
    }
}
