//! How geosync names and labels what it creates on the engine. Volume and
//! network names follow Docker Compose (`<project>_<name>`), so a platform
//! moved from compose to geosync keeps its volumes, and so its data.

pub const PROJECT: &str = "org.geosync.project";
pub const RESOURCE: &str = "org.geosync.resource";
pub const CONFIG_HASH: &str = "org.geosync.config-hash";
/// The recorded configuration, secrets redacted: what plans diff against.
pub const CONFIG: &str = "org.geosync.config";
pub const IMAGE_ID: &str = "org.geosync.image-id";
pub const DISPOSABLE: &str = "org.geosync.disposable";
pub const CONTEXT_HASH: &str = "org.geosync.context-hash";
pub const COMPOSE_PROJECT: &str = "com.docker.compose.project";
pub const COMPOSE_SERVICE: &str = "com.docker.compose.service";

pub fn container(project: &str, name: &str) -> String {
    format!("{project}-{name}")
}

/// The temporary name of a replacement, while the old container still runs.
pub fn replacement(project: &str, name: &str) -> String {
    format!("{project}-{name}-geosync-new")
}

pub fn network(project: &str, name: &str) -> String {
    format!("{project}_{name}")
}

pub fn volume(project: &str, name: &str) -> String {
    format!("{project}_{name}")
}
