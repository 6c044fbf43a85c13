//! Styles, global or in a workspace. Spec: styles.yaml (PUT/DELETE on
//! the collections 405: lines 98, 107, 388, 403; POST on one style 405:
//! line 203; `raw`: line 225; `purge`, `recurse`: lines 260-272);
//! manual: api-styles.rst, styles.rst; duplicate name 403 (ERRORS.md:52).
//!
//! POST with a style info (JSON/XML) adds the catalog entry only; POST or
//! PUT with a style document (SLD 1.0 `application/vnd.ogc.sld+xml`, SE
//! 1.1 `application/vnd.ogc.se+xml`) uploads it. Without `raw=true`
//! GeoServer parses the document and writes it out again, so what is read
//! back is not what was sent; the emulator stands for that by dropping
//! comments and the blank space between elements.

use axum::http::Method;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{created, document, legal_name, list, not_allowed, ok, only_fields, text, Format, Req, State};

#[derive(Debug, Clone, Default)]
pub struct Style {
    pub filename: String,
    /// `1.0.0` (SLD) or `1.1.0` (SE).
    pub version: String,
    /// The document, None until one is uploaded.
    pub content: Option<String>,
}

/// The global styles every GeoServer data directory holds: GeoServer
/// creates them at startup when missing (`StyleInfo.DEFAULT_POINT`,
/// `DEFAULT_LINE`, `DEFAULT_POLYGON`, `DEFAULT_RASTER`, `DEFAULT_GENERIC`)
/// and gives a new layer one of them by its geometry type.
pub fn builtin() -> Vec<(String, Style)> {
    ["point", "line", "polygon", "raster", "generic"]
        .into_iter()
        .map(|name| {
            let content = format!(
                "<StyledLayerDescriptor version=\"1.0.0\" xmlns=\"http://www.opengis.net/sld\"><NamedLayer><Name>{name}</Name><UserStyle><Name>{name}</Name></UserStyle></NamedLayer></StyledLayerDescriptor>"
            );
            let style = Style {
                filename: format!("default_{name}.sld"),
                version: "1.0.0".into(),
                content: Some(content),
            };
            (name.to_string(), style)
        })
        .collect()
}

const SLD: &str = "application/vnd.ogc.sld+xml";
const SE: &str = "application/vnd.ogc.se+xml";

fn scope_exists(state: &State, ws: Option<&str>) -> bool {
    ws.is_none_or(|w| state.workspaces.contains_key(w))
}

fn prefix(base: &str, ws: Option<&str>) -> String {
    match ws {
        Some(w) => format!("{base}/workspaces/{w}/styles"),
        None => format!("{base}/styles"),
    }
}

/// `/styles`, `/workspaces/{ws}/styles`: GET list, POST; PUT/DELETE 405.
pub fn styles(state: &mut State, req: &Req, ws: Option<&str>) -> Response {
    if !scope_exists(state, ws) {
        return text(
            404,
            &format!("No such workspace: '{}' found", ws.unwrap_or_default()),
        );
    }
    match req.method {
        Method::GET => {
            let base = prefix(&state.base, ws);
            let names = state
                .styles
                .keys()
                .filter(|(w, _)| w.as_deref() == ws)
                .map(|(_, n)| (n.clone(), format!("{base}/{n}.json")))
                .collect();
            document(req.format, &list("styles", "style", names))
        }
        Method::POST => post_style(state, req, ws),
        _ => not_allowed(),
    }
}

fn post_style(state: &mut State, req: &Req, ws: Option<&str>) -> Response {
    let (name, style) = if is_document(&req.content_type) {
        let Some(name) = req.query.get("name").cloned() else {
            return text(500, "A style name is needed (the name parameter)");
        };
        let content = match parsed(req) {
            Ok(content) => content,
            Err(e) => return e,
        };
        let version = if req.content_type.starts_with(SE) {
            "1.1.0"
        } else {
            "1.0.0"
        };
        (
            name.clone(),
            Style {
                filename: format!("{name}.sld"),
                version: version.into(),
                content: Some(content),
            },
        )
    } else {
        let doc = match req.document() {
            Ok(doc) => doc,
            Err(e) => return e,
        };
        let info = &doc["style"];
        if let Err(e) = only_fields(
            info,
            &["name", "filename", "format", "languageVersion", "workspace"],
            "style",
        ) {
            return e;
        }
        let name = info["name"].as_str().unwrap_or_default().to_string();
        let version = info["languageVersion"]["version"]
            .as_str()
            .unwrap_or("1.0.0")
            .to_string();
        let filename = info["filename"]
            .as_str()
            .map_or(format!("{name}.sld"), str::to_string);
        (
            name,
            Style {
                filename,
                version,
                content: None,
            },
        )
    };
    if !legal_name(&name) {
        return text(500, &format!("Name '{name}' is not legal XML'"));
    }
    let key = (ws.map(str::to_string), name.clone());
    if state.styles.contains_key(&key) {
        return text(403, &format!("Style {name} already exists."));
    }
    state.styles.insert(key, style);
    created(&format!("{}/{name}", prefix(&state.base, ws)), &name)
}

