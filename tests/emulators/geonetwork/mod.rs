//! A strict stand-in for GeoNetwork 4.2's REST API, the part geosync uses:
//! records (insert/replace, read, delete), their sharing, groups, `/me`,
//! behind Spring Security's XSRF double-submit and HTTP Basic. GeoNetwork
//! cannot be installed on the test machines; this follows its documented
//! behaviour, not geosync's expectations. Every rule cites
//! tests/fixtures/geonetwork-specs/FACTS.md (§n, with the source lines
//! there) or the manual saved beside it; GroupsApi facts cite
//! core-geonetwork's `services/.../api/groups/GroupsApi.java` (see
//! tests/fixtures/geonetwork-specs/GROUPS.md). State is in memory.
//!
//! Included with `#[path]` by tests/it and the crate's own tests; needs
//! axum (dev-dependency), quick-xml, serde_json, sha2.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// Spring Security's message for a missing token (misc.md line 25).
const CSRF_MESSAGE: &str = "Expected CSRF token not found. Has your session expired?";

/// The context path and portal: `/geonetwork/srv/api/...` (§ intro).
pub const API: &str = "/geonetwork/srv/api";
/// Reserved groups (§7, ReservedGroup.java:35-44).
const RESERVED: &[(i64, &str)] = &[(-1, "guest"), (0, "intranet"), (1, "all")];
/// Operations by name (§7, ReservedOperation.java:38-58).
const OPERATIONS: &[&str] = &["view", "download", "editing", "notify", "dynamic", "featured"];
/// The catalogue's languages: a new group gets a label in each (GroupsApi addGroup).
const LANGUAGES: &[&str] = &["eng", "fre", "ger"];

#[derive(Clone, Debug)]
pub struct Record {
    pub id: i64,
    pub xml: String,
    pub owner_group: Option<i64>,
    /// group id -> operations granted.
    pub privileges: BTreeMap<i64, BTreeSet<String>>,
}

#[derive(Default)]
pub struct EmuState {
    pub user: String,
    pub password: String,
    pub next_id: i64,
    pub records: BTreeMap<String, Record>,
    pub groups: BTreeMap<i64, Value>,
    /// Canned failures: (method, path fragment, status), consumed in order
    /// by the first request that matches.
    pub faults: VecDeque<(Method, String, u16)>,
    /// "METHOD /path" of every request, for counting.
    pub log: Vec<String>,
    tokens: u64,
}

type Shared = Arc<Mutex<EmuState>>;

