//! The top-level `networks` and `volumes` as `[[docker.network]]` and
//! `[[docker.volume]]`, with compose's implicit `default` network.

use std::fmt::Write;

use serde_yaml_ng::Value;

use super::environment::scalar;
use super::toml_out::quote;

/// `[[docker.network]]` and `[[docker.volume]]` from the top level; compose's
/// implicit `default` network when an imported service has no `networks`.
pub fn top_level(root: &Value, imported: &[(String, &Value)], body: &mut String, notes: &mut Vec<String>) {
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
