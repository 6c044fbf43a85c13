//! What an app must show, read from its `[[mviewer.app]]`, compared with
//! what the probe saw in the page.

use std::collections::BTreeSet;

use serde_json::Value;

/// The sidebar the manifest asks for: per app, themes in order, each with
/// its groups and its direct layers (as Mviewer names them in the DOM).
#[derive(Debug, PartialEq)]
struct Tree {
    id: String,
    groups: Vec<(String, BTreeSet<String>)>,
    layers: BTreeSet<String>,
}

/// Mviewer's DOM id of a layer: its id without `:`, `,`, spaces and dots.
fn dom_layer_id(id: &str) -> String {
    id.chars()
        .filter(|c| !matches!(c, ':' | ',' | ' ' | '.'))
        .collect()
}

fn expected_tree(app: &toml::Value) -> Vec<Tree> {
    let ids = |layers: Option<&toml::Value>| -> BTreeSet<String> {
        layers
            .and_then(|l| l.as_array())
            .map(|l| {
                l.iter()
                    .map(|l| dom_layer_id(l["layer"].as_str().unwrap()))
                    .collect()
            })
            .unwrap_or_default()
    };
    app["theme"]
        .as_array()
        .unwrap()
        .iter()
        .map(|theme| Tree {
            id: theme["id"].as_str().unwrap().to_string(),
            groups: theme
                .get("group")
                .and_then(|g| g.as_array())
                .map(|groups| {
                    groups
                        .iter()
                        .map(|g| (g["name"].as_str().unwrap().to_string(), ids(g.get("layer"))))
                        .collect()
                })
                .unwrap_or_default(),
            layers: ids(theme.get("layer")),
        })
        .collect()
}

fn seen_tree(probe: &Value) -> Vec<Tree> {
    let set = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    probe["sidebar"]
        .as_array()
        .unwrap()
        .iter()
        .map(|theme| Tree {
            id: theme["id"].as_str().unwrap().to_string(),
            groups: theme["groups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| (g["name"].as_str().unwrap().to_string(), set(&g["layers"])))
                .collect(),
            layers: set(&theme["layers"]),
        })
        .collect()
}

/// The app shows what its `[[mviewer.app]]` asks for: sidebar, title, view,
/// visible base layer.
pub fn assert_app_matches(probe: &Value, app: &toml::Value) {
    assert_eq!(seen_tree(probe), expected_tree(app), "sidebar: {probe:#}");
    assert_eq!(probe["title"].as_str(), app["title"].as_str(), "{probe:#}");
    let map = &probe["map"];
    let options = &app["map"];
    let projection = options
        .get("projection")
        .and_then(|p| p.as_str())
        .unwrap_or("EPSG:3857");
    assert_eq!(map["projection"], projection, "{probe:#}");
    let center: Vec<f64> = options["center"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_float().unwrap())
        .collect();
    let seen: Vec<f64> = map["center"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_f64().unwrap())
        .collect();
    assert!(
        (seen[0] - center[0]).abs() < 1.0 && (seen[1] - center[1]).abs() < 1.0,
        "center {seen:?}, manifest {center:?}"
    );
    assert_eq!(
        map["zoom"].as_f64(),
        options["zoom"].as_integer().map(|z| z as f64),
        "{probe:#}"
    );
    if let Some(max) = options.get("maxzoom") {
        assert_eq!(
            map["maxZoom"].as_f64(),
            max.as_integer().map(|z| z as f64),
            "{probe:#}"
        );
    }
    let mut baselayers: Vec<(String, bool)> = map["baselayers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["id"].as_str().unwrap().to_string(),
                b["visible"].as_bool().unwrap(),
            )
        })
        .collect();
    baselayers.sort();
    let mut wanted: Vec<(String, bool)> = app["baselayer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let visible = b.get("visible").and_then(|v| v.as_bool()).unwrap_or(false);
            (b["id"].as_str().unwrap().to_string(), visible)
        })
        .collect();
    wanted.sort();
    assert_eq!(baselayers, wanted, "base layers: {probe:#}");
    assert_search_matches(probe, app);
}

