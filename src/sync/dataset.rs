//! Datasets: a main file and its sidecars, grouped by folder and by the
//! main file's name, case-insensitively (`ROADS.SHP`, `roads.dbf` and
//! `Roads.CPG` are one shapefile, as Windows users make them).
//!
//! A change of any member re-loads the dataset. A dataset missing a member
//! it cannot be read without (a shapefile's `.shp` or `.shx`, a MapInfo
//! table's `.dat` or `.map`) is rejected with that reason; the rest of the
//! share goes on. Files that belong to no dataset (a PDF, a README) are
//! left alone.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::source::ShareFile;

/// What a dataset is, as the loader reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Shapefile,
    GeoPackage,
    GeoJson,
    Kml,
    Gml,
    MapInfoTab,
    MapInfoMif,
    FlatGeobuf,
    GeoTiff,
}

impl Format {
    pub fn is_raster(self) -> bool {
        self == Format::GeoTiff
    }

    pub fn label(self) -> &'static str {
        match self {
            Format::Shapefile => "shapefile",
            Format::GeoPackage => "GeoPackage",
            Format::GeoJson => "GeoJSON",
            Format::Kml => "KML",
            Format::Gml => "GML",
            Format::MapInfoTab => "MapInfo TAB",
            Format::MapInfoMif => "MapInfo MIF",
            Format::FlatGeobuf => "FlatGeobuf",
            Format::GeoTiff => "GeoTIFF",
        }
    }
}

/// The main files, by lowercase extension.
const MAIN: &[(&str, Format)] = &[
    ("shp", Format::Shapefile),
    ("gpkg", Format::GeoPackage),
    ("geojson", Format::GeoJson),
    ("kml", Format::Kml),
    ("kmz", Format::Kml),
    ("gml", Format::Gml),
    ("tab", Format::MapInfoTab),
    ("mif", Format::MapInfoMif),
    ("fgb", Format::FlatGeobuf),
    ("tif", Format::GeoTiff),
    ("tiff", Format::GeoTiff),
];

/// Sidecars every format may have: metadata (ArcGIS/ISO 19139 `.xml`,
/// QGIS `.qmd`) and styles (`.sld`, `.qml`).
const COMMON_SIDECARS: &[&str] = &["xml", "qmd", "sld", "qml"];

/// The sidecars of each format, and those it cannot be read without.
fn sidecars(format: Format) -> (&'static [&'static str], &'static [&'static str]) {
    match format {
        Format::Shapefile => (
            &[
                "shx", "dbf", "prj", "cpg", "qpj", "sbn", "sbx", "shp.xml", "shp.qpj", "atx", "fbn", "fbx",
                "ain", "aih", "ixs", "mxs",
            ],
            &["shx"],
        ),
        Format::GeoPackage => (&["gpkg-wal", "gpkg-shm"], &[]),
        Format::MapInfoTab => (&["dat", "map", "id", "ind"], &["dat", "map"]),
        Format::MapInfoMif => (&["mid"], &[]),
        Format::Gml => (&["xsd", "gfs"], &[]),
        Format::GeoTiff => (
            &[
                "tfw",
                "tifw",
                "tiffw",
                "wld",
                "tif.aux.xml",
                "tiff.aux.xml",
                "aux.xml",
                "ovr",
                "tif.ovr",
                "prj",
            ],
            &[],
        ),
        Format::GeoJson | Format::Kml | Format::FlatGeobuf => (&[], &[]),
    }
}

/// A dataset found in the share.
#[derive(Debug, Clone, Serialize)]
pub struct Dataset {
    /// The main file's path in the share: the dataset's identity.
    pub path: String,
    pub format: Format,
    pub main: ShareFile,
    /// Sidecars, by their lowercase extension (`dbf`, `shp.xml`).
    pub members: BTreeMap<String, ShareFile>,
}

impl Dataset {
    pub fn has(&self, extension: &str) -> bool {
        self.members.contains_key(extension)
    }

    /// Every file of the dataset, main file first.
    pub fn files(&self) -> impl Iterator<Item = &ShareFile> {
        std::iter::once(&self.main).chain(self.members.values())
    }

    /// What tells a change of the dataset apart: the main file's version
    /// and a digest of its sidecars' names and versions, `v1:<main>:<sidecars>`,
    /// so the ledger's record says which of the two changed.
    pub fn fingerprint(&self) -> Fingerprint {
        let main = digest(&self.main.version());
        let mut sidecars = Sha256::new();
        for (ext, file) in &self.members {
            sidecars.update(format!("{ext}={}\n", file.version()).as_bytes());
        }
        Fingerprint {
            main,
            sidecars: hex::encode(sidecars.finalize())[..16].to_string(),
        }
    }
}

/// A dataset's fingerprint, as recorded in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub main: String,
    pub sidecars: String,
}

