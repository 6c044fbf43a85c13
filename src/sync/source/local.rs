//! A share mounted as a local folder. Symbolic links are refused, not
//! followed: one could lead out of the share (or loop), and the sync reads
//! only what the share holds.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{
    check_name, join, FetchError, Folder, NameCheck, Refused, ShareFile, SourceError, Walk, WalkStats,
};

pub struct LocalShare {
    root: PathBuf,
}

impl LocalShare {
    pub fn new(root: PathBuf) -> Self {
        LocalShare { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Lists the whole folder (local reads are cheap: no etag shortcut).
    pub fn walk(&self) -> Result<Walk, SourceError> {
        let meta = std::fs::metadata(&self.root).map_err(|source| SourceError::Local {
            path: self.root.clone(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(SourceError::NotAFolder {
                path: self.root.clone(),
            });
        }
        let mut stats = WalkStats::default();
        let root = self.read_folder(&self.root, "", &mut stats)?;
        Ok(Walk {
            root,
            propagates: false,
            stats,
        })
    }

    fn read_folder(&self, dir: &Path, rel: &str, stats: &mut WalkStats) -> Result<Folder, SourceError> {
        stats.requests += 1;
        let fail = |source| SourceError::Local {
            path: dir.to_path_buf(),
            source,
        };
        let mut folder = Folder::default();
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(fail)?
            .collect::<Result<_, _>>()
            .map_err(fail)?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let raw_name = entry.file_name();
            let Ok(name) = std::str::from_utf8(raw_name.as_bytes()) else {
                folder.refused.push(Refused {
                    path: join(rel, &raw_name.to_string_lossy()),
                    reason: "the name is not valid UTF-8".into(),
                });
                continue;
            };
            let path = join(rel, name);
            let meta = entry.metadata().map_err(|source| SourceError::Local {
                path: entry.path(),
                source,
            })?;
            let kind = meta.file_type();
            if kind.is_symlink() {
                folder.refused.push(Refused {
                    path,
                    reason: "a symbolic link: the sync reads only files and folders inside the share".into(),
                });
                continue;
            }
            match check_name(name, kind.is_dir()) {
                NameCheck::Ignore => continue,
                NameCheck::Refuse(reason) => {
                    folder.refused.push(Refused { path, reason });
                    continue;
                }
                NameCheck::Keep => {}
            }
            if kind.is_dir() {
                let sub = self.read_folder(&entry.path(), &path, stats)?;
                folder.folders.insert(name.to_string(), sub);
            } else if kind.is_file() {
                folder.files.push(file_of(path, &meta));
            } else {
                folder.refused.push(Refused {
                    path,
                    reason: "not a regular file (a device, socket or pipe)".into(),
                });
            }
        }
        Ok(folder)
    }

    /// Copies the file, then checks it did not change meanwhile.
    pub async fn fetch(&self, file: &ShareFile, dest: &Path) -> Result<(), FetchError> {
        let source = self.root.join(&file.path);
        let read_fail = |e: std::io::Error| FetchError::Read {
            path: file.path.clone(),
            source: Box::new(e),
        };
        let before = tokio::fs::symlink_metadata(&source).await.map_err(read_fail)?;
        if !before.file_type().is_file() {
            return Err(FetchError::Changed {
                path: file.path.clone(),
                detail: "it is no longer a regular file".into(),
            });
        }
        let copied = tokio::fs::copy(&source, dest)
            .await
            .map_err(|e| FetchError::Write {
                path: dest.to_path_buf(),
                source: e,
            })?;
        let after = tokio::fs::symlink_metadata(&source).await.map_err(read_fail)?;
        let now = file_of(file.path.clone(), &after);
        if now.version() != file.version() || copied != file.size {
            return Err(FetchError::Changed {
                path: file.path.clone(),
                detail: format!("listed {} bytes, copied {copied}", file.size),
            });
        }
        Ok(())
    }
}

/// Local files have no etag: inode, modification time (nanoseconds) and
/// size stand for one, as WsgiDAV makes its etags.
fn file_of(path: String, meta: &std::fs::Metadata) -> ShareFile {
    ShareFile {
        path,
        size: meta.len(),
        modified: Some(meta.mtime()),
        etag: Some(format!(
            "{}-{}.{:09}-{}",
            meta.ino(),
            meta.mtime(),
            meta.mtime_nsec(),
            meta.len()
        )),
        checksum: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_lists_files_and_refuses_links_and_odd_names() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/_unpublished")).unwrap();
        std::fs::write(root.join("a/x.shp"), b"12").unwrap();
        std::fs::write(root.join("a/_unpublished/y.shp"), b"1").unwrap();
        std::fs::write(root.join(".hidden"), b"1").unwrap();
        std::fs::write(root.join("a/x.shp.part"), b"1").unwrap();
        std::fs::write(root.join("bad\u{7}name.shp"), b"1").unwrap();
        std::os::unix::fs::symlink("/etc", root.join("escape")).unwrap();
        let raw = std::ffi::OsStr::from_bytes(b"latin\xe9.shp");
        std::fs::write(root.join(raw), b"1").unwrap();
        let walk = LocalShare::new(root.to_path_buf()).walk().unwrap();
        let (files, refused) = walk.root.flatten();
        let paths: Vec<_> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["a/x.shp"]);
        assert_eq!(files[0].size, 2);
        let refused: Vec<_> = refused.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(refused, ["bad\u{7}name.shp", "escape", "latin\u{fffd}.shp"]);
    }

    #[test]
    fn a_missing_share_is_an_error_not_an_empty_share() {
        let dir = tempfile::tempdir().unwrap();
        let share = LocalShare::new(dir.path().join("gone"));
        assert!(matches!(share.walk(), Err(SourceError::Local { .. })));
    }
}
