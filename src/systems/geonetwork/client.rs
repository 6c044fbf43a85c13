//! GeoNetwork's REST API (4.x, `/{portal}/api`) over reqwest: HTTP Basic,
//! the XSRF double-submit on every write, bounded retries, and errors that
//! name the request without its credentials. The calls the sync needs
//! (insert-or-replace a record, share it, read it back, delete it) and
//! those the groups need live here; facts are cited from
//! tests/fixtures/geonetwork-specs/FACTS.md (§n).

use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE, COOKIE, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::manifest::GnConnection;
use super::GeoNetworkError;
use crate::manifest::secret::Secret;

/// The XSRF cookie and header names (§1, CookieCsrfTokenRepository.java:32-36).
pub const XSRF_COOKIE: &str = "XSRF-TOKEN";
pub const XSRF_HEADER: &str = "X-XSRF-TOKEN";

/// GeoNetwork's reserved group ids (§7, ReservedGroup.java).
pub const GROUP_ALL: i64 = 1;
pub const GROUP_INTRANET: i64 = 0;

/// Kept of an error body: enough to read GeoNetwork's message, not a page.
const SHORT_BODY: usize = 300;

pub struct GnClient {
    http: reqwest::Client,
    /// `{url}/{portal}/api`
    api: String,
    user: Option<String>,
    password: Option<Secret>,
    retries: u32,
    backoff: Duration,
    /// The XSRF token, learnt from GeoNetwork's cookie and sent back as
    /// cookie and header (double-submit: the server stores nothing, §1).
    token: tokio::sync::Mutex<Option<String>>,
}

/// The body of a request.
pub enum Body {
    None,
    Xml(String),
    Json(Value),
}

/// What GeoNetwork answered (any status; the caller decides).
pub struct Answer {
    pub status: StatusCode,
    pub text: String,
    pub method: Method,
    pub url: String,
}

impl Answer {
    /// An error naming the request, the status and the start of the body.
    pub fn error(&self) -> GeoNetworkError {
        GeoNetworkError::Http {
            method: self.method.to_string(),
            url: self.url.clone(),
            status: self.status.as_u16(),
            body: short_body(&self.text),
        }
    }

    fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, GeoNetworkError> {
        serde_json::from_str(&self.text).map_err(|e| GeoNetworkError::Unexpected {
            method: self.method.to_string(),
            url: self.url.clone(),
            detail: format!("{what} is not the JSON expected ({e})"),
        })
    }
}

/// A record GeoNetwork inserted or replaced: its internal id and uuid,
/// read from the report's `metadataInfos` (§4, MIDA:371-377).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSaved {
    pub id: String,
    pub uuid: String,
}

/// How to treat a record whose uuid exists (§4, MEFLib.UuidAction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UuidProcessing {
    /// Refuse (400) when the uuid exists.
    Nothing,
    /// Update the existing record in place: same id, privileges kept.
    Overwrite,
    /// Delete the existing record (and its privileges), insert anew.
    RemoveAndReplace,
}

impl UuidProcessing {
    fn as_param(self) -> &'static str {
        match self {
            UuidProcessing::Nothing => "NOTHING",
            UuidProcessing::Overwrite => "OVERWRITE",
            UuidProcessing::RemoveAndReplace => "REMOVE_AND_REPLACE",
        }
    }
}

/// The operations geosync grants a group on a record (§7: view=0,
/// download=1, dynamic=5; editing/notify/featured are left to people).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Operations {
    pub view: bool,
    pub download: bool,
    pub dynamic: bool,
}

impl Operations {
    /// What GeoNetwork's own "publish" grants (§7, DefaultPublicationConfig).
    pub const PUBLISHED: Operations = Operations {
        view: true,
        download: true,
        dynamic: true,
    };
}

/// One group's operations on a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Privilege {
    /// A group id: [`GROUP_ALL`], [`GROUP_INTRANET`] or a group's own id.
    pub group: i64,
    pub operations: Operations,
}

/// Whether a delete found something to delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    Deleted,
    AlreadyGone,
}

#[derive(Deserialize)]
struct Report {
    #[serde(default, rename = "metadataInfos")]
    infos: std::collections::BTreeMap<String, Vec<ReportInfo>>,
    #[serde(default, rename = "metadataErrors")]
    record_errors: std::collections::BTreeMap<String, Value>,
    #[serde(default)]
    errors: Vec<Value>,
}

#[derive(Deserialize)]
struct ReportInfo {
    #[serde(default)]
    uuid: String,
}

