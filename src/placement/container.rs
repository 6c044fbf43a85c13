//! A file inside a container, through the Docker Engine's archive API: read
//! as a tar stream, written as a tar holding the file under a temporary name
//! in the same folder, then renamed in place by `mv` inside the container so
//! a reader never sees half a file. Owner and mode are kept.

use bollard::errors::Error as DockerError;
use bollard::exec::{CreateExecOptions, StartExecOptions};
use bollard::query_parameters::{DownloadFromContainerOptionsBuilder, UploadToContainerOptionsBuilder};
use bollard::Docker;
use futures::StreamExt;

/// The kind of a container's address (`docker.container:NAME`): what a
/// change placing a file inside a container depends on.
pub const CONTAINER_KIND: &str = "docker.container";

/// Content and metadata of a file read from a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerFileContent {
    pub bytes: Vec<u8>,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ContainerFileError {
    #[error("cannot reach the Docker Engine")]
    Connect(#[source] DockerError),
    #[error("container {container}: cannot read {path}")]
    Read {
        container: String,
        path: String,
        #[source]
        source: DockerError,
    },
    #[error("container {container}: {path} is not a regular file")]
    NotAFile { container: String, path: String },
    #[error("container {container}: cannot write {path}")]
    Write {
        container: String,
        path: String,
        #[source]
        source: DockerError,
    },
    #[error("container {container}: `{command}` exited with {code}: {output}")]
    Exec {
        container: String,
        command: String,
        code: i64,
        output: String,
    },
    #[error("container {container}: cannot run `{command}`")]
    ExecStart {
        container: String,
        command: String,
        #[source]
        source: DockerError,
    },
    #[error("container {container}: {path}: malformed archive from the engine")]
    Archive {
        container: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Clone)]
pub struct ContainerFile {
    docker: Docker,
    container: String,
    path: String,
}

/// Connects to the engine named by DOCKER_HOST, or the local socket.
/// The one way geosync reaches the engine: `[docker] host` when the
/// manifest gives it (unix:// or tcp://), else DOCKER_HOST, else the local
/// socket; the API version is negotiated with the daemon.
pub async fn connect_docker(host: Option<&str>) -> Result<Docker, ContainerFileError> {
    let client = match host {
        Some(h) if h.starts_with("unix://") => {
            Docker::connect_with_socket(h.trim_start_matches("unix://"), 120, bollard::API_DEFAULT_VERSION)
        }
        Some(h) => Docker::connect_with_http(h, 120, bollard::API_DEFAULT_VERSION),
        None => Docker::connect_with_local_defaults(),
    }
    .map_err(ContainerFileError::Connect)?;
    client
        .negotiate_version()
        .await
        .map_err(ContainerFileError::Connect)
}

/// A path of a container as the Engine's archive (tar) of it; None when
/// the path, or with `absent_container_is_empty` the container, is missing.
async fn download(
    docker: &Docker,
    container: &str,
    path: &str,
    absent_container_is_empty: bool,
) -> Result<Option<Vec<u8>>, ContainerFileError> {
    let options = DownloadFromContainerOptionsBuilder::default().path(path).build();
    let mut stream = docker.download_from_container(container, Some(options));
    let mut archive = Vec::new();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => archive.extend_from_slice(&bytes),
            Err(DockerError::DockerResponseServerError {
                status_code: 404,
                message,
            }) if absent_container_is_empty || !message.contains("No such container") => return Ok(None),
            Err(source) => {
                return Err(ContainerFileError::Read {
                    container: container.to_string(),
                    path: path.to_string(),
                    source,
                })
            }
        }
    }
    Ok(Some(archive))
}

impl ContainerFile {
    pub fn new(docker: Docker, container: &str, path: &str) -> Self {
        ContainerFile {
            docker,
            container: container.to_string(),
            path: path.to_string(),
        }
    }

    pub fn describe(&self) -> String {
        format!("{}:{}", self.container, self.path)
    }