fn is_document(content_type: &str) -> bool {
    content_type.starts_with(SLD) || content_type.starts_with(SE)
}

/// The uploaded document: kept as is with `raw=true`, else re-encoded.
fn parsed(req: &Req) -> Result<String, Response> {
    let text_body = std::str::from_utf8(&req.body).map_err(|_| text(500, "Style is not UTF-8"))?;
    let root_ok = {
        let mut reader = quick_xml::Reader::from_str(text_body);
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Start(e)) | Ok(quick_xml::events::Event::Empty(e)) => {
                    break e.local_name().as_ref() == b"StyledLayerDescriptor";
                }
                Ok(quick_xml::events::Event::Eof) | Err(_) => break false,
                Ok(_) => {}
            }
        }
    };
    if !root_ok {
        return Err(text(400, "Invalid style: not a StyledLayerDescriptor"));
    }
    if req.flag("raw") {
        return Ok(text_body.to_string());
    }
    // Without `raw` GeoServer parses the whole document: one that is not
    // well-formed is refused as invalid (api-styles.rst, `raw`).
    let mut reader = quick_xml::Reader::from_str(text_body);
    reader.config_mut().check_end_names = true;
    let mut depth = 0usize;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(_)) => depth += 1,
            Ok(quick_xml::events::Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(quick_xml::events::Event::Eof) if depth == 0 => break,
            Ok(quick_xml::events::Event::Eof) => {
                return Err(text(400, "Invalid style: the document ends inside an element"))
            }
            Ok(_) => {}
            Err(e) => return Err(text(400, &format!("Invalid style: {e}"))),
        }
    }
    Ok(reencode(text_body))
}

/// What parsing and writing the style out again does to a document, as
/// far as a comparison can tell: comments and inter-element blanks go.
fn reencode(xml: &str) -> String {
    let mut out = String::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .find("-->")
            .map_or("", |end| &rest[start + end + 3..]);
    }
    out.push_str(rest);
    out.split('\n').map(str::trim).collect::<Vec<_>>().join("")
}

/// `/styles/{s}`, `/workspaces/{ws}/styles/{s}`: GET (info or document),
/// PUT (document or info), DELETE (403 while a layer uses it as default,
/// unless `recurse`); POST 405.
pub fn style(state: &mut State, req: &Req, ws: Option<&str>, name: &str) -> Response {
    if !scope_exists(state, ws) {
        return text(
            404,
            &format!("No such workspace: '{}' found", ws.unwrap_or_default()),
        );
    }
    let key = (ws.map(str::to_string), name.to_string());
    let Some(current) = state.styles.get(&key).cloned() else {
        return text(404, &format!("No such style: {name}"));
    };
    match req.method {
        Method::GET if req.format == Format::Style => match &current.content {
            Some(content) => {
                let ct = if current.version == "1.1.0" { SE } else { SLD };
                (
                    axum::http::StatusCode::OK,
                    [("content-type", ct)],
                    content.clone(),
                )
                    .into_response()
            }
            None => text(404, &format!("No style file for {name}")),
        },
        Method::GET => {
            let mut info = json!({"name": name, "format": "sld",
                "languageVersion": {"version": current.version}, "filename": current.filename});
            if let Some(w) = ws {
                info["workspace"] = json!({"name": w});
            }
            document(req.format, &json!({ "style": info }))
        }
        Method::PUT if is_document(&req.content_type) => {
            let content = match parsed(req) {
                Ok(content) => content,
                Err(e) => return e,
            };
            let style = state.styles.get_mut(&key).unwrap();
            style.version = if req.content_type.starts_with(SE) {
                "1.1.0"
            } else {
                "1.0.0"
            }
            .into();
            style.content = Some(content);
            ok()
        }
        Method::PUT => {
            let doc = match req.document() {
                Ok(doc) => doc,
                Err(e) => return e,
            };
            if doc["style"]["name"].as_str().is_some_and(|n| n != name) {
                return text(403, "Can't change the name of a style.");
            }
            // styles.yaml:527: a PUT of the info modifies the catalog entry,
            // not the content.
            if let Some(version) = doc["style"]["languageVersion"]["version"].as_str() {
                state.styles.get_mut(&key).unwrap().version = version.to_string();
            }
            ok()
        }
        Method::DELETE => {
            let qualified = match ws {
                Some(w) => format!("{w}:{name}"),
                None => name.to_string(),
            };
            let used = state.layers.values().any(|l| l.default_style == qualified);
            if used && !req.flag("recurse") {
                return text(
                    403,
                    &format!("Can't delete style referenced by existing layers: {name}"),
                );
            }
            state.styles.remove(&key);
            ok()
        }
        _ => not_allowed(),
    }
}
