//! The ISO 19139 schemas (schemas/iso19139, copied from pycsw: see its
//! README), embedded in the binary so the geosync container needs nothing
//! beside it. The validator writes them into a temporary folder once, since
//! their imports are relative paths libxml2 resolves on disk.

use std::path::Path;

/// (path under schemas/iso19139, content), every file of the tree.
pub const FILES: &[(&str, &[u8])] = &[
    (
        "20060504/gco/basicTypes.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gco/basicTypes.xsd"),
    ),
    (
        "20060504/gco/gco.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gco/gco.xsd"),
    ),
    (
        "20060504/gco/gcoBase.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gco/gcoBase.xsd"),
    ),
    (
        "20060504/gmd/applicationSchema.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmd/applicationSchema.xsd"),
    ),
    (
        "20060504/gmd/citation.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmd/citation.xsd"),
    ),
    (
        "20060504/gmd/constraints.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmd/constraints.xsd"),
    ),
    (
        "20060504/gmd/content.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmd/content.xsd"),
    ),
    (
        "20060504/gmd/dataQuality.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmd/dataQuality.xsd"),
    ),
    (
        "20060504/gmd/distribution.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmd/distribution.xsd"),
    ),
    (
        "20060504/gmd/extent.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmd/extent.xsd"),
    ),
    (
        "20060504/gmd/freeText.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmd/freeText.xsd"),
    ),
    (
        "20060504/gmd/gmd.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmd/gmd.xsd"),
    ),
    (
        "20060504/gmd/identification.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmd/identification.xsd"),
    ),
    (
        "20060504/gmd/maintenance.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmd/maintenance.xsd"),
    ),
    (
        "20060504/gmd/metadataApplication.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmd/metadataApplication.xsd"),
    ),
    (
        "20060504/gmd/metadataEntity.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmd/metadataEntity.xsd"),
    ),
    (
        "20060504/gmd/metadataExtension.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmd/metadataExtension.xsd"),
    ),
    (
        "20060504/gmd/portrayalCatalogue.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmd/portrayalCatalogue.xsd"),
    ),
    (
        "20060504/gmd/referenceSystem.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmd/referenceSystem.xsd"),
    ),
    (
        "20060504/gmd/spatialRepresentation.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmd/spatialRepresentation.xsd"),
    ),
    (
        "20060504/gml/basicTypes.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/basicTypes.xsd"),
    ),
    (
        "20060504/gml/coordinateOperations.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/coordinateOperations.xsd"),
    ),
    (
        "20060504/gml/coordinateReferenceSystems.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/coordinateReferenceSystems.xsd"),
    ),
    (
        "20060504/gml/coordinateSystems.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/coordinateSystems.xsd"),
    ),
    (
        "20060504/gml/coverage.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/coverage.xsd"),
    ),
    (
        "20060504/gml/datums.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/datums.xsd"),
    ),
    (
        "20060504/gml/dictionary.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/dictionary.xsd"),
    ),
    (
        "20060504/gml/direction.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/direction.xsd"),
    ),
    (
        "20060504/gml/dynamicFeature.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/dynamicFeature.xsd"),
    ),
    (
        "20060504/gml/feature.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/feature.xsd"),
    ),
    (
        "20060504/gml/geometryAggregates.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/geometryAggregates.xsd"),
    ),
    (
        "20060504/gml/geometryBasic0d1d.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/geometryBasic0d1d.xsd"),
    ),
    (
        "20060504/gml/geometryBasic2d.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/geometryBasic2d.xsd"),
    ),
    (
        "20060504/gml/geometryComplexes.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/geometryComplexes.xsd"),
    ),
    (
        "20060504/gml/geometryPrimitives.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/geometryPrimitives.xsd"),
    ),
    (
        "20060504/gml/gml.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/gml.xsd"),
    ),
    (
        "20060504/gml/gmlBase.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/gmlBase.xsd"),
    ),
    (
        "20060504/gml/grids.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/grids.xsd"),
    ),
    (
        "20060504/gml/measures.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/measures.xsd"),
    ),
    (
        "20060504/gml/observation.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/observation.xsd"),
    ),
    (
        "20060504/gml/referenceSystems.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/referenceSystems.xsd"),
    ),
    (
        "20060504/gml/temporal.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/temporal.xsd"),
    ),
    (
        "20060504/gml/temporalReferenceSystems.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/temporalReferenceSystems.xsd"),
    ),
    (
        "20060504/gml/temporalTopology.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/temporalTopology.xsd"),
    ),
    (
        "20060504/gml/topology.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/topology.xsd"),
    ),
    (
        "20060504/gml/units.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/units.xsd"),
    ),
    (
        "20060504/gml/valueObjects.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gml/valueObjects.xsd"),
    ),
    (
        "20060504/gmx/catalogues.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmx/catalogues.xsd"),
    ),
    (
        "20060504/gmx/codelistItem.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmx/codelistItem.xsd"),
    ),
    (
        "20060504/gmx/crsItem.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmx/crsItem.xsd"),
    ),
    (
        "20060504/gmx/extendedTypes.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmx/extendedTypes.xsd"),
    ),
    (
        "20060504/gmx/gmx.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmx/gmx.xsd"),
    ),
    (
        "20060504/gmx/gmxUsage.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmx/gmxUsage.xsd"),
    ),
    (
        "20060504/gmx/uomItem.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gmx/uomItem.xsd"),
    ),
    (
        "20060504/gsr/gsr.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gsr/gsr.xsd"),
    ),
    (
        "20060504/gsr/spatialReferencing.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gsr/spatialReferencing.xsd"),
    ),
    (
        "20060504/gss/geometry.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gss/geometry.xsd"),
    ),
    (
        "20060504/gss/gss.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gss/gss.xsd"),
    ),
    (
        "20060504/gts/gts.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gts/gts.xsd"),
    ),
    (
        "20060504/gts/temporalObjects.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/gts/temporalObjects.xsd"),
    ),
    (
        "20060504/srv/serviceMetadata.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/srv/serviceMetadata.xsd"),
    ),
    (
        "20060504/srv/serviceModel.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/srv/serviceModel.xsd"),
    ),
    (
        "20060504/srv/srv.xsd",
        include_bytes!("../../../schemas/iso19139/20060504/srv/srv.xsd"),
    ),
    (
        "w3c/1999/xlink.xsd",
        include_bytes!("../../../schemas/iso19139/w3c/1999/xlink.xsd"),
    ),
    (
        "w3c/2001/xml.xsd",
        include_bytes!("../../../schemas/iso19139/w3c/2001/xml.xsd"),
    ),
];

