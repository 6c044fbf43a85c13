//! The stable uuid of a dataset's record: a UUID version 5 (RFC 4122
//! §4.3, SHA-1 of a namespace and a name) of the target, the share path and
//! the layer. Kept in the ledger too, but derivable without it: a platform
//! rebuilt from nothing republishes each dataset under the same uuid, so
//! links to its record keep working.
//!
//! A layer of a GeoPackage whose ISO sidecar names a fileIdentifier, when
//! the file holds several layers, is [`layer_uuid`]: a UUID v5 of that
//! identifier and the layer name, in a namespace of its own (no triple of
//! [`stable_uuid`] can meet it). It follows the author's identifier, not
//! the file's place: the same sidecar copied with the same GeoPackage
//! elsewhere gives the same uuids, and the claims check rejects the copy.

use sha1::{Digest, Sha1};

/// geosync's namespace: the UUID v5 of `urn:geosync:metadata` in the URL
/// namespace (9517859e-6729-5a50-858f-0f851404cfc5).
const NAMESPACE: [u8; 16] = [
    0x95, 0x17, 0x85, 0x9e, 0x67, 0x29, 0x5a, 0x50, 0x85, 0x8f, 0x0f, 0x85, 0x14, 0x04, 0xcf, 0xc5,
];

/// The uuid of (target, source path, layer), lowercase hyphenated. NUL
/// separates the parts: no name holds one, so no two triples meet.
pub fn stable_uuid(target: &str, source_path: &str, layer: Option<&str>) -> String {
    let name = format!("{target}\0{source_path}\0{}", layer.unwrap_or(""));
    uuid_v5(&NAMESPACE, name.as_bytes())
}

/// geosync's namespace of layer records: the UUID v5 of
/// `urn:geosync:metadata:layer` in the URL namespace
/// (cc04be0d-f2ff-5c10-bdbd-ff3fd475d351).
const LAYER_NAMESPACE: [u8; 16] = [
    0xcc, 0x04, 0xbe, 0x0d, 0xf2, 0xff, 0x5c, 0x10, 0xbd, 0xbd, 0xff, 0x3f, 0xd4, 0x75, 0xd3, 0x51,
];

/// The uuid of one layer's record, from the fileIdentifier of the sidecar
/// its GeoPackage's layers share (NUL separates, as above).
pub fn layer_uuid(file_identifier: &str, layer: &str) -> String {
    let name = format!("{file_identifier}\0{layer}");
    uuid_v5(&LAYER_NAMESPACE, name.as_bytes())
}

fn uuid_v5(namespace: &[u8; 16], name: &[u8]) -> String {
    let mut hasher = Sha1::new();
    hasher.update(namespace);
    hasher.update(name);
    let hash = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50; // version 5
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    hyphenated(&bytes)
}

/// The 8-4-4-4-12 text form of a UUID's bytes.
fn hyphenated(bytes: &[u8; 16]) -> String {
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Python's uuid.uuid5 gives the same values (RFC 4122's algorithm).
    #[test]
    fn matches_rfc_4122_version_5() {
        let dns = [
            0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
        ];
        assert_eq!(
            uuid_v5(&dns, b"python.org"),
            "886313e1-3b8a-5372-9b90-0c9aee199e5d"
        );
        assert_eq!(
            stable_uuid("ouvert", "dir/a.shp", None),
            "3a918594-a410-5169-b38c-0ec1e8764cbb"
        );
        assert_eq!(
            stable_uuid("ouvert", "d/b.gpkg", Some("roads")),
            "87db120c-2af3-52b3-afdd-ad935c43b879"
        );
        let url = [
            0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
        ];
        assert_eq!(
            uuid_v5(&url, b"urn:geosync:metadata:layer"),
            hyphenated(&LAYER_NAMESPACE)
        );
        assert_eq!(uuid_v5(&url, b"urn:geosync:metadata"), hyphenated(&NAMESPACE));
        assert_eq!(
            layer_uuid("b1c2d3e4-0000-4000-8000-00000000abcd", "roads"),
            "cda553f8-a775-564d-b3aa-76686966f9bc"
        );
    }

    #[test]
    fn every_part_counts() {
        let base = stable_uuid("t", "a/b.shp", None);
        assert_eq!(base, stable_uuid("t", "a/b.shp", None));
        assert_ne!(base, stable_uuid("u", "a/b.shp", None));
        assert_ne!(base, stable_uuid("t", "a/B.shp", None));
        assert_ne!(stable_uuid("t", "a", Some("b")), stable_uuid("t", "a\0b", None));
        let layer = layer_uuid("id", "roads");
        assert_eq!(layer, layer_uuid("id", "roads"));
        assert_ne!(layer, layer_uuid("id", "rivers"));
        assert_ne!(layer, layer_uuid("id2", "roads"));
    }
}
