//! The client calls the sync uses, against the GeoNetwork emulator
//! (tests/emulators/geonetwork, GeoNetwork's documented behaviour).

#[path = "../../../tests/emulators/geonetwork/mod.rs"]
pub(crate) mod emulator;

use std::time::Duration;

use emulator::GeoNetworkEmulator;
use reqwest::Method;

use super::client::{Deleted, GnClient, Operations, Privilege, UuidProcessing, GROUP_ALL};
use super::manifest::GnConnection;
use super::GeoNetworkError;
use crate::manifest::secret::Secret;

const USER: &str = "admin";
/// A canary: if it shows in an error, a secret leaked.
const PASSWORD: &str = "canary-Gn-7f3a9e1c";

fn corpus(name: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    std::fs::read_to_string(format!("{root}/tests/fixtures/gesync-corpus/valid/{name}")).unwrap()
}

fn open_record() -> (String, String) {
    (
        corpus("211_us-ascii/211_us-ascii.xml"),
        "0249cb98-6f01-4875-aa83-b87233906b10".into(),
    )
}

fn restricted_record() -> (String, String) {
    (
        corpus("200_metadata_xml_QGIS_gmd/200_metadata_xml_QGIS_gmd.xml"),
        "be81d9fe-8abf-40f7-8de1-139d067ec215".into(),
    )
}

/// A client that is not geosync's, for what a plain HTTP user sees.
fn plain_http() -> reqwest::Client {
    super::install_tls_provider();
    reqwest::Client::new()
}

fn client(emu: &GeoNetworkEmulator, password: &str, retries: u32) -> GnClient {
    let mut connection = GnConnection::new(&emu.url);
    connection.user = Some(USER.into());
    connection.password = Some(Secret::from_env_file(password.into()));
    connection.retries = retries;
    connection.timeout = Duration::from_secs(10);
    GnClient::new(&connection).unwrap()
}

#[tokio::test]
async fn a_write_without_the_xsrf_pair_is_refused_and_the_client_sends_it() {
    let emu = GeoNetworkEmulator::start(USER, PASSWORD);
    let (xml, uuid) = open_record();
    // Basic alone is not enough (FACTS §2: CSRF runs before Basic).
    let raw = plain_http()
        .put(format!("{}/srv/api/records", emu.url))
        .basic_auth(USER, Some(PASSWORD))
        .header("Content-Type", "application/xml")
        .body(xml.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 403);
    assert!(
        raw.headers().get("set-cookie").is_some(),
        "a 403 hands out a token"
    );
    assert!(emu.with(|s| s.records.is_empty()));

    let gn = client(&emu, PASSWORD, 0);
    let saved = gn
        .put_record(&xml, UuidProcessing::Overwrite, None)
        .await
        .unwrap();
    assert_eq!(saved.uuid, uuid);
    let log = emu.requests();
    assert_eq!(
        log[1..],
        ["GET /geonetwork/srv/api/me", "PUT /geonetwork/srv/api/records"]
    );
    // One token per client: the next write does not ask again.
    gn.delete_record(&uuid).await.unwrap();
    assert_eq!(emu.requests().iter().filter(|r| r.ends_with("/me")).count(), 1);
}

#[tokio::test]
async fn insert_then_replace_the_same_uuid_keeps_one_record() {
    let emu = GeoNetworkEmulator::start(USER, PASSWORD);
    let gn = client(&emu, PASSWORD, 0);
    let (xml, uuid) = open_record();
    let first = gn
        .put_record(&xml, UuidProcessing::Overwrite, None)
        .await
        .unwrap();
    assert_eq!(gn.get_record(&uuid).await.unwrap().as_deref(), Some(xml.as_str()));

    let changed = xml.replacen("<gmd:fileIdentifier>", "<!-- v2 --><gmd:fileIdentifier>", 1);
    let second = gn
        .put_record(&changed, UuidProcessing::Overwrite, None)
        .await
        .unwrap();
    assert_eq!(first, second, "same internal id and uuid: replaced in place");
    assert_eq!(emu.with(|s| s.records.len()), 1);
    assert_eq!(
        gn.get_record(&uuid).await.unwrap().as_deref(),
        Some(changed.as_str())
    );

    // uuidProcessing NOTHING on an existing uuid is GeoNetwork's 400.
    let error = gn
        .put_record(&xml, UuidProcessing::Nothing, None)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, GeoNetworkError::Http { status: 400, .. }),
        "{text}"
    );
    assert!(text.contains("already exist"), "{text}");
    assert!(text.contains("PUT http://127.0.0.1:"), "{text}");
}

