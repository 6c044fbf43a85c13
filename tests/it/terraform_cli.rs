//! What a sysadmin used to Terraform's CLI expects: usage errors exit 1,
//! `--json` runs print a JSON error document, -v and -q mean what they say,
//! no manifest value can forge a plan line or drive the terminal, and a
//! long changed value shows which words changed.

use crate::docker::{busybox_image, Project};
use crate::mviewer::manifest;
use crate::support::{unique, Workspace};

/// A `[[file]]` resource whose name, path and content hold control characters.
fn hostile_file(path: &str) -> String {
    format!(
        "[[file]]\nname = \"f\\n+ file:forged (create: all good)\"\npath = \"{path}\"\ncontent = \"hello\\u001b[2J\\rworld\\u202e\"\n"
    )
}

/// Every byte a terminal would act on, other than the layout.
fn has_control(text: &str) -> bool {
    text.chars()
        .any(|c| (c.is_control() && c != '\n' && c != '\t') || c == '\u{202e}')
}

#[test]
fn usage_errors_exit_1_not_the_changes_pending_code() {
    let ws = Workspace::new();
    let run = ws.geosync(&["plan", "--detaild"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("unexpected argument '--detaild'"),
        "{}",
        run.stderr
    );
    ws.geosync(&["plan", "--detailed-exitcode", "--only"])
        .assert_code(1);
    let help = ws.geosync(&["--help"]);
    help.assert_code(0);
    assert!(help.stdout.contains("Usage: geosync"), "{}", help.stdout);
    ws.geosync(&["--version"]).assert_code(0);
}

#[test]
fn json_runs_print_every_problem_as_a_json_document() {
    let ws = Workspace::new();
    // Two problems: a bad app name, and no visible base layer.
    let text = manifest("Portail")
        .replace("name = \"salins\"", "name = \"sal ins\"")
        .replace(
            "visible = true\n\n[[mviewer.app.theme]]",
            "visible = false\n\n[[mviewer.app.theme]]",
        );
    ws.write("geosync.toml", &text);
    for command in ["validate", "plan"] {
        let run = ws.geosync(&[command, "--json"]);
        run.assert_code(1);
        let doc: serde_json::Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{command} --json: {e}: {:?}", run.stdout));
        assert_eq!(doc["format_version"], 1, "{doc}");
        assert_eq!(doc["error_count"], 2, "{doc}");
        let name = &doc["errors"][0];
        assert_eq!(name["file"], "geosync.toml", "{doc}");
        let line = text.lines().position(|l| l.contains("sal ins")).unwrap() + 1;
        assert_eq!(
            (name["line"].as_u64(), name["column"].as_u64()),
            (Some(line as u64), Some(8)),
            "{doc}"
        );
        assert!(
            name["message"]
                .as_str()
                .unwrap()
                .starts_with("mviewer.app:sal ins: the name becomes the file name"),
            "{doc}"
        );
        assert!(
            doc["errors"][1]["message"]
                .as_str()
                .unwrap()
                .contains("visible = true"),
            "{doc}"
        );
    }
    let doc: serde_json::Value = serde_json::from_str(&ws.geosync(&["validate", "--json"]).stdout).unwrap();
    assert_eq!(doc["valid"], false);

    // A file that cannot be read is a problem of that file, with no line.
    let run = ws.geosync(&["plan", "--json", "-f", "absent.toml"]);
    run.assert_code(1);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["errors"][0]["file"], "absent.toml", "{doc}");
    assert!(doc["errors"][0]["line"].is_null(), "{doc}");
}

#[test]
fn verbose_lists_unchanged_resources_also_when_nothing_changed() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest("Portail"));
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let plain = ws.geosync(&["plan"]);
    plain.assert_code(0);
    assert!(!plain.stdout.contains("mviewer.app:salins"), "{}", plain.stdout);
    let verbose = ws.geosync(&["plan", "-v"]);
    verbose.assert_code(0);
    assert!(
        verbose
            .stdout
            .contains("    mviewer.app:salins (no change: apps/salins.xml is up to date)"),
        "{}",
        verbose.stdout
    );
    assert!(verbose.stdout.contains("No changes."), "{}", verbose.stdout);
}

#[test]
fn quiet_apply_prints_only_the_result() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest("Portail"));
    let run = ws.geosync(&["apply", "-q", "--auto-approve"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "Apply complete: 1 change applied.\n");
    assert_eq!(run.stderr, "");
    assert!(ws.exists("apps/salins.xml"));
}

#[test]
fn names_and_values_cannot_forge_plan_lines_or_drive_the_terminal() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &hostile_file("out/a\\nb.txt"));
    let plan = ws.geosync(&["plan"]);
    plan.assert_code(0);
    assert!(!has_control(&plan.all()), "{:?}", plan.all());
    assert!(
        plan.stdout.contains(
            "  + file:f\\n+ file:forged (create: all good) (create: out/a\\nb.txt does not exist)\n"
        ),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("      +hello\\u{1b}[2J\\r"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("world\\u{202e}\n"), "{}", plan.stdout);
    assert!(
        !plan
            .stdout
            .lines()
            .any(|l| l.trim_start().starts_with("+ file:forged")),
        "{}",
        plan.stdout
    );

    // Reports: the same resource failing at apply.
    ws.write("blocker", "a file where a folder should be");
    ws.write("geosync.toml", &hostile_file("blocker/x\\u001b[31m"));
    let apply = ws.geosync(&["apply", "--auto-approve"]);
    apply.assert_code(1);
    assert!(!has_control(&apply.all()), "{:?}", apply.all());
    assert!(
        apply
            .stdout
            .contains("  FAILED     file:f\\n+ file:forged (create: all good): cannot write"),
        "{}",
        apply.stdout
    );

    // Errors: a name refused by the loader.
    ws.write(
        "geosync.toml",
        &manifest("Portail").replace("name = \"salins\"", "name = \"sal\\nins\\u001b[31m\""),
    );
    let run = ws.geosync(&["validate"]);
    run.assert_code(1);
    assert!(!has_control(&run.stderr), "{:?}", run.stderr);
    assert!(
        run.stderr
            .contains("mviewer.app:sal\\nins\\u{1b}[31m: the name becomes the file name"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .lines()
            .all(|l| l.starts_with("error: ") || l.starts_with("  geosync.toml:")),
        "{}",
        run.stderr
    );
}

#[test]
fn a_long_changed_value_shows_which_words_changed() {
    let project = Project {
        name: unique("cli").replace('_', "-"),
    };
    let java_opts = |heap: &str| {
        format!(
            "{} -Xmx{heap} {}",
            "-Dgeoserver.option=a-rather-long-value".repeat(5),
            "-Dorg.geotools.referencing.forceXY=true".repeat(4)
        )
    };
    let text = |heap: &str| {
        format!(
            "[docker]\nproject = \"{}\"\n\n[[docker.container]]\nname = \"app\"\nimage = \"{}\"\npull = \"never\"\ncommand = [\"sleep\", \"3600\"]\nenv = {{ JAVA_OPTS = \"{}\" }}\n",
            project.name,
            busybox_image(),
            java_opts(heap)
        )
    };
    let ws = Workspace::new();
    ws.write("geosync.toml", &text("2g"));
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    ws.write("geosync.toml", &text("4g"));
    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    assert!(
        plan.stdout
            .contains("      ~ env.JAVA_OPTS: (changed words as [-old-]{+new+})\n"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("-[-Xmx2g-]{+Xmx4g+}"), "{}", plan.stdout);
    let longest = plan.stdout.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(longest <= 100, "a {longest}-character line:\n{}", plan.stdout);
}
