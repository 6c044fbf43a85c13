//! The GeoServer emulator against GeoServer's documented behaviour, not
//! against geosync: each test replays a request/response pair of the
//! REST manual (tests/fixtures/geoserver-specs/manual/, cited by file and
//! line) with the manual's own curl command, the host swapped for the
//! emulator's; the status tables of the api-*.rst pages and
//! manual/ERRORS.md give the error cases.

use std::process::Command;

use crate::geoserver_emulator::{Config, Emulator};

/// What curl saw: status, headers (lower-case names) and body.
struct Answer {
    status: u16,
    headers: String,
    body: String,
}

/// Runs the manual's curl command: `args` as written there, with
/// `http://localhost:8080/geoserver` replaced by the emulator's URL.
fn curl(gs: &Emulator, args: &[&str]) -> Answer {
    let dir = tempfile::tempdir().unwrap();
    let headers = dir.path().join("headers");
    let out = Command::new("curl")
        .args(["-s", "-D"])
        .arg(&headers)
        .args(["-w", "%{http_code}"])
        .args(
            args.iter()
                .map(|a| a.replace("http://localhost:8080/geoserver", &gs.url)),
        )
        .current_dir(dir.path())
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.split_at(text.len() - 3);
    Answer {
        status: status.parse().unwrap(),
        headers: std::fs::read_to_string(headers)
            .unwrap_or_default()
            .to_lowercase(),
        body: body.to_string(),
    }
}

fn curl_with_file(gs: &Emulator, file: (&str, &str), args: &[&str]) -> Answer {
    // The manual's `-T FILE` / `-d @FILE` read the file from the current
    // folder: write it into the folder curl runs in.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(file.0), file.1).unwrap();
    let mut full: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    for arg in full.iter_mut() {
        if arg == file.0 || *arg == format!("@{}", file.0) {
            *arg = arg.replace(file.0, &dir.path().join(file.0).display().to_string());
        }
    }
    let refs: Vec<&str> = full.iter().map(String::as_str).collect();
    curl(gs, &refs)
}

const AUTH: &[&str] = &["-u", "admin:geoserver"];

fn with_auth<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = AUTH.to_vec();
    all.extend_from_slice(args);
    all
}

/// workspaces.rst:21-38 (POST → 201 Created, Location) and 53-90 (GET → the workspace XML).
#[test]
fn workspaces_rst_create_then_list_details() {
    let gs = Emulator::start(Config::default());
    let created = curl(
        &gs,
        &with_auth(&[
            "-XPOST",
            "-H",
            "Content-type: text/xml",
            "-d",
            "<workspace><name>acme</name></workspace>",
            "http://localhost:8080/geoserver/rest/workspaces",
        ]),
    );
    assert_eq!(created.status, 201);
    assert!(
        created
            .headers
            .contains(&format!("location: {}/rest/workspaces/acme", gs.url)),
        "{}",
        created.headers
    );
    let details = curl(
        &gs,
        &with_auth(&[
            "-XGET",
            "-H",
            "Accept: text/xml",
            "http://localhost:8080/geoserver/rest/workspaces/acme",
        ]),
    );
    assert_eq!(details.status, 200);
    assert!(
        details.body.starts_with("<workspace><name>acme</name>"),
        "{}",
        details.body
    );
    for link in ["datastores.xml", "coveragestores.xml", "wmsstores.xml"] {
        let href = format!("href=\"{}/rest/workspaces/acme/{link}\"", gs.url);
        assert!(details.body.contains(&href), "{link}: {}", details.body);
    }
    assert!(details
        .body
        .contains("<atom:link xmlns:atom=\"http://www.w3.org/2005/Atom\" rel=\"alternate\""));
}

