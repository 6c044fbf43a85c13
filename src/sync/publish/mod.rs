//! Publishing a loaded dataset: its GeoServer layer with its style and
//! access rule (`layer`), its ISO 19139 record into the catalogue
//! (`catalogue`).

pub mod catalogue;
pub mod layer;
