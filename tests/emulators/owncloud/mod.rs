//! An ownCloud 10 server as far as the sync and `owncloudcmd` see one,
//! serving a folder of this machine read-only. Strict where ownCloud is
//! (tests/fixtures/owncloud-specs/FACTS.md): `PROPFIND Depth: infinity`
//! is refused with 412 and Sabre's error body; the answer is 207 with
//! `application/xml; charset=utf-8`; every folder's etag changes whenever
//! anything below it changes (propagation); files and folders carry
//! `oc:id`, `oc:fileid`, `oc:permissions`, files `oc:checksums` (SHA1);
//! `GET` answers `ETag`, `OC-ETag` and `OC-Checksum`; `status.php`,
//! `ocs/v1.php/cloud/capabilities` and `cloud/user` answer as 10.16 does;
//! everything but status.php needs the user's Basic credentials.
//!
//! It counts the requests it gets (the sync's cost is measured in them) and
//! can be told to fail (the share going away) or to change a file just
//! before serving it (a file modified during a download).

use std::collections::BTreeMap;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use sha1::{Digest, Sha1};

const INSTANCE: &str = "ocgeosync1";

/// One request the emulator answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub depth: Option<String>,
}

struct Shared {
    root: PathBuf,
    user: String,
    password: String,
    seen: Mutex<Vec<Seen>>,
    /// Requests answered normally before every later one gets 503.
    fail_after: AtomicUsize,
    /// A file (path in the share) rewritten with these bytes at its next GET.
    change_on_get: Mutex<BTreeMap<String, Vec<u8>>>,
}

