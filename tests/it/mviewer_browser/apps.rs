//! The test manifests over the loopback WMS.

use std::path::Path;

/// Apps over the same layers: one per base layer type, each opening on it,
/// and one in Lambert-93.
pub fn loopback_manifest(apps_dir: &Path, base_url: &str) -> String {
    let mut manifest = format!(
        r#"
[mviewer]
target_dir = "{apps}"
geoserver_url = "{base_url}/geoserver"
"#,
        apps = apps_dir.display()
    );
    let web_mercator =
        "projection = \"EPSG:3857\"\ncenter = [658000.0, 5920000.0]\nzoom = 12\nmaxzoom = 18\n\
        projextent = [-20037508.342789244, -20037508.342789244, 20037508.342789244, 20037508.342789244]";
    for visible in ["wms", "wmts", "osm"] {
        manifest.push_str(&loopback_app(visible, visible, web_mercator, "PM", base_url));
    }
    // Lambert-93, which Mviewer builds from projextent: the same place.
    let lambert = "projection = \"EPSG:2154\"\ncenter = [921694.0, 6644578.0]\nzoom = 8\n\
        projextent = [-357823.2365, 6037008.6939, 1313632.3628, 7230727.3772]";
    manifest.push_str(&loopback_app("l93", "wms", lambert, "EPSG:2154", base_url));
    manifest
}

/// An app over the loopback layers; `visible` names its visible base layer.
fn loopback_app(name: &str, visible: &str, map: &str, matrixset: &str, base_url: &str) -> String {
    let on = |id: &str| id == visible;
    format!(
        r#"
[[mviewer.app]]
name = "loopback_{name}"
title = "Loopback {name}"
mouseposition = true
measuretools = false
mapprint = false
exportpng = false

[mviewer.app.map]
{map}

[[mviewer.app.baselayer]]
id = "wms"
type = "WMS"
label = "Fond WMS"
title = "MapServer"
url = "{base_url}/wms"
layers = "fond"
format = "image/png"
visible = {wms}
thumbgallery = "img/basemap/osm.png"
attribution = "MapServer on loopback"
maxzoom = 18

[[mviewer.app.baselayer]]
id = "wmts"
type = "WMTS"
label = "Fond WMTS"
url = "{base_url}/wmts"
layers = "tuiles"
format = "image/png"
style = "normal"
matrixset = "{matrixset}"
visible = {wmts}
thumbgallery = "img/basemap/ortho.jpg"
attribution = "Tiles on loopback"
maxscale = 1000

[[mviewer.app.baselayer]]
id = "osm"
type = "OSM"
label = "Fond OSM"
url = "{base_url}/osm/{{z}}/{{x}}/{{y}}.png"
visible = {osm}
thumbgallery = "img/basemap/osm.png"
attribution = "OSM-style tiles on loopback"

[[mviewer.app.theme]]
id = "patrimoine"
name = "Patrimoine"
icon = "fas fa-landmark"
collapsed = false

[[mviewer.app.theme.layer]]
layer = "geosync-test:parcelles"
name = "Parcelles"
visible = true
queryable = true
tiled = false
style = "rouge"
infoformat = "text/html"
featurecount = 5
legendurl = "{base_url}/wms?SERVICE=WMS&REQUEST=GetLegendGraphic&VERSION=1.1.1&FORMAT=image/png&LAYER=fond"
metadata = "{base_url}/metadata/parcelles.html"
metadata-csw = "{base_url}/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=GetRecordById&ID=parcelles"
attribution = "Parcelles : test"

[[mviewer.app.theme]]
id = "bati"
name = "Bâti"

[[mviewer.app.theme.group]]
id = "constructions"
name = "Constructions"

[[mviewer.app.theme.group.layer]]
layer = "batiments"
url = "{base_url}/wms"
name = "Bâtiments"
visible = true
queryable = false
tiled = true
opacity = 0.5

[[mviewer.app.theme.layer]]
layer = "fond"
url = "{base_url}/wms"
name = "Fond en couche"

[mviewer.app.olscompletion]
url = "{base_url}/geocodage/completion"
attribution = "Adresses sur loopback"

[mviewer.app.searchparameters]
inputlabel = "Chercher une adresse"
bbox = true
closeafterclick = true
animate = true
duration = 500
searchmaxzoomlevel = 16
"#,
        wms = on("wms"),
        wmts = on("wmts"),
        osm = on("osm"),
    )
}
