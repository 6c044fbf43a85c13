//! One compose service as a `[[docker.container]]` table. Each compose key
//! is either carried over, or named in a note (dropped) or an error
//! (refused): never dropped silently.

use std::collections::BTreeSet;
use std::fmt::Write;

use serde_yaml_ng::Value;

use super::build::image_and_build;
use super::environment::{environment, scalar, Environment};
use super::interpolate::Vars;
use super::mounts::{FileKind, Mounts};
use super::paths::Paths;
use super::ports::ports;
use super::toml_out::{inline_table, quote, quote_list};

/// Keys this module carries over (or that the importer handled before).
const CARRIED: &[&str] = &[
    "image",
    "build",
    "command",
    "entrypoint",
    "user",
    "working_dir",
    "restart",
    "env_file",
    "environment",
    "volumes",
    "secrets",
    "configs",
    "ports",
    "networks",
    "labels",
    "healthcheck",
    "depends_on",
    "mem_limit",
    "deploy",
    "profiles",
    "scale",
    "pull_policy",
];

/// Keys whose absence would make the container behave differently in a
/// way the user cannot miss: refused rather than noted.
const REFUSED: &[&str] = &[
    "network_mode",
    "volumes_from",
    "pid",
    "ipc",
    "links",
    "external_links",
];

/// What a translated service adds to the import.
pub struct Translated {
    pub toml: String,
    pub env: Environment,
    pub notes: Vec<String>,
}

pub struct Context<'a> {
    pub root: &'a Value,
    pub paths: &'a Paths,
    /// Services that are not imported (profiles, providers): dependencies
    /// on them are dropped with a note.
    pub skipped: &'a BTreeSet<String>,
}

pub fn translate(name: &str, service: &Value, cx: &Context, vars: &mut Vars) -> Result<Translated, String> {
    for key in REFUSED {
        if service.get(*key).is_some() {
            return Err(format!("`{key}` is not supported by geosync"));
        }
    }
    let mut out = Translated {
        toml: String::new(),
        env: Environment::default(),
        notes: Vec::new(),
    };
    let toml = &mut out.toml;
    let _ = writeln!(toml, "\n[[docker.container]]\nname = {}", quote(name));
    out.notes
        .extend(image_and_build(name, service, cx.paths, vars, toml)?);
    process(name, service, toml, &mut out.notes);
    env_files(service.get("env_file"), cx.paths, vars, toml)?;
    out.env = environment(name, service.get("environment"), vars);
    if !out.env.entries.is_empty() {
        let entries = out.env.entries.iter().map(|(k, v)| (k.as_str(), v.clone()));
        let _ = writeln!(toml, "env = {}", inline_table(entries));
    }
    mounts(name, service, cx, toml, &mut out.notes)?;
    let ports = ports(name, service.get("ports"), &mut out.notes)?;
    if !ports.is_empty() {
        let _ = writeln!(toml, "ports = {}", quote_list(&ports));
    }
    networks(name, service.get("networks"), toml, &mut out.notes);
    labels(service.get("labels"), vars, toml);
    healthcheck(name, service.get("healthcheck"), toml, &mut out.notes);
    depends_on(name, service.get("depends_on"), cx.skipped, toml, &mut out.notes);
    memory(name, service, toml, &mut out.notes);
    for (key, _) in service.as_mapping().into_iter().flatten() {
        let Some(key) = key.as_str() else { continue };
        if !CARRIED.contains(&key) && key != "extends" && !key.starts_with("x-") {
            out.notes.push(format!(
                "service `{name}`: `{key}` is not supported by geosync and was not imported"
            ));
        }
    }
    Ok(out)
}

/// What runs and how: command, entrypoint, user, folder, restart, pull.
fn process(name: &str, service: &Value, toml: &mut String, notes: &mut Vec<String>) {
    for key in ["command", "entrypoint"] {
        if let Some(value) = service.get(key) {
            let _ = writeln!(toml, "{key} = {}", quote_list(&command(value)));
        }
    }
    for key in ["user", "working_dir", "restart"] {
        if let Some(value) = service.get(key).and_then(scalar) {
            let _ = writeln!(toml, "{key} = {}", quote(&value));
        }
    }
    if let Some(pull) = service.get("pull_policy").and_then(scalar) {
        match pull.as_str() {
            "always" | "missing" | "never" => {
                let _ = writeln!(toml, "pull = {}", quote(&pull));
            }
            "if_not_present" => {
                let _ = writeln!(toml, "pull = \"missing\"");
            }
            other => notes.push(format!(
                "service `{name}`: `pull_policy: {other}` has no geosync equivalent; the default (missing) applies"
            )),
        }
    }
}