pub struct GeoNetworkEmulator {
    /// The base URL a manifest names: `http://127.0.0.1:PORT/geonetwork`.
    pub url: String,
    pub state: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GeoNetworkEmulator {
    /// Starts on a free port of 127.0.0.1, with one Administrator account
    /// and, like a fresh catalogue, the reserved groups and group 2 "sample".
    pub fn start(user: &str, password: &str) -> Self {
        let mut state = EmuState {
            user: user.into(),
            password: password.into(),
            next_id: 100,
            ..EmuState::default()
        };
        for (id, name) in RESERVED.iter().chain(&[(2, "sample")]) {
            state.groups.insert(*id, group_entity(*id, name));
        }
        let state = Arc::new(Mutex::new(state));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port on 127.0.0.1");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = axum::Router::new().fallback(handle).with_state(state.clone());
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        GeoNetworkEmulator {
            url: format!("http://127.0.0.1:{port}/geonetwork"),
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut EmuState) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    /// The next `times` requests of `method` whose path contains `fragment`
    /// fail with `status` (a proxy or servlet container failing).
    pub fn fail_next(&self, method: Method, fragment: &str, status: u16, times: usize) {
        self.with(|s| {
            for _ in 0..times {
                s.faults.push_back((method.clone(), fragment.to_string(), status));
            }
        });
    }

    pub fn requests(&self) -> Vec<String> {
        self.with(|s| s.log.clone())
    }

    pub fn group_named(&self, name: &str) -> Option<Value> {
        self.with(|s| s.groups.values().find(|g| g["name"] == name).cloned())
    }
}

impl Drop for GeoNetworkEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A group as GeoNetwork's Group entity serialises (Group.java's getters).
fn group_entity(id: i64, name: &str) -> Value {
    json!({
        "id": id, "name": name, "description": null, "email": null, "website": null,
        "logo": null, "referrer": null, "defaultCategory": null, "allowedCategories": [],
        "enableAllowedCategories": false,
        "labelTranslations": LANGUAGES.iter().map(|l| (l.to_string(), json!(name))).collect::<serde_json::Map<_, _>>(),
    })
}

/// One request, checked in the order GeoNetwork's filter chain checks it:
/// XSRF first, then Basic authentication, then the controller (§1, §2:
/// SEC:86-95).
async fn handle(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = state.lock().unwrap();
    let path = uri.path().to_string();
    s.log.push(format!("{method} {path}"));
    let fault = s
        .faults
        .iter()
        .position(|(m, f, _)| *m == method && path.contains(f.as_str()));
    if let Some(index) = fault {
        let (_, _, status) = s.faults.remove(index).unwrap();
        return (StatusCode::from_u16(status).unwrap(), "Service Unavailable").into_response();
    }
    let query = parse_query(uri.query().unwrap_or(""));
    let cookie = cookie(&headers, "XSRF-TOKEN");
    // §1: CsrfFilter hands out a token when the request carries none, on
    // any answer, 403 included (inferred, Spring Security 5.x).
    let set_cookie = if cookie.is_none() {
        Some(new_token(&mut s))
    } else {
        None
    };
    let mut response = route(&mut s, &method, &path, &query, &headers, &body, cookie.as_deref());
    if let Some(token) = set_cookie {
        // §1: path = the context path, not HttpOnly, session cookie.
        let value = format!("XSRF-TOKEN={token}; Path=/geonetwork");
        response
            .headers_mut()
            .append(header::SET_COOKIE, HeaderValue::from_str(&value).unwrap());
    }
    response
}

fn route(
    s: &mut EmuState,
    method: &Method,
    path: &str,
    query: &BTreeMap<String, Vec<String>>,
    headers: &HeaderMap,
    body: &[u8],
    cookie: Option<&str>,
) -> Response {
    let Some(in_portal) = path.strip_prefix("/geonetwork/srv/") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // §1 (SEC:369-380): GET/HEAD/TRACE/OPTIONS are exempt; so are the CSW
    // services (/srv/<lang>/csw...), /api/search/.* and /api/site.
    let csw = in_portal
        .split_once('/')
        .is_some_and(|(lang, rest)| lang.len() == 3 && rest.starts_with("csw"));
    let exempt = matches!(
        *method,
        Method::GET | Method::HEAD | Method::TRACE | Method::OPTIONS
    ) || csw
        || in_portal.starts_with("api/search/")
        || in_portal == "api/site";
    if !exempt {
        let sent = headers
            .get("X-XSRF-TOKEN")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| query.get("_csrf").and_then(|v| v.first().cloned()));
        if cookie.is_none() || sent.is_none() || cookie != sent.as_deref() {
            // §1: the access-denied handler's sendError(403, message); the
            // page is the one the manual's transcript shows (misc.md 16-27).
            let page = format!(
                "<html>\n<head>\n<title>Error 403 {CSRF_MESSAGE}</title>\n</head>\n<body><h2>HTTP ERROR 403</h2>\n<p>Problem accessing {path}. Reason:\n<pre>    {CSRF_MESSAGE}</pre></p></body>\n</html>\n"
            );
            return (
                StatusCode::FORBIDDEN,
                [(header::CONTENT_TYPE, "text/html;charset=utf-8")],
                page,
            )
                .into_response();
        }
    }
    let authenticated = match basic(headers) {
        None => false,
        Some((user, password)) if user == s.user && password == s.password => true,
        // BasicAuthenticationFilter, realm Geonetwork (§2, SEC:175-184).
        Some(_) => {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Basic realm=\"Geonetwork\"")],
                "Bad credentials",
            )
                .into_response()
        }
    };
    if let Some((lang, "info")) = in_portal.split_once('/') {
        if lang.len() == 3 && query.get("type").and_then(|t| t.first()).map(String::as_str) == Some("me") {
            return info_me(s, authenticated);
        }
    }
    let Some(rest) = path.strip_prefix(API) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let ctx = Ctx {
        headers,
        query,
        body,
        authenticated,
    };
    let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    match (method.clone(), segments.as_slice()) {
        (Method::GET, ["me"]) => me(s, &ctx),
        (Method::PUT, ["records"]) => put_records(s, &ctx),
        (Method::GET, ["records", uuid]) | (Method::GET, ["records", uuid, "formatters", "xml"]) => {
            get_record(s, &ctx, &resolve(s, &decode(uuid)))
        }
        (Method::DELETE, ["records", uuid]) => {
            let uuid = resolve(s, &decode(uuid));
            delete_record(s, &ctx, &uuid)
        }
        (Method::PUT, ["records", uuid, "sharing"]) => put_sharing(s, &ctx, &decode(uuid)),
        (Method::GET, ["records", uuid, "sharing"]) => get_sharing(s, &ctx, &decode(uuid)),
        (Method::GET, ["groups"]) => list_groups(s, &ctx),
        (Method::PUT, ["groups"]) => add_group(s, &ctx),
        (Method::GET, ["groups", id]) => with_group_id(id, |id| get_group(s, &ctx, id)),
        (Method::PUT, ["groups", id]) => with_group_id(id, |id| update_group(s, &ctx, id)),
        (Method::DELETE, ["groups", id]) => with_group_id(id, |id| delete_group(s, &ctx, id)),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A record's path variable is its uuid or its internal id
/// (ApiUtils.java:164-187, FACTS §5): the uuid of the record it names.
fn resolve(s: &EmuState, key: &str) -> String {
    if s.records.contains_key(key) {
        return key.to_string();
    }
    s.records
        .iter()
        .find(|(_, r)| r.id.to_string() == key)
        .map_or_else(|| key.to_string(), |(uuid, _)| uuid.clone())
}

struct Ctx<'a> {
    headers: &'a HeaderMap,
    query: &'a BTreeMap<String, Vec<String>>,
    body: &'a [u8],
    authenticated: bool,
}