/// The search box shows exactly when an address service is configured,
/// with the configured placeholder.
fn assert_search_matches(probe: &Value, app: &toml::Value) {
    let params = app.get("searchparameters");
    let localities = params
        .and_then(|p| p.get("localities"))
        .and_then(|l| l.as_bool())
        .unwrap_or(app.get("olscompletion").is_some());
    if !localities {
        assert_eq!(
            probe["search"],
            Value::Null,
            "a search box without search: {probe:#}"
        );
        return;
    }
    assert!(probe["search"].is_object(), "no search box: {probe:#}");
    if let Some(label) = params.and_then(|p| p.get("inputlabel")).and_then(|l| l.as_str()) {
        assert_eq!(probe["search"]["placeholder"].as_str(), Some(label), "{probe:#}");
    }
    let options = &probe["search"]["options"];
    for (key, default) in [
        ("localities", true),
        ("bbox", false),
        ("querymaponclick", false),
        ("closeafterclick", false),
    ] {
        let wanted = params
            .and_then(|p| p.get(key))
            .and_then(|v| v.as_bool())
            .unwrap_or(default);
        assert_eq!(
            options[key].as_bool(),
            Some(wanted),
            "search option {key}: {probe:#}"
        );
    }
}

/// Every layer attribute of the manifest, as Mviewer read it from the config.
pub fn assert_layers_match(probe: &Value, app: &toml::Value, geoserver_url: Option<&str>) {
    let overlays = probe["overlays"].as_object().expect("the probe lists overlays");
    let mut manifest_layers = Vec::new();
    for theme in app["theme"].as_array().unwrap() {
        manifest_layers.extend(
            theme
                .get("layer")
                .and_then(|l| l.as_array())
                .into_iter()
                .flatten(),
        );
        for group in theme
            .get("group")
            .and_then(|g| g.as_array())
            .into_iter()
            .flatten()
        {
            manifest_layers.extend(group["layer"].as_array().unwrap());
        }
    }
    assert_eq!(overlays.len(), manifest_layers.len(), "overlays: {overlays:#?}");
    for layer in manifest_layers {
        let id = layer["layer"].as_str().unwrap();
        let mut seen = overlays
            .get(id)
            .unwrap_or_else(|| panic!("{id} is not a layer of the app: {overlays:#?}"))
            .clone();
        // JSON keeps 1 and 1.0 apart; the opacity is a number either way.
        seen["opacity"] = serde_json::json!(seen["opacity"].as_f64());
        let text = |key: &str| layer.get(key).and_then(|v| v.as_str());
        let flag = |key: &str, default: bool| layer.get(key).and_then(|v| v.as_bool()).unwrap_or(default);
        let url = match (text("url"), id.split_once(':')) {
            (Some(url), _) => url.to_string(),
            (None, Some((workspace, _))) => format!("{}/{workspace}/wms", geoserver_url.unwrap()),
            (None, None) => unreachable!("geosync refuses such a layer"),
        };
        if text("legendurl").is_none() {
            // Mviewer asks the layer's WMS for a legend then.
            let legend = seen["legendurl"].as_str().unwrap_or_default().to_string();
            assert!(
                legend.starts_with(&url) && legend.contains("REQUEST=GetLegendGraphic"),
                "{id}: legend {legend}"
            );
            seen["legendurl"] = Value::Null;
        }
        let expected = serde_json::json!({
            "name": text("name"),
            "url": url,
            "visible": flag("visible", false),
            "opacity": Some(layer.get("opacity").and_then(|v| v.as_float()).unwrap_or(1.0)),
            "queryable": flag("queryable", true),
            "tiled": flag("tiled", false),
            "style": text("style"),
            "legendurl": text("legendurl"),
            "metadata": text("metadata"),
            "metadatacsw": text("metadata-csw"),
            "infoformat": text("infoformat").unwrap_or("application/vnd.ogc.gml"),
            "featurecount": layer.get("featurecount").map(|v| v.as_integer().unwrap().to_string()),
            "attribution": text("attribution"),
        });
        assert_eq!(seen, expected, "layer {id}");
    }
}

/// The manifest's apps, with its `[vars]` expanded as geosync expands them.
pub fn apps_of(manifest: &str) -> Vec<toml::Value> {
    let value: toml::Value = toml::from_str(manifest).unwrap();
    let mut text = manifest.to_string();
    for (name, var) in value.get("vars").and_then(|v| v.as_table()).into_iter().flatten() {
        let var = var.as_str().map_or_else(|| var.to_string(), str::to_string);
        text = text.replace(&format!("${{{name}}}"), &var);
    }
    let value: toml::Value = toml::from_str(&text).unwrap();
    value["mviewer"]["app"].as_array().unwrap().clone()
}
