//! What is in the Mviewer apps directory now.

use std::collections::BTreeMap;

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
}

impl ObservedFile {
    pub fn new(content: String) -> Self {
        let owner = owner_of(&content).map(str::to_string);
        ObservedFile { content, owner }
    }
}

pub fn observe(dir: &HostDir) -> Result<ObservedDir, PlacementError> {
    let mut files = BTreeMap::new();
    for name in dir.list()?.into_iter().filter(|n| n.ends_with(".xml")) {
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