impl Ctx<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.query.get(name).and_then(|v| v.first()).map(String::as_str)
    }

    fn flag(&self, name: &str) -> bool {
        self.param(name) == Some("true")
    }

    fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// An ApiError body (§3, ApiError.java): JSON or XML only when the
    /// Accept header lists them, otherwise empty (GEC:275-309).
    fn error(&self, status: StatusCode, code: &str, message: &str) -> Response {
        let accept = self
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if accept.contains("application/json") {
            let body = json!({ "code": code, "message": message, "description": message });
            (
                status,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        } else if accept.contains("application/xml") || accept.contains("application/xhtml+xml") {
            let body = format!(
                "<apiError><code>{code}</code><message>{}</message><description>{}</description></apiError>",
                xml_escape(message),
                xml_escape(message)
            );
            (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
        } else {
            status.into_response()
        }
    }

    /// A failed @PreAuthorize: 403 forbidden "Access denied" (§3, GEC:125-148).
    fn denied(&self) -> Response {
        self.error(StatusCode::FORBIDDEN, "forbidden", "Access denied")
    }
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// §2 (MeApi.java:49-95): 200 with the user, 204 when not authenticated.
fn me(s: &EmuState, ctx: &Ctx) -> Response {
    if !ctx.authenticated {
        return StatusCode::NO_CONTENT.into_response();
    }
    json_response(
        StatusCode::OK,
        &json!({"id": "1", "username": s.user, "profile": "Administrator", "admin": true, "name": s.user}),
    )
}

/// The legacy `/srv/<lang>/info?type=me` service of the manual's CSRF
/// transcript (misc.md lines 30-90): XML describing the user.
fn info_me(s: &EmuState, authenticated: bool) -> Response {
    let me = if authenticated {
        format!(
            "<me authenticated=\"true\">\n    <profile>Administrator</profile>\n    <username>{0}</username>\n    <id>1</id>\n    <name>{0}</name>\n    <surname>{0}</surname>\n    <email />\n    <organisation />\n    <hash />\n  </me>",
            xml_escape(&s.user)
        )
    } else {
        "<me authenticated=\"false\" />".to_string()
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<info>\n  {me}\n  <env>\n    <baseURL>/geonetwork</baseURL>\n    <node>srv</node>\n  </env>\n</info>\n"
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/xml; charset=UTF-8")],
        body,
    )
        .into_response()
}

/// PUT /records (§4, MIDA:314-377): Editor; application/xml; 201 with a
/// SimpleMetadataProcessingReport; uuidProcessing decides what an
/// existing uuid means.
fn put_records(s: &mut EmuState, ctx: &Ctx) -> Response {
    if !ctx.authenticated {
        return ctx.denied();
    }
    if !ctx.content_type().starts_with("application/xml") {
        return StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response();
    }
    let xml = String::from_utf8_lossy(ctx.body).into_owned();
    if xml.trim().is_empty() && ctx.param("url").is_none() && ctx.param("serverFolder").is_none() {
        let message = "XML fragment or a URL or a server folder MUST be provided.";
        return ctx.error(StatusCode::BAD_REQUEST, "unsatisfied_request_parameter", message);
    }
    let uuid = match record_uuid(&xml) {
        Err(RecordProblem::Malformed(e)) => {
            let message = format!("XML fragment is invalid. Error is {e}");
            return ctx.error(StatusCode::BAD_REQUEST, "unsatisfied_request_parameter", &message);
        }
        Err(RecordProblem::UnknownSchema) => {
            let message = "Can't detect schema for metadata automatically. You could try to force the schema with the schema parameter.";
            return ctx.error(StatusCode::BAD_REQUEST, "unsatisfied_request_parameter", message);
        }
        Ok(uuid) => uuid,
    };
    let processing = ctx.param("uuidProcessing").unwrap_or("NOTHING");
    let uuid = match (processing, uuid) {
        ("GENERATEUUID", _) | (_, None) => new_uuid(s),
        (_, Some(uuid)) => uuid,
    };
    let existing = s.records.get(&uuid).cloned();
    let id = match (processing, existing) {
        ("NOTHING", Some(_)) => {
            let message = format!("A record with UUID '{uuid}' already exist and you choose no action on UUID processing. Choose to overwrite existing record or to generate a new UUID.");
            return ctx.error(StatusCode::BAD_REQUEST, "unsatisfied_request_parameter", &message);
        }
        // Importer.java:524-546: same record, its XML updated in place.
        ("OVERWRITE", Some(mut record)) => {
            record.xml = xml;
            let id = record.id;
            s.records.insert(uuid.clone(), record);
            id
        }
        ("NOTHING" | "OVERWRITE" | "REMOVE_AND_REPLACE" | "GENERATEUUID", existing) => {
            // Importer.java:547-568: removed with its privileges, then inserted.
            if existing.is_some() {
                s.records.remove(&uuid);
            }
            s.next_id += 1;
            let id = s.next_id;
            let owner_group = ctx.param("group").and_then(|g| g.parse().ok());
            s.records.insert(
                uuid.clone(),
                Record {
                    id,
                    xml,
                    owner_group,
                    privileges: BTreeMap::new(),
                },
            );
            id
        }
        (other, _) => {
            let message = format!("Failed to convert value of type 'java.lang.String' to required type 'org.fao.geonet.kernel.mef.MEFLib$UuidAction'; '{other}'");
            return ctx.error(StatusCode::BAD_REQUEST, "runtime_exception", &message);
        }
    };
    let publish = ctx.flag("publishToAll");
    if publish {
        // MIDA:987-991: view + download + dynamic for group ALL.
        let ops = ["view", "download", "dynamic"]
            .iter()
            .map(|o| o.to_string())
            .collect();
        s.records.get_mut(&uuid).unwrap().privileges.insert(1, ops);
    }
    let info = json!({
        "message": format!("Metadata imported from XML with UUID '{uuid}'"),
        "uuid": uuid, "draft": !publish, "approved": false, "date": "2026-12-01T00:00:00",
    });
    let report_uuid = new_uuid(s);
    let report = json!({
        "type": "SimpleMetadataProcessingReport", "uuid": report_uuid, "running": false,
        "errors": [], "infos": [], "metadata": [], "metadataErrors": {},
        "metadataInfos": { id.to_string(): [info] },
        "numberOfRecords": 1, "numberOfRecordsProcessed": 1, "numberOfRecordsUnchanged": 0,
        "numberOfNullRecords": 0, "numberOfRecordNotFound": 0, "numberOfRecordsNotEditable": 0,
        "numberOfRecordsWithErrors": 0,
    });
    json_response(StatusCode::CREATED, &report)
}

/// §5/§6 (ApiUtils.java:160-190): unknown uuid -> ResourceNotFoundException.
fn not_found(ctx: &Ctx, uuid: &str) -> Response {
    let message = format!("Record with UUID '{uuid}' not found in this catalog");
    ctx.error(StatusCode::NOT_FOUND, "resource_not_found", &message)
}

/// GET /records/{uuid}[/formatters/xml] (§6): the XML; 403 when it may
/// not be viewed (not shared with ALL and not authenticated), 404 unknown.
fn get_record(s: &EmuState, ctx: &Ctx, uuid: &str) -> Response {
    let Some(record) = s.records.get(uuid) else {
        return not_found(ctx, uuid);
    };
    let public = record.privileges.get(&1).is_some_and(|ops| ops.contains("view"));
    if !ctx.authenticated && !public {
        return ctx.error(StatusCode::FORBIDDEN, "forbidden", "Operation not allowed");
    }
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/xml".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{uuid}.xml\""),
            ),
        ],
        record.xml.clone(),
    )
        .into_response()
}