impl GnClient {
    pub fn new(connection: &GnConnection) -> Result<Self, GeoNetworkError> {
        crate::systems::geonetwork::install_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(connection.timeout)
            .connect_timeout(connection.connect_timeout)
            // A redirect would carry Basic credentials to where the
            // manifest did not say (geOrchestra redirects to /?login).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| GeoNetworkError::Setup(e.without_url().to_string()))?;
        Ok(GnClient {
            http,
            api: format!("{}/{}/api", connection.url, connection.portal),
            user: connection.user.clone(),
            password: connection.password.clone(),
            retries: connection.retries,
            backoff: connection.backoff,
            token: tokio::sync::Mutex::new(None),
        })
    }

    /// The API root, `{url}/{portal}/api`.
    pub fn api_url(&self) -> &str {
        &self.api
    }

    /// PUT /records with the XML (§4): inserts the record, or with
    /// `Overwrite` replaces the record of the same uuid in place.
    pub async fn put_record(
        &self,
        xml: &str,
        processing: UuidProcessing,
        group: Option<i64>,
    ) -> Result<RecordSaved, GeoNetworkError> {
        let group = group.map(|g| g.to_string());
        let mut query = vec![
            ("uuidProcessing", processing.as_param()),
            ("publishToAll", "false"),
        ];
        if let Some(group) = &group {
            query.push(("group", group));
        }
        let answer = self
            .send(Method::PUT, "/records", &query, Body::Xml(xml.to_string()), true)
            .await?;
        if answer.status != StatusCode::CREATED {
            return Err(answer.error());
        }
        let report: Report = answer.json("the import report")?;
        if !report.record_errors.is_empty() || !report.errors.is_empty() {
            return Err(GeoNetworkError::Unexpected {
                method: answer.method.to_string(),
                url: answer.url.clone(),
                detail: format!("the import report lists errors: {}", short_body(&answer.text)),
            });
        }
        let saved = report
            .infos
            .into_iter()
            .find_map(|(id, infos)| infos.into_iter().next().map(|i| RecordSaved { id, uuid: i.uuid }));
        saved.ok_or_else(|| GeoNetworkError::Unexpected {
            method: answer.method.to_string(),
            url: answer.url.clone(),
            detail: "the import report names no record".into(),
        })
    }

