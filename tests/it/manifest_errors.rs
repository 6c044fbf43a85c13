//! Bad input: each mistake is reported with its file, line and column, and
//! nothing is changed.

use crate::mviewer::manifest;
use crate::support::{listing, Workspace};

/// Runs plan and apply on a bad manifest: both fail, nothing is written.
fn rejected(ws: &Workspace) -> String {
    let before = listing(ws.path());
    let plan = ws.geosync(&["plan"]);
    plan.assert_code(1);
    ws.geosync(&["apply", "--auto-approve"]).assert_code(1);
    assert_eq!(listing(ws.path()), before, "a rejected manifest changed files");
    ws.scrub(&plan.stderr)
}

#[test]
fn malformed_toml_names_file_line_and_column() {
    let ws = Workspace::new();
    ws.write("geosync.toml", "[vars]\ndomain = \"geo.example.org\n");
    insta::assert_snapshot!(rejected(&ws), @r###"
    error: 1 problem in the manifest:
      geosync.toml:2:26: invalid basic string, expected `"`
    "###);
}

#[test]
fn misspelt_key_gets_the_closest_valid_one() {
    let ws = Workspace::new();
    ws.write(
        "geosync.toml",
        &manifest("Portail").replace("title = \"Portail\"", "titel = \"Portail\""),
    );
    let stderr = rejected(&ws);
    assert!(
        stderr.contains("geosync.toml:11:1: unknown key `titel`"),
        "{stderr}"
    );
    assert!(stderr.contains("(did you mean `title`?)"), "{stderr}");
}

#[test]
fn wrong_type_names_its_place() {
    let ws = Workspace::new();
    ws.write(
        "geosync.toml",
        &manifest("Portail").replace("zoom = 11", "zoom = \"eleven\""),
    );
    let stderr = rejected(&ws);
    assert!(
        stderr.contains("geosync.toml:15:8: zoom must be an integer, found the string \"eleven\""),
        "{stderr}"
    );
}

#[test]
fn undefined_variable_is_pointed_at_with_a_suggestion() {
    let ws = Workspace::new();
    ws.write(
        "geosync.toml",
        &manifest("Portail").replace("${domain}", "${domian}"),
    );
    let stderr = rejected(&ws);
    assert!(
        stderr.contains("geosync.toml:7:26: undefined variable `${domian}` (did you mean `domain`?)"),
        "{stderr}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let ws = Workspace::new();
    let bad = manifest("Portail")
        .replace("zoom = 11", "zoom = 99")
        .replace("opacity = 0.5", "opacity = 5.0")
        .replace(
            "visible = true\n\n[[mviewer.app.theme]]",
            "visible = false\n\n[[mviewer.app.theme]]",
        );
    ws.write("geosync.toml", &bad);
    let stderr = rejected(&ws);
    assert!(stderr.contains("3 problems in the manifest"), "{stderr}");
    assert!(stderr.contains("zoom must be between 0 and 30"), "{stderr}");
    assert!(stderr.contains("opacity must be between 0 and 1"), "{stderr}");
    assert!(
        stderr.contains("exactly one baselayer must have visible = true (found 0)"),
        "{stderr}"
    );
}

#[test]
fn misspelt_keys_and_an_undefined_variable_are_all_reported_in_one_run() {
    let ws = Workspace::new();
    let bad = manifest("Portail")
        .replace("opacity = 0.5", "opacty = 0.5\nfeaturcount = 3")
        .replace("zoom = 11", "zoom = \"11\"")
        .replace("https://${domain}/geoserver", "https://${domian}/geoserver");
    ws.write("geosync.toml", &bad);
    let stderr = rejected(&ws);
    for expected in [
        "4 problems in the manifest",
        "geosync.toml:7:26: undefined variable `${domian}` (did you mean `domain`?)",
        "geosync.toml:15:8: zoom must be an integer, found the string \"11\"",
        "geosync.toml:36:1: unknown key `opacty` (did you mean `opacity`?)",
        "geosync.toml:37:1: unknown key `featurcount` (did you mean `featurecount`?)",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in\n{stderr}");
    }
}

#[test]
fn problems_in_every_file_are_reported_together() {
    let ws = Workspace::new();
    ws.write("a.toml", "[vars]\nx = \"1\"\ny = = 2\n");
    ws.write("b.toml", "[vars\n");
    let run = ws.geosync(&["validate", "-f", "a.toml", "-f", "b.toml"]);
    run.assert_code(1);
    let stderr = ws.scrub(&run.stderr);
    assert!(stderr.contains("a.toml:3:"), "{stderr}");
    assert!(stderr.contains("b.toml:1:"), "{stderr}");
}

#[test]
fn escapes_and_accents_before_a_reference_neither_panic_nor_shift_the_column() {
    let ws = Workspace::new();
    let bad = manifest("Portail").replace(
        "title = \"Portail\"",
        "title = \"Portail \\\"Salins\\\" été ${anne}\"",
    );
    ws.write("geosync.toml", &bad);
    let stderr = rejected(&ws);
    assert!(
        stderr.contains("geosync.toml:11:33: undefined variable `${anne}`"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The manifest itself is not echoed back.
    assert!(!stderr.contains("geoserver_url"), "{stderr}");
}

#[test]
fn an_unknown_section_gets_the_closest_one() {
    let ws = Workspace::new();
    ws.write(
        "geosync.toml",
        &format!("{}\n[postgress]\nhost = \"x\"\n", manifest("Portail")),
    );
    let stderr = rejected(&ws);
    assert!(
        stderr.contains("unknown section `postgress` (did you mean `postgres`?)"),
        "{stderr}"
    );
}

#[test]
fn a_resource_defined_in_two_files_names_both() {
    let ws = Workspace::new();
    ws.write("a.toml", &manifest("A"));
    ws.write(
        "b.toml",
        "[[mviewer.app]]\nname = \"salins\"\ntitle = \"B\"\n[mviewer.app.map]\ncenter = [0.0, 0.0]\nzoom = 1\n\
         [[mviewer.app.baselayer]]\nid = \"osm\"\ntype = \"OSM\"\nlabel = \"OSM\"\nurl = \"x\"\nvisible = true\n",
    );
    let run = ws.geosync(&["validate", "-f", "a.toml", "-f", "b.toml"]);
    run.assert_code(1);
    assert!(
        ws.scrub(&run.stderr)
            .contains("b.toml:2:8: mviewer.app:salins is already defined at a.toml:10:8"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_template_error_points_at_the_template_line() {
    let ws = Workspace::new();
    ws.write(
        "site/app.xml.j2",
        "<config>\n  <application title=\"{{ app.titel }}\"/>\n</config>\n",
    );
    ws.write(
        "geosync.toml",
        &manifest("Portail").replace(
            "title = \"Portail\"",
            "title = \"Portail\"\ntemplate = \"site/app.xml.j2\"",
        ),
    );
    let stderr = rejected(&ws);
    assert!(
        stderr.contains("geosync.toml:10:8: template site/app.xml.j2: line 2: undefined value"),
        "{stderr}"
    );
}

#[test]
fn a_template_that_renders_broken_xml_is_refused() {
    let ws = Workspace::new();
    ws.write(
        "site/app.xml.j2",
        "<config>\n  <application title=\"{{ app.title }}\">\n</config>\n",
    );
    ws.write(
        "geosync.toml",
        &manifest("Portail").replace(
            "title = \"Portail\"",
            "title = \"Portail\"\ntemplate = \"site/app.xml.j2\"",
        ),
    );
    let stderr = rejected(&ws);
    assert!(
        stderr.contains("template site/app.xml.j2: rendered XML is not well-formed"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_var_override_is_an_error_and_a_known_one_applies() {
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest("Portail"));
    let run = ws.geosync(&["plan", "--var", "domian=x"]);
    run.assert_code(1);
    assert!(run
        .stderr
        .contains("--var domian: no variable `domian` is declared in [vars] (did you mean `domain`?)"));
    let run = ws.geosync(&["plan", "--var", "domain=maps.lab.example"]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("https://maps.lab.example/geoserver/geosync-ouvert/wms"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_missing_manifest_file_is_named() {
    let ws = Workspace::new();
    let run = ws.geosync(&["validate"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains(
            "geosync.toml: cannot read manifest: not found (geosync.toml is the default manifest; name others with -f FILE)"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn an_unreadable_manifest_says_why() {
    let ws = Workspace::new();
    std::fs::write(ws.join("latin1.toml"), b"[vars]\nx = \"caf\xe9\"\n").unwrap();
    let run = ws.geosync(&["validate", "-f", "latin1.toml"]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("latin1.toml: cannot read manifest: not UTF-8: invalid byte at offset 15"),
        "{}",
        run.stderr
    );
    std::fs::create_dir(ws.join("dir.toml")).unwrap();
    let run = ws.geosync(&["validate", "-f", "dir.toml"]);
    assert!(
        run.stderr
            .contains("dir.toml: cannot read manifest: not a regular file"),
        "{}",
        run.stderr
    );
}

/// What Mviewer's documentation requires, and what Mviewer 4.1 cannot open,
/// is refused at validate, every problem at its place.
#[test]
fn mviewer_requirements_are_refused_at_validate() {
    let ws = Workspace::new();
    ws.write(
        "geosync.toml",
        r#"[mviewer]
target_dir = "apps"

[[mviewer.app]]
name = "a"
title = "A"
[mviewer.app.map]
projection = "EPSG:2154"
center = [0.0, 0.0]
zoom = 1
[[mviewer.app.baselayer]]
id = "osm"
type = "OSM"
label = "OSM"
url = "http://osm/{z}/{x}/{y}.png"
visible = true
[[mviewer.app.baselayer]]
id = "ortho"
type = "WMTS"
label = "Ortho"
url = "https://wmts"
layers = "ORTHO"
matrixset = "GoogleMapsCompatible"
thumbgallery = "img/basemap/ortho.jpg"
attribution = "IGN"
[[mviewer.app.theme]]
id = "t1"
name = "T1"
collapsed = false
[[mviewer.app.theme.group]]
id = "g"
name = "G"
[[mviewer.app.theme.group]]
id = "g"
name = "G again"
[[mviewer.app.theme.group.layer]]
layer = "l1"
url = "http://wms"
name = "L1"
[[mviewer.app.theme]]
id = "t2"
name = "T2"
collapsed = false
[mviewer.app.searchparameters]
inputlabel = "Chercher"

[[mviewer.app]]
name = "b"
title = "B"
[mviewer.app.map]
center = [0.0, 0.0]
zoom = 1
[[mviewer.app.baselayer]]
id = "osm"
type = "OSM"
label = "OSM"
url = "http://osm/{z}/{x}/{y}.png"
visible = true
thumbgallery = "img/basemap/osm.png"
attribution = "OSM"
[[mviewer.app.theme]]
id = "t"
name = "T"
[[mviewer.app.theme.layer]]
layer = "l"
url = "http://wms"
name = "L"
[mviewer.app.olscompletion]
url = "geocodage/completion"
"#,
    );
    let validate = ws.geosync(&["validate"]);
    validate.assert_code(1);
    let stderr = validate.stderr;
    for expected in [
        "geosync.toml:8:14: mviewer.app:a: projection EPSG:2154 needs `projextent`",
        "geosync.toml:11:1: mviewer.app:a: baselayer `osm`: an OSM base layer needs `attribution` (Mviewer requires it)",
        "geosync.toml:11:1: mviewer.app:a: baselayer `osm`: an OSM base layer needs `thumbgallery`",
        "mviewer.app:a: baselayer `ortho`: a WMTS base layer needs `format`",
        "mviewer.app:a: baselayer `ortho`: a WMTS base layer needs `style`",
        "geosync.toml:23:13: mviewer.app:a: baselayer `ortho`: Mviewer 4.1 knows the tile grids of matrixset PM, EPSG:3857, EPSG:4326, EPSG:2154 only, not `GoogleMapsCompatible`",
        "geosync.toml:30:1: mviewer.app:a: group `g` of theme `t1` has no layer",
        "geosync.toml:34:6: mviewer.app:a: theme `t1`: group `g` is already defined at geosync.toml:31:6",
        "geosync.toml:40:1: mviewer.app:a: theme `t2` has no layer",
        "theme `t2` has collapsed = false, like theme `t1`: Mviewer opens only one theme at start",
        "geosync.toml:44:1: mviewer.app:a: searchparameters configure the address search, which needs a service: add [mviewer.app.olscompletion]",
        "geosync.toml:69:7: mviewer.app:b: olscompletion url `geocodage/completion` must be an absolute http(s) URL",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in\n{stderr}");
    }
}