/// api-workspaces.rst (status table) and ERRORS.md §2: duplicate 409,
/// PUT/DELETE on the collection 405, missing 404, non-empty delete 403.
#[test]
fn api_workspaces_status_codes() {
    let gs = Emulator::start(Config::default());
    let post = || {
        curl(
            &gs,
            &with_auth(&[
                "-XPOST",
                "-H",
                "Content-type: text/xml",
                "-d",
                "<workspace><name>acme</name></workspace>",
                "http://localhost:8080/geoserver/rest/workspaces",
            ]),
        )
    };
    assert_eq!(post().status, 201);
    let again = post();
    assert_eq!(again.status, 409);
    assert_eq!(again.body, "Workspace 'acme' already exists");
    assert!(
        again.headers.contains("content-type: text/plain"),
        "{}",
        again.headers
    );
    for method in ["-XPUT", "-XDELETE"] {
        let a = curl(
            &gs,
            &with_auth(&[method, "http://localhost:8080/geoserver/rest/workspaces"]),
        );
        assert_eq!(a.status, 405, "{method}");
    }
    let missing = curl(
        &gs,
        &with_auth(&["http://localhost:8080/geoserver/rest/workspaces/nope.json"]),
    );
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (404, "No such workspace: 'nope' found")
    );
    assert_eq!(
        curl(
            &gs,
            &with_auth(&["-XPOST", "http://localhost:8080/geoserver/rest/workspaces/acme"])
        )
        .status,
        405
    );
    curl(
        &gs,
        &with_auth(&[
            "-XPOST",
            "-H",
            "Content-type: text/xml",
            "-d",
            "<style><name>s</name></style>",
            "http://localhost:8080/geoserver/rest/workspaces/acme/styles",
        ]),
    );
    let refused = curl(
        &gs,
        &with_auth(&["-XDELETE", "http://localhost:8080/geoserver/rest/workspaces/acme"]),
    );
    assert_eq!(
        (refused.status, refused.body.as_str()),
        (403, "Workspace not empty")
    );
    let deleted = curl(
        &gs,
        &with_auth(&[
            "-XDELETE",
            "http://localhost:8080/geoserver/rest/workspaces/acme?recurse=true",
        ]),
    );
    assert_eq!(deleted.status, 200);
    let gone = curl(
        &gs,
        &with_auth(&["-XDELETE", "http://localhost:8080/geoserver/rest/workspaces/acme"]),
    );
    assert_eq!(
        (gone.status, gone.body.as_str()),
        (404, "Workspace 'acme' not found")
    );
    let anonymous = curl(&gs, &["http://localhost:8080/geoserver/rest/workspaces.json"]);
    assert_eq!(
        anonymous.status, 401,
        "api-details.rst: REST needs authentication"
    );
}

const NYC: &str = "<dataStore> \n  <name>nyc</name>\n  <connectionParameters>\n    <host>localhost</host>\n    <port>5432</port>\n    <database>nyc</database> \n    <user>bob</user>\n    <passwd>postgres</passwd>\n    <dbtype>postgis</dbtype>\n  </connectionParameters>\n</dataStore> \n";

/// stores.rst:186-214 (POST nycDataStore.xml → 201) and 226-268 (GET nyc.xml).
#[test]
fn stores_rst_postgis_store_create_then_details() {
    let gs = Emulator::start(Config::default());
    curl(
        &gs,
        &with_auth(&[
            "-XPOST",
            "-H",
            "Content-type: text/xml",
            "-d",
            "<workspace><name>acme</name></workspace>",
            "http://localhost:8080/geoserver/rest/workspaces",
        ]),
    );
    let created = curl_with_file(
        &gs,
        ("nycDataStore.xml", NYC),
        &with_auth(&[
            "-XPOST",
            "-T",
            "nycDataStore.xml",
            "-H",
            "Content-type: text/xml",
            "http://localhost:8080/geoserver/rest/workspaces/acme/datastores",
        ]),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let details = curl(
        &gs,
        &with_auth(&[
            "-XGET",
            "http://localhost:8080/geoserver/rest/workspaces/acme/datastores/nyc.xml",
        ]),
    );
    assert_eq!(details.status, 200);
    for expected in [
        "<name>nyc</name>",
        "<type>PostGIS</type>",
        "<enabled>true</enabled>",
        "<entry key=\"port\">5432</entry>",
        "<entry key=\"dbtype\">postgis</entry>",
        "<entry key=\"host\">localhost</entry>",
        "<entry key=\"user\">bob</entry>",
        "<entry key=\"database\">nyc</entry>",
        "<entry key=\"namespace\">http://acme</entry>",
        "<workspace><name>acme</name>",
    ] {
        assert!(details.body.contains(expected), "{expected}: {}", details.body);
    }
    assert!(
        !details.body.contains(">postgres<"),
        "the password never comes back in clear"
    );
    // ERRORS.md §2: a duplicate store is a 500 from the catalog validator.
    let again = curl_with_file(
        &gs,
        ("nycDataStore.xml", NYC),
        &with_auth(&[
            "-XPOST",
            "-T",
            "nycDataStore.xml",
            "-H",
            "Content-type: text/xml",
            "http://localhost:8080/geoserver/rest/workspaces/acme/datastores",
        ]),
    );
    assert_eq!(again.status, 500);
    assert!(again.body.contains("already exists"), "{}", again.body);
    let missing = curl(
        &gs,
        &with_auth(&["http://localhost:8080/geoserver/rest/workspaces/acme/datastores/none.json"]),
    );
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (404, "No such datastore: acme,none")
    );
}

