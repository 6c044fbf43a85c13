//! Workspaces, data stores, feature types, coverage stores and layers.
//! Spec: workspaces.yaml, datastores.yaml, featuretypes.yaml,
//! coveragestores.yaml, layers.yaml; manual: api-workspaces.rst,
//! api-datastores.rst, api-featuretypes.rst, api-coveragestores.rst,
//! api-layers.rst; the messages and duplicate codes: manual/ERRORS.md.

use std::collections::BTreeMap;

use axum::http::Method;
use axum::response::Response;
use serde_json::{json, Value};

use super::{created, document, legal_name, list, not_allowed, ok, only_fields, text, Req, State};

#[derive(Debug, Clone, Default)]
pub struct Workspace {
    pub isolated: bool,
}

#[derive(Debug, Clone, Default)]
pub struct DataStore {
    pub description: Option<String>,
    pub enabled: bool,
    /// Connection parameters; `passwd` kept encrypted.
    pub params: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct FeatureType {
    pub native_name: String,
    pub title: String,
    pub srs: Option<String>,
    /// The `recalculate` values of every PUT, in order.
    pub recalculated: Vec<String>,
    pub info: ResourceMeta,
}

/// What feature types and coverages share beyond their names
/// (featuretypes.yaml, FeatureTypeInfo; the manual's coverage PUT).
#[derive(Debug, Clone)]
pub struct ResourceMeta {
    pub abstract_text: Option<String>,
    pub keywords: Vec<String>,
    /// (type, metadataType, content) of each `metadataLink`.
    pub metadata_links: Vec<(String, String, String)>,
    pub native_crs: Option<String>,
    pub projection_policy: Option<String>,
    pub enabled: bool,
}

impl Default for ResourceMeta {
    /// GeoServer enables a new resource unless told otherwise.
    fn default() -> Self {
        ResourceMeta {
            abstract_text: None,
            keywords: Vec::new(),
            metadata_links: Vec::new(),
            native_crs: None,
            projection_policy: None,
            enabled: true,
        }
    }
}

impl ResourceMeta {
    /// Takes what a POST or PUT body sets; what it leaves out stays.
    fn update(&mut self, body: &Value) {
        if let Some(text) = body["abstract"].as_str() {
            self.abstract_text = Some(text.to_string());
        }
        if !body["keywords"].is_null() {
            self.keywords = items(&body["keywords"]["string"])
                .into_iter()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect();
        }
        if !body["metadataLinks"].is_null() {
            self.metadata_links = items(&body["metadataLinks"]["metadataLink"])
                .into_iter()
                .map(|l| {
                    let field = |k: &str| l[k].as_str().unwrap_or_default().to_string();
                    (field("type"), field("metadataType"), field("content"))
                })
                .collect();
        }
        if let Some(wkt) = body["nativeCRS"].as_str() {
            self.native_crs = Some(wkt.to_string());
        }
        if let Some(policy) = body["projectionPolicy"].as_str() {
            self.projection_policy = Some(policy.to_string());
        }
        if !body["enabled"].is_null() {
            self.enabled = flag(&body["enabled"]);
        }
    }

    /// GeoServer's `ProjectionPolicy` enum (src/main/.../catalog/ProjectionPolicy.java;
    /// featuretypes.yaml:393, 538 show two of them): another value fails
    /// XStream's conversion, a 500.
    fn check(body: &Value) -> Result<(), Response> {
        match body["projectionPolicy"].as_str() {
            None | Some("FORCE_DECLARED" | "REPROJECT_TO_DECLARED" | "NONE") => Ok(()),
            Some(other) => Err(text(
                500,
                &format!("No enum constant org.geoserver.catalog.ProjectionPolicy.{other}"),
            )),
        }
    }

    /// The members it adds to a GET answer.
    fn render(&self, out: &mut Value) {
        out["abstract"] = json!(self.abstract_text);
        out["keywords"] = json!({"string": self.keywords});
        let links: Vec<Value> = self
            .metadata_links
            .iter()
            .map(|(t, m, c)| json!({"type": t, "metadataType": m, "content": c}))
            .collect();
        out["metadataLinks"] = json!({"metadataLink": links});
        if let Some(wkt) = &self.native_crs {
            out["nativeCRS"] = json!(wkt);
        }
        if let Some(policy) = &self.projection_policy {
            out["projectionPolicy"] = json!(policy);
        }
        out["enabled"] = json!(self.enabled);
    }
}

/// The entries of a list member GeoServer may write as one object or an array.
fn items(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        Value::String(s) if s.is_empty() => Vec::new(),
        other => vec![other],
    }
}

