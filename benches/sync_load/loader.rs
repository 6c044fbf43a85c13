//! The loader's own source files, compiled into the bench (the loader is a
//! library inside the geosync binary, which a bench cannot link).

#[path = "../../src/sync/ledger.rs"]
pub mod ledger;
#[path = "../../src/sync/load/mod.rs"]
pub mod load;
