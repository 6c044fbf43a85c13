//! A PROPFIND answer (RFC 4918 multistatus) read into entries: the folder
//! asked about, and its children. Element names are matched by their local
//! name, whatever prefix the server binds the namespaces to.

use quick_xml::events::Event;
use quick_xml::Reader;
use reqwest::Url;

use super::decode_path;

/// One `d:response` of the answer.
#[derive(Debug, Clone)]
pub struct DavEntry {
    /// The entry's name (last path segment), or why it is refused.
    pub name: Result<String, String>,
    /// The name as it can be shown, even when it is not UTF-8.
    pub shown_name: String,
    pub is_folder: bool,
    pub size: Option<u64>,
    /// Seconds since the epoch.
    pub modified: Option<i64>,
    pub etag: Option<String>,
    /// The SHA1 of ownCloud's `oc:checksums`, in hex.
    pub sha1: Option<String>,
    /// Whether the server gave `oc:id` or `oc:fileid` (ownCloud, Nextcloud).
    pub oc_id: bool,
}

#[derive(Debug)]
pub struct Multistatus {
    pub own: DavEntry,
    pub children: Vec<DavEntry>,
}

/// The properties of one propstat, applied only if its status is 200.
#[derive(Default)]
struct Props {
    is_folder: bool,
    size: Option<u64>,
    modified: Option<i64>,
    etag: Option<String>,
    sha1: Option<String>,
    oc_id: bool,
}

#[derive(Default)]
struct Response {
    href: String,
    props: Props,
    pending: Props,
    status: String,
}

impl Multistatus {
    /// Reads the answer to a PROPFIND of `rel` (a folder path of the share).
    pub fn parse(body: &[u8], base: &Url, rel: &str) -> Result<Multistatus, String> {
        let base_path = decode_path(base.path());
        let mut own = None;
        let mut children = Vec::new();
        for response in responses(body)? {
            let path = href_path(&response.href)?;
            let Some(rest) = path.strip_prefix(base_path.as_slice()) else {
                return Err(format!(
                    "it lists {} outside the share's folder",
                    String::from_utf8_lossy(&path)
                ));
            };
            let rest = trim_slashes(rest);
            let wanted = rel.as_bytes();
            let entry = |name: &[u8]| entry_of(name, &response.props);
            if rest == wanted {
                own = Some(entry(rest));
                continue;
            }
            let child = if wanted.is_empty() {
                rest
            } else {
                match rest.strip_prefix(wanted).and_then(|r| r.strip_prefix(b"/")) {
                    Some(child) => child,
                    None => continue,
                }
            };
            // Deeper entries (a server ignoring Depth: 1) are listed with their own folder.
            if !child.is_empty() && !child.contains(&b'/') {
                children.push(entry(child));
            }
        }
        let own = own.ok_or_else(|| "the folder itself is missing from the answer".to_string())?;
        if !own.is_folder {
            return Err("the share's path is a file, not a folder".into());
        }
        Ok(Multistatus { own, children })
    }
}

fn entry_of(name: &[u8], props: &Props) -> DavEntry {
    let shown_name = String::from_utf8_lossy(name).into_owned();
    let name = match std::str::from_utf8(name) {
        Ok(text) => Ok(text.to_string()),
        Err(_) => {
            Err("the name is not valid UTF-8 (its percent-encoded bytes are in another charset)".into())
        }
    };
    DavEntry {
        name,
        shown_name,
        is_folder: props.is_folder,
        size: props.size,
        modified: props.modified,
        etag: props.etag.clone(),
        sha1: props.sha1.clone(),
        oc_id: props.oc_id,
    }
}

fn trim_slashes(mut bytes: &[u8]) -> &[u8] {
    while let Some(rest) = bytes.strip_suffix(b"/") {
        bytes = rest;
    }
    while let Some(rest) = bytes.strip_prefix(b"/") {
        bytes = rest;
    }
    bytes
}

/// The decoded path of an href, which may be a whole URL or a path.
fn href_path(href: &str) -> Result<Vec<u8>, String> {
    let href = href.trim();
    let path = if href.starts_with("http://") || href.starts_with("https://") {
        Url::parse(href)
            .map_err(|e| format!("href `{href}`: {e}"))?
            .path()
            .to_string()
    } else {
        href.to_string()
    };
    let mut decoded = decode_path(&path);
    if !decoded.starts_with(b"/") {
        decoded.insert(0, b'/');
    }
    Ok(decoded)
}