#[derive(Debug, Clone, Default)]
pub struct CoverageStore {
    pub bytes: usize,
    pub coverages: Vec<String>,
    /// Title and metadata of each coverage, by name.
    pub info: BTreeMap<String, (String, ResourceMeta)>,
}

#[derive(Debug, Clone, Default)]
pub struct Layer {
    /// `style` or `ws:style`.
    pub default_style: String,
    pub raster: bool,
    /// The store the resource is in.
    pub store: String,
}

fn no_workspace(ws: &str) -> Response {
    text(404, &format!("No such workspace: '{ws}' found"))
}

/// `/workspaces`: GET list, POST create (409 duplicate: workspaces.yaml:97,
/// ERRORS.md:40), PUT/DELETE 405 (workspaces.yaml:105, 113).
pub fn workspaces(state: &mut State, req: &Req) -> Response {
    match req.method {
        Method::GET => {
            let names = state
                .workspaces
                .keys()
                .map(|n| (n.clone(), format!("{}/workspaces/{n}.json", state.base)))
                .collect();
            document(req.format, &list("workspaces", "workspace", names))
        }
        Method::POST => {
            let doc = match req.document() {
                Ok(doc) => doc,
                Err(e) => return e,
            };
            let ws = &doc["workspace"];
            if let Err(e) = only_fields(ws, &["name", "isolated"], "workspace") {
                return e;
            }
            let Some(name) = ws["name"].as_str().filter(|n| !n.is_empty()) else {
                return text(500, "Workspace name must not be null");
            };
            if !legal_name(name) {
                return text(500, &format!("Name '{name}' is not legal XML'"));
            }
            if state.workspaces.contains_key(name) {
                return text(409, &format!("Workspace '{name}' already exists"));
            }
            let isolated = flag(&ws["isolated"]);
            state.workspaces.insert(name.to_string(), Workspace { isolated });
            if req.flag("default") || state.default_workspace.is_none() {
                state.default_workspace = Some(name.to_string());
            }
            created(&format!("{}/workspaces/{name}", state.base), name)
        }
        _ => not_allowed(),
    }
}

fn flag(value: &Value) -> bool {
    value.as_bool().unwrap_or_else(|| value.as_str() == Some("true"))
}

/// `/workspaces/{ws}` (and `/workspaces/default`): GET (404:
/// workspaces.yaml:168), PUT, DELETE (404, 403 non-empty without
/// `recurse`: workspaces.yaml:225-228); POST 405 (workspaces.yaml:203).
pub fn workspace(state: &mut State, req: &Req, ws: &str) -> Response {
    let name = if ws == "default" && req.method != Method::DELETE {
        match &state.default_workspace {
            Some(d) => d.clone(),
            None => return no_workspace(ws),
        }
    } else {
        ws.to_string()
    };
    match req.method {
        Method::GET => {
            let Some(w) = state.workspaces.get(&name) else {
                return no_workspace(&name);
            };
            let base = format!("{}/workspaces/{name}", state.base);
            document(
                req.format,
                &json!({"workspace": {
                    "name": name, "isolated": w.isolated,
                    "dataStores": format!("{base}/datastores.json"),
                    "coverageStores": format!("{base}/coveragestores.json"),
                    "wmsStores": format!("{base}/wmsstores.json"),
                }}),
            )
        }
        Method::PUT => put_workspace(state, req, ws, &name),
        Method::DELETE => delete_workspace(state, req, &name),
        _ => not_allowed(),
    }
}

