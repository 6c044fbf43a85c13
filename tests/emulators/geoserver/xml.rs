//! GeoServer's XML and JSON carry the same objects (XStream writes both):
//! an element is a JSON member, an attribute `@name`, text beside
//! attributes `$`, a repeated element an array, and a link to another
//! resource an `atom:link` in XML where JSON has its URL. These two
//! functions convert between the forms, so each handler works on JSON.

use quick_xml::events::{BytesStart, Event};
use serde_json::{Map, Value};

/// An XML document as GeoServer's JSON form: `{"root": {...}}`.
pub fn to_json(xml: &str) -> Result<Value, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<(String, Map<String, Value>, String)> = Vec::new();
    let mut root: Option<Value> = None;
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => stack.push(open(&e)?),
            Event::Empty(e) => {
                let (name, map, text) = open(&e)?;
                close(&mut stack, &mut root, name, map, text);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.2.push_str(&t.unescape().map_err(|e| e.to_string())?);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.2.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::End(_) => {
                let (name, map, text) = stack.pop().ok_or("unbalanced XML")?;
                close(&mut stack, &mut root, name, map, text);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    root.ok_or_else(|| "no root element".to_string())
}

fn open(e: &BytesStart) -> Result<(String, Map<String, Value>, String), String> {
    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    let mut map = Map::new();
    for attribute in e.attributes() {
        let attribute = attribute.map_err(|e| e.to_string())?;
        let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
        if key.starts_with("xmlns") {
            continue;
        }
        let value = attribute
            .unescape_value()
            .map_err(|e| e.to_string())?
            .into_owned();
        map.insert(format!("@{key}"), Value::String(value));
    }
    Ok((name, map, String::new()))
}

fn close(
    stack: &mut [(String, Map<String, Value>, String)],
    root: &mut Option<Value>,
    name: String,
    mut map: Map<String, Value>,
    text: String,
) {
    let value = if map.is_empty() {
        Value::String(text)
    } else {
        if !text.is_empty() {
            map.insert("$".into(), Value::String(text));
        }
        Value::Object(map)
    };
    match stack.last_mut() {
        Some((_, parent, _)) => match parent.get_mut(&name) {
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            None => {
                parent.insert(name, value);
            }
        },
        None => {
            let mut top = Map::new();
            top.insert(name, value);
            *root = Some(Value::Object(top));
        }
    }
}

/// The order GeoServer writes an object's members in (the field order of
/// its catalog classes, as the manual's examples show); members not
/// listed follow, `name` always first and a link always last.
const ORDER: &[(&str, &[&str])] = &[
    (
        "workspace",
        &["name", "isolated", "dataStores", "coverageStores", "wmsStores"],
    ),
    (
        "dataStore",
        &[
            "name",
            "description",
            "type",
            "enabled",
            "workspace",
            "connectionParameters",
            "_default",
            "featureTypes",
        ],
    ),
    (
        "featureType",
        &["name", "nativeName", "namespace", "title", "srs", "store"],
    ),
    ("coverageStore", &["name", "type", "enabled", "workspace", "url"]),
    ("layer", &["name", "type", "defaultStyle", "resource"]),
    (
        "style",
        &["name", "workspace", "format", "languageVersion", "filename"],
    ),
];

/// The members of an object in GeoServer's order.
pub fn ordered<'a>(parent: &str, map: &'a Map<String, Value>) -> Vec<(&'a String, &'a Value)> {
    let listed: &[&str] = ORDER.iter().find(|(p, _)| *p == parent).map_or(&[], |(_, o)| o);
    let rank = |key: &str| match listed.iter().position(|k| *k == key) {
        Some(i) => (1, i, String::new()),
        None if key == "name" => (0, 0, String::new()),
        None if key == "href" => (3, 0, String::new()),
        None => (2, 0, key.to_string()),
    };
    let mut members: Vec<(&String, &Value)> = map.iter().collect();
    members.sort_by_key(|(k, _)| rank(k));
    members
}

/// GeoServer's JSON text of a document, members in GeoServer's order.
pub fn json_text(value: &Value) -> String {
    let mut out = String::new();
    write_json(&mut out, "", value);
    out
}

fn write_json(out: &mut String, parent: &str, value: &Value) {
    match value {
        Value::Object(map) => {
            out.push('{');
            // GeoServer leaves unset fields out.
            let members = ordered(parent, map).into_iter().filter(|(_, v)| !v.is_null());
            for (i, (key, child)) in members.enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_json(out, key, child);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, parent, item);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// GeoServer's JSON form of an object as its XML, `href` members as atom links.
pub fn from_json(value: &Value) -> String {
    let mut out = String::new();
    if let Value::Object(map) = value {
        for (name, child) in map {
            element(&mut out, name, child);
        }
    }
    out
}

fn element(out: &mut String, name: &str, value: &Value) {
    // XStream doubles a leading underscore in element names.
    let tag = if name.starts_with('_') {
        format!("_{name}")
    } else {
        name.to_string()
    };
    let name = tag.as_str();
    match value {
        Value::Array(items) => items.iter().for_each(|item| element(out, name, item)),
        Value::Object(map) => {
            out.push('<');
            out.push_str(name);
            for (key, v) in map.iter().filter(|(k, _)| k.starts_with('@')) {
                out.push_str(&format!(" {}=\"{}\"", &key[1..], escape(&scalar(v))));
            }
            out.push('>');
            for (key, v) in ordered(name, map)
                .into_iter()
                .filter(|(k, v)| !k.starts_with('@') && !v.is_null())
            {
                match key.as_str() {
                    "$" => out.push_str(&escape(&scalar(v))),
                    "href" => out.push_str(&link(&scalar(v))),
                    _ => element(out, key, v),
                }
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(s) if s.starts_with("http") && s.ends_with(".json") => {
            out.push_str(&format!("<{name}>{}</{name}>", link(s)));
        }
        other => out.push_str(&format!("<{name}>{}</{name}>", escape(&scalar(other)))),
    }
}

fn link(href: &str) -> String {
    let href = href
        .strip_suffix(".json")
        .map_or(href.to_string(), |h| format!("{h}.xml"));
    format!(
        "<atom:link xmlns:atom=\"http://www.w3.org/2005/Atom\" rel=\"alternate\" href=\"{}\" type=\"application/xml\"/>",
        escape(&href)
    )
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
