//! `geosync import-compose`: translates a Docker Compose file into a
//! geosync manifest, so a site moves from compose to geosync in one step.
//! What has no equivalent is said, in the output and as a comment, never
//! dropped silently; what would make the manifest wrong is refused with
//! the service and the feature named. Values of variables named like
//! secrets become `{ env = "NAME" }` references, each one listed: the
//! manifest that lands in git holds none.

mod build;
mod environment;
mod interpolate;
mod load;
mod mounts;
mod paths;
mod ports;
mod service;
mod toml_out;

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;

use serde_yaml_ng::Value;

use environment::scalar;
pub use environment::SecretReference;
use interpolate::{InterpolationError, Vars};
use paths::Paths;
use service::Context;
use toml_out::quote;

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("{path}: cannot read")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a compose file")]
    Parse {
        path: String,
        #[source]
        source: serde_yaml_ng::Error,
    },
    #[error("{path}")]
    Interpolation {
        path: String,
        #[source]
        source: InterpolationError,
    },
    #[error("{path}: service `{service}`: {message}")]
    Service {
        path: String,
        service: String,
        message: String,
    },
}

/// What the import is asked for.
pub struct Options<'a> {
    /// The project name; None: compose's own choice (see [`project_name`]).
    pub project: Option<&'a str>,
    /// Profiles to import besides the services without profiles (and those
    /// of `COMPOSE_PROFILES` in .env), as `docker compose --profile`.
    pub profiles: &'a [String],
    /// Where the manifest goes: its relative paths start there.
    pub output: Option<&'a Path>,
}

/// The generated manifest and what the user must know about it.
pub struct Imported {
    pub manifest: String,
    pub notes: Vec<String>,
    /// Every value replaced by a secret reference.
    pub secrets: Vec<SecretReference>,
    /// Variables without a value: `--var NAME=VALUE` or `[vars]` must give one.
    pub missing_vars: Vec<(String, String)>,
}

pub fn import(path: &Path, options: &Options) -> Result<Imported, ComposeError> {
    let paths = Paths::new(path, options.output);
    let loaded = load::load(path, &paths)?;
    let mut vars = loaded.vars;
    let root = loaded.root;
    let display = path.display().to_string();
    let mut notes = std::mem::take(&mut vars.notes);
    notes.extend(include_note(&root));
    let project = match options.project {
        Some(project) => project.to_string(),
        None => project_name(&root, &vars, &paths),
    };
    let mut body = format!("\n[docker]\nproject = {}\n", quote(&project));
    let services = root
        .get("services")
        .and_then(Value::as_mapping)
        .cloned()
        .unwrap_or_default();
    let active = active_profiles(options.profiles, &vars);
    let mut skipped = BTreeSet::new();
    let mut imported = Vec::new();
    for (name, service) in &services {
        let Some(name) = scalar(name) else { continue };
        match skip_reason(&name, service, &active) {
            Some(reason) => {
                notes.push(reason);
                skipped.insert(name);
            }
            None => imported.push((name, service)),
        }
    }
    top_level(&root, &imported, &mut body, &mut notes);
    let cx = Context {
        root: &root,
        paths: &paths,
        skipped: &skipped,
    };
    let mut secrets = Vec::new();
    for (name, service) in imported {
        let translated =
            service::translate(&name, service, &cx, &mut vars).map_err(|message| ComposeError::Service {
                path: display.clone(),
                service: name.clone(),
                message,
            })?;
        body.push_str(&translated.toml);
        notes.extend(translated.notes);
        notes.extend(translated.env.notes);
        secrets.extend(translated.env.secrets);
    }
    let (vars_toml, missing_vars) = vars_section(&body, &vars);
    Ok(Imported {
        manifest: assemble(&display, &notes, &vars_toml, &body),
        notes,
        secrets,
        missing_vars,
    })
}