fn put_workspace(state: &mut State, req: &Req, ws: &str, name: &str) -> Response {
    let doc = match req.document() {
        Ok(doc) => doc,
        Err(e) => return e,
    };
    let body = &doc["workspace"];
    if let Err(e) = only_fields(body, &["name", "isolated"], "workspace") {
        return e;
    }
    if !state.workspaces.contains_key(name) {
        return text(404, &format!("Can't change a non existant workspace ({name})"));
    }
    let new_name = body["name"].as_str().unwrap_or(name);
    if ws == "default" {
        // PUT /workspaces/default names the new default workspace.
        if !state.workspaces.contains_key(new_name) {
            return no_workspace(new_name);
        }
        state.default_workspace = Some(new_name.to_string());
        return ok();
    }
    if new_name.is_empty() {
        return text(403, "The workspace name cannot be empty");
    }
    if new_name != name {
        return text(403, "Can't change the name of a workspace.");
    }
    if !body["isolated"].is_null() {
        state.workspaces.get_mut(name).unwrap().isolated = flag(&body["isolated"]);
    }
    ok()
}

fn delete_workspace(state: &mut State, req: &Req, name: &str) -> Response {
    if !state.workspaces.contains_key(name) {
        return text(404, &format!("Workspace '{name}' not found"));
    }
    let in_ws = |k: &str| k == name;
    let empty = !state.datastores.keys().any(|(w, _)| in_ws(w))
        && !state.coveragestores.keys().any(|(w, _)| in_ws(w))
        && !state.styles.keys().any(|(w, _)| w.as_deref() == Some(name));
    if !empty && !req.flag("recurse") {
        return text(403, "Workspace not empty");
    }
    state.datastores.retain(|(w, _), _| w != name);
    state.featuretypes.retain(|(w, _, _), _| w != name);
    state.coveragestores.retain(|(w, _), _| w != name);
    state.layers.retain(|(w, _), _| w != name);
    state.styles.retain(|(w, _), _| w.as_deref() != Some(name));
    state.workspaces.remove(name);
    if state.default_workspace.as_deref() == Some(name) {
        state.default_workspace = state.workspaces.keys().next().cloned();
    }
    ok()
}

/// `/workspaces/{ws}/datastores`: GET list, POST create (500 duplicate:
/// ERRORS.md:47); PUT/DELETE 405 (datastores.yaml:72, 79).
pub fn datastores(state: &mut State, req: &Req, ws: &str) -> Response {
    if !state.workspaces.contains_key(ws) {
        return no_workspace(ws);
    }
    match req.method {
        Method::GET => {
            let names = state
                .datastores
                .keys()
                .filter(|(w, _)| w == ws)
                .map(|(_, n)| {
                    (
                        n.clone(),
                        format!("{}/workspaces/{ws}/datastores/{n}.json", state.base),
                    )
                })
                .collect();
            document(req.format, &list("dataStores", "dataStore", names))
        }
        Method::POST => {
            let store = match read_datastore(req, ws) {
                Ok(store) => store,
                Err(e) => return e,
            };
            let (name, mut store) = store;
            if state.datastores.contains_key(&(ws.to_string(), name.clone())) {
                return text(500, &format!("Store '{name}' already exists in workspace '{ws}'"));
            }
            store
                .params
                .entry("namespace".into())
                .or_insert_with(|| format!("http://{ws}"));
            state.datastores.insert((ws.to_string(), name.clone()), store);
            created(
                &format!("{}/workspaces/{ws}/datastores/{name}", state.base),
                &name,
            )
        }
        _ => not_allowed(),
    }
}

const DATASTORE_FIELDS: &[&str] = &[
    "name",
    "description",
    "type",
    "enabled",
    "workspace",
    "connectionParameters",
    "_default",
    "__default",
    "disableOnConnFailure",
];

