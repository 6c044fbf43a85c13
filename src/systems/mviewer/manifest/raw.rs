//! `[mviewer]` as written in the TOML.

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::manifest::raw::Text;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMviewer {
    /// The folder that receives one `<app>.xml` per application: on the
    /// host, or inside `target_container`, or inside `target_volume`.
    #[schemars(with = "Option<String>")]
    pub target_dir: Option<Text>,
    /// A `[[docker.container]]`: `target_dir` is an absolute path in it.
    #[schemars(with = "Option<String>")]
    pub target_container: Option<Text>,
    /// A `[[docker.volume]]`: `target_dir` is relative to its root.
    #[schemars(with = "Option<String>")]
    pub target_volume: Option<Text>,
    /// Base URL of the platform's GeoServer, for layers named `workspace:layer`.
    #[schemars(with = "Option<String>")]
    pub geoserver_url: Option<Text>,
    #[serde(default)]
    pub app: Vec<RawMviewerApp>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMviewerApp {
    #[schemars(with = "String")]
    pub name: Text,
    #[schemars(with = "String")]
    pub title: Text,
    /// A template of the site's own instead of the built-in one.
    #[schemars(with = "Option<String>")]
    pub template: Option<Text>,
    #[schemars(with = "Option<String>")]
    pub logo: Option<Text>,
    #[schemars(with = "Option<String>")]
    pub help: Option<Text>,
    pub mouseposition: Option<bool>,
    pub measuretools: Option<bool>,
    pub mapprint: Option<bool>,
    pub exportpng: Option<bool>,
    #[schemars(with = "RawMapOptions")]
    pub map: Spanned<RawMapOptions>,
    #[serde(default)]
    #[schemars(with = "Vec<RawBaseLayer>")]
    pub baselayer: Vec<Spanned<RawBaseLayer>>,
    #[serde(default)]
    #[schemars(with = "Vec<RawTheme>")]
    pub theme: Vec<Spanned<RawTheme>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMapOptions {
    #[schemars(with = "Option<String>")]
    pub projection: Option<Text>,
    #[schemars(with = "Vec<f64>")]
    pub center: Spanned<Vec<f64>>,
    #[schemars(with = "i64")]
    pub zoom: Spanned<i64>,
    #[schemars(with = "Option<i64>")]
    pub maxzoom: Option<Spanned<i64>>,
    #[schemars(with = "Option<Vec<f64>>")]
    pub projextent: Option<Spanned<Vec<f64>>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBaseLayer {
    #[schemars(with = "String")]
    pub id: Text,
    #[serde(rename = "type")]
    pub kind: BaseLayerKind,
    #[schemars(with = "String")]
    pub label: Text,
    #[schemars(with = "Option<String>")]
    pub title: Option<Text>,
    #[schemars(with = "String")]
    pub url: Text,
    #[schemars(with = "Option<String>")]
    pub layers: Option<Text>,
    #[schemars(with = "Option<String>")]
    pub format: Option<Text>,
    #[serde(default)]
    pub visible: bool,
    #[schemars(with = "Option<String>")]
    pub attribution: Option<Text>,
    #[schemars(with = "Option<String>")]
    pub thumbgallery: Option<Text>,
    #[schemars(with = "Option<String>")]
    pub style: Option<Text>,
    #[schemars(with = "Option<String>")]
    pub matrixset: Option<Text>,
    pub maxzoom: Option<i64>,
    pub maxscale: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
pub enum BaseLayerKind {
    #[serde(rename = "WMS")]
    Wms,
    #[serde(rename = "WMTS")]
    Wmts,
    #[serde(rename = "OSM")]
    Osm,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTheme {
    #[schemars(with = "String")]
    pub id: Text,
    #[schemars(with = "String")]
    pub name: Text,
    #[schemars(with = "Option<String>")]
    pub icon: Option<Text>,
    #[serde(default = "default_true")]
    pub collapsed: bool,
    #[serde(default)]
    #[schemars(with = "Vec<RawLayer>")]
    pub layer: Vec<Spanned<RawLayer>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLayer {
    /// `workspace:layer` on the platform's GeoServer.
    #[schemars(with = "String")]
    pub layer: Text,
    /// The name shown to users.
    #[schemars(with = "String")]
    pub name: Text,
    /// A WMS endpoint other than the platform's GeoServer.
    #[schemars(with = "Option<String>")]
    pub url: Option<Text>,
    #[serde(default)]
    pub visible: bool,
    #[serde(default = "default_true")]
    pub queryable: bool,
    #[serde(default)]
    pub tiled: bool,
    #[schemars(with = "Option<f64>")]
    pub opacity: Option<Spanned<f64>>,
    #[schemars(with = "Option<String>")]
    pub style: Option<Text>,
    #[schemars(with = "Option<String>")]
    pub legendurl: Option<Text>,
    #[schemars(with = "Option<String>")]
    pub metadata: Option<Text>,
    #[serde(rename = "metadata-csw")]
    #[schemars(with = "Option<String>")]
    pub metadata_csw: Option<Text>,
    #[schemars(with = "Option<String>")]
    pub infoformat: Option<Text>,
    pub featurecount: Option<u32>,
    #[schemars(with = "Option<String>")]
    pub attribution: Option<Text>,
}

fn default_true() -> bool {
    true
}
