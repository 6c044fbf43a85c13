//! The ISO 19139 record (gmd:MD_Metadata) of one published dataset, or of
//! one layer of a GeoPackage: what GeoNetwork or a CSW catalogue shows of
//! it, and where the title, abstract and keywords of its GeoServer layer
//! come from.
//!
//! [`build_record`] takes the dataset's facts (bbox, CRS, geometry, count),
//! the bytes of its metadata sidecars and where it is published, and picks
//! the best source the researcher gave:
//!
//! 1. an ISO 19139 sidecar (`.xml` / `.shp.xml` holding gmd:MD_Metadata):
//!    passed through as written (`passthrough.rs`); its own fileIdentifier
//!    wins, else the dataset's uuid is set; our online resources replace
//!    those of an earlier run, the author's other links stay;
//! 2. ArcGIS metadata (`arcgis.rs`: an `<metadata>` with an Esri block or
//!    dataIdInfo), converted;
//! 3. QGIS metadata (`.qmd`, `qgis.rs`), converted;
//! 4. nothing usable: a minimal record from the name and the data.
//!
//! Converted and generated records are written by `iso.rs` in the order the
//! schema requires, through quick-xml (`tree.rs`): values are escaped and
//! stripped of what XML cannot hold (`text.rs`), sidecars in latin-1 or
//! windows-1252 are decoded per their XML declaration (`decode.rs`).
//! [`validate`] checks a record against the ISO 19139 schemas shipped in
//! `schemas/iso19139` (libxml2, in process) before anything sends it.
//!
//! The uuid of a dataset without fileIdentifier is [`stable_uuid`]: a UUID
//! v5 of (target, share path, layer), so a platform rebuilt from nothing
//! republishes under the same uuids.
//!
//! The layers of a GeoPackage holding several share its sidecar: each gets
//! a record of its own, titled "<title> — <layer>". When the shared ISO
//! sidecar names a fileIdentifier, each layer's is [`layer_uuid`] of it
//! and the layer, and the author's identifier becomes the record's
//! parentIdentifier (the GeoPackage as a whole); a GeoPackage of one layer
//! keeps the author's fileIdentifier as it is.

mod arcgis;
mod decode;
mod html;
mod iso;
mod links;
mod passthrough;
mod qgis;
mod schemas;
mod text;
mod tree;
mod uuid;
mod validate;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

pub use self::uuid::{layer_uuid, stable_uuid};
pub use validate::{init_libxml2, validate, validate_blocking};

/// A bounding box in WGS84 longitude/latitude degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub west: f64,
    pub east: f64,
    pub south: f64,
    pub north: f64,
}

impl BBox {
    /// The box when every number is finite and within the globe; a
    /// geographic bounding box outside it is not one.
    pub fn checked(self) -> Option<BBox> {
        let lon = |v: f64| v.is_finite() && (-180.0..=180.0).contains(&v);
        let lat = |v: f64| v.is_finite() && (-90.0..=90.0).contains(&v);
        (lon(self.west) && lon(self.east) && lat(self.south) && lat(self.north) && self.south <= self.north)
            .then_some(self)
    }
}

