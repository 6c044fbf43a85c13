//! The GeoNetwork emulator checked against GeoNetwork's own documented
//! request/response pairs (tests/fixtures/geonetwork-specs: the 4.2.x
//! manual and FACTS.md), not against geosync: plain HTTP, the way the
//! manual's curl and Java examples talk to a catalogue.

use reqwest::header::{HeaderMap, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::Value;

use crate::gn_emulator::GeoNetworkEmulator;

const USER: &str = "admin";
const PASSWORD: &str = "admin";

fn http() -> reqwest::Client {
    // reqwest is built without a crypto provider (plain HTTP here, but the
    // builder insists); a second install is refused harmlessly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The XSRF-TOKEN cookie a response sets, with its attributes.
fn xsrf_cookie(headers: &HeaderMap) -> Option<(String, String)> {
    headers.get_all(SET_COOKIE).iter().find_map(|v| {
        let v = v.to_str().ok()?;
        let rest = v.strip_prefix("XSRF-TOKEN=")?;
        let (token, attributes) = rest.split_once(';').unwrap_or((rest, ""));
        Some((token.to_string(), attributes.to_string()))
    })
}

fn corpus_record() -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    std::fs::read_to_string(format!(
        "{root}/tests/fixtures/gesync-corpus/valid/211_us-ascii/211_us-ascii.xml"
    ))
    .unwrap()
}

/// manual-4.2.x/misc.md lines 13-90 ("Example of CSRF call using curl"):
/// a POST without the token is a 403 page that still hands out the
/// XSRF-TOKEN cookie (path /geonetwork, a session cookie); the same POST
/// with the cookie, the X-XSRF-TOKEN header and Basic answers 200 with the
/// user's details.
#[tokio::test]
async fn the_manuals_csrf_transcript() {
    let emu = GeoNetworkEmulator::start(USER, PASSWORD);
    let info = format!("{}/srv/eng/info?type=me", emu.url);
    let first = http().post(&info).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::FORBIDDEN);
    let (token, attributes) = xsrf_cookie(first.headers()).expect("the 403 sets XSRF-TOKEN");
    assert!(attributes.contains("Path=/geonetwork"), "{attributes}");
    assert!(
        !attributes.to_ascii_lowercase().contains("httponly"),
        "scripts read it (§1)"
    );
    assert!(
        !attributes.contains("Max-Age") && !attributes.contains("Expires"),
        "session cookie"
    );
    assert_eq!(token.len(), 36, "a UUID string: {token}");
    let page = first.text().await.unwrap();
    assert!(
        page.contains("Expected CSRF token not found. Has your session expired?"),
        "{page}"
    );

    let second = http()
        .post(&info)
        .header("X-XSRF-TOKEN", &token)
        .header("Cookie", format!("XSRF-TOKEN={token}"))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::OK);
    assert!(
        xsrf_cookie(second.headers()).is_none(),
        "the token is kept, not replaced"
    );
    let body = second.text().await.unwrap();
    assert!(body.contains("<me authenticated=\"true\">"), "{body}");
    assert!(body.contains("<username>admin</username>"), "{body}");
    assert!(body.contains("<profile>Administrator</profile>"), "{body}");

    // misc.md line 9: the token may also come as the _csrf parameter...
    let by_param = http()
        .post(format!("{info}&_csrf={token}"))
        .header("Cookie", format!("XSRF-TOKEN={token}"))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(by_param.status(), StatusCode::OK);
    // ...but it must be the cookie's (double-submit, §1).
    let mismatch = http()
        .post(&info)
        .header("X-XSRF-TOKEN", "not-the-cookie")
        .header("Cookie", format!("XSRF-TOKEN={token}"))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(mismatch.status(), StatusCode::FORBIDDEN);
}

/// the-geonetwork-api.md lines 100-120: GET /srv/api/me sets the cookie;
/// with the token, the cookie and Basic, /me "MUST return user details".
/// Unauthenticated, /me is 204 (FACTS §2, MeApi.java:60-95), which the
/// manual's Java client reads as null (lines 320-330).
#[tokio::test]
async fn the_manuals_me_recipe() {
    let emu = GeoNetworkEmulator::start(USER, PASSWORD);
    let me = format!("{}/srv/api/me", emu.url);
    let anonymous = http()
        .get(&me)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::NO_CONTENT);
    let (token, _) = xsrf_cookie(anonymous.headers()).expect("GET /me sets XSRF-TOKEN");

    let user = http()
        .get(&me)
        .header("Accept", "application/json")
        .header("X-XSRF-TOKEN", &token)
        .header("Cookie", format!("XSRF-TOKEN={token}"))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(user.status(), StatusCode::OK);
    let user: Value = user.json().await.unwrap();
    assert_eq!(user["name"], USER, "the Java example's getName()");
    assert_eq!(user["username"], USER);
}

