//! A small HTTP server on 127.0.0.1 for the browser tests: it serves a
//! folder (a copy of Mviewer) and hands some path prefixes to a CGI program
//! (MapServer), so the app, its config and its WMS share one origin and the
//! map canvas stays readable. Every request is logged, so a test can tell
//! which tiles the browser asked for. One thread per connection, each
//! answered once and closed: a browser copes, and there is no keep-alive to
//! get wrong.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// A CGI program answering every path that starts with one of `prefixes`.
#[derive(Clone)]
pub struct Cgi {
    pub program: PathBuf,
    pub prefixes: Vec<String>,
    pub env: Vec<(String, String)>,
}

pub struct LoopbackServer {
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    root: PathBuf,
    cgi: Option<Cgi>,
    log: Arc<Mutex<Vec<String>>>,
}

impl LoopbackServer {
    pub fn start(root: &Path, cgi: Option<Cgi>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            root: root.to_path_buf(),
            cgi,
            log: log.clone(),
        });
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &shared);
                });
            }
        });
        LoopbackServer {
            port,
            log,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Request targets (path and query) in the order they arrived.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    shared.log.lock().unwrap().push(target.to_string());
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let (status, content_type, body) = match (&shared.cgi, method) {
        (_, m) if m != "GET" && m != "HEAD" => (405, "text/plain".to_string(), b"GET only".to_vec()),
        (Some(cgi), _) if cgi.prefixes.iter().any(|p| path.starts_with(p.as_str())) => run_cgi(cgi, query),
        _ => static_file(&shared.root, path),
    };
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        if status == 200 { "OK" } else { "Error" },
        body.len()
    )?;
    if method != "HEAD" {
        out.write_all(&body)?;
    }
    out.flush()?;
    // A graceful close: the browser reads the whole answer before the end.
    out.shutdown(std::net::Shutdown::Write)
}

fn static_file(root: &Path, path: &str) -> (u16, String, Vec<u8>) {
    let relative = PathBuf::from(percent_decode(path.trim_start_matches('/')));
    if relative.components().any(|c| !matches!(c, Component::Normal(_))) && !relative.as_os_str().is_empty() {
        return (404, "text/plain".into(), b"not found".to_vec());
    }
    let mut file = root.join(&relative);
    if file.is_dir() {
        file = file.join("index.html");
    }
    match std::fs::read(&file) {
        Ok(bytes) => (200, content_type(&file).to_string(), bytes),
        Err(_) => (404, "text/plain".into(), b"not found".to_vec()),
    }
}

/// Scripts must have a JavaScript type: browsers refuse ES modules otherwise.
fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "xml" | "mst" => "text/xml; charset=utf-8",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        _ => "application/octet-stream",
    }
}

/// Runs the CGI program for one GET and turns its headers into ours.
fn run_cgi(cgi: &Cgi, query: &str) -> (u16, String, Vec<u8>) {
    let output = Command::new(&cgi.program)
        .env("REQUEST_METHOD", "GET")
        .env("QUERY_STRING", query)
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .envs(cgi.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output();
    let Ok(output) = output else {
        return (500, "text/plain".into(), b"the CGI program did not run".to_vec());
    };
    let raw = output.stdout;
    let (head_end, body_start) = match find(&raw, b"\r\n\r\n") {
        Some(i) => (i, i + 4),
        None => match find(&raw, b"\n\n") {
            Some(i) => (i, i + 2),
            None => return (500, "text/plain".into(), output.stderr),
        },
    };
    let mut content_type = "application/octet-stream".to_string();
    let mut status = 200;
    let mut head = String::new();
    let _ = (&raw[..head_end]).read_to_string(&mut head);
    for line in head.lines() {
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-type" => content_type = value.trim().to_string(),
                "status" => status = value.trim()[..3].parse().unwrap_or(500),
                _ => {}
            }
        }
    }
    (status, content_type, raw[body_start..].to_vec())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
