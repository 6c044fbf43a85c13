//! Reading a compose file as compose does before using it: the project's
//! `.env`, interpolation, `extends` merged in, and `environment`/`labels`
//! in one (mapping) form.

use std::path::Path;

use serde_yaml_ng::{Mapping, Value};

use super::interpolate::{parse_dotenv, Vars};
use super::paths::Paths;
use super::ComposeError;

/// A compose file read, interpolated, with its services' `extends` merged.
pub struct Loaded {
    pub root: Value,
    pub vars: Vars,
}

pub fn load(path: &Path, paths: &Paths) -> Result<Loaded, ComposeError> {
    let dotenv = match std::fs::read_to_string(paths.compose_dir.join(".env")) {
        Ok(text) => parse_dotenv(&text),
        Err(_) => Default::default(),
    };
    let mut vars = Vars::new(dotenv);
    let mut root = read_yaml(path, &mut vars)?;
    let display = path.display().to_string();
    if let Some(services) = root.get_mut("services").and_then(Value::as_mapping_mut) {
        let names: Vec<Value> = services.keys().cloned().collect();
        let originals = services.clone();
        for name in names {
            let service = &originals[&name];
            let merged = resolve_extends(service, &originals, path, &mut vars, 0).map_err(|message| {
                ComposeError::Service {
                    path: display.clone(),
                    service: name.as_str().unwrap_or_default().to_string(),
                    message,
                }
            })?;
            services.insert(name, merged);
        }
        for (_, service) in services.iter_mut() {
            normalize(service);
        }
    }
    Ok(Loaded { root, vars })
}

fn read_yaml(path: &Path, vars: &mut Vars) -> Result<Value, ComposeError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ComposeError::Read {
        path: display.clone(),
        source,
    })?;
    let mut root: Value = serde_yaml_ng::from_str(&text).map_err(|source| ComposeError::Parse {
        path: display.clone(),
        source,
    })?;
    // `<<: *anchor` merge keys, as compose applies them.
    root.apply_merge().map_err(|source| ComposeError::Parse {
        path: display.clone(),
        source,
    })?;
    vars.interpolate_tree(&mut root)
        .map_err(|e| ComposeError::Interpolation {
            path: display,
            source: e,
        })?;
    Ok(root)
}

/// A service with the service it extends merged under it, recursively.
fn resolve_extends(
    service: &Value,
    siblings: &Mapping,
    file: &Path,
    vars: &mut Vars,
    depth: usize,
) -> Result<Value, String> {
    let Some(extends) = service.get("extends") else {
        return Ok(service.clone());
    };
    if depth > 16 {
        return Err("`extends` goes round in a circle".into());
    }
    let (base_name, base_file) = match extends {
        Value::String(name) => (name.clone(), None),
        other => (
            other
                .get("service")
                .and_then(Value::as_str)
                .ok_or("`extends` needs `service`")?
                .to_string(),
            other.get("file").and_then(Value::as_str).map(str::to_string),
        ),
    };
    let (base, base_siblings, base_path) = find_base(&base_name, base_file.as_deref(), siblings, file, vars)?;
    let base = base.ok_or_else(|| format!("`extends` names service `{base_name}`, which does not exist"))?;
    let base = resolve_extends(&base, &base_siblings, &base_path, vars, depth + 1)?;
    let mut own = service.clone();
    if let Some(map) = own.as_mapping_mut() {
        map.remove("extends");
    }
    let mut base = base;
    normalize(&mut base);
    normalize(&mut own);
    Ok(merge(base, own))
}

/// The service `extends` names, the services of its file, and that file.
fn find_base(
    name: &str,
    other: Option<&str>,
    siblings: &Mapping,
    file: &Path,
    vars: &mut Vars,
) -> Result<(Option<Value>, Mapping, std::path::PathBuf), String> {
    let Some(other) = other else {
        return Ok((siblings.get(name).cloned(), siblings.clone(), file.to_path_buf()));
    };
    let other_path = file.parent().unwrap_or(Path::new(".")).join(other);
    if other_path.parent() != file.parent() {
        return Err(format!(
            "`extends` a service of {other}, in another folder: its relative paths would need rewriting, which import-compose does not do; copy that service here"
        ));
    }
    let root = read_yaml(&other_path, vars).map_err(|e| match std::error::Error::source(&e) {
        Some(cause) => format!("`extends`: {e}: {cause}"),
        None => format!("`extends`: {e}"),
    })?;
    let services = root
        .get("services")
        .and_then(Value::as_mapping)
        .cloned()
        .unwrap_or_default();
    Ok((services.get(name).cloned(), services, other_path))
}

/// Compose's merge: mappings key by key, sequences appended (volumes and
/// ports without duplicates), scalars replaced.
fn merge(base: Value, over: Value) -> Value {
    match (base, over) {
        (Value::Mapping(mut base), Value::Mapping(over)) => {
            for (key, value) in over {
                let merged = match base.remove(&key) {
                    Some(old) => merge(old, value),
                    None => value,
                };
                base.insert(key, merged);
            }
            Value::Mapping(base)
        }
        (Value::Sequence(mut base), Value::Sequence(over)) => {
            for item in over {
                if !base.contains(&item) {
                    base.push(item);
                }
            }
            Value::Sequence(base)
        }
        (_, over) => over,
    }
}

/// `environment` and `labels` as mappings (compose accepts lists of
/// `KEY=VALUE` too); a list item without `=` maps to null, like a key
/// without a value.
fn normalize(service: &mut Value) {
    for key in ["environment", "labels"] {
        if let Some(Value::Sequence(items)) = service.get(key) {
            let mut map = Mapping::new();
            for item in items {
                let text = match item {
                    Value::String(s) => s.clone(),
                    other => serde_yaml_ng::to_string(other)
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                };
                match text.split_once('=') {
                    Some((k, v)) => map.insert(Value::String(k.to_string()), Value::String(v.to_string())),
                    None => map.insert(Value::String(text), Value::Null),
                };
            }
            if let Some(slot) = service.get_mut(key) {
                *slot = Value::Mapping(map);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extends_merges_like_the_compose_specification_says() {
        let yaml: Value = serde_yaml_ng::from_str(
            "common: {image: busybox, environment: {TZ: utc, PORT: 80}}\ncli: {extends: {service: common}, environment: [PORT=8080]}\n",
        )
        .unwrap();
        let siblings = yaml.as_mapping().unwrap().clone();
        let merged = resolve_extends(
            &siblings["cli"],
            &siblings,
            Path::new("/compose.yaml"),
            &mut Vars::default(),
            0,
        )
        .unwrap();
        let expected: Value =
            serde_yaml_ng::from_str("{image: busybox, environment: {TZ: utc, PORT: '8080'}}").unwrap();
        assert_eq!(merged, expected);
    }
}
