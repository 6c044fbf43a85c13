//! A service's `environment`: which values stay literal, which become
//! `[vars]` references, and which become secret references (`{ env = "…" }`)
//! so that the manifest that lands in git holds no secret.

use serde_yaml_ng::Value;

use super::interpolate::{only_reference, references, Vars};
use super::toml_out::quote;
use crate::manifest::secret::{looks_secret, plainly_not_secret};

/// A value the importer replaced by a reference to an environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretReference {
    /// The variable to set before `geosync apply`.
    pub variable: String,
    pub service: String,
    pub key: String,
    /// Where the value was: said so the user knows what to set.
    pub origin: String,
}

/// The rendered `env = { … }` entries, and what the user must know.
#[derive(Default)]
pub struct Environment {
    pub entries: Vec<(String, String)>,
    pub secrets: Vec<SecretReference>,
    pub notes: Vec<String>,
}

pub fn environment(service: &str, env: Option<&Value>, vars: &mut Vars) -> Environment {
    let mut out = Environment::default();
    let Some(Value::Mapping(map)) = env else {
        return out;
    };
    for (key, value) in map {
        // A key interpolated in list form takes its value: keys are not interpolated in a manifest.
        let Some(key) = scalar(key).map(|k| vars.resolve(&k)) else {
            continue;
        };
        match value {
            Value::Null => pass_through(service, &key, vars, &mut out),
            other => {
                let Some(text) = scalar(other) else { continue };
                literal_or_reference(service, &key, &text, vars, &mut out);
            }
        }
    }
    out
}

/// `- KEY` without a value: compose takes it from the environment of
/// `compose up` (and the project's .env).
fn pass_through(service: &str, key: &str, vars: &mut Vars, out: &mut Environment) {
    if looks_secret(key) {
        out.entries.push((key.to_string(), env_reference(key)));
        out.secrets.push(SecretReference {
            variable: key.to_string(),
            service: service.to_string(),
            key: key.to_string(),
            origin: "passed through from the environment, as compose does".into(),
        });
    } else if vars.dotenv(key).is_some() {
        let marked = vars.interpolate(&format!("${{{key}}}")).unwrap_or_default();
        out.entries.push((key.to_string(), quote(&marked)));
    } else {
        out.notes.push(format!(
            "service `{service}`: `{key}` takes its value from the shell running compose and is not set in .env: not imported (add it to `env`)"
        ));
    }
}

fn literal_or_reference(service: &str, key: &str, text: &str, vars: &Vars, out: &mut Environment) {
    let resolved = vars.resolve(text);
    let names = references(text);
    let secret_var = names.iter().any(|n| looks_secret(n));
    // A flag stays literal, but only one whose value is known here.
    let unknown = names.iter().any(|n| vars.value(n).is_none());
    let secret_value = looks_secret(key) && (unknown || !plainly_not_secret(&resolved));
    if !secret_var && !secret_value {
        out.entries.push((key.to_string(), quote(text)));
        return;
    }
    // `${DB_PASSWORD}` alone: the user already exports that variable for compose.
    let (variable, origin) = match only_reference(text) {
        Some(name) => (
            name.to_string(),
            if vars.dotenv(name).is_some() {
                format!("`${{{name}}}`, whose value is in .env")
            } else {
                format!("`${{{name}}}`")
            },
        ),
        None => (
            format!("{}_{}", env_name(service), env_name(key)),
            if names.is_empty() {
                "a literal in the compose file".into()
            } else {
                format!(
                    "a value built from {}: set the whole value",
                    names
                        .iter()
                        .map(|n| format!("`${{{n}}}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        ),
    };
    out.entries.push((key.to_string(), env_reference(&variable)));
    out.secrets.push(SecretReference {
        variable,
        service: service.to_string(),
        key: key.to_string(),
        origin,
    });
}

fn env_reference(variable: &str) -> String {
    format!("{{ env = {} }}", quote(variable))
}

/// An environment variable name made of a service or key name.
pub fn env_name(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A YAML scalar as compose turns it into a string.
pub fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(yaml: &str, dotenv: &[(&str, &str)]) -> Environment {
        let mut vars = Vars::new(
            dotenv
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        let mut value: Value = serde_yaml_ng::from_str(yaml).unwrap();
        vars.interpolate_tree(&mut value).unwrap();
        environment("db-1", Some(&value), &mut vars)
    }

    #[test]
    fn flags_stay_literal_and_secrets_become_references() {
        let env = import(
            "{MYSQL_ALLOW_EMPTY_PASSWORD: 'yes', MYSQL_RANDOM_ROOT_PASSWORD: true, DB_PASSWORD: '', \
             DATABASE_PASSWORD: /run/secrets/db-password, MYSQL_ROOT_PASSWORD: somewordpress, \
             POSTGRES_PASSWORD: '${POSTGRES_PW}', URL: 'pg://u:${DB_PASSWD}@db', TZ: utc}",
            &[("POSTGRES_PW", "changeit")],
        );
        let rendered: Vec<String> = env.entries.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            rendered,
            vec![
                "MYSQL_ALLOW_EMPTY_PASSWORD=\"yes\"",
                "MYSQL_RANDOM_ROOT_PASSWORD=\"true\"",
                "DB_PASSWORD=\"\"",
                "DATABASE_PASSWORD=\"/run/secrets/db-password\"",
                "MYSQL_ROOT_PASSWORD={ env = \"DB_1_MYSQL_ROOT_PASSWORD\" }",
                "POSTGRES_PASSWORD={ env = \"POSTGRES_PW\" }",
                "URL={ env = \"DB_1_URL\" }",
                "TZ=\"utc\"",
            ]
        );
        let variables: Vec<&str> = env.secrets.iter().map(|s| s.variable.as_str()).collect();
        assert_eq!(
            variables,
            vec!["DB_1_MYSQL_ROOT_PASSWORD", "POSTGRES_PW", "DB_1_URL"]
        );
        assert!(!rendered.concat().contains("changeit"));
    }

    #[test]
    fn keys_without_value_pass_through() {
        let env = import(
            "{API_TOKEN: null, FROM_DOTENV: null, FROM_SHELL: null}",
            &[("FROM_DOTENV", "x")],
        );
        let rendered: Vec<String> = env.entries.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            rendered,
            vec![
                "API_TOKEN={ env = \"API_TOKEN\" }",
                "FROM_DOTENV=\"${FROM_DOTENV}\""
            ]
        );
        assert_eq!(env.notes.len(), 1, "{:?}", env.notes);
    }
}
