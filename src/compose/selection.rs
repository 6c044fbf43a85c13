//! Which services are imported: compose's profiles (`--profile`,
//! `COMPOSE_PROFILES` in .env), and the services geosync cannot run
//! (`provider`, `scale: 0`), each skipped with a note saying why.

use std::collections::BTreeSet;

use serde_yaml_ng::Value;

use super::environment::scalar;
use super::interpolate::Vars;

/// Profiles asked for, plus `COMPOSE_PROFILES` from .env.
pub fn active_profiles(asked: &[String], vars: &Vars) -> BTreeSet<String> {
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
pub fn skip_reason(name: &str, service: &Value, active: &BTreeSet<String>) -> Option<String> {
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
