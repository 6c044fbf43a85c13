//! What every integration test needs: a scratch folder holding manifests,
//! and the real geosync binary run in it as a user would run it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub struct Workspace {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

/// What a run printed and how it ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Everything the user saw, for checks that a secret never shows.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn assert_code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code, expected,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Workspace {
    pub fn new() -> Self {
        Workspace {
            dir: tempfile::tempdir().expect("a temporary directory"),
            env: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn write(&self, relative: &str, content: &str) -> PathBuf {
        let path = self.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
    }

    pub fn exists(&self, relative: &str) -> bool {
        self.join(relative).exists()
    }

    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.to_string(), value.to_string()));
    }

    pub fn remove_env(&mut self, name: &str) {
        self.env.retain(|(n, _)| n != name);
    }

    /// Runs geosync in the workspace, stdin closed (not a terminal).
    pub fn geosync(&self, args: &[&str]) -> Run {
        let mut command = self.command(args);
        command.stdin(Stdio::null());
        Run::from(command.output().expect("geosync runs"))
    }

    /// The geosync command, to run in the workspace with its environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_geosync"));
        command.args(args).current_dir(self.path()).env_remove("RUST_LOG");
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
    }

    /// Runs geosync from another directory than the workspace.
    pub fn geosync_in(&self, dir: &Path, args: &[&str]) -> Run {
        let mut command = self.command(args);
        command.current_dir(dir).stdin(Stdio::null());
        Run::from(command.output().expect("geosync runs"))
    }

    /// Starts geosync in the workspace with `extra` environment, stderr
    /// piped, for tests that kill it midway.
    pub fn spawn(&self, args: &[&str], extra: &[(&str, &str)]) -> std::process::Child {
        let mut command = self.command_with(args, extra);
        command.stdout(Stdio::null());
        command.spawn().expect("geosync starts")
    }

    /// geosync in the workspace, stdin closed and stderr captured, with
    /// `extra` environment variables.
    fn command_with(&self, args: &[&str], extra: &[(&str, &str)]) -> Command {
        let mut command = self.command(args);
        command.stdin(Stdio::null()).stderr(Stdio::piped());
        command.envs(extra.iter().copied());
        command
    }

    /// Runs geosync until it reports reaching `step` (GEOSYNC_TEST_PAUSE_AT),
    /// then kills it with SIGKILL, as a crash or `kill -9` would.
    pub fn kill_at(&self, args: &[&str], step: &str) {
        use std::io::BufRead;
        let mut child = self.spawn(args, &[("GEOSYNC_TEST_PAUSE_AT", step)]);
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let wanted = format!("geosync: paused at {step}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line == wanted => break,
                Ok(line) => seen.push(line),
                Err(_) => {
                    let _ = child.kill();
                    panic!("geosync never reached {step}; stderr:\n{}", seen.join("\n"));
                }
            }
        }
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
    }

    /// Replaces the workspace's path in output, for stable snapshots.
    pub fn scrub(&self, text: &str) -> String {
        text.replace(&self.path().display().to_string(), "[ws]")
    }
}

/// Names of the files in a folder, hidden ones included, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A name no other test (or earlier run) uses: tests share one server.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A variable set by tests/run for a service it started.
pub fn peer_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the suite with `bash tests/run`, which starts the real services")
    })
}

impl Workspace {
    /// Starts geosync in the workspace without waiting for it, stdout and
    /// stderr captured: for tests that kill it midway.
    pub fn spawn_geosync(&self, args: &[&str]) -> std::process::Child {
        self.spawn_with_stdout(args, &[])
    }

    /// Like [`Workspace::spawn`], with stdout captured too.
    pub fn spawn_with_stdout(&self, args: &[&str], extra: &[(&str, &str)]) -> std::process::Child {
        let mut command = self.command_with(args, extra);
        command.stdout(Stdio::piped());
        command.spawn().expect("geosync starts")
    }
}