/// The schema a record is validated against: gmd, gmx (gmx:Anchor stands
/// for gco:CharacterString in many records) and srv, imported together.
pub const ENTRY: &str = "iso19139.xsd";

const ENTRY_SCHEMA: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:geosync:iso19139">
  <xs:import namespace="http://www.isotc211.org/2005/gmd" schemaLocation="20060504/gmd/gmd.xsd"/>
  <xs:import namespace="http://www.isotc211.org/2005/gmx" schemaLocation="20060504/gmx/gmx.xsd"/>
  <xs:import namespace="http://www.isotc211.org/2005/srv" schemaLocation="20060504/srv/srv.xsd"/>
</xs:schema>
"#;

/// Writes the tree and its entry schema under `dir`.
pub fn write_to(dir: &Path) -> std::io::Result<()> {
    for (path, content) in FILES {
        let file = dir.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(file, content)?;
    }
    std::fs::write(dir.join(ENTRY), ENTRY_SCHEMA)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of schemas/iso19139 is embedded, and nothing else.
    #[test]
    fn the_embedded_list_is_the_folder() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/iso19139");
        let mut on_disk = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "xsd") {
                    on_disk.push(path.strip_prefix(&root).unwrap().to_string_lossy().into_owned());
                }
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = FILES.iter().map(|(p, _)| p.to_string()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }
}