/// DELETE /records/{uuid} (§5, MIDA:203-246): 204, 404 when unknown.
fn delete_record(s: &mut EmuState, ctx: &Ctx, uuid: &str) -> Response {
    if !ctx.authenticated {
        return ctx.denied();
    }
    match s.records.remove(uuid) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => not_found(ctx, uuid),
    }
}

/// PUT /records/{uuid}/sharing (§7, MSA:273-344, 456-550).
fn put_sharing(s: &mut EmuState, ctx: &Ctx, uuid: &str) -> Response {
    if !ctx.authenticated {
        return ctx.denied();
    }
    if !ctx.content_type().starts_with("application/json") {
        return StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response();
    }
    let Ok(parameter) = serde_json::from_slice::<Value>(ctx.body) else {
        return ctx.error(
            StatusCode::BAD_REQUEST,
            "runtime_exception",
            "Required request body is missing or unreadable",
        );
    };
    if !s.records.contains_key(uuid) {
        return not_found(ctx, uuid);
    }
    let clear = parameter["clear"].as_bool().unwrap_or(false);
    let empty = Vec::new();
    let privileges = parameter["privileges"].as_array().unwrap_or(&empty);
    // Checked before any change, as one transaction would roll back.
    for privilege in privileges {
        let known = privilege["group"]
            .as_i64()
            .is_some_and(|g| s.groups.contains_key(&g));
        if !known {
            // Not documented: an unknown group id fails inside the
            // controller; any such exception is a 400 (§3, GEC:162-182).
            let message = format!("Group with id '{}' not found", privilege["group"]);
            return ctx.error(StatusCode::BAD_REQUEST, "runtime_exception", &message);
        }
    }
    let record = s.records.get_mut(uuid).unwrap();
    if clear {
        record.privileges.clear();
    }
    for privilege in privileges {
        let group = privilege["group"].as_i64().unwrap();
        let ops = record.privileges.entry(group).or_default();
        if let Some(operations) = privilege["operations"].as_object() {
            for (name, on) in operations {
                let reserved = RESERVED.iter().any(|(id, _)| *id == group);
                match on.as_bool() {
                    // MSA:517-521: editing is never set for reserved groups.
                    Some(true) if !(reserved && name == "editing") => {
                        ops.insert(name.clone());
                    }
                    // MSA:523-548: false unsets only when not clearing.
                    Some(false) if !clear => {
                        ops.remove(name);
                    }
                    _ => {}
                }
            }
        }
    }
    record.privileges.retain(|_, ops| !ops.is_empty());
    StatusCode::NO_CONTENT.into_response()
}

