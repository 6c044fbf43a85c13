//! An ISO 19139 sidecar, passed through: the author's record is what the
//! catalogue shows. geosync only sets the fileIdentifier when there is none
//! (an existing one wins: the author may cite it elsewhere) and puts its
//! online resources into distributionInfo, replacing those of an earlier
//! run and keeping the author's other links. New elements declare their
//! own namespaces, so the author's prefixes do not matter.

use super::iso::{distribution, transfer_options};
use super::links::{is_ours, OnlineResource};
use super::text::{clean_block, clean_line, non_empty};
use super::tree::{self, Element, Node, GCO, GMD};
use super::{BBox, Origin, Publication, Record, RecordInput};

/// MD_Metadata's elements that come after distributionInfo in the schema.
const AFTER_DISTRIBUTION: &[&str] = &[
    "dataQualityInfo",
    "portrayalCatalogueInfo",
    "metadataConstraints",
    "applicationSchemaInfo",
    "metadataMaintenance",
    "series",
    "describes",
    "propertyType",
    "featureType",
    "featureAttribute",
];

pub fn record(
    mut root: Element,
    file: &str,
    input: &RecordInput,
    uuid: &str,
    links: &[OnlineResource],
) -> Record {
    let uuid = set_file_identifier(&mut root, uuid);
    replace_links(&mut root, &input.publication, links);
    let summary = summary(&root);
    let title = summary.title.unwrap_or_else(|| super::iso::default_title(input));
    Record {
        uuid,
        xml: tree::write(&root, false),
        title,
        abstract_text: summary.abstract_text.unwrap_or_default(),
        keywords: summary.keywords,
        bbox: summary.bbox,
        origin: Origin::Iso19139(file.to_string()),
        dataset: String::new(),
        warnings: Vec::new(),
    }
}

/// Declares gmd and gco on an element geosync inserts.
fn declared(element: Element) -> Element {
    element.with_attr("xmlns:gmd", GMD).with_attr("xmlns:gco", GCO)
}

fn gmd_children<'a>(element: &'a mut Element, local: &'a str) -> impl Iterator<Item = &'a mut Element> + 'a {
    element.children.iter_mut().filter_map(move |n| match n {
        Node::Element(e) if e.is(GMD, local) => Some(e),
        _ => None,
    })
}

/// The record's fileIdentifier: the author's when it has one, else `uuid`
/// (put first, where the schema wants it).
fn set_file_identifier(root: &mut Element, uuid: &str) -> String {
    let position = root
        .children
        .iter()
        .position(|n| matches!(n, Node::Element(e) if e.is(GMD, "fileIdentifier")));
    if let Some(i) = position {
        if let Node::Element(e) = &root.children[i] {
            let existing = e.text().trim().to_string();
            if !existing.is_empty() {
                return existing;
            }
        }
        root.children.remove(i);
    }
    let identifier = declared(Element::gmd("fileIdentifier").with(Element::gco("CharacterString", uuid)));
    root.children.insert(0, Node::Element(identifier));
    uuid.to_string()
}

fn replace_links(root: &mut Element, publication: &Publication, links: &[OnlineResource]) {
    let mut target_found = false;
    for info in gmd_children(root, "distributionInfo") {
        for distribution in gmd_children(info, "MD_Distribution") {
            remove_ours(distribution, publication);
            if !target_found && !links.is_empty() {
                distribution
                    .children
                    .push(Node::Element(declared(transfer_options(links))));
                target_found = true;
            }
        }
    }
    if target_found || links.is_empty() {
        return;
    }
    let at = root
        .children
        .iter()
        .position(|n| matches!(n, Node::Element(e) if e.ns.as_deref() == Some(GMD) && AFTER_DISTRIBUTION.contains(&e.local())))
        .unwrap_or(root.children.len());
    root.children
        .insert(at, Node::Element(declared(distribution(links))));
}

/// Drops our onLine elements, and the transferOptions they leave empty.
fn remove_ours(distribution: &mut Element, publication: &Publication) {
    distribution.children.retain_mut(|node| {
        let Node::Element(options) = node else { return true };
        if !options.is(GMD, "transferOptions") {
            return true;
        }
        let mut removed = false;
        for digital in gmd_children(options, "MD_DigitalTransferOptions") {
            let before = digital.children.len();
            digital.children.retain(
                |n| !matches!(n, Node::Element(e) if e.is(GMD, "onLine") && online_is_ours(e, publication)),
            );
            removed |= digital.children.len() != before;
        }
        let empty = options.elements().all(|digital| {
            digital.is(GMD, "MD_DigitalTransferOptions") && digital.elements().next().is_none()
        });
        !(removed && empty)
    });
}

fn online_is_ours(online: &Element, publication: &Publication) -> bool {
    let Some(resource) = online.elements().find(|e| e.is(GMD, "CI_OnlineResource")) else {
        return false;
    };
    let value = |local: &str| {
        resource
            .elements()
            .find(|e| e.is(GMD, local))
            .map(|e| e.text().trim().to_string())
            .unwrap_or_default()
    };
    is_ours(publication, &value("linkage"), &value("protocol"), &value("name"))
}

#[derive(Default)]
struct Summary {
    title: Option<String>,
    abstract_text: Option<String>,
    keywords: Vec<String>,
    bbox: Option<BBox>,
}

/// What the layer reuses: title, abstract, keywords and bbox of the first
/// identificationInfo (data or service identification alike).
fn summary(root: &Element) -> Summary {
    let Some(id) = root
        .all_ns(&[(GMD, "identificationInfo")])
        .into_iter()
        .find_map(|info| info.elements().next())
    else {
        return Summary::default();
    };
    // The value of a property: gco:CharacterString or gmx:Anchor alike.
    let value = |e: &Element| e.elements().next().map(|v| v.text()).unwrap_or_else(|| e.text());
    let title = id
        .all_ns(&[(GMD, "citation"), (GMD, "CI_Citation"), (GMD, "title")])
        .first()
        .map(|t| clean_line(&value(t)))
        .and_then(non_empty);
    let abstract_text = id
        .all_ns(&[(GMD, "abstract")])
        .first()
        .map(|a| clean_block(&value(a)))
        .and_then(non_empty);
    let keywords = id
        .all_ns(&[
            (GMD, "descriptiveKeywords"),
            (GMD, "MD_Keywords"),
            (GMD, "keyword"),
        ])
        .into_iter()
        .filter_map(|k| non_empty(clean_line(&value(k))))
        .collect();
    let bbox = id
        .all_ns(&[
            (GMD, "extent"),
            (GMD, "EX_Extent"),
            (GMD, "geographicElement"),
            (GMD, "EX_GeographicBoundingBox"),
        ])
        .into_iter()
        .find_map(|b| {
            let n = |local: &str| {
                b.all_ns(&[(GMD, local)])
                    .first()?
                    .text()
                    .trim()
                    .parse::<f64>()
                    .ok()
            };
            BBox {
                west: n("westBoundLongitude")?,
                east: n("eastBoundLongitude")?,
                south: n("southBoundLatitude")?,
                north: n("northBoundLatitude")?,
            }
            .checked()
        });
    Summary {
        title,
        abstract_text,
        keywords,
        bbox,
    }
}
