//! Paths geosync did not write are never replaced: a symbolic link named
//! like an Mviewer app or a [[file]] is reported and left as it is, and two
//! declared paths that reach one file through a linked folder are refused.

use std::os::unix::fs::{symlink, PermissionsExt};

use crate::mviewer::manifest;
use crate::support::Workspace;

fn is_link(ws: &Workspace, relative: &str) -> bool {
    std::fs::symlink_metadata(ws.join(relative)).is_ok_and(|m| m.file_type().is_symlink())
}

#[test]
fn an_unmarked_symlink_named_like_an_app_is_reported_not_replaced() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest("Portail"));
    let target = ws.write("elsewhere/admin.xml", "<config>the administrator's</config>\n");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::create_dir_all(ws.join("apps")).unwrap();
    symlink(&target, ws.join("apps/salins.xml")).unwrap();
    symlink(ws.join("nowhere.xml"), ws.join("apps/dangling.xml")).unwrap();

    let plan = ws.geosync(&["plan"]);
    plan.assert_code(0);
    assert!(
        ws.scrub(&plan.stdout).contains(
            "warning: mviewer.app:salins: apps/salins.xml is a symbolic link (to [ws]/elsewhere/admin.xml) that geosync did not create: left alone"
        ),
        "{}",
        plan.stdout
    );
    for flags in [&["--auto-approve"][..], &["--auto-approve", "--adopt", "--prune"]] {
        ws.geosync(&[&["apply"][..], flags].concat()).assert_code(0);
        assert!(is_link(&ws, "apps/salins.xml") && is_link(&ws, "apps/dangling.xml"));
        assert_eq!(
            ws.read("elsewhere/admin.xml"),
            "<config>the administrator's</config>\n"
        );
        assert!(!ws.exists("nowhere.xml"));
    }

    // Named like an app that has no file yet: the dangling link stays too.
    ws.write(
        "geosync.toml",
        &manifest("Portail").replace("name = \"salins\"", "name = \"dangling\""),
    );
    let run = ws.geosync(&["apply", "--auto-approve"]);
    run.assert_code(0);
    assert!(
        is_link(&ws, "apps/dangling.xml") && !ws.exists("nowhere.xml"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_file_path_that_is_a_symlink_is_reported_not_replaced() {
    let ws = Workspace::new();
    ws.write(
        "geosync.toml",
        "[[file]]\nname = \"motd\"\npath = \"etc/motd\"\ncontent = \"managed\\n\"\n",
    );
    let target = ws.write("admin/motd", "the administrator's\n");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::create_dir_all(ws.join("etc")).unwrap();
    symlink(&target, ws.join("etc/motd")).unwrap();

    let run = ws.geosync(&["apply", "--auto-approve"]);
    run.assert_code(0);
    assert!(
        ws.scrub(&run.stdout)
            .contains("warning: file:motd: etc/motd is a symbolic link (to [ws]/admin/motd) that geosync did not create"),
        "{}",
        run.stdout
    );
    assert!(is_link(&ws, "etc/motd"));
    assert_eq!(ws.read("admin/motd"), "the administrator's\n");
}

#[test]
fn two_file_paths_reaching_one_file_through_a_linked_folder_are_refused() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.join("real")).unwrap();
    symlink(ws.join("real"), ws.join("linked")).unwrap();
    ws.write(
        "geosync.toml",
        "[[file]]\nname = \"a\"\npath = \"real/x.conf\"\ncontent = \"a\\n\"\n\n[[file]]\nname = \"b\"\npath = \"linked/x.conf\"\ncontent = \"b\\n\"\n",
    );
    let run = ws.geosync(&["apply", "--auto-approve"]);
    run.assert_code(1);
    assert!(
        ws.scrub(&run.stderr)
            .contains("file:a and file:b name the same file [ws]/real/x.conf (through a symbolic link): declare it once"),
        "{}",
        run.stderr
    );
    assert!(!ws.exists("real/x.conf"));
}
