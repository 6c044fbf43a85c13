//! Records put and removed through the catalogue: GeoNetwork's emulator
//! (tests/emulators/geonetwork, GeoNetwork's documented behaviour) over
//! REST, and the real pycsw (tests/peers/pycsw.sh) over CSW-T. What is
//! checked is what a visitor of the catalogue sees.

use std::time::Duration;

use super::*;
use crate::manifest::secret::Secret;
use crate::sync::metadata::tests::{modified, publication};
use crate::sync::metadata::{build_record, RecordInput, Sidecar};
use crate::systems::geonetwork::client::GROUP_ALL;
use crate::systems::geonetwork::manifest::GnConnection;
use crate::systems::geonetwork::tests::emulator::GeoNetworkEmulator;

const USER: &str = "admin";
/// A canary: if it shows in an error, a secret leaked.
const PASSWORD: &str = "canary-Cat-4b1d7e20";
/// A group every fresh GeoNetwork has (id 2).
const SAMPLE: &str = "sample";

/// A target name no other test or run uses: its records' uuids are unique.
fn unique_target(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("h1-{tag}-{}-{nanos}", std::process::id())
}

/// The record of the corpus's ArcGIS dataset 020 for `target`, with an
/// abstract marker to tell versions apart.
fn record(target: &str, marker: &str) -> Record {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/gesync-corpus/valid/020_dbf_missing");
    let xml = std::fs::read_to_string(dir.join("020_test_nyc_dbfmissing.shp.xml"))
        .unwrap()
        .replace(
            "<resTitle Sync=\"FALSE\">020 test shapefile dbfmissing",
            &format!("<resTitle>Îlots &lt;&amp;&gt; {marker}"),
        );
    let input = RecordInput {
        target: target.into(),
        source_path: "valid/020_dbf_missing/020_test_nyc_dbfmissing.shp".into(),
        sidecars: vec![Sidecar {
            file_name: "020_test_nyc_dbfmissing.shp.xml".into(),
            bytes: xml.into_bytes(),
        }],
        publication: publication("020_test_nyc_dbfmissing"),
        modified: modified(),
        ..RecordInput::default()
    };
    let record = build_record(&input).unwrap();
    assert!(record.title.ends_with(marker), "{}", record.title);
    record
}

fn gn(emu: &GeoNetworkEmulator) -> Catalogue {
    let mut connection = GnConnection::new(&emu.url);
    connection.user = Some(USER.into());
    connection.password = Some(Secret::from_env_file(PASSWORD.into()));
    connection.retries = 0;
    connection.timeout = Duration::from_secs(10);
    Catalogue::GeoNetwork(GnClient::new(&connection).unwrap())
}

fn public() -> Sharing {
    Sharing {
        visibility: Visibility::Public,
        groups: Vec::new(),
    }
}

fn restricted(groups: &[&str]) -> Sharing {
    Sharing {
        visibility: Visibility::Restricted,
        groups: groups.iter().map(|g| g.to_string()).collect(),
    }
}

