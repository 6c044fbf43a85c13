//! Publishing a loaded dataset: its ISO 19139 record into the catalogue
//! (`catalogue.rs`), its GeoServer layer with its style and access rule
//! (`layer`).

pub mod catalogue;
pub mod layer;
