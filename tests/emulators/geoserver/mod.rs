//! A GeoServer REST emulator for tests and benchmarks: GeoServer cannot be
//! installed on the machines geosync is tested on, so this stands in for it.
//!
//! It follows GeoServer's published REST descriptions and manual, copied
//! in tests/fixtures/geoserver-specs/ (OpenAPI `*.yaml`, manual `manual/`,
//! and `manual/ERRORS.md` for the status codes GeoServer really answers):
//! paths under `/geoserver/rest`, the methods each path allows (405
//! otherwise), JSON and XML as GeoServer writes them (`xml.rs`), plain-text
//! error bodies, and these status codes: 409 for a duplicate workspace,
//! 500 for a duplicate store or feature type, 403 for a duplicate style or
//! a non-empty delete without `recurse`, 404 for what does not exist, 409
//! and 422 for the access rules. Request bodies are checked against the
//! fields the descriptions define; an unknown field is refused as
//! GeoServer's XStream reader refuses it (500). Every request needs HTTP
//! Basic credentials (GeoServer's default REST security), or geOrchestra's
//! `sec-username`/`sec-roles` headers with ROLE_ADMINISTRATOR when
//! `Config::preauth` is set.
//!
//! State is in memory. The emulator counts requests (the benchmark reports
//! them) and can be told to fail the next requests matching a method and
//! a path (`fail`), to test retries and re-runs after a 5xx mid-apply.
//!
//! Each test starts its own instance on a free port; it stops when dropped.

#![allow(dead_code)]
// A handler's error is the HTTP answer itself; its size does not matter here.
#![allow(clippy::result_large_err)]

mod catalog;
mod security;
mod styles;
mod xml;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

pub use catalog::{CoverageStore, DataStore, FeatureType, Layer, Workspace};
pub use styles::Style;

/// Who may call the emulator.
#[derive(Clone, Debug)]
pub struct Config {
    pub user: String,
    pub password: String,
    /// Trust geOrchestra's pre-authentication headers.
    pub preauth: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            user: "admin".into(),
            password: "geoserver".into(),
            preauth: false,
        }
    }
}

/// A request to fail on purpose: the next `times` requests whose method
/// is `method` and whose path contains `path` get `status` and `body`.
#[derive(Clone, Debug, Default)]
pub struct Fault {
    pub method: Method,
    pub path: String,
    pub status: u16,
    pub body: String,
    pub times: usize,
    /// Carry the request out first, then answer with the failure: the
    /// change is made but its answer is lost (a proxy timing out).
    pub after: bool,
}

/// Everything GeoServer would hold, plus the request log.
#[derive(Default, Debug)]
pub struct State {
    pub workspaces: BTreeMap<String, Workspace>,
    pub default_workspace: Option<String>,
    pub datastores: BTreeMap<(String, String), DataStore>,
    pub featuretypes: BTreeMap<(String, String, String), FeatureType>,
    pub coveragestores: BTreeMap<(String, String), CoverageStore>,
    /// (workspace, layer name) -> layer.
    pub layers: BTreeMap<(String, String), Layer>,
    /// (workspace or None for global, name) -> style.
    pub styles: BTreeMap<(Option<String>, String), Style>,
    /// Layer access rules: `ws.layer.access` -> comma-separated roles.
    pub acl: BTreeMap<String, String>,
    /// Every request received: (method, path and query).
    pub requests: Vec<(String, String)>,
    pub faults: Vec<Fault>,
    /// The base URL, for the links documents carry.
    pub base: String,
}