/// GET /records/{uuid}/sharing (§7, MSA:611-710, GroupPrivilege.java).
fn get_sharing(s: &EmuState, ctx: &Ctx, uuid: &str) -> Response {
    let Some(record) = s.records.get(uuid) else {
        return not_found(ctx, uuid);
    };
    let privileges: Vec<Value> = s
        .groups
        .keys()
        .map(|group| {
            let granted = record.privileges.get(group);
            let operations: serde_json::Map<String, Value> = OPERATIONS
                .iter()
                .map(|op| (op.to_string(), json!(granted.is_some_and(|g| g.contains(*op)))))
                .collect();
            json!({
                "group": group, "operations": operations, "userProfiles": [], "userGroup": false,
                "reserved": RESERVED.iter().any(|(id, _)| id == group),
            })
        })
        .collect();
    let owner = record.owner_group.map(|g| g.to_string());
    json_response(
        StatusCode::OK,
        &json!({ "privileges": privileges, "owner": "1", "groupOwner": owner }),
    )
}

/// GET /groups (GroupsApi getGroups): reserved groups only with
/// withReservedGroup=true; sorted by id.
fn list_groups(s: &EmuState, ctx: &Ctx) -> Response {
    let reserved = ctx.flag("withReservedGroup");
    let list: Vec<Value> = s
        .groups
        .iter()
        .filter(|(id, _)| reserved || !RESERVED.iter().any(|(r, _)| r == *id))
        .map(|(_, g)| g.clone())
        .collect();
    json_response(StatusCode::OK, &Value::Array(list))
}

