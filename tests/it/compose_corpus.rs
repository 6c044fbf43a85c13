//! `geosync import-compose` on a corpus of real compose files written by
//! others (tests/fixtures/compose, origins in its SOURCES.md): each one
//! either imports into a manifest that validates and plans against the
//! real engine, or is refused with the service and the feature named.

use std::path::{Path, PathBuf};

use crate::docker::Project;
use crate::support::{Run, Workspace};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/compose");

enum Expect {
    /// Imports; the variables to give (`--var`), what the manifest holds.
    Imports {
        vars: &'static [(&'static str, &'static str)],
        holds: &'static [&'static str],
        notes: &'static [&'static str],
    },
    /// Refused: the error names the service and what is not supported.
    Refused(&'static str),
}

use Expect::{Imports, Refused};

const fn imports(holds: &'static [&'static str]) -> Expect {
    Imports {
        vars: &[],
        holds,
        notes: &[],
    }
}

/// Every compose file of the corpus and what must come of it.
fn expectations() -> Vec<(&'static str, Expect)> {
    vec![
        ("awesome-compose/elasticsearch-logstash-kibana/compose.yaml", Imports {
            vars: &[],
            holds: &["ports = [\"5000:5000\", \"5000:5000/udp\", \"5044:5044\", \"9600:9600\"]"],
            notes: &["service `elasticsearch`: `container_name` is not supported by geosync and was not imported"],
        }),
        ("awesome-compose/gitea-postgres/compose.yaml", Imports {
            vars: &[],
            holds: &["\"POSTGRES_PASSWORD\" = { env = \"DB_POSTGRES_PASSWORD\" }", "\"POSTGRES_USER\" = \"gitea\""],
            notes: &["DB_POSTGRES_PASSWORD  (service `db`, env `POSTGRES_PASSWORD`: a literal in the compose file)"],
        }),
        ("awesome-compose/nextcloud-redis-mariadb/compose.yaml", imports(&["command = [\"--transaction-isolation=READ-COMMITTED\", \"--binlog-format=ROW\"]"])),
        ("awesome-compose/nginx-flask-mysql/compose.yaml", imports(&[
            "'mysqladmin ping -h 127.0.0.1 --password=\"$(cat /run/secrets/db-password)\" --silent'",
            "\"MYSQL_ROOT_PASSWORD_FILE\" = \"/run/secrets/db-password\"",
            "depends_on = { \"db\" = \"healthy\" }",
        ])),
        ("awesome-compose/nginx-golang-postgres/compose.yaml", imports(&[
            "\"./proxy/nginx.conf:/etc/nginx/conf.d/default.conf:ro\"",
            "\"./db/password.txt:/run/secrets/db-password:ro\"",
        ])),
        ("awesome-compose/pihole-cloudflared-DoH/compose.yaml", Imports {
            vars: &[("TIMEZONE", "UTC"), ("PIHOLE_ROUTER_IP", "192.0.2.1"), ("PIHOLE_NETWORK_DOMAIN", "lan"),
                ("PIHOLE_REVERSE_DNS", "192.0.2.0/24"), ("PIHOLE_HOST_IP", "192.0.2.2"), ("PIHOLE_HOST_IPV6", "")],
            holds: &["\"WEBPASSWORD\" = { env = \"PIHOLE_PW\" }", "\"TZ\" = \"${TIMEZONE}\""],
            notes: &["service `pihole`: `cap_add` is not supported by geosync", "service `cloudflared`: `ipv4_address` on network `dns-net`"],
        }),
        ("awesome-compose/postgresql-pgadmin/compose.yaml", Imports {
            vars: &[],
            holds: &["POSTGRES_USER = \"yourUser\"", "\"POSTGRES_PASSWORD\" = { env = \"POSTGRES_PW\" }"],
            notes: &["POSTGRES_PW  (service `postgres`, env `POSTGRES_PASSWORD`: `${POSTGRES_PW}`, whose value is in .env)"],
        }),
        ("awesome-compose/prometheus-grafana/compose.yaml", imports(&["\"./prometheus:/etc/prometheus\""])),
        ("awesome-compose/react-express-mysql/compose.yaml", imports(&["\"/code/node_modules\"", "\"DATABASE_PASSWORD\" = \"/run/secrets/db-password\""])),
        ("awesome-compose/react-java-mysql/compose.yaml", imports(&["\"/project/node_modules\""])),
        ("awesome-compose/wordpress-mysql/compose.yaml", imports(&["\"WORDPRESS_DB_PASSWORD\" = { env = \"WORDPRESS_WORDPRESS_DB_PASSWORD\" }"])),
        ("compose-spec/configs/compose.yaml", Refused("service `redis`: config `my_other_config` is `external`")),
        ("compose-spec/extends/compose.yaml", imports(&["name = \"cli\"\nimage = \"busybox\"\nenv = { \"TZ\" = \"utc\", \"PORT\" = \"8080\" }"])),
        ("compose-spec/labels/compose.yaml", Refused("service `foo`: neither `image` nor `build`")),
        ("compose-spec/profiles/compose.yaml", Imports {
            vars: &[],
            holds: &["name = \"foo\""],
            notes: &["service `bar` is in profile `test` only, which is not enabled: not imported (pass `--profile test` to import it)"],
        }),
        ("compose-spec/provider/compose.yaml", Imports {
            vars: &[],
            holds: &["name = \"app\""],
            notes: &["service `database` is run by the `awesomecloud` provider", "service `app`: its dependency on `database`, which is not imported, was dropped"],
        }),
        ("docker-compose-e2e/TestUpImageID/compose.yaml", Imports {
            vars: &[("ID", "busybox")],
            holds: &["ID = \"\"   # `ID` is required: ID variable must be set; give it with --var", "image = \"${ID}\""],
            notes: &["ID  (`ID` is required: ID variable must be set)"],
        }),
        ("docker-compose-e2e/bridge/compose.yaml", imports(&[
            "\"./my-config.txt:/etc/my-config1.txt:ro\"",
            "\"./not-so-secret.txt:/run/secrets/my-secrets:ro\"",
            "internal = true",
        ])),
        ("docker-compose-e2e/config_hash/compose.yaml", imports(&["env_file = [{ path = \"./missing-optional.env\", required = false }]"])),
        ("docker-compose-e2e/dotenv/development/compose.yaml", Imports {
            vars: &[],
            holds: &["IMAGE_NAME = \"backend\"", "IMAGE_TAG = \"latest\"", "image = \"${IMAGE_NAME}:${IMAGE_TAG}\""],
            notes: &["service `test` is in profile `test` only"],
        }),
        ("docker-compose-e2e/env_file/compose.yaml", Refused("service `serviceB`: env file `/doesnotexist/.env` does not exist")),
        ("docker-compose-e2e/logs-test/cat.yaml", Imports {
            vars: &[("FILE", "./cat.yaml")],
            holds: &["volumes = [\"${FILE}:/text_file.txt\"]"],
            notes: &["FILE  (`FILE` is not set in .env)"],
        }),
        ("docker-compose-e2e/network-test/compose.yaml", Refused("service `mydb`: `network_mode` is not supported by geosync")),
        ("docker-compose-e2e/publish/oci/compose.yaml", imports(&["name = \"app\"\nimage = \"alpine\""])),
        ("docker-compose-e2e/publish/oci/extends.yaml", imports(&["name = \"test\""])),
        ("docker-compose-e2e/restart-test/compose-depends-on.yaml", Imports {
            vars: &[],
            holds: &["LABEL = \"test\"", "depends_on = { \"nginx\" = \"healthy\" }", "healthcheck = { test = [\"CMD-SHELL\", \"echo | nc -w 5 localhost:80\"], interval = \"2s\", timeout = \"1s\", retries = 10 }"],
            notes: &["service `with-restart`: `init` is not supported by geosync and was not imported"],
        }),
        ("docker-compose-e2e/restart-test/compose.yaml", imports(&["command = [\"ash\", \"-c\", \"if [[ -f /tmp/restart.lock ]] ; then sleep infinity; else touch /tmp/restart.lock; fi\"]"])),
        ("docker-compose-e2e/volume-test/compose.yaml", Imports {
            vars: &[],
            holds: &["\"/usr/src/app/node_modules\"", "\"./static/index.html:/run/secrets/mysecret:ro\"", "\"./static/index.html:/myconfig:ro\""],
            notes: &["volume `otherVol` is named `myVolume` on the engine by compose"],
        }),
    ]
}

