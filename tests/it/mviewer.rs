//! Mviewer application configs, end to end through the CLI.

use std::collections::BTreeSet;
use std::time::SystemTime;

use quick_xml::events::Event;

use crate::support::{listing, Workspace};

pub fn manifest(title: &str) -> String {
    format!(
        r#"
[vars]
domain = "geo.example.org"

[mviewer]
target_dir = "apps"
geoserver_url = "https://${{domain}}/geoserver"

[[mviewer.app]]
name = "salins"
title = "{title}"

[mviewer.app.map]
center = [658000.0, 5920000.0]
zoom = 11

[[mviewer.app.baselayer]]
id = "osm"
type = "WMS"
label = "OpenStreetMap"
url = "https://tile.geobretagne.fr/osm/service"
layers = "osm:grey"
format = "image/png"
thumbgallery = "img/basemap/osm.png"
attribution = "GéoBretagne, OpenStreetMap"
visible = true

[[mviewer.app.theme]]
id = "salines"
name = "Salines & co"

[[mviewer.app.theme.layer]]
layer = "geosync-ouvert:batiments"
name = "Bâtiments"
visible = true
opacity = 0.5
"#
    )
}

fn mtime(ws: &Workspace, relative: &str) -> SystemTime {
    std::fs::metadata(ws.join(relative)).unwrap().modified().unwrap()
}

#[test]
fn plan_apply_then_nothing_to_do() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest("Portail Salins"));

    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    assert!(
        plan.stdout.contains("+ mviewer.app:salins (create:"),
        "{}",
        plan.stdout
    );
    assert!(!ws.exists("apps"), "plan must not write anything");

    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let xml = ws.read("apps/salins.xml");
    assert!(xml.contains(r#"<application title="Portail Salins""#), "{xml}");
    assert!(
        xml.contains(r#"url="https://geo.example.org/geoserver/geosync-ouvert/wms""#),
        "{xml}"
    );
    assert!(xml.contains(r#"name="Salines &amp; co""#), "{xml}");

    let again = ws.geosync(&["plan", "--detailed-exitcode"]);
    again.assert_code(0);
    assert!(again.stdout.starts_with("No changes."), "{}", again.stdout);

    let before = mtime(&ws, "apps/salins.xml");
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    assert_eq!(
        mtime(&ws, "apps/salins.xml"),
        before,
        "a no-op apply touched the file"
    );
}

#[test]
fn editing_the_manifest_plans_exactly_that_diff() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest("Portail Salins"));
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    ws.write("geosync.toml", &manifest("Portail Salins 2025"));

    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    insta::assert_snapshot!(ws.scrub(&plan.stdout));
}

#[test]
fn hand_edits_are_reverted_and_shown() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest("Portail"));
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let original = ws.read("apps/salins.xml");
    ws.write("apps/salins.xml", &original.replace("zoom=\"11\"", "zoom=\"3\""));

    let plan = ws.geosync(&["plan"]);
    assert!(
        plan.stdout.contains("~ mviewer.app:salins (update:"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("zoom=\"3\""), "{}", plan.stdout);
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    assert_eq!(ws.read("apps/salins.xml"), original);
}

#[test]
fn files_geosync_did_not_write_are_never_touched() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest("Portail"));
    ws.write("apps/default.xml", "<config/>\n");
    ws.write("apps/salins.xml", "<config><!-- made by hand --></config>\n");

    let plan = ws.geosync(&["plan", "--prune", "--detailed-exitcode"]);
    plan.assert_code(0);
    assert!(
        plan.stdout.contains("was not written by geosync: left alone"),
        "{}",
        plan.stdout
    );
    ws.geosync(&["apply", "--auto-approve", "--prune"]).assert_code(0);
    assert_eq!(
        ws.read("apps/salins.xml"),
        "<config><!-- made by hand --></config>\n"
    );
    assert_eq!(ws.read("apps/default.xml"), "<config/>\n");

    // Taking it over is an explicit decision.
    ws.geosync(&["apply", "--auto-approve", "--adopt"]).assert_code(0);
    assert!(ws.read("apps/salins.xml").contains("managed by geosync"));
}

#[test]
fn an_app_removed_from_the_manifest_is_kept_until_pruned() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest("Portail"));
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    ws.write("apps/notes.txt", "keep me");
    ws.write("geosync.toml", "[mviewer]\ntarget_dir = \"apps\"\n");

    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(0);
    assert!(
        plan.stdout
            .contains("no longer in the manifest: kept (--prune deletes it)"),
        "{}",
        plan.stdout
    );

    let pruned = ws.geosync(&["apply", "--auto-approve", "--prune"]);
    pruned.assert_code(0);
    assert!(
        pruned.stdout.contains("- mviewer.app:salins (delete:"),
        "{}",
        pruned.stdout
    );
    assert_eq!(listing(&ws.join("apps")), ["notes.txt"]);
}

