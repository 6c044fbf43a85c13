//! Anonymous volumes (`/data` in a manifest, compose's `- /data`, or an
//! image's VOLUME) belong to one container. When compose recreates a
//! container, the new one mounts the old one's volume at each path the
//! service declares anonymous, and at each VOLUME path of the new image the
//! service does not mount otherwise; anywhere else the old volume is left
//! behind. geosync replaces containers the same way, so a new image or
//! configuration does not lose that data.

use std::collections::BTreeMap;

use bollard::models::ImageInspect;

use super::manifest::{Mount, MountSource};
use super::{engine, DockerSystemError};

/// The old container's anonymous volumes the new one mounts, by path.
pub async fn inherited(
    docker: &bollard::Docker,
    old: &str,
    mounts: &[Mount],
    image: &ImageInspect,
) -> Result<BTreeMap<String, String>, DockerSystemError> {
    let inspected = docker
        .inspect_container(old, None)
        .await
        .map_err(engine(format!("inspecting {old}")))?;
    let old_volumes = inspected
        .mounts
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.typ.as_deref() == Some("volume"))
        .filter_map(|m| Some((m.destination?, m.name?)))
        .filter(|(_, name)| is_anonymous(name));
    let image_volumes: Vec<&String> = image
        .config
        .as_ref()
        .and_then(|c| c.volumes.as_ref())
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    Ok(old_volumes
        .filter(|(target, _)| kept(target, mounts, &image_volumes))
        .collect())
}

/// Whether compose would keep the old anonymous volume at `target`.
fn kept(target: &str, mounts: &[Mount], image_volumes: &[&String]) -> bool {
    match mounts.iter().find(|m| m.target == target) {
        Some(mount) => mount.source == MountSource::Anonymous,
        None => image_volumes.iter().any(|v| v.as_str() == target),
    }
}

/// The engine names an anonymous volume with 64 hexadecimal digits.
fn is_anonymous(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_names_are_64_hex_digits() {
        assert!(is_anonymous(&"0123456789abcdef".repeat(4)));
        assert!(!is_anonymous("gst_data"));
    }

    #[test]
    fn kept_where_declared_anonymous_or_an_image_volume_not_mounted_otherwise() {
        let mount = |source, target: &str| Mount {
            source,
            target: target.into(),
            read_only: false,
        };
        let mounts = vec![
            mount(MountSource::Anonymous, "/anon"),
            mount(MountSource::Volume("data".into()), "/named"),
        ];
        let image = ["/image".to_string(), "/named".to_string()];
        let image: Vec<&String> = image.iter().collect();
        assert!(kept("/anon", &mounts, &image));
        assert!(kept("/image", &mounts, &image));
        assert!(!kept("/named", &mounts, &image), "a named volume replaces it");
        assert!(!kept("/gone", &mounts, &image), "no longer declared anywhere");
    }
}
