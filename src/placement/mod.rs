//! Placing whole files where a system reads them: on the host or inside a
//! container. Shared by every system
//! that manages a configuration file (Mviewer apps now; pg_hba.conf and
//! SASL configs later), so that atomic replacement is written once.

mod container;
mod host;

pub use container::{connect_docker, ContainerFile, ContainerFileError, ContainerFolder};
pub use host::{HostDir, PlacementError};