/// The data's native CRS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Crs {
    Epsg(u32),
    /// A CRS without EPSG equivalent, as WKT (the record then names none).
    Wkt(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataKind {
    #[default]
    Vector,
    Raster,
}

/// What the loader learnt of the data: the truth a record must agree with.
#[derive(Debug, Clone, Default)]
pub struct DataFacts {
    pub kind: DataKind,
    /// The data's extent in WGS84 lon/lat (None when unknown or empty).
    pub bbox_wgs84: Option<BBox>,
    pub crs: Option<Crs>,
    /// "MultiPolygon", "Point"... (vectors).
    pub geometry_type: Option<String>,
    pub feature_count: Option<u64>,
}

/// One sidecar file of the dataset: its name (for its extension: `.xml`,
/// `.shp.xml`, `.qmd`; any case) and its bytes as downloaded. Sidecars of
/// other kinds (`.sld`, `.prj`, `.aux.xml`...) may be passed: they are ignored.
#[derive(Debug, Clone)]
pub struct Sidecar {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// Where the dataset is published.
#[derive(Debug, Clone, Default)]
pub struct Publication {
    /// GeoServer workspace and layer: the online resources' `workspace:layer`.
    pub workspace: String,
    pub layer: String,
    /// The public OWS endpoint, e.g. `https://host/geoserver/ows`.
    pub ows_url: String,
    /// A download URL of the data, if the target offers one; else a WFS
    /// GetFeature (zipped shapefile) or a WCS GetCoverage (GeoTIFF).
    pub download_url: Option<String>,
}

/// A responsible party (CI_ResponsibleParty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    pub individual: Option<String>,
    pub organisation: Option<String>,
    pub position: Option<String>,
    pub email: Option<String>,
    /// A CI_RoleCode value ("pointOfContact", "author"...); None ->
    /// pointOfContact.
    pub role: Option<String>,
}

/// Everything [`build_record`] needs for one dataset.
#[derive(Debug, Clone, Default)]
pub struct RecordInput {
    /// The sync target's name.
    pub target: String,
    /// The dataset's path in the share (its identity in the ledger).
    pub source_path: String,
    /// The GeoPackage layer (every layer of a GeoPackage has one).
    pub layer: Option<String>,
    /// The GeoPackage holds several layers: they share its sidecars, so
    /// each record tells its layer apart (title, identifier).
    pub several_layers: bool,
    pub facts: DataFacts,
    pub sidecars: Vec<Sidecar>,
    pub publication: Publication,
    /// The uuid the ledger keeps for the dataset; None -> [`stable_uuid`].
    /// An ISO sidecar's fileIdentifier wins over both.
    pub uuid: Option<String>,
    /// When the dataset last changed: the record's dateStamp and citation
    /// date when its source gives none (keeps the record identical from one
    /// pass to the next while nothing changes).
    pub modified: DateTime<Utc>,
    /// The target's metadata contact (when the source names none).
    pub contact: Option<Contact>,
    /// ISO 639-2 language of records without one; None -> "fre".
    pub language: Option<String>,
}

impl RecordInput {
    /// The dataset as messages name it: the share path, and the layer.
    pub fn dataset(&self) -> String {
        match &self.layer {
            Some(layer) => format!("{} (layer {layer})", self.source_path),
            None => self.source_path.clone(),
        }
    }
}

/// Where a record's content came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An ISO 19139 sidecar, passed through (the file's name).
    Iso19139(String),
    /// ArcGIS metadata, converted.
    ArcGis(String),
    /// QGIS `.qmd`, converted.
    Qgis(String),
    /// No usable sidecar: generated from the name and the data.
    Generated,
}

/// A dataset's ISO 19139 record, and the fields the layer reuses.
#[derive(Debug, Clone)]
pub struct Record {
    /// The record's fileIdentifier (GeoNetwork's uuid, CSW's identifier).
    pub uuid: String,
    /// The record's parentIdentifier when geosync set it: the sidecar's own
    /// fileIdentifier, which the layers of a GeoPackage share.
    pub parent: Option<String>,
    /// The whole gmd:MD_Metadata document, UTF-8, with its declaration.
    pub xml: String,
    /// One line, never empty.
    pub title: String,
    /// Plain text (HTML stripped), paragraphs on their own lines.
    pub abstract_text: String,
    pub keywords: Vec<String>,
    /// The record's geographic extent (WGS84), as the record states it.
    pub bbox: Option<BBox>,
    pub origin: Origin,
    /// The dataset, for messages (share path and layer).
    pub dataset: String,
    /// Facts a data manager should see (a sidecar ignored, and why).
    pub warnings: Vec<String>,
}

impl Record {
    /// SHA-256 of the XML, hex: unchanged digest, nothing to resend.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(self.xml.as_bytes()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// A metadata sidecar that cannot be read as XML.
    #[error("{dataset}: metadata file {file}: {reason}")]
    Sidecar {
        dataset: String,
        file: String,
        reason: String,
    },
    /// The record breaks the ISO 19139 schemas: it is not sent.
    #[error(
        "{dataset}: the ISO 19139 record {uuid} is not valid, nothing was sent: {}",
        first_errors(errors)
    )]
    Invalid {
        dataset: String,
        uuid: String,
        errors: Vec<String>,
    },
    /// The shipped schemas could not be loaded (a broken build).
    #[error("the ISO 19139 schemas cannot be loaded: {0}")]
    Schemas(String),
}

/// A title taken from a sidecar the GeoPackage's layers share, told apart
/// by the layer's name; any other title as it is.
pub(crate) fn layer_title(input: &RecordInput, title: String) -> String {
    match (&input.layer, input.several_layers) {
        (Some(layer), true) => format!("{title} — {}", text::clean_line(layer)),
        _ => title,
    }
}

/// The first three schema errors, on one line.
fn first_errors(errors: &[String]) -> String {
    let mut shown: Vec<&str> = errors.iter().take(3).map(String::as_str).collect();
    let more = errors.len().saturating_sub(3);
    let tail = format!("(and {more} more)");
    if more > 0 {
        shown.push(&tail);
    }
    shown.join("; ")
}

