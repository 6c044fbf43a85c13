//! Which style language a dataset's `.sld` speaks, read before anything
//! is sent: GeoServer picks its parser by the upload's media type
//! (api-styles.rst: SLD 1.0 `application/vnd.ogc.sld+xml`, SLD 1.1 / SE
//! 1.1 `application/vnd.ogc.se+xml`), so the version decides the request.
//!
//! The version is the root's `version` attribute (required by both
//! schemas); a root without one is taken as 1.1 when it declares the SE
//! namespace, else 1.0, as QGIS and ArcGIS exports are either. A document
//! that is not well-formed XML, whose root is not a
//! `StyledLayerDescriptor`, or that names another version is malformed:
//! the caller publishes the layer with a default style and warns.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// The SE 1.1 namespace (Symbology Encoding), used by SLD 1.1 documents.
const SE_NAMESPACE: &[u8] = b"http://www.opengis.net/se";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SldVersion {
    /// SLD 1.0.0.
    V1_0,
    /// SLD 1.1.0 with Symbology Encoding 1.1.
    V1_1,
}

impl SldVersion {
    /// The media type GeoServer reads this version under.
    pub fn content_type(self) -> &'static str {
        match self {
            SldVersion::V1_0 => "application/vnd.ogc.sld+xml",
            SldVersion::V1_1 => "application/vnd.ogc.se+xml",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SldVersion::V1_0 => "1.0.0",
            SldVersion::V1_1 => "1.1.0",
        }
    }
}

/// The version of a style document, or why it is not one GeoServer can take.
pub fn sniff(document: &[u8]) -> Result<SldVersion, String> {
    let mut reader = Reader::from_reader(document);
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::new();
    let mut version = None;
    let mut depth = 0usize;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("not well-formed XML at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(e) => {
                if version.is_none() {
                    version = Some(root_version(&e)?);
                }
                depth += 1;
            }
            Event::Empty(e) if version.is_none() => version = Some(root_version(&e)?),
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if depth != 0 {
        return Err("not well-formed XML: the document ends inside an element".into());
    }
    version.ok_or_else(|| "empty document: no StyledLayerDescriptor".into())
}

fn root_version(root: &BytesStart) -> Result<SldVersion, String> {
    let local = root.local_name();
    if local.as_ref() != b"StyledLayerDescriptor" {
        return Err(format!(
            "the root element is <{}>, not <StyledLayerDescriptor>",
            String::from_utf8_lossy(local.as_ref())
        ));
    }
    let mut declared = None;
    let mut uses_se = false;
    for attribute in root.attributes() {
        let attribute = attribute.map_err(|e| format!("not well-formed XML: {e}"))?;
        let value = attribute.value.as_ref();
        if attribute.key.as_ref() == b"version" {
            declared = Some(String::from_utf8_lossy(value).trim().to_string());
        } else if attribute.key.as_ref().starts_with(b"xmlns") && value == SE_NAMESPACE {
            uses_se = true;
        }
    }
    match declared.as_deref() {
        Some("1.0.0") => Ok(SldVersion::V1_0),
        Some("1.1.0") => Ok(SldVersion::V1_1),
        Some(other) => Err(format!(
            "SLD version `{}` is neither 1.0.0 nor 1.1.0",
            other.escape_debug()
        )),
        None if uses_se => Ok(SldVersion::V1_1),
        None => Ok(SldVersion::V1_0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_from_the_root() {
        let v10 = br#"<?xml version="1.0" encoding="ISO-8859-1"?><StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld"><NamedLayer/></StyledLayerDescriptor>"#;
        assert_eq!(sniff(v10), Ok(SldVersion::V1_0));
        let v11 = br#"<sld:StyledLayerDescriptor xmlns:sld="http://www.opengis.net/sld" version="1.1.0"><sld:NamedLayer/></sld:StyledLayerDescriptor>"#;
        assert_eq!(sniff(v11), Ok(SldVersion::V1_1));
        let unversioned_se = br#"<StyledLayerDescriptor xmlns:se="http://www.opengis.net/se"/>"#;
        assert_eq!(sniff(unversioned_se), Ok(SldVersion::V1_1));
        assert_eq!(SldVersion::V1_1.content_type(), "application/vnd.ogc.se+xml");
        assert_eq!(SldVersion::V1_0.content_type(), "application/vnd.ogc.sld+xml");
    }

    #[test]
    fn malformed_documents_say_why() {
        let cases: [(&[u8], &str); 5] = [
            (
                b"<StyledLayerDescriptor version=\"1.0.0\"><NamedLayer>",
                "ends inside",
            ),
            (
                b"<StyledLayerDescriptor version=\"1.0.0\"><a></b></StyledLayerDescriptor>",
                "well-formed",
            ),
            (b"<html><body/></html>", "<html>"),
            (b"<StyledLayerDescriptor version=\"2.0\"/>", "2.0"),
            (b"", "empty"),
        ];
        for (document, expected) in cases {
            let error = sniff(document).unwrap_err();
            assert!(error.contains(expected), "{error}");
        }
    }

    #[test]
    fn the_corpus_styles_are_read() {
        let corpus =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gesync-corpus/valid");
        let read = |p: &str| std::fs::read(corpus.join(p)).unwrap();
        assert_eq!(
            sniff(&read("220_sld_shp_point/220_test_sld_shp_point.sld")),
            Ok(SldVersion::V1_0)
        );
        assert_eq!(
            sniff(&read("230_sld_shp_line/230_test_sld_shp_line.sld")),
            Ok(SldVersion::V1_0)
        );
        assert_eq!(
            sniff(&read("200_metadata_xml_QGIS_gmd/200_metadata_xml_QGIS_gmd.sld")),
            Ok(SldVersion::V1_1)
        );
    }
}
