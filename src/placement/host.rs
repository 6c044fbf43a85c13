//! Files in a directory of the host, replaced atomically: a reader sees the
//! old file or the new one, never half of either.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PlacementError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is a symbolic link (to {target}) that geosync did not create: it is not replaced")]
    Symlink { path: PathBuf, target: PathBuf },
    #[error("cannot remove {path}")]
    Remove {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Mode of a new file: configs are read by services running as other users.
const NEW_FILE_MODE: u32 = 0o644;

#[derive(Debug, Clone)]
pub struct HostDir {
    root: PathBuf,
}

impl HostDir {
    pub fn new(root: PathBuf) -> Self {
        HostDir { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path_of(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Names of the regular files and symbolic links directly inside,
    /// sorted; none when the directory does not exist yet. Links are listed
    /// so that nothing is ever written in their place (see `link_target`).
    pub fn list(&self) -> Result<Vec<String>, PlacementError> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(PlacementError::Read {
                    path: self.root.clone(),
                    source,
                })
            }
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| PlacementError::Read {
                path: self.root.clone(),
                source,
            })?;
            let is_file = entry.file_type().is_ok_and(|t| t.is_file() || t.is_symlink());
            if let (true, Some(name)) = (is_file, entry.file_name().to_str()) {
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Where `name` points, when it is a symbolic link. geosync never
    /// writes links, so a link is never its own to replace.
    pub fn link_target(&self, name: &str) -> Result<Option<PathBuf>, PlacementError> {
        let path = self.path_of(name);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => std::fs::read_link(&path)
                .map(Some)
                .map_err(|source| PlacementError::Read { path, source }),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => Ok(None),
            Err(source) => Err(PlacementError::Read { path, source }),
        }
    }

    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>, PlacementError> {
        let path = self.path_of(name);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            // A parent that is not a directory means the file is not there.
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => Ok(None),
            Err(source) => Err(PlacementError::Read { path, source }),
        }
    }

    /// The permission bits of a file, if it exists.
    pub fn mode(&self, name: &str) -> Result<Option<u32>, PlacementError> {
        let path = self.path_of(name);
        match std::fs::metadata(&path) {
            Ok(meta) => Ok(Some(meta.permissions().mode() & 0o7777)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => Ok(None),
            Err(source) => Err(PlacementError::Read { path, source }),
        }
    }

    /// Writes through a temporary file in the same directory, flushed to
    /// disk, then renamed over the target. Without a mode, an existing file
    /// keeps its own.
    pub fn write_atomic(&self, name: &str, content: &[u8], mode: Option<u32>) -> Result<(), PlacementError> {
        let path = self.path_of(name);
        let fail = |source| PlacementError::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.root).map_err(fail)?;
        // Checked again at the last moment: a link may have appeared since
        // the plan. Never follow it, for content, owner or mode.
        if let Some(target) = self.link_target(name)? {
            return Err(PlacementError::Symlink { path, target });
        }
        let existing = std::fs::symlink_metadata(&path).ok();
        let mode = mode.unwrap_or_else(|| {
            existing
                .as_ref()
                .map_or(NEW_FILE_MODE, |m| m.permissions().mode() & 0o7777)
        });
        let mut temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".geosync-tmp")
            .tempfile_in(&self.root)
            .map_err(fail)?;
        temp.write_all(content).map_err(fail)?;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(fail)?;
        // The service reading the file may run as its owner (pg_hba.conf
        // belongs to postgres): the replacement keeps owner and group.
        if let Some(meta) = &existing {
            use std::os::unix::fs::MetadataExt;
            std::os::unix::fs::fchown(temp.as_file(), Some(meta.uid()), Some(meta.gid())).map_err(fail)?;
        }
        temp.as_file().sync_all().map_err(fail)?;
        // On error the temporary file is removed when `temp` drops.
        temp.persist(&path).map_err(|e| fail(e.error))?;
        sync_dir(&self.root).map_err(fail)
    }

    pub fn remove(&self, name: &str) -> Result<(), PlacementError> {
        let path = self.path_of(name);
        match std::fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.root).map_err(|source| PlacementError::Remove { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(PlacementError::Remove { path, source }),
        }
    }
}

/// Makes a rename durable: without it a crash can bring the old name back.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_keeping_mode_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let host = HostDir::new(dir.path().join("apps"));
        host.write_atomic("a.xml", b"one", None).unwrap();
        let path = host.path_of("a.xml");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        host.write_atomic("a.xml", b"two", None).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(host.list().unwrap(), vec!["a.xml".to_string()]);
    }

    #[test]
    fn a_parent_that_is_a_file_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("blocker"), "x").unwrap();
        let host = HostDir::new(dir.path().join("blocker/apps"));
        assert_eq!(host.read("a.xml").unwrap(), None);
        let err = host.write_atomic("a.xml", b"x", None).unwrap_err();
        assert!(err.to_string().contains("blocker/apps/a.xml"), "{err}");
    }
}
