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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawManifest {
    #[serde(default)]
    pub vars: BTreeMap<String, Spanned<toml::Value>>,
    pub mviewer: Option<RawMviewer>,
    #[serde(default)]
    pub file: Vec<RawFile>,
}

/// Any configuration file rendered from a template or given inline.
#[derive(Debug, Deserialize)]
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMviewer {
    /// Host directory that receives one `<app>.xml` per application.
    pub target_dir: Option<Text>,
    /// Base URL of the platform's GeoServer, for layers named `workspace:layer`.
    pub geoserver_url: Option<Text>,
    #[serde(default)]
    pub app: Vec<RawMviewerApp>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMviewerApp {
    pub name: Text,
    pub title: Text,
    /// A template of the site's own instead of the built-in one.
    pub template: Option<Text>,
    pub logo: Option<Text>,
    pub help: Option<Text>,
    pub mouseposition: Option<bool>,
    pub measuretools: Option<bool>,
    pub mapprint: Option<bool>,
    pub exportpng: Option<bool>,
    pub map: Spanned<RawMapOptions>,
    #[serde(default)]
    pub baselayer: Vec<Spanned<RawBaseLayer>>,
    #[serde(default)]
    pub theme: Vec<Spanned<RawTheme>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMapOptions {
    pub projection: Option<Text>,
    pub center: Spanned<Vec<f64>>,
    pub zoom: Spanned<i64>,
    pub maxzoom: Option<Spanned<i64>>,
    pub projextent: Option<Spanned<Vec<f64>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBaseLayer {
    pub id: Text,
    #[serde(rename = "type")]
    pub kind: BaseLayerKind,
    pub label: Text,
    pub title: Option<Text>,
    pub url: Text,
    pub layers: Option<Text>,
    pub format: Option<Text>,
    #[serde(default)]
    pub visible: bool,
    pub attribution: Option<Text>,
    pub thumbgallery: Option<Text>,
    pub style: Option<Text>,
    pub matrixset: Option<Text>,
    pub maxzoom: Option<i64>,
    pub maxscale: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum BaseLayerKind {
    #[serde(rename = "WMS")]
    Wms,
    #[serde(rename = "WMTS")]
    Wmts,
    #[serde(rename = "OSM")]
    Osm,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTheme {
    pub id: Text,
    pub name: Text,
    pub icon: Option<Text>,
    #[serde(default = "default_true")]
    pub collapsed: bool,
    #[serde(default)]
    pub layer: Vec<Spanned<RawLayer>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLayer {
    /// `workspace:layer` on the platform's GeoServer.
    pub layer: Text,
    /// The name shown to users.
    pub name: Text,
    /// A WMS endpoint other than the platform's GeoServer.
    pub url: Option<Text>,
    #[serde(default)]
    pub visible: bool,
    #[serde(default = "default_true")]
    pub queryable: bool,
    #[serde(default)]
    pub tiled: bool,
    pub opacity: Option<Spanned<f64>>,
    pub style: Option<Text>,
    pub legendurl: Option<Text>,
    pub metadata: Option<Text>,
    #[serde(rename = "metadata-csw")]
    pub metadata_csw: Option<Text>,
    pub infoformat: Option<Text>,
    pub featurecount: Option<u32>,
    pub attribution: Option<Text>,
}

fn default_true() -> bool {
    true
}