/// The compose files of the corpus, relative to it.
fn corpus_files(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            corpus_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path.strip_prefix(CORPUS).unwrap().display().to_string());
        }
    }
}

/// A copy of one corpus folder (with hidden files) in a fresh workspace.
fn copy_tree(from: &Path, ws: &Workspace, to: &str) {
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let name = format!("{to}/{}", path.file_name().unwrap().to_string_lossy());
        if path.is_dir() {
            copy_tree(&path, ws, &name);
        } else {
            ws.write(&name, &std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// Runs geosync in the compose file's folder of the workspace.
fn geosync_in(ws: &Workspace, folder: &Path, args: &[&str]) -> Run {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_geosync"))
        .args(args)
        .current_dir(folder)
        .stdin(std::process::Stdio::null())
        .env_remove("RUST_LOG")
        .envs(placeholder_secrets(&ws.join("")))
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A placeholder for every `{ env = "NAME" }` of the manifests found in
/// the workspace: the test checks validation and planning, not secrets.
fn placeholder_secrets(root: &Path) -> Vec<(String, String)> {
    let mut vars = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path: PathBuf = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "geosync.toml") {
                let text = std::fs::read_to_string(&path).unwrap();
                for piece in text.split("{ env = \"").skip(1) {
                    let name = piece.split('"').next().unwrap().to_string();
                    vars.push((name, "placeholder-Secret-1".to_string()));
                }
            }
        }
    }
    vars
}

#[test]
fn every_corpus_file_is_listed_with_what_must_come_of_it() {
    let mut files = Vec::new();
    corpus_files(Path::new(CORPUS), &mut files);
    files.sort();
    let mut listed: Vec<String> = expectations().iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed);
}