/// The record of one dataset (see the module's doc for the sources'
/// order). Pure: no I/O, the same input gives the same bytes. The record is
/// not validated here: [`validate`] (or the catalogue's put) does it.
pub fn build_record(input: &RecordInput) -> Result<Record, MetadataError> {
    let dataset = input.dataset();
    let mut warnings = Vec::new();
    let source = pick_source(input, &dataset, &mut warnings)?;
    let uuid = input
        .uuid
        .clone()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| stable_uuid(&input.target, &input.source_path, input.layer.as_deref()));
    let links = links::online_resources(&input.publication, input.facts.kind);
    let mut record = match source {
        Source::Iso { file, root } => passthrough::record(root, &file, input, &uuid, &links),
        Source::ArcGis { file, root } => {
            let described = arcgis::read(&root);
            iso::record(input, described, &uuid, &links, Origin::ArcGis(file))
        }
        Source::Qgis { file, root } => {
            let described = qgis::read(&root);
            iso::record(input, described, &uuid, &links, Origin::Qgis(file))
        }
        Source::None => iso::record(input, Described::default(), &uuid, &links, Origin::Generated),
    };
    record.dataset = dataset;
    record.warnings.splice(0..0, warnings);
    Ok(record)
}

/// What a converted source says of the dataset (every field optional).
#[derive(Debug, Clone, Default)]
pub(crate) struct Described {
    pub title: Option<String>,
    pub abstract_text: Option<String>,
    pub keywords: Vec<String>,
    pub topics: Vec<String>,
    pub contacts: Vec<Contact>,
    pub metadata_contacts: Vec<Contact>,
    /// (date, CI_DateTypeCode), dates as `YYYY-MM-DD` or a full date-time.
    pub dates: Vec<(String, &'static str)>,
    pub date_stamp: Option<String>,
    pub bbox: Option<BBox>,
    /// (code, codeSpace), e.g. ("2154", "EPSG").
    pub crs: Option<(String, String)>,
    pub language: Option<String>,
    /// The resource's identifier as its author gave it (not the fileIdentifier).
    pub identifier: Option<String>,
}

enum Source {
    Iso { file: String, root: tree::Element },
    ArcGis { file: String, root: tree::Element },
    Qgis { file: String, root: tree::Element },
    None,
}

/// The metadata sidecars, best first: ISO 19139, then ArcGIS, then QGIS.
/// A sidecar that is not XML fails the dataset (its author's metadata
/// would silently vanish); well-formed XML of another kind is a warning.
fn pick_source(
    input: &RecordInput,
    dataset: &str,
    warnings: &mut Vec<String>,
) -> Result<Source, MetadataError> {
    let mut found: Vec<(u8, Source)> = Vec::new();
    for sidecar in &input.sidecars {
        let name = sidecar.file_name.to_lowercase();
        let is_xml = name.ends_with(".xml") && !name.ends_with(".aux.xml");
        if !(is_xml || name.ends_with(".qmd")) {
            continue;
        }
        let bad = |reason: String| MetadataError::Sidecar {
            dataset: dataset.to_string(),
            file: sidecar.file_name.clone(),
            reason,
        };
        let decoded = decode::decode(&sidecar.bytes).map_err(bad)?;
        if let Some(note) = decoded.note {
            warnings.push(format!("metadata file {}: {note}", sidecar.file_name));
        }
        let root = tree::parse(&decoded.text).map_err(|e| bad(format!("not well-formed XML: {e}")))?;
        let file = sidecar.file_name.clone();
        match classify(&root) {
            Some(Kind::Iso) => found.push((0, Source::Iso { file, root })),
            Some(Kind::ArcGis) => found.push((1, Source::ArcGis { file, root })),
            Some(Kind::Qgis) => found.push((2, Source::Qgis { file, root })),
            None => warnings.push(format!(
                "metadata file {}: <{}> is neither ISO 19139, ArcGIS nor QGIS metadata: ignored",
                sidecar.file_name,
                text::clean_line(&root.name)
            )),
        }
    }
    found.sort_by_key(|(rank, _)| *rank);
    let mut found = found.into_iter();
    let best = found.next().map(|(_, s)| s).unwrap_or(Source::None);
    for (_, other) in found {
        if let Source::Iso { file, .. } | Source::ArcGis { file, .. } | Source::Qgis { file, .. } = other {
            warnings.push(format!(
                "metadata file {file}: another metadata file of the dataset is used"
            ));
        }
    }
    Ok(best)
}

enum Kind {
    Iso,
    ArcGis,
    Qgis,
}

fn classify(root: &tree::Element) -> Option<Kind> {
    if root.ns.as_deref() == Some(tree::GMD) && root.local() == "MD_Metadata" {
        return Some(Kind::Iso);
    }
    match root.local() {
        // ArcGIS format, or the FGDC elements older ArcGIS versions wrote.
        "metadata"
            if ["Esri", "dataIdInfo", "idinfo"]
                .iter()
                .any(|e| root.first_local(e).is_some()) =>
        {
            Some(Kind::ArcGis)
        }
        "qgis" => Some(Kind::Qgis),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests;