#[tokio::test]
async fn sharing_open_and_restricted_records() {
    let emu = GeoNetworkEmulator::start(USER, PASSWORD);
    let gn = client(&emu, PASSWORD, 0);
    let (open, open_uuid) = open_record();
    let (restricted, restricted_uuid) = restricted_record();
    gn.put_record(&open, UuidProcessing::Overwrite, None)
        .await
        .unwrap();
    gn.put_record(&restricted, UuidProcessing::Overwrite, None)
        .await
        .unwrap();
    let sample = gn
        .group_id("sample")
        .await
        .unwrap()
        .expect("GeoNetwork's sample group");
    assert_eq!(gn.group_id("no such group").await.unwrap(), None);

    let public = [Privilege {
        group: GROUP_ALL,
        operations: Operations::PUBLISHED,
    }];
    gn.set_sharing(&open_uuid, &public).await.unwrap();
    let members = [Privilege {
        group: sample,
        operations: Operations {
            view: true,
            download: true,
            dynamic: false,
        },
    }];
    gn.set_sharing(&restricted_uuid, &members).await.unwrap();
    assert_eq!(gn.get_sharing(&open_uuid).await.unwrap().unwrap(), public);
    assert_eq!(gn.get_sharing(&restricted_uuid).await.unwrap().unwrap(), members);

    // Anyone reads the open record; the restricted one needs an account.
    let anonymous = plain_http();
    let read = |uuid: &str| {
        anonymous
            .get(format!("{}/srv/api/records/{uuid}/formatters/xml", emu.url))
            .send()
    };
    assert_eq!(read(&open_uuid).await.unwrap().status(), 200);
    assert_eq!(read(&restricted_uuid).await.unwrap().status(), 403);

    // clear = true: the new sharing replaces the old one entirely.
    gn.set_sharing(&open_uuid, &members).await.unwrap();
    assert_eq!(gn.get_sharing(&open_uuid).await.unwrap().unwrap(), members);
    assert_eq!(read(&open_uuid).await.unwrap().status(), 403);

    // A group that does not exist is refused, and nothing changes.
    let unknown = [Privilege {
        group: 987_654,
        operations: Operations::PUBLISHED,
    }];
    let error = gn.set_sharing(&open_uuid, &unknown).await.unwrap_err();
    assert!(
        matches!(error, GeoNetworkError::Http { status: 400, .. }),
        "{error}"
    );
    assert_eq!(gn.get_sharing(&open_uuid).await.unwrap().unwrap(), members);
}

#[tokio::test]
async fn delete_twice_and_read_back_nothing() {
    let emu = GeoNetworkEmulator::start(USER, PASSWORD);
    let gn = client(&emu, PASSWORD, 0);
    let (xml, uuid) = open_record();
    gn.put_record(&xml, UuidProcessing::Overwrite, None)
        .await
        .unwrap();
    assert_eq!(gn.delete_record(&uuid).await.unwrap(), Deleted::Deleted);
    assert_eq!(gn.delete_record(&uuid).await.unwrap(), Deleted::AlreadyGone);
    assert_eq!(gn.get_record(&uuid).await.unwrap(), None);
    assert_eq!(gn.get_sharing(&uuid).await.unwrap(), None);
    // A uuid that needs encoding reaches GeoNetwork as one path segment.
    assert_eq!(gn.delete_record("a/b c?").await.unwrap(), Deleted::AlreadyGone);
    assert!(emu
        .requests()
        .iter()
        .any(|r| r == "DELETE /geonetwork/srv/api/records/a%2Fb%20c%3F"));
}