    /// None when the file does not exist.
    pub async fn read(&self) -> Result<Option<ContainerFileContent>, ContainerFileError> {
        let Some(archive) = download(&self.docker, &self.container, &self.path, false).await? else {
            return Ok(None);
        };
        let malformed = |source| ContainerFileError::Archive {
            container: self.container.clone(),
            path: self.path.clone(),
            source,
        };
        let mut tar = tar::Archive::new(archive.as_slice());
        let mut entries = tar.entries().map_err(malformed)?;
        let Some(entry) = entries.next() else {
            return Ok(None);
        };
        let mut entry = entry.map_err(malformed)?;
        let header = entry.header().clone();
        if !header.entry_type().is_file() {
            return Err(ContainerFileError::NotAFile {
                container: self.container.clone(),
                path: self.path.clone(),
            });
        }
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).map_err(malformed)?;
        Ok(Some(ContainerFileContent {
            bytes,
            mode: header.mode().map_err(malformed)? & 0o7777,
            uid: header.uid().map_err(malformed)?,
            gid: header.gid().map_err(malformed)?,
        }))
    }

    /// Replaces the file, with the owner and mode given.
    pub async fn write(&self, bytes: &[u8], mode: u32, uid: u64, gid: u64) -> Result<(), ContainerFileError> {
        let (dir, name) = self.path.rsplit_once('/').unwrap_or(("", &self.path));
        let temp_path = format!("{dir}/.{name}.geosync-tmp");
        let write_error = |source| ContainerFileError::Write {
            container: self.container.clone(),
            path: self.path.clone(),
            source,
        };
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(mode);
        header.set_uid(uid);
        header.set_gid(gid);
        header.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
        let mut builder = tar::Builder::new(Vec::new());
        builder
            // From the root, so missing folders on the way are created.
            .append_data(&mut header, temp_path.trim_start_matches('/'), bytes)
            .and_then(|()| builder.finish())
            .map_err(|source| ContainerFileError::Archive {
                container: self.container.clone(),
                path: self.path.clone(),
                source,
            })?;
        let archive = builder
            .into_inner()
            .map_err(|source| ContainerFileError::Archive {
                container: self.container.clone(),
                path: self.path.clone(),
                source,
            })?;
        let options = UploadToContainerOptionsBuilder::default().path("/").build();
        self.docker
            .upload_to_container(&self.container, Some(options), bollard::body_full(archive.into()))
            .await
            .map_err(write_error)?;
        self.run(&["mv".into(), "-f".into(), temp_path, self.path.clone()])
            .await
    }

    /// Runs a command in the container (a reload after a change); fails
    /// with its output when it exits non-zero.
    pub async fn run(&self, cmd: &[String]) -> Result<(), ContainerFileError> {
        let command = cmd.join(" ");
        let start_error = |source| ContainerFileError::ExecStart {
            container: self.container.clone(),
            command: command.clone(),
            source,
        };
        let exec = self
            .docker
            .create_exec(
                &self.container,
                CreateExecOptions {
                    cmd: Some(cmd.to_vec()),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .map_err(start_error)?;
        let started = self
            .docker
            .start_exec(&exec.id, None::<StartExecOptions>)
            .await
            .map_err(start_error)?;
        let mut output = String::new();
        if let bollard::exec::StartExecResults::Attached {
            output: mut stream, ..
        } = started
        {
            while let Some(Ok(chunk)) = stream.next().await {
                output.push_str(&chunk.to_string());
            }
        }
        let inspect = self.docker.inspect_exec(&exec.id).await.map_err(start_error)?;
        match inspect.exit_code {
            Some(0) => Ok(()),
            code => Err(ContainerFileError::Exec {
                container: self.container.clone(),
                command,
                code: code.unwrap_or(-1),
                output: output.trim().to_string(),
            }),
        }
    }
}

/// A folder inside a container: its files read in one archive, each
/// written as a [`ContainerFile`].
#[derive(Debug, Clone)]
pub struct ContainerFolder {
    docker: Docker,
    container: String,
    dir: String,
}

impl ContainerFolder {
    pub fn new(docker: Docker, container: &str, dir: &str) -> Self {
        ContainerFolder {
            docker,
            container: container.to_string(),
            dir: dir.trim_end_matches('/').to_string(),
        }
    }

    pub fn describe(&self) -> String {
        format!("{}:{}", self.container, self.dir)
    }

    pub fn file(&self, name: &str) -> ContainerFile {
        ContainerFile::new(
            self.docker.clone(),
            &self.container,
            &format!("{}/{name}", self.dir),
        )
    }

    /// The regular files directly inside, by name; none when the folder
    /// does not exist yet.
    /// The regular files directly inside, by name, and the symbolic links
    /// with where they point: geosync never writes links, so a link is
    /// never its own to replace.
    pub async fn read_all(&self) -> Result<FolderListing, ContainerFileError> {
        // No container yet means nothing there: it is created in the same
        // run, before anything is written into it.
        let Some(archive) = download(&self.docker, &self.container, &self.dir, true).await? else {
            return Ok(FolderListing::default());
        };
        let malformed = |source| ContainerFileError::Archive {
            container: self.container.clone(),
            path: self.dir.clone(),
            source,
        };
        let mut listing = FolderListing::default();
        let mut tar = tar::Archive::new(archive.as_slice());
        for entry in tar.entries().map_err(malformed)? {
            let mut entry = entry.map_err(malformed)?;
            let kind = entry.header().entry_type();
            if !kind.is_file() && !kind.is_symlink() {
                continue;
            }
            let path = entry.path().map_err(malformed)?.into_owned();
            // Entries are "<folder>/<name>": only direct children count.
            let parts: Vec<_> = path.components().collect();
            if parts.len() != 2 {
                continue;
            }
            let name = parts[1].as_os_str().to_string_lossy().into_owned();
            if kind.is_symlink() {
                let target = entry
                    .link_name()
                    .map_err(malformed)?
                    .unwrap_or_default()
                    .into_owned();
                listing.links.insert(name, target);
                continue;
            }
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).map_err(malformed)?;
            listing.files.insert(name, bytes);
        }
        Ok(listing)
    }

    pub async fn remove(&self, name: &str) -> Result<(), ContainerFileError> {
        self.file(name)
            .run(&["rm".to_string(), "-f".to_string(), format!("{}/{name}", self.dir)])
            .await
    }
}

/// What a folder in a container holds.
#[derive(Debug, Default)]
pub struct FolderListing {
    pub files: std::collections::BTreeMap<String, Vec<u8>>,
    pub links: std::collections::BTreeMap<String, std::path::PathBuf>,
}