pub struct Emulator {
    /// `http://127.0.0.1:PORT/geoserver`, as geosync's `[geoserver] url`.
    pub url: String,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Emulator {
    /// Starts an emulator on a free loopback port, in a thread of its own
    /// (tests run the geosync binary and stay synchronous).
    pub fn start(config: Config) -> Emulator {
        let state = Arc::new(Mutex::new(State::default()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let shared = state.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("a free port");
                port_tx.send(listener.local_addr().unwrap().port()).unwrap();
                // GeoServer takes uploads of any size (a GeoTIFF PUT to
                // file.geotiff, api-coveragestores.rst); axum's 2 MB default
                // would refuse a real raster.
                let app = axum::Router::new()
                    .fallback(handle)
                    .layer(axum::extract::DefaultBodyLimit::disable())
                    .with_state((shared, Arc::new(config)));
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .expect("the emulator serves");
            });
        });
        let port = port_rx.recv().expect("the emulator started");
        let url = format!("http://127.0.0.1:{port}/geoserver");
        {
            let mut state = state.lock().unwrap();
            state.base = format!("{url}/rest");
            for (name, style) in styles::builtin() {
                state.styles.insert((None, name), style);
            }
        }
        Emulator {
            url,
            state,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Reads or changes the state directly (seeding, checking).
    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    pub fn request_count(&self) -> usize {
        self.with(|s| s.requests.len())
    }

    /// Requests by method, e.g. `count("GET")`.
    pub fn count(&self, method: &str) -> usize {
        self.with(|s| s.requests.iter().filter(|(m, _)| m == method).count())
    }

    pub fn clear_requests(&self) {
        self.with(|s| s.requests.clear());
    }

    /// The writes received (method and path), for checking what an apply did.
    pub fn writes(&self) -> Vec<String> {
        self.with(|s| {
            s.requests
                .iter()
                .filter(|(m, _)| m != "GET")
                .map(|(m, p)| format!("{m} {p}"))
                .collect()
        })
    }

    pub fn fail(&self, method: Method, path: &str, status: u16, times: usize) {
        self.with(|s| {
            s.faults.push(Fault {
                method,
                path: path.to_string(),
                status,
                body: "Injected failure".into(),
                times,
                after: false,
            })
        });
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

type Shared = (Arc<Mutex<State>>, Arc<Config>);

/// The representation a request asks for: by extension, else by Accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
    Html,
    /// A style document (`.sld`, or an Accept of a style media type).
    Style,
}

/// One request, decoded.
pub struct Req {
    pub method: Method,
    /// Path segments after `/geoserver/rest`, percent-decoded, the last
    /// one without its format extension.
    pub segments: Vec<String>,
    pub query: BTreeMap<String, String>,
    pub format: Format,
    pub content_type: String,
    pub body: Bytes,
}

impl Req {
    pub fn flag(&self, name: &str) -> bool {
        self.query
            .get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// The body as GeoServer's JSON form, from JSON or XML; None when it
    /// is neither or cannot be read.
    pub fn document(&self) -> Result<Value, Response> {
        let body = std::str::from_utf8(&self.body).map_err(|_| text(500, "Request body is not UTF-8"))?;
        let ct = self.content_type.as_str();
        if ct.contains("json") {
            serde_json::from_str(body).map_err(|e| text(500, &format!("Error parsing JSON: {e}")))
        } else if ct.contains("xml") {
            xml::to_json(body).map_err(|e| text(500, &format!("Error parsing XML: {e}")))
        } else {
            Err(text(415, &format!("Content type '{ct}' not supported")))
        }
    }
}

/// A plain-text answer, as GeoServer's REST error handler writes one.
pub fn text(status: u16, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "text/plain;charset=utf-8")],
        message.to_string(),
    )
        .into_response()
}

/// A document in the asked format (`{"root": {...}}`).
pub fn document(format: Format, value: &Value) -> Response {
    match format {
        Format::Xml => (
            StatusCode::OK,
            [("content-type", "application/xml")],
            xml::from_json(value),
        )
            .into_response(),
        Format::Html => (
            StatusCode::OK,
            [("content-type", "text/html")],
            format!(
                "<html><body><pre>{}</pre></body></html>",
                xml::from_json(value).replace('<', "&lt;")
            ),
        )
            .into_response(),
        _ => (
            StatusCode::OK,
            [("content-type", "application/json")],
            xml::json_text(value),
        )
            .into_response(),
    }
}

/// 201 with the new object's URL in Location and its name as the body.
pub fn created(location: &str, name: &str) -> Response {
    (
        StatusCode::CREATED,
        [("location", location), ("content-type", "text/plain")],
        name.to_string(),
    )
        .into_response()
}

pub fn ok() -> Response {
    StatusCode::OK.into_response()
}

/// 405, for a method a path does not allow (api-details.rst, "Status codes").
pub fn not_allowed() -> Response {
    text(405, "Request method not supported")
}