/// The project name compose would use: COMPOSE_PROJECT_NAME in .env, the
/// file's top-level `name`, else its folder's name.
fn project_name(root: &Value, vars: &Vars, paths: &Paths) -> String {
    let chosen = vars
        .dotenv("COMPOSE_PROJECT_NAME")
        .map(str::to_string)
        .or_else(|| root.get("name").and_then(scalar).map(|n| vars.resolve(&n)))
        .unwrap_or_else(|| {
            paths
                .compose_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
    // As compose: lowercase, only [a-z0-9_-], not starting with - or _.
    let cleaned: String = chosen
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    match cleaned.trim_start_matches(['-', '_']) {
        "" => "geosync".into(),
        name => name.to_string(),
    }
}

/// `include:` is not followed: said, with the files to import too.
fn include_note(root: &Value) -> Option<String> {
    let files: Vec<String> = match root.get("include")? {
        Value::Sequence(items) => items
            .iter()
            .filter_map(|i| scalar(i).or_else(|| i.get("path").and_then(scalar)))
            .collect(),
        other => scalar(other).into_iter().collect(),
    };
    Some(format!(
        "`include: {}` is not imported: import those files too",
        files.join(", ")
    ))
}

/// The manifest: where it comes from, the notes, `[vars]`, the rest.
fn assemble(compose: &str, notes: &[String], vars_toml: &str, body: &str) -> String {
    let mut manifest =
        format!("# Generated by `geosync import-compose {compose}`: review it, then keep it in git.\n");
    for note in notes {
        let _ = writeln!(manifest, "# NOTE: {note}");
    }
    manifest.push_str(vars_toml);
    manifest.push_str(body);
    manifest
}

/// Profiles asked for, plus `COMPOSE_PROFILES` from .env.
fn active_profiles(asked: &[String], vars: &Vars) -> BTreeSet<String> {
    let from_env = vars.dotenv("COMPOSE_PROFILES").unwrap_or_default();
    asked
        .iter()
        .map(String::as_str)
        .chain(from_env.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Why a service is not imported, said as a note; None to import it.
fn skip_reason(name: &str, service: &Value, active: &BTreeSet<String>) -> Option<String> {
    if let Some(provider) = service.get("provider") {
        let kind = provider.get("type").and_then(scalar).unwrap_or_default();
        return Some(format!(
            "service `{name}` is run by the `{kind}` provider, which geosync cannot run: not imported (the variables it gives its dependents are not set either)"
        ));
    }
    if service.get("scale").and_then(Value::as_u64) == Some(0) {
        return Some(format!("service `{name}` has scale: 0 and is not imported"));
    }
    let profiles: Vec<String> = match service.get("profiles") {
        Some(Value::Sequence(items)) => items.iter().filter_map(scalar).collect(),
        _ => return None,
    };
    if profiles.iter().any(|p| active.contains(p) || p == "*") || profiles.is_empty() {
        return None;
    }
    Some(format!(
        "service `{name}` is in profile {} only, which is not enabled: not imported (pass `--profile {}` to import it)",
        profiles.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", "),
        profiles[0]
    ))
}

/// `[[docker.network]]` and `[[docker.volume]]` from the top level; compose's
/// implicit `default` network when an imported service has no `networks`.
fn top_level(root: &Value, imported: &[(String, &Value)], body: &mut String, notes: &mut Vec<String>) {
    let mut networks: Vec<(String, Value)> = root
        .get("networks")
        .and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((scalar(k)?, v.clone())))
                .collect()
        })
        .unwrap_or_default();
    let needs_default = imported.iter().any(|(_, s)| s.get("networks").is_none());
    if needs_default && !networks.iter().any(|(n, _)| n == "default") {
        networks.push(("default".into(), Value::Null));
    }
    for (name, definition) in networks {
        let _ = writeln!(body, "\n[[docker.network]]\nname = {}", quote(&name));
        if let Some(driver) = definition.get("driver").and_then(scalar) {
            let _ = writeln!(body, "driver = {}", quote(&driver));
        }
        if definition.get("internal").and_then(Value::as_bool) == Some(true) {
            let _ = writeln!(body, "internal = true");
        }
        object_notes("network", &name, &definition, &["driver", "internal"], notes);
    }
    for (name, definition) in root
        .get("volumes")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
    {
        let Some(name) = scalar(name) else { continue };
        let _ = writeln!(body, "\n[[docker.volume]]\nname = {}", quote(&name));
        if let Some(driver) = definition.get("driver").and_then(scalar) {
            let _ = writeln!(body, "driver = {}", quote(&driver));
        }
        object_notes("volume", &name, definition, &["driver"], notes);
    }
}

