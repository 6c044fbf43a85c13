//! Writes a converted or generated record: gmd:MD_Metadata with its
//! elements in the order the ISO 19139 schema requires (metadataEntity.xsd,
//! identification.xsd, citation.xsd, distribution.xsd, extent.xsd).

use super::links::OnlineResource;
use super::text::{clean_block, clean_line, non_empty, readable_name};
use super::tree::{self, Element, GCO, GMD};
use super::{BBox, Contact, Crs, DataKind, Described, Origin, Record, RecordInput};

const CODELISTS: &str = "http://standards.iso.org/iso/19139/resources/gmxCodelists.xml";

/// CI_RoleCode's values (ISO 19115 B.5.5).
pub(super) const ROLES: &[&str] = &[
    "resourceProvider",
    "custodian",
    "owner",
    "user",
    "distributor",
    "originator",
    "pointOfContact",
    "principalInvestigator",
    "processor",
    "publisher",
    "author",
];

/// MD_TopicCategoryCode, an enumeration the schema checks (B.5.27).
pub const TOPICS: &[&str] = &[
    "farming",
    "biota",
    "boundaries",
    "climatologyMeteorologyAtmosphere",
    "economy",
    "elevation",
    "environment",
    "geoscientificInformation",
    "health",
    "imageryBaseMapsEarthCover",
    "intelligenceMilitary",
    "inlandWaters",
    "location",
    "oceans",
    "planningCadastre",
    "society",
    "structure",
    "transportation",
    "utilitiesCommunication",
];

