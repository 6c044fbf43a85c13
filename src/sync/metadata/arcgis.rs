//! ArcGIS metadata (`.shp.xml`, the "ArcGIS format" ArcCatalog writes
//! beside a shapefile: an `<metadata>` with an `<Esri>` block and
//! `<dataIdInfo>`), read into what a record needs. ArcGIS writes its own
//! element names, with codes for roles, dates and topics; the abstract is
//! HTML. Older files carry FGDC elements (`idinfo`) too: used when the
//! ArcGIS ones are missing.

use super::html;
use super::text::{clean_line, non_empty};
use super::tree::Element;
use super::{BBox, Contact, Described};

/// ArcGIS RoleCd values (ISO 19115 CI_RoleCode, in order).
const ROLES: &[(&str, &str)] = &[
    ("001", "resourceProvider"),
    ("002", "custodian"),
    ("003", "owner"),
    ("004", "user"),
    ("005", "distributor"),
    ("006", "originator"),
    ("007", "pointOfContact"),
    ("008", "principalInvestigator"),
    ("009", "processor"),
    ("010", "publisher"),
    ("011", "author"),
];

pub fn read(root: &Element) -> Described {
    let id = root.first_local("dataIdInfo");
    let fgdc = root.first_local("idinfo");
    let text_at = |base: Option<&Element>, path: &[&str]| {
        base.and_then(|b| b.at_local(path))
            .map(|e| e.text())
            .and_then(|t| non_empty(t.trim().to_string()))
    };
    let title = text_at(id, &["idCitation", "resTitle"])
        .or_else(|| text_at(fgdc, &["citation", "citeinfo", "title"]));
    let abstract_text = text_at(id, &["idAbs"])
        .or_else(|| text_at(fgdc, &["descript", "abstract"]))
        .map(|a| html::to_text(&a));
    let mut keywords = Vec::new();
    if let Some(id) = id {
        for group in [
            "searchKeys",
            "themeKeys",
            "placeKeys",
            "tempKeys",
            "discKeys",
            "stratKeys",
        ] {
            keywords.extend(id.all_local(&[group, "keyword"]).iter().map(|k| k.text()));
        }
    }
    if let Some(fgdc) = fgdc {
        keywords.extend(
            fgdc.all_local(&["keywords", "theme", "themekey"])
                .iter()
                .map(|k| k.text()),
        );
        keywords.extend(
            fgdc.all_local(&["keywords", "place", "placekey"])
                .iter()
                .map(|k| k.text()),
        );
    }
    Described {
        title,
        abstract_text,
        keywords: keywords
            .into_iter()
            .filter_map(|k| non_empty(clean_line(&k)))
            .collect(),
        topics: id.map(topics).unwrap_or_default(),
        contacts: id
            .map(|id| id.all_local(&["idPoC"]).into_iter().filter_map(contact).collect())
            .unwrap_or_default(),
        metadata_contacts: root
            .all_local(&["mdContact"])
            .into_iter()
            .filter_map(contact)
            .collect(),
        dates: id.map(dates).unwrap_or_default(),
        date_stamp: text_at(Some(root), &["mdDateSt"]),
        bbox: id.and_then(bbox).or_else(|| fgdc.and_then(fgdc_bbox)),
        crs: crs(root),
        language: id
            .and_then(|id| id.at_local(&["dataLang", "languageCode"]))
            .or_else(|| root.at_local(&["mdLang", "languageCode"]))
            .and_then(|l| l.attr("value"))
            .map(str::to_string),
        identifier: None,
    }
}

/// rpIndName, rpOrgName, rpPosName, rpCntInfo/cntAddress/eMailAdd, role.
fn contact(party: &Element) -> Option<Contact> {
    let get = |path: &[&str]| {
        party
            .at_local(path)
            .map(|e| e.text())
            .and_then(|t| non_empty(clean_line(&t)))
    };
    let role = party
        .at_local(&["role", "RoleCd"])
        .and_then(|r| r.attr("value"))
        .and_then(|v| ROLES.iter().find(|(code, _)| *code == v.trim()))
        .map(|(_, role)| role.to_string());
    let contact = Contact {
        individual: get(&["rpIndName"]),
        organisation: get(&["rpOrgName"]),
        position: get(&["rpPosName"]),
        email: get(&["rpCntInfo", "cntAddress", "eMailAdd"]),
        role,
    };
    let named = contact.individual.is_some() || contact.organisation.is_some() || contact.email.is_some();
    named.then_some(contact)
}

/// idCitation/date: createDate, pubDate, reviseDate.
fn dates(id: &Element) -> Vec<(String, &'static str)> {
    let mut dates = Vec::new();
    for (name, kind) in [
        ("createDate", "creation"),
        ("pubDate", "publication"),
        ("reviseDate", "revision"),
    ] {
        for d in id.all_local(&["idCitation", "date", name]) {
            dates.push((d.text().trim().to_string(), kind));
        }
    }
    dates
}

/// tpCat/TopicCatCd value="001".."019", in MD_TopicCategoryCode's order.
fn topics(id: &Element) -> Vec<String> {
    id.all_local(&["tpCat", "TopicCatCd"])
        .into_iter()
        .filter_map(|t| t.attr("value")?.trim().parse::<usize>().ok())
        .filter_map(|n| super::iso::TOPICS.get(n.checked_sub(1)?))
        .map(|t| t.to_string())
        .collect()
}

