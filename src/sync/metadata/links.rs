//! The online resources a record lists for its layer: the OGC services
//! naming `workspace:layer` (GeoNetwork's map viewer adds the layer from
//! them) and a download link.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::{DataKind, Publication};

/// Protocols as GeoNetwork 4 recognises them.
pub const WMS: &str = "OGC:WMS";
pub const WFS: &str = "OGC:WFS";
pub const WCS: &str = "OGC:WCS";
pub const DOWNLOAD: &str = "WWW:DOWNLOAD-1.0-http--download";

/// Query values: everything but unreserved characters and `:` encoded.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':');

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlineResource {
    pub url: String,
    pub protocol: &'static str,
    pub name: String,
    pub description: &'static str,
    /// A CI_OnLineFunctionCode value.
    pub function: &'static str,
}

/// WMS and WFS (vectors) or WMS and WCS (rasters), then the download.
/// None without an OWS URL (the target publishes no services).
pub fn online_resources(p: &Publication, kind: DataKind) -> Vec<OnlineResource> {
    if p.ows_url.trim().is_empty() {
        return Vec::new();
    }
    let qualified = qualified_name(p);
    let service = |protocol, description| OnlineResource {
        url: p.ows_url.clone(),
        protocol,
        name: qualified.clone(),
        description,
        function: "information",
    };
    let mut links = vec![service(WMS, "Web Map Service (WMS)")];
    let download = match kind {
        DataKind::Vector => {
            links.push(service(WFS, "Web Feature Service (WFS)"));
            query(
                &p.ows_url,
                &[
                    ("service", "WFS"),
                    ("version", "2.0.0"),
                    ("request", "GetFeature"),
                    ("typeNames", &qualified),
                    ("outputFormat", "SHAPE-ZIP"),
                ],
            )
        }
        DataKind::Raster => {
            links.push(service(WCS, "Web Coverage Service (WCS)"));
            // WCS 2.0 coverage ids are `workspace__layer` in GeoServer.
            let coverage = format!("{}__{}", p.workspace, p.layer);
            query(
                &p.ows_url,
                &[
                    ("service", "WCS"),
                    ("version", "2.0.1"),
                    ("request", "GetCoverage"),
                    ("coverageId", &coverage),
                    ("format", "image/tiff"),
                ],
            )
        }
    };
    let description = match kind {
        DataKind::Vector => "Download (zipped shapefile)",
        DataKind::Raster => "Download (GeoTIFF)",
    };
    links.push(OnlineResource {
        url: p.download_url.clone().unwrap_or(download),
        protocol: DOWNLOAD,
        name: qualified,
        description,
        function: "download",
    });
    links
}

pub fn qualified_name(p: &Publication) -> String {
    format!("{}:{}", p.workspace, p.layer)
}

fn query(base: &str, pairs: &[(&str, &str)]) -> String {
    let joined: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY)))
        .collect();
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}{}", joined.join("&"))
}

/// Whether an online resource of a record is one geosync wrote on an
/// earlier run: one of our protocols naming this layer, or a link into our
/// OWS endpoint or to our download URL (whatever its name then).
pub fn is_ours(p: &Publication, url: &str, protocol: &str, name: &str) -> bool {
    let ours_protocol = [WMS, WFS, WCS, DOWNLOAD].contains(&protocol);
    let same_layer = name == qualified_name(p);
    let base = p.ows_url.split('?').next().unwrap_or_default();
    let into_ows = !base.is_empty() && url.starts_with(base);
    let download = p.download_url.as_deref().is_some_and(|d| d == url);
    (ours_protocol && (same_layer || into_ows)) || download
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publication() -> Publication {
        Publication {
            workspace: "geosync-ouvert".into(),
            layer: "routes & chemins".into(),
            ows_url: "https://sdi.example.org/geoserver/ows".into(),
            download_url: None,
        }
    }

    #[test]
    fn vector_links_name_the_layer_and_encode_it_in_urls() {
        let links = online_resources(&publication(), DataKind::Vector);
        let protocols: Vec<_> = links.iter().map(|l| l.protocol).collect();
        assert_eq!(protocols, [WMS, WFS, DOWNLOAD]);
        assert!(links.iter().all(|l| l.name == "geosync-ouvert:routes & chemins"));
        assert_eq!(
            links[2].url,
            "https://sdi.example.org/geoserver/ows?service=WFS&version=2.0.0&request=GetFeature&typeNames=geosync-ouvert:routes%20%26%20chemins&outputFormat=SHAPE-ZIP"
        );
    }

    #[test]
    fn raster_links_use_wcs_and_a_given_download_url_wins() {
        let mut p = publication();
        p.download_url = Some("https://files.example.org/x.tif".into());
        let links = online_resources(&p, DataKind::Raster);
        assert_eq!(links[1].protocol, WCS);
        assert_eq!(links[2].url, "https://files.example.org/x.tif");
        assert!(online_resources(&Publication::default(), DataKind::Raster).is_empty());
    }

    #[test]
    fn ours_are_told_from_the_authors() {
        let p = publication();
        assert!(is_ours(
            &p,
            "https://old-host/ows",
            WMS,
            "geosync-ouvert:routes & chemins"
        ));
        assert!(is_ours(
            &p,
            "https://sdi.example.org/geoserver/ows?x",
            WFS,
            "other:name"
        ));
        assert!(!is_ours(
            &p,
            "https://sdi.example.org/geoserver/ows",
            "WWW:LINK",
            "doc"
        ));
        assert!(!is_ours(&p, "https://example.org/report.pdf", DOWNLOAD, "report"));
    }
}
