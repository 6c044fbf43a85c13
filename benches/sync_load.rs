//! Loading a 1,000,000-polygon shapefile into PostGIS with its spatial
//! index, side by side with what users run today: `ogr2ogr -f PostgreSQL`
//! and `shp2pgsql -D -I | psql`. Same run, same private PostgreSQL 15
//! cluster (started here as the `postgres` user, fsync off for every tool
//! alike), same file, generated here (never committed). Run with
//! `cargo bench --bench sync_load`; `GEOSYNC_BENCH_POLYGONS=100000` for a
//! quick run, `GEOSYNC_BENCH_RUNS` (default 3) runs per tool.
//!
//! Each tool runs as a whole process, measured by benches/common: wall
//! time (median of the runs), peak RSS and the CPU of the tool's processes
//! (wait4), and the server's CPU for that run (its ended backends' time,
//! read from the postmaster). geosync's loader is a
//! library inside the binary, so this bench compiles the loader's own
//! source files (`#[path]` below) and re-runs itself as the loading
//! process (`--load`); it loads through the same `load_vector` the sync
//! calls, ledger and swap included. Its peak RSS is also measured on a
//! tenth of the file, to show memory does not grow with the file.

#[allow(dead_code)]
mod common;

#[allow(dead_code, unused_imports)]
#[path = "sync_load/loader.rs"]
mod sync;

use std::io::{BufWriter, Write};
use std::path::Path;

use common::pg::Cluster;

const L93: &str = r#"PROJCS["RGF93_Lambert_93",GEOGCS["GCS_RGF93",DATUM["D_RGF_1993",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Lambert_Conformal_Conic"],PARAMETER["False_Easting",700000.0],PARAMETER["False_Northing",6600000.0],PARAMETER["Central_Meridian",3.0],PARAMETER["Standard_Parallel_1",44.0],PARAMETER["Standard_Parallel_2",49.0],PARAMETER["Latitude_Of_Origin",46.5],UNIT["Meter",1.0]]"#;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--load") {
        return load_child(&args[2], &args[3], Path::new(&args[4]), &args[5]);
    }
    let polygons: usize = env_or("GEOSYNC_BENCH_POLYGONS", 1_000_000);
    let runs: usize = env_or("GEOSYNC_BENCH_RUNS", 3);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let shp = dir.path().join("parcels.shp");
    let small = dir.path().join("parcels_small.shp");
    write_shapefile(&shp, polygons);
    write_shapefile(&small, (polygons / 10).max(1));
    let cluster = Cluster::start(&["fsync=off", "synchronous_commit=off", "max_wal_size=4GB"]);
    let db = "bench";
    cluster.psql("postgres", &format!("CREATE DATABASE {db}"));
    cluster.psql(
        db,
        "CREATE EXTENSION postgis; CREATE SCHEMA geosync_t; CREATE SCHEMA ogr; CREATE SCHEMA shp;",
    );
    let port = cluster.port.to_string();
    let me = std::env::current_exe().expect("the bench binary");
    let me = me.to_str().expect("a UTF-8 path");
    let conn = format!("PG:host=127.0.0.1 port={port} user=postgres dbname={db}");
    let shp_s = shp.to_str().unwrap();
    // shp2pgsql -d fails on a missing table: drop it first (a few ms).
    let psql = format!("psql -X -q -h 127.0.0.1 -p {port} -U postgres -d {db} -v ON_ERROR_STOP=1");
    let pipeline = format!(
        "{psql} -c 'DROP TABLE IF EXISTS shp.parcels' && shp2pgsql -D -I -s 2154 '{shp_s}' shp.parcels | {psql}"
    );
    let tools: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "geosync load_vector",
            vec![
                me.into(),
                "--load".into(),
                port.clone(),
                db.into(),
                shp_s.into(),
                "parcels".into(),
            ],
            "geosync_t.parcels",
        ),
        (
            "ogr2ogr -f PostgreSQL",
            vec![
                "ogr2ogr".into(),
                "-f".into(),
                "PostgreSQL".into(),
                conn,
                shp_s.into(),
                "-nln".into(),
                "ogr.parcels".into(),
                "-nlt".into(),
                "PROMOTE_TO_MULTI".into(),
                "-overwrite".into(),
            ],
            "ogr.parcels",
        ),
        (
            "shp2pgsql -D -I | psql",
            vec!["bash".into(), "-c".into(), pipeline],
            "shp.parcels",
        ),
    ];
    println!("load of a {polygons}-polygon shapefile with its spatial index, median of {runs} runs");
    println!(
        "{:<28} {:>10} {:>14} {:>12} {:>11} {:>11}",
        "tool", "time", "features/s", "peak RSS", "tool CPU", "server CPU"
    );
    for (name, command, table) in &tools {
        let command: Vec<&str> = command.iter().map(String::as_str).collect();
        let mut measured = Vec::new();
        for _ in 0..runs {
            let before = cluster.server_cpu();
            let usage = common::run_usage(&command, dir.path());
            // The server's backend is reaped once the tool has disconnected.
            let server = server_cpu_after(&cluster, before);
            measured.push((usage.time, usage.cpu, server, usage.max_rss));
        }
        let rss = measured.iter().map(|m| m.3).max().unwrap_or(0);
        measured.sort();
        let (time, cpu, server, _) = measured[runs / 2];
        let count = cluster.psql(db, &format!("SELECT count(*) FROM {table}"));
        assert_eq!(count, polygons.to_string(), "{name} loaded {count} rows");
        println!(
            "{name:<28} {:>8.2} s {:>14.0} {:>8.1} MiB {:>9.2} s {:>9.2} s",
            time.as_secs_f64(),
            polygons as f64 / time.as_secs_f64(),
            rss as f64 / 1024.0,
            cpu.as_secs_f64(),
            server.as_secs_f64()
        );
    }
    let small_s = small.to_str().unwrap();
    let (_, rss_small) = common::measure(
        &[me, "--load", &port, db, small_s, "parcels_small"],
        dir.path(),
        1,
    );
    println!(
        "{:<28} {:>10} {:>14} {:>8.1} MiB",
        format!("geosync, {} polygons", (polygons / 10).max(1)),
        "",
        "",
        rss_small as f64 / 1024.0
    );
}