/// `volumes`, `secrets` and `configs` as one `volumes` list.
fn mounts(
    name: &str,
    service: &Value,
    cx: &Context,
    toml: &mut String,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    let mut mounts = Mounts::default();
    mounts.volumes(name, service.get("volumes"), cx.paths)?;
    for (kind, key) in [(FileKind::Secret, "secrets"), (FileKind::Config, "configs")] {
        mounts.files(kind, name, service.get(key), cx.root.get(key), cx.paths)?;
    }
    notes.append(&mut mounts.notes);
    if !mounts.volumes.is_empty() {
        let _ = writeln!(toml, "volumes = {}", quote_list(&mounts.volumes));
    }
    Ok(())
}

/// Labels; a key interpolated in list form (`- "$VAR=x"`) takes its value
/// at import, since manifest keys are not interpolated.
fn labels(value: Option<&Value>, vars: &Vars, toml: &mut String) {
    let Some(Value::Mapping(labels)) = value else {
        return;
    };
    let entries: Vec<(String, String)> = labels
        .iter()
        .filter_map(|(k, v)| Some((vars.resolve(&scalar(k)?), quote(&scalar(v).unwrap_or_default()))))
        .collect();
    let _ = writeln!(
        toml,
        "labels = {}",
        inline_table(entries.iter().map(|(k, v)| (k.as_str(), v.clone())))
    );
}

/// A command as a list: compose splits a string like a shell would.
fn command(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => shlex::split(s).unwrap_or_else(|| vec![s.clone()]),
        Value::Sequence(items) => items.iter().filter_map(scalar).collect(),
        other => scalar(other).into_iter().collect(),
    }
}

/// `env_file:` (a path, a list of paths or of `{ path, required }`).
/// A required file that does not exist is refused, as compose refuses it.
fn env_files(value: Option<&Value>, paths: &Paths, vars: &Vars, toml: &mut String) -> Result<(), String> {
    let items: Vec<&Value> = match value {
        None => return Ok(()),
        Some(Value::Sequence(items)) => items.iter().collect(),
        Some(one) => vec![one],
    };
    let mut entries = Vec::new();
    for item in items {
        if item.get("format").is_some() {
            return Err("`env_file` with `format` is not supported by geosync (it reads env files like compose's default format)".into());
        }
        let (path, required) = match item {
            Value::Mapping(_) => (
                item.get("path")
                    .and_then(scalar)
                    .ok_or("an `env_file` without `path`")?,
                item.get("required").and_then(Value::as_bool).unwrap_or(true),
            ),
            other => (scalar(other).ok_or("an `env_file` that is not a path")?, true),
        };
        let on_disk = paths.on_disk(&vars.resolve(&path));
        if required && !on_disk.is_file() {
            return Err(format!(
                "env file `{path}` does not exist ({}); mark it `required: false` if it is optional",
                on_disk.display()
            ));
        }
        let path = quote(&paths.for_manifest(&path));
        entries.push(if required {
            path
        } else {
            format!("{{ path = {path}, required = false }}")
        });
    }
    let _ = writeln!(toml, "env_file = [{}]", entries.join(", "));
    Ok(())
}

fn networks(name: &str, value: Option<&Value>, toml: &mut String, notes: &mut Vec<String>) {
    match value {
        None => {
            let _ = writeln!(toml, "networks = [\"default\"]");
        }
        Some(Value::Mapping(map)) => {
            let mut entries = Vec::new();
            for (network, options) in map {
                let Some(network) = scalar(network) else { continue };
                let aliases: Vec<String> = match options.get("aliases") {
                    Some(Value::Sequence(a)) => a.iter().filter_map(scalar).collect(),
                    _ => Vec::new(),
                };
                for (key, _) in options.as_mapping().into_iter().flatten() {
                    if key.as_str() != Some("aliases") {
                        notes.push(format!(
                            "service `{name}`: `{}` on network `{network}` is not supported by geosync and was not imported",
                            key.as_str().unwrap_or("?")
                        ));
                    }
                }
                entries.push((network, format!("{{ aliases = {} }}", quote_list(&aliases))));
            }
            let _ = writeln!(
                toml,
                "networks = {}",
                inline_table(entries.iter().map(|(k, v)| (k.as_str(), v.clone())))
            );
        }
        Some(other) => {
            let names = command(other);
            let _ = writeln!(toml, "networks = {}", quote_list(&names));
        }
    }
}

