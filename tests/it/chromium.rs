//! Debian's Chromium, headless, as the browser tests' user: it opens a page
//! with every host but 127.0.0.1 unresolvable (no request leaves the
//! machine), lets the page run on virtual time (timers run as fast as the
//! page's work allows; network loads are waited for), and returns the DOM it
//! ended with and what the page logged to its console.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::peer_env;

/// What a page showed and logged.
pub struct Page {
    pub dom: String,
    /// Console messages, uncaught exceptions included (Chromium logs them there).
    pub console: Vec<String>,
    /// Everything Chromium logged, for a failure's message.
    log: String,
}

impl Page {
    /// The JSON the probe (tests/fixtures/mviewer/probe.js) left in the DOM.
    pub fn probe(&self) -> serde_json::Value {
        let start = self.dom.find("<pre id=\"geosync-probe\"").unwrap_or_else(|| {
            panic!(
                "the page holds no probe output; console:\n{:#?}\nbrowser log:\n{}\npage:\n{}",
                self.console,
                self.log,
                self.excerpt()
            )
        });
        let text = &self.dom[start..];
        let text = &text[text.find('>').unwrap() + 1..];
        let text = &text[..text.find("</pre>").unwrap()];
        let json = text
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&");
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("probe output {json}: {e}"))
    }

    pub fn has_probe(&self) -> bool {
        self.dom.contains("<pre id=\"geosync-probe\"")
    }

    /// Uncaught exceptions the console saw.
    pub fn uncaught(&self) -> Vec<&String> {
        self.console.iter().filter(|l| l.contains("Uncaught")).collect()
    }

    fn excerpt(&self) -> String {
        self.dom.chars().take(2000).collect()
    }
}

/// Opens `url` for `budget_ms` of virtual time. `profile` is a fresh folder.
pub fn open(url: &str, profile: &Path, budget_ms: u32) -> Page {
    let mut child = Command::new(peer_env("GEOSYNC_TEST_CHROMIUM"))
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--window-size=1280,800",
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--virtual-time-budget={budget_ms}"))
        .arg("--dump-dom")
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    // A generous real-time deadline against a hung browser; the page's own
    // time is the virtual budget above.
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if child.try_wait().expect("chromium's status").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish {url} within 180 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let dom = out.join().unwrap();
    let log = err.join().unwrap();
    let console = log
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(|l| l.split_once("] ").map_or(l, |(_, m)| m).to_string())
        .collect();
    Page { dom, console, log }
}
