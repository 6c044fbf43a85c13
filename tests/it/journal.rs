//! The journal on a full disk: every record whole or absent, the failure
//! said, and the apply report printed all the same.

use crate::mviewer::manifest;
use crate::smallfs::SmallFs;
use crate::support::Workspace;

/// Every line of the journal, parsed: a torn or glued line fails here.
fn records(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not a whole record ({e}): {line}")))
        .collect()
}

#[test]
fn a_full_disk_while_journaling_tears_no_record_and_the_report_is_printed() {
    let ws = Workspace::new();
    let fs = SmallFs::mount(&ws.join("small"), 16);
    let state = fs.path().join("state");
    let state_arg = state.display().to_string();
    let journal = state.join("journal.jsonl");
    ws.write("geosync.toml", &manifest("Portail"));
    // The key and the lock take their room while there is some.
    ws.geosync(&["plan", "--state-dir", &state_arg]).assert_code(0);
    ws.geosync(&["apply", "--auto-approve", "--state-dir", &state_arg])
        .assert_code(0);
    // An earlier record that leaves a few bytes of its page free: the next
    // record starts there and runs out of room halfway.
    let earlier = serde_json::json!({ "event": "note", "pad": "" }).to_string();
    let pad = "p".repeat(4096 - 40 - earlier.len() - 1);
    let earlier = serde_json::json!({ "event": "note", "pad": pad }).to_string();
    std::fs::write(&journal, format!("{earlier}\n")).unwrap();
    fs.fill();

    ws.write("geosync.toml", &manifest("Portail 2"));
    let run = ws.geosync(&["apply", "--auto-approve", "--state-dir", &state_arg]);
    run.assert_code(1);
    assert!(
        run.stdout.contains("Apply complete: 1 change applied."),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("cannot write the journal") && run.stderr.contains("No space left on device"),
        "{}",
        run.stderr
    );
    assert!(ws.read("apps/salins.xml").contains("Portail 2"));
    assert_eq!(std::fs::read_to_string(&journal).unwrap(), format!("{earlier}\n"));

    fs.free();
    ws.write("geosync.toml", &manifest("Portail 3"));
    ws.geosync(&["apply", "--auto-approve", "--state-dir", &state_arg])
        .assert_code(0);
    let lines = records(&std::fs::read_to_string(&journal).unwrap());
    let events: Vec<&str> = lines.iter().map(|r| r["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["note", "run_started", "change", "run_finished"]);
}