/// dataExt/geoEle/GeoBndBox: ArcGIS's geographic (WGS84) extent.
fn bbox(id: &Element) -> Option<BBox> {
    let b = id.at_local(&["dataExt", "geoEle", "GeoBndBox"])?;
    let n = |name: &str| b.first_local(name)?.text().trim().parse::<f64>().ok();
    BBox {
        west: n("westBL")?,
        east: n("eastBL")?,
        south: n("southBL")?,
        north: n("northBL")?,
    }
    .checked()
}

fn fgdc_bbox(idinfo: &Element) -> Option<BBox> {
    let b = idinfo.at_local(&["spdom", "bounding"])?;
    let n = |name: &str| b.first_local(name)?.text().trim().parse::<f64>().ok();
    BBox {
        west: n("westbc")?,
        east: n("eastbc")?,
        south: n("southbc")?,
        north: n("northbc")?,
    }
    .checked()
}

/// refSysInfo/RefSystem/refSysID: identCode@code and idCodeSpace; else
/// the WKID of the Esri block's coordRef (an EPSG code for EPSG systems).
fn crs(root: &Element) -> Option<(String, String)> {
    if let Some(id) = root.at_local(&["refSysInfo", "RefSystem", "refSysID"]) {
        let code = id
            .first_local("identCode")
            .and_then(|c| c.attr("code"))
            .map(str::trim);
        let space = id
            .first_local("idCodeSpace")
            .map(|s| s.text().trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "EPSG".into());
        if let Some(code) = code.filter(|c| !c.is_empty()) {
            return Some((code.to_string(), space));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::tree::parse;
    use super::*;

    const FULL: &str = r#"<metadata xml:lang="fr"><Esri><ArcGISFormat>1.0</ArcGISFormat></Esri>
<dataIdInfo><idCitation><resTitle>Routes &amp; chemins</resTitle><date><pubDate>2015-06-09T00:00:00</pubDate><createDate>20140101</createDate></date></idCitation>
<idAbs>&lt;DIV&gt;&lt;P&gt;Premier &amp;amp; paragraphe&lt;/P&gt;&lt;P&gt;Second&lt;/P&gt;&lt;/DIV&gt;</idAbs>
<searchKeys><keyword>routes</keyword><keyword> Routes </keyword></searchKeys><themeKeys><keyword>transport</keyword></themeKeys>
<idPoC><rpIndName>Ronald Vegan</rpIndName><rpOrgName>MSHE</rpOrgName><rpCntInfo><cntAddress><eMailAdd>rv@example.org</eMailAdd></cntAddress></rpCntInfo><role><RoleCd value="011"/></role></idPoC>
<tpCat><TopicCatCd value="018"/></tpCat>
<dataLang><languageCode value="fra"/></dataLang>
<dataExt><geoEle><GeoBndBox><westBL>-74.25</westBL><eastBL>-73.69</eastBL><northBL>40.91</northBL><southBL>40.49</southBL></GeoBndBox></geoEle></dataExt></dataIdInfo>
<refSysInfo><RefSystem><refSysID><identCode code="26918"/><idCodeSpace>EPSG</idCodeSpace></refSysID></RefSystem></refSysInfo><mdDateSt>20150522</mdDateSt></metadata>"#;

    #[test]
    fn every_field_is_read() {
        let d = read(&parse(FULL).unwrap());
        assert_eq!(d.title.as_deref(), Some("Routes & chemins"));
        assert_eq!(d.abstract_text.as_deref(), Some("Premier & paragraphe\nSecond"));
        assert_eq!(d.keywords, ["routes", "Routes", "transport"]);
        assert_eq!(d.topics, ["transportation"]);
        let c = &d.contacts[0];
        assert_eq!(c.individual.as_deref(), Some("Ronald Vegan"));
        assert_eq!(c.email.as_deref(), Some("rv@example.org"));
        assert_eq!(c.role.as_deref(), Some("author"));
        assert_eq!(
            d.dates,
            [
                ("20140101".to_string(), "creation"),
                ("2015-06-09T00:00:00".to_string(), "publication")
            ]
        );
        assert_eq!(d.crs, Some(("26918".into(), "EPSG".into())));
        assert_eq!(d.bbox.unwrap().north, 40.91);
        assert_eq!(d.date_stamp.as_deref(), Some("20150522"));
        assert_eq!(d.language.as_deref(), Some("fra"));
    }

    #[test]
    fn fgdc_elements_are_read_when_arcgis_ones_are_missing() {
        let fgdc = r#"<metadata><idinfo><citation><citeinfo><title>Communes</title></citeinfo></citation>
<descript><abstract>Limites communales.</abstract></descript>
<spdom><bounding><westbc>5.7</westbc><eastbc>7.1</eastbc><northbc>47.6</northbc><southbc>46.5</southbc></bounding></spdom>
<keywords><theme><themekey>limites</themekey></theme><place><placekey>Doubs</placekey></place></keywords></idinfo></metadata>"#;
        let d = read(&parse(fgdc).unwrap());
        assert_eq!(d.title.as_deref(), Some("Communes"));
        assert_eq!(d.abstract_text.as_deref(), Some("Limites communales."));
        assert_eq!(d.keywords, ["limites", "Doubs"]);
        assert_eq!(d.bbox.unwrap().south, 46.5);
    }
}