#[test]
fn every_corpus_file_imports_validates_and_plans_or_is_refused_by_name() {
    let mut failures = Vec::new();
    for (file, expect) in expectations() {
        if let Err(failure) = check(file, &expect) {
            failures.push(format!("--- {file}\n{failure}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn check(file: &str, expect: &Expect) -> Result<(), String> {
    let ws = Workspace::new();
    let top = file.split('/').take(2).collect::<Vec<_>>().join("/");
    copy_tree(&Path::new(CORPUS).join(&top), &ws, &top);
    let compose = ws.join(file);
    let folder = compose.parent().unwrap().to_path_buf();
    let name = compose.file_name().unwrap().to_string_lossy().into_owned();
    let project = Project::new();
    let import = geosync_in(
        &ws,
        &folder,
        &[
            "import-compose",
            &name,
            "--project",
            &project.name,
            "-o",
            "geosync.toml",
        ],
    );
    let said = import.all();
    if said.contains("panicked") {
        return Err(format!("import panicked:\n{said}"));
    }
    let (vars, holds, notes) = match expect {
        Refused(message) => {
            return if import.code == 1 && import.stderr.contains(message) {
                Ok(())
            } else {
                Err(format!(
                    "expected a refusal `{message}`, got code {}:\n{said}",
                    import.code
                ))
            };
        }
        Imports { vars, holds, notes } => (vars, holds, notes),
    };
    if import.code != 0 {
        return Err(format!("import failed:\n{said}"));
    }
    let manifest = std::fs::read_to_string(folder.join("geosync.toml")).unwrap();
    for text in holds.iter() {
        if !manifest.contains(text) {
            return Err(format!("the manifest lacks `{text}`:\n{manifest}"));
        }
    }
    for note in notes.iter() {
        if !import.stderr.contains(note) {
            return Err(format!("import did not say `{note}`:\n{said}"));
        }
    }
    let var_args: Vec<String> = vars
        .iter()
        .flat_map(|(k, v)| ["--var".to_string(), format!("{k}={v}")])
        .collect();
    let mut args: Vec<&str> = vec!["validate"];
    args.extend(var_args.iter().map(String::as_str));
    let validate = geosync_in(&ws, &folder, &args);
    if validate.code != 0 {
        return Err(format!("validate failed:\n{}\n{manifest}", validate.all()));
    }
    args[0] = "plan";
    args.push("--detailed-exitcode");
    let plan = geosync_in(&ws, &folder, &args);
    let containers = manifest.matches("[[docker.container]]").count();
    let planned = plan
        .stdout
        .lines()
        .filter(|l| l.starts_with("  + docker.container:"))
        .count();
    if plan.code != 2 || planned != containers {
        return Err(format!(
            "plan (code {}, {planned} of {containers} containers):\n{}",
            plan.code,
            plan.all()
        ));
    }
    Ok(())
}
