//! Round trip: Debian's docker-compose resolves a corpus file
//! (`docker-compose config`), geosync imports the same file and creates its
//! containers; each container has the environment, mounts and healthcheck
//! compose resolved. No registry is reachable, so the copies the test uses
//! run every service on the locally built busybox image, without `build`,
//! `command` and `entrypoint` (programs busybox lacks) or `depends_on`
//! (busybox cannot pass the original images' health checks), and publish
//! ports on 127.0.0.1 with a port the engine picks (`127.0.0.1::TARGET`):
//! the rest of each file is the corpus file as written.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml_ng::Value;

use crate::docker::{busybox_image, cli, Project};
use crate::support::{peer_env, Workspace};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/compose");

/// The corpus file rewritten to run on busybox, in a workspace holding its folder.
fn on_busybox(file: &str) -> (Workspace, std::path::PathBuf) {
    let ws = Workspace::new();
    let source = Path::new(CORPUS).join(file);
    copy_tree(source.parent().unwrap(), &ws, ".");
    let mut root: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&source).unwrap()).unwrap();
    for (_, service) in root["services"].as_mapping_mut().unwrap().iter_mut() {
        let service = service.as_mapping_mut().unwrap();
        for key in ["build", "depends_on", "command", "entrypoint"] {
            service.remove(key);
        }
        if let Some(Value::Sequence(ports)) = service.get_mut("ports") {
            for port in ports.iter_mut() {
                *port = loopback(port).into();
            }
        }
        service.insert("image".into(), busybox_image().into());
    }
    let name = source.file_name().unwrap().to_string_lossy().into_owned();
    ws.write(&name, &serde_yaml_ng::to_string(&root).unwrap());
    let compose = ws.join(&name);
    (ws, compose)
}

/// A published port moved to loopback, on a host port the engine picks.
fn loopback(port: &Value) -> String {
    let text = match port {
        Value::Number(n) => n.to_string(),
        other => other.as_str().unwrap().to_string(),
    };
    let (spec, protocol) = match text.split_once('/') {
        Some((s, p)) => (s.to_string(), format!("/{p}")),
        None => (text.clone(), String::new()),
    };
    let target = spec.rsplit(':').next().unwrap();
    format!("127.0.0.1::{target}{protocol}")
}

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

/// What `docker-compose config` resolves for each service.
fn compose_config(ws: &Workspace, compose: &Path, project: &str, env: &[(&str, &str)]) -> Value {
    let output = std::process::Command::new(peer_env("GEOSYNC_TEST_DOCKER_COMPOSE"))
        .args(["-p", project, "-f"])
        .arg(compose)
        .arg("config")
        .current_dir(ws.path())
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_yaml_ng::from_slice(&output.stdout).unwrap()
}

