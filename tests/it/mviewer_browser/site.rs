//! A copy of Mviewer to serve, with geosync's probe as the first script of
//! its index.html, and the check that an app opened in it initialised.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::chromium::{self, Page};
use crate::loopback_http::LoopbackServer;

const PROBE: &str = include_str!("../../fixtures/mviewer/probe.js");
/// Virtual time the page gets: Mviewer reveals the app 2 s after it loaded.
const BUDGET_MS: u32 = 20_000;

/// A copy of Mviewer with the probe as the first script of index.html.
pub struct Site {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

impl Site {
    pub fn copy_of(mviewer: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("mviewer");
        copy_tree(mviewer, &root);
        let index = root.join("index.html");
        let html = std::fs::read_to_string(&index).unwrap();
        assert!(html.contains("<head>"), "Mviewer's index.html has no <head>");
        let html = html.replacen(
            "<head>",
            "<head>\n    <script src=\"geosync-probe.js\"></script>",
            1,
        );
        std::fs::write(&index, html).unwrap();
        std::fs::write(root.join("geosync-probe.js"), PROBE).unwrap();
        Site { _dir: dir, root }
    }

    /// Adds a file to the served copy.
    pub fn write(&self, relative: &str, content: &str) {
        let path = self.root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    pub fn apps(&self) -> PathBuf {
        self.root.join("apps")
    }

    /// Opens `apps/NAME.xml` in Chromium and checks it initialised.
    /// `search`: text the probe types into the search box once the app shows.
    pub fn open(&self, server: &LoopbackServer, app: &str, search: Option<&str>) -> (Page, Value) {
        let profile = tempfile::tempdir().unwrap();
        let mut url = server.url(&format!("/index.html?config=apps/{app}.xml"));
        if let Some(text) = search {
            url.push_str(&format!("&probe_search={text}"));
        }
        let page = chromium::open(&url, profile.path(), BUDGET_MS);
        if !page.has_probe() {
            eprintln!("requests the server saw: {:#?}", server.requests());
        }
        let probe = page.probe();
        assert!(probe.get("probeError").is_none(), "the probe failed: {probe:#}");
        assert!(
            page.uncaught().is_empty(),
            "uncaught exceptions: {:#?}",
            page.console
        );
        assert_eq!(probe["errors"], serde_json::json!([]), "{probe:#}");
        assert_eq!(
            probe["loadingVisible"], false,
            "the loading screen stayed: {probe:#}"
        );
        assert!(probe["map"].is_object(), "no map: {probe:#}");
        (page, probe)
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
