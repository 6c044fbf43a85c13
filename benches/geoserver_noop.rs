//! No-op plan of a GeoServer holding 200 published layers, with the 200
//! styles and 200 layer access rules the manifest declares for them (two
//! workspaces, one PostGIS store each), against the GeoServer emulator
//! (tests/emulators/geoserver: GeoServer cannot run here). Side by side:
//! the floor, one curl process fetching exactly the documents geosync
//! reads, over one kept-alive connection. Run with
//! `cargo bench --bench geoserver_noop`.
//!
//! Reported: wall time (median of the runs) and the requests one plan
//! makes (counted by the emulator).

#[path = "../tests/emulators/geoserver/mod.rs"]
mod emulator;

mod common;

use std::fmt::Write as _;
use std::path::Path;

use emulator::{Config, Emulator, FeatureType, Layer};

const LAYERS: usize = 200;
const RUNS: usize = 5;
const WORKSPACES: [&str; 2] = ["geosync-ouvert", "geosync-restreint"];

fn main() {
    let gs = Emulator::start(Config::default());
    let dir = tempfile::tempdir().expect("a temporary directory");
    write_manifest(dir.path(), &gs.url);
    let geosync = env!("CARGO_BIN_EXE_geosync");
    let setup = std::process::Command::new(geosync)
        .args(["apply", "--auto-approve", "-q"])
        .current_dir(dir.path())
        .output()
        .expect("geosync runs");
    assert!(
        setup.status.success(),
        "setup apply failed:\n{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    publish_layers(&gs);

    gs.clear_requests();
    let (plan, plan_rss) = common::measure(&[geosync, "plan", "--detailed-exitcode", "-q"], dir.path(), RUNS);
    let requests = gs.request_count() / RUNS;
    let urls: Vec<String> = gs.with(|st| {
        st.requests
            .iter()
            .take(requests)
            .map(|(_, path)| {
                format!(
                    "http://{}{path}",
                    gs.url.trim_start_matches("http://").split('/').next().unwrap()
                )
            })
            .collect()
    });
    let config = dir.path().join("urls.curl");
    let mut text = String::from("user = \"admin:geoserver\"\nsilent\n");
    for url in &urls {
        let _ = writeln!(text, "url = \"{url}\"\noutput = \"/dev/null\"");
    }
    std::fs::write(&config, text).unwrap();
    let (floor, _) = common::measure(&["curl", "-K", config.to_str().unwrap()], dir.path(), RUNS);

    println!("no-op plan of {LAYERS} layers' styles and access rules, median of {RUNS} runs");
    println!("{:<52} {:>9} {:>9} {:>9}", "tool", "time", "requests", "max RSS");
    println!(
        "{:<52} {:>7.0}ms {:>9} {:>7}MB",
        "geosync plan",
        plan.as_secs_f64() * 1000.0,
        requests,
        plan_rss / 1024
    );
    println!(
        "{:<52} {:>7.0}ms {:>9} {:>9}",
        "curl, the same documents, one connection",
        floor.as_secs_f64() * 1000.0,
        urls.len(),
        "-"
    );
    let lists = urls
        .iter()
        .filter(|u| u.ends_with("s.json") || u.contains("/layers.json"))
        .count();
    println!(
        "requests: {lists} list or collection reads, {} object reads (styles' documents, stores)",
        urls.len() - lists
    );
}

/// Two workspaces with a PostGIS store each; per layer a style in its
/// workspace and a read rule.
fn write_manifest(dir: &Path, url: &str) {
    std::fs::create_dir_all(dir.join("styles")).unwrap();
    let mut m = format!(
        "[geoserver]\nurl = \"{url}\"\nuser = \"admin\"\npassword = {{ env = \"GS_BENCH_ADMIN\" }}\n\n"
    );
    for (i, ws) in WORKSPACES.iter().enumerate() {
        let _ = write!(
            m,
            "[[geoserver.workspace]]\nname = \"{ws}\"\nisolated = {}\n\n[[geoserver.datastore]]\nworkspace = \"{ws}\"\nname = \"data\"\nhost = \"database\"\ndatabase = \"geosync_data_{i}\"\nuser = \"geosync\"\npassword = {{ env = \"GS_BENCH_PASSWORD\" }}\n\n",
            i == 1
        );
    }
    for n in 0..LAYERS {
        let ws = WORKSPACES[n % 2];
        let sld = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<StyledLayerDescriptor version=\"1.0.0\" xmlns=\"http://www.opengis.net/sld\">\n  <NamedLayer><Name>layer{n}</Name><UserStyle><Title>Layer {n}</Title></UserStyle></NamedLayer>\n</StyledLayerDescriptor>\n"
        );
        std::fs::write(dir.join(format!("styles/layer{n}.sld")), sld).unwrap();
        let roles = if n % 2 == 0 {
            "\"*\""
        } else {
            "\"ROLE_AUTHENTICATED\""
        };
        let _ = write!(
            m,
            "[[geoserver.style]]\nname = \"layer{n}\"\nworkspace = \"{ws}\"\nfile = \"styles/layer{n}.sld\"\n\n[[geoserver.acl]]\nrule = \"{ws}.layer{n}.r\"\nroles = [{roles}]\n\n"
        );
    }
    std::fs::write(dir.join("geosync.toml"), m).unwrap();
    // Read by the geosync processes this one starts.
    std::env::set_var("GS_BENCH_PASSWORD", "bench-store-password-0123");
    std::env::set_var("GS_BENCH_ADMIN", "geoserver");
}

/// The layers the sync would have published, each with its style.
fn publish_layers(gs: &Emulator) {
    gs.with(|st| {
        for n in 0..LAYERS {
            let ws = WORKSPACES[n % 2].to_string();
            st.featuretypes.insert(
                (ws.clone(), "data".into(), format!("layer{n}")),
                FeatureType::default(),
            );
            let layer = Layer {
                default_style: format!("{ws}:layer{n}"),
                raster: false,
                store: "data".into(),
            };
            st.layers.insert((ws, format!("layer{n}")), layer);
        }
    });
}