impl Fingerprint {
    pub fn parse(text: &str) -> Option<Fingerprint> {
        let mut parts = text.strip_prefix("v1:")?.split(':');
        let (main, sidecars) = (parts.next()?, parts.next()?);
        Some(Fingerprint {
            main: main.to_string(),
            sidecars: sidecars.to_string(),
        })
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "v1:{}:{}", self.main, self.sidecars)
    }
}

fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))[..16].to_string()
}

/// A group of files that cannot be loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// The main file's path, or the path of a member when the main is missing.
    pub path: String,
    pub reason: String,
}

/// What the share holds, dataset by dataset.
#[derive(Debug, Default)]
pub struct Grouping {
    pub datasets: Vec<Dataset>,
    pub rejected: Vec<Rejected>,
    /// Files no dataset claims (documents, images without georeferencing sidecars).
    pub unclaimed: Vec<String>,
}

/// Groups the files of a share into datasets.
pub fn group(files: &[ShareFile]) -> Grouping {
    let mut by_folder: BTreeMap<&str, Vec<&ShareFile>> = BTreeMap::new();
    for file in files {
        let folder = file.path.rsplit_once('/').map_or("", |(folder, _)| folder);
        by_folder.entry(folder).or_default().push(file);
    }
    let mut grouping = Grouping::default();
    for files in by_folder.values() {
        group_folder(files, &mut grouping);
    }
    grouping.datasets.sort_by(|a, b| a.path.cmp(&b.path));
    grouping.rejected.sort_by(|a, b| a.path.cmp(&b.path));
    grouping
}

/// Splits a file name at the longest known extension: `a.shp.xml` -> (`a`, `shp.xml`).
fn split_name(name: &str) -> Option<(String, String)> {
    let lower = name.to_lowercase();
    const DOUBLE: &[&str] = &[
        "shp.xml",
        "shp.qpj",
        "tif.aux.xml",
        "tiff.aux.xml",
        "aux.xml",
        "tif.ovr",
    ];
    for ext in DOUBLE {
        if let Some(stem) = lower.strip_suffix(&format!(".{ext}")) {
            if !stem.is_empty() {
                return Some((stem.to_string(), ext.to_string()));
            }
        }
    }
    let dot = lower.rfind('.').filter(|d| *d > 0)?;
    Some((lower[..dot].to_string(), lower[dot + 1..].to_string()))
}

fn group_folder(files: &[&ShareFile], grouping: &mut Grouping) {
    // Files by lowercase stem, then by lowercase extension.
    let mut stems: BTreeMap<String, BTreeMap<String, Vec<&ShareFile>>> = BTreeMap::new();
    for file in files {
        match split_name(file.name()) {
            Some((stem, ext)) => stems.entry(stem).or_default().entry(ext).or_default().push(file),
            None => grouping.unclaimed.push(file.path.clone()),
        }
    }
    for (stem, by_ext) in &stems {
        group_stem(stem, by_ext, grouping);
    }
}

/// The files sharing one stem: at most one dataset per main format
/// (`a.shp` and `a.tif` side by side are two datasets).
fn group_stem(stem: &str, by_ext: &BTreeMap<String, Vec<&ShareFile>>, grouping: &mut Grouping) {
    let _ = stem;
    if let Some((ext, same)) = by_ext.iter().find(|(_, files)| files.len() > 1) {
        let names: Vec<&str> = same.iter().map(|f| f.name()).collect();
        grouping.rejected.push(Rejected {
            path: same[0].path.clone(),
            reason: format!(
                "{} differ only by case ({}): which `.{ext}` to load is ambiguous; rename or remove one",
                names.join(" and "),
                names.len()
            ),
        });
        return;
    }
    let one = |ext: &str| by_ext.get(ext).map(|files| files[0]);
    let mut claimed: Vec<&str> = Vec::new();
    for (ext, format) in MAIN {
        let Some(main) = one(ext) else { continue };
        claimed.push(ext);
        let (optional, required) = sidecars(*format);
        let mut members = BTreeMap::new();
        for sidecar in optional.iter().chain(COMMON_SIDECARS) {
            if let Some(file) = one(sidecar) {
                members.insert(sidecar.to_string(), file.clone());
                claimed.push(sidecar);
            }
        }
        let missing: Vec<String> = required
            .iter()
            .filter(|r| one(r).is_none())
            .map(|r| format!(".{r}"))
            .collect();
        if !missing.is_empty() {
            grouping.rejected.push(Rejected {
                path: main.path.clone(),
                reason: format!(
                    "{} without its {}: {} cannot be read without it",
                    format.label(),
                    missing.join(" and "),
                    if missing.len() > 1 { "it" } else { "the dataset" }
                ),
            });
            continue;
        }
        grouping.datasets.push(Dataset {
            path: main.path.clone(),
            format: *format,
            main: main.clone(),
            members,
        });
    }
    orphans(by_ext, &claimed, grouping);
}