    /// The record's XML as GeoNetwork stores it, or None when it has no
    /// record of that uuid (§6: formatters/xml, 404 when unknown).
    pub async fn get_record(&self, uuid: &str) -> Result<Option<String>, GeoNetworkError> {
        let path = format!("/records/{}/formatters/xml", segment(uuid));
        let query = [("addSchemaLocation", "false"), ("increasePopularity", "false")];
        let answer = self.send(Method::GET, &path, &query, Body::None, true).await?;
        match answer.status {
            StatusCode::OK => Ok(Some(answer.text)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(answer.error()),
        }
    }

    /// DELETE /records/{uuid} (§5): 204 deleted, 404 already gone; both
    /// mean the record is not there any more.
    pub async fn delete_record(&self, uuid: &str) -> Result<Deleted, GeoNetworkError> {
        let path = format!("/records/{}", segment(uuid));
        let answer = self
            .send(Method::DELETE, &path, &[("withBackup", "true")], Body::None, true)
            .await?;
        match answer.status {
            StatusCode::NO_CONTENT | StatusCode::OK => Ok(Deleted::Deleted),
            StatusCode::NOT_FOUND => Ok(Deleted::AlreadyGone),
            _ => Err(answer.error()),
        }
    }

    /// PUT /records/{uuid}/sharing with `clear = true` (§7): afterwards the
    /// record has exactly these operations, whatever it had before.
    pub async fn set_sharing(&self, uuid: &str, privileges: &[Privilege]) -> Result<(), GeoNetworkError> {
        let body = serde_json::json!({
            "clear": true,
            "privileges": privileges
                .iter()
                .map(|p| serde_json::json!({ "group": p.group, "operations": p.operations }))
                .collect::<Vec<_>>(),
        });
        let path = format!("/records/{}/sharing", segment(uuid));
        let answer = self.send(Method::PUT, &path, &[], Body::Json(body), true).await?;
        match answer.status {
            StatusCode::NO_CONTENT | StatusCode::OK => Ok(()),
            _ => Err(answer.error()),
        }
    }

    /// GET /records/{uuid}/sharing (§7): the view/download/dynamic
    /// operations each group has, groups with none left out.
    pub async fn get_sharing(&self, uuid: &str) -> Result<Option<Vec<Privilege>>, GeoNetworkError> {
        let path = format!("/records/{}/sharing", segment(uuid));
        let answer = self.send(Method::GET, &path, &[], Body::None, true).await?;
        match answer.status {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Ok(None),
            _ => return Err(answer.error()),
        }
        #[derive(Deserialize)]
        struct Sharing {
            #[serde(default)]
            privileges: Vec<GroupPrivilege>,
        }
        #[derive(Deserialize)]
        struct GroupPrivilege {
            group: i64,
            #[serde(default)]
            operations: std::collections::BTreeMap<String, bool>,
        }
        let sharing: Sharing = answer.json("the sharing")?;
        let mut privileges: Vec<Privilege> = sharing
            .privileges
            .into_iter()
            .map(|p| {
                let op = |name: &str| p.operations.get(name).copied().unwrap_or(false);
                Privilege {
                    group: p.group,
                    operations: Operations {
                        view: op("view"),
                        download: op("download"),
                        dynamic: op("dynamic"),
                    },
                }
            })
            .filter(|p| p.operations != Operations::default())
            .collect();
        privileges.sort_by_key(|p| p.group);
        Ok(Some(privileges))
    }

    /// GET /groups: every group but the reserved ones, as GeoNetwork
    /// serialises them (kept whole: an update sends the whole entity back).
    pub async fn groups(&self) -> Result<Vec<Value>, GeoNetworkError> {
        let answer = self.send(Method::GET, "/groups", &[], Body::None, true).await?;
        if answer.status != StatusCode::OK {
            return Err(answer.error());
        }
        answer.json("the group list")
    }

    /// PUT /groups: creates a group, answers its new id. Not retried: a
    /// create that timed out may have happened, and the next plan sees it.
    pub async fn create_group(&self, group: &Value) -> Result<i64, GeoNetworkError> {
        let answer = self
            .send(Method::PUT, "/groups", &[], Body::Json(group.clone()), false)
            .await?;
        if answer.status != StatusCode::CREATED && answer.status != StatusCode::OK {
            return Err(answer.error());
        }
        answer.json("the new group's id")
    }

    /// PUT /groups/{id}: GeoNetwork saves the body as the whole entity.
    pub async fn update_group(&self, id: i64, group: &Value) -> Result<(), GeoNetworkError> {
        let path = format!("/groups/{id}");
        let answer = self
            .send(Method::PUT, &path, &[], Body::Json(group.clone()), true)
            .await?;
        match answer.status {
            StatusCode::NO_CONTENT | StatusCode::OK => Ok(()),
            _ => Err(answer.error()),
        }
    }

    /// DELETE /groups/{id}, never with `force`: GeoNetwork refuses (403)
    /// while the group owns records, holds privileges or has users, and
    /// geosync says so rather than strip them.
    pub async fn delete_group(&self, id: i64) -> Result<Deleted, GeoNetworkError> {
        let path = format!("/groups/{id}");
        let answer = self.send(Method::DELETE, &path, &[], Body::None, true).await?;
        match answer.status {
            StatusCode::NO_CONTENT | StatusCode::OK => Ok(Deleted::Deleted),
            StatusCode::NOT_FOUND => Ok(Deleted::AlreadyGone),
            _ => Err(answer.error()),
        }
    }

    /// Sends one request: Basic credentials, and on a write the XSRF pair
    /// (§1: every PUT/POST/DELETE; Basic alone is still 403, §2).
    /// Connection errors and 5xx are retried when `idempotent`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Body,
        idempotent: bool,
    ) -> Result<Answer, GeoNetworkError> {
        let write = !matches!(
            method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
        );
        let token = if write {
            Some(self.xsrf_token().await?)
        } else {
            None
        };
        let mut attempt = 0;
        loop {
            let result = self
                .send_once(&method, path, query, &body, token.as_deref())
                .await;
            let retry = match &result {
                Err(GeoNetworkError::Transport { .. }) => true,
                Ok((answer, _)) => answer.status.is_server_error(),
                Err(_) => false,
            };
            if retry && idempotent && attempt < self.retries {
                tokio::time::sleep(backoff(self.backoff, attempt)).await;
                attempt += 1;
                continue;
            }
            return result.map(|(answer, _)| answer);
        }
    }

    /// The id of the group of that name (for sharing a record with it),
    /// None when GeoNetwork has no such group.
    pub async fn group_id(&self, name: &str) -> Result<Option<i64>, GeoNetworkError> {
        let groups = self.groups().await?;
        Ok(groups
            .iter()
            .find(|g| g.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|g| g.get("id").and_then(Value::as_i64)))
    }

