//! Publishing a loaded dataset: its ISO 19139 record into the catalogue
//! (`catalogue.rs`).

pub mod catalogue;