pub struct OwnCloud {
    pub base: String,
    pub user: String,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OwnCloud {
    /// Serves `root` as the files of `user` on a free loopback port.
    pub fn start(root: &Path, user: &str, password: &str) -> OwnCloud {
        let shared = Arc::new(Shared {
            root: root.to_path_buf(),
            user: user.into(),
            password: password.into(),
            seen: Mutex::new(Vec::new()),
            fail_after: AtomicUsize::new(usize::MAX),
            change_on_get: Mutex::new(BTreeMap::new()),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = shared.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(handle).with_state(state);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        OwnCloud {
            base,
            user: user.into(),
            shared,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// The user's WebDAV folder, as the sync is configured with it.
    pub fn dav_url(&self) -> String {
        format!("{}/remote.php/dav/files/{}/", self.base, self.user)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    pub fn forget_seen(&self) {
        self.shared.seen.lock().unwrap().clear();
    }

    /// After `n` more requests, answer 503 to everything (a server going away).
    pub fn fail_after(&self, n: usize) {
        let done = self.shared.seen.lock().unwrap().len();
        self.shared.fail_after.store(done + n, Ordering::SeqCst);
    }

    /// Rewrites `path` with `bytes` just before its next download is served.
    pub fn change_on_get(&self, path: &str, bytes: &[u8]) {
        self.shared
            .change_on_get
            .lock()
            .unwrap()
            .insert(path.to_string(), bytes.to_vec());
    }
}

impl Drop for OwnCloud {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Every request's body is read whole (a PROPFIND's XML): a body left
/// unread makes the server drop the kept-alive connection, which clients
/// that pipeline requests (owncloudcmd) report as a network error.
async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    _body: axum::body::Bytes,
) -> Response {
    let depth = headers
        .get("depth")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let index = {
        let mut seen = shared.seen.lock().unwrap();
        seen.push(Seen {
            method: method.to_string(),
            path: uri.path().to_string(),
            depth: depth.clone(),
        });
        seen.len()
    };
    if index > shared.fail_after.load(Ordering::SeqCst) {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
    }
    let path = uri.path();
    if path == "/status.php" {
        return json(StatusCode::OK, status());
    }
    if !authorized(&shared, &headers) {
        return Response::builder()
            .status(StatusCode::UNAUTHORIZED)
            .header("WWW-Authenticate", "Basic realm=\"Authorisation Required\"")
            .body(Body::empty())
            .unwrap();
    }
    if let Some(api) = path
        .strip_prefix("/ocs/v1.php/cloud/")
        .or(path.strip_prefix("/ocs/v2.php/cloud/"))
    {
        return ocs(&shared, api);
    }
    let dav_prefix = format!("/remote.php/dav/files/{}", shared.user);
    let Some(rel) = path
        .strip_prefix(dav_prefix.as_str())
        .or_else(|| path.strip_prefix("/remote.php/webdav"))
    else {
        return plain(StatusCode::NOT_FOUND, "Not Found");
    };
    let mount = &path[..path.len() - rel.len()];
    let Some(rel) = decode(rel) else {
        return plain(StatusCode::BAD_REQUEST, "Bad path");
    };
    match method.as_str() {
        "PROPFIND" => propfind(&shared, mount, &rel, depth.as_deref()),
        "GET" | "HEAD" => get(&shared, &rel, method == Method::HEAD),
        _ => plain(StatusCode::FORBIDDEN, "This emulator serves a read-only share"),
    }
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    use base64::Engine;
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", shared.user, shared.password));
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Basic {expected}"))
}

/// The path's bytes, percent-decoded, without `..`; None when it tries to escape.
fn decode(rel: &str) -> Option<Vec<Vec<u8>>> {
    let bytes: Vec<u8> = percent_encoding::percent_decode(rel.as_bytes()).collect();
    let segments: Vec<Vec<u8>> = bytes
        .split(|b| *b == b'/')
        .filter(|s| !s.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    segments
        .iter()
        .all(|s| s != b".." && s != b".")
        .then_some(segments)
}

fn local(shared: &Shared, rel: &[Vec<u8>]) -> PathBuf {
    let mut path = shared.root.clone();
    for segment in rel {
        path.push(std::ffi::OsStr::from_bytes(segment));
    }
    path
}

fn plain(status: StatusCode, text: &str) -> Response {
    Response::builder()
        .status(status)
        .header("Content-Type", "text/plain; charset=utf-8")
        .body(Body::from(text.to_string()))
        .unwrap()
}

fn json(status: StatusCode, value: serde_json::Value) -> Response {
    Response::builder()
        .status(status)
        .header("Content-Type", "application/json; charset=utf-8")
        .header("Access-Control-Allow-Origin", "*")
        .body(Body::from(value.to_string()))
        .unwrap()
}

fn status() -> serde_json::Value {
    serde_json::json!({
        "installed": true, "maintenance": false, "needsDbUpgrade": false,
        "version": "10.16.4.0", "versionstring": "10.16.4", "edition": "Community",
        "productname": "ownCloud", "product": "ownCloud"
    })
}

fn ocs(shared: &Shared, api: &str) -> Response {
    let data = match api {
        "capabilities" => serde_json::json!({
            "version": {"major": 10, "minor": 16, "micro": 4, "string": "10.16.4", "edition": "Community", "product": "ownCloud"},
            "capabilities": {
                "core": {"pollinterval": 30000, "webdav-root": "remote.php/webdav", "status": status(), "support-url-signing": true},
                "checksums": {"supportedTypes": ["SHA1"], "preferredUploadType": "SHA1"},
                "files": {"privateLinks": true, "privateLinksDetailsParam": true, "bigfilechunking": true,
                          "blacklisted_files": [".htaccess"], "blacklisted_files_regex": "\\.(part|filepart)$",
                          "favorites": true, "file_locking_support": true, "file_locking_enable_file_action": false},
                "dav": {"chunking": "1.0", "reports": ["search-files"], "propfind": {"depth_infinity": false}, "trashbin": "1.0"}
            }
        }),
        "user" => serde_json::json!({
            "id": shared.user, "display-name": shared.user, "email": null, "language": "en"
        }),
        _ => return plain(StatusCode::NOT_FOUND, "Not Found"),
    };
    json(
        StatusCode::OK,
        serde_json::json!({"ocs": {"meta": {"status": "ok", "statuscode": 100, "message": "OK", "totalitems": "", "itemsperpage": ""}, "data": data}}),
    )
}

/// A node of the share, with the properties ownCloud gives it.
struct Node {
    rel: Vec<Vec<u8>>,
    folder: bool,
    size: u64,
    mtime: i64,
    fileid: u64,
    etag: String,
}

fn node(shared: &Shared, rel: &[Vec<u8>]) -> std::io::Result<Node> {
    let path = local(shared, rel);
    let meta = std::fs::metadata(&path)?;
    let (etag, size) = if meta.is_dir() {
        folder_etag(&path)?
    } else {
        (file_etag(&meta), meta.len())
    };
    Ok(Node {
        rel: rel.to_vec(),
        folder: meta.is_dir(),
        size,
        mtime: meta.mtime(),
        fileid: meta.ino(),
        etag,
    })
}

fn file_etag(meta: &std::fs::Metadata) -> String {
    let mut hash = Sha1::new();
    hash.update(
        format!(
            "{}:{}:{}:{}",
            meta.ino(),
            meta.mtime(),
            meta.mtime_nsec(),
            meta.len()
        )
        .as_bytes(),
    );
    hex::encode(hash.finalize())[..13].to_string()
}

/// A folder's etag covers everything below it, as ownCloud's propagation
/// makes it: any change anywhere below gives the folder a new etag. Also
/// its recursive size (oc:size).
fn folder_etag(dir: &Path) -> std::io::Result<(String, u64)> {
    let mut hash = Sha1::new();
    let mut size = 0;
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let meta = std::fs::metadata(entry.path())?;
        let (etag, bytes) = if meta.is_dir() {
            folder_etag(&entry.path())?
        } else {
            (file_etag(&meta), meta.len())
        };
        size += bytes;
        hash.update(entry.file_name().as_bytes());
        hash.update(b"\0");
        hash.update(etag.as_bytes());
    }
    Ok((hex::encode(hash.finalize())[..13].to_string(), size))
}

fn sha1_of(path: &Path) -> std::io::Result<String> {
    Ok(hex::encode(Sha1::digest(std::fs::read(path)?)))
}

fn propfind(shared: &Shared, mount: &str, rel: &[Vec<u8>], depth: Option<&str>) -> Response {
    let depth = depth.map(str::to_ascii_lowercase);
    if depth.as_deref() == Some("infinity") {
        let body = r#"<?xml version="1.0" encoding="utf-8"?>
<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">
  <s:exception>Sabre\DAV\Exception\PreconditionFailed</s:exception>
  <s:message>Depth infinity not supported</s:message>
</d:error>"#;
        return Response::builder()
            .status(StatusCode::PRECONDITION_FAILED)
            .header("Content-Type", "application/xml; charset=utf-8")
            .body(Body::from(body))
            .unwrap();
    }
    let Ok(own) = node(shared, rel) else {
        return plain(StatusCode::NOT_FOUND, "Not Found");
    };
    let mut nodes = vec![];
    let mut pending = vec![(own, 0usize)];
    // No Depth header: Sabre's default, infinity (allowed: only an explicit one is refused).
    let max = match depth.as_deref() {
        Some("0") => 0,
        Some("1") => 1,
        _ => usize::MAX,
    };
    while let Some((n, level)) = pending.pop() {
        if n.folder && level < max {
            let dir = local(shared, &n.rel);
            let mut children: Vec<_> = match std::fs::read_dir(&dir) {
                Ok(entries) => entries.filter_map(Result::ok).collect(),
                Err(_) => return plain(StatusCode::NOT_FOUND, "Not Found"),
            };
            children.sort_by_key(|e| std::cmp::Reverse(e.file_name()));
            for child in children {
                let mut rel = n.rel.clone();
                rel.push(child.file_name().into_vec());
                if let Ok(c) = node(shared, &rel) {
                    pending.push((c, level + 1));
                }
            }
        }
        nodes.push(n);
    }
    let mut body = String::from(
        r#"<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:oc="http://owncloud.org/ns">"#,
    );
    for n in &nodes {
        response_xml(shared, mount, n, &mut body);
    }
    body.push_str("</d:multistatus>");
    Response::builder()
        .status(StatusCode::MULTI_STATUS)
        .header("Content-Type", "application/xml; charset=utf-8")
        .body(Body::from(body))
        .unwrap()
}

fn href(mount: &str, rel: &[Vec<u8>], folder: bool) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let mut out = mount.to_string();
    for segment in rel {
        out.push('/');
        out.push_str(&percent_encoding::percent_encode(segment, SET).to_string());
    }
    if folder {
        out.push('/');
    }
    out
}

fn response_xml(shared: &Shared, mount: &str, n: &Node, body: &mut String) {
    use std::fmt::Write;
    let modified = chrono::DateTime::from_timestamp(n.mtime, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT");
    let _ = write!(
        body,
        "<d:response><d:href>{}</d:href><d:propstat><d:prop>",
        href(mount, &n.rel, n.folder)
    );
    let _ = write!(
        body,
        "<d:getlastmodified>{modified}</d:getlastmodified><d:getetag>&quot;{}&quot;</d:getetag>\
         <oc:id>{:08}{INSTANCE}</oc:id><oc:fileid>{}</oc:fileid><oc:size>{}</oc:size>\
         <oc:data-fingerprint></oc:data-fingerprint><oc:share-types/>",
        n.etag, n.fileid, n.fileid, n.size
    );
    if n.folder {
        body.push_str(
            "<d:resourcetype><d:collection/></d:resourcetype><oc:permissions>RDNVCK</oc:permissions>",
        );
    } else {
        let sha1 = sha1_of(&local(shared, &n.rel)).unwrap_or_default();
        let _ = write!(
            body,
            "<d:resourcetype/><d:getcontentlength>{}</d:getcontentlength><oc:permissions>RDNVW</oc:permissions>\
             <oc:checksums><oc:checksum>SHA1:{sha1}</oc:checksum></oc:checksums>",
            n.size
        );
    }
    body.push_str("</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>");
    body.push_str(
        "<d:propstat><d:prop><oc:downloadURL/><oc:dDC/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>",
    );
    body.push_str("</d:response>");
}

fn get(shared: &Shared, rel: &[Vec<u8>], head: bool) -> Response {
    let shown = rel
        .iter()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect::<Vec<_>>()
        .join("/");
    let path = local(shared, rel);
    if let Some(bytes) = shared.change_on_get.lock().unwrap().remove(&shown) {
        std::fs::write(&path, bytes).unwrap();
    }
    let Ok(meta) = std::fs::metadata(&path) else {
        return plain(StatusCode::NOT_FOUND, "Not Found");
    };
    if meta.is_dir() {
        return plain(StatusCode::NOT_IMPLEMENTED, "GET is only implemented on files");
    }
    let Ok(bytes) = std::fs::read(&path) else {
        return plain(StatusCode::NOT_FOUND, "Not Found");
    };
    let etag = format!("\"{}\"", file_etag(&meta));
    let builder = Response::builder()
        .status(StatusCode::OK)
        .header("Content-Type", "application/octet-stream")
        .header("Content-Length", bytes.len())
        .header("ETag", &etag)
        .header("OC-ETag", &etag)
        .header(
            "OC-Checksum",
            format!("SHA1:{}", hex::encode(Sha1::digest(&bytes))),
        )
        .header("X-Accel-Buffering", "no");
    builder
        .body(if head { Body::empty() } else { Body::from(bytes) })
        .unwrap()
}
