//! `[[docker.file]]`: rendered files inside a container or a volume,
//! read and written through the Engine's archive API.
//!
//! A file in a volume outlives the containers that mount it: it is read
//! through whichever container mounts the volume now (running or not), so
//! replacing the container geosync writes through does not make the file
//! look absent, nor rerun its `on_change`.

use std::collections::HashMap;

use bollard::query_parameters::ListContainersOptionsBuilder;

use super::{engine, names, DockerSystem, DockerSystemError};
use crate::placement::file_diff::{ObservedFile, WriteFile};
use crate::placement::ContainerFile;
use crate::plan::{Action, Address, Change};
use crate::systems::docker::manifest::CONTAINER_KIND;
use crate::systems::docker::manifest::{DockerFile, MountSource, OnChange};

impl DockerSystem {
    fn container_file(&self, docker: &bollard::Docker, entry: &DockerFile) -> ContainerFile {
        let engine_name = names::container(&self.desired.project, &entry.container);
        ContainerFile::new(
            docker.clone(),
            &engine_name,
            &entry.file.path.display().to_string(),
        )
    }

    /// Files in a container created or replaced in this run are written
    /// after it: what was in the old one is gone with it. Files in a
    /// volume are read from the volume, whatever happens to the container.
    pub(super) async fn plan_files(
        &self,
        docker: &bollard::Docker,
        changes: &[Change],
    ) -> Result<Vec<Change>, DockerSystemError> {
        let mut planned = Vec::new();
        for (entry, desired) in &self.files {
            let container = Address::new(CONTAINER_KIND, &entry.container);
            let file = match &entry.volume {
                Some(volume) => self.volume_file(docker, entry, volume).await?,
                None => {
                    let container_change = changes.iter().find(|c| c.address == container).map(|c| c.action);
                    let fresh = matches!(container_change, None | Some(Action::Create | Action::Replace));
                    (!fresh).then(|| self.container_file(docker, entry))
                }
            };
            let observed = match file {
                Some(file) => file.read().await?.map(|content| {
                    let text = String::from_utf8_lossy(&content.bytes).into_owned();
                    ObservedFile {
                        display: self.redact_known(&text),
                        content: text,
                        mode: content.mode,
                    }
                }),
                None => None,
            };
            let mut change = crate::placement::file_diff::diff(desired, observed.as_ref());
            change.depends_on.push(container);
            planned.push(change);
        }
        Ok(planned)
    }

    /// The file as seen through any container that mounts the volume now;
    /// None when none does (the volume is new, or nothing mounts it yet).
    async fn volume_file(
        &self,
        docker: &bollard::Docker,
        entry: &DockerFile,
        volume: &str,
    ) -> Result<Option<ContainerFile>, DockerSystemError> {
        let engine_volume = names::volume(&self.desired.project, volume);
        let Some(relative) = self.path_in_volume(entry, volume) else {
            return Ok(None);
        };
        let filters = HashMap::from([("volume".to_string(), vec![engine_volume.clone()])]);
        let mounting = docker
            .list_containers(Some(
                ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(engine(format!(
                "listing the containers that mount {engine_volume}"
            )))?;
        for summary in mounting {
            let name = summary.names.and_then(|n| n.first().cloned()).or(summary.id);
            let (Some(name), Some(mounts)) = (name, summary.mounts) else {
                continue;
            };
            let name = name.trim_start_matches('/');
            let target = mounts
                .iter()
                .find(|m| m.name.as_deref() == Some(engine_volume.as_str()))
                .and_then(|m| m.destination.clone());
            if let Some(target) = target {
                let path = format!("{}/{relative}", target.trim_end_matches('/'));
                return Ok(Some(ContainerFile::new(docker.clone(), name, &path)));
            }
        }
        Ok(None)
    }

    /// The file's path relative to the volume's root: the manifest gives
    /// it inside the container geosync writes through.
    fn path_in_volume(&self, entry: &DockerFile, volume: &str) -> Option<String> {
        let writer = self
            .desired
            .containers
            .iter()
            .find(|c| c.name == entry.container)?;
        let target = writer.mounts.iter().find_map(|m| match &m.source {
            MountSource::Volume(v) if v == volume && !m.read_only => Some(m.target.as_str()),
            _ => None,
        })?;
        let relative = entry.file.path.strip_prefix(target).ok()?;
        Some(relative.display().to_string())
    }

    fn redact_known(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (entry, _) in &self.files {
            for secret in entry.file.secrets.values() {
                if crate::manifest::secret::worth_scrubbing(secret.expose()) {
                    out = out.replace(secret.expose(), crate::manifest::secret::SENSITIVE);
                }
            }
        }
        out
    }

    pub(super) async fn write_file(
        &self,
        address: &Address,
        write: &WriteFile,
    ) -> Result<(), DockerSystemError> {
        let docker = self.client().await?;
        let (entry, _) = self
            .files
            .iter()
            .find(|(_, desired)| &desired.change_address == address)
            .ok_or_else(|| DockerSystemError::ForeignChange(address.to_string()))?;
        let file = self.container_file(docker, entry);
        let existing = file.read().await?;
        let mode = write.mode.or(existing.as_ref().map(|e| e.mode)).unwrap_or(0o644);
        let (uid, gid) = entry
            .owner
            .or(existing.as_ref().map(|e| (e.uid, e.gid)))
            .unwrap_or((0, 0));
        file.write(write.content.as_bytes(), mode, uid, gid).await?;
        match &entry.on_change {
            None => Ok(()),
            Some(OnChange::Exec(command)) => Ok(file.run(command).await?),
            Some(OnChange::Restart) => {
                let engine_name = names::container(&self.desired.project, &entry.container);
                docker
                    .restart_container(&engine_name, None)
                    .await
                    .map_err(engine(format!("restarting {engine_name}")))
            }
        }
    }
}
