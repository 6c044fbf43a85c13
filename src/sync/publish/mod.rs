//! Publishing loaded datasets: GeoServer layers with their styles and
//! access rules (`layer`).

// Called by the sync pass (branch wip-loop) once it is wired in; until
// then only the tests call it.
#[allow(dead_code)]
pub mod layer;
