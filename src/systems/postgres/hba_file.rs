//! Where pg_hba.conf lives (on the host or inside the database
//! container), read and written as bytes: what lies outside geosync's block
//! may be in any encoding and is kept byte for byte. Beside it,
//! `pg_hba.conf.geosync-previous` holds the file in force while a new one
//! is not yet checked and loaded by PostgreSQL.

use std::path::{Path, PathBuf};

use bollard::Docker;

use super::PostgresError;
use crate::placement::{ContainerFile, HostDir, PlacementError};

/// Suffix of the copy kept while a new file is not yet in force.
pub const PREVIOUS_SUFFIX: &str = ".geosync-previous";

#[derive(Clone)]
pub enum HbaFile {
    Host {
        /// The path as configured, for messages.
        shown: String,
        /// The real file's folder and name: a symlinked pg_hba.conf is
        /// written through its link, which stays a link.
        dir: HostDir,
        name: String,
    },
    Container(Box<InContainer>),
}

#[derive(Clone)]
pub struct InContainer {
    file: ContainerFile,
    previous: ContainerFile,
    previous_path: String,
}

#[derive(Clone)]
pub struct HbaContent {
    pub bytes: Vec<u8>,
    /// Owner and mode, kept when the file is replaced in a container.
    meta: Option<(u32, u64, u64)>,
}

impl HbaFile {
    pub fn on_host(path: &Path) -> Result<Self, PostgresError> {
        let real = real_path(path)?;
        Ok(HbaFile::Host {
            shown: path.display().to_string(),
            dir: HostDir::new(real.parent().map(Path::to_path_buf).unwrap_or_default()),
            name: real
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        })
    }

    /// A symlink in a container is refused when read (not a regular file):
    /// geosync never replaces it by a file.
    pub fn in_container(docker: Docker, container: &str, path: &str) -> Self {
        HbaFile::Container(Box::new(InContainer {
            file: ContainerFile::new(docker.clone(), container, path),
            previous: ContainerFile::new(docker, container, &format!("{path}{PREVIOUS_SUFFIX}")),
            previous_path: format!("{path}{PREVIOUS_SUFFIX}"),
        }))
    }

    pub fn describe(&self) -> String {
        match self {
            HbaFile::Host { shown, .. } => shown.clone(),
            HbaFile::Container(c) => c.file.describe(),
        }
    }

    pub async fn read(&self) -> Result<Option<HbaContent>, PostgresError> {
        match self {
            HbaFile::Host { dir, name, .. } => read_host(dir, name),
            HbaFile::Container(c) => read_container(&c.file).await,
        }
    }

    pub async fn write(&self, bytes: &[u8], like: &HbaContent) -> Result<(), PostgresError> {
        match self {
            HbaFile::Host { dir, name, .. } => dir.write_atomic(name, bytes, None)?,
            HbaFile::Container(c) => write_container(&c.file, bytes, like).await?,
        }
        Ok(())
    }

    /// The copy an unfinished write left, if any.
    pub async fn read_previous(&self) -> Result<Option<HbaContent>, PostgresError> {
        match self {
            HbaFile::Host { dir, name, .. } => read_host(dir, &previous_name(name)),
            HbaFile::Container(c) => read_container(&c.previous).await,
        }
    }

    /// Keeps `current` beside the file, durably, with its owner and mode.
    pub async fn write_previous(&self, current: &HbaContent) -> Result<(), PostgresError> {
        match self {
            HbaFile::Host { dir, name, .. } => {
                let mode = dir.mode(name)?;
                dir.write_atomic(&previous_name(name), &current.bytes, mode)?
            }
            HbaFile::Container(c) => write_container(&c.previous, &current.bytes, current).await?,
        }
        Ok(())
    }

    pub async fn remove_previous(&self) -> Result<(), PostgresError> {
        match self {
            HbaFile::Host { dir, name, .. } => dir.remove(&previous_name(name))?,
            HbaFile::Container(c) => {
                c.previous
                    .run(&["rm".into(), "-f".into(), c.previous_path.clone()])
                    .await?
            }
        }
        Ok(())
    }
}

fn previous_name(name: &str) -> String {
    format!("{name}{PREVIOUS_SUFFIX}")
}

/// The file a symlink leads to (any depth); the path itself otherwise.
fn real_path(path: &Path) -> Result<PathBuf, PostgresError> {
    match std::fs::canonicalize(path) {
        Ok(real) => Ok(real),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(path.to_path_buf()),
        Err(source) => Err(PlacementError::Read {
            path: path.to_path_buf(),
            source,
        }
        .into()),
    }
}

fn read_host(dir: &HostDir, name: &str) -> Result<Option<HbaContent>, PostgresError> {
    Ok(dir.read(name)?.map(|bytes| HbaContent { bytes, meta: None }))
}

async fn read_container(file: &ContainerFile) -> Result<Option<HbaContent>, PostgresError> {
    Ok(file.read().await?.map(|content| HbaContent {
        bytes: content.bytes,
        meta: Some((content.mode, content.uid, content.gid)),
    }))
}

async fn write_container(file: &ContainerFile, bytes: &[u8], like: &HbaContent) -> Result<(), PostgresError> {
    let (mode, uid, gid) = like.meta.unwrap_or((0o600, 0, 0));
    Ok(file.write(bytes, mode, uid, gid).await?)
}