    async fn send_once(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, &str)],
        body: &Body,
        token: Option<&str>,
    ) -> Result<(Answer, Option<String>), GeoNetworkError> {
        let url = format!("{}{path}", self.api);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .query(query)
            .header(ACCEPT, "application/json, application/xml;q=0.9");
        if let Some(user) = &self.user {
            request = request.basic_auth(user, self.password.as_ref().map(Secret::expose));
        }
        if let Some(token) = token {
            request = request
                .header(COOKIE, format!("{XSRF_COOKIE}={token}"))
                .header(XSRF_HEADER, token);
        }
        request = match body {
            Body::None => request,
            Body::Xml(xml) => request.header(CONTENT_TYPE, "application/xml").body(xml.clone()),
            Body::Json(json) => request.json(json),
        };
        let shown = display_url(&url, query);
        let transport = |source: reqwest::Error| GeoNetworkError::Transport {
            method: method.to_string(),
            url: shown.clone(),
            source: source.without_url(),
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let fresh = xsrf_cookie(response.headers());
        let text = response.text().await.map_err(transport)?;
        let answer = Answer {
            status,
            text,
            method: method.clone(),
            url: shown.clone(),
        };
        Ok((answer, fresh))
    }

    /// The token to send, learnt once per client as the documented recipe
    /// does: GET /me sets the XSRF-TOKEN cookie (§1, the-geonetwork-api.md
    /// lines 100-135).
    async fn xsrf_token(&self) -> Result<String, GeoNetworkError> {
        let mut token = self.token.lock().await;
        if let Some(token) = token.as_ref() {
            return Ok(token.clone());
        }
        let (answer, fresh) = self
            .send_once(&Method::GET, "/me", &[], &Body::None, None)
            .await?;
        if answer.status.is_server_error() {
            return Err(answer.error());
        }
        let fresh = fresh.ok_or_else(|| GeoNetworkError::NoXsrfToken {
            url: answer.url.clone(),
        })?;
        *token = Some(fresh.clone());
        Ok(fresh)
    }
}

/// The XSRF-TOKEN value a response sets, if it sets one (an empty value
/// deletes the cookie, §1: not a token).
fn xsrf_cookie(headers: &HeaderMap) -> Option<String> {
    headers.get_all(SET_COOKIE).iter().find_map(|value| {
        let value = value.to_str().ok()?;
        let pair = value.split(';').next()?.trim();
        let (name, token) = pair.split_once('=')?;
        (name == XSRF_COOKIE && !token.is_empty()).then(|| token.to_string())
    })
}

/// A uuid as one path segment: GeoNetwork's uuids are free text.
pub fn segment(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The URL as messages show it: never with credentials (they travel in a
/// header, and the manifest refuses them in `url`; this is the last guard).
pub fn display_url(url: &str, query: &[(&str, &str)]) -> String {
    let mut shown = match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
            format!("{scheme}://{host}{tail}")
        }
        None => url.to_string(),
    };
    if !query.is_empty() {
        let pairs: Vec<String> = query.iter().map(|(k, v)| format!("{k}={}", segment(v))).collect();
        shown = format!("{shown}?{}", pairs.join("&"));
    }
    shown
}

/// The start of a body, on one line, control characters made visible.
pub fn short_body(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut: String = one_line.chars().take(SHORT_BODY).collect();
    let cut = if cut.len() < one_line.len() {
        format!("{cut}…")
    } else {
        cut
    };
    crate::escape::escape(&cut).into_owned()
}

/// The first delay, doubled at each attempt, at most 5 s between attempts.
fn backoff(first: Duration, attempt: u32) -> Duration {
    (first * 2u32.saturating_pow(attempt.min(16))).min(Duration::from_secs(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_url_drops_credentials_and_encodes_the_query() {
        assert_eq!(
            display_url(
                "http://admin:s3cret@gn:8080/geonetwork/srv/api/records",
                &[("uuid", "a b")]
            ),
            "http://gn:8080/geonetwork/srv/api/records?uuid=a%20b"
        );
        assert_eq!(display_url("http://gn/x", &[]), "http://gn/x");
    }

    #[test]
    fn segment_encodes_everything_but_unreserved() {
        assert_eq!(segment("ab-1_2.3~"), "ab-1_2.3~");
        assert_eq!(segment("a/b?c é"), "a%2Fb%3Fc%20%C3%A9");
    }

    #[test]
    fn xsrf_cookie_reads_the_token_and_ignores_a_deletion() {
        let mut headers = HeaderMap::new();
        headers.append(SET_COOKIE, "JSESSIONID=1; Path=/".parse().unwrap());
        headers.append(
            SET_COOKIE,
            "XSRF-TOKEN=abc-123; Path=/geonetwork".parse().unwrap(),
        );
        assert_eq!(xsrf_cookie(&headers).as_deref(), Some("abc-123"));
        let mut gone = HeaderMap::new();
        gone.append(SET_COOKIE, "XSRF-TOKEN=; Max-Age=0".parse().unwrap());
        assert_eq!(xsrf_cookie(&gone), None);
    }

    #[test]
    fn short_body_is_one_bounded_line() {
        let long = "x ".repeat(400);
        let short = short_body(&long);
        assert!(short.chars().count() <= SHORT_BODY + 1);
        assert!(!short_body("a\nb\tc").contains('\n'));
    }
}
