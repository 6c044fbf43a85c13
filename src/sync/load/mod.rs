//! Loading one downloaded dataset: vectors into PostGIS, rasters into a
//! tiled GeoTIFF ready for upload.
//!
//! The sync pass (src/sync/mod.rs) downloads a dataset's files, then calls:
//!
//! - [`load_vector`]`(client, &Input, &Target)`: reads the file through GDAL
//!   (shapefile, GeoPackage layer, GeoJSON, any OGR format) and loads it
//!   into `Target.schema.Target.table` as typed, multi-promoted geometry
//!   with the right SRID and a GiST index. The rows go to a staging table
//!   by binary COPY while a reader thread decodes the next ones; then, in
//!   the same single transaction, the old table is dropped, the staging
//!   table takes its name and the ledger marks the dataset loaded: readers
//!   see the old table or the new one, never half of one, and a crash at
//!   any point leaves both the table and the ledger as they were. A failed
//!   load is recorded in the ledger (attempts, error, next retry) before
//!   the error is returned, so the caller must not record it again.
//! - [`prepare_raster`]`(&Input, out_dir)`: checks the georeferencing through
//!   GDAL and writes a tiled GeoTIFF (COG) keeping nodata.
//!   [`load_vector_with_progress`] also updates a shared [`Progress`].
//! - [`layers`]`(path)`: the layers of a multi-layer file (GeoPackage), one
//!   dataset each (`Input.layer`).
//!
//! Every error names the dataset (`Input.source_path`, and its layer).
//! `LoadError::is_rejection` tells a dataset that cannot load as it is (no
//! .prj, not georeferenced, unreadable) from a failure worth retrying as is
//! (database down).
//!
//! Decisions: a CRS without EPSG equivalent is kept as custom WKT under a
//! geosync-owned SRID (see `crs.rs`); a missing `.prj` takes
//! `Target.default_srid` or rejects the dataset; text is always UTF-8 (see
//! `encoding.rs`); the target table is replaced only when the ledger says
//! geosync made it (a table someone else made is never dropped).

mod copy;
pub mod crs;
pub mod encoding;
mod raster;
mod vector;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use raster::{prepare_raster, RasterReport};
pub use vector::load::load_vector_with_progress;
pub use vector::{layers, load_vector};

/// A dataset as downloaded: what the sync pass hands over.
#[derive(Debug, Clone)]
pub struct Input {
    /// Its path inside the share: its identity in the ledger and in errors.
    pub source_path: String,
    /// The local copy of the main file (.shp, .gpkg, .geojson, .tif...).
    pub main: PathBuf,
    /// The local copies of its sidecars (.shx, .dbf, .prj, .cpg, .tfw...).
    pub members: Vec<PathBuf>,
    pub kind: Kind,
    /// The layer to load from a multi-layer file (GeoPackage); None for a
    /// single-layer file (then a file with several layers is rejected).
    pub layer: Option<String>,
    /// The dataset's content fingerprint, recorded in the ledger.
    pub fingerprint: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Vector,
    Raster,
}

/// Where a vector dataset goes.
#[derive(Debug, Clone)]
pub struct Target {
    pub schema: String,
    pub table: String,
    /// The CRS assumed for a shapefile without .prj; None rejects it.
    pub default_srid: Option<u32>,
}

/// What a vector load did.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub features: u64,
    /// Bytes of the input files read.
    pub bytes: u64,
    pub srid: i32,
    pub duration: Duration,
    /// Facts a data manager should see (CRS guessed, text recoded...).
    pub warnings: Vec<String>,
}

/// Live counters of a running load, for a progress line (features, rate):
/// the reader updates them after each chunk; read them from another task.
#[derive(Debug, Default)]
pub struct Progress {
    /// Features read so far.
    pub features: std::sync::atomic::AtomicU64,
    /// Features in the layer when the format knows it cheaply, else 0.
    pub total: std::sync::atomic::AtomicU64,
}

/// Why a dataset did not load. Every message starts with the dataset.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The dataset cannot load as it is; retrying without a change is vain.
    #[error("{dataset}: rejected: {reason}")]
    Rejected { dataset: String, reason: String },
    /// GDAL failed while reading it.
    #[error("{dataset}: reading failed: {message}")]
    Read { dataset: String, message: String },
    /// PostgreSQL refused or failed.
    #[error("{dataset}: PostgreSQL: {message}")]
    Database { dataset: String, message: String },
    /// A local file could not be read or written.
    #[error("{dataset}: {path}: {source}")]
    Io {
        dataset: String,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl LoadError {
    /// True when the dataset itself is the problem (the sync reports it
    /// "rejected"); false for failures that a retry may fix.
    pub fn is_rejection(&self) -> bool {
        matches!(self, LoadError::Rejected { .. } | LoadError::Read { .. })
    }

    pub(crate) fn rejected(dataset: &str, reason: impl Into<String>) -> Self {
        LoadError::Rejected {
            dataset: dataset.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(dataset: &str, path: &Path, source: std::io::Error) -> Self {
        LoadError::Io {
            dataset: dataset.to_string(),
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn database(dataset: &str, error: &tokio_postgres::Error) -> Self {
        LoadError::Database {
            dataset: dataset.to_string(),
            message: pg_message(error),
        }
    }
}

/// A PostgreSQL error as one line: the server's message and detail, not
/// tokio-postgres's bare "db error".
pub(crate) fn pg_message(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => {
            let mut text = error.to_string();
            if let Some(source) = std::error::Error::source(error) {
                text = format!("{text}: {source}");
            }
            text
        }
    }
}

impl Input {
    /// The name errors and reports use: the share path, and the layer.
    pub fn dataset(&self) -> String {
        match &self.layer {
            Some(layer) => format!("{} (layer {layer})", self.source_path),
            None => self.source_path.clone(),
        }
    }

    /// The member whose name ends with `.ext`, in any case.
    pub(crate) fn member(&self, ext: &str) -> Option<&Path> {
        let suffix = format!(".{ext}");
        let stem = stem_lower(&self.main);
        let mut found: Option<&Path> = None;
        for m in &self.members {
            let name = file_name_lower(m);
            if !name.ends_with(&suffix) {
                continue;
            }
            // Prefer the sidecar with the main file's own stem.
            if name[..name.len() - suffix.len()] == stem || found.is_none() {
                found = Some(m.as_path());
            }
        }
        found
    }
}

fn file_name_lower(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

fn stem_lower(path: &Path) -> String {
    let name = file_name_lower(path);
    match name.rfind('.') {
        Some(dot) => name[..dot].to_string(),
        None => name,
    }
}

#[cfg(test)]
pub(crate) mod tests;
