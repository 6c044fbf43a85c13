//! The share the sync reads: a WebDAV folder (ownCloud, Nextcloud or any
//! WebDAV server) or a local folder (a mounted share). Read-only.
//!
//! A walk lists every file with what tells a change apart (etag, else size
//! and modification time). Folders whose etag did not change since the last
//! walk are not listed again when the server propagates folder etags
//! (ownCloud does; plain WebDAV servers do not, and are walked fully). A
//! walk that fails anywhere fails whole: a partial listing would look like
//! deleted files, and the sync never unpublishes what it could not see.

pub mod local;
pub mod state;
pub mod webdav;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use state::WalkState;

/// A file of the share, as the walk saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareFile {
    /// Its path in the share: `/`-separated, no leading `/`.
    pub path: String,
    pub size: u64,
    /// Seconds since the epoch (nanoseconds are not kept: WebDAV has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The server's checksum, `SHA1:<hex>` (ownCloud's oc:checksums).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

impl ShareFile {
    /// What changes when the file changes: the etag where the server gives
    /// one, else its size and modification time.
    pub fn version(&self) -> String {
        match &self.etag {
            Some(etag) => format!("etag:{etag}"),
            None => format!("size:{}:mtime:{}", self.size, self.modified.unwrap_or(0)),
        }
    }

    /// Its file name (the last segment of its path).
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// Something in the share the walk refused, with why (a name no table or
/// file system could hold safely, a symlink).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    pub path: String,
    pub reason: String,
}

/// One folder of a walk, with its subfolders: what the next walk reuses
/// when the folder's etag did not change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folder {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default)]
    pub files: Vec<ShareFile>,
    #[serde(default)]
    pub folders: BTreeMap<String, Folder>,
    #[serde(default)]
    pub refused: Vec<Refused>,
}

impl Folder {
    /// Every file and refusal below this folder, in path order.
    pub fn flatten(&self) -> (Vec<ShareFile>, Vec<Refused>) {
        let mut files = Vec::new();
        let mut refused = Vec::new();
        self.collect(&mut files, &mut refused);
        files.sort_by(|a, b| a.path.cmp(&b.path));
        refused.sort_by(|a, b| a.path.cmp(&b.path));
        (files, refused)
    }

    fn collect(&self, files: &mut Vec<ShareFile>, refused: &mut Vec<Refused>) {
        files.extend(self.files.iter().cloned());
        refused.extend(self.refused.iter().cloned());
        for folder in self.folders.values() {
            folder.collect(files, refused);
        }
    }
}

/// The outcome of a walk, with what it cost.
#[derive(Debug, Clone)]
pub struct Walk {
    pub root: Folder,
    /// Whether the server propagates folder etags (ownCloud): the next walk
    /// may then skip unchanged folders.
    pub propagates: bool,
    pub stats: WalkStats,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WalkStats {
    /// Requests sent to the server (PROPFIND), or folders read (local).
    pub requests: usize,
    /// Folders whose unchanged etag spared listing them again.
    pub reused: usize,
}

/// Why a name in the share is left out of the sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameCheck {
    Keep,
    /// Hidden files, sync-client temporaries, `_unpublished` folders: left
    /// out on purpose, silently.
    Ignore,
    /// A name the sync cannot handle safely: reported.
    Refuse(String),
}

/// Whether a file or folder name takes part in the sync.
pub fn check_name(name: &str, is_folder: bool) -> NameCheck {
    if name.is_empty() || name == "." || name == ".." {
        return NameCheck::Refuse("an empty or relative name".into());
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return NameCheck::Refuse(format!(
            "the name holds a control character ({})",
            c.escape_unicode()
        ));
    }
    if name.contains('/') || name.contains('\\') {
        return NameCheck::Refuse("the name holds a slash or a backslash".into());
    }
    let lower = name.to_lowercase();
    let ignored = name.starts_with('.')
        || name.starts_with("~$")
        || (is_folder && lower == "_unpublished")
        || (!is_folder && lower.ends_with(".part"));
    if ignored {
        NameCheck::Ignore
    } else {
        NameCheck::Keep
    }
}