/// What an anonymous visitor gets for the record: (status, body).
async fn anonymous_view(emu: &GeoNetworkEmulator, uuid: &str) -> (u16, String) {
    crate::systems::geonetwork::install_tls_provider();
    let response = reqwest::get(format!("{}/srv/api/records/{uuid}/formatters/xml", emu.url))
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The groups holding each operation, from the emulator's state.
fn viewers(emu: &GeoNetworkEmulator, uuid: &str) -> Vec<i64> {
    emu.with(|s| {
        s.records[uuid]
            .privileges
            .iter()
            .filter(|(_, ops)| ops.contains("view"))
            .map(|(group, _)| *group)
            .collect()
    })
}

#[tokio::test]
async fn geonetwork_public_record_is_seen_by_all_and_republishing_replaces_it() {
    let emu = GeoNetworkEmulator::start(USER, PASSWORD);
    let catalogue = gn(&emu);
    let target = unique_target("gn-pub");
    let first = record(&target, "v1");
    let put = catalogue.put(&first, &public()).await.unwrap();
    assert_eq!(put.uuid, first.uuid);
    let (status, body) = anonymous_view(&emu, &first.uuid).await;
    assert_eq!(status, 200, "anyone sees a public record");
    assert!(body.contains("Îlots &lt;&amp;&gt; v1"), "{body}");
    assert_eq!(viewers(&emu, &first.uuid), [GROUP_ALL]);
    let ops = emu.with(|s| s.records[&first.uuid].privileges[&GROUP_ALL].clone());
    assert!(
        ["view", "download", "dynamic"].iter().all(|op| ops.contains(*op)),
        "{ops:?}"
    );

    // The same dataset, changed: the same uuid, replaced in place.
    let second = record(&target, "v2");
    assert_eq!(second.uuid, first.uuid);
    let again = catalogue.put(&second, &public()).await.unwrap();
    assert_eq!(again.internal_id, put.internal_id, "the same GeoNetwork record");
    assert_eq!(emu.with(|s| s.records.len()), 1);
    let (_, body) = anonymous_view(&emu, &first.uuid).await;
    assert!(
        body.contains("Îlots &lt;&amp;&gt; v2") && !body.contains("v1"),
        "{body}"
    );

    assert_eq!(
        catalogue.remove(&first.dataset, &first.uuid).await.unwrap(),
        Removed::Removed
    );
    assert_eq!(anonymous_view(&emu, &first.uuid).await.0, 404);
    assert_eq!(
        catalogue.remove(&first.dataset, &first.uuid).await.unwrap(),
        Removed::AlreadyGone
    );
    assert!(catalogue
        .get(&first.dataset, &first.uuid)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn geonetwork_restricted_record_is_never_shared_with_all() {
    let emu = GeoNetworkEmulator::start(USER, PASSWORD);
    let catalogue = gn(&emu);
    let record = record(&unique_target("gn-restricted"), "r1");
    catalogue.put(&record, &restricted(&[SAMPLE])).await.unwrap();
    let sample = emu.group_named(SAMPLE).unwrap()["id"].as_i64().unwrap();
    assert_eq!(viewers(&emu, &record.uuid), [sample]);
    assert_eq!(
        anonymous_view(&emu, &record.uuid).await.0,
        403,
        "an anonymous visitor does not see it"
    );
    assert_eq!(
        emu.with(|s| s.records[&record.uuid].owner_group),
        Some(sample),
        "the group owns it"
    );

    // Public with a group: "all" and the group.
    let public_and_sample = Sharing {
        visibility: Visibility::Public,
        groups: vec![SAMPLE.into()],
    };
    catalogue.put(&record, &public_and_sample).await.unwrap();
    assert_eq!(viewers(&emu, &record.uuid), [GROUP_ALL, sample]);
    assert_eq!(anonymous_view(&emu, &record.uuid).await.0, 200);

    // Restricted again: "all" loses it before the new content is stored.
    let before = emu.requests().len();
    catalogue.put(&record, &restricted(&[])).await.unwrap();
    let calls: Vec<String> = emu.requests()[before..]
        .iter()
        .filter(|r| !r.ends_with("/groups") && !r.ends_with("/me"))
        .cloned()
        .collect();
    let sharing = format!("/geonetwork/srv/api/records/{}/sharing", record.uuid);
    assert_eq!(
        calls,
        [
            format!("GET {sharing}"),
            format!("PUT {sharing}"),
            "PUT /geonetwork/srv/api/records".to_string(),
            format!("PUT {sharing}"),
        ]
    );
    assert_eq!(viewers(&emu, &record.uuid), Vec::<i64>::new());
    assert_eq!(anonymous_view(&emu, &record.uuid).await.0, 403);
    assert_eq!(emu.with(|s| s.records.len()), 1);
}

#[tokio::test]
async fn geonetwork_unknown_group_or_invalid_record_sends_nothing() {
    let emu = GeoNetworkEmulator::start(USER, PASSWORD);
    let catalogue = gn(&emu);
    let record = record(&unique_target("gn-unknown"), "u1");
    let error = catalogue
        .put(&record, &restricted(&["nobody"]))
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, CatalogueError::UnknownGroup { .. }), "{text}");
    assert!(text.contains("nobody") && text.contains(&record.uuid), "{text}");
    assert!(emu.with(|s| s.records.is_empty()));

    let before = emu.requests().len();
    let invalid = crate::sync::metadata::tests::invalid_record();
    let error = catalogue.put(&invalid, &public()).await.unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, CatalogueError::Metadata(MetadataError::Invalid { .. })),
        "{text}"
    );
    assert!(text.starts_with("cassé/b.shp: the ISO 19139 record"), "{text}");
    assert_eq!(
        emu.requests().len(),
        before,
        "not one request for an invalid record"
    );
    assert!(!text.contains(PASSWORD));
}

