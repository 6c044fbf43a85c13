//! GeoServer's REST API over reqwest: one request function with auth,
//! timeouts and retries, and the typed calls the system and the sync use.
//!
//! Retries: a connection error, a timeout or a 5xx is tried again after
//! a doubling delay, except a 5xx that says the object already exists
//! (GeoServer answers a duplicate data store or feature type with a 500):
//! that is a conflict, and retrying it would only repeat it.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::manifest::{Auth, GsConnection};
use super::names::segment;
use super::GeoServerError;

/// The longest part of an error body an error message quotes.
const BODY_QUOTE: usize = 200;

/// A request body and its media type.
pub struct Body {
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

impl Body {
    pub fn json(value: &Value) -> Self {
        Body {
            content_type: "application/json",
            bytes: value.to_string().into_bytes(),
        }
    }
}

/// What GeoServer answered.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: String,
    /// An earlier attempt failed without an answer saying what happened.
    pub retried: bool,
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// `{url}/rest`.
    rest: String,
    auth: Arc<Auth>,
    retries: u32,
    backoff: Duration,
}

impl Client {
    pub fn new(connection: &GsConnection) -> Result<Self, GeoServerError> {
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls_config()?)
            .timeout(connection.timeout)
            .connect_timeout(connection.connect_timeout)
            .no_proxy()
            .build()
            .map_err(|e| GeoServerError::Setup(e.without_url().to_string()))?;
        Ok(Client {
            http,
            rest: format!("{}/rest", connection.url),
            auth: Arc::new(connection.auth.clone()),
            retries: connection.retries,
            backoff: connection.backoff,
        })
    }

    /// The URL of a REST path (already encoded).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.rest)
    }

    /// One request, retried on connection errors and on a 5xx that is not
    /// a conflict. Any status comes back as an [`Answer`]; the caller
    /// decides what it means.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        accept: &str,
        body: Option<&Body>,
    ) -> Result<Answer, GeoServerError> {
        let url = self.url(path);
        let mut attempt = 0;
        loop {
            let mut request = self
                .http
                .request(method.clone(), &url)
                .header(reqwest::header::ACCEPT, accept);
            request = match self.auth.as_ref() {
                Auth::None => request,
                Auth::Basic { user, password } => request.basic_auth(user, Some(password.expose())),
                Auth::Preauth { username, roles } => request
                    .header("sec-username", username)
                    .header("sec-roles", roles.join(";")),
            };
            if let Some(body) = body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, body.content_type)
                    .body(body.bytes.clone());
            }
            let outcome = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    match response.text().await {
                        Ok(body) => Ok(Answer {
                            status,
                            body,
                            retried: attempt > 0,
                        }),
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            };
            let retry = match &outcome {
                Ok(answer) => answer.status.is_server_error() && !is_conflict(answer),
                Err(e) => e.is_connect() || e.is_timeout() || e.is_request() || e.is_body(),
            };
            if !retry || attempt >= self.retries {
                return outcome.map_err(|e| GeoServerError::Transport {
                    method: method.to_string(),
                    url: url.clone(),
                    message: transport_message(&e),
                });
            }
            tokio::time::sleep(self.backoff * 2u32.saturating_pow(attempt)).await;
            attempt += 1;
        }
    }

    /// A request whose answer must have one of `ok` statuses.
    pub async fn expect(
        &self,
        method: Method,
        path: &str,
        accept: &str,
        body: Option<&Body>,
        ok: &[u16],
    ) -> Result<Answer, GeoServerError> {
        let answer = self.send(method.clone(), path, accept, body).await?;
        if ok.contains(&answer.status.as_u16()) {
            return Ok(answer);
        }
        // A create retried after a lost answer finds what its first
        // attempt made: that is its success, not someone else's object
        // (the next plan compares it like any other).
        if method == Method::POST && answer.retried && is_conflict(&answer) {
            return Ok(answer);
        }
        Err(self.failure(&method, path, answer))
    }

    /// The error for an answer that was not expected.
    pub fn failure(&self, method: &Method, path: &str, answer: Answer) -> GeoServerError {
        let (method, url) = (method.to_string(), self.url(path));
        if is_conflict(&answer) {
            return GeoServerError::AlreadyExists {
                method,
                url,
                status: answer.status.as_u16(),
                body: quote(&answer.body),
            };
        }
        GeoServerError::Status {
            method,
            url,
            status: answer.status.as_u16(),
            body: quote(&answer.body),
        }
    }

    /// GET of a JSON document; None on 404.
    pub async fn get_json(&self, path: &str) -> Result<Option<Value>, GeoServerError> {
        let answer = self
            .expect(Method::GET, path, "application/json", None, &[200, 404])
            .await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        serde_json::from_str(&answer.body)
            .map(Some)
            .map_err(|e| GeoServerError::Decode {
                method: "GET".into(),
                url: self.url(path),
                message: e.to_string(),
            })
    }

    /// GET of a document in its own media type (a style body); None on 404.
    pub async fn get_text(&self, path: &str, accept: &str) -> Result<Option<String>, GeoServerError> {
        let answer = self.expect(Method::GET, path, accept, None, &[200, 404]).await?;
        Ok((answer.status == StatusCode::OK).then_some(answer.body))
    }

    /// DELETE where an object already gone is success (GeoServer answers
    /// 404; its ACL API documents 409 for a missing rule).
    pub async fn delete(&self, path: &str, gone: &[u16]) -> Result<(), GeoServerError> {
        let mut ok = vec![200, 202, 204, 404];
        ok.extend_from_slice(gone);
        self.expect(Method::DELETE, path, "text/plain", None, &ok)
            .await
            .map(|_| ())
    }
}

