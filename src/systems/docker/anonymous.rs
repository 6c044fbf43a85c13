//! Anonymous volumes (`/data` in a manifest, compose's `- /data`, or an
//! image's VOLUME) belong to one container, and compose keeps them when it
//! recreates that container: the new one mounts the old one's volumes at
//! the same paths. geosync does the same when it replaces a container, so
//! moving to a new image or configuration does not lose that data.

use std::collections::BTreeMap;

use super::{engine, DockerSystemError};

/// The anonymous volumes a container mounts, by mount path.
pub async fn volumes_of(
    docker: &bollard::Docker,
    container: &str,
) -> Result<BTreeMap<String, String>, DockerSystemError> {
    let inspected = docker
        .inspect_container(container, None)
        .await
        .map_err(engine(format!("inspecting {container}")))?;
    Ok(inspected
        .mounts
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.typ.as_deref() == Some("volume"))
        .filter_map(|m| Some((m.destination?, m.name?)))
        .filter(|(_, name)| is_anonymous(name))
        .collect())
}

/// The engine names an anonymous volume with 64 hexadecimal digits.
fn is_anonymous(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    #[test]
    fn anonymous_names_are_64_hex_digits() {
        assert!(super::is_anonymous(&"0123456789abcdef".repeat(4)));
        assert!(!super::is_anonymous("gst_data"));
    }
}