/// A data store body: `connectionParameters` as `{"entry":[{"@key","$"}]}`
/// (what GeoServer writes) or as `{"host": …}` (the manual's XML example).
fn read_datastore(req: &Req, ws: &str) -> Result<(String, DataStore), Response> {
    let doc = req.document()?;
    let body = &doc["dataStore"];
    only_fields(body, DATASTORE_FIELDS, "dataStore")?;
    let name = body["name"].as_str().unwrap_or_default().to_string();
    if !legal_name(&name) {
        return Err(text(500, &format!("Name '{name}' is not legal XML'")));
    }
    if let Some(other) = body["workspace"]["name"].as_str().or(body["workspace"].as_str()) {
        if other != ws {
            return Err(text(
                403,
                &format!("Expected workspace {ws} but client specified {other}"),
            ));
        }
    }
    let mut params = BTreeMap::new();
    let cp = &body["connectionParameters"];
    let entries: Vec<&Value> = match &cp["entry"] {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![&cp["entry"]],
        _ => Vec::new(),
    };
    for entry in entries {
        let key = entry["@key"]
            .as_str()
            .ok_or_else(|| text(500, "connection parameter without key"))?;
        params.insert(key.to_string(), scalar(&entry["$"]));
    }
    if let Value::Object(map) = cp {
        for (key, value) in map.iter().filter(|(k, _)| *k != "entry") {
            params.insert(key.clone(), scalar(value));
        }
    }
    if let Some(pw) = params.get_mut("passwd") {
        *pw = encrypt(pw);
    }
    let store = DataStore {
        description: body["description"].as_str().map(str::to_string),
        enabled: body["enabled"].is_null() || flag(&body["enabled"]),
        params,
    };
    Ok((name, store))
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// GeoServer stores and returns passwords encrypted (`crypt1:`); a value
/// that already is stays as it is.
fn encrypt(password: &str) -> String {
    use base64::Engine;
    if password.starts_with("crypt1:") {
        return password.to_string();
    }
    let scrambled: Vec<u8> = password.bytes().rev().map(|b| b ^ 0x5a).collect();
    format!(
        "crypt1:{}",
        base64::engine::general_purpose::STANDARD.encode(scrambled)
    )
}

fn no_datastore(ws: &str, ds: &str) -> Response {
    text(404, &format!("No such datastore: {ws},{ds}"))
}

/// `/workspaces/{ws}/datastores/{ds}`: GET, PUT, DELETE (403 when it has
/// feature types and no `recurse`); POST 405.
pub fn datastore(state: &mut State, req: &Req, ws: &str, ds: &str) -> Response {
    if !state.workspaces.contains_key(ws) {
        return no_workspace(ws);
    }
    let key = (ws.to_string(), ds.to_string());
    match req.method {
        Method::GET => {
            let Some(store) = state.datastores.get(&key) else {
                return no_datastore(ws, ds);
            };
            document(req.format, &datastore_json(&state.base, ws, ds, store))
        }
        Method::PUT => {
            if !state.datastores.contains_key(&key) {
                return no_datastore(ws, ds);
            }
            let (name, mut store) = match read_datastore(req, ws) {
                Ok(found) => found,
                Err(e) => return e,
            };
            if !name.is_empty() && name != ds {
                return text(403, "Can't change the name of a store.");
            }
            store
                .params
                .entry("namespace".into())
                .or_insert_with(|| format!("http://{ws}"));
            state.datastores.insert(key, store);
            ok()
        }
        Method::DELETE => {
            if !state.datastores.contains_key(&key) {
                return no_datastore(ws, ds);
            }
            let used = state.featuretypes.keys().any(|(w, s, _)| w == ws && s == ds);
            if used && !req.flag("recurse") {
                return text(
                    403,
                    &format!("Unable to delete non-empty datastore {ds}. Use recurse=true"),
                );
            }
            let types: Vec<String> = state
                .featuretypes
                .keys()
                .filter(|(w, s, _)| w == ws && s == ds)
                .map(|(_, _, n)| n.clone())
                .collect();
            for name in types {
                state
                    .featuretypes
                    .remove(&(ws.to_string(), ds.to_string(), name.clone()));
                state.layers.remove(&(ws.to_string(), name));
            }
            state.datastores.remove(&key);
            ok()
        }
        _ => not_allowed(),
    }
}

fn datastore_json(base: &str, ws: &str, ds: &str, store: &DataStore) -> Value {
    let entries: Vec<Value> = store
        .params
        .iter()
        .map(|(k, v)| json!({"@key": k, "$": v}))
        .collect();
    let mut body = json!({
        "name": ds, "type": "PostGIS", "enabled": store.enabled,
        "workspace": {"name": ws, "href": format!("{base}/workspaces/{ws}.json")},
        "connectionParameters": {"entry": entries},
        "_default": false,
        "featureTypes": format!("{base}/workspaces/{ws}/datastores/{ds}/featuretypes.json"),
    });
    if let Some(d) = &store.description {
        body["description"] = json!(d);
    }
    json!({ "dataStore": body })
}

/// `/workspaces/{ws}[/datastores/{ds}]/featuretypes`: GET list; POST
/// (under a store) creates the feature type and its layer (500 duplicate).
pub fn featuretypes(state: &mut State, req: &Req, ws: &str, ds: Option<&str>) -> Response {
    if !state.workspaces.contains_key(ws) {
        return no_workspace(ws);
    }
    if let Some(ds) = ds {
        if !state.datastores.contains_key(&(ws.to_string(), ds.to_string())) {
            return no_datastore(ws, ds);
        }
    }
    match (req.method.clone(), ds) {
        (Method::GET, _) => {
            let names = state
                .featuretypes
                .keys()
                .filter(|(w, s, _)| w == ws && ds.is_none_or(|d| d == s))
                .map(|(_, s, n)| {
                    (
                        n.clone(),
                        format!(
                            "{}/workspaces/{ws}/datastores/{s}/featuretypes/{n}.json",
                            state.base
                        ),
                    )
                })
                .collect();
            document(req.format, &list("featureTypes", "featureType", names))
        }
        (Method::POST, Some(ds)) => post_featuretype(state, req, ws, ds),
        _ => not_allowed(),
    }
}

const FEATURETYPE_FIELDS: &[&str] = &[
    "name",
    "nativeName",
    "title",
    "abstract",
    "srs",
    "nativeCRS",
    "projectionPolicy",
    "enabled",
    "attributes",
    "keywords",
    "nativeBoundingBox",
    "latLonBoundingBox",
    "namespace",
    "store",
    "description",
    // featuretypes.yaml:360 (the FeatureTypeInfo example; its definition
    // spells the wrapper `metadatalinks`, XStream's alias is `metadataLinks`).
    "metadataLinks",
];

fn post_featuretype(state: &mut State, req: &Req, ws: &str, ds: &str) -> Response {
    let doc = match req.document() {
        Ok(doc) => doc,
        Err(e) => return e,
    };
    let body = &doc["featureType"];
    if let Err(e) =
        only_fields(body, FEATURETYPE_FIELDS, "featureType").and_then(|()| ResourceMeta::check(body))
    {
        return e;
    }
    let name = body["name"].as_str().unwrap_or_default().to_string();
    if !legal_name(&name) {
        return text(500, &format!("Name '{name}' is not legal XML'"));
    }
    let key = (ws.to_string(), ds.to_string(), name.clone());
    if state.featuretypes.contains_key(&key) || state.layers.contains_key(&(ws.to_string(), name.clone())) {
        return text(
            500,
            &format!("Resource named '{name}' already exists in store: '{ds}'"),
        );
    }
    let mut ft = FeatureType {
        native_name: body["nativeName"].as_str().unwrap_or(&name).to_string(),
        title: body["title"].as_str().unwrap_or(&name).to_string(),
        srs: body["srs"].as_str().map(str::to_string),
        recalculated: Vec::new(),
        info: ResourceMeta::default(),
    };
    ft.info.update(body);
    state.featuretypes.insert(key, ft);
    let layer = Layer {
        default_style: "generic".into(),
        raster: false,
        store: ds.to_string(),
    };
    state.layers.insert((ws.to_string(), name.clone()), layer);
    created(
        &format!(
            "{}/workspaces/{ws}/datastores/{ds}/featuretypes/{name}",
            state.base
        ),
        &name,
    )
}

/// `/workspaces/{ws}/datastores/{ds}/featuretypes/{ft}`: GET, PUT (with
/// `recalculate`), DELETE (403 while a layer uses it, unless `recurse`).
pub fn featuretype(state: &mut State, req: &Req, ws: &str, ds: &str, ft: &str) -> Response {
    let key = (ws.to_string(), ds.to_string(), ft.to_string());
    let missing = || text(404, &format!("No such feature type: {ws},{ds},{ft}"));
    match req.method {
        Method::GET => {
            let Some(f) = state.featuretypes.get(&key) else {
                return missing();
            };
            let mut value = json!({
                "name": ft, "nativeName": f.native_name, "title": f.title, "srs": f.srs,
                "namespace": {"name": ws, "href": format!("{}/namespaces/{ws}.json", state.base)},
                "store": {"@class": "dataStore", "name": format!("{ws}:{ds}")},
            });
            f.info.render(&mut value);
            document(req.format, &json!({ "featureType": value }))
        }
        Method::PUT => {
            let doc = match req.document() {
                Ok(doc) => doc,
                Err(e) => return e,
            };
            let body = &doc["featureType"];
            if let Err(e) =
                only_fields(body, FEATURETYPE_FIELDS, "featureType").and_then(|()| ResourceMeta::check(body))
            {
                return e;
            }
            let Some(f) = state.featuretypes.get_mut(&key) else {
                return missing();
            };
            if body["name"].as_str().is_some_and(|n| n != ft) {
                return text(403, "Can't change the name of a feature type.");
            }
            if let Some(title) = body["title"].as_str() {
                f.title = title.to_string();
            }
            if let Some(srs) = body["srs"].as_str() {
                f.srs = Some(srs.to_string());
            }
            if let Some(native) = body["nativeName"].as_str() {
                f.native_name = native.to_string();
            }
            f.info.update(body);
            f.recalculated
                .push(req.query.get("recalculate").cloned().unwrap_or_default());
            ok()
        }
        Method::DELETE => {
            if !state.featuretypes.contains_key(&key) {
                return missing();
            }
            let layer = (ws.to_string(), ft.to_string());
            if state.layers.contains_key(&layer) {
                if !req.flag("recurse") {
                    return text(
                        403,
                        &format!("Unable to delete resource referenced by layer '{ft}'"),
                    );
                }
                state.layers.remove(&layer);
            }
            state.featuretypes.remove(&key);
            ok()
        }
        _ => not_allowed(),
    }
}

/// `/workspaces/{ws}/coveragestores`: GET list.
pub fn coveragestores(state: &mut State, req: &Req, ws: &str) -> Response {
    if !state.workspaces.contains_key(ws) {
        return no_workspace(ws);
    }
    match req.method {
        Method::GET => {
            let names = state
                .coveragestores
                .keys()
                .filter(|(w, _)| w == ws)
                .map(|(_, n)| {
                    (
                        n.clone(),
                        format!("{}/workspaces/{ws}/coveragestores/{n}.json", state.base),
                    )
                })
                .collect();
            document(req.format, &list("coverageStores", "coverageStore", names))
        }
        Method::POST => text(500, "geosync's emulator creates coverage stores by upload only"),
        _ => not_allowed(),
    }
}

/// `PUT /workspaces/{ws}/coveragestores/{cs}/file.geotiff`: creates or
/// overwrites the store from a GeoTIFF body; `configure=first` (the
/// default) publishes its coverage as `coverageName`.
pub fn upload_geotiff(state: &mut State, req: &Req, ws: &str, cs: &str) -> Response {
    if req.method != Method::PUT {
        return not_allowed();
    }
    if !state.workspaces.contains_key(ws) {
        return no_workspace(ws);
    }
    let tiff = req.body.starts_with(b"II*\0") || req.body.starts_with(b"MM\0*");
    if !tiff || !req.content_type.starts_with("image/tiff") {
        return text(500, "Could not find appropriate reader for the uploaded file");
    }
    let coverage = req
        .query
        .get("coverageName")
        .cloned()
        .unwrap_or_else(|| cs.to_string());
    if !legal_name(cs) || !legal_name(&coverage) {
        return text(500, &format!("Name '{coverage}' is not legal XML'"));
    }
    let key = (ws.to_string(), cs.to_string());
    let existed = state.coveragestores.contains_key(&key);
    let configure = req.query.get("configure").map_or("first", String::as_str);
    let store = state.coveragestores.entry(key).or_default();
    store.bytes = req.body.len();
    if configure != "none" && !store.coverages.contains(&coverage) {
        store.coverages.push(coverage.clone());
        state.layers.insert(
            (ws.to_string(), coverage),
            Layer {
                default_style: "raster".into(),
                raster: true,
                store: cs.to_string(),
            },
        );
    }
    if existed {
        ok()
    } else {
        created(&format!("{}/workspaces/{ws}/coveragestores/{cs}", state.base), cs)
    }
}

/// `/workspaces/{ws}/coveragestores/{cs}`: GET, DELETE (403 while it has
/// coverages, unless `recurse`; `purge` accepted).
pub fn coveragestore(state: &mut State, req: &Req, ws: &str, cs: &str) -> Response {
    let key = (ws.to_string(), cs.to_string());
    let Some(store) = state.coveragestores.get(&key).cloned() else {
        return text(404, &format!("No such coverage store: {ws},{cs}"));
    };
    match req.method {
        Method::GET => document(
            req.format,
            &json!({"coverageStore": {"name": cs, "type": "GeoTIFF", "enabled": true,
                "workspace": {"name": ws}, "url": format!("file:data/{ws}/{cs}/{cs}.geotiff")}}),
        ),
        Method::DELETE => {
            if !store.coverages.is_empty() && !req.flag("recurse") {
                return text(
                    403,
                    &format!("Unable to delete non-empty coverage store {cs}. Use recurse=true"),
                );
            }
            for c in &store.coverages {
                state.layers.remove(&(ws.to_string(), c.clone()));
            }
            state.coveragestores.remove(&key);
            ok()
        }
        _ => not_allowed(),
    }
}

/// `/workspaces/{ws}/coveragestores/{cs}/coverages`: GET list; POST
/// (creating a coverage from a store's file) is not emulated: geosync
/// configures coverages on upload. PUT/DELETE 405 (api-coverages.rst).
pub fn coverages(state: &mut State, req: &Req, ws: &str, cs: &str) -> Response {
    let key = (ws.to_string(), cs.to_string());
    let Some(store) = state.coveragestores.get(&key) else {
        return text(404, &format!("No such coverage store: {ws},{cs}"));
    };
    match req.method {
        Method::GET => {
            let names = store
                .coverages
                .iter()
                .map(|c| {
                    (
                        c.clone(),
                        format!(
                            "{}/workspaces/{ws}/coveragestores/{cs}/coverages/{c}.json",
                            state.base
                        ),
                    )
                })
                .collect();
            document(req.format, &list("coverages", "coverage", names))
        }
        Method::POST => text(500, "geosync's emulator configures coverages by upload only"),
        _ => not_allowed(),
    }
}

/// The members of a coverage PUT the emulator reads; the others of
/// GeoServer's CoverageInfo are accepted and ignored, as no spec file
/// lists them (api-coverages.rst has no schema).
const COVERAGE_FIELDS: &[&str] = &[
    "name",
    "nativeName",
    "title",
    "abstract",
    "keywords",
    "metadataLinks",
    "srs",
    "nativeCRS",
    "projectionPolicy",
    "enabled",
    "nativeBoundingBox",
    "latLonBoundingBox",
    "store",
    "namespace",
    "description",
];

/// `/workspaces/{ws}/coveragestores/{cs}/coverages/{c}`: GET, PUT (200;
/// 403 for a rename: api-coverages.rst "Exceptions"), DELETE (403 while
/// a layer uses it, unless `recurse`); POST 405.
pub fn coverage(state: &mut State, req: &Req, ws: &str, cs: &str, c: &str) -> Response {
    let key = (ws.to_string(), cs.to_string());
    let exists = state
        .coveragestores
        .get(&key)
        .is_some_and(|s| s.coverages.iter().any(|x| x == c));
    if !exists {
        return text(404, &format!("No such coverage: {ws},{cs},{c}"));
    }
    match req.method {
        Method::GET => {
            let store = &state.coveragestores[&key];
            let (title, meta) = store.info.get(c).cloned().unwrap_or_default();
            let mut value = json!({"name": c, "nativeName": c, "title": title,
                "store": {"@class": "coverageStore", "name": format!("{ws}:{cs}")}});
            meta.render(&mut value);
            document(req.format, &json!({ "coverage": value }))
        }
        Method::PUT => put_coverage(state, req, &key, c),
        Method::DELETE => {
            let layer = (ws.to_string(), c.to_string());
            if state.layers.contains_key(&layer) && !req.flag("recurse") {
                return text(
                    403,
                    &format!("Unable to delete resource referenced by layer '{c}'"),
                );
            }
            state.layers.remove(&layer);
            let store = state.coveragestores.get_mut(&key).unwrap();
            store.coverages.retain(|x| x != c);
            store.info.remove(c);
            ok()
        }
        _ => not_allowed(),
    }
}

fn put_coverage(state: &mut State, req: &Req, key: &(String, String), c: &str) -> Response {
    let doc = match req.document() {
        Ok(doc) => doc,
        Err(e) => return e,
    };
    let body = &doc["coverage"];
    if let Err(e) = only_fields(body, COVERAGE_FIELDS, "coverage").and_then(|()| ResourceMeta::check(body)) {
        return e;
    }
    if body["name"].as_str().is_some_and(|n| n != c) {
        return text(403, "Can't change the name of a coverage.");
    }
    if body["store"]["name"]
        .as_str()
        .is_some_and(|s| s != key.1 && s != format!("{}:{}", key.0, key.1))
    {
        return text(403, "Can't change the store of a coverage.");
    }
    let store = state.coveragestores.get_mut(key).unwrap();
    let entry = store.info.entry(c.to_string()).or_default();
    if let Some(title) = body["title"].as_str() {
        entry.0 = title.to_string();
    }
    entry.1.update(body);
    ok()
}

/// `/layers`: GET, every layer by its qualified name (layers.yaml).
pub fn layers(state: &mut State, req: &Req) -> Response {
    if req.method != Method::GET {
        return not_allowed();
    }
    let names = state
        .layers
        .keys()
        .map(|(w, n)| (format!("{w}:{n}"), format!("{}/layers/{w}:{n}.json", state.base)))
        .collect();
    document(req.format, &list("layers", "layer", names))
}

/// `/layers/{ws:layer}`: GET, PUT (default style; renaming 403), DELETE.
pub fn layer(state: &mut State, req: &Req, qualified: &str) -> Response {
    let Some((ws, name)) = qualified.split_once(':') else {
        return text(404, &format!("No such layer: {qualified}"));
    };
    let key = (ws.to_string(), name.to_string());
    let Some(layer) = state.layers.get(&key).cloned() else {
        return text(404, &format!("No such layer: {qualified}"));
    };
    match req.method {
        Method::GET => layer_document(state, req, ws, name, &layer),
        Method::PUT => {
            let doc = match req.document() {
                Ok(doc) => doc,
                Err(e) => return e,
            };
            let body = &doc["layer"];
            if let Err(e) = only_fields(
                body,
                &[
                    "name",
                    "type",
                    "defaultStyle",
                    "styles",
                    "resource",
                    "enabled",
                    "queryable",
                    "opaque",
                    "path",
                    "attribution",
                ],
                "layer",
            ) {
                return e;
            }
            if body["name"].as_str().is_some_and(|n| n != name) {
                return text(403, "Can't change the name of a layer.");
            }
            if let Value::Object(style) = &body["defaultStyle"] {
                let style_name = style.get("name").and_then(Value::as_str).unwrap_or_default();
                let style_ws = style
                    .get("workspace")
                    .and_then(|w| w.as_str().or(w["name"].as_str()));
                let (style_ws, style_name) = match (style_ws, style_name.split_once(':')) {
                    (Some(w), _) => (Some(w.to_string()), style_name.to_string()),
                    (None, Some((w, n))) => (Some(w.to_string()), n.to_string()),
                    (None, None) => (None, style_name.to_string()),
                };
                if !state.styles.contains_key(&(style_ws.clone(), style_name.clone())) {
                    return text(500, &format!("No such style: {style_name}"));
                }
                let qualified_style = match style_ws {
                    Some(w) => format!("{w}:{style_name}"),
                    None => style_name,
                };
                state.layers.get_mut(&key).unwrap().default_style = qualified_style;
            }
            ok()
        }
        Method::DELETE => {
            state.layers.remove(&key);
            ok()
        }
        _ => not_allowed(),
    }
}

/// `GET /layers/{ws:layer}`: layers.yaml:114-140, the resource names its
/// class and links to itself under its store.
fn layer_document(state: &State, req: &Req, ws: &str, name: &str, layer: &Layer) -> Response {
    let (kind, class, href) = if layer.raster {
        let store = format!("coveragestores/{}/coverages", layer.store);
        ("RASTER", "coverage", store)
    } else {
        let store = format!("datastores/{}/featuretypes", layer.store);
        ("VECTOR", "featureType", store)
    };
    let href = format!("{}/workspaces/{ws}/{href}/{name}.json", state.base);
    document(
        req.format,
        &json!({"layer": {"name": name, "type": kind,
            "defaultStyle": {"name": layer.default_style},
            "resource": {"@class": class, "name": format!("{ws}:{name}"), "href": href}}}),
    )
}