/// PUT /groups (GroupsApi addGroup): UserAdmin; refuses an id or a name
/// that exists (400); answers 201 with the new id. The body's id defaults
/// to 0 (Java int), which is the intranet group: refused.
fn add_group(s: &mut EmuState, ctx: &Ctx) -> Response {
    if !ctx.authenticated {
        return ctx.denied();
    }
    let Ok(mut group) = serde_json::from_slice::<Value>(ctx.body) else {
        return ctx.error(StatusCode::BAD_REQUEST, "runtime_exception", "JSON parse error");
    };
    let id = group["id"].as_i64().unwrap_or(0);
    if s.groups.contains_key(&id) {
        let message = format!("A group with id '{id}' already exist.");
        return ctx.error(StatusCode::BAD_REQUEST, "unsatisfied_request_parameter", &message);
    }
    let name = group["name"].as_str().unwrap_or("").to_string();
    if s.groups.values().any(|g| g["name"] == name.as_str()) {
        let message = format!("A group with name '{name}' already exist.");
        return ctx.error(StatusCode::BAD_REQUEST, "unsatisfied_request_parameter", &message);
    }
    s.next_id += 1;
    let new_id = s.next_id;
    let mut entity = group_entity(new_id, &name);
    merge_entity(&mut entity, &mut group);
    // Every language gets a label, the name where none is given.
    for lang in LANGUAGES {
        if entity["labelTranslations"][lang].is_null() {
            entity["labelTranslations"][lang] = json!(name);
        }
    }
    entity["id"] = json!(new_id);
    s.groups.insert(new_id, entity);
    json_response(StatusCode::CREATED, &json!(new_id))
}

/// Copies the body's known fields onto the entity (Jackson binding).
fn merge_entity(entity: &mut Value, body: &mut Value) {
    if let (Some(entity), Some(body)) = (entity.as_object_mut(), body.as_object_mut()) {
        for (key, value) in body.iter() {
            if entity.contains_key(key) {
                entity.insert(key.clone(), value.clone());
            }
        }
    }
}

