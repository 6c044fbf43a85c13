//! No-op plan and apply of a 20-container project, side by side with
//! `docker-compose up -d` on the equivalent compose file, in the same run
//! on the same engine. Run with `cargo bench --bench docker_noop`.
//!
//! What a sysadmin pays every time the converge job runs and nothing
//! changed: wall time (median of the runs) and peak memory (max RSS).

mod common;

use std::path::Path;
use std::process::Command;

use common::{measure, run};

const CONTAINERS: usize = 20;
const RUNS: usize = 7;
const IMAGE: &str = "geosync-test-busybox:1";

fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    ensure_image(dir.path());
    let geosync = env!("CARGO_BIN_EXE_geosync");
    let project = format!("gsbench{}", std::process::id());
    let compose_project = format!("{project}c");
    write_inputs(dir.path(), &project);

    // First runs create everything; they are not measured.
    run(
        &[
            "docker-compose",
            "-p",
            &compose_project,
            "-f",
            "docker-compose.yml",
            "up",
            "-d",
        ],
        dir.path(),
    );
    run(&[geosync, "apply", "--auto-approve", "-q"], dir.path());

    let compose = measure(
        &[
            "docker-compose",
            "-p",
            &compose_project,
            "-f",
            "docker-compose.yml",
            "up",
            "-d",
        ],
        dir.path(),
        RUNS,
    );
    let plan = measure(&[geosync, "plan", "--detailed-exitcode"], dir.path(), RUNS);
    let apply = measure(&[geosync, "apply", "--auto-approve", "-q"], dir.path(), RUNS);

    println!("no-op converge of {CONTAINERS} containers, median of {RUNS} runs, peak RSS");
    println!("{:<34} {:>10} {:>12}", "tool", "time", "max RSS");
    for (name, (time, rss)) in [
        ("docker-compose up -d (1.29)", compose),
        ("geosync plan", plan),
        ("geosync apply --auto-approve", apply),
    ] {
        println!("{name:<34} {:>8.0}ms {:>9} KiB", time.as_secs_f64() * 1000.0, rss);
    }
    println!(
        "ratio geosync apply / docker-compose: time {:.2}, memory {:.2}",
        apply.0.as_secs_f64() / compose.0.as_secs_f64(),
        apply.1 as f64 / compose.1 as f64
    );

    run(
        &[
            "docker-compose",
            "-p",
            &compose_project,
            "-f",
            "docker-compose.yml",
            "down",
            "-t",
            "1",
        ],
        dir.path(),
    );
    let label = format!("label=org.geosync.project={project}");
    let ids = output(&["docker", "ps", "-aq", "--filter", &label]);
    for id in ids.split_whitespace() {
        run(&["docker", "rm", "-f", id], dir.path());
    }
    let networks = output(&["docker", "network", "ls", "-q", "--filter", &label]);
    for id in networks.split_whitespace() {
        run(&["docker", "network", "rm", id], dir.path());
    }
}

fn write_inputs(dir: &Path, project: &str) {
    let mut compose = String::from("version: \"3.8\"\nservices:\n");
    let mut manifest =
        format!("[docker]\nproject = \"{project}\"\n\n[[docker.network]]\nname = \"default\"\n");
    for i in 0..CONTAINERS {
        compose.push_str(&format!(
            "  svc{i}:\n    image: {IMAGE}\n    command: [\"sleep\", \"3600\"]\n    environment:\n      INDEX: \"{i}\"\n    restart: unless-stopped\n"
        ));
        manifest.push_str(&format!(
            "\n[[docker.container]]\nname = \"svc{i}\"\nimage = \"{IMAGE}\"\npull = \"never\"\ncommand = [\"sleep\", \"3600\"]\nenv = {{ INDEX = \"{i}\" }}\nrestart = \"unless-stopped\"\nnetworks = [\"default\"]\n"
        ));
    }
    std::fs::write(dir.join("docker-compose.yml"), compose).unwrap();
    std::fs::write(dir.join("geosync.toml"), manifest).unwrap();
}

fn output(command: &[&str]) -> String {
    let out = Command::new(command[0]).args(&command[1..]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ensure_image(dir: &Path) {
    let present = Command::new("docker")
        .args(["image", "inspect", IMAGE])
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return;
    }
    let context = dir.join("image");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::copy("/bin/busybox", context.join("busybox")).expect("Debian's busybox-static at /bin/busybox");
    std::fs::write(
        context.join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nCMD [\"/bin/sleep\", \"3600\"]\n",
    )
    .unwrap();
    let status = Command::new("docker")
        .args(["build", "-q", "-t", IMAGE])
        .arg(&context)
        .env("DOCKER_BUILDKIT", "0")
        .status()
        .unwrap();
    assert!(status.success());
}