const ANNOTATIONS: &str = "<featureType>\n  <name>annotations</name>\n  <nativeName>annotations</nativeName>\n  <title>Annotations</title>\n  <srs>EPSG:4326</srs>\n  <attributes>\n    <attribute>\n      <name>the_geom</name>\n      <binding>org.locationtech.jts.geom.Point</binding>\n    </attribute>\n  </attributes>\n</featureType>\n";

/// stores.rst:271-279 and 285-320: publishing feature types from a PostGIS store (201).
#[test]
fn stores_rst_publish_featuretypes() {
    let gs = Emulator::start(Config::default());
    curl(
        &gs,
        &with_auth(&[
            "-XPOST",
            "-H",
            "Content-type: text/xml",
            "-d",
            "<workspace><name>acme</name></workspace>",
            "http://localhost:8080/geoserver/rest/workspaces",
        ]),
    );
    curl_with_file(
        &gs,
        ("nycDataStore.xml", NYC),
        &with_auth(&[
            "-XPOST",
            "-T",
            "nycDataStore.xml",
            "-H",
            "Content-type: text/xml",
            "http://localhost:8080/geoserver/rest/workspaces/acme/datastores",
        ]),
    );
    let buildings = curl(
        &gs,
        &with_auth(&[
            "-XPOST",
            "-H",
            "Content-type: text/xml",
            "-d",
            "<featureType><name>buildings</name></featureType>",
            "http://localhost:8080/geoserver/rest/workspaces/acme/datastores/nyc/featuretypes",
        ]),
    );
    assert_eq!(buildings.status, 201);
    let annotations = curl_with_file(
        &gs,
        ("annotations.xml", ANNOTATIONS),
        &with_auth(&[
            "-XPOST",
            "-T",
            "annotations.xml",
            "-H",
            "Content-type: text/xml",
            "http://localhost:8080/geoserver/rest/workspaces/acme/datastores/nyc/featuretypes",
        ]),
    );
    assert_eq!(annotations.status, 201, "{}", annotations.body);
    let details = curl(
        &gs,
        &with_auth(&[
            "http://localhost:8080/geoserver/rest/workspaces/acme/datastores/nyc/featuretypes/buildings.xml",
        ]),
    );
    assert!(
        details
            .body
            .starts_with("<featureType><name>buildings</name><nativeName>buildings</nativeName>"),
        "{}",
        details.body
    );
    // ERRORS.md §2: a duplicate feature type is a 500.
    let again = curl(
        &gs,
        &with_auth(&[
            "-XPOST",
            "-H",
            "Content-type: text/xml",
            "-d",
            "<featureType><name>buildings</name></featureType>",
            "http://localhost:8080/geoserver/rest/workspaces/acme/datastores/nyc/featuretypes",
        ]),
    );
    assert_eq!(again.status, 500);
}

const ROADS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<StyledLayerDescriptor version=\"1.0.0\" xmlns=\"http://www.opengis.net/sld\">\n  <NamedLayer><Name>roads</Name></NamedLayer>\n</StyledLayerDescriptor>\n";