fn object_notes(kind: &str, name: &str, definition: &Value, carried: &[&str], notes: &mut Vec<String>) {
    for (key, value) in definition.as_mapping().into_iter().flatten() {
        let Some(key) = key.as_str() else { continue };
        if carried.contains(&key) {
            continue;
        }
        notes.push(match key {
            "name" => format!(
                "{kind} `{name}` is named `{}` on the engine by compose; geosync names it `<project>_{name}`: move its data or rename it",
                scalar(value).unwrap_or_default()
            ),
            "external" => format!(
                "{kind} `{name}` is external: geosync uses `<project>_{name}`, creating it if absent"
            ),
            other => format!("{kind} `{name}`: `{other}` is not supported by geosync and was not imported"),
        });
    }
}

/// `[vars]`: every variable the body refers to, with its value. Secret-like
/// ones and those without a value are declared empty, to be given with
/// `--var` (which sets only declared variables), and listed.
fn vars_section(body: &str, vars: &Vars) -> (String, Vec<(String, String)>) {
    let mut header = String::new();
    let used: BTreeSet<&str> = referenced(body);
    let mut missing = Vec::new();
    if used.is_empty() {
        return (header, missing);
    }
    header.push_str("\n[vars]\n");
    for name in used {
        let var = vars.vars.get(name);
        match var.and_then(|v| v.value.as_deref()) {
            Some(_) if crate::manifest::secret::looks_secret(name) => {
                let reason = format!("`{name}` looks like a secret: its value is not written here");
                let _ = writeln!(header, "{name} = \"\"   # {reason}; give it with --var");
                missing.push((name.to_string(), reason));
            }
            Some(value) => {
                let _ = writeln!(header, "{name} = {}", toml::Value::String(value.to_string()));
            }
            None => {
                let reason = var
                    .and_then(|v| v.missing.clone())
                    .unwrap_or_else(|| format!("`{name}` has no value"));
                let _ = writeln!(header, "{name} = \"\"   # {reason}; give it with --var");
                missing.push((name.to_string(), reason));
            }
        }
    }
    (header, missing)
}

/// Names written as `${NAME}` (not `$${`) in generated TOML.
fn referenced(body: &str) -> BTreeSet<&str> {
    let mut names = BTreeSet::new();
    let mut rest = body;
    while let Some(at) = rest.find("${") {
        let escaped = at > 0 && rest.as_bytes()[at - 1] == b'$';
        let tail = &rest[at + 2..];
        let end = tail.find('}').unwrap_or(tail.len());
        if !escaped {
            names.insert(&tail[..end]);
        }
        rest = &tail[end..];
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_is_named_as_compose_names_it() {
        let paths = Paths {
            compose_dir: "/srv/.My App".into(),
            manifest_dir: "/srv".into(),
        };
        let none = Value::Null;
        let named: Value = serde_yaml_ng::from_str("name: Geo_Stack").unwrap();
        let vars = Vars::new(Default::default());
        assert_eq!(project_name(&none, &vars, &paths), "myapp");
        assert_eq!(project_name(&named, &vars, &paths), "geo_stack");
        let dotenv = Vars::new([("COMPOSE_PROJECT_NAME".to_string(), "site".to_string())].into());
        assert_eq!(project_name(&named, &dotenv, &paths), "site");
    }
}
