//! The apply lock: one apply at a time, and never a lock that outlives its
//! holder, however the holder ends. Crash points are reached by killing
//! the real binary with real signals.

use std::os::fd::AsRawFd;
use std::time::Duration;

use crate::mviewer::manifest;
use crate::process::{poll, Running, SilentEngine};
use crate::smallfs::SmallFs;
use crate::support::Workspace;

fn lock_names(ws: &Workspace, pid: u32) -> bool {
    std::fs::read_to_string(ws.join(".geosync/apply.lock"))
        .is_ok_and(|text| text.contains(&format!("\"pid\":{pid},")))
}

/// After any end of the holder, the next apply runs without --break-lock.
#[track_caller]
fn next_apply_is_not_stopped(ws: &Workspace) {
    ws.write("geosync.toml", &manifest("Portail"));
    let run = ws.geosync(&["apply", "--auto-approve"]);
    run.assert_code(0);
    assert!(ws.exists("apps/salins.xml"));
}

#[test]
fn no_signal_while_planning_leaves_a_lock_behind() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGKILL] {
        let ws = Workspace::new();
        let engine = SilentEngine::start(&ws);
        ws.write(
            "geosync.toml",
            &format!("{}{}", manifest("Portail"), engine.manifest()),
        );
        let apply = Running::start(&ws, &["apply", "--auto-approve"]);
        let pid = apply.pid();
        // Holding the lock and waiting on the engine: it is planning.
        assert!(
            poll(Duration::from_secs(60), || engine.accepted() > 0
                && lock_names(&ws, pid)),
            "geosync never reached planning: {}",
            apply.output()
        );
        apply.kill(signal);
        next_apply_is_not_stopped(&ws);
    }
}

#[test]
fn ctrl_c_at_the_confirmation_prompt_leaves_no_lock() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest("Portail"));
    let apply = Running::start_on_terminal(&ws, &["apply"]);
    apply.wait_for_output("Only 'yes' will be accepted");
    assert!(lock_names(&ws, apply.pid()));
    apply.kill(libc::SIGINT);
    assert!(
        !ws.exists("apps/salins.xml"),
        "a cancelled apply changed something"
    );
    next_apply_is_not_stopped(&ws);
}

#[test]
fn a_live_holder_is_named_and_details_left_by_a_dead_one_are_no_lock() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest("Portail"));
    let holder = r#"{"pid":4242,"host":"other-host","user":"alice","since":"2026-11-28T10:00:00Z"}"#;
    let path = ws.write(".geosync/apply.lock", holder);
    // This test process holds the lock, as a running apply would.
    let file = std::fs::File::open(&path).unwrap();
    // SAFETY: flock on a descriptor this test owns.
    assert_eq!(unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) }, 0);
    let run = ws.geosync(&["apply", "--auto-approve"]);
    run.assert_code(1);
    assert!(
        ws.scrub(&run.stderr).contains(
            "another apply holds the lock .geosync/apply.lock (pid 4242 of alice on other-host, since 2026-11-28 10:00:00 UTC)"
        ),
        "{}",
        run.stderr
    );
    assert!(!ws.exists("apps"));
    drop(file);

    // What geosync as PID 1 of a container that was killed leaves behind.
    ws.write(
        ".geosync/apply.lock",
        r#"{"pid":1,"host":"f00dcafe1234","user":"root","since":"2026-11-28T10:00:00Z"}"#,
    );
    next_apply_is_not_stopped(&ws);
}

#[test]
fn a_full_disk_when_taking_the_lock_leaves_nothing_to_clear() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest("Portail"));
    let fs = SmallFs::mount(&ws.join("small"), 16);
    let state = fs.path().join("state");
    let state_arg = state.display().to_string();
    // The key is made while there is room; then the disk fills up.
    ws.geosync(&["plan", "--state-dir", &state_arg]).assert_code(0);
    fs.fill();
    let run = ws.geosync(&["apply", "--auto-approve", "--state-dir", &state_arg]);
    run.assert_code(1);
    assert!(run.stderr.contains("No space left"), "{}", run.stderr);
    assert!(!ws.exists("apps"));
    fs.free();
    let run = ws.geosync(&["apply", "--auto-approve", "--state-dir", &state_arg]);
    run.assert_code(0);
    assert!(ws.exists("apps/salins.xml"));
}

/// Two applies of the same manifests from two checkouts (two state
/// directories, as two machines would have) against the real PostgreSQL:
/// the second waits for, or is told of, the first; a killed first frees it.
#[test]
fn applies_from_two_checkouts_meet_at_the_postgresql_lock() {
    let role = crate::support::unique("core_lock");
    let manifest = format!(
        "[postgres]\nhost = \"127.0.0.1\"\nport = {}\n\n[[postgres.role]]\nname = \"{role}\"\n",
        crate::pg::port()
    );
    let (first, second) = (Workspace::new(), Workspace::new());
    first.write("geosync.toml", &manifest);
    second.write("geosync.toml", &manifest);
    let exists = || {
        crate::pg::value(
            crate::pg::port(),
            "postgres",
            &format!("SELECT count(*) FROM pg_roles WHERE rolname = '{role}'"),
        ) == Some("1".into())
    };

    let holder = Running::start_on_terminal(&first, &["apply"]);
    holder.wait_for_output("Only 'yes' will be accepted");
    let run = second.geosync(&["apply", "--auto-approve", "--lock-timeout", "1s"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains(&format!(
            "postgres: another apply holds geosync's lock in PostgreSQL at 127.0.0.1:{}/postgres (server process",
        crate::pg::port()
        )) && run.stderr.contains(&format!("\"geosync apply pid {} of", holder.pid())),
        "{}",
        run.stderr
    );
    assert!(!exists());

    // kill -9: the server sees the connection drop and releases the lock;
    // the second apply (waiting by default) goes through.
    holder.kill(libc::SIGKILL);
    second.geosync(&["apply", "--auto-approve"]).assert_code(0);
    assert!(exists());

    // A holder that looks alive is ended by --break-lock.
    let more = format!("{manifest}\n[[postgres.role]]\nname = \"{role}_2\"\n");
    first.write("geosync.toml", &more);
    second.write("geosync.toml", &more);
    let holder = Running::start_on_terminal(&first, &["apply"]);
    holder.wait_for_output("Only 'yes' will be accepted");
    let run = second.geosync(&["apply", "--auto-approve", "--lock-timeout", "0", "--break-lock"]);
    run.assert_code(0);
    drop(holder);
    crate::pg::query(
        crate::pg::port(),
        "postgres",
        &format!("DROP ROLE \"{role}\"; DROP ROLE \"{role}_2\""),
    );
}