/// Parts of a shapefile or MapInfo table without their main file are a
/// broken dataset (reported); other files are simply not data.
fn orphans(by_ext: &BTreeMap<String, Vec<&ShareFile>>, claimed: &[&str], grouping: &mut Grouping) {
    const SHAPEFILE_PARTS: &[&str] = &["shx", "dbf"];
    const TAB_PARTS: &[&str] = &["dat", "map", "id"];
    let left: Vec<(&String, &ShareFile)> = by_ext
        .iter()
        .filter(|(ext, _)| !claimed.contains(&ext.as_str()))
        .map(|(ext, files)| (ext, files[0]))
        .collect();
    let part_of = |parts: &[&str]| {
        left.iter()
            .find(|(ext, _)| parts.contains(&ext.as_str()))
            .map(|(_, f)| *f)
    };
    if let (Some(part), false) = (part_of(SHAPEFILE_PARTS), claimed.contains(&"shp")) {
        grouping.rejected.push(Rejected {
            path: part.path.clone(),
            reason: "shapefile without its .shp: the geometries are missing".into(),
        });
    } else if let (Some(part), false) = (part_of(TAB_PARTS), claimed.contains(&"tab")) {
        grouping.rejected.push(Rejected {
            path: part.path.clone(),
            reason: "MapInfo table parts without their .tab".into(),
        });
    } else {
        grouping
            .unclaimed
            .extend(left.iter().map(|(_, f)| f.path.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(paths: &[&str]) -> Vec<ShareFile> {
        paths
            .iter()
            .map(|p| ShareFile {
                path: p.to_string(),
                size: 1,
                modified: Some(1),
                etag: Some(format!("e-{p}")),
                checksum: None,
            })
            .collect()
    }

    #[test]
    fn groups_sidecars_case_insensitively() {
        let g = group(&files(&[
            "d/X.SHP",
            "d/x.shx",
            "d/X.Dbf",
            "d/x.PRJ",
            "d/x.CPG",
            "d/X.SHP.XML",
            "d/x.sld",
            "d/readme.pdf",
        ]));
        assert_eq!(g.datasets.len(), 1, "{g:?}");
        let d = &g.datasets[0];
        assert_eq!((d.path.as_str(), d.format), ("d/X.SHP", Format::Shapefile));
        let exts: Vec<_> = d.members.keys().map(String::as_str).collect();
        assert_eq!(exts, ["cpg", "dbf", "prj", "shp.xml", "shx", "sld"]);
        assert!(g.rejected.is_empty());
        assert_eq!(g.unclaimed, ["d/readme.pdf"]);
    }

    #[test]
    fn rejects_what_cannot_be_read() {
        let g = group(&files(&[
            "a/t.shp", "a/t.dbf", "b/u.shx", "b/u.dbf", "c/m.tab", "c/m.dat",
        ]));
        assert!(g.datasets.is_empty(), "{g:?}");
        let reasons: Vec<_> = g
            .rejected
            .iter()
            .map(|r| (r.path.as_str(), r.reason.as_str()))
            .collect();
        assert_eq!(reasons[0].0, "a/t.shp");
        assert!(reasons[0].1.contains(".shx"), "{reasons:?}");
        assert_eq!(reasons[1].0, "b/u.dbf");
        assert!(reasons[1].1.contains(".shp"), "{reasons:?}");
        assert_eq!(reasons[2].0, "c/m.tab");
        assert!(reasons[2].1.contains(".map"), "{reasons:?}");
    }

    #[test]
    fn same_stem_different_formats_and_case_clashes() {
        let g = group(&files(&[
            "r.tif",
            "r.tfw",
            "r.tif.aux.xml",
            "r.shp",
            "r.shx",
            "k.gpkg",
            "A.geojson",
            "a.GEOJSON",
        ]));
        let found: Vec<_> = g
            .datasets
            .iter()
            .map(|d| (d.path.as_str(), d.members.len()))
            .collect();
        assert_eq!(found, [("k.gpkg", 0), ("r.shp", 1), ("r.tif", 2)]);
        assert_eq!(g.rejected.len(), 1);
        assert!(
            g.rejected[0].reason.contains("differ only by case"),
            "{:?}",
            g.rejected
        );
    }

    #[test]
    fn fingerprints_tell_main_from_sidecar_changes() {
        let mut fs = files(&["t.shp", "t.shx", "t.sld"]);
        let before = group(&fs).datasets[0].fingerprint();
        assert_eq!(Fingerprint::parse(&before.to_string()), Some(before.clone()));
        fs[2].etag = Some("new".into());
        let after = group(&fs).datasets[0].fingerprint();
        assert_eq!(before.main, after.main);
        assert_ne!(before.sidecars, after.sidecars);
        fs[0].etag = Some("new".into());
        assert_ne!(group(&fs).datasets[0].fingerprint().main, after.main);
    }
}
