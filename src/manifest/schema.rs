//! The JSON Schema of the pieces every section shares: secret references
//! and `[vars]` values. Each system derives the schema of its own section
//! from its raw types (src/platform/schema.rs assembles them).

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

use super::secret::SecretRef;

/// Written by hand: SecretRef's Deserialize is hand-written too (it refuses
/// literals without echoing them), so there is no derive to follow.
impl JsonSchema for SecretRef {
    fn schema_name() -> Cow<'static, str> {
        "SecretRef".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let form = |key: &str, description: &str| {
            json_schema!({
                "type": "object",
                "properties": { key: { "type": "string", "description": description } },
                "required": [key],
                "additionalProperties": false,
            })
        };
        json_schema!({
            "description": "A secret: a reference, never a literal. Resolved at run time; never shown in plans, journals, logs or errors.",
            "oneOf": [
                form("env", "The environment variable holding the secret."),
                form("file", "A regular file (at most 64 KiB) holding the secret, relative to the manifest; a trailing newline is dropped."),
            ],
        })
    }
}

/// A value of `[vars]`.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)] // Only its schema is used: vars are read as TOML values.
pub enum VarValue {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
}

/// A string the loader checks against a list once `${var}`s are expanded:
/// one of `values`, or a string holding a `${var}`.
pub fn choice(values: &[&str]) -> Schema {
    json_schema!({
        "anyOf": [
            { "type": "string", "enum": values },
            VAR_REFERENCE.clone(),
        ],
    })
}

/// Like [`choice`], for values the loader checks by shape (`on-failure:3`).
pub fn shaped(pattern: &str) -> Schema {
    json_schema!({
        "anyOf": [
            { "type": "string", "pattern": pattern },
            VAR_REFERENCE.clone(),
        ],
    })
}

static VAR_REFERENCE: std::sync::LazyLock<serde_json::Value> =
    std::sync::LazyLock::new(|| serde_json::json!({ "type": "string", "pattern": "\\$\\{" }));

/// Declares a type that only describes a string key's allowed values, for
/// `#[schemars(with = "…")]` on the raw field (which stays a spanned string:
/// it may hold a `${var}`).
#[macro_export]
macro_rules! schema_string {
    ($(#[$doc:meta])* $name:ident = $schema:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                $schema
            }
        }
    };
}
