//! Layer access rules. Spec: security.yaml (`/security/acl/layers`,
//! lines 202-330; 405 on one rule but DELETE: lines 290-320);
//! manual: api-accesscontrol.rst (the contract for status codes: 409 when
//! a POST adds an existing rule, a PUT changes a missing one or a DELETE
//! removes a missing one, 422 for an invalid rule; the whole request
//! is aborted when one rule conflicts) and security.rst (the example POST
//! answers `201 Created`, where security.yaml says 200: the manual's
//! example is followed).

use axum::http::Method;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::{document, not_allowed, ok, text, Format, Req, State};

fn valid(rule: &str) -> bool {
    let parts: Vec<&str> = rule.split('.').collect();
    parts.len() == 3 && matches!(parts[2], "r" | "w" | "a") && !parts[0].is_empty() && !parts[1].is_empty()
}

/// The rules of a body: JSON `{"rule": "ROLES"}` or XML
/// `<rules><rule resource="rule">ROLES</rule></rules>`.
fn read_rules(req: &Req) -> Result<Vec<(String, String)>, Response> {
    let doc = req.document()?;
    let mut rules = Vec::new();
    if req.content_type.contains("xml") {
        let items: Vec<&Value> = match &doc["rules"]["rule"] {
            Value::Array(items) => items.iter().collect(),
            Value::Object(_) => vec![&doc["rules"]["rule"]],
            _ => Vec::new(),
        };
        for item in items {
            let resource = item["@resource"]
                .as_str()
                .ok_or_else(|| text(422, "Invalid rule specification"))?;
            rules.push((
                resource.to_string(),
                item["$"].as_str().unwrap_or_default().to_string(),
            ));
        }
    } else {
        let map = doc
            .as_object()
            .ok_or_else(|| text(422, "Invalid rule specification"))?;
        for (rule, roles) in map {
            let roles = roles
                .as_str()
                .ok_or_else(|| text(422, "Invalid rule specification"))?;
            rules.push((rule.clone(), roles.to_string()));
        }
    }
    if let Some((bad, _)) = rules
        .iter()
        .find(|(r, roles)| !valid(r) || roles.trim().is_empty())
    {
        return Err(text(422, &format!("Invalid rule specification: {bad}")));
    }
    Ok(rules)
}

/// `/security/acl/layers`: GET, POST (add), PUT (modify); DELETE 405.
pub fn rules(state: &mut State, req: &Req) -> Response {
    match req.method {
        Method::GET => render(state, req.format),
        Method::POST | Method::PUT => {
            let rules = match read_rules(req) {
                Ok(rules) => rules,
                Err(e) => return e,
            };
            let adding = req.method == Method::POST;
            let conflicting: Vec<&str> = rules
                .iter()
                .filter(|(r, _)| state.acl.contains_key(r) == adding)
                .map(|(r, _)| r.as_str())
                .collect();
            if !conflicting.is_empty() {
                let what = if adding {
                    "Already existing rules"
                } else {
                    "Unknown rules"
                };
                return text(409, &format!("{what}: {}", conflicting.join(",")));
            }
            for (rule, roles) in rules {
                state.acl.insert(rule, roles);
            }
            if adding {
                axum::http::StatusCode::CREATED.into_response()
            } else {
                ok()
            }
        }
        _ => not_allowed(),
    }
}

fn render(state: &State, format: Format) -> Response {
    if format == Format::Xml {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        if state.acl.is_empty() {
            out.push_str("<rules />");
        } else {
            out.push_str("<rules>");
            for (rule, roles) in &state.acl {
                out.push_str(&format!("<rule resource=\"{rule}\">{roles}</rule>"));
            }
            out.push_str("</rules>");
        }
        return (
            axum::http::StatusCode::OK,
            [("content-type", "application/xml")],
            out,
        )
            .into_response();
    }
    let map: Map<String, Value> = state
        .acl
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    document(Format::Json, &Value::Object(map))
}

/// `/security/acl/layers/{rule}`: DELETE only (409 when missing).
pub fn rule(state: &mut State, req: &Req, rule: &str) -> Response {
    if req.method != Method::DELETE {
        return not_allowed();
    }
    if state.acl.remove(rule).is_none() {
        return text(409, &format!("Unknown rule: {rule}"));
    }
    ok()
}
