//! The data sync: publishes researchers' shared files (a WebDAV share of
//! ownCloud/Nextcloud, or a mounted folder) as PostGIS tables.
//!
//! It sits above the systems and uses their clients (PostgreSQL's), never
//! the reverse. One pass over a target (`pass.rs`):
//!
//! 1. `source/` walks the share (Depth-1 PROPFINDs, unchanged ownCloud
//!    folders skipped by their etag; or a local folder);
//! 2. `dataset.rs` groups the files into datasets (a main file and its
//!    sidecars, case-insensitively) and rejects broken ones with a reason;
//! 3. `plan.rs` compares them with the ledger (`ledger.rs`, a `geosync`
//!    schema in the target database) into typed changes with reasons;
//!    `naming.rs` gives new datasets stable, collision-free table names;
//! 4. each changed dataset is fetched into a staging folder (size, etag and
//!    checksum verified) and handed to the loader (`load/`), which swaps
//!    the new table in and marks it loaded in one transaction.
//!
//! The `[sync]` manifest section is `manifest/`.

pub mod claims;
pub mod daemon;
pub mod dataset;
pub mod ledger;
pub mod load;
pub mod manifest;
// The pass uses the records; some of the module's API (Record::digest,
// validate_blocking, Record::bbox and origin) only its tests read yet.
#[allow(dead_code, unused_imports)]
pub mod metadata;
pub mod naming;
pub mod pass;
pub mod plan;
pub mod privileges;
pub mod publish;
pub mod publishing;
pub mod shutdown;
pub mod source;
pub mod status;