/// Whether GeoServer refused a create because the object exists: 409
/// (workspaces, ACL rules), 403 "already exists" (styles), 500 "already
/// exists" (data stores, feature types: a catalog validation error).
pub fn is_conflict(answer: &Answer) -> bool {
    let says_exists = answer.body.to_ascii_lowercase().contains("already exists");
    match answer.status.as_u16() {
        409 => true,
        403 | 500 => says_exists,
        _ => false,
    }
}

/// A short single-line quote of a body for an error message.
fn quote(body: &str) -> String {
    let flat: String = body
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.trim();
    match flat.char_indices().nth(BODY_QUOTE) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat.to_string(),
    }
}

/// reqwest's message without the URL (the error says it once) and with
/// its causes.
fn transport_message(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut message = String::new();
    let mut source: Option<&dyn Error> = e.source();
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    message.push_str(kind);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// rustls with the ring provider and the system's CA bundle.
fn tls_config() -> Result<rustls::ClientConfig, GeoServerError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    if let Ok(certificates) = CertificateDer::pem_file_iter("/etc/ssl/certs/ca-certificates.crt") {
        for certificate in certificates.flatten() {
            let _ = roots.add(certificate);
        }
    }
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| GeoServerError::Setup(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The names of a GeoServer list (`{"workspaces":{"workspace":[{"name":…}]}}`),
/// which GeoServer renders as `""` when empty and may render a single
/// entry as an object.
pub fn list_names(value: &Value, outer: &str, inner: &str) -> Vec<String> {
    let entries = &value[outer][inner];
    let items: Vec<&Value> = match entries {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![entries],
        _ => Vec::new(),
    };
    items
        .iter()
        .filter_map(|item| item["name"].as_str().map(str::to_string))
        .collect()
}

/// `/workspaces/{ws}` with the name encoded.
pub fn ws_path(workspace: &str) -> String {
    format!("/workspaces/{}", segment(workspace))
}

/// `/workspaces/{ws}/styles` or `/styles` for a global style.
pub fn styles_path(workspace: Option<&str>) -> String {
    match workspace {
        Some(ws) => format!("{}/styles", ws_path(ws)),
        None => "/styles".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            body: body.into(),
            retried: false,
        }
    }

    #[test]
    fn conflicts_are_told_from_failures() {
        assert!(is_conflict(&answer(409, "Workspace 'x' already exists")));
        assert!(is_conflict(&answer(
            500,
            "Store 'x' already exists in workspace 'y'"
        )));
        assert!(is_conflict(&answer(403, "Style x already exists.")));
        assert!(!is_conflict(&answer(500, "java.lang.NullPointerException")));
        assert!(!is_conflict(&answer(403, "Workspace not empty")));
    }

    #[test]
    fn lists_read_every_shape_geoserver_writes() {
        let many: Value = serde_json::json!({"workspaces":{"workspace":[{"name":"a"},{"name":"b"}]}});
        assert_eq!(list_names(&many, "workspaces", "workspace"), ["a", "b"]);
        let one: Value = serde_json::json!({"workspaces":{"workspace":{"name":"a"}}});
        assert_eq!(list_names(&one, "workspaces", "workspace"), ["a"]);
        let none: Value = serde_json::json!({"workspaces":""});
        assert!(list_names(&none, "workspaces", "workspace").is_empty());
    }

    #[test]
    fn quotes_are_short_and_flat() {
        assert_eq!(quote("a\nb"), "a b");
        assert_eq!(quote(&"x".repeat(500)).chars().count(), BODY_QUOTE + 1);
    }
}
