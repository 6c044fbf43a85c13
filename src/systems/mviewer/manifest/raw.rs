//! `[mviewer]` as written in the TOML.

use serde::Deserialize;
use toml::Spanned;

use crate::manifest::raw::Text;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMviewer {
    /// The folder that receives one `<app>.xml` per application: on the
    /// host, or inside `target_container`, or inside `target_volume`.
    pub target_dir: Option<Text>,
    /// A `[[docker.container]]`: `target_dir` is an absolute path in it.
    pub target_container: Option<Text>,
    /// A `[[docker.volume]]`: `target_dir` is relative to its root.
    pub target_volume: Option<Text>,
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
    /// The address search service behind the search box.
    pub olscompletion: Option<Spanned<RawOlsCompletion>>,
    /// How the search box behaves.
    pub searchparameters: Option<Spanned<RawSearchParameters>>,
}

/// Mviewer's `<olscompletion>`: an IGN-style geocoding service.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOlsCompletion {
    pub url: Text,
    #[serde(rename = "type")]
    pub kind: Option<OlsCompletionKind>,
    pub attribution: Option<Text>,
}

/// The two request shapes Mviewer 4.1 documents for `<olscompletion>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OlsCompletionKind {
    /// `?text=...` (the IGN completion service).
    #[default]
    Completion,
    /// `?q=...` (the IGN or BAN search service).
    Search,
}

/// Mviewer's `<searchparameters>`, for the address search geosync configures.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSearchParameters {
    pub localities: Option<bool>,
    pub bbox: Option<bool>,
    pub inputlabel: Option<Text>,
    pub marker: Option<bool>,
    pub querymaponclick: Option<bool>,
    pub closeafterclick: Option<bool>,
    pub animate: Option<bool>,
    pub duration: Option<Spanned<i64>>,
    pub searchmaxzoomlevel: Option<Spanned<i64>>,
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
    #[serde(default)]
    pub group: Vec<Spanned<RawGroup>>,
}

/// A group of layers inside a theme (one level, as in Mviewer).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    pub id: Text,
    pub name: Text,
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
