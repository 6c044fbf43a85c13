//! Placing whole files where a system reads them. Shared by every system
//! that manages a configuration file (Mviewer apps now; pg_hba.conf and
//! SASL configs later), so that atomic replacement is written once.

mod host;

pub use host::{HostDir, PlacementError};