/// styles.rst:104-128 (POST the style info → 201, PUT the SLD → 200),
/// 188-213 (GET .sld, PUT again), 257-283 (DELETE, with purge → 200);
/// duplicate → 403 (ERRORS.md §2).
#[test]
fn styles_rst_create_upload_read_delete() {
    let gs = Emulator::start(Config::default());
    let created = curl(
        &gs,
        &with_auth(&[
            "-XPOST",
            "-H",
            "Content-type: text/xml",
            "-d",
            "<style><name>roads_style</name><filename>roads.sld</filename></style>",
            "http://localhost:8080/geoserver/rest/styles",
        ]),
    );
    assert_eq!(created.status, 201);
    let uploaded = curl_with_file(
        &gs,
        ("roads.sld", ROADS),
        &with_auth(&[
            "-XPUT",
            "-H",
            "Content-type: application/vnd.ogc.sld+xml",
            "-d",
            "@roads.sld",
            "http://localhost:8080/geoserver/rest/styles/roads_style",
        ]),
    );
    assert_eq!(uploaded.status, 200, "{}", uploaded.body);
    let read = curl(
        &gs,
        &with_auth(&[
            "-XGET",
            "http://localhost:8080/geoserver/rest/styles/roads_style.sld",
        ]),
    );
    assert_eq!(read.status, 200);
    assert!(
        read.body.contains("<StyledLayerDescriptor version=\"1.0.0\""),
        "{}",
        read.body
    );
    assert!(
        read.headers.contains("content-type: application/vnd.ogc.sld+xml"),
        "{}",
        read.headers
    );
    let dup = curl(
        &gs,
        &with_auth(&[
            "-XPOST",
            "-H",
            "Content-type: text/xml",
            "-d",
            "<style><name>roads_style</name><filename>roads.sld</filename></style>",
            "http://localhost:8080/geoserver/rest/styles",
        ]),
    );
    assert_eq!(
        (dup.status, dup.body.as_str()),
        (403, "Style roads_style already exists.")
    );
    let list = curl(
        &gs,
        &with_auth(&["-XGET", "http://localhost:8080/geoserver/rest/styles.json"]),
    );
    let doc: serde_json::Value = serde_json::from_str(&list.body).unwrap();
    // Beside GeoServer's own global styles (point, line, polygon...).
    let names: Vec<&str> = doc["styles"]["style"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(names.contains(&"roads_style"), "{names:?}");
    assert!(names.contains(&"polygon"), "{names:?}");
    assert_eq!(
        curl(
            &gs,
            &with_auth(&[
                "-XDELETE",
                "http://localhost:8080/geoserver/rest/styles/roads_style?purge=true"
            ])
        )
        .status,
        200
    );
    assert_eq!(
        curl(
            &gs,
            &with_auth(&["-XPUT", "http://localhost:8080/geoserver/rest/styles"])
        )
        .status,
        405
    );
}

/// security.rst:108-119 (empty rules), 126-150 (POST rules.xml → 201
/// Created), 156-172 (DELETE topp.*.r → 200 OK); api-accesscontrol.rst
/// (409 duplicate POST, 409 PUT of a missing rule, 409 DELETE of a
/// missing rule, 422 invalid rule, whole request aborted).
#[test]
fn security_rst_layer_rules() {
    let gs = Emulator::start(Config::default());
    let empty = curl(
        &gs,
        &with_auth(&[
            "-XGET",
            "http://localhost:8080/geoserver/rest/security/acl/layers.xml",
        ]),
    );
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rules />");
    let rules = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rules>\n   <rule resource=\"topp.*.r\">ROLE_AUTHORIZED</rule>\n   <rule resource=\"topp.mylayer.w\">ROLE_1,ROLE_2</rule>      \n</rules>\n";
    let post = || {
        curl_with_file(
            &gs,
            ("rules.xml", rules),
            &with_auth(&[
                "-XPOST",
                "-H",
                "Content-type: text/xml",
                "-d",
                "@rules.xml",
                "http://localhost:8080/geoserver/rest/security/acl/layers.xml",
            ]),
        )
    };
    assert_eq!(post().status, 201);
    let json = curl(
        &gs,
        &with_auth(&["http://localhost:8080/geoserver/rest/security/acl/layers.json"]),
    );
    let doc: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(
        doc,
        serde_json::json!({"topp.*.r": "ROLE_AUTHORIZED", "topp.mylayer.w": "ROLE_1,ROLE_2"})
    );
    assert_eq!(post().status, 409, "adding an existing rule");
    let partial = curl(
        &gs,
        &with_auth(&[
            "-XPUT",
            "-H",
            "Content-type: application/json",
            "-d",
            "{\"topp.*.r\": \"ROLE_X\", \"topp.other.r\": \"ROLE_X\"}",
            "http://localhost:8080/geoserver/rest/security/acl/layers",
        ]),
    );
    assert_eq!(
        partial.status, 409,
        "modifying a missing rule aborts the whole request"
    );
    assert_eq!(gs.with(|st| st.acl["topp.*.r"].clone()), "ROLE_AUTHORIZED");
    let invalid = curl(
        &gs,
        &with_auth(&[
            "-XPOST",
            "-H",
            "Content-type: application/json",
            "-d",
            "{\"topp.x\": \"ROLE_X\"}",
            "http://localhost:8080/geoserver/rest/security/acl/layers",
        ]),
    );
    assert_eq!(invalid.status, 422);
    let deleted = curl(
        &gs,
        &with_auth(&[
            "-XDELETE",
            "http://localhost:8080/geoserver/rest/security/acl/layers/topp.*.r",
        ]),
    );
    assert_eq!(deleted.status, 200);
    let again = curl(
        &gs,
        &with_auth(&[
            "-XDELETE",
            "http://localhost:8080/geoserver/rest/security/acl/layers/topp.*.r",
        ]),
    );
    assert_eq!(again.status, 409, "deleting a missing rule");
    assert_eq!(
        curl(
            &gs,
            &with_auth(&[
                "-XGET",
                "http://localhost:8080/geoserver/rest/security/acl/layers/topp.mylayer.w"
            ])
        )
        .status,
        405
    );
}

/// Request bodies the descriptions do not allow are refused.
#[test]
fn bodies_outside_the_spec_are_refused() {
    let gs = Emulator::start(Config::default());
    let unknown = curl(
        &gs,
        &with_auth(&[
            "-XPOST",
            "-H",
            "Content-type: application/json",
            "-d",
            "{\"workspace\": {\"name\": \"a\", \"colour\": \"red\"}}",
            "http://localhost:8080/geoserver/rest/workspaces",
        ]),
    );
    assert_eq!(unknown.status, 500, "{}", unknown.body);
    let wrong_type = curl(
        &gs,
        &with_auth(&[
            "-XPOST",
            "-H",
            "Content-type: text/plain",
            "-d",
            "a",
            "http://localhost:8080/geoserver/rest/workspaces",
        ]),
    );
    assert_eq!(wrong_type.status, 415);
    let broken = curl(
        &gs,
        &with_auth(&[
            "-XPOST",
            "-H",
            "Content-type: text/xml",
            "-d",
            "<workspace><name>a",
            "http://localhost:8080/geoserver/rest/workspaces",
        ]),
    );
    assert_eq!(broken.status, 500);
    assert!(gs.with(|st| st.workspaces.is_empty()));
}

/// A workspace `ws`, and (with `store`) the manual's `nyc` PostGIS store in it.
fn workspace_with(gs: &Emulator, ws: &str, store: bool) {
    let body = format!("<workspace><name>{ws}</name></workspace>");
    let workspaces = "http://localhost:8080/geoserver/rest/workspaces";
    curl(
        gs,
        &with_auth(&["-XPOST", "-H", "Content-type: text/xml", "-d", &body, workspaces]),
    );
    if store {
        let stores = format!("{workspaces}/{ws}/datastores");
        let args = [
            "-XPOST",
            "-T",
            "nycDataStore.xml",
            "-H",
            "Content-type: text/xml",
            &stores,
        ];
        curl_with_file(gs, ("nycDataStore.xml", NYC), &with_auth(&args));
    }
}

/// A request with a JSON body.
fn send_json(gs: &Emulator, method: &str, body: &str, url: &str) -> Answer {
    curl(
        gs,
        &with_auth(&[
            "-X",
            method,
            "-H",
            "Content-type: application/json",
            "-d",
            body,
            url,
        ]),
    )
}

/// GET of a JSON document.
fn get_json(gs: &Emulator, url: &str) -> serde_json::Value {
    let answer = curl(gs, &with_auth(&[url]));
    serde_json::from_str(&answer.body).unwrap_or_else(|e| panic!("{e}: {}", answer.body))
}

const POI: &str = "http://localhost:8080/geoserver/rest/workspaces/tiger/datastores/nyc/featuretypes/poi";

/// featuretypes.yaml:340-395 (the FeatureTypeInfo example: title,
/// abstract, keywords, metadataLinks, nativeCRS, srs, projectionPolicy,
/// enabled) posted and read back; layers.yaml:114-140 (the layer names
/// its resource's class and links to it under its store). `dataLinks`
/// and `metadata` of the example are left out: the emulator does not keep
/// them.
#[test]
fn featuretypes_yaml_metadata_round_trips_and_the_layer_links_its_resource() {
    let gs = Emulator::start(Config::default());
    workspace_with(&gs, "tiger", true);
    let poi = serde_json::json!({"featureType": {
        "name": "poi", "nativeName": "poi",
        "title": "Manhattan (NY) points of interest",
        "abstract": "Points of interest in New York, New York (on Manhattan).",
        "keywords": {"string": ["poi", "Manhattan", "DS_poi"]},
        "metadataLinks": {"metadataLink": [
            {"type": "text/plain", "metadataType": "FGDC", "content": "www.google.com"}
        ]},
        "nativeCRS": "GEOGCS[\"WGS 84\", DATUM[\"World Geodetic System 1984\", SPHEROID[\"WGS 84\", 6378137.0, 298.257223563]], PRIMEM[\"Greenwich\", 0.0], UNIT[\"degree\", 0.017453292519943295]]",
        "srs": "EPSG:4326",
        "projectionPolicy": "REPROJECT_TO_DECLARED",
        "enabled": true,
    }});
    let types = POI.trim_end_matches("/poi");
    let created = send_json(&gs, "POST", &poi.to_string(), types);
    assert_eq!(created.status, 201, "{}", created.body);
    let doc = get_json(&gs, &format!("{POI}.json"));
    for field in [
        "title",
        "abstract",
        "keywords",
        "metadataLinks",
        "nativeCRS",
        "srs",
        "projectionPolicy",
        "enabled",
    ] {
        assert_eq!(
            doc["featureType"][field], poi["featureType"][field],
            "{field}: {doc}"
        );
    }
    let layer = get_json(&gs, "http://localhost:8080/geoserver/rest/layers/tiger:poi.json");
    assert_eq!(layer["layer"]["resource"]["@class"], "featureType");
    assert!(layer["layer"]["resource"]["href"]
        .as_str()
        .unwrap()
        .ends_with("/rest/workspaces/tiger/datastores/nyc/featuretypes/poi.json"));
}

/// A feature type PUT changes what it names and keeps the rest; a
/// projection policy outside GeoServer's enum (ProjectionPolicy.java:
/// FORCE_DECLARED, REPROJECT_TO_DECLARED, NONE; "keep native" in the UI is
/// NONE) fails XStream's conversion, a 500.
#[test]
fn a_featuretype_put_merges_and_projection_policies_are_geoservers_enum() {
    let gs = Emulator::start(Config::default());
    workspace_with(&gs, "tiger", true);
    let types = POI.trim_end_matches("/poi");
    let poi = r#"{"featureType":{"name":"poi","keywords":{"string":["poi"]},"projectionPolicy":"NONE"}}"#;
    assert_eq!(send_json(&gs, "POST", poi, types).status, 201);
    let put = send_json(
        &gs,
        "PUT",
        r#"{"featureType":{"title":"POI","enabled":false}}"#,
        POI,
    );
    assert_eq!(put.status, 200, "{}", put.body);
    let doc = get_json(&gs, &format!("{POI}.json"));
    assert_eq!(doc["featureType"]["title"], "POI");
    assert_eq!(doc["featureType"]["enabled"], false);
    assert_eq!(doc["featureType"]["keywords"]["string"][0], "poi");
    assert_eq!(doc["featureType"]["projectionPolicy"], "NONE");
    let bad = send_json(
        &gs,
        "PUT",
        r#"{"featureType":{"projectionPolicy":"KEEP_NATIVE"}}"#,
        POI,
    );
    assert_eq!(bad.status, 500, "{}", bad.body);
}

/// api-coveragestores.rst:123-160 (PUT file.geotiff creates the store and
/// configures its coverage), api-coverages.rst (coverages list 200, PUT
/// of one coverage 200, a PUT renaming it 403, POST 405, PUT on the list
/// 405).
#[test]
fn coverages_follow_the_manual() {
    let gs = Emulator::start(Config::default());
    workspace_with(&gs, "nurc", false);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mnt.tif");
    std::fs::write(&file, b"II*\0rest of a tiff").unwrap();
    let at = format!("@{}", file.display());
    let store = "http://localhost:8080/geoserver/rest/workspaces/nurc/coveragestores/mnt";
    let upload = curl(
        &gs,
        &with_auth(&[
            "-XPUT",
            "-H",
            "Content-type: image/tiff",
            "--data-binary",
            &at,
            &format!("{store}/file.geotiff"),
        ]),
    );
    assert_eq!(upload.status, 201, "{}", upload.body);
    let list = get_json(&gs, &format!("{store}/coverages.json"));
    assert_eq!(list["coverages"]["coverage"][0]["name"], "mnt");
    let coverage = format!("{store}/coverages/mnt");
    let put = send_json(
        &gs,
        "PUT",
        r#"{"coverage":{"title":"MNT","abstract":"Relief"}}"#,
        &coverage,
    );
    assert_eq!(put.status, 200, "{}", put.body);
    let doc = get_json(&gs, &format!("{coverage}.json"));
    assert_eq!(doc["coverage"]["title"], "MNT");
    assert_eq!(doc["coverage"]["abstract"], "Relief");
    assert_eq!(
        send_json(&gs, "PUT", r#"{"coverage":{"name":"other"}}"#, &coverage).status,
        403
    );
    assert_eq!(
        curl(&gs, &with_auth(&["-XPOST", "-d", "x", &coverage])).status,
        405
    );
    let list_url = format!("{store}/coverages");
    assert_eq!(
        curl(&gs, &with_auth(&["-XPUT", "-d", "x", &list_url])).status,
        405
    );
}

/// api-styles.rst:53-54 (an SE 1.1 document under
/// application/vnd.ogc.se+xml) and 72-78 (without `raw` the document is
/// parsed: one that is not well-formed is refused, 400 "Invalid style"
/// as GeoServer's StyleController answers); styles.yaml:527 (a PUT of
/// the style info changes the catalog entry: its language version).
#[test]
fn se_styles_and_the_parse_of_style_documents_follow_the_manual() {
    let gs = Emulator::start(Config::default());
    workspace_with(&gs, "nurc", false);
    let se = "<StyledLayerDescriptor version=\"1.1.0\" xmlns=\"http://www.opengis.net/sld\" xmlns:se=\"http://www.opengis.net/se\"><NamedLayer><se:Name>mnt</se:Name></NamedLayer></StyledLayerDescriptor>";
    let styles = "http://localhost:8080/geoserver/rest/workspaces/nurc/styles";
    let post = format!("{styles}?name=mnt");
    let posted = curl(
        &gs,
        &with_auth(&[
            "-XPOST",
            "-H",
            "Content-type: application/vnd.ogc.se+xml",
            "-d",
            se,
            &post,
        ]),
    );
    assert_eq!(posted.status, 201, "{}", posted.body);
    let info = get_json(&gs, &format!("{styles}/mnt.json"));
    assert_eq!(info["style"]["languageVersion"]["version"], "1.1.0");
    let one = format!("{styles}/mnt");
    let entry = r#"{"style":{"name":"mnt","languageVersion":{"version":"1.0.0"}}}"#;
    assert_eq!(send_json(&gs, "PUT", entry, &one).status, 200);
    let info = get_json(&gs, &format!("{styles}/mnt.json"));
    assert_eq!(info["style"]["languageVersion"]["version"], "1.0.0");
    let broken = curl(
        &gs,
        &with_auth(&[
            "-XPUT",
            "-H",
            "Content-type: application/vnd.ogc.sld+xml",
            "-d",
            "<StyledLayerDescriptor version=\"1.0.0\"><NamedLayer>",
            &one,
        ]),
    );
    assert_eq!(broken.status, 400, "{}", broken.body);
}