#[tokio::test]
async fn a_5xx_is_retried_then_reported_with_the_request_and_no_secret() {
    let emu = GeoNetworkEmulator::start(USER, PASSWORD);
    let (xml, uuid) = open_record();
    emu.fail_next(Method::PUT, "/records", 503, 2);
    let gn = client(&emu, PASSWORD, 3);
    gn.put_record(&xml, UuidProcessing::Overwrite, None)
        .await
        .unwrap();
    assert_eq!(emu.requests().iter().filter(|r| r.starts_with("PUT")).count(), 3);

    emu.fail_next(Method::DELETE, &uuid, 503, 5);
    let gn = client(&emu, PASSWORD, 1);
    let error = gn.delete_record(&uuid).await.unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, GeoNetworkError::Http { status: 503, .. }),
        "{text}"
    );
    assert!(text.starts_with("DELETE http://127.0.0.1:"), "{text}");
    assert!(text.contains(&uuid), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");
    // The record is still there: a failed delete is not a success.
    assert!(emu.with(|s| s.records.contains_key(&uuid)));
}

#[tokio::test]
async fn wrong_credentials_and_no_server_are_errors_without_the_secret() {
    let emu = GeoNetworkEmulator::start(USER, PASSWORD);
    let gn = client(&emu, "canary-wrong-5b2d", 0);
    let (xml, _) = open_record();
    let error = gn
        .put_record(&xml, UuidProcessing::Overwrite, None)
        .await
        .unwrap_err();
    let text = format!("{error} {error:?}");
    assert!(
        matches!(error, GeoNetworkError::Http { status: 401, .. }),
        "{text}"
    );
    assert!(!text.contains("canary-wrong-5b2d"), "{text}");

    let url = emu.url.clone();
    drop(emu);
    let mut connection = GnConnection::new(&url);
    connection.user = Some(USER.into());
    connection.password = Some(Secret::from_env_file(PASSWORD.into()));
    connection.retries = 1;
    let gn = GnClient::new(&connection).unwrap();
    let error = gn.get_record("x").await.unwrap_err();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(&format!(" / {cause}"));
        source = cause.source();
    }
    assert!(matches!(error, GeoNetworkError::Transport { .. }), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");
}

/// CSW-T against the real pycsw 2.6.2 (tests/peers/pycsw.sh), and the
/// test records checked against the ISO 19139 schemas pycsw ships.
mod pycsw {
    use super::*;
    use crate::systems::geonetwork::csw::{CswClient, TransactionSummary};