/// Imports, gives every secret reference the value compose resolved, applies.
fn import_and_apply(
    ws: &mut Workspace,
    compose: &Path,
    project: &Project,
    config: &Value,
    vars: &[(&str, &str)],
) {
    let name = compose.file_name().unwrap().to_string_lossy().into_owned();
    ws.geosync(&[
        "import-compose",
        &name,
        "--project",
        &project.name,
        "-o",
        "geosync.toml",
    ])
    .assert_code(0);
    let manifest = ws.read("geosync.toml");
    // `"KEY" = { env = "VAR" }`: VAR gets the value compose gave KEY.
    for line in manifest.lines().filter(|l| l.starts_with("env = ")) {
        for piece in line.split("\" = { env = \"").skip(1) {
            let variable = piece.split('"').next().unwrap().to_string();
            let key_end = line.find(&format!("\" = {{ env = \"{variable}\"")).unwrap();
            let key = line[..key_end].rsplit('"').next().unwrap().to_string();
            let value = config["services"]
                .as_mapping()
                .unwrap()
                .values()
                .find_map(|s| s["environment"].get(key.as_str()).and_then(Value::as_str))
                .unwrap()
                .to_string();
            ws.set_env(&variable, &value);
        }
    }
    let mut args = vec!["apply".to_string(), "--auto-approve".to_string()];
    for (k, v) in vars {
        args.extend(["--var".to_string(), format!("{k}={v}")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ws.geosync(&args).assert_code(0);
}

fn inspect(project: &Project, service: &str) -> serde_json::Value {
    let text = cli(&["inspect", &project.container(service)]);
    serde_json::from_str::<serde_json::Value>(&text).unwrap()[0].clone()
}

/// The environment compose resolved is in the container (the image adds PATH).
fn same_environment(service: &str, resolved: &Value, container: &serde_json::Value) {
    let env: Vec<&str> = container["Config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for (key, value) in resolved["environment"].as_mapping().into_iter().flatten() {
        let value = match value {
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => other.as_str().unwrap_or_default().to_string(),
        };
        let expected = format!("{}={value}", key.as_str().unwrap());
        assert!(
            env.contains(&expected.as_str()),
            "{service}: {expected} not in {env:?}"
        );
    }
}

/// Each mount compose resolved, at the same path, of the same kind and
/// source, and read-only alike; anonymous volumes included.
fn same_mounts(service: &str, resolved: &Value, container: &serde_json::Value, project: &str) {
    let mounts: BTreeMap<String, &serde_json::Value> = container["Mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["Destination"].as_str().unwrap().to_string(), m))
        .collect();
    let volumes = resolved["volumes"].as_sequence().cloned().unwrap_or_default();
    assert!(mounts.len() >= volumes.len(), "{service}: {mounts:?}");
    for volume in volumes {
        let text = volume.as_str().unwrap();
        let parts: Vec<&str> = text.split(':').collect();
        let (source, target, mode) = match parts.as_slice() {
            [t] => ("", *t, "rw"),
            [s, t] => (*s, *t, "rw"),
            [s, t, m] => (*s, *t, *m),
            _ => panic!("{text}"),
        };
        let mount = mounts
            .get(target)
            .unwrap_or_else(|| panic!("{service}: nothing at {target}"));
        assert_eq!(mount["RW"].as_bool(), Some(mode != "ro"), "{service}: {text}");
        if source.starts_with('/') {
            assert_eq!(mount["Type"], "bind", "{service}: {text}");
            assert_eq!(mount["Source"].as_str(), Some(source), "{service}: {text}");
        } else if source.is_empty() {
            let name = mount["Name"].as_str().unwrap();
            assert!(name.len() == 64, "{service}: {target} is not anonymous: {name}");
        } else {
            assert_eq!(
                mount["Name"].as_str(),
                Some(format!("{project}_{source}").as_str())
            );
        }
    }
}

/// The ports compose resolved are published, on the same address.
fn same_ports(service: &str, resolved: &Value, container: &serde_json::Value) {
    let bindings = container["HostConfig"]["PortBindings"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let ports = resolved["ports"].as_sequence().cloned().unwrap_or_default();
    assert_eq!(bindings.len(), ports.len(), "{service}: {bindings:?}");
    for port in ports {
        let text = port.as_str().unwrap();
        let (spec, protocol) = text.split_once('/').unwrap_or((text, "tcp"));
        let parts: Vec<&str> = spec.split(':').collect();
        let (ip, target) = (parts[0], parts[parts.len() - 1]);
        let binding = &bindings
            .get(&format!("{target}/{protocol}"))
            .unwrap_or_else(|| panic!("{service}: {text} not published: {bindings:?}"))[0];
        assert_eq!(binding["HostIp"].as_str(), Some(ip), "{service}: {text}");
    }
}

/// Each compose secret is a read-only bind of its file at /run/secrets.
fn same_secrets(service: &str, resolved: &Value, config: &Value, container: &serde_json::Value) {
    for secret in resolved["secrets"].as_sequence().into_iter().flatten() {
        let source = secret["source"].as_str().unwrap();
        let target = secret.get("target").and_then(Value::as_str).unwrap_or(source);
        let file = config["secrets"][source]["file"].as_str().unwrap();
        let mount = container["Mounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["Destination"] == format!("/run/secrets/{target}"))
            .unwrap_or_else(|| panic!("{service}: secret {source} not mounted"));
        assert_eq!(mount["Source"].as_str(), Some(file), "{service}: {source}");
        assert_eq!(mount["RW"].as_bool(), Some(false), "{service}: {source}");
    }
}

fn nanos(text: &str) -> i64 {
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: i64 = digits.parse().unwrap();
    n * match unit {
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        other => panic!("unit {other}"),
    }
}

fn same_healthcheck(service: &str, resolved: &Value, container: &serde_json::Value) {
    let Some(health) = resolved.get("healthcheck") else {
        return;
    };
    let got = &container["Config"]["Healthcheck"];
    let test: Vec<String> = match &health["test"] {
        Value::String(s) => vec!["CMD-SHELL".into(), s.clone()],
        other => other
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect(),
    };
    let got_test: Vec<String> = got["Test"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(got_test, test, "{service}");
    for (key, field) in [
        ("interval", "Interval"),
        ("timeout", "Timeout"),
        ("start_period", "StartPeriod"),
    ] {
        if let Some(v) = health.get(key).and_then(Value::as_str) {
            assert_eq!(got[field].as_i64(), Some(nanos(v)), "{service}: {key}");
        }
    }
    if let Some(retries) = health.get("retries").and_then(Value::as_i64) {
        assert_eq!(got["Retries"].as_i64(), Some(retries), "{service}");
    }
}

fn round_trip(file: &str, vars: &[(&str, &str)]) {
    let (mut ws, compose) = on_busybox(file);
    let project = Project::new();
    let config = compose_config(&ws, &compose, &project.name, vars);
    import_and_apply(&mut ws, &compose, &project, &config, vars);
    let project_label = project.name.clone();
    for (name, resolved) in config["services"].as_mapping().unwrap() {
        let service = name.as_str().unwrap();
        let container = inspect(&project, service);
        same_environment(service, resolved, &container);
        same_mounts(service, resolved, &container, &project_label);
        same_healthcheck(service, resolved, &container);
        same_ports(service, resolved, &container);
        same_secrets(service, resolved, &config, &container);
        // -v: its anonymous volumes carry no project label to be swept by.
        cli(&["rm", "-f", "-v", &project.container(service)]);
    }
}

#[test]
fn extends_resolves_the_environment_as_compose_does() {
    round_trip("compose-spec/extends/compose.yaml", &[]);
}

#[test]
fn a_variable_bind_source_mounts_what_compose_mounts() {
    round_trip("docker-compose-e2e/logs-test/cat.yaml", &[("FILE", "./cat.yaml")]);
}

#[test]
fn healthchecks_and_interpolated_labels_match_compose() {
    round_trip("docker-compose-e2e/restart-test/compose-depends-on.yaml", &[]);
}

#[test]
fn udp_ports_dotted_variables_and_shell_healthchecks_match_compose() {
    round_trip("awesome-compose/elasticsearch-logstash-kibana/compose.yaml", &[]);
}

#[test]
fn named_anonymous_and_secret_mounts_match_compose() {
    round_trip("awesome-compose/react-express-mysql/compose.yaml", &[]);
}
