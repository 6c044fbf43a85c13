//! What is in the Mviewer apps directory now.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::render::owner_of;
use crate::placement::{HostDir, PlacementError};

#[derive(Debug, Default, Clone)]
pub struct ObservedDir {
    /// The `.xml` files, by file name.
    pub files: BTreeMap<String, ObservedFile>,
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

    fn link(target: PathBuf) -> Self {
        ObservedFile {
            content: String::new(),
            owner: None,
            link: Some(target),
        }
    }
}

pub fn observe(dir: &HostDir) -> Result<ObservedDir, PlacementError> {
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
    Ok(ObservedDir { files })
}
