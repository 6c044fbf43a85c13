//! QGIS layer metadata (`.qmd`, QgsLayerMetadata::writeMetadataXml): a
//! `<qgis>` root with identifier, title, abstract, keywords by vocabulary
//! (`gmd:topicCategory` holds ISO topic categories), contacts, the CRS
//! (`crs/spatialrefsys/authid`), the extent with its own CRS, and dates.

use super::text::{clean_line, non_empty};
use super::tree::Element;
use super::{BBox, Contact, Described};

pub fn read(root: &Element) -> Described {
    let text = |name: &str| {
        root.first_local(name)
            .map(|e| e.text())
            .and_then(|t| non_empty(t.trim().to_string()))
    };
    let mut keywords = Vec::new();
    let mut topics = Vec::new();
    for group in root.all_local(&["keywords"]) {
        let topic_vocabulary = group
            .attr("vocabulary")
            .is_some_and(|v| v.eq_ignore_ascii_case("gmd:topicCategory"));
        for keyword in group.all_local(&["keyword"]) {
            let value = clean_line(&keyword.text());
            if topic_vocabulary {
                topics.push(value);
            } else {
                keywords.push(value);
            }
        }
    }
    Described {
        title: text("title"),
        abstract_text: text("abstract"),
        keywords: keywords.into_iter().filter(|k| !k.is_empty()).collect(),
        topics,
        contacts: root
            .all_local(&["contact"])
            .into_iter()
            .filter_map(contact)
            .collect(),
        metadata_contacts: Vec::new(),
        dates: dates(root),
        date_stamp: None,
        bbox: bbox(root),
        crs: root
            .at_local(&["crs", "spatialrefsys", "authid"])
            .and_then(|a| authority_code(&a.text())),
        language: text("language"),
        identifier: text("identifier"),
    }
}

fn contact(element: &Element) -> Option<Contact> {
    let get = |name: &str| {
        element
            .first_local(name)
            .map(|e| e.text())
            .and_then(|t| non_empty(clean_line(&t)))
    };
    let contact = Contact {
        individual: get("name"),
        organisation: get("organization"),
        position: get("position"),
        email: get("email"),
        role: get("role").and_then(|r| iso_role(&r)),
    };
    let named = contact.individual.is_some() || contact.organisation.is_some() || contact.email.is_some();
    named.then_some(contact)
}

/// QGIS roles are free text ("Point of contact", "author"): matched to
/// CI_RoleCode ignoring case and spaces.
fn iso_role(text: &str) -> Option<String> {
    let squashed: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    [
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
    ]
    .into_iter()
    .find(|role| role.to_lowercase() == squashed)
    .map(str::to_string)
}

/// `dates/date type="Created|Published|Revised" value=...` (QGIS 3.30+)
/// and the older `creation` element.
fn dates(root: &Element) -> Vec<(String, &'static str)> {
    let mut dates = Vec::new();
    for date in root.all_local(&["dates", "date"]) {
        let kind = match date.attr("type").unwrap_or_default() {
            "Created" => "creation",
            "Published" => "publication",
            "Revised" => "revision",
            _ => continue,
        };
        if let Some(value) = date.attr("value").filter(|v| !v.trim().is_empty()) {
            dates.push((value.trim().to_string(), kind));
        }
    }
    if let Some(creation) = root.first_local("creation") {
        dates.push((creation.text().trim().to_string(), "creation"));
    }
    dates
}

/// `extent/spatial` when its CRS is geographic WGS84 (longitude first in
/// QGIS's storage); other CRSs need a transformation the data's facts do.
fn bbox(root: &Element) -> Option<BBox> {
    let spatial = root.at_local(&["extent", "spatial"])?;
    let crs = spatial.attr("crs").unwrap_or_default().to_ascii_uppercase();
    if !matches!(crs.as_str(), "EPSG:4326" | "OGC:CRS84" | "CRS:84") {
        return None;
    }
    let n = |name: &str| spatial.attr(name)?.trim().parse::<f64>().ok();
    BBox {
        west: n("minx")?,
        east: n("maxx")?,
        south: n("miny")?,
        north: n("maxy")?,
    }
    .checked()
}

/// `EPSG:2154` -> ("2154", "EPSG").
fn authority_code(authid: &str) -> Option<(String, String)> {
    let (space, code) = authid.trim().split_once(':')?;
    (!space.is_empty() && !code.is_empty()).then(|| (code.to_string(), space.to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::tree::parse;
    use super::*;

    #[test]
    fn a_qmd_is_read() {
        let qmd = r#"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.34.0-Prizren"><identifier>C:/data/routes.shp</identifier><language>FRE</language><type>dataset</type>
<title>Routes</title><abstract>Le réseau
routier</abstract>
<keywords vocabulary="gmd:topicCategory"><keyword>transportation</keyword></keywords>
<keywords vocabulary="mots"><keyword>routes</keyword></keywords>
<contact><name>Jeanne</name><organization>MSHE</organization><email>j@example.org</email><role>Point of contact</role></contact>
<dates><date type="Created" value="2020-01-02T03:04:05"/></dates>
<crs><spatialrefsys><authid>EPSG:2154</authid></spatialrefsys></crs>
<extent><spatial dimensions="2" crs="EPSG:4326" minx="5.1" miny="46.2" maxx="6.3" maxy="47.4" minz="0" maxz="0"/></extent></qgis>"#;
        let d = read(&parse(qmd).unwrap());
        assert_eq!(d.title.as_deref(), Some("Routes"));
        assert_eq!(d.abstract_text.as_deref(), Some("Le réseau\nroutier"));
        assert_eq!(d.keywords, ["routes"]);
        assert_eq!(d.topics, ["transportation"]);
        assert_eq!(d.contacts[0].role.as_deref(), Some("pointOfContact"));
        assert_eq!(d.crs, Some(("2154".into(), "EPSG".into())));
        assert_eq!(d.bbox.unwrap().west, 5.1);
        assert_eq!(d.dates, [("2020-01-02T03:04:05".to_string(), "creation")]);
        assert_eq!(d.identifier.as_deref(), Some("C:/data/routes.shp"));
    }
}