/// CSW-T against the real pycsw.
mod pycsw {
    use super::*;

    fn csw_url() -> String {
        std::env::var("GEOSYNC_TEST_CSW_URL").unwrap_or_else(|_| {
            panic!("GEOSYNC_TEST_CSW_URL is not set: run the tests with tests/run (tests/peers/pycsw.sh)")
        })
    }

    fn csw(public: bool) -> Catalogue {
        let url = csw_url();
        Catalogue::Csw {
            client: CswClient::new(&url, None, None, Duration::from_secs(30)).unwrap(),
            url,
            public,
        }
    }

    /// How many records pycsw holds under that identifier (GetRecords hits).
    async fn count(uuid: &str) -> u64 {
        crate::systems::geonetwork::install_tls_provider();
        let constraint = format!("dc:identifier = '{uuid}'");
        let response = reqwest::Client::new()
            .get(csw_url())
            .query(&[
                ("service", "CSW"),
                ("version", "2.0.2"),
                ("request", "GetRecords"),
                ("typeNames", "csw:Record"),
                ("resultType", "hits"),
                ("elementSetName", "brief"),
                ("constraintLanguage", "CQL_TEXT"),
                ("constraint_language_version", "1.1.0"),
                ("constraint", constraint.as_str()),
            ])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let at = response
            .find("numberOfRecordsMatched=\"")
            .unwrap_or_else(|| panic!("not a GetRecords answer: {response}"));
        let rest = &response[at + "numberOfRecordsMatched=\"".len()..];
        rest[..rest.find('"').unwrap()].parse().unwrap()
    }

    /// The title of the record pycsw serves for that uuid.
    async fn served_title(catalogue: &Catalogue, uuid: &str) -> Option<String> {
        let xml = catalogue.get("test", uuid).await.unwrap()?;
        crate::sync::metadata::tests::served_title(&xml)
    }

    #[tokio::test]
    async fn insert_replace_remove_and_remove_again() {
        let catalogue = csw(true);
        let target = unique_target("csw");
        let first = record(&target, "c1");
        catalogue.put(&first, &public()).await.unwrap();
        assert_eq!(
            served_title(&catalogue, &first.uuid).await.as_deref(),
            Some(first.title.as_str())
        );
        assert_eq!(count(&first.uuid).await, 1);

        let second = record(&target, "c2");
        assert_eq!(second.uuid, first.uuid);
        catalogue.put(&second, &public()).await.unwrap();
        assert_eq!(
            served_title(&catalogue, &first.uuid).await.as_deref(),
            Some(second.title.as_str())
        );
        assert_eq!(count(&first.uuid).await, 1, "replaced, not duplicated");

        assert_eq!(
            catalogue.remove(&first.dataset, &first.uuid).await.unwrap(),
            Removed::Removed
        );
        assert_eq!(served_title(&catalogue, &first.uuid).await, None);
        assert_eq!(count(&first.uuid).await, 0);
        assert_eq!(
            catalogue.remove(&first.dataset, &first.uuid).await.unwrap(),
            Removed::AlreadyGone
        );
    }

    #[tokio::test]
    async fn restricted_on_a_public_csw_and_invalid_records_are_not_sent() {
        let record = record(&unique_target("csw-restricted"), "c3");
        let error = csw(true).put(&record, &restricted(&[])).await.unwrap_err();
        assert!(
            matches!(error, CatalogueError::RestrictedOnPublicCsw { .. }),
            "{error}"
        );
        assert_eq!(count(&record.uuid).await, 0);

        // A catalogue declared private takes it.
        let private = csw(false);
        private.put(&record, &restricted(&[])).await.unwrap();
        assert_eq!(count(&record.uuid).await, 1);
        private.remove(&record.dataset, &record.uuid).await.unwrap();

        let invalid = crate::sync::metadata::tests::invalid_record();
        let unique = invalid.xml.replace(&invalid.uuid, &record.uuid);
        let invalid = Record {
            xml: unique,
            uuid: record.uuid.clone(),
            ..invalid
        };
        let error = private.put(&invalid, &public()).await.unwrap_err();
        assert!(
            matches!(error, CatalogueError::Metadata(MetadataError::Invalid { .. })),
            "{error}"
        );
        assert_eq!(count(&record.uuid).await, 0, "nothing sent");
    }
}
