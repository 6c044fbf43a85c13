//! A no-op sync pass over a share of 10,000 files (50 shapefiles among
//! documents, in 100 folders two levels deep), served by the ownCloud
//! emulator (tests/emulators/owncloud: propagated folder etags, as
//! ownCloud), side by side with what the original tool ran every time:
//! `owncloudcmd` (Debian owncloud-client-cmd) syncing the same share into
//! a local folder, with nothing to do. Also geosync without its walk
//! state (a full walk, as on a plain WebDAV server). Same run, same
//! machine; PostgreSQL 15 + PostGIS (Debian) in a private cluster holds
//! the ledger. Run with `cargo bench --bench sync_walk_noop`.
//!
//! Reported: wall time of the whole process (median of the runs), its peak
//! memory, and the requests the server received during one run.

// The bench serves a share; the emulator's fault injection is for the tests.
#[allow(dead_code)]
#[path = "../tests/emulators/owncloud/mod.rs"]
mod owncloud;

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
const RUNS: usize = 5;
const USER: &str = "georchestra-ouvert";
const PASSWORD: &str = "bench-password-7c1";
const FOLDERS: usize = 100;
const DATASETS: usize = 50;
const FILES: usize = 10_000;

fn main() {
    let cluster = Cluster::start();
    let share = tempfile::tempdir().expect("a temporary directory");
    let files = fill_share(share.path());
    let server = owncloud::OwnCloud::start(share.path(), USER, PASSWORD);
    let work = tempfile::tempdir().expect("a temporary directory");
    write_manifest(work.path(), cluster.port, &server.dav_url());
    let geosync = env!("CARGO_BIN_EXE_geosync");
    let pass = [geosync, "sync", "--once", "-q"];
    common::run(&pass, work.path()); // the first pass loads the 50 datasets
    println!("no-op sync of a share of {files} files ({DATASETS} datasets, {FOLDERS} folders), median of {RUNS} runs");
    println!(
        "{:<52} {:>9} {:>10} {:>10}",
        "tool", "time", "peak RSS", "requests"
    );

    server.forget_seen();
    let (time, rss) = common::measure(&pass, work.path(), RUNS);
    report(
        "geosync sync --once (walk state kept)",
        time,
        rss,
        server.seen().len() / RUNS,
    );

    let state = work.path().join(".geosync/sync/ouvert/walk.json");
    let forget = || {
        let _ = std::fs::remove_file(&state);
    };
    server.forget_seen();
    let mut times = Vec::new();
    let mut peak = 0;
    for _ in 0..RUNS {
        forget();
        let (t, r) = common::run(&pass, work.path());
        times.push(t);
        peak = peak.max(r);
    }
    times.sort();
    report(
        "geosync sync --once (no walk state: full walk)",
        times[RUNS / 2],
        peak,
        server.seen().len() / RUNS,
    );

    let local = tempfile::tempdir().expect("a temporary directory");
    let home = tempfile::tempdir().expect("a temporary directory");
    let exclude = home.path().join("sync-exclude.lst");
    std::fs::write(&exclude, "*~\n.~lock.*\n~$*\n*.part\n").unwrap();
    let local_dir = local.path().display().to_string();
    let exclude_file = exclude.display().to_string();
    let cmd = [
        "env",
        &format!("HOME={}", home.path().display()),
        "QT_QPA_PLATFORM=offscreen",
        "owncloudcmd",
        "--non-interactive",
        "-s",
        "-u",
        USER,
        "-p",
        PASSWORD,
        "--exclude",
        &exclude_file,
        &local_dir,
        &server.base,
    ];
    common::run(&cmd, work.path()); // the first sync downloads everything
    server.forget_seen();
    let (time, rss) = common::measure(&cmd, work.path(), RUNS);
    report(
        "owncloudcmd (no-op sync of the same share)",
        time,
        rss,
        server.seen().len() / RUNS,
    );
}

fn report(tool: &str, time: std::time::Duration, rss_kib: i64, requests: usize) {
    println!(
        "{tool:<52} {:>7.0}ms {:>8.1}MiB {:>10}",
        time.as_secs_f64() * 1000.0,
        rss_kib as f64 / 1024.0,
        requests
    );
}

/// 100 folders of two levels; 50 of them hold a shapefile of the corpus;
/// the rest of the 10,000 files are small documents.
fn fill_share(root: &Path) -> usize {
    let corpus =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gesync-corpus/valid/130_epsg_2154");
    let mut count = 0;
    for f in 0..FOLDERS {
        let dir = root
            .join(format!("project-{:02}", f / 10))
            .join(format!("layer-{f:03}"));
        std::fs::create_dir_all(&dir).unwrap();
        if f < DATASETS {
            for entry in std::fs::read_dir(&corpus).unwrap() {
                let entry = entry.unwrap();
                let name = entry
                    .file_name()
                    .to_string_lossy()
                    .replace("130_test_nyc_epsg_2154", &format!("zone_{f:03}"));
                std::fs::copy(entry.path(), dir.join(name)).unwrap();
                count += 1;
            }
        }
    }
    let mut n = 0;
    while count < FILES {
        let dir = root
            .join(format!("project-{:02}", (n % FOLDERS) / 10))
            .join(format!("layer-{:03}", n % FOLDERS));
        std::fs::write(dir.join(format!("note-{n:05}.txt")), format!("field note {n}\n")).unwrap();
        count += 1;
        n += 1;
    }
    count
}

fn write_manifest(dir: &Path, port: u16, url: &str) {
    std::fs::write(
        dir.join("geosync.toml"),
        format!(
            "[postgres]\nhost = \"127.0.0.1\"\nport = {port}\nsslmode = \"disable\"\n\n\
             [[sync.target]]\nname = \"ouvert\"\nsource = {{ webdav = \"{url}\", user = \"{USER}\", password = {{ env = \"OC_PASSWORD\" }} }}\n\
             database = \"bench\"\ndefault_crs = \"EPSG:2154\"\n"
        ),
    )
    .unwrap();
    std::env::set_var("OC_PASSWORD", PASSWORD);
}

/// A private PostgreSQL 15 cluster with a `bench` database (PostGIS).
struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
}

impl Cluster {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        sh(Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path()));
        let data = dir.path().join("data");
        sh(as_postgres(&format!("{PG_BIN}/initdb"))
            .args(["-A", "trust", "-U", "postgres", "-D"])
            .arg(&data));
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            dir.path().display()
        );
        sh(as_postgres(&format!("{PG_BIN}/pg_ctl"))
            .args(["-w", "-t", "60", "-D"])
            .arg(&data)
            .arg("-l")
            .arg(dir.path().join("log"))
            .args(["-o", &options, "start"]));
        let psql = |db: &str, sql: &str| {
            sh(Command::new("psql").args([
                "-X",
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
                "-d",
                db,
                "-c",
                sql,
            ]));
        };
        psql("postgres", "CREATE DATABASE bench");
        psql("bench", "CREATE EXTENSION postgis");
        Cluster { dir, port }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_postgres(&format!("{PG_BIN}/pg_ctl"))
            .args(["-m", "immediate", "-w", "-D"])
            .arg(self.dir.path().join("data"))
            .arg("stop")
            .stdout(Stdio::null())
            .status();
    }
}

fn as_postgres(program: &str) -> Command {
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", "postgres", "--", program]);
    cmd
}

fn sh(cmd: &mut Command) {
    let status = cmd.stdout(Stdio::null()).status().expect("runs");
    assert!(status.success(), "{cmd:?} failed");
}