    fn peer_env(name: &str) -> String {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run the tests with tests/run (tests/peers/pycsw.sh)")
        })
    }

    fn csw() -> CswClient {
        CswClient::new(
            &peer_env("GEOSYNC_TEST_CSW_URL"),
            None,
            None,
            Duration::from_secs(30),
        )
        .unwrap()
    }

    /// A corpus record under a fresh identifier, so tests and reruns
    /// never meet in the shared catalogue.
    fn unique_record(tag: &str) -> (String, String) {
        let (xml, uuid) = open_record();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let id = format!("geosync-{tag}-{}-{nanos}", std::process::id());
        (xml.replace(&uuid, &id), id)
    }

    #[tokio::test]
    async fn insert_update_delete_show_in_get_record_by_id() {
        let csw = csw();
        let (xml, id) = unique_record("iud");
        let inserted = csw.insert(&xml).await.unwrap();
        assert_eq!(
            inserted,
            TransactionSummary {
                inserted: 1,
                updated: 0,
                deleted: 0,
                inserted_ids: vec![id.clone()]
            }
        );
        let read = csw
            .get_record_by_id(&id)
            .await
            .unwrap()
            .expect("the inserted record");
        assert!(read.contains(&id) && read.contains("MD_Metadata"), "{read}");

        // Update replaces the whole record: here, a new abstract.
        let marker = "geosync-updated-abstract";
        let changed = insert_abstract_marker(&xml, marker);
        let updated = csw.update(&changed).await.unwrap();
        assert_eq!((updated.inserted, updated.updated, updated.deleted), (0, 1, 0));
        let read = csw
            .get_record_by_id(&id)
            .await
            .unwrap()
            .expect("the updated record");
        assert!(read.contains(marker), "the update shows: {read}");

        let deleted = csw.delete(&id).await.unwrap();
        assert_eq!((deleted.inserted, deleted.updated, deleted.deleted), (0, 0, 1));
        assert_eq!(csw.get_record_by_id(&id).await.unwrap(), None);
        // Deleting what is gone deletes nothing, and says so.
        assert_eq!(csw.delete(&id).await.unwrap().deleted, 0);
    }

    /// Puts `marker` at the start of the record's first abstract text.
    fn insert_abstract_marker(xml: &str, marker: &str) -> String {
        let start = xml.find("<gmd:abstract>").expect("the record has an abstract");
        let text =
            start + xml[start..].find("<gco:CharacterString>").unwrap() + "<gco:CharacterString>".len();
        format!("{}{marker} {}", &xml[..text], &xml[text..])
    }

    #[tokio::test]
    async fn a_duplicate_insert_is_the_exception_pycsw_reports_with_http_200() {
        let csw = csw();
        let (xml, id) = unique_record("dup");
        csw.insert(&xml).await.unwrap();
        let error = csw.insert(&xml).await.unwrap_err();
        let text = error.to_string();
        match &error {
            GeoNetworkError::CswException {
                code,
                locator,
                text: message,
                ..
            } => {
                assert_eq!(code, "NoApplicableCode");
                assert_eq!(locator.as_deref(), Some("insert"));
                assert!(message.contains("UNIQUE constraint failed"), "{message}");
            }
            other => panic!("expected the catalogue's exception, got {other:?}"),
        }
        assert!(text.len() < 600, "a short message: {text}");
        assert_eq!(csw.delete(&id).await.unwrap().deleted, 1);
    }

    /// gmd.xsd alone does not know gmx:Anchor, which ISO 19139 records use
    /// in place of gco:CharacterString: a wrapper imports gmd, gmx and srv
    /// from pycsw's copy of the schemas.
    fn iso_schema(dir: &std::path::Path) -> std::path::PathBuf {
        let gmd = std::path::PathBuf::from(peer_env("GEOSYNC_TEST_ISO_XSD"));
        let root = gmd.parent().and_then(|p| p.parent()).unwrap();
        let imports: String = [
            ("gmd", "gmd/gmd.xsd"),
            ("gmx", "gmx/gmx.xsd"),
            ("srv", "srv/srv.xsd"),
        ]
        .iter()
        .map(|(ns, file)| {
            format!(
                "<xs:import namespace=\"http://www.isotc211.org/2005/{ns}\" schemaLocation=\"{}\"/>\n",
                root.join(file).display()
            )
        })
        .collect();
        let wrapper = dir.join("iso19139.xsd");
        std::fs::write(
            &wrapper,
            format!("<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" targetNamespace=\"urn:geosync:iso19139\">\n{imports}</xs:schema>\n"),
        )
        .unwrap();
        wrapper
    }

    fn xmllint(schema: &std::path::Path, record: &std::path::Path) -> (bool, String) {
        let output = std::process::Command::new("xmllint")
            .args(["--noout", "--nonet", "--schema"])
            .arg(schema)
            .arg(record)
            .output()
            .expect("xmllint (libxml2-utils, installed by tests/peers/pycsw.sh)");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    #[test]
    fn the_test_records_are_valid_iso_19139_and_a_broken_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let schema = iso_schema(dir.path());
        for (xml, _) in [open_record(), restricted_record()] {
            let path = dir.path().join("record.xml");
            std::fs::write(&path, &xml).unwrap();
            let (valid, report) = xmllint(&schema, &path);
            assert!(valid, "{report}");
        }
        // Without its mandatory gmd:contact, a record is not valid.
        let (xml, _) = open_record();
        let start = xml.find("<gmd:contact>").unwrap();
        let end = xml.find("</gmd:contact>").unwrap() + "</gmd:contact>".len();
        let broken = format!("{}{}", &xml[..start], &xml[end..]);
        let path = dir.path().join("broken.xml");
        std::fs::write(&path, broken).unwrap();
        let (valid, report) = xmllint(&schema, &path);
        assert!(!valid && report.contains("contact"), "{report}");
    }
}
