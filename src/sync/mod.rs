//! The data sync: read the cloud share, load each dataset into PostGIS.
//!
//! (This file is a placeholder for the sync pass, which lands separately;
//! it only declares the modules the loading half provides.)

pub mod ledger;
pub mod load;