#[test]
fn unwritable_target_fails_clearly_and_writes_nothing() {
    let ws = Workspace::new();
    // A regular file where the directory should be: even root cannot write there.
    ws.write("blocker", "not a directory");
    ws.write(
        "geosync.toml",
        &manifest("Portail").replace("target_dir = \"apps\"", "target_dir = \"blocker/apps\""),
    );

    // Found while reading the platform, before any change is attempted.
    let apply = ws.geosync(&["apply", "--auto-approve"]);
    apply.assert_code(1);
    assert!(
        apply
            .stderr
            .contains("mviewer: cannot read blocker/apps: Not a directory"),
        "{}",
        apply.stderr
    );
    assert_eq!(ws.read("blocker"), "not a directory");
    assert_eq!(listing(ws.path()), [".geosync", "blocker", "geosync.toml"]);
}

/// A logo, help page or base layer thumbnail is resolved against Mviewer's
/// index.html: when the apps folder sits in an Mviewer install, a missing
/// one is warned about.
#[test]
fn a_logo_or_help_missing_from_the_mviewer_install_is_warned_about() {
    let ws = Workspace::new();
    ws.write("mviewer/index.html", "<html></html>");
    ws.write("mviewer/js/mviewer.js", "");
    ws.write("mviewer/img/logo.png", "png");
    let manifest = manifest("Portail")
        .replace("target_dir = \"apps\"", "target_dir = \"mviewer/apps\"")
        .replace(
            "title = \"Portail\"",
            "title = \"Portail\"\nlogo = \"img/logo.png\"\nhelp = \"aide.html\"",
        );
    ws.write("geosync.toml", &manifest);

    let plan = ws.geosync(&["plan"]);
    plan.assert_code(0);
    assert!(
        plan.stdout.contains(
            "warning: mviewer.app:salins: help `aide.html` does not exist where Mviewer serves the app (mviewer/aide.html)"
        ),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("logo `"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains(
            "warning: mviewer.app:salins: baselayer `osm` thumbgallery `img/basemap/osm.png` does not exist where Mviewer serves the app"
        ),
        "{}",
        plan.stdout
    );

    ws.write("mviewer/aide.html", "<p>aide</p>");
    ws.write("mviewer/img/basemap/osm.png", "png");
    let plan = ws.geosync(&["plan"]);
    assert!(!plan.stdout.contains("warning:"), "{}", plan.stdout);
}

/// Mviewer reads the structure of its reference config: the output must use
/// the same elements, and only attributes Mviewer's own config uses (or
/// documents).
#[test]
fn output_has_the_structure_of_mviewers_reference_config() {
    let reference = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/mviewer/default.xml"
    ))
    .expect("Mviewer's reference config in tests/fixtures");
    let ws = Workspace::new();
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/manifests/mviewer.toml")).unwrap();
    ws.write("manifests/mviewer.toml", &example);
    ws.geosync(&["apply", "-f", "manifests/mviewer.toml", "--auto-approve"])
        .assert_code(0);
    let ours = ws.read("out/mviewer/apps/salins.xml");

    let (ref_paths, ref_attrs) = structure(&reference);
    let (our_paths, our_attrs) = structure(&ours);
    for path in [
        "config/application",
        "config/mapoptions",
        "config/baselayers/baselayer",
        "config/themes/theme/layer",
        "config/themes/theme/group/layer",
        "config/olscompletion",
        "config/searchparameters",
    ] {
        assert!(our_paths.contains(path), "missing {path}");
    }
    let unknown: Vec<_> = our_paths.difference(&ref_paths).collect();
    assert!(
        unknown.is_empty(),
        "elements Mviewer's config does not have: {unknown:?}"
    );
    // Search options Mviewer documents (docs/doc_tech/config_search) that
    // its reference config leaves at their defaults.
    let documented = [
        "config/searchparameters@animate",
        "config/searchparameters@closeafterclick",
        "config/searchparameters@duration",
        "config/searchparameters@inputlabel",
        "config/searchparameters@marker",
        "config/searchparameters@querymaponclick",
        "config/searchparameters@searchmaxzoomlevel",
    ];
    let ref_attrs: BTreeSet<String> = ref_attrs
        .into_iter()
        .chain(documented.map(String::from))
        .collect();
    let unknown: Vec<_> = our_attrs.difference(&ref_attrs).collect();
    assert!(
        unknown.is_empty(),
        "attributes Mviewer's config does not use: {unknown:?}"
    );
}

/// Element paths and `path@attribute` names of a well-formed document.
fn structure(xml: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let (mut paths, mut attrs) = (BTreeSet::new(), BTreeSet::new());
    loop {
        let event = reader.read_event().expect("well-formed XML");
        let (element, opens) = match &event {
            Event::Start(e) => (e, true),
            Event::Empty(e) => (e, false),
            Event::End(_) => {
                stack.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let name = String::from_utf8_lossy(element.name().as_ref()).into_owned();
        stack.push(name);
        let path = stack.join("/");
        for attribute in element.attributes() {
            let attribute = attribute.expect("well-formed attribute");
            attrs.insert(format!(
                "{path}@{}",
                String::from_utf8_lossy(attribute.key.as_ref())
            ));
        }
        paths.insert(path);
        if !opens {
            stack.pop();
        }
    }
    (paths, attrs)
}