fn with_group_id(id: &str, f: impl FnOnce(i64) -> Response) -> Response {
    match id.parse::<i64>() {
        Ok(id) => f(id),
        // Spring cannot bind the Integer path variable: 400 (§3, GEC:162-182).
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

fn group_not_found(ctx: &Ctx, id: i64) -> Response {
    ctx.error(
        StatusCode::NOT_FOUND,
        "resource_not_found",
        &format!("Group with identifier '{id}' not found"),
    )
}

fn get_group(s: &EmuState, ctx: &Ctx, id: i64) -> Response {
    match s.groups.get(&id) {
        Some(group) => json_response(StatusCode::OK, group),
        None => group_not_found(ctx, id),
    }
}

/// PUT /groups/{id} (GroupsApi updateGroup): 404 unknown, else the body is
/// saved as the whole entity (fields it leaves out are reset); 204.
fn update_group(s: &mut EmuState, ctx: &Ctx, id: i64) -> Response {
    if !ctx.authenticated {
        return ctx.denied();
    }
    if !s.groups.contains_key(&id) {
        return group_not_found(ctx, id);
    }
    let Ok(mut body) = serde_json::from_slice::<Value>(ctx.body) else {
        return ctx.error(StatusCode::BAD_REQUEST, "runtime_exception", "JSON parse error");
    };
    let name = body["name"].as_str().unwrap_or("").to_string();
    let target = body["id"].as_i64().unwrap_or(0);
    // The name column is unique: the save fails, any exception is a 400.
    if s.groups
        .iter()
        .any(|(gid, g)| *gid != target && g["name"] == name.as_str())
    {
        return ctx.error(
            StatusCode::BAD_REQUEST,
            "runtime_exception",
            "could not execute statement",
        );
    }
    let mut entity = group_entity(target, &name);
    entity["labelTranslations"] = json!({});
    merge_entity(&mut entity, &mut body);
    entity["id"] = json!(target);
    s.groups.insert(target, entity);
    StatusCode::NO_CONTENT.into_response()
}

/// DELETE /groups/{id} (GroupsApi deleteGroup): Administrator; 404
/// unknown; 403 while it owns records, or holds privileges unless `force`.
fn delete_group(s: &mut EmuState, ctx: &Ctx, id: i64) -> Response {
    if !ctx.authenticated {
        return ctx.denied();
    }
    let Some(group) = s.groups.get(&id) else {
        return group_not_found(ctx, id);
    };
    let name = group["name"].as_str().unwrap_or("").to_string();
    if s.records.values().any(|r| r.owner_group == Some(id)) {
        let message = format!("Group {name} owns metadata. To remove the group you should transfer first the metadata to another group.");
        return ctx.error(StatusCode::FORBIDDEN, "forbidden", &message);
    }
    let with_privileges = s
        .records
        .values()
        .filter(|r| r.privileges.contains_key(&id))
        .count();
    if with_privileges > 0 && !ctx.flag("force") {
        let message = format!("Group {name} has privileges associated with {with_privileges} record(s). Add 'force' parameter to remove it or remove privileges associated with that group first.");
        return ctx.error(StatusCode::FORBIDDEN, "forbidden", &message);
    }
    for record in s.records.values_mut() {
        record.privileges.remove(&id);
    }
    s.groups.remove(&id);
    StatusCode::NO_CONTENT.into_response()
}

enum RecordProblem {
    Malformed(String),
    UnknownSchema,
}

/// The uuid of an ISO 19139 record (gmd:fileIdentifier/gco:CharacterString),
/// None when it has none; the schema is detected from the root element.
fn record_uuid(xml: &str) -> Result<Option<String>, RecordProblem> {
    use quick_xml::events::Event;
    use quick_xml::name::ResolveResult;
    const GMD: &[u8] = b"http://www.isotc211.org/2005/gmd";
    const GCO: &[u8] = b"http://www.isotc211.org/2005/gco";
    let mut reader = quick_xml::NsReader::from_str(xml);
    let mut path: Vec<(bool, Vec<u8>)> = Vec::new();
    let mut uuid = None;
    let mut root_seen = false;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| RecordProblem::Malformed(e.to_string()))?;
        let in_ns = |uri: &[u8]| matches!(&ns, ResolveResult::Bound(n) if n.as_ref() == uri);
        match event {
            Event::Start(e) => {
                let local = e.local_name().as_ref().to_vec();
                let is_root = in_ns(GMD) && local == b"MD_Metadata";
                if !root_seen && !is_root {
                    return Err(RecordProblem::UnknownSchema);
                }
                root_seen = true;
                let tag = (in_ns(GMD) || in_ns(GCO), local);
                path.push(tag);
            }
            Event::Empty(_) if !root_seen => return Err(RecordProblem::UnknownSchema),
            Event::End(_) => {
                path.pop();
            }
            Event::Text(t) if path.len() == 3 => {
                let names: Vec<&[u8]> = path.iter().map(|(_, l)| l.as_slice()).collect();
                if names == [b"MD_Metadata".as_slice(), b"fileIdentifier", b"CharacterString"]
                    && uuid.is_none()
                {
                    let text = t
                        .unescape()
                        .map_err(|e| RecordProblem::Malformed(e.to_string()))?;
                    uuid = Some(text.trim().to_string()).filter(|u| !u.is_empty());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !root_seen {
        return Err(RecordProblem::Malformed("Premature end of file.".into()));
    }
    Ok(uuid)
}

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().find_map(|value| {
        value.to_str().ok()?.split(';').find_map(|pair| {
            let (n, v) = pair.trim().split_once('=')?;
            (n == name).then(|| v.to_string())
        })
    })
}

/// A random-looking UUID string (CookieCsrfTokenRepository.java:176-178).
fn new_token(s: &mut EmuState) -> String {
    new_uuid(s)
}

fn new_uuid(s: &mut EmuState) -> String {
    use sha2::Digest;
    s.tokens += 1;
    let seed = format!(
        "{:?}{}{}",
        std::time::SystemTime::now(),
        std::process::id(),
        s.tokens
    );
    let h = hex::encode(sha2::Sha256::digest(seed.as_bytes()));
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn parse_query(query: &str) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        map.entry(decode_with(k, true))
            .or_default()
            .push(decode_with(v, true));
    }
    map
}

/// Percent-decoding; `+` is a space only in a query (form encoding).
fn decode_with(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn decode(segment: &str) -> String {
    decode_with(segment, false)
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
