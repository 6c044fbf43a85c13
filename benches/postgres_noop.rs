//! No-op plan of 100 and 1,000 databases (2 schemas and 3 grants each, one
//! reader role per database), side by side with what a DBA runs today to
//! check the same things: a shell loop of `psql`, one per database, reading
//! the same catalogs. Same run, same private PostgreSQL 15 cluster
//! (Debian's postgresql-15; started here as the `postgres` user, default
//! `max_connections = 100`). Run with `cargo bench --bench postgres_noop`.
//!
//! Also the floor no tool can go under: connecting to every database (4 at
//! a time, like geosync's default pool) and running `SELECT 1` in each,
//! since PostgreSQL's catalogs are per database and each needs a backend.
//!
//! Reported: wall time (median of the runs), the server's CPU time for that
//! run (its ended backends' time, read from the postmaster), the tool's own
//! CPU time (its processes' user + system time), and the most connections
//! the tool held at once, sampled from pg_stat_activity.

// Its measure() and run() are for single commands; this bench samples
// connections around them.
#[allow(dead_code)]
mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::pg::{children_cpu, Cluster};

/// Database counts measured; GEOSYNC_BENCH_SIZES=100 measures only those.
const SIZES: &str = "100,1000";
const RUNS: usize = 3;

fn main() {
    let cluster = Cluster::start(&["fsync=off", "synchronous_commit=off"]);
    println!("no-op plan, median of {RUNS} runs; connections: most held at once (pool default 4, server max_connections 100)");
    println!(
        "{:<44} {:>10} {:>12} {:>10} {:>12}",
        "tool", "time", "server CPU", "tool CPU", "connections"
    );
    let mut times = Vec::new();
    let sizes = std::env::var("GEOSYNC_BENCH_SIZES").unwrap_or_else(|_| SIZES.to_string());
    for size in sizes
        .split(',')
        .map(|s| s.trim().parse::<usize>().expect("a number of databases"))
    {
        let dir = tempfile::tempdir().expect("a temporary directory");
        write_manifest(dir.path(), cluster.port, size);
        let geosync = env!("CARGO_BIN_EXE_geosync");
        // Creating everything is not measured, but its connections are.
        let (_, setup) = cluster.sample("geosync", || {
            run(&[geosync, "apply", "--auto-approve", "-q"], dir.path(), 0)
        });
        println!(
            "{:<44} {:>10} {:>12} {:>10} {:>12}",
            format!("geosync apply (setup, {size} databases)"),
            "-",
            "-",
            "-",
            setup
        );
        let plan = cluster.measure("geosync", || {
            run(&[geosync, "plan", "--detailed-exitcode"], dir.path(), 0)
        });
        plan.print(&format!("geosync plan ({size} databases)"));
        let floor = cluster.measure("bench_floor", || connect_to_each(cluster.port, size));
        floor.print(&format!("floor: connect + SELECT 1 ({size} databases)"));
        let script = write_psql_script(dir.path(), cluster.port, size);
        let psql = cluster.measure("psql", || run(&["bash", &script], dir.path(), 0));
        psql.print(&format!("psql per database ({size} databases)"));
        println!(
            "geosync / floor ({size} databases): {:.2}x",
            plan.time.as_secs_f64() / floor.time.as_secs_f64()
        );
        times.push(plan.time);
    }
    if let [small, large] = times[..] {
        println!(
            "growth 1,000 / 100 databases: {:.1}x (linear: 10x)",
            large.as_secs_f64() / small.as_secs_f64()
        );
    }
}

fn ms(time: Duration) -> f64 {
    time.as_secs_f64() * 1000.0
}

/// One tool's measurement: median wall time, the server CPU and the
/// tool's own CPU of that run, and the most connections held at once over
/// all runs.
struct Measured {
    time: Duration,
    server_cpu: Duration,
    /// User + system time of the tool's processes (zero for the floor,
    /// which runs inside this bench).
    tool_cpu: Duration,
    connections: i64,
}

impl Measured {
    fn print(&self, label: &str) {
        println!(
            "{:<44} {:>8.0}ms {:>10.0}ms {:>10} {:>12}",
            label,
            ms(self.time),
            ms(self.server_cpu),
            match self.tool_cpu.is_zero() {
                true => "-".to_string(),
                false => format!("{:.0}ms", ms(self.tool_cpu)),
            },
            self.connections
        );
    }
}

/// The floor: a connection to every bench database, 4 at a time, each
/// running `SELECT 1` and closing.
fn connect_to_each(port: u16, size: usize) -> Duration {
    use futures::StreamExt;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    runtime.block_on(async {
        let connects = (0..size).map(|i| async move {
            let mut config = tokio_postgres::Config::new();
            config
                .host("127.0.0.1")
                .port(port)
                .user("postgres")
                .dbname(format!("bench_{size}_{i}"))
                .application_name("bench_floor");
            let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
            let driver = tokio::spawn(connection);
            client.simple_query("SELECT 1").await.unwrap();
            drop(client);
            let _ = driver.await;
        });
        futures::stream::iter(connects)
            .buffer_unordered(4)
            .collect::<Vec<()>>()
            .await;
    });
    started.elapsed()
}