async fn handle(
    axum::extract::State((state, config)): axum::extract::State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path_and_query = uri
        .path_and_query()
        .map_or(uri.path().to_string(), |p| p.to_string());
    let mut state = state.lock().unwrap();
    state.requests.push((method.to_string(), path_and_query.clone()));
    let Some(rest) = uri.path().strip_prefix("/geoserver/rest") else {
        return text(404, "Not found");
    };
    if !authorized(&headers, &config) {
        return (
            StatusCode::UNAUTHORIZED,
            [("www-authenticate", "Basic realm=\"GeoServer Realm\"")],
            "Unauthorized",
        )
            .into_response();
    }
    let fault = state
        .faults
        .iter_mut()
        .find(|f| f.times > 0 && f.method == method && path_and_query.contains(&f.path))
        .map(|fault| {
            fault.times -= 1;
            fault.clone()
        });
    if let Some(fault) = fault.as_ref().filter(|f| !f.after) {
        return text(fault.status, &fault.body);
    }
    let req = match decode(method, rest, uri.query(), &headers, body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let response = route(&mut state, &req);
    match fault {
        Some(fault) => text(fault.status, &fault.body),
        None => response,
    }
}

fn authorized(headers: &HeaderMap, config: &Config) -> bool {
    use base64::Engine;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if config.preauth {
        if let (Some(_), Some(roles)) = (header("sec-username"), header("sec-roles")) {
            return roles.split(';').any(|r| r == "ROLE_ADMINISTRATOR");
        }
    }
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", config.user, config.password));
    header("authorization").is_some_and(|a| a == format!("Basic {expected}"))
}

/// Known format extensions; other dots belong to names (`it.geosolutions`).
const EXTENSIONS: &[(&str, Format)] = &[
    (".json", Format::Json),
    (".xml", Format::Xml),
    (".html", Format::Html),
    (".sld", Format::Style),
];

fn decode(
    method: Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Req, Response> {
    let mut segments = Vec::new();
    for raw in path.split('/').filter(|s| !s.is_empty()) {
        let decoded = percent_decode(raw).ok_or_else(|| text(400, "Malformed URL"))?;
        segments.push(decoded);
    }
    let accept = headers.get("accept").and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut format = if accept.contains("json") {
        Format::Json
    } else if accept.contains("vnd.ogc.s") {
        Format::Style
    } else if accept.contains("xml") {
        Format::Xml
    } else {
        Format::Html
    };
    if let Some(last) = segments.last_mut() {
        if let Some((ext, f)) = EXTENSIONS
            .iter()
            .find(|(ext, _)| last.ends_with(ext) && last.len() > ext.len())
        {
            last.truncate(last.len() - ext.len());
            format = *f;
        }
    }
    let query = query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Some((percent_decode(k)?, percent_decode(v)?))
        })
        .collect();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    Ok(Req {
        method,
        segments,
        query,
        format,
        content_type,
        body,
    })
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn route(state: &mut State, req: &Req) -> Response {
    let s: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["workspaces"] => catalog::workspaces(state, req),
        ["workspaces", ws] => catalog::workspace(state, req, ws),
        ["workspaces", ws, "datastores"] => catalog::datastores(state, req, ws),
        ["workspaces", ws, "datastores", ds] => catalog::datastore(state, req, ws, ds),
        ["workspaces", ws, "datastores", ds, "featuretypes"] => {
            catalog::featuretypes(state, req, ws, Some(ds))
        }
        ["workspaces", ws, "datastores", ds, "featuretypes", ft] => {
            catalog::featuretype(state, req, ws, ds, ft)
        }
        ["workspaces", ws, "featuretypes"] => catalog::featuretypes(state, req, ws, None),
        ["workspaces", ws, "coveragestores"] => catalog::coveragestores(state, req, ws),
        ["workspaces", ws, "coveragestores", cs] => catalog::coveragestore(state, req, ws, cs),
        ["workspaces", ws, "coveragestores", cs, "file.geotiff"] => {
            catalog::upload_geotiff(state, req, ws, cs)
        }
        ["workspaces", ws, "coveragestores", cs, "coverages"] => catalog::coverages(state, req, ws, cs),
        ["workspaces", ws, "coveragestores", cs, "coverages", c] => catalog::coverage(state, req, ws, cs, c),
        ["layers"] => catalog::layers(state, req),
        ["layers", name] => catalog::layer(state, req, name),
        ["styles"] => styles::styles(state, req, None),
        ["styles", name] => styles::style(state, req, None, name),
        ["workspaces", ws, "styles"] => styles::styles(state, req, Some(ws)),
        ["workspaces", ws, "styles", name] => styles::style(state, req, Some(ws), name),
        ["security", "acl", "layers"] => security::rules(state, req),
        ["security", "acl", "layers", rule] => security::rule(state, req, rule),
        _ => text(404, "No such resource"),
    }
}

/// The names of a list as GeoServer renders it: `{"outer":{"inner":[{"name","href"}]}}`,
/// or `{"outer":""}` when empty.
pub fn list(outer: &str, inner: &str, names: Vec<(String, String)>) -> Value {
    if names.is_empty() {
        return serde_json::json!({ outer: "" });
    }
    let items: Vec<Value> = names
        .into_iter()
        .map(|(name, href)| serde_json::json!({"name": name, "href": href}))
        .collect();
    serde_json::json!({ outer: { inner: items } })
}

/// Refuses members the spec does not define for an object (XStream
/// refuses unknown elements; GeoServer answers 500).
pub fn only_fields(object: &Value, allowed: &[&str], what: &str) -> Result<(), Response> {
    if let Value::Object(map) = object {
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(text(500, &format!("No such field {what}.{unknown}")));
        }
        Ok(())
    } else {
        Err(text(500, &format!("Expected a {what} object")))
    }
}

/// GeoServer's rule for catalog names (`XMLSafeNameValidator`): an XML name.
pub fn legal_name(name: &str) -> bool {
    let mut chars = name.chars();
    let start = |c: char| c.is_alphabetic() || c == '_';
    chars.next().is_some_and(start)
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '\u{B7}'))
}
