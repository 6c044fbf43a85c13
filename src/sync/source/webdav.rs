//! A share over WebDAV: ownCloud/Nextcloud (`/remote.php/dav/files/<user>/`)
//! or any WebDAV server.
//!
//! Listings are `PROPFIND Depth: 1`, one folder at a time: ownCloud refuses
//! `Depth: infinity` (412). ownCloud gives every folder an etag that changes
//! whenever anything below it changes; such a server is recognised by its
//! `oc:` properties, and then an unchanged folder etag spares listing the
//! folder again: a share where nothing changed costs one `PROPFIND Depth: 0`
//! of its root. Other servers (Apache, rclone, WsgiDAV) give folders no etag
//! or one that changes only with direct children, and are walked fully.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::StreamExt;
use percent_encoding::{percent_decode, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::{Method, StatusCode, Url};
use sha1::{Digest, Sha1};
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

use super::{
    check_name, join, FetchError, Folder, NameCheck, Refused, ShareFile, SourceError, Walk, WalkState,
    WalkStats,
};
use crate::manifest::secret::Secret;

mod multistatus;

use multistatus::{DavEntry, Multistatus};

/// What a path segment keeps unencoded: RFC 3986's unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// PROPFINDs at once: enough to overlap round trips, few enough for a
/// small ownCloud.
const CONCURRENT_REQUESTS: usize = 4;

/// Attempts of a request that failed for a passing reason (connection
/// lost, 502/503/504), with the wait before each retry.
const RETRY_WAITS: [Duration; 2] = [Duration::from_millis(200), Duration::from_millis(1000)];

/// The properties asked: DAV's, and ownCloud's id and checksums.
const PROPFIND_BODY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">
  <d:prop>
    <d:resourcetype/>
    <d:getetag/>
    <d:getcontentlength/>
    <d:getlastmodified/>
    <oc:id/>
    <oc:fileid/>
    <oc:checksums/>
  </d:prop>
</d:propfind>
"#;

pub struct WebDavShare {
    client: reqwest::Client,
    /// The share's folder; always ends with `/`.
    base: Url,
    user: Option<String>,
    password: Option<Secret>,
    requests: AtomicUsize,
    reused: AtomicUsize,
    slots: Arc<Semaphore>,
}

impl WebDavShare {
    pub fn new(mut base: Url, user: Option<String>, password: Option<Secret>) -> Result<Self, SourceError> {
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(WebDavShare {
            client: http_client()?,
            base,
            user,
            password,
            requests: AtomicUsize::new(0),
            reused: AtomicUsize::new(0),
            slots: Arc::new(Semaphore::new(CONCURRENT_REQUESTS)),
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// Lists the share; with a previous walk of a server that propagates
    /// folder etags, only the folders that changed.
    pub async fn walk(&self, previous: Option<&WalkState>) -> Result<Walk, SourceError> {
        self.requests.store(0, Ordering::SeqCst);
        self.reused.store(0, Ordering::SeqCst);
        let trusted = previous.filter(|p| p.propagates).map(|p| &p.root);
        if let Some(prev) = trusted.filter(|p| p.etag.is_some()) {
            let own = self.propfind("", "0").await?.own;
            if own.etag.is_some() && own.etag == prev.etag {
                return Ok(Walk {
                    root: prev.clone(),
                    propagates: true,
                    stats: WalkStats {
                        requests: self.requests.load(Ordering::SeqCst),
                        reused: 1,
                    },
                });
            }
        }
        let first = self.propfind("", "1").await?;
        // ownCloud's own properties say its folder etags are propagated.
        let propagates = first.own.oc_id && first.own.etag.is_some();
        let root = self
            .folder(String::new(), first, trusted.filter(|_| propagates), propagates)
            .await?;
        Ok(Walk {
            root,
            propagates,
            stats: WalkStats {
                requests: self.requests.load(Ordering::SeqCst),
                reused: self.reused.load(Ordering::SeqCst),
            },
        })
    }

    /// A folder from its listing; its subfolders listed in turn, or taken
    /// from the previous walk when their etag says they did not change.
    fn folder<'a>(
        &'a self,
        rel: String,
        listing: Multistatus,
        previous: Option<&'a Folder>,
        propagates: bool,
    ) -> BoxFuture<'a, Result<Folder, SourceError>> {
        Box::pin(async move {
            let mut folder = Folder {
                etag: listing.own.etag.clone(),
                ..Folder::default()
            };
            let mut pending = Vec::new();
            for child in listing.children {
                let name = match &child.name {
                    Ok(name) => name.clone(),
                    Err(reason) => {
                        folder.refused.push(Refused {
                            path: join(&rel, &child.shown_name),
                            reason: reason.clone(),
                        });
                        continue;
                    }
                };
                let path = join(&rel, &name);
                match check_name(&name, child.is_folder) {
                    NameCheck::Ignore => continue,
                    NameCheck::Refuse(reason) => {
                        folder.refused.push(Refused { path, reason });
                        continue;
                    }
                    NameCheck::Keep => {}
                }
                if !child.is_folder {
                    folder.files.push(share_file(path, &child));
                    continue;
                }
                let before = previous.and_then(|p| p.folders.get(&name));
                match before {
                    Some(b) if propagates && b.etag.is_some() && b.etag == child.etag => {
                        self.reused.fetch_add(1, Ordering::SeqCst);
                        folder.folders.insert(name, b.clone());
                    }
                    _ => pending.push((name, path, before)),
                }
            }
            let listed =
                futures::future::try_join_all(pending.into_iter().map(|(name, path, before)| async move {
                    let listing = self.propfind(&path, "1").await?;
                    let sub = self.folder(path, listing, before, propagates).await?;
                    Ok::<_, SourceError>((name, sub))
                }))
                .await?;
            folder.folders.extend(listed);
            folder.files.sort_by(|a, b| a.path.cmp(&b.path));
            Ok(folder)
        })
    }

    /// The URL of a path of the share (a folder when it ends with `/`).
    fn url_of(&self, rel: &str, folder: bool) -> Url {
        let mut encoded: Vec<String> = rel
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
            .collect();
        if folder && !encoded.is_empty() {
            encoded.push(String::new());
        }
        let mut url = self.base.clone();
        url.set_path(&format!("{}{}", self.base.path(), encoded.join("/")));
        url
    }

    fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        let request = self.client.request(method, url);
        match &self.user {
            Some(user) => request.basic_auth(user, self.password.as_ref().map(|p| p.expose())),
            None => request,
        }
    }

    async fn propfind(&self, rel: &str, depth: &'static str) -> Result<Multistatus, SourceError> {
        let url = self.url_of(rel, true);
        let shown = shown_url(&url);
        let method = Method::from_bytes(b"PROPFIND").expect("PROPFIND is a valid method");
        let response = self
            .send(&shown, || {
                self.request(method.clone(), url.clone())
                    .header("Depth", depth)
                    .header("Content-Type", "application/xml; charset=utf-8")
                    .body(PROPFIND_BODY)
            })
            .await?;
        if response.status() != StatusCode::MULTI_STATUS {
            return Err(status_error(&shown, "PROPFIND", response.status()));
        }
        let body = response
            .bytes()
            .await
            .map_err(|source| SourceError::Unreachable {
                url: shown.clone(),
                source,
            })?;
        Multistatus::parse(&body, &self.base, rel)
            .map_err(|message| SourceError::BadAnswer { url: shown, message })
    }

    /// Sends a request, again after a passing failure; holds one of the
    /// request slots meanwhile.
    async fn send(
        &self,
        shown: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, SourceError> {
        let _slot = self.slots.acquire().await.expect("the semaphore is never closed");
        let mut waits = RETRY_WAITS.iter();
        loop {
            self.requests.fetch_add(1, Ordering::SeqCst);
            let result = build().send().await;
            let passing = match &result {
                Ok(r) => matches!(r.status().as_u16(), 502..=504),
                Err(e) => e.is_connect() || e.is_timeout(),
            };
            match (passing, waits.next()) {
                (true, Some(wait)) => tokio::time::sleep(*wait).await,
                _ => {
                    return match result {
                        Ok(response) => Ok(response),
                        Err(source) => Err(SourceError::Unreachable {
                            url: shown.to_string(),
                            source,
                        }),
                    };
                }
            }
        }
    }

    /// Streams the file to `dest`, checking its size, its etag and (when the
    /// server gave one) its SHA1 checksum against the listing.
    pub async fn fetch(&self, file: &ShareFile, dest: &std::path::Path) -> Result<(), FetchError> {
        let url = self.url_of(&file.path, false);
        let shown = shown_url(&url);
        let response = self
            .send(&shown, || self.request(Method::GET, url.clone()))
            .await?;
        if response.status() != StatusCode::OK {
            return Err(status_error(&shown, "GET", response.status()).into());
        }
        let served_etag = response
            .headers()
            .get("oc-etag")
            .or_else(|| response.headers().get("etag"))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if let (Some(listed), Some(served)) = (&file.etag, &served_etag) {
            if normalize_etag(listed) != normalize_etag(served) {
                return Err(FetchError::Changed {
                    path: file.path.clone(),
                    detail: format!("etag {listed} when listed, {served} when read"),
                });
            }
        }
        let (written, sha1) = stream_to(response, dest, &file.path).await?;
        if written != file.size {
            return Err(FetchError::Changed {
                path: file.path.clone(),
                detail: format!("{} bytes when listed, {written} read", file.size),
            });
        }
        if let Some(expected) = file.checksum.as_deref().and_then(|c| c.strip_prefix("SHA1:")) {
            if !expected.eq_ignore_ascii_case(&sha1) {
                return Err(FetchError::Checksum {
                    path: file.path.clone(),
                    expected: format!("SHA1:{expected}"),
                    actual: format!("SHA1:{sha1}"),
                });
            }
        }
        Ok(())
    }
}

/// Writes a response body to a file as it arrives; returns its length and SHA1.
async fn stream_to(
    response: reqwest::Response,
    dest: &std::path::Path,
    path: &str,
) -> Result<(u64, String), FetchError> {
    let write_fail = |source| FetchError::Write {
        path: dest.to_path_buf(),
        source,
    };
    let mut out = tokio::fs::File::create(dest).await.map_err(write_fail)?;
    let mut hasher = Sha1::new();
    let mut written = 0u64;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| FetchError::Read {
            path: path.to_string(),
            source: Box::new(e),
        })?;
        hasher.update(&chunk);
        written += chunk.len() as u64;
        out.write_all(&chunk).await.map_err(write_fail)?;
    }
    out.flush().await.map_err(write_fail)?;
    out.sync_all().await.map_err(write_fail)?;
    Ok((written, hex::encode(hasher.finalize())))
}