/// the-geonetwork-api.md lines 348-390 (the Java client's
/// insertAndDeleteRecord), with the XML in the body instead of a URL to
/// download (no network here): an insert with uuidProcessing NOTHING
/// reports one record in metadataInfos, keyed by its internal id; that id
/// reads the record as application/xml; after deleting it (withBackup
/// false), reading it is a 404 (FACTS §4-§6).
#[tokio::test]
async fn the_manuals_insert_and_delete_example() {
    let emu = GeoNetworkEmulator::start(USER, PASSWORD);
    let client = http();
    let token = xsrf_cookie(
        client
            .get(format!("{}/srv/api/me", emu.url))
            .send()
            .await
            .unwrap()
            .headers(),
    )
    .unwrap()
    .0;
    let with_token = |request: reqwest::RequestBuilder| {
        request
            .header("X-XSRF-TOKEN", &token)
            .header("Cookie", format!("XSRF-TOKEN={token}"))
            .basic_auth(USER, Some(PASSWORD))
    };
    let insert = with_token(client.put(format!("{}/srv/api/records", emu.url)))
        .query(&[
            ("metadataType", "METADATA"),
            ("uuidProcessing", "NOTHING"),
            ("publishToAll", "true"),
        ])
        .header("Content-Type", "application/xml")
        .header("Accept", "application/json")
        .body(corpus_record())
        .send()
        .await
        .unwrap();
    assert_eq!(insert.status(), StatusCode::CREATED, "FACTS §4: 201");
    let report: Value = insert.json().await.unwrap();
    assert_eq!(report["type"], "SimpleMetadataProcessingReport");
    let infos = report["metadataInfos"].as_object().unwrap();
    assert_eq!(infos.len(), 1, "one record MUST be inserted");
    let (metadata_id, info) = infos.iter().next().unwrap();
    assert_eq!(info[0]["uuid"], "0249cb98-6f01-4875-aa83-b87233906b10");
    assert_eq!(
        info[0]["message"], "Metadata imported from XML with UUID '0249cb98-6f01-4875-aa83-b87233906b10'",
        "MSG:185"
    );
    assert_eq!(info[0]["draft"], false, "draft = !publishToAll (MIDA:371-377)");

    let read = with_token(client.get(format!("{}/srv/api/records/{metadata_id}", emu.url)))
        .header("Accept", "application/xml")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    assert!(read
        .text()
        .await
        .unwrap()
        .contains("0249cb98-6f01-4875-aa83-b87233906b10"));

    let delete = with_token(client.delete(format!("{}/srv/api/records/{metadata_id}", emu.url)))
        .query(&[("withBackup", "false")])
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::NO_CONTENT, "FACTS §5: 204");
    let gone = with_token(client.get(format!("{}/srv/api/records/{metadata_id}", emu.url)))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let error: Value = gone.json().await.unwrap();
    assert_eq!(error["code"], "resource_not_found", "FACTS §3: ApiError");
}

/// FACTS §1-§3 facts the examples rely on: Basic alone does not pass the
/// XSRF check (the filter runs first); the search API is exempt; an
/// ApiError body only when Accept asks for JSON or XML; NOTHING on an
/// existing uuid is the documented 400; sharing answers 204.
#[tokio::test]
async fn the_documented_status_codes() {
    let emu = GeoNetworkEmulator::start(USER, PASSWORD);
    let client = http();
    let basic_only = client
        .put(format!("{}/srv/api/records", emu.url))
        .basic_auth(USER, Some(PASSWORD))
        .header("Content-Type", "application/xml")
        .body(corpus_record())
        .send()
        .await
        .unwrap();
    assert_eq!(basic_only.status(), StatusCode::FORBIDDEN);
    let search = client
        .post(format!("{}/srv/api/search/records/_search", emu.url))
        .send()
        .await
        .unwrap();
    assert_ne!(
        search.status(),
        StatusCode::FORBIDDEN,
        "exempt from the XSRF check (SEC:369-380)"
    );

    let token = xsrf_cookie(basic_only.headers()).unwrap().0;
    let with_token = |request: reqwest::RequestBuilder| {
        request
            .header("X-XSRF-TOKEN", &token)
            .header("Cookie", format!("XSRF-TOKEN={token}"))
            .basic_auth(USER, Some(PASSWORD))
    };
    let put = |processing: &'static str, accept: &'static str| {
        with_token(client.put(format!("{}/srv/api/records", emu.url)))
            .query(&[("uuidProcessing", processing)])
            .header("Content-Type", "application/xml")
            .header("Accept", accept)
            .body(corpus_record())
            .send()
    };
    assert_eq!(
        put("NOTHING", "application/json").await.unwrap().status(),
        StatusCode::CREATED
    );
    let again = put("NOTHING", "application/json").await.unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    let error: Value = again.json().await.unwrap();
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("A record with UUID '0249cb98"),
        "MSG:195: {error}"
    );
    let quiet = put("NOTHING", "text/html").await.unwrap();
    assert_eq!(quiet.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        quiet.text().await.unwrap(),
        "",
        "no ApiError body for text/html (GEC:275-309)"
    );
    assert_eq!(
        put("OVERWRITE", "application/json").await.unwrap().status(),
        StatusCode::CREATED
    );

    let sharing = with_token(client.put(format!(
        "{}/srv/api/records/0249cb98-6f01-4875-aa83-b87233906b10/sharing",
        emu.url
    )))
    .json(&serde_json::json!({"clear": true, "privileges": [{"group": 1, "operations": {"view": true}}]}))
    .send()
    .await
    .unwrap();
    assert_eq!(sharing.status(), StatusCode::NO_CONTENT, "MSA:289");
    let unknown = with_token(client.delete(format!("{}/srv/api/records/no-such-uuid", emu.url)))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let error: Value = unknown.json().await.unwrap();
    assert_eq!(
        error["message"],
        "Record with UUID 'no-such-uuid' not found in this catalog"
    );
}
