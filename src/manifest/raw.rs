//! The TOML as written, mirrored by serde structs.
//!
//! Strict on purpose: every table refuses unknown keys, so a misspelt key is
//! an error with a suggestion instead of a setting silently ignored. Strings
//! that may hold `${var}` references keep their span, so a bad reference can
//! be pointed at.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub type Text = Spanned<String>;

/// Any configuration file rendered from a template or given inline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    pub name: Text,
    pub path: Text,
    pub template: Option<Text>,
    pub content: Option<Text>,
    /// Octal, as chmod takes it: "0640".
    pub mode: Option<Text>,
    /// Values the template reads as `{{ context.NAME }}`.
    #[serde(default)]
    pub context: BTreeMap<String, Text>,
    /// Secrets the template reads as `{{ secrets.NAME }}`.
    #[serde(default)]
    pub secrets: BTreeMap<String, Spanned<crate::manifest::secret::SecretRef>>,
}
