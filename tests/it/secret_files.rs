//! `{ file = … }` secrets name regular files only: a FIFO, a device or a
//! huge file is refused at once with the reason, never read forever.

use std::time::Duration;

use crate::support::Workspace;

fn manifest(secret_path: &str) -> String {
    format!(
        "[[file]]\nname = \"conf\"\npath = \"out/app.conf\"\ntemplate = \"app.conf.j2\"\nsecrets = {{ pw = {{ file = \"{secret_path}\" }} }}\n"
    )
}

fn workspace(secret_path: &str) -> Workspace {
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest(secret_path));
    ws.write("app.conf.j2", "password = {{ secrets.pw }}\n");
    ws
}

#[track_caller]
fn refused(ws: &Workspace, expected: &str) {
    let run = ws.geosync_within(&["plan"], Duration::from_secs(60));
    run.assert_code(1);
    assert!(run.stderr.contains(expected), "{}", run.stderr);
    assert!(!ws.exists("out"));
}

#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let ws = workspace("secret.fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(ws.join("secret.fifo"))
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    refused(&ws, "secret.fifo: not a regular file but a FIFO");
}

#[test]
fn a_device_is_refused() {
    refused(
        &workspace("/dev/zero"),
        "/dev/zero: not a regular file but a character device",
    );
}

#[test]
fn a_file_too_large_for_a_secret_is_refused() {
    let ws = workspace("big.secret");
    std::fs::write(ws.join("big.secret"), "x".repeat(2 * 1024 * 1024)).unwrap();
    refused(&ws, "big.secret: larger than 1024 KiB, too large for a secret");
}
