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
    /// The address search service behind the search box.
    #[schemars(with = "Option<RawOlsCompletion>")]
    pub olscompletion: Option<Spanned<RawOlsCompletion>>,
    /// How the search box behaves; needs olscompletion.
    #[schemars(with = "Option<RawSearchParameters>")]
    pub searchparameters: Option<Spanned<RawSearchParameters>>,
}

/// Mviewer's `<olscompletion>`: an IGN-style geocoding service.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOlsCompletion {
    /// The service's absolute http(s) URL.
    #[schemars(with = "String")]
    pub url: Text,
    /// completion (?text=) or search (?q=).
    #[serde(rename = "type")]
    #[schemars(extend("default" = "completion"))]
    pub kind: Option<OlsCompletionKind>,
    /// The service's credit, shown under the search results.
    #[schemars(with = "Option<String>")]
    pub attribution: Option<Text>,
}

/// The two request shapes Mviewer 4.1 documents for `<olscompletion>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OlsCompletionKind {
    /// `?text=...` (the IGN completion service).
    #[default]
    Completion,
    /// `?q=...` (the IGN or BAN search service).
    Search,
}

/// Mviewer's `<searchparameters>`, for the address search geosync configures.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSearchParameters {
    /// Search addresses with the olscompletion service.
    #[schemars(extend("default" = true))]
    pub localities: Option<bool>,
    /// Search within the map's extent only.
    #[schemars(extend("default" = false))]
    pub bbox: Option<bool>,
    /// The search box's placeholder.
    #[schemars(with = "Option<String>")]
    pub inputlabel: Option<Text>,
    /// Mark the chosen result on the map.
    #[schemars(extend("default" = true))]
    pub marker: Option<bool>,
    /// Query the map at the chosen result.
    #[schemars(extend("default" = false))]
    pub querymaponclick: Option<bool>,
    /// Close the result list once a result is chosen.
    #[schemars(extend("default" = false))]
    pub closeafterclick: Option<bool>,
    /// Animate the move to the chosen result.
    #[schemars(extend("default" = false))]
    pub animate: Option<bool>,
    /// The animation's duration, in milliseconds.
    #[schemars(with = "Option<i64>")]
    pub duration: Option<Spanned<i64>>,
    /// The highest zoom level a result is shown at, 0..30.
    #[schemars(with = "Option<i64>")]
    pub searchmaxzoomlevel: Option<Spanned<i64>>,
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
    /// The projection extent: [minx, miny, maxx, maxy]; required unless EPSG:3857 or EPSG:4326.
    #[schemars(with = "Option<Vec<f64>>")]
    pub projextent: Option<Spanned<Vec<f64>>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBaseLayer {
    /// The base layer's id.
    #[schemars(with = "String")]
    pub id: Text,
    /// WMS, WMTS (needs style and matrixset) or OSM.
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
    /// The image format, e.g. image/png; required for WMS and WMTS.
    #[schemars(with = "Option<String>")]
    pub format: Option<Text>,
    /// The base layer shown first; exactly one has visible = true.
    #[serde(default)]
    pub visible: bool,
    /// The attribution shown on the map; required.
    #[schemars(with = "Option<String>")]
    pub attribution: Option<Text>,
    /// The thumbnail in the base layer gallery; required.
    #[schemars(with = "Option<String>")]
    pub thumbgallery: Option<Text>,
    /// The WMTS style; required for WMTS.
    #[schemars(with = "Option<String>")]
    pub style: Option<Text>,
    /// The WMTS matrix set, required for WMTS: PM, EPSG:3857, EPSG:4326 or EPSG:2154.
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
    /// Shown collapsed; at most one theme has collapsed = false.
    #[serde(default = "default_true")]
    pub collapsed: bool,
    /// The layers of the theme.
    #[serde(default)]
    #[schemars(with = "Vec<RawLayer>")]
    pub layer: Vec<Spanned<RawLayer>>,
    /// Groups of layers, listed before the theme's own layers.
    #[serde(default)]
    #[schemars(with = "Vec<RawGroup>")]
    pub group: Vec<Spanned<RawGroup>>,
}

/// A group of layers inside a theme (one level, as in Mviewer).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    /// The group's id, unique in its theme.
    #[schemars(with = "String")]
    pub id: Text,
    /// The name shown to users.
    #[schemars(with = "String")]
    pub name: Text,
    /// The layers of the group (at least one).
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