/// The record of a dataset from what its source describes, completed by
/// the data's facts: the data's bbox and EPSG code win over a sidecar's.
pub fn record(
    input: &RecordInput,
    described: Described,
    uuid: &str,
    links: &[OnlineResource],
    origin: Origin,
) -> Record {
    let title = described
        .title
        .as_deref()
        .map(clean_line)
        .and_then(non_empty)
        .map(|t| super::layer_title(input, t))
        .unwrap_or_else(|| default_title(input));
    let abstract_text = described
        .abstract_text
        .as_deref()
        .map(clean_block)
        .and_then(non_empty)
        .unwrap_or_else(|| default_abstract(input));
    let keywords = dedup(described.keywords.iter().map(|k| clean_line(k)));
    let bbox = input
        .facts
        .bbox_wgs84
        .and_then(BBox::checked)
        .or(described.bbox.and_then(BBox::checked));
    let crs = match &input.facts.crs {
        Some(Crs::Epsg(code)) => Some((code.to_string(), "EPSG".to_string())),
        _ => described.crs.clone(),
    };
    let fields = Fields {
        uuid,
        language: described
            .language
            .as_deref()
            .and_then(language)
            .or_else(|| input.language.as_deref().and_then(language))
            .unwrap_or_else(|| "fre".into()),
        contacts: contacts(&described, input),
        date_stamp: described
            .date_stamp
            .as_deref()
            .and_then(normalize_date)
            .unwrap_or_else(|| input.modified.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        crs,
        title: &title,
        abstract_text: &abstract_text,
        dates: dates(&described, input),
        identifier: described
            .identifier
            .as_deref()
            .map(clean_line)
            .and_then(non_empty),
        points_of_contact: described.contacts.clone(),
        keywords: &keywords,
        topics: dedup(
            described
                .topics
                .iter()
                .filter(|t| TOPICS.contains(&t.as_str()))
                .cloned(),
        ),
        bbox,
        kind: input.facts.kind,
        links,
    };
    Record {
        uuid: uuid.to_string(),
        parent: None,
        xml: tree::write(&fields.document(), true),
        title,
        abstract_text,
        keywords,
        bbox,
        origin,
        dataset: String::new(),
        warnings: Vec::new(),
    }
}

/// Everything the record holds, cleaned.
struct Fields<'a> {
    uuid: &'a str,
    language: String,
    contacts: Vec<Contact>,
    date_stamp: String,
    crs: Option<(String, String)>,
    title: &'a str,
    abstract_text: &'a str,
    dates: Vec<(String, &'static str)>,
    identifier: Option<String>,
    points_of_contact: Vec<Contact>,
    keywords: &'a [String],
    topics: Vec<String>,
    bbox: Option<BBox>,
    kind: DataKind,
    links: &'a [OnlineResource],
}

impl Fields<'_> {
    fn document(&self) -> Element {
        let mut root = Element::gmd("MD_Metadata")
            .with_attr("xmlns:gmd", GMD)
            .with_attr("xmlns:gco", GCO)
            .with(string("fileIdentifier", self.uuid))
            .with(string("language", &self.language))
            .with(code("characterSet", "MD_CharacterSetCode", "utf8"))
            .with(code("hierarchyLevel", "MD_ScopeCode", "dataset"))
            .with_all(self.contacts.iter().map(|c| party("contact", c)))
            .with(Element::gmd("dateStamp").with(date(&self.date_stamp)))
            .with(string("metadataStandardName", "ISO 19115:2003/19139"))
            .with(string("metadataStandardVersion", "1.0"));
        if let Some((code, space)) = &self.crs {
            root = root.with(reference_system(code, space));
        }
        root = root.with(Element::gmd("identificationInfo").with(self.identification()));
        if !self.links.is_empty() {
            root = root.with(distribution(self.links));
        }
        root
    }

    fn identification(&self) -> Element {
        let mut citation = Element::gmd("CI_Citation").with(string("title", self.title));
        for (value, kind) in &self.dates {
            citation = citation.with(
                Element::gmd("date").with(
                    Element::gmd("CI_Date")
                        .with(Element::gmd("date").with(date(value)))
                        .with(code("dateType", "CI_DateTypeCode", kind)),
                ),
            );
        }
        if let Some(identifier) = &self.identifier {
            citation = citation.with(
                Element::gmd("identifier")
                    .with(Element::gmd("MD_Identifier").with(string("code", identifier))),
            );
        }
        let mut id = Element::gmd("MD_DataIdentification")
            .with(Element::gmd("citation").with(citation))
            .with(string("abstract", self.abstract_text))
            .with_all(self.points_of_contact.iter().map(|c| party("pointOfContact", c)));
        if !self.keywords.is_empty() {
            let keywords =
                Element::gmd("MD_Keywords").with_all(self.keywords.iter().map(|k| string("keyword", k)));
            id = id.with(Element::gmd("descriptiveKeywords").with(keywords));
        }
        let representation = match self.kind {
            DataKind::Vector => "vector",
            DataKind::Raster => "grid",
        };
        id = id
            .with(code(
                "spatialRepresentationType",
                "MD_SpatialRepresentationTypeCode",
                representation,
            ))
            .with(string("language", &self.language))
            .with(code("characterSet", "MD_CharacterSetCode", "utf8"));
        for topic in &self.topics {
            id = id.with(
                Element::gmd("topicCategory").with(Element::gmd("MD_TopicCategoryCode").with_text(topic)),
            );
        }
        if let Some(bbox) = self.bbox {
            id = id.with(extent(bbox));
        }
        id
    }
}

/// `gmd:{local}/gco:CharacterString`.
fn string(local: &str, text: &str) -> Element {
    Element::gmd(local).with(Element::gco("CharacterString", text))
}

/// `gmd:{local}/gmd:{list}` with the code list's URL and value.
fn code(local: &str, list: &str, value: &str) -> Element {
    Element::gmd(local).with(
        Element::gmd(list)
            .with_attr("codeList", &format!("{CODELISTS}#{list}"))
            .with_attr("codeListValue", value)
            .with_text(value),
    )
}

/// gco:Date for a day, gco:DateTime for a moment.
fn date(value: &str) -> Element {
    if value.len() == 10 {
        Element::gco("Date", value)
    } else {
        Element::gco("DateTime", value)
    }
}