/// Joins a folder path of the share and a name.
pub fn join(folder: &str, name: &str) -> String {
    if folder.is_empty() {
        name.to_string()
    } else {
        format!("{folder}/{name}")
    }
}

/// Errors of reading the share. None of them means "the files are gone".
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot reach the share at {url}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url}: the server answered {status} to {method}{hint}")]
    Status {
        url: String,
        method: &'static str,
        status: u16,
        hint: &'static str,
    },
    #[error("{url}: unreadable answer to PROPFIND: {message}")]
    BadAnswer { url: String, message: String },
    #[error("cannot read the share folder {}", path.display())]
    Local {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the share {} is not a folder", path.display())]
    NotAFolder { path: PathBuf },
    #[error("cannot set up the HTTP client")]
    Client(#[source] reqwest::Error),
    #[error("cannot set up TLS")]
    Tls(String),
}

/// Errors of fetching one file into the staging folder.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{path}: the file changed while it was read ({detail}); it is fetched again on the next pass")]
    Changed { path: String, detail: String },
    #[error("{path}: checksum mismatch: the server announced {expected}, the bytes give {actual}")]
    Checksum {
        path: String,
        expected: String,
        actual: String,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: reading the file failed midway")]
    Read {
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A share: where the files are read from.
pub enum Source {
    Local(local::LocalShare),
    WebDav(webdav::WebDavShare),
}

impl Source {
    /// What identifies the share in the walk state (a folder or a URL).
    pub fn identity(&self) -> String {
        match self {
            Source::Local(share) => share.root().display().to_string(),
            Source::WebDav(share) => share.base_url().to_string(),
        }
    }

    /// Lists the share, reusing the unchanged folders of `previous`.
    pub async fn walk(&self, previous: Option<&WalkState>) -> Result<Walk, SourceError> {
        match self {
            Source::Local(share) => share.walk(),
            Source::WebDav(share) => share.walk(previous).await,
        }
    }

    /// Copies one file into `dest`, checking that it is the file the walk
    /// saw (size, etag, checksum).
    pub async fn fetch(&self, file: &ShareFile, dest: &Path) -> Result<(), FetchError> {
        match self {
            Source::Local(share) => share.fetch(file, dest).await,
            Source::WebDav(share) => share.fetch(file, dest).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_left_out_and_refused() {
        for name in [
            ".hidden",
            ".~lock.roads.shp#",
            "~$notes.docx",
            "roads.shp.part",
            "x.PART",
        ] {
            assert_eq!(check_name(name, false), NameCheck::Ignore, "{name}");
        }
        assert_eq!(check_name("_unpublished", true), NameCheck::Ignore);
        assert_eq!(check_name("_UnPublished", true), NameCheck::Ignore);
        assert_eq!(check_name("_unpublished", false), NameCheck::Keep);
        assert_eq!(check_name("roads.shp", false), NameCheck::Keep);
        assert_eq!(check_name("été 2025.shp", false), NameCheck::Keep);
        assert!(matches!(check_name("a\nb.shp", false), NameCheck::Refuse(_)));
        assert!(matches!(check_name("a/b", false), NameCheck::Refuse(_)));
        assert!(matches!(check_name("..", true), NameCheck::Refuse(_)));
    }

    #[test]
    fn versions_use_the_etag_else_size_and_time() {
        let mut file = ShareFile {
            path: "a/b.shp".into(),
            size: 10,
            modified: Some(5),
            etag: None,
            checksum: None,
        };
        assert_eq!(file.version(), "size:10:mtime:5");
        assert_eq!(file.name(), "b.shp");
        file.etag = Some("\"x\"".into());
        assert_eq!(file.version(), "etag:\"x\"");
    }
}
