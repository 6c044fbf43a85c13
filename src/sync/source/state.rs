//! What the last walk of a share saw, kept in the run's state folder
//! (`<state>/sync/<target>/walk.json`): the next walk lists only the
//! folders whose etag changed. Losing it costs one full walk, nothing else:
//! what is loaded is recorded in the ledger, not here.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Folder, Walk};

/// Bumped when the meaning of a saved walk changes; an older one is ignored.
const FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WalkState {
    pub format: u32,
    /// The share it was taken of: a state of another share is not reused.
    pub source: String,
    pub propagates: bool,
    pub root: Folder,
}

impl WalkState {
    pub fn of(source: String, walk: &Walk) -> Self {
        WalkState {
            format: FORMAT,
            source,
            propagates: walk.propagates,
            root: walk.root.clone(),
        }
    }

    pub fn path(state_dir: &Path, target: &str) -> PathBuf {
        state_dir.join("sync").join(target).join("walk.json")
    }

    /// The saved walk of this share, if there is a readable one.
    pub fn load(path: &Path, source: &str) -> Option<WalkState> {
        let text = std::fs::read(path).ok()?;
        let state: WalkState = serde_json::from_slice(&text).ok()?;
        (state.format == FORMAT && state.source == source).then_some(state)
    }

    /// Written whole (temporary file, then rename): a crash leaves the old
    /// state or the new one.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer(&mut tmp, self)?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}