fn party(local: &str, contact: &Contact) -> Element {
    let mut party = Element::gmd("CI_ResponsibleParty");
    let fields = [
        ("individualName", &contact.individual),
        ("organisationName", &contact.organisation),
        ("positionName", &contact.position),
    ];
    for (name, value) in fields {
        if let Some(value) = value.as_deref().map(clean_line).and_then(non_empty) {
            party = party.with(string(name, &value));
        }
    }
    if let Some(email) = contact.email.as_deref().map(clean_line).and_then(non_empty) {
        let address = Element::gmd("CI_Address").with(string("electronicMailAddress", &email));
        party = party.with(
            Element::gmd("contactInfo")
                .with(Element::gmd("CI_Contact").with(Element::gmd("address").with(address))),
        );
    }
    let role = contact
        .role
        .as_deref()
        .filter(|r| ROLES.contains(r))
        .unwrap_or("pointOfContact");
    party = party.with(code("role", "CI_RoleCode", role));
    Element::gmd(local).with(party)
}

fn reference_system(code: &str, space: &str) -> Element {
    let identifier = Element::gmd("RS_Identifier")
        .with(string("code", &clean_line(code)))
        .with(string("codeSpace", &clean_line(space)));
    Element::gmd("referenceSystemInfo").with(
        Element::gmd("MD_ReferenceSystem").with(Element::gmd("referenceSystemIdentifier").with(identifier)),
    )
}

fn extent(bbox: BBox) -> Element {
    let decimal = |local: &str, v: f64| Element::gmd(local).with(Element::gco("Decimal", &decimal_text(v)));
    let bounding = Element::gmd("EX_GeographicBoundingBox")
        .with(decimal("westBoundLongitude", bbox.west))
        .with(decimal("eastBoundLongitude", bbox.east))
        .with(decimal("southBoundLatitude", bbox.south))
        .with(decimal("northBoundLatitude", bbox.north));
    Element::gmd("extent")
        .with(Element::gmd("EX_Extent").with(Element::gmd("geographicElement").with(bounding)))
}

/// xs:decimal has no exponent; Rust's Display of f64 never writes one.
fn decimal_text(value: f64) -> String {
    let text = format!("{value}");
    debug_assert!(!text.contains(['e', 'E']));
    text
}

/// distributionInfo/MD_Distribution/transferOptions/MD_DigitalTransferOptions
/// with one onLine per link.
pub fn distribution(links: &[OnlineResource]) -> Element {
    Element::gmd("distributionInfo").with(Element::gmd("MD_Distribution").with(transfer_options(links)))
}

pub fn transfer_options(links: &[OnlineResource]) -> Element {
    let options = Element::gmd("MD_DigitalTransferOptions").with_all(links.iter().map(online));
    Element::gmd("transferOptions").with(options)
}

fn online(link: &OnlineResource) -> Element {
    let resource = Element::gmd("CI_OnlineResource")
        .with(Element::gmd("linkage").with(Element::gmd("URL").with_text(&link.url)))
        .with(string("protocol", link.protocol))
        .with(string("name", &link.name))
        .with(string("description", link.description))
        .with(code("function", "CI_OnLineFunctionCode", link.function));
    Element::gmd("onLine").with(resource)
}

/// The name made readable: the layer's, else the file's; never empty.
pub fn default_title(input: &RecordInput) -> String {
    let name = match &input.layer {
        Some(layer) => layer.clone(),
        None => {
            let file = input.source_path.rsplit('/').next().unwrap_or(&input.source_path);
            file.split('.').next().unwrap_or(file).to_string()
        }
    };
    [
        readable_name(&name),
        clean_line(&input.publication.layer),
        clean_line(&input.dataset()),
    ]
    .into_iter()
    .find(|t| !t.is_empty())
    .unwrap_or_else(|| "Dataset".into())
}