fn share_file(path: String, entry: &DavEntry) -> ShareFile {
    ShareFile {
        path,
        size: entry.size.unwrap_or(0),
        modified: entry.modified,
        etag: entry.etag.clone(),
        checksum: entry.sha1.as_ref().map(|h| format!("SHA1:{h}")),
    }
}

/// `W/"x"` and `"x"` name the same version for our purpose.
fn normalize_etag(etag: &str) -> &str {
    etag.trim().trim_start_matches("W/").trim_matches('"')
}

/// A URL as errors show it: never with credentials (there are none in it:
/// they go in a header), percent-decoded for people.
fn shown_url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    let decoded = percent_decode(shown.as_str().as_bytes())
        .decode_utf8_lossy()
        .into_owned();
    crate::escape::escape(&decoded).into_owned()
}

fn status_error(url: &str, method: &'static str, status: StatusCode) -> SourceError {
    let hint = match status.as_u16() {
        401 | 403 => " (check the share's user and password)",
        404 => " (no such folder: check the URL)",
        405 => " (not a WebDAV folder: check the URL)",
        412 => " (the server refuses this listing depth)",
        _ => "",
    };
    SourceError::Status {
        url: url.to_string(),
        method,
        status: status.as_u16(),
        hint,
    }
}

/// An HTTP client with rustls (ring) trusting the system's CA certificates.
fn http_client() -> Result<reqwest::Client, SourceError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    if let Ok(certificates) = CertificateDer::pem_file_iter("/etc/ssl/certs/ca-certificates.crt") {
        for certificate in certificates.flatten() {
            let _ = roots.add(certificate);
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SourceError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(60))
        .user_agent(concat!("geosync/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(SourceError::Client)
}

/// The decoded bytes of a percent-encoded path.
pub(super) fn decode_path(text: &str) -> Vec<u8> {
    percent_decode(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_encode_every_segment() {
        let share = WebDavShare::new(
            Url::parse("http://127.0.0.1:1/remote.php/dav/files/u").unwrap(),
            None,
            None,
        )
        .unwrap();
        assert_eq!(share.base_url().path(), "/remote.php/dav/files/u/");
        assert_eq!(
            share.url_of("a b/été#1.shp", false).as_str(),
            "http://127.0.0.1:1/remote.php/dav/files/u/a%20b/%C3%A9t%C3%A9%231.shp"
        );
        assert_eq!(share.url_of("a", true).path(), "/remote.php/dav/files/u/a/");
        assert_eq!(share.url_of("", true).path(), "/remote.php/dav/files/u/");
    }

    #[test]
    fn etags_compare_without_quotes_or_weakness() {
        assert_eq!(normalize_etag("W/\"abc\""), "abc");
        assert_eq!(normalize_etag("\"abc\""), normalize_etag("abc"));
    }
}