/// The server CPU since `before`, once the tool's backends have ended
/// (the postmaster counts a backend's CPU when it reaps it).
fn server_cpu_after(cluster: &Cluster, before: std::time::Duration) -> std::time::Duration {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let others = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' \
                  AND pid <> pg_backend_pid() AND application_name <> 'bench_admin'";
    while cluster.psql("postgres", others) != "0" {
        assert!(
            std::time::Instant::now() < deadline,
            "the tool's connections never ended"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    cluster.server_cpu() - before
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The measured process: one `load_vector` of the file.
fn load_child(port: &str, db: &str, shp: &Path, table: &str) {
    // GEOSYNC_BENCH_TRACE=debug prints the loader's phases (prepare, copy, index, swap).
    if let Ok(filter) = std::env::var("GEOSYNC_BENCH_TRACE") {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(port.parse().unwrap())
            .user("postgres")
            .dbname(db);
        let (mut client, connection) = config.connect(tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(connection);
        let stem = shp.file_stem().unwrap().to_str().unwrap();
        let members = ["shx", "dbf", "prj", "cpg"]
            .iter()
            .map(|ext| shp.with_file_name(format!("{stem}.{ext}")))
            .collect();
        let input = sync::load::Input {
            source_path: format!("bench/{stem}.shp"),
            main: shp.to_path_buf(),
            members,
            kind: sync::load::Kind::Vector,
            layer: None,
            fingerprint: "bench".into(),
        };
        let target = sync::load::Target {
            schema: "geosync_t".into(),
            table: table.into(),
            default_srid: None,
        };
        let report = sync::load::load_vector(&mut client, &input, &target)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.srid, 2154);
    });
}

/// A grid of `n` small square parcels, with an id, a name and an area.
fn write_shapefile(shp: &Path, n: usize) {
    let side = (n as f64).sqrt().ceil() as usize;
    let record_len = 4 + 32 + 4 + 4 + 4 + 5 * 16; // type, box, counts, part, points
    let file_len = 100 + n * (8 + record_len);
    let bbox = [
        700_000.0,
        6_600_000.0,
        700_000.0 + side as f64 * 10.0,
        6_600_000.0 + side as f64 * 10.0,
    ];
    let mut shp_w = BufWriter::new(std::fs::File::create(shp).unwrap());
    let mut shx_w = BufWriter::new(std::fs::File::create(shp.with_extension("shx")).unwrap());
    shp_w.write_all(&header(file_len, bbox)).unwrap();
    shx_w.write_all(&header(100 + n * 8, bbox)).unwrap();
    let mut dbf = BufWriter::new(std::fs::File::create(shp.with_extension("dbf")).unwrap());
    dbf_header(&mut dbf, n);
    for i in 0..n {
        let (x, y) = (
            bbox[0] + (i % side) as f64 * 10.0,
            bbox[1] + (i / side) as f64 * 10.0,
        );
        let offset = 100 + i * (8 + record_len);
        shx_w.write_all(&((offset / 2) as i32).to_be_bytes()).unwrap();
        shx_w.write_all(&((record_len / 2) as i32).to_be_bytes()).unwrap();
        shp_w.write_all(&((i + 1) as i32).to_be_bytes()).unwrap();
        shp_w.write_all(&((record_len / 2) as i32).to_be_bytes()).unwrap();
        shp_w.write_all(&5i32.to_le_bytes()).unwrap();
        for v in [x, y, x + 8.0, y + 8.0] {
            shp_w.write_all(&v.to_le_bytes()).unwrap();
        }
        shp_w.write_all(&1i32.to_le_bytes()).unwrap();
        shp_w.write_all(&5i32.to_le_bytes()).unwrap();
        shp_w.write_all(&0i32.to_le_bytes()).unwrap();
        for (px, py) in [(x, y), (x, y + 8.0), (x + 8.0, y + 8.0), (x + 8.0, y), (x, y)] {
            shp_w.write_all(&px.to_le_bytes()).unwrap();
            shp_w.write_all(&py.to_le_bytes()).unwrap();
        }
        write!(
            dbf,
            " {:>10}{:<20}{:>12.3}",
            i + 1,
            format!("parcelle {i}"),
            64.0 + (i % 100) as f64 / 8.0
        )
        .unwrap();
    }
    dbf.write_all(&[0x1A]).unwrap();
    std::fs::write(shp.with_extension("prj"), L93).unwrap();
    std::fs::write(shp.with_extension("cpg"), "UTF-8").unwrap();
}

fn header(len_bytes: usize, bbox: [f64; 4]) -> Vec<u8> {
    let mut h = Vec::with_capacity(100);
    h.extend_from_slice(&9994i32.to_be_bytes());
    h.extend_from_slice(&[0; 20]);
    h.extend_from_slice(&((len_bytes / 2) as i32).to_be_bytes());
    h.extend_from_slice(&1000i32.to_le_bytes());
    h.extend_from_slice(&5i32.to_le_bytes());
    for v in bbox {
        h.extend_from_slice(&v.to_le_bytes());
    }
    h.extend_from_slice(&[0; 32]);
    h
}

fn dbf_header(w: &mut impl Write, n: usize) {
    let fields: [(&str, u8, u8, u8); 3] = [
        ("ID", b'N', 10, 0),
        ("NOM", b'C', 20, 0),
        ("SURFACE", b'N', 12, 3),
    ];
    let header_len = 32 + 32 * fields.len() + 1;
    let record_len = 1 + fields.iter().map(|f| f.2 as usize).sum::<usize>();
    let mut h = vec![0x03, 126, 12, 1];
    h.extend_from_slice(&(n as u32).to_le_bytes());
    h.extend_from_slice(&(header_len as u16).to_le_bytes());
    h.extend_from_slice(&(record_len as u16).to_le_bytes());
    h.extend_from_slice(&[0; 20]);
    for (name, ty, len, decimals) in fields {
        let mut d = [0u8; 32];
        d[..name.len()].copy_from_slice(name.as_bytes());
        d[11] = ty;
        d[16] = len;
        d[17] = decimals;
        h.extend_from_slice(&d);
    }
    h.push(0x0D);
    w.write_all(&h).unwrap();
}