fn healthcheck(name: &str, value: Option<&Value>, toml: &mut String, notes: &mut Vec<String>) {
    let Some(health) = value else { return };
    let disabled = health.get("disable").and_then(Value::as_bool) == Some(true);
    let test = match health.get("test") {
        _ if disabled => vec!["NONE".to_string()],
        Some(Value::String(s)) => vec!["CMD-SHELL".to_string(), s.clone()],
        Some(other) => command(other),
        None => {
            notes.push(format!(
                "service `{name}`: a healthcheck without `test` only tunes the image's own, which geosync does not do: not imported"
            ));
            return;
        }
    };
    let mut parts = vec![format!("test = {}", quote_list(&test))];
    for key in ["interval", "timeout", "start_period"] {
        if let Some(v) = health.get(key).and_then(scalar) {
            parts.push(format!("{key} = {}", quote(&v)));
        }
    }
    if let Some(retries) = health.get("retries").and_then(Value::as_u64) {
        parts.push(format!("retries = {retries}"));
    }
    if health.get("start_interval").is_some() {
        notes.push(format!(
            "service `{name}`: healthcheck `start_interval` is not supported by geosync and was dropped"
        ));
    }
    let _ = writeln!(toml, "healthcheck = {{ {} }}", parts.join(", "));
}

fn depends_on(
    name: &str,
    value: Option<&Value>,
    skipped: &BTreeSet<String>,
    toml: &mut String,
    notes: &mut Vec<String>,
) {
    let pairs: Vec<(String, String)> = match value {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(scalar)
            .map(|d| (d, "started".to_string()))
            .collect(),
        Some(Value::Mapping(map)) => map
            .iter()
            .filter_map(|(k, v)| Some((scalar(k)?, condition(name, k, v, notes))))
            .collect(),
        _ => return,
    };
    let mut entries = Vec::new();
    for (dependency, condition) in pairs {
        if skipped.contains(&dependency) {
            notes.push(format!(
                "service `{name}`: its dependency on `{dependency}`, which is not imported, was dropped"
            ));
        } else {
            entries.push((dependency, quote(&condition)));
        }
    }
    if !entries.is_empty() {
        let _ = writeln!(
            toml,
            "depends_on = {}",
            inline_table(entries.iter().map(|(k, v)| (k.as_str(), v.clone())))
        );
    }
}

/// A long-form dependency's condition, noting what geosync drops.
fn condition(name: &str, dependency: &Value, options: &Value, notes: &mut Vec<String>) -> String {
    for extra in ["restart", "required"] {
        if options.get(extra).is_some() {
            notes.push(format!(
                "service `{name}`: `{extra}` of its dependency on `{}` is not supported by geosync and was dropped",
                dependency.as_str().unwrap_or("?")
            ));
        }
    }
    match options.get("condition").and_then(scalar).as_deref() {
        Some("service_healthy") => "healthy",
        Some("service_completed_successfully") => "completed",
        _ => "started",
    }
    .to_string()
}

fn memory(name: &str, service: &Value, toml: &mut String, notes: &mut Vec<String>) {
    let deploy = service.get("deploy");
    let limit = service.get("mem_limit").and_then(scalar).or_else(|| {
        deploy?
            .get("resources")?
            .get("limits")?
            .get("memory")
            .and_then(scalar)
    });
    if let Some(memory) = limit {
        let _ = writeln!(toml, "memory = {}", quote(&memory));
    }
    if let Some(Value::Mapping(deploy)) = deploy {
        for (key, value) in deploy {
            let key = key.as_str().unwrap_or("?");
            let only_memory = key == "resources"
                && value.get("reservations").is_none()
                && value
                    .get("limits")
                    .and_then(Value::as_mapping)
                    .is_none_or(|l| l.keys().all(|k| k.as_str() == Some("memory")));
            if !only_memory {
                notes.push(format!(
                    "service `{name}`: `deploy.{key}` is not supported by geosync (only `deploy.resources.limits.memory` is) and was not imported"
                ));
            }
        }
    }
}
