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
    /// The applications, one `<name>.xml` each.
    #[serde(default)]
    pub app: Vec<RawMviewerApp>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMviewerApp {
    /// The file name `<name>.xml`: letters, digits, - and _.
    #[schemars(with = "String")]
    pub name: Text,
    /// The application's title.
    #[schemars(with = "String")]
    pub title: Text,
    /// A template of the site's own instead of the built-in one.
    #[schemars(with = "Option<String>")]
    pub template: Option<Text>,
    /// The logo shown in the application.
    #[schemars(with = "Option<String>")]
    pub logo: Option<Text>,
    /// The help page of the application.
    #[schemars(with = "Option<String>")]
    pub help: Option<Text>,
    /// Show the mouse position.
    #[schemars(extend("default" = false))]
    pub mouseposition: Option<bool>,
    /// Offer the measure tools.
    #[schemars(extend("default" = true))]
    pub measuretools: Option<bool>,
    /// Offer printing the map.
    #[schemars(extend("default" = true))]
    pub mapprint: Option<bool>,
    /// Offer exporting the map as PNG.
    #[schemars(extend("default" = true))]
    pub exportpng: Option<bool>,
    /// The map: projection, center, zoom.
    #[schemars(with = "RawMapOptions")]
    pub map: Spanned<RawMapOptions>,
    /// The base layers; exactly one has visible = true.
    #[serde(default)]
    #[schemars(with = "Vec<RawBaseLayer>")]
    pub baselayer: Vec<Spanned<RawBaseLayer>>,
    /// The themes of layers.
    #[serde(default)]
    #[schemars(with = "Vec<RawTheme>")]
    pub theme: Vec<Spanned<RawTheme>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMapOptions {
    /// The map projection.
    #[schemars(with = "Option<String>")]
    #[schemars(extend("default" = "EPSG:3857"))]
    pub projection: Option<Text>,
    /// The center, in the map projection: [x, y].
    #[schemars(with = "Vec<f64>")]
    pub center: Spanned<Vec<f64>>,
    /// The initial zoom level, 0..30.
    #[schemars(with = "i64")]
    pub zoom: Spanned<i64>,
    /// The highest zoom level, >= zoom.
    #[schemars(with = "Option<i64>")]
    pub maxzoom: Option<Spanned<i64>>,
    /// The projection extent: [minx, miny, maxx, maxy].
    #[schemars(with = "Option<Vec<f64>>")]
    pub projextent: Option<Spanned<Vec<f64>>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBaseLayer {
    /// The base layer's id.
    #[schemars(with = "String")]
    pub id: Text,
    /// WMS, WMTS (needs matrixset) or OSM.
    #[serde(rename = "type")]
    pub kind: BaseLayerKind,
    /// The label shown to users.
    #[schemars(with = "String")]
    pub label: Text,
    /// The title shown to users.
    #[schemars(with = "Option<String>")]
    pub title: Option<Text>,
    /// The service URL.
    #[schemars(with = "String")]
    pub url: Text,
    /// The layer names; required for WMS and WMTS.
    #[schemars(with = "Option<String>")]
    pub layers: Option<Text>,
    /// The image format, e.g. image/png.
    #[schemars(with = "Option<String>")]
    pub format: Option<Text>,
    /// The base layer shown first; exactly one has visible = true.
    #[serde(default)]
    pub visible: bool,
    /// The attribution shown on the map.
    #[schemars(with = "Option<String>")]
    pub attribution: Option<Text>,
    /// The thumbnail in the base layer gallery.
    #[schemars(with = "Option<String>")]
    pub thumbgallery: Option<Text>,
    /// The WMTS style.
    #[schemars(with = "Option<String>")]
    pub style: Option<Text>,
    /// The WMTS matrix set; required for WMTS.
    #[schemars(with = "Option<String>")]
    pub matrixset: Option<Text>,
    /// The highest zoom level.
    pub maxzoom: Option<i64>,
    /// The largest scale.
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
    /// The theme's id.
    #[schemars(with = "String")]
    pub id: Text,
    /// The name shown to users.
    #[schemars(with = "String")]
    pub name: Text,
    /// A Font Awesome icon, e.g. "fas fa-industry".
    #[schemars(with = "Option<String>")]
    pub icon: Option<Text>,
    /// Shown collapsed.
    #[serde(default = "default_true")]
    pub collapsed: bool,
    /// The layers of the theme.
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
    /// Shown when the application opens.
    #[serde(default)]
    pub visible: bool,
    /// Answers GetFeatureInfo.
    #[serde(default = "default_true")]
    pub queryable: bool,
    /// Requested as tiles.
    #[serde(default)]
    pub tiled: bool,
    /// 0..1.
    #[schemars(with = "Option<f64>")]
    pub opacity: Option<Spanned<f64>>,
    /// The WMS style.
    #[schemars(with = "Option<String>")]
    pub style: Option<Text>,
    /// The legend image URL.
    #[schemars(with = "Option<String>")]
    pub legendurl: Option<Text>,
    /// The metadata record's URL.
    #[schemars(with = "Option<String>")]
    pub metadata: Option<Text>,
    /// The metadata record's CSW URL.
    #[serde(rename = "metadata-csw")]
    #[schemars(with = "Option<String>")]
    pub metadata_csw: Option<Text>,
    /// The GetFeatureInfo format.
    #[schemars(with = "Option<String>")]
    #[schemars(extend("default" = "application/vnd.ogc.gml"))]
    pub infoformat: Option<Text>,
    /// How many features GetFeatureInfo returns.
    pub featurecount: Option<u32>,
    /// The attribution shown on the map.
    #[schemars(with = "Option<String>")]
    pub attribution: Option<Text>,
}

fn default_true() -> bool {
    true
}
