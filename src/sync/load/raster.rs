//! Rasters: checked and converted, not loaded into PostGIS (GeoServer
//! serves a GeoTIFF coverage far better than a raster table).
//!
//! Georeferencing is asked of GDAL, which reads it wherever the format keeps
//! it (GeoTIFF tags, a .tfw world file, a .aux.xml, ground control points);
//! an image GDAL cannot place on the earth is rejected with that reason,
//! as is one placed with no CRS. The copy is a Cloud Optimized GeoTIFF
//! (GDAL's COG driver: tiled, with overviews), or a tiled GeoTIFF where that
//! driver is missing; nodata is carried by GDAL's CreateCopy and checked
//! afterwards, band by band.

use std::path::{Path, PathBuf};

use gdal::raster::RasterCreationOptions;
use gdal::{Dataset, DatasetOptions, DriverManager, GdalOpenFlags};

use super::crs::{self, Crs};
use super::{Input, LoadError};

/// What `prepare_raster` wrote.
#[derive(Debug, Clone)]
pub struct RasterReport {
    /// The GeoTIFF to upload.
    pub path: PathBuf,
    /// The driver that wrote it: "COG" or "GTiff".
    pub driver: &'static str,
    pub width: usize,
    pub height: usize,
    pub bands: usize,
    /// Nodata of each band, as in the source.
    pub nodata: Vec<Option<f64>>,
    /// The EPSG code, or None for a CRS kept as WKT in the file.
    pub epsg: Option<u32>,
    pub warnings: Vec<String>,
}

/// Checks and converts one raster dataset into `out_dir`.
pub fn prepare_raster(input: &Input, out_dir: &Path) -> Result<RasterReport, LoadError> {
    let dataset = input.dataset();
    let links = link_members(input)?;
    let source = Dataset::open_ex(
        &links.1,
        DatasetOptions {
            open_flags: GdalOpenFlags::GDAL_OF_RASTER | GdalOpenFlags::GDAL_OF_READONLY,
            ..Default::default()
        },
    )
    .map_err(|e| LoadError::rejected(&dataset, format!("GDAL cannot open it as a raster: {e}")))?;
    let epsg = georeferencing(&source).map_err(|m| LoadError::rejected(&dataset, m))?;
    let nodata: Vec<Option<f64>> = source
        .rasterbands()
        .map(|b| b.map(|b| b.no_data_value()).unwrap_or(None))
        .collect();
    let (driver_name, options) = match DriverManager::get_driver_by_name("COG") {
        Ok(_) => (
            "COG",
            vec!["COMPRESS=DEFLATE", "BLOCKSIZE=512", "BIGTIFF=IF_SAFER"],
        ),
        Err(_) => ("GTiff", vec!["TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER"]),
    };
    let driver = DriverManager::get_driver_by_name(driver_name)
        .map_err(|e| LoadError::rejected(&dataset, format!("GDAL has no {driver_name} driver: {e}")))?;
    let stem = input
        .main
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "raster".into());
    let path = out_dir.join(format!("{stem}.tif"));
    let partial = out_dir.join(format!(".{stem}.tif.partial"));
    let options: RasterCreationOptions = options.into_iter().collect();
    let written = source
        .create_copy(&driver, &partial, &options)
        .map_err(|e| LoadError::Read {
            dataset: dataset.clone(),
            message: format!("converting it to GeoTIFF failed: {e}"),
        })?;
    let kept: Vec<Option<f64>> = written
        .rasterbands()
        .map(|b| b.map(|b| b.no_data_value()).unwrap_or(None))
        .collect();
    let (width, height) = written.raster_size();
    let bands = written.raster_count();
    drop(written);
    if !same_nodata(&kept, &nodata) {
        let _ = std::fs::remove_file(&partial);
        return Err(LoadError::Read {
            dataset,
            message: format!("the GeoTIFF lost the nodata values {nodata:?} (got {kept:?})"),
        });
    }
    std::fs::rename(&partial, &path).map_err(|e| LoadError::io(&dataset, &path, e))?;
    Ok(RasterReport {
        path,
        driver: driver_name,
        width,
        height,
        bands,
        nodata,
        epsg,
        warnings: Vec::new(),
    })
}

fn same_nodata(a: &[Option<f64>], b: &[Option<f64>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Some(x), Some(y)) => x == y || (x.is_nan() && y.is_nan()),
            (None, None) => true,
            _ => false,
        })
}

/// The raster's EPSG code (None when its CRS has none); an error when GDAL
/// cannot place it.
fn georeferencing(ds: &Dataset) -> Result<Option<u32>, String> {
    let has_transform = ds
        .geo_transform()
        .is_ok_and(|t| t != [0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    let has_gcps = !ds.gcps().is_empty();
    if !has_transform && !has_gcps {
        return Err("it is not georeferenced (no geotransform, world file or ground control points)".into());
    }
    let srs = if has_transform {
        ds.spatial_ref().ok()
    } else {
        ds.gcp_spatial_ref()
    };
    let Some(srs) = srs else {
        return Err("it is placed by a geotransform but has no CRS".into());
    };
    match crs::identify(srs)? {
        Crs::Epsg { code, .. } => Ok(Some(code)),
        Crs::Custom { .. } => Ok(None),
    }
}

/// Links the main file and its sidecars under one lower-case stem, so GDAL
/// finds the world file and .aux.xml whatever their case.
fn link_members(input: &Input) -> Result<(tempfile::TempDir, PathBuf), LoadError> {
    let dataset = input.dataset();
    let dir = tempfile::Builder::new()
        .prefix("geosync-raster-")
        .tempdir()
        .map_err(|e| LoadError::io(&dataset, &std::env::temp_dir(), e))?;
    let ext = input
        .main
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_else(|| "tif".into());
    let main = dir.path().join(format!("data.{ext}"));
    let link = |from: &Path, to: &Path| -> Result<(), LoadError> {
        let from = std::path::absolute(from).map_err(|e| LoadError::io(&dataset, from, e))?;
        std::os::unix::fs::symlink(&from, to).map_err(|e| LoadError::io(&dataset, to, e))
    };
    link(&input.main, &main)?;
    for (suffix, name) in [
        ("tfw", "data.tfw".to_string()),
        ("tifw", "data.tifw".to_string()),
        ("wld", "data.wld".to_string()),
        ("aux.xml", format!("data.{ext}.aux.xml")),
        ("prj", "data.prj".to_string()),
    ] {
        if let Some(member) = input.member(suffix) {
            link(member, &dir.path().join(name))?;
        }
    }
    Ok((dir, main))
}
