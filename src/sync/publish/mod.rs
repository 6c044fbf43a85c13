//! Publishing a loaded dataset: its GeoServer layer with its style and
//! access rule (`layer`), its ISO 19139 record into the catalogue
//! (`catalogue`).

// `Catalogue::get` is read by its tests only (reading a record back).
#[allow(dead_code)]
pub mod catalogue;
pub mod layer;
