//! The TOML as written, mirrored by serde structs.
//!
//! Strict on purpose: every table refuses unknown keys, so a misspelt key is
//! an error with a suggestion instead of a setting silently ignored. Strings
//! that may hold `${var}` references keep their span, so a bad reference can
//! be pointed at.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

pub type Text = Spanned<String>;

/// Any configuration file rendered from a template or given inline.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    /// The resource name: `file:<name>` in plans, --only and errors.
    #[schemars(with = "String")]
    pub name: Text,
    /// Where the file goes; relative paths are relative to the manifest.
    #[schemars(with = "String")]
    pub path: Text,
    /// A minijinja template reading `vars.*`, `context.*` and `secrets.*`; or give `content`.
    #[schemars(with = "Option<String>")]
    pub template: Option<Text>,
    /// The file's content, taken as is; or give `template`.
    #[schemars(with = "Option<String>")]
    pub content: Option<Text>,
    /// Octal, as chmod takes it: "0640".
    #[schemars(with = "Option<String>")]
    pub mode: Option<Text>,
    /// Values the template reads as `{{ context.NAME }}`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub context: BTreeMap<String, Text>,
    /// Secrets the template reads as `{{ secrets.NAME }}`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, crate::manifest::secret::SecretRef>")]
    pub secrets: BTreeMap<String, Spanned<crate::manifest::secret::SecretRef>>,
}

/// Whether a declared object should exist: `absent` removes it, which
/// every system also makes wait for `--allow-drop` on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Ensure {
    #[default]
    Present,
    /// Remove it (drop, delete): also needs `--allow-drop` on the command line.
    Absent,
}
