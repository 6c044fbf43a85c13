//! Placing whole files where a system reads them: on the host or inside a
//! container. Shared by every system
//! that manages a configuration file (Mviewer apps now; pg_hba.conf and
//! SASL configs later), so that atomic replacement is written once; and the
//! whole-file logic `[[file]]` and `[[docker.file]]` share: rendering with
//! and without secrets (`file_render`), planning a write (`file_diff`).

mod container;
pub mod file_diff;
pub mod file_render;
mod host;

pub use container::{connect_docker, ContainerFile, ContainerFileError, ContainerFolder, CONTAINER_KIND};
pub use host::{HostDir, PlacementError};
