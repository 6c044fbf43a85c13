//! Test containers built locally (no registry is reachable): an image FROM
//! scratch holding Debian's static busybox, and containers removed when the
//! test ends.

use std::process::Command;
use std::sync::OnceLock;

use crate::support::{peer_env, unique};

pub const IMAGE: &str = "geosync-test-busybox:1";

fn docker(args: &[&str]) -> String {
    let output = Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs");
    assert!(
        output.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Builds the busybox image once per test run.
pub fn busybox_image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let context = tempfile::tempdir().unwrap();
        std::fs::copy(peer_env("GEOSYNC_TEST_BUSYBOX"), context.path().join("busybox")).unwrap();
        std::fs::write(
            context.path().join("Dockerfile"),
            "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nCMD [\"/bin/sleep\", \"3600\"]\n",
        )
        .unwrap();
        let status = Command::new("docker")
            .args(["build", "-q", "-t", IMAGE])
            .arg(context.path())
            .env("DOCKER_BUILDKIT", "0")
            .status()
            .expect("docker build runs");
        assert!(status.success(), "building {IMAGE}");
    });
    IMAGE
}

/// A running container, removed on drop.
pub struct Container {
    pub name: String,
}

impl Container {
    /// Starts the busybox image with extra `docker run` arguments (mounts).
    pub fn start(extra: &[&str]) -> Self {
        let image = busybox_image();
        let name = unique("geosync_test");
        // tests/run removes what carries its run's label if a test dies.
        let label = format!(
            "org.geosync.test={}",
            std::env::var("GEOSYNC_TEST_RUN").unwrap_or_else(|_| "manual".into())
        );
        let mut args = vec!["run", "-d", "--name", &name, "--label", &label];
        args.extend_from_slice(extra);
        args.push(image);
        docker(&args);
        Container { name }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", &self.name]).output();
    }
}

/// Removes everything a test project left on the engine, on drop.
pub struct Project {
    pub name: String,
}

impl Project {
    pub fn new() -> Self {
        Project {
            name: unique("gst").replace('_', "-"),
        }
    }

    pub fn container(&self, resource: &str) -> String {
        format!("{}-{resource}", self.name)
    }

    /// `docker inspect --format` of one of the project's containers.
    pub fn inspect(&self, resource: &str, format: &str) -> String {
        docker(&["inspect", "--format", format, &self.container(resource)])
    }

    pub fn exists(&self, resource: &str) -> bool {
        Command::new("docker")
            .args(["inspect", &self.container(resource)])
            .output()
            .is_ok_and(|o| o.status.success())
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let label = format!("label=org.geosync.project={}", self.name);
        let ids = docker(&["ps", "-aq", "--filter", &label]);
        for id in ids.split_whitespace() {
            let _ = Command::new("docker").args(["rm", "-f", id]).output();
        }
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.container("web")])
            .output();
        for kind in ["network", "volume"] {
            let ids = docker(&[kind, "ls", "-q", "--filter", &label]);
            for id in ids.split_whitespace() {
                let _ = Command::new("docker").args([kind, "rm", id]).output();
            }
        }
    }
}

/// Runs the docker CLI for a test's own setup or checks.
pub fn cli(args: &[&str]) -> String {
    docker(args)
}

/// What a user checks after stopping a declared container by hand: the
/// plan says it is stopped, apply starts it, and nothing is left to do.
pub fn assert_started_again(ws: &crate::support::Workspace, project: &Project, name: &str) {
    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    let expected = format!(
        "~ docker.container:{name} (update: {} is stopped)",
        project.container(name)
    );
    assert!(plan.stdout.contains(&expected), "{}", plan.stdout);
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    assert_eq!(project.inspect(name, "{{.State.Running}}"), "true");
}
