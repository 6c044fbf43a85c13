//! `geosync validate` of large manifests (10,000 and 100,000 containers),
//! side by side with `docker-compose config` validating the equivalent
//! compose file, in the same run. Run with `cargo bench --bench validate_scale`.
//!
//! What a manifest repository's CI pays on every push, and whether it
//! grows linearly: 100,000 resources should cost about 10 times 10,000.

mod common;

use std::path::Path;

use common::measure;

const SIZES: [usize; 2] = [10_000, 100_000];
const RUNS: usize = 3;

fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let geosync = env!("CARGO_BIN_EXE_geosync");
    let compose_available = std::process::Command::new("docker-compose")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    println!("validate, median of {RUNS} runs, peak RSS");
    println!("{:<44} {:>10} {:>12}", "tool", "time", "max RSS");
    let mut geosync_times = Vec::new();
    for size in SIZES {
        write_inputs(dir.path(), size);
        let manifest = format!("geosync-{size}.toml");
        let (time, rss) = measure(&[geosync, "validate", "-f", &manifest], dir.path(), RUNS);
        print_row(&format!("geosync validate ({size} containers)"), time, rss);
        geosync_times.push(time);
        if compose_available {
            let file = format!("compose-{size}.yml");
            let (compose_time, compose_rss) =
                measure(&["docker-compose", "-f", &file, "config", "-q"], dir.path(), RUNS);
            print_row(
                &format!("docker-compose config -q ({size} services)"),
                compose_time,
                compose_rss,
            );
            println!(
                "ratio geosync / docker-compose at {size}: time {:.2}, memory {:.2}",
                time.as_secs_f64() / compose_time.as_secs_f64(),
                rss as f64 / compose_rss as f64
            );
        }
    }
    println!(
        "growth 10x resources: {:.1}x time",
        geosync_times[1].as_secs_f64() / geosync_times[0].as_secs_f64()
    );
}

fn print_row(name: &str, time: std::time::Duration, rss: i64) {
    println!("{name:<44} {:>8.0}ms {:>9} KiB", time.as_secs_f64() * 1000.0, rss);
}

/// The same project both ways: containers with an image, a command, an env
/// value interpolated from a variable, a port and a dependency on the
/// previous one.
fn write_inputs(dir: &Path, size: usize) {
    let mut compose = String::from("services:\n");
    let mut manifest = String::from("[vars]\ntag = \"1.0\"\n\n[docker]\nproject = \"bench\"\n");
    for i in 0..size {
        let depends = if i == 0 {
            String::new()
        } else {
            format!("    depends_on: [svc{}]\n", i - 1)
        };
        compose.push_str(&format!(
            "  svc{i}:\n    image: busybox:${{TAG:-1.0}}\n    command: [\"sleep\", \"3600\"]\n    environment:\n      INDEX: \"{i}\"\n{depends}"
        ));
        let depends = if i == 0 {
            String::new()
        } else {
            format!("depends_on = {{ svc{} = \"started\" }}\n", i - 1)
        };
        manifest.push_str(&format!(
            "\n[[docker.container]]\nname = \"svc{i}\"\nimage = \"busybox:${{tag}}\"\ncommand = [\"sleep\", \"3600\"]\nenv = {{ INDEX = \"{i}\" }}\n{depends}"
        ));
    }
    std::fs::write(dir.join(format!("compose-{size}.yml")), compose).unwrap();
    std::fs::write(dir.join(format!("geosync-{size}.toml")), manifest).unwrap();
}
