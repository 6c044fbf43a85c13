//! An ISO 19139 sidecar, passed through: the author's record is what the
//! catalogue shows. geosync only sets the fileIdentifier when there is none
//! (an existing one wins: the author may cite it elsewhere; the layers of
//! a GeoPackage holding several each get their own, with the author's as
//! parentIdentifier, and their layer's name in the title) and puts its
//! online resources into distributionInfo, replacing those of an earlier
//! run and keeping the author's other links. New elements declare their
//! own namespaces, so the author's prefixes do not matter.

use super::iso::{distribution, transfer_options};
use super::links::{is_ours, OnlineResource};
use super::text::{clean_block, clean_line, non_empty};
use super::tree::{self, Element, Node, GCO, GMD};
use super::uuid::layer_uuid;
use super::{layer_title, BBox, Origin, Publication, Record, RecordInput};

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
    let mut warnings = Vec::new();
    let (uuid, parent) = identify(&mut root, input, uuid, file, &mut warnings);
    replace_links(&mut root, &input.publication, links);
    let summary = summary(&root);
    let title = match summary.title {
        Some(title) if input.several_layers => {
            let title = layer_title(input, title);
            set_title(&mut root, &title);
            title
        }
        Some(title) => title,
        None => super::iso::default_title(input),
    };
    Record {
        uuid,
        parent,
        xml: tree::write(&root, false),
        title,
        abstract_text: summary.abstract_text.unwrap_or_default(),
        keywords: summary.keywords,
        bbox: summary.bbox,
        origin: Origin::Iso19139(file.to_string()),
        dataset: String::new(),
        warnings,
    }
}

/// The record's fileIdentifier, and its parentIdentifier when geosync
/// sets one. The author's fileIdentifier is kept, except by the layers of
/// a GeoPackage holding several: one identifier cannot name them all, so
/// each gets its own ([`layer_uuid`]) and the author's one, naming the
/// GeoPackage as a whole, becomes their parent.
fn identify(
    root: &mut Element,
    input: &RecordInput,
    uuid: &str,
    file: &str,
    warnings: &mut Vec<String>,
) -> (String, Option<String>) {
    match (file_identifier(root), &input.layer, input.several_layers) {
        (Some(author), Some(layer), true) => {
            let own = layer_uuid(&author, layer);
            set_file_identifier(root, &own);
            if let Some(earlier) = set_parent(root, &author).filter(|p| *p != author) {
                warnings.push(format!(
                    "metadata file {file}: its parentIdentifier {} is replaced by its fileIdentifier {}, \
                     which names the GeoPackage whose layer this record describes",
                    clean_line(&earlier),
                    clean_line(&author)
                ));
            }
            (own, Some(author))
        }
        (Some(author), _, _) => (author, None),
        (None, _, _) => {
            set_file_identifier(root, uuid);
            (uuid.to_string(), None)
        }
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

/// The author's fileIdentifier, when it is not empty.
fn file_identifier(root: &Element) -> Option<String> {
    root.elements()
        .find(|e| e.is(GMD, "fileIdentifier"))
        .map(|e| e.text().trim().to_string())
        .filter(|id| !id.is_empty())
}

/// Sets the fileIdentifier, first, where the schema wants it.
fn set_file_identifier(root: &mut Element, uuid: &str) {
    root.children
        .retain(|n| !matches!(n, Node::Element(e) if e.is(GMD, "fileIdentifier")));
    let identifier = declared(Element::gmd("fileIdentifier").with(Element::gco("CharacterString", uuid)));
    root.children.insert(0, Node::Element(identifier));
}

/// Sets the parentIdentifier, after fileIdentifier, language and
/// characterSet (the schema's order); returns the one it replaced.
fn set_parent(root: &mut Element, parent: &str) -> Option<String> {
    let is = |n: &Node, local: &str| matches!(n, Node::Element(e) if e.is(GMD, local));
    let earlier = root
        .elements()
        .find(|e| e.is(GMD, "parentIdentifier"))
        .map(|e| e.text().trim().to_string());
    root.children.retain(|n| !is(n, "parentIdentifier"));
    let at = root
        .children
        .iter()
        .rposition(|n| {
            ["fileIdentifier", "language", "characterSet"]
                .iter()
                .any(|l| is(n, l))
        })
        .map_or(0, |i| i + 1);
    let element = declared(Element::gmd("parentIdentifier").with(Element::gco("CharacterString", parent)));
    root.children.insert(at, Node::Element(element));
    earlier
}

/// Sets the citation title of the first identificationInfo (its
/// CharacterString or Anchor), where [`summary`] read it.
fn set_title(root: &mut Element, title: &str) {
    let Some(info) = gmd_children(root, "identificationInfo").next() else {
        return;
    };
    let Some(id) = info.children.iter_mut().find_map(|n| match n {
        Node::Element(e) => Some(e),
        _ => None,
    }) else {
        return;
    };
    let value = gmd_children(id, "citation")
        .next()
        .and_then(|c| gmd_children(c, "CI_Citation").next())
        .and_then(|c| gmd_children(c, "title").next())
        .and_then(|t| {
            t.children.iter_mut().find_map(|n| match n {
                Node::Element(e) => Some(e),
                _ => None,
            })
        });
    if let Some(value) = value {
        value.children = vec![Node::Text(title.to_string())];
    }
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