/// Every `d:response`, with the properties of its 200 propstats.
fn responses(body: &[u8]) -> Result<Vec<Response>, String> {
    let mut reader = Reader::from_reader(body);
    reader.config_mut().trim_text(true);
    let mut buf = Vec::new();
    let mut stack: Vec<Vec<u8>> = Vec::new();
    let mut out = Vec::new();
    let mut current: Option<Response> = None;
    let mut text = String::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("not XML: {e} at byte {}", reader.buffer_position()))?;
        match event {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_vec();
                if name == b"response" {
                    current = Some(Response::default());
                }
                start(&name, current.as_mut());
                stack.push(name);
                text.clear();
            }
            Event::Empty(e) => start(e.local_name().as_ref(), current.as_mut()),
            Event::Text(t) => text.push_str(&t.unescape().map_err(|e| format!("bad text: {e}"))?),
            Event::CData(t) => text.push_str(&String::from_utf8_lossy(&t.into_inner())),
            Event::End(_) => {
                let name = stack.pop().unwrap_or_default();
                let parent = stack.last().map(Vec::as_slice);
                if let Some(response) = current.as_mut() {
                    end(&name, parent, std::mem::take(&mut text), response);
                }
                if name == b"response" {
                    out.extend(current.take());
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

fn start(name: &[u8], response: Option<&mut Response>) {
    let Some(response) = response else { return };
    match name {
        b"propstat" => {
            response.pending = Props::default();
            response.status.clear();
        }
        b"collection" => response.pending.is_folder = true,
        _ => {}
    }
}

fn end(name: &[u8], parent: Option<&[u8]>, text: String, response: &mut Response) {
    let props = &mut response.pending;
    match name {
        b"href" if parent == Some(b"response") => response.href = text,
        b"status" if parent == Some(b"propstat") => response.status = text,
        b"getetag" => props.etag = Some(text).filter(|t| !t.is_empty() && t != "\"\""),
        b"getcontentlength" => props.size = text.trim().parse().ok(),
        b"getlastmodified" => {
            props.modified = chrono::DateTime::parse_from_rfc2822(text.trim())
                .ok()
                .map(|d| d.timestamp())
        }
        b"id" | b"fileid" => props.oc_id |= !text.is_empty(),
        b"checksum" | b"checksums" => {
            if let Some(sha1) = text
                .split_whitespace()
                .find_map(|c| c.strip_prefix("SHA1:").or_else(|| c.strip_prefix("sha1:")))
            {
                props.sha1 = Some(sha1.to_ascii_lowercase());
            }
        }
        b"propstat" => {
            let ok = response.status.split_whitespace().nth(1) == Some("200");
            if ok {
                let p = std::mem::take(&mut response.pending);
                let merged = &mut response.props;
                merged.is_folder |= p.is_folder;
                merged.size = merged.size.or(p.size);
                merged.modified = merged.modified.or(p.modified);
                merged.etag = merged.etag.take().or(p.etag);
                merged.sha1 = merged.sha1.take().or(p.sha1);
                merged.oc_id |= p.oc_id;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNCLOUD: &str = r#"<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:oc="http://owncloud.org/ns">
 <d:response><d:href>/remote.php/dav/files/u/a%20b/</d:href>
  <d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype><d:getetag>"5f1"</d:getetag><oc:id>00000010oc</oc:id></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
  <d:propstat><d:prop><d:getcontentlength/><oc:checksums/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>
 </d:response>
 <d:response><d:href>/remote.php/dav/files/u/a%20b/%C3%A9t%C3%A9.shp</d:href>
  <d:propstat><d:prop><d:resourcetype/><d:getetag>"e1"</d:getetag><d:getcontentlength>436</d:getcontentlength>
   <d:getlastmodified>Tue, 01 Dec 2026 21:00:00 GMT</d:getlastmodified>
   <oc:checksums><oc:checksum>SHA1:ABCDEF MD5:00 ADLER32:01</oc:checksum></oc:checksums></d:prop>
   <d:status>HTTP/1.1 200 OK</d:status></d:propstat>
 </d:response>
 <d:response><d:href>http://127.0.0.1:9/remote.php/dav/files/u/a%20b/latin%E9/</d:href>
  <d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
 </d:response>
</d:multistatus>"#;

    #[test]
    fn reads_owncloud_answers() {
        let base = Url::parse("http://127.0.0.1:9/remote.php/dav/files/u/").unwrap();
        let m = Multistatus::parse(OWNCLOUD.as_bytes(), &base, "a b").unwrap();
        assert!(m.own.oc_id && m.own.is_folder);
        assert_eq!(m.own.etag.as_deref(), Some("\"5f1\""));
        assert_eq!(m.children.len(), 2);
        let file = &m.children[0];
        assert_eq!(file.name.as_deref(), Ok("été.shp"));
        assert_eq!(file.size, Some(436));
        assert_eq!(file.sha1.as_deref(), Some("abcdef"));
        assert_eq!(file.modified, Some(1_796_158_800));
        assert!(!file.is_folder);
        let odd = &m.children[1];
        assert!(odd.is_folder && odd.name.is_err(), "{odd:?}");
    }

    #[test]
    fn refuses_answers_that_are_not_a_listing_of_the_share() {
        let base = Url::parse("http://h/dav/").unwrap();
        assert!(Multistatus::parse(b"<html>", &base, "").is_err());
        let outside = r#"<d:multistatus xmlns:d="DAV:"><d:response><d:href>/other/</d:href></d:response></d:multistatus>"#;
        assert!(Multistatus::parse(outside.as_bytes(), &base, "").is_err());
    }
}
