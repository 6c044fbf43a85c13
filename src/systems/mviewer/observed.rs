//! What is in the Mviewer apps directory now.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::render::owner_of;
use crate::placement::{HostDir, PlacementError};

#[derive(Debug, Default, Clone)]
pub struct ObservedDir {
    /// The `.xml` files, by file name.
    pub files: BTreeMap<String, ObservedFile>,
    /// The Mviewer install the folder belongs to, when it can be told.
    pub served_from: Option<ServedFrom>,
}

/// The folder Mviewer's index.html is in: paths in a config (logo, help,
/// base layer thumbnails) are relative to it, since the browser resolves
/// them against the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedFrom {
    pub root: PathBuf,
    /// Which of the paths the apps name exist there.
    pub present: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedFile {
    pub content: String,
    /// The app geosync wrote this file for; none for a file it did not write.
    pub owner: Option<String>,
    /// Where it points, when it is a symbolic link: never geosync's.
    pub link: Option<PathBuf>,
}

impl ObservedFile {
    pub fn new(content: String) -> Self {
        let owner = owner_of(&content).map(str::to_string);
        ObservedFile {
            content,
            owner,
            link: None,
        }
    }

    pub fn link(target: PathBuf) -> Self {
        ObservedFile {
            content: String::new(),
            owner: None,
            link: Some(target),
        }
    }
}

/// `assets`: the relative paths the apps name, to look up in the install.
pub fn observe(dir: &HostDir, assets: &BTreeSet<String>) -> Result<ObservedDir, PlacementError> {
    let mut files = BTreeMap::new();
    for name in dir.list()?.into_iter().filter(|n| n.ends_with(".xml")) {
        if let Some(target) = dir.link_target(&name)? {
            files.insert(name, ObservedFile::link(target));
            continue;
        }
        // Gone between listing and reading: it is simply not there.
        if let Some(bytes) = dir.read(&name)? {
            files.insert(
                name,
                ObservedFile::new(String::from_utf8_lossy(&bytes).into_owned()),
            );
        }
    }
    Ok(ObservedDir {
        files,
        served_from: served_from(dir.root(), assets),
    })
}

/// The nearest folder above the apps folder (up to three levels, as in
/// `mviewer/apps/site/`) that holds Mviewer's index.html and js/mviewer.js.
fn served_from(apps: &Path, assets: &BTreeSet<String>) -> Option<ServedFrom> {
    let root = apps
        .ancestors()
        .skip(1)
        .take(3)
        .find(|dir| dir.join("index.html").is_file() && dir.join("js/mviewer.js").is_file())?;
    let present = assets
        .iter()
        .filter(|asset| root.join(asset).exists())
        .cloned()
        .collect();
    Some(ServedFrom {
        root: root.to_path_buf(),
        present,
    })
}
