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
mod selection;
mod service;
mod toml_out;
mod top_level;
mod vars_section;

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
    let active = selection::active_profiles(options.profiles, &vars);
    let mut skipped = BTreeSet::new();
    let mut imported = Vec::new();
    for (name, service) in &services {
        let Some(name) = scalar(name) else { continue };
        match selection::skip_reason(&name, service, &active) {
            Some(reason) => {
                notes.push(reason);
                skipped.insert(name);
            }
            None => imported.push((name, service)),
        }
    }
    top_level::top_level(&root, &imported, &mut body, &mut notes);
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
    let (vars_toml, missing_vars) = vars_section::vars_section(&body, &vars);
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