fn default_abstract(input: &RecordInput) -> String {
    let layer = input
        .layer
        .as_deref()
        .map(|l| format!(" (layer {})", clean_line(l)))
        .unwrap_or_default();
    let mut text = format!(
        "Published by geosync from the file {}{layer} shared in the target {}.",
        clean_line(&input.source_path),
        clean_line(&input.target)
    );
    let facts = &input.facts;
    match (facts.kind, &facts.geometry_type, facts.feature_count) {
        (DataKind::Raster, _, _) => text.push_str("\nRaster data."),
        (DataKind::Vector, Some(geometry), Some(count)) => {
            text.push_str(&format!("\n{count} features ({}).", clean_line(geometry)))
        }
        (DataKind::Vector, None, Some(count)) => text.push_str(&format!("\n{count} features.")),
        (DataKind::Vector, Some(geometry), None) => {
            text.push_str(&format!("\nGeometry: {}.", clean_line(geometry)))
        }
        _ => {}
    }
    if let Some(Crs::Epsg(code)) = facts.crs {
        text.push_str(&format!("\nCoordinate reference system: EPSG:{code}."));
    }
    text
}

/// The metadata contact(s): the source's, else its points of contact, else
/// the target's, else the target itself as organisation.
fn contacts(described: &Described, input: &RecordInput) -> Vec<Contact> {
    if !described.metadata_contacts.is_empty() {
        return described.metadata_contacts.clone();
    }
    if !described.contacts.is_empty() {
        return described.contacts.clone();
    }
    vec![input.contact.clone().unwrap_or_else(|| Contact {
        organisation: Some(input.target.clone()),
        ..Contact::default()
    })]
}

fn dates(described: &Described, input: &RecordInput) -> Vec<(String, &'static str)> {
    let dates: Vec<(String, &'static str)> = described
        .dates
        .iter()
        .filter_map(|(d, kind)| normalize_date(d).map(|d| (d, *kind)))
        .collect();
    if dates.is_empty() {
        vec![(input.modified.format("%Y-%m-%d").to_string(), "revision")]
    } else {
        dates
    }
}

/// `YYYYMMDD`, `YYYY-MM-DD` or an ISO date-time, as xs:date / xs:dateTime;
/// None for anything else (a wrong date is left out, not sent).
pub fn normalize_date(text: &str) -> Option<String> {
    use chrono::{NaiveDate, NaiveDateTime};
    let text = text.trim();
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y%m%d") {
        return Some(d.format("%Y-%m-%d").to_string());
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(d.format("%Y-%m-%d").to_string());
    }
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(text, format) {
            return Some(d.format("%Y-%m-%dT%H:%M:%S").to_string());
        }
    }
    None
}

/// An ISO 639-2 code (three letters), lowercase.
fn language(text: &str) -> Option<String> {
    let code = text.trim().to_ascii_lowercase();
    (code.len() == 3 && code.chars().all(|c| c.is_ascii_lowercase())).then_some(code)
}

/// Non-empty values, first spelling kept, duplicates (any case) dropped.
fn dedup(values: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    values
        .filter(|v| !v.is_empty() && seen.insert(v.to_lowercase()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_normalized_or_dropped() {
        assert_eq!(normalize_date("20150522").as_deref(), Some("2015-05-22"));
        assert_eq!(
            normalize_date("2015-06-09T00:00:00").as_deref(),
            Some("2015-06-09T00:00:00")
        );
        assert_eq!(
            normalize_date("2015-06-09T10:00:00+02:00").as_deref(),
            Some("2015-06-09T10:00:00+02:00")
        );
        assert_eq!(normalize_date("2015-13-40"), None);
        assert_eq!(normalize_date("yesterday"), None);
    }

    #[test]
    fn decimals_never_use_an_exponent() {
        assert_eq!(decimal_text(1e-7), "0.0000001");
        assert_eq!(decimal_text(-74.255719), "-74.255719");
    }
}
