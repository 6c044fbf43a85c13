//! The manifest's `[vars]`: the compose variables the generated manifest
//! refers to, with the values the import found.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::interpolate::Vars;

/// `[vars]`: every variable the body refers to, with its value. Secret-like
/// ones and those without a value are declared empty, to be given with
/// `--var` (which sets only declared variables), and listed.
pub fn vars_section(body: &str, vars: &Vars) -> (String, Vec<(String, String)>) {
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
    fn only_referenced_variables_and_never_a_secret_value() {
        let mut vars = Vars::new(
            [("TAG", "1.2"), ("DB_PASSWORD", "hunter2"), ("UNUSED", "x")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
        );
        for text in ["${TAG}", "${DB_PASSWORD}", "${UNUSED}", "${NEED:?give it}"] {
            vars.interpolate(text).unwrap();
        }
        let body = "image = \"x:${TAG}\"\ncommand = [\"--pw=${DB_PASSWORD}\", \"$${UNUSED}\", \"${NEED}\"]\n";
        let (toml, missing) = vars_section(body, &vars);
        assert_eq!(
            toml,
            "\n[vars]\nDB_PASSWORD = \"\"   # `DB_PASSWORD` looks like a secret: its value is not written here; give it with --var\nNEED = \"\"   # `NEED` is required: give it; give it with --var\nTAG = \"1.2\"\n"
        );
        assert!(!toml.contains("hunter2"));
        let names: Vec<&str> = missing.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, vec!["DB_PASSWORD", "NEED"]);
    }
}
