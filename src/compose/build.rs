//! `image` and `build`: what image a service runs and how it is built
//! (a local context folder, its Dockerfile, target stage and arguments).

use std::fmt::Write;

use serde_yaml_ng::{Mapping, Value};

use super::environment::scalar;
use super::interpolate::Vars;
use super::paths::Paths;
use super::toml_out::{inline_table, quote};
use crate::manifest::secret::{looks_secret, plainly_not_secret};

const CARRIED: &[&str] = &["context", "dockerfile", "target", "args"];

/// Writes `image` and `build`; returns notes on what was left out.
pub fn image_and_build(
    name: &str,
    service: &Value,
    paths: &Paths,
    vars: &Vars,
    toml: &mut String,
) -> Result<Vec<String>, String> {
    let image = service.get("image").and_then(scalar);
    let build = service.get("build");
    // Compose names a built image `<project>-<service>`; any stable local name works.
    let image = match (image, build) {
        (Some(image), _) => image,
        (None, Some(_)) => format!("{name}:local"),
        (None, None) => return Err("neither `image` nor `build`: geosync has nothing to run".into()),
    };
    let _ = writeln!(toml, "image = {}", quote(&image));
    let Some(build) = build else { return Ok(Vec::new()) };
    let empty = Mapping::new();
    let (context, options) = match build {
        Value::Mapping(map) => (
            map.get("context").and_then(scalar).unwrap_or_else(|| ".".into()),
            map,
        ),
        other => (
            scalar(other).ok_or("`build` is neither a folder nor a mapping")?,
            &empty,
        ),
    };
    if context.contains("://") || context.starts_with("git@") {
        return Err(format!(
            "`build` from `{context}`: geosync builds only from a local folder"
        ));
    }
    let mut notes = Vec::new();
    let mut parts = vec![format!("context = {}", quote(&paths.for_manifest(&context)))];
    for key in ["dockerfile", "target"] {
        if let Some(value) = options.get(key).and_then(scalar) {
            parts.push(format!("{key} = {}", quote(&value)));
        }
    }
    let args = args(name, options.get("args"), vars, &mut notes);
    if !args.is_empty() {
        parts.push(format!(
            "args = {}",
            inline_table(args.iter().map(|(k, v)| (k.as_str(), v.clone())))
        ));
    }
    let _ = writeln!(toml, "build = {{ {} }}", parts.join(", "));
    for key in options.keys().filter_map(Value::as_str) {
        if !CARRIED.contains(&key) {
            notes.push(format!(
                "service `{name}`: build `{key}` is not supported by geosync and was not imported (the image is built without it)"
            ));
        }
    }
    Ok(notes)
}

/// Build arguments (map, or list of `KEY=VALUE`). A key without value takes
/// its value from `.env`, as compose takes it from its environment; one
/// named like a secret is left out: it would be written in the manifest.
fn args(name: &str, value: Option<&Value>, vars: &Vars, notes: &mut Vec<String>) -> Vec<(String, String)> {
    let pairs: Vec<(String, Option<String>)> = match value {
        Some(Value::Mapping(map)) => map
            .iter()
            .filter_map(|(k, v)| Some((scalar(k)?, scalar(v))))
            .collect(),
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(scalar)
            .map(|item| match item.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (item, None),
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for (key, value) in pairs {
        let value = value.or_else(|| vars.dotenv(&key).map(str::to_string));
        match value {
            Some(v) if looks_secret(&key) && !plainly_not_secret(&vars.resolve(&v)) => notes.push(format!(
                "service `{name}`: build argument `{key}` looks like a secret and was not imported (it would be written in the manifest)"
            )),
            Some(v) => out.push((key, quote(&v))),
            None => notes.push(format!(
                "service `{name}`: build argument `{key}` takes its value from the shell running compose and is not set in .env: not imported"
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_dockerfile_target_and_args() {
        let service: Value = serde_yaml_ng::from_str(
            "build: {context: backend, dockerfile: Dockerfile.dev, target: development, args: [NODE_ENV=development, FROM_ENV, NPM_TOKEN=abc], ssh: [default]}",
        )
        .unwrap();
        let paths = Paths {
            compose_dir: "/p".into(),
            manifest_dir: "/p".into(),
        };
        let vars = Vars::new([("FROM_ENV".to_string(), "x".to_string())].into());
        let mut toml = String::new();
        let notes = image_and_build("web", &service, &paths, &vars, &mut toml).unwrap();
        assert_eq!(
            toml,
            "image = \"web:local\"\nbuild = { context = \"./backend\", dockerfile = \"Dockerfile.dev\", target = \"development\", args = { \"NODE_ENV\" = \"development\", \"FROM_ENV\" = \"x\" } }\n"
        );
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("`NPM_TOKEN` looks like a secret"));
        assert!(notes[1].contains("build `ssh`"));
    }
}