/// N reader roles and N databases owned by one role, each with the
/// schemas `data` and `staging` and three grants to its reader.
fn write_manifest(dir: &Path, port: u16, size: usize) {
    let mut manifest = format!(
        "[postgres]\nhost = \"127.0.0.1\"\nport = {port}\nsslmode = \"disable\"\n\n\
         [[postgres.role]]\nname = \"bench_owner\"\n"
    );
    for i in 0..size {
        manifest.push_str(&format!(
            "\n[[postgres.role]]\nname = \"bench_reader_{i}\"\nlogin = true\n\n\
             [[postgres.database]]\nname = \"bench_{size}_{i}\"\nowner = \"bench_owner\"\n\
             schemas = [{{ name = \"data\", owner = \"bench_owner\" }}, \"staging\"]\n\n\
             [[postgres.grant]]\nrole = \"bench_reader_{i}\"\ndatabase = \"bench_{size}_{i}\"\nprivileges = [\"CONNECT\"]\n\n\
             [[postgres.grant]]\nrole = \"bench_reader_{i}\"\ndatabase = \"bench_{size}_{i}\"\nschema = \"data\"\nprivileges = [\"USAGE\"]\n\n\
             [[postgres.grant]]\nrole = \"bench_reader_{i}\"\ndatabase = \"bench_{size}_{i}\"\nschema = \"data\"\ntables = true\n\
             default_for = [\"bench_owner\"]\nprivileges = [\"SELECT\"]\n"
        ));
    }
    std::fs::write(dir.join("geosync.toml"), manifest).unwrap();
}

/// The check a DBA scripts today: roles and database privileges once, then
/// in every database its schemas with owners and privileges, table
/// privileges and default privileges, one psql per database.
fn write_psql_script(dir: &Path, port: u16, size: usize) -> String {
    let psql = format!("psql -X -q -A -t -h 127.0.0.1 -p {port} -U postgres");
    let script = format!(
        r#"set -e
export PGAPPNAME=psql
{psql} -d postgres -c "SELECT rolname, rolcanlogin, rolpassword FROM pg_authid" \
  -c "SELECT d.datname, a.* FROM pg_database d CROSS JOIN LATERAL aclexplode(d.datacl) a" >/dev/null
for i in $(seq 0 {last}); do
  {psql} -d bench_{size}_$i \
    -c "SELECT n.nspname, pg_get_userbyid(n.nspowner), a.* FROM pg_namespace n LEFT JOIN LATERAL aclexplode(n.nspacl) a ON true WHERE n.nspname IN ('data', 'staging', 'public')" \
    -c "SELECT c.relname, a.* FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN LATERAL aclexplode(c.relacl) a WHERE n.nspname = 'data'" \
    -c "SELECT d.*, a.* FROM pg_default_acl d CROSS JOIN LATERAL aclexplode(d.defaclacl) a" >/dev/null
done
"#,
        last = size - 1
    );
    let path = dir.join("check.sh");
    std::fs::write(&path, script).unwrap();
    path.display().to_string()
}

/// Runs a command to completion; its wall time. Panics unless it exits `code`.
fn run(command: &[&str], dir: &Path, code: i32) -> Duration {
    let started = Instant::now();
    let output = Command::new(command[0])
        .args(&command[1..])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", command[0]));
    let elapsed = started.elapsed();
    assert_eq!(
        output.status.code(),
        Some(code),
        "{command:?}\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    elapsed
}

/// Measuring a tool against the bench's cluster.
impl Cluster {
    /// The median of RUNS runs of `work` (which returns its wall time),
    /// with that run's server CPU, and the most connections one run held at
    /// once. Each run starts once the server has ended the previous run's
    /// connections, so none is counted twice, and its backends' CPU is in.
    fn measure(&self, application: &str, mut work: impl FnMut() -> Duration) -> Measured {
        let mut runs = Vec::new();
        let mut most = 0;
        for _ in 0..RUNS {
            self.wait_idle(application);
            let (server_before, tool_before) = (self.server_cpu(), children_cpu("self"));
            let (time, held) = self.sample(application, &mut work);
            let tool_cpu = children_cpu("self") - tool_before;
            self.wait_idle(application);
            runs.push((time, self.server_cpu() - server_before, tool_cpu));
            most = most.max(held);
        }
        runs.sort();
        let (time, server_cpu, tool_cpu) = runs[RUNS / 2];
        Measured {
            time,
            server_cpu,
            tool_cpu,
            connections: most,
        }
    }

    fn wait_idle(&self, application: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let sql = format!("SELECT count(*) FROM pg_stat_activity WHERE application_name = '{application}'");
        loop {
            let output = Command::new("psql")
                .args([
                    "-X",
                    "-A",
                    "-t",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                    "-c",
                    &sql,
                ])
                .env("PGAPPNAME", "bench_sampler")
                .output()
                .expect("psql runs");
            if String::from_utf8_lossy(&output.stdout).trim() == "0" {
                return;
            }
            assert!(Instant::now() < deadline, "{application} connections never ended");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs `work` while sampling how many connections `application` holds;
    /// returns its result and the most seen at once.
    fn sample<T>(&self, application: &str, work: impl FnOnce() -> T) -> (T, i64) {
        let done = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicI64::new(0));
        let sampler = {
            let (done, peak, port) = (done.clone(), peak.clone(), self.port);
            let application = application.to_string();
            std::thread::spawn(move || sample_connections(port, &application, &done, &peak))
        };
        let result = work();
        done.store(true, Ordering::SeqCst);
        sampler.join().unwrap();
        (result, peak.load(Ordering::SeqCst))
    }
}

fn sample_connections(port: u16, application: &str, done: &AtomicBool, peak: &AtomicI64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(port)
            .user("postgres")
            .dbname("postgres")
            .application_name("bench_sampler");
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        let query = client
            .prepare("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
            .await
            .unwrap();
        while !done.load(Ordering::SeqCst) {
            let count: i64 = client.query_one(&query, &[&application]).await.unwrap().get(0);
            peak.fetch_max(count, Ordering::SeqCst);
        }
    });
}
