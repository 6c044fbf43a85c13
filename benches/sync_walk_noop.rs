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

// Only its run() is used here: this bench also reads CPU time.
#[allow(dead_code)]
mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::pg::Cluster;
use std::time::Duration;

const RUNS: usize = 5;
const USER: &str = "georchestra-ouvert";
const PASSWORD: &str = "bench-password-7c1";
const FOLDERS: usize = 100;
const DATASETS: usize = 50;
const FILES: usize = 10_000;

fn main() {
    let cluster = Cluster::start(&["fsync=off"]);
    cluster.psql("postgres", "CREATE DATABASE bench");
    cluster.psql("bench", "CREATE EXTENSION postgis");
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
        "{:<48} {:>8} {:>8} {:>9} {:>9}",
        "tool", "time", "CPU", "peak RSS", "requests"
    );

    server.forget_seen();
    let (time, cpu, rss) = measure(&pass, work.path(), || {});
    let requests = server.seen().len() / RUNS;
    report("geosync sync --once (walk state kept)", time, cpu, rss, requests);

    let state = work.path().join(".geosync/sync/ouvert/walk.json");
    let forget = || {
        let _ = std::fs::remove_file(&state);
    };
    server.forget_seen();
    let (time, cpu, rss) = measure(&pass, work.path(), forget);
    let requests = server.seen().len() / RUNS;
    report(
        "geosync sync --once (no walk state: full walk)",
        time,
        cpu,
        rss,
        requests,
    );

    let local = tempfile::tempdir().expect("a temporary directory");
    let home = tempfile::tempdir().expect("a temporary directory");
    let exclude = home.path().join("sync-exclude.lst");
    std::fs::write(&exclude, "*~\n.~lock.*\n~$*\n*.part\n").unwrap();
    let local_dir = local.path().display().to_string();
    let exclude_file = exclude.display().to_string();
    let home_env = format!("HOME={}", home.path().display());
    let cmd = [
        "env",
        &home_env,
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
    let (time, cpu, rss) = measure(&cmd, work.path(), || {});
    let requests = server.seen().len() / RUNS;
    report(
        "owncloudcmd (no-op sync of the same share)",
        time,
        cpu,
        rss,
        requests,
    );
    println!("time: wall time, the server's work included; CPU: the process's own user+system time");
}

fn report(tool: &str, time: Duration, cpu: Duration, rss_kib: i64, requests: usize) {
    println!(
        "{tool:<48} {:>6.0}ms {:>6.0}ms {:>6.1}MiB {:>9}",
        time.as_secs_f64() * 1000.0,
        cpu.as_secs_f64() * 1000.0,
        rss_kib as f64 / 1024.0,
        requests
    );
}

/// Median wall time and CPU time (user + system) of RUNS runs, largest max
/// RSS; `before` runs ahead of each run, unmeasured.
fn measure(command: &[&str], dir: &Path, before: impl Fn()) -> (Duration, Duration, i64) {
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    let mut peak = 0;
    for _ in 0..RUNS {
        before();
        let (wall, cpu, rss) = run(command, dir);
        walls.push(wall);
        cpus.push(cpu);
        peak = peak.max(rss);
    }
    walls.sort();
    cpus.sort();
    (walls[RUNS / 2], cpus[RUNS / 2], peak)
}

/// Runs a command to completion: wall time, CPU time and max RSS (wait4).
// wait4 reaps the child itself: std's wait() could not report its usage.
#[allow(clippy::zombie_processes)]
fn run(command: &[&str], dir: &Path) -> (Duration, Duration, i64) {
    let started = std::time::Instant::now();
    let child = Command::new(command[0])
        .args(&command[1..])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", command[0]));
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "waiting for {}", command[0]);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{command:?} failed"
    );
    let tv =
        |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    (
        started.elapsed(),
        tv(usage.ru_utime) + tv(usage.ru_stime),
        usage.ru_maxrss,
    )
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
