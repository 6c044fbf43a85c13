//! How geosync reaches PostgreSQL: over a Unix socket, alongside another
//! apply, within a bounded number of connections.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::pg::{ident, lit, port, query, value};
use crate::support::{peer_env, unique, Workspace};

fn role_manifest(connection: &str, role: &str) -> String {
    format!("{connection}\n[[postgres.role]]\nname = \"{role}\"\nlogin = true\n")
}

#[test]
fn a_socket_folder_as_host_connects_without_tls_whatever_sslmode_says() {
    let socket_dir = peer_env("GEOSYNC_TEST_PG_SOCKET_DIR");
    // libpq ignores sslmode over a socket: so does geosync, for every mode.
    for sslmode in ["prefer", "require", "verify-full"] {
        let role = unique("gs_socket");
        let ws = Workspace::new();
        let connection = format!(
            "[postgres]\nhost = \"{socket_dir}\"\nport = {}\nsslmode = \"{sslmode}\"\nsslrootcert = \"{}\"\n",
            port(),
            peer_env("GEOSYNC_TEST_PG_CA")
        );
        ws.write("geosync.toml", &role_manifest(&connection, &role));
        ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
        assert_eq!(
            value(
                port(),
                "postgres",
                &format!("SELECT count(*) FROM pg_roles WHERE rolname = {}", lit(&role))
            )
            .as_deref(),
            Some("1"),
            "{sslmode}"
        );
        ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
        query(port(), "postgres", &format!("DROP ROLE {}", ident(&role)));
    }
}

/// A psql session of the test's own, kept open between statements.
struct Session(std::process::Child);

impl Session {
    fn open() -> Self {
        let child = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                &port().to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
            ])
            .env("PGAPPNAME", "geosync_test_session")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("psql runs");
        Session(child)
    }

    fn send(&mut self, sql: &str) {
        let stdin = self.0.stdin.as_mut().unwrap();
        writeln!(stdin, "{sql}").unwrap();
        stdin.flush().unwrap();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

/// Polls `sql` (a count) until it is positive.
fn wait_for(sql: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while value(port(), "postgres", sql).as_deref() == Some("0") {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Two applies declaring the same role: the second to commit is told
/// which role the other created, not the server's raw unique-index error.
#[test]
fn a_role_another_session_creates_meanwhile_is_named() {
    let role = unique("gs_race");
    let ws = Workspace::new();
    let connection = format!("[postgres]\nhost = \"127.0.0.1\"\nport = {}\n", port());
    ws.write("geosync.toml", &role_manifest(&connection, &role));

    // The other apply: it has created the role, not committed yet.
    let mut other = Session::open();
    other.send(&format!("BEGIN; CREATE ROLE {};", ident(&role)));
    wait_for(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'geosync_test_session' AND state = 'idle in transaction'",
        "the other session's CREATE ROLE",
    );
    std::thread::scope(|scope| {
        let run = scope.spawn(|| ws.geosync(&["apply", "--auto-approve"]));
        // geosync's CREATE ROLE waits on the other session's row...
        wait_for(
            &format!(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'geosync' \
                 AND wait_event_type = 'Lock' AND query LIKE {}",
                lit(&format!("%CREATE ROLE \"{role}\"%"))
            ),
            "geosync's CREATE ROLE to wait",
        );
        // ...which now commits first.
        other.send("COMMIT;");
        let run = run.join().unwrap();
        run.assert_code(1);
        assert!(
            run.stdout.contains(&format!("role `{role}` already exists")),
            "{}",
            run.stdout
        );
        assert!(!run.all().contains("duplicate key"), "{}", run.all());
    });
    drop(other);
    query(port(), "postgres", &format!("DROP ROLE {}", ident(&role)));
}

/// Many databases, a pool of two: while apply creates them and what is in
/// them, geosync never holds more than two connections to them (today's
/// main kept one per database open for the whole run).
#[test]
fn apply_holds_no_more_connections_than_the_pool() {
    let prefix = unique("gs_pool");
    let mut manifest = format!(
        "[postgres]\nhost = \"127.0.0.1\"\nport = {}\npool_size = 2\n\n[[postgres.role]]\nname = \"{prefix}_r\"\n",
        port()
    );
    let databases: Vec<String> = (0..8).map(|i| format!("{prefix}_{i}")).collect();
    for database in &databases {
        manifest.push_str(&format!(
            "\n[[postgres.database]]\nname = \"{database}\"\nschemas = [\"data\"]\n\n\
             [[postgres.grant]]\nrole = \"{prefix}_r\"\ndatabase = \"{database}\"\nschema = \"data\"\nprivileges = [\"USAGE\"]\n"
        ));
    }
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest);
    let names = databases.iter().map(|d| lit(d)).collect::<Vec<_>>().join(", ");
    let count = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'geosync' AND datname IN ({names})"
    );
    let done = std::sync::atomic::AtomicBool::new(false);
    let most = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let mut most = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let now: i64 = value(port(), "postgres", &count).unwrap().parse().unwrap();
                most = most.max(now);
            }
            most
        });
        let run = ws.geosync(&["apply", "--auto-approve"]);
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        run.assert_code(0);
        sampler.join().unwrap()
    });
    assert!(
        most <= 2,
        "{most} connections to the databases at once, pool_size is 2"
    );
    assert!(most >= 1, "the sampler saw nothing: the test proves nothing");
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
    for database in &databases {
        query(port(), "postgres", &format!("DROP DATABASE {}", ident(database)));
    }
    query(
        port(),
        "postgres",
        &format!("DROP ROLE {}", ident(&format!("{prefix}_r"))),
    );
}

#[test]
fn a_pool_size_out_of_range_is_refused_at_validate() {
    let ws = Workspace::new();
    for size in ["0", "1000"] {
        ws.write("geosync.toml", &format!("[postgres]\npool_size = {size}\n"));
        let run = ws.geosync(&["validate"]);
        run.assert_code(1);
        assert!(
            run.stderr
                .contains("geosync.toml:2:13: [postgres]: pool_size must be between 1 and 32"),
            "{}",
            run.stderr
        );
    }
}
