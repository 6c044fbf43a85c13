//! No-op plan of 50 and 200 GeoNetwork groups against the GeoNetwork
//! emulator (tests/emulators/geonetwork), side by side with the floor: the
//! one `curl` an administrator runs to list the groups. Reported: wall
//! time (median of the runs) and the requests geosync made, which must not
//! grow with the number of groups (one list call, not one GET per group).
//! Run with `cargo bench --bench geonetwork_noop`.

mod common;
#[path = "../tests/emulators/geonetwork/mod.rs"]
mod emulator;

use emulator::GeoNetworkEmulator;

const SIZES: &[usize] = &[50, 200];
const RUNS: usize = 5;
const PASSWORD: &str = "bench-password";

fn main() {
    println!("no-op plan, median of {RUNS} runs, against the GeoNetwork emulator");
    println!("{:<40} {:>10} {:>10}", "tool", "time", "requests");
    for &size in SIZES {
        let emu = GeoNetworkEmulator::start("admin", PASSWORD);
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut manifest = format!(
            "[geonetwork]\nurl = \"{}\"\nuser = \"admin\"\npassword = {{ env = \"GEOSYNC_BENCH_GN_PW\" }}\n\n",
            emu.url
        );
        for i in 0..size {
            manifest.push_str(&format!(
                "[[geonetwork.group]]\nname = \"bench-{i:04}\"\ndescription = \"Group {i}\"\nlabel = {{ fre = \"Groupe {i}\" }}\n\n"
            ));
        }
        std::fs::write(dir.path().join("geosync.toml"), manifest).unwrap();
        std::env::set_var("GEOSYNC_BENCH_GN_PW", PASSWORD);
        let geosync = env!("CARGO_BIN_EXE_geosync");
        common::run(&[geosync, "apply", "--auto-approve", "-q"], dir.path());
        let before = emu.requests().len();
        let (plan, _) = common::measure(&[geosync, "plan", "--detailed-exitcode"], dir.path(), RUNS);
        let requests = (emu.requests().len() - before) / RUNS;
        let url = format!("{}/srv/api/groups", emu.url);
        let credentials = format!("admin:{PASSWORD}");
        let before = emu.requests().len();
        let (curl, _) = common::measure(
            &["curl", "-sf", "-u", &credentials, "-o", "/dev/null", &url],
            dir.path(),
            RUNS,
        );
        let curl_requests = (emu.requests().len() - before) / RUNS;
        println!(
            "{:<40} {:>8.0}ms {:>10}",
            format!("geosync plan ({size} groups)"),
            plan.as_secs_f64() * 1000.0,
            requests
        );
        println!(
            "{:<40} {:>8.0}ms {:>10}",
            format!("curl GET /groups ({size} groups)"),
            curl.as_secs_f64() * 1000.0,
            curl_requests
        );
    }
}
