//! Reading a vector dataset through GDAL: which file to open and how, its
//! columns and geometry type, its CRS, and the reader thread that turns
//! features into binary COPY rows.
//!
//! The hot loop talks to OGR through gdal-sys: the gdal crate's feature API
//! allocates per field and cannot steal or force geometries, and a million
//! features make that visible.

use std::ffi::{c_char, c_int, CStr};
use std::path::{Path, PathBuf};

use gdal::vector::LayerAccess;
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use gdal_sys::{OGRFieldSubType, OGRFieldType, OGRwkbGeometryType};

use super::copy::RowWriter;
use super::crs::{self, Crs};
use super::encoding;
use super::{Input, LoadError, Target};

mod kept;
pub(super) mod load;
pub use load::load_vector;

/// Rows are handed to the COPY writer in chunks of about this size.
const CHUNK: usize = 1 << 20;

/// How a dataset is opened, and what it holds: everything the loader needs,
/// as plain data that can cross threads.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub dataset: String,
    /// The file GDAL opens (a link in `_links` for a shapefile).
    pub path: PathBuf,
    pub open_options: Vec<String>,
    pub layer: Option<String>,
    pub columns: Vec<Column>,
    pub geometry: GeomColumn,
    pub crs: Option<Crs>,
    pub bytes: u64,
    pub warnings: Vec<String>,
    /// The folder of links to the shapefile's members, removed on drop.
    pub _links: Option<std::sync::Arc<tempfile::TempDir>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnType {
    Bool,
    Int2,
    Int4,
    Int8,
    Float8,
    Text,
    Bytea,
    Date,
    Time,
    Timestamptz,
    /// OGR list fields, as a JSON array.
    Jsonb,
}

impl ColumnType {
    pub fn sql(self) -> &'static str {
        match self {
            ColumnType::Bool => "boolean",
            ColumnType::Int2 => "smallint",
            ColumnType::Int4 => "integer",
            ColumnType::Int8 => "bigint",
            ColumnType::Float8 => "double precision",
            ColumnType::Text => "text",
            ColumnType::Bytea => "bytea",
            ColumnType::Date => "date",
            ColumnType::Time => "time",
            ColumnType::Timestamptz => "timestamptz",
            ColumnType::Jsonb => "jsonb",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub name: String,
    pub source_index: c_int,
    pub source_type: OGRFieldType::Type,
    pub ty: ColumnType,
}

/// The geometry column: PostGIS type name and what features are forced to.
#[derive(Debug, Clone)]
pub(crate) struct GeomColumn {
    /// "MultiPolygon", "Point", "Geometry"...
    pub pg_type: &'static str,
    /// The OGR type every geometry is forced to (None: kept as is).
    pub force: Option<OGRwkbGeometryType::Type>,
    pub z: bool,
    pub m: bool,
}

impl GeomColumn {
    /// `geometry(MultiPolygonZ, 2154)`.
    pub fn sql(&self, srid: i32) -> String {
        let dims = match (self.z, self.m) {
            (false, false) => "",
            (true, false) => "Z",
            (false, true) => "M",
            (true, true) => "ZM",
        };
        format!("geometry({}{dims}, {srid})", self.pg_type)
    }
}

/// The layers of a vector file (a GeoPackage holds several).
pub fn layers(path: &Path) -> Result<Vec<String>, LoadError> {
    let name = path.display().to_string();
    let ds = open(path, &[]).map_err(|m| LoadError::rejected(&name, m))?;
    Ok(ds.layers().map(|l| l.name()).collect())
}

fn open(path: &Path, options: &[String]) -> Result<Dataset, String> {
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    Dataset::open_ex(
        path,
        DatasetOptions {
            open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
            open_options: (!options.is_empty()).then_some(&options[..]),
            ..Default::default()
        },
    )
    .map_err(|e| format!("GDAL cannot open it as vector data: {e}"))
}

/// Opens the dataset and decides everything before any row moves.
pub(crate) fn prepare(input: &Input, target: &Target) -> Result<Prepared, LoadError> {
    let dataset = input.dataset();
    if input.kind != super::Kind::Vector {
        return Err(LoadError::rejected(&dataset, "it is a raster, not vector data"));
    }
    if !input.main.is_file() {
        let name = input.main.file_name().unwrap_or_default().to_string_lossy();
        return Err(LoadError::rejected(
            &dataset,
            format!("its main file {name} is missing"),
        ));
    }
    let is_shp = input
        .main
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("shp"));
    let mut warnings = Vec::new();
    let (path, open_options, links, prj) = if is_shp {
        shapefile_files(input, &mut warnings)?
    } else {
        (input.main.clone(), Vec::new(), None, None)
    };
    let ds = open(&path, &open_options).map_err(|m| LoadError::rejected(&dataset, m))?;
    let mut layer = pick_layer(&ds, input).map_err(|m| LoadError::rejected(&dataset, m))?;
    let columns = columns(layer.defn());
    let mut layer_type = layer.defn().geometry_type();
    // SAFETY: pure function on an enum value.
    if unsafe { gdal_sys::OGR_GT_Flatten(layer_type) } == OGRwkbGeometryType::wkbUnknown {
        layer_type = scan_geometry_type(&mut layer);
    }
    let geometry = geom_column(layer_type).map_err(|m| LoadError::rejected(&dataset, m))?;
    let crs = match prj {
        Some(prj) => Some(crs::from_prj(&prj).map_err(|m| LoadError::rejected(&dataset, m))?),
        None if is_shp => None,
        None => match layer.spatial_ref() {
            Some(srs) => Some(crs::identify(srs).map_err(|m| LoadError::rejected(&dataset, m))?),
            None => None,
        },
    };
    if crs.is_none() && target.default_srid.is_none() {
        let what = if is_shp {
            "it has no .prj"
        } else {
            "its layer has no CRS"
        };
        return Err(LoadError::rejected(
            &dataset,
            format!("{what} and the target declares no default CRS"),
        ));
    }
    if let Some(Crs::Custom { .. }) = &crs {
        warnings.push("its CRS has no EPSG equivalent: kept as custom WKT".to_string());
    }
    let mut bytes = std::fs::metadata(&input.main).map(|m| m.len()).unwrap_or(0);
    for m in &input.members {
        bytes += std::fs::metadata(m).map(|m| m.len()).unwrap_or(0);
    }
    let layer_name = layer.name();
    Ok(Prepared {
        dataset,
        path,
        open_options,
        layer: Some(layer_name),
        columns,
        geometry,
        crs,
        bytes,
        warnings,
        _links: links.map(std::sync::Arc::new),
    })
}

type ShapefileFiles = (PathBuf, Vec<String>, Option<tempfile::TempDir>, Option<String>);

/// A shapefile's members under one lower-case stem in a folder of links
/// (GDAL finds sidecars only in lower or upper case), its encoding as an
/// open option, and its .prj text.
fn shapefile_files(input: &Input, warnings: &mut Vec<String>) -> Result<ShapefileFiles, LoadError> {
    let dataset = input.dataset();
    let shx = input
        .member("shx")
        .ok_or_else(|| LoadError::rejected(&dataset, "its .shx index file is missing"))?;
    let links = tempfile::Builder::new()
        .prefix("geosync-shp-")
        .tempdir()
        .map_err(|e| LoadError::io(&dataset, &std::env::temp_dir(), e))?;
    let link = |from: &Path, ext: &str| -> Result<PathBuf, LoadError> {
        let to = links.path().join(format!("data.{ext}"));
        let from = std::path::absolute(from).map_err(|e| LoadError::io(&dataset, from, e))?;
        std::os::unix::fs::symlink(&from, &to).map_err(|e| LoadError::io(&dataset, &to, e))?;
        Ok(to)
    };
    let shp = link(&input.main, "shp")?;
    link(shx, "shx")?;
    let mut options = Vec::new();
    match input.member("dbf") {
        Some(dbf) => {
            link(dbf, "dbf")?;
            let decided =
                encoding::decide(dbf, input.member("cpg")).map_err(|e| LoadError::io(&dataset, dbf, e))?;
            if decided.source == encoding::EncodingSource::Detected && decided.name != "UTF-8" {
                warnings.push(format!(
                    "no .cpg nor code page in the .dbf: text read as {} (detected)",
                    decided.name
                ));
            }
            options.push(format!("ENCODING={}", decided.name));
        }
        None => warnings.push("no .dbf: loaded without attributes".to_string()),
    }
    let prj = match input.member("prj") {
        Some(prj) => {
            let bytes = std::fs::read(prj).map_err(|e| LoadError::io(&dataset, prj, e))?;
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        None => None,
    };
    Ok((shp, options, Some(links), prj))
}

fn pick_layer<'a>(ds: &'a Dataset, input: &Input) -> Result<gdal::vector::Layer<'a>, String> {
    match &input.layer {
        Some(name) => ds
            .layer_by_name(name)
            .map_err(|_| format!("it has no layer named {name:?}")),
        None => match ds.layer_count() {
            0 => Err("it holds no vector layer".to_string()),
            1 => ds.layer(0).map_err(|e| e.to_string()),
            n => Err(format!("it holds {n} layers and none was chosen")),
        },
    }
}

/// The column of each attribute, named as ogr2ogr's PostgreSQL driver
/// would (lower case, unsafe characters to `_`, at most 63 bytes), typed
/// so that no value is cut.
fn columns(defn: &gdal::vector::Defn) -> Vec<Column> {
    let mut taken: Vec<String> = vec!["ogc_fid".into(), "geom".into()];
    let mut out = Vec::new();
    for (i, field) in defn.fields().enumerate() {
        let source_type = field.field_type();
        // SAFETY: the field definition handle belongs to the live layer.
        let subtype = unsafe {
            let h = gdal_sys::OGR_FD_GetFieldDefn(defn.c_defn(), i as c_int);
            gdal_sys::OGR_Fld_GetSubType(h)
        };
        let ty = column_type(source_type, subtype);
        let name = unique(launder(&field.name(), i), &mut taken);
        out.push(Column {
            name,
            source_index: i as c_int,
            source_type,
            ty,
        });
    }
    out
}

fn column_type(ty: OGRFieldType::Type, subtype: OGRFieldSubType::Type) -> ColumnType {
    match ty {
        OGRFieldType::OFTInteger if subtype == OGRFieldSubType::OFSTBoolean => ColumnType::Bool,
        OGRFieldType::OFTInteger if subtype == OGRFieldSubType::OFSTInt16 => ColumnType::Int2,
        OGRFieldType::OFTInteger => ColumnType::Int4,
        OGRFieldType::OFTInteger64 => ColumnType::Int8,
        OGRFieldType::OFTReal => ColumnType::Float8,
        OGRFieldType::OFTBinary => ColumnType::Bytea,
        OGRFieldType::OFTDate => ColumnType::Date,
        OGRFieldType::OFTTime => ColumnType::Time,
        OGRFieldType::OFTDateTime => ColumnType::Timestamptz,
        OGRFieldType::OFTIntegerList
        | OGRFieldType::OFTInteger64List
        | OGRFieldType::OFTRealList
        | OGRFieldType::OFTStringList => ColumnType::Jsonb,
        _ => ColumnType::Text,
    }
}

pub(crate) fn launder(name: &str, index: usize) -> String {
    let mut out: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() || c == '_' { c } else { '_' })
        .collect();
    if out.is_empty() {
        out = format!("field_{}", index + 1);
    }
    truncate(&out, 63).to_string()
}

fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn unique(name: String, taken: &mut Vec<String>) -> String {
    let mut candidate = name.clone();
    let mut n = 1;
    while taken.contains(&candidate) {
        n += 1;
        let suffix = format!("_{n}");
        candidate = format!("{}{suffix}", truncate(&name, 63 - suffix.len()));
    }
    taken.push(candidate.clone());
    candidate
}

/// The typed geometry column of a layer: every type promoted to its multi
/// type, as `ogr2ogr -nlt PROMOTE_TO_MULTI` does (a shapefile's "polygon"
/// layer mixes both, a GeoJSON file may too), so one column type holds
/// every feature.
fn geom_column(layer_type: OGRwkbGeometryType::Type) -> Result<GeomColumn, String> {
    use OGRwkbGeometryType as T;
    // SAFETY: pure functions on an enum value.
    let (flat, z, m) = unsafe {
        (
            gdal_sys::OGR_GT_Flatten(layer_type),
            gdal_sys::OGR_GT_HasZ(layer_type) != 0,
            gdal_sys::OGR_GT_HasM(layer_type) != 0,
        )
    };
    let (pg_type, force) = match flat {
        T::wkbPolygon | T::wkbMultiPolygon => ("MultiPolygon", Some(T::wkbMultiPolygon)),
        T::wkbLineString | T::wkbMultiLineString => ("MultiLineString", Some(T::wkbMultiLineString)),
        T::wkbPoint | T::wkbMultiPoint => ("MultiPoint", Some(T::wkbMultiPoint)),
        T::wkbUnknown | T::wkbGeometryCollection => ("Geometry", None),
        T::wkbNone => return Err("it has no geometry (a plain table is not a layer)".to_string()),
        other => {
            // SAFETY: returns a static string.
            let name = unsafe { CStr::from_ptr(gdal_sys::OGRGeometryTypeToName(other)) };
            return Err(format!(
                "its geometry type {} is not supported",
                name.to_string_lossy()
            ));
        }
    };
    let force = force.map(|t| {
        // SAFETY: pure function on enum values.
        unsafe { gdal_sys::OGR_GT_SetModifier(t, z as c_int, m as c_int) }
    });
    Ok(GeomColumn { pg_type, force, z, m })
}

/// The one geometry family of a layer that does not declare it (GeoJSON,
/// KML): its features' types, singles and multis together; Unknown when
/// they mix families (the column then takes any geometry).
fn scan_geometry_type(layer: &mut gdal::vector::Layer<'_>) -> OGRwkbGeometryType::Type {
    use OGRwkbGeometryType as T;
    let mut family = None;
    let (mut z, mut m) = (false, false);
    for feature in layer.features() {
        let Some(g) = feature.geometry() else { continue };
        let ty = g.geometry_type();
        // SAFETY: pure functions on an enum value.
        let (flat, has_z, has_m) = unsafe {
            (
                gdal_sys::OGR_GT_Flatten(ty),
                gdal_sys::OGR_GT_HasZ(ty) != 0,
                gdal_sys::OGR_GT_HasM(ty) != 0,
            )
        };
        let this = match flat {
            T::wkbPoint | T::wkbMultiPoint => T::wkbMultiPoint,
            T::wkbLineString | T::wkbMultiLineString => T::wkbMultiLineString,
            T::wkbPolygon | T::wkbMultiPolygon => T::wkbMultiPolygon,
            _ => return T::wkbUnknown,
        };
        if family.is_some_and(|f| f != this) {
            return T::wkbUnknown;
        }
        family = Some(this);
        z |= has_z;
        m |= has_m;
    }
    layer.reset_feature_reading();
    match family {
        // SAFETY: pure function on enum values.
        Some(f) => unsafe { gdal_sys::OGR_GT_SetModifier(f, z as c_int, m as c_int) },
        None => T::wkbUnknown,
    }
}

/// The single type a multi type collects.
fn single_of(multi: OGRwkbGeometryType::Type) -> Option<OGRwkbGeometryType::Type> {
    use OGRwkbGeometryType as T;
    match multi {
        T::wkbMultiPoint => Some(T::wkbPoint),
        T::wkbMultiLineString => Some(T::wkbLineString),
        T::wkbMultiPolygon => Some(T::wkbPolygon),
        _ => None,
    }
}

/// Counters the reader keeps.
#[derive(Debug, Default)]
pub(crate) struct ReadStats {
    pub features: u64,
    pub recoded_text: u64,
    pub bad_dates: u64,
}

/// Reads every feature and sends binary COPY chunks; runs on its own
/// thread. The first chunk starts with the COPY header, the last ends with
/// the trailer. Returns when done, when the receiver is gone, or on error.
pub(crate) fn read_rows(
    prepared: &Prepared,
    srid: u32,
    tx: tokio::sync::mpsc::Sender<Vec<u8>>,
    progress: &super::Progress,
) -> Result<ReadStats, LoadError> {
    use std::sync::atomic::Ordering::Relaxed;
    let dataset = &prepared.dataset;
    let read_error = |message: String| LoadError::Read {
        dataset: dataset.clone(),
        message,
    };
    let ds = open(&prepared.path, &prepared.open_options).map_err(read_error)?;
    let layer = match &prepared.layer {
        Some(name) => ds.layer_by_name(name),
        None => ds.layer(0),
    }
    .map_err(|e| read_error(e.to_string()))?;
    let mut reader = RowReader {
        prepared,
        srid,
        wkb: Vec::new(),
        stats: ReadStats::default(),
    };
    let mut w = RowWriter::with_capacity(CHUNK + CHUNK / 4);
    w.buf.extend_from_slice(super::copy::HEADER);
    // SAFETY: the layer handle lives as long as `ds`; each feature
    // returned by GetNextFeature is ours and destroyed after use.
    unsafe {
        let h = layer.c_layer();
        // Cheap where the format stores it (shapefile, GeoPackage).
        let total = gdal_sys::OGR_L_GetFeatureCount(h, 0);
        progress.total.store(total.max(0) as u64, Relaxed);
        gdal_sys::OGR_L_ResetReading(h);
        loop {
            let f = gdal_sys::OGR_L_GetNextFeature(h);
            if f.is_null() {
                break;
            }
            let row = reader.row(&mut w, f);
            gdal_sys::OGR_F_Destroy(f);
            row.map_err(&read_error)?;
            if w.buf.len() >= CHUNK {
                let full = std::mem::replace(&mut w.buf, Vec::with_capacity(CHUNK + CHUNK / 4));
                progress.features.store(reader.stats.features, Relaxed);
                if tx.blocking_send(full).is_err() {
                    return Ok(reader.stats);
                }
            }
        }
    }
    progress.features.store(reader.stats.features, Relaxed);
    w.buf.extend_from_slice(super::copy::TRAILER);
    let _ = tx.blocking_send(w.buf);
    Ok(reader.stats)
}

struct RowReader<'a> {
    prepared: &'a Prepared,
    srid: u32,
    wkb: Vec<u8>,
    stats: ReadStats,
}

impl RowReader<'_> {
    /// Appends one feature as a row: ogc_fid, geom, then the attributes.
    ///
    /// # Safety
    /// `f` must be a valid feature of the prepared layer.
    unsafe fn row(&mut self, w: &mut RowWriter, f: gdal_sys::OGRFeatureH) -> Result<(), String> {
        let fid = gdal_sys::OGR_F_GetFID(f);
        w.row(2 + self.prepared.columns.len() as u16);
        w.i64(fid);
        self.geometry(w, f).map_err(|m| format!("feature {fid}: {m}"))?;
        for column in &self.prepared.columns {
            self.field(w, f, column);
        }
        self.stats.features += 1;
        Ok(())
    }

    /// # Safety
    /// `f` must be a valid feature.
    unsafe fn geometry(&mut self, w: &mut RowWriter, f: gdal_sys::OGRFeatureH) -> Result<(), String> {
        let column = &self.prepared.geometry;
        let g = gdal_sys::OGR_F_GetGeometryRef(f);
        if g.is_null() {
            w.null();
            return Ok(());
        }
        let flat = gdal_sys::OGR_GT_Flatten(gdal_sys::OGR_G_GetGeometryType(g));
        let dims_fit =
            (gdal_sys::OGR_G_Is3D(g) != 0) == column.z && (gdal_sys::OGR_G_IsMeasured(g) != 0) == column.m;
        let expected = column.force.map(|t| gdal_sys::OGR_GT_Flatten(t));
        if dims_fit && expected.is_none_or(|e| e == flat) {
            self.export(g, 0)?;
            return w.ewkb(&self.wkb, self.srid);
        }
        // The common promotion (a Polygon in a MultiPolygon column): the
        // single's WKB inside a one-member multi header, no new geometry.
        if dims_fit && expected.is_some_and(|e| single_of(e) == Some(flat)) {
            self.export(g, 9)?;
            let code = expected.unwrap() + 1000 * column.z as u32 + 2000 * column.m as u32;
            self.wkb[0] = 1;
            self.wkb[1..5].copy_from_slice(&code.to_le_bytes());
            self.wkb[5..9].copy_from_slice(&1u32.to_le_bytes());
            return w.ewkb(&self.wkb, self.srid);
        }
        self.converted(w, f)
    }

    /// ISO WKB of `g` into `self.wkb`, after `offset` reserved bytes.
    ///
    /// # Safety
    /// `g` must be a valid geometry.
    unsafe fn export(&mut self, g: gdal_sys::OGRGeometryH, offset: usize) -> Result<(), String> {
        let size = gdal_sys::OGR_G_WkbSizeEx(g);
        self.wkb.resize(offset + size, 0);
        let out = self.wkb[offset..].as_mut_ptr();
        match gdal_sys::OGR_G_ExportToIsoWkb(g, gdal_sys::OGRwkbByteOrder::wkbNDR, out) {
            gdal_sys::OGRErr::OGRERR_NONE => Ok(()),
            _ => Err("its geometry cannot be written as WKB".to_string()),
        }
    }

    /// The slow path: GDAL converts the geometry (other types, dimensions).
    ///
    /// # Safety
    /// `f` must be a valid feature with a geometry.
    unsafe fn converted(&mut self, w: &mut RowWriter, f: gdal_sys::OGRFeatureH) -> Result<(), String> {
        let column = &self.prepared.geometry;
        let mut g = gdal_sys::OGR_F_StealGeometry(f);
        if let Some(to) = column.force {
            if gdal_sys::OGR_G_GetGeometryType(g) != to {
                g = gdal_sys::OGR_G_ForceTo(g, to, std::ptr::null_mut());
                if g.is_null() {
                    return Err("its geometry cannot be converted".to_string());
                }
            }
        }
        if (gdal_sys::OGR_G_Is3D(g) != 0) != column.z {
            gdal_sys::OGR_G_Set3D(g, column.z as c_int);
        }
        if (gdal_sys::OGR_G_IsMeasured(g) != 0) != column.m {
            gdal_sys::OGR_G_SetMeasured(g, column.m as c_int);
        }
        let ty = gdal_sys::OGR_GT_Flatten(gdal_sys::OGR_G_GetGeometryType(g));
        let expected = column.force.map(|t| gdal_sys::OGR_GT_Flatten(t));
        let result = if expected.is_none_or(|e| e == ty) {
            self.export(g, 0).and_then(|()| w.ewkb(&self.wkb, self.srid))
        } else {
            let name = CStr::from_ptr(gdal_sys::OGRGeometryTypeToName(ty));
            Err(format!(
                "a {} in a {} layer",
                name.to_string_lossy(),
                column.pg_type
            ))
        };
        gdal_sys::OGR_G_DestroyGeometry(g);
        result
    }

    /// # Safety
    /// `f` must be a valid feature holding `column.source_index`.
    unsafe fn field(&mut self, w: &mut RowWriter, f: gdal_sys::OGRFeatureH, column: &Column) {
        let i = column.source_index;
        if gdal_sys::OGR_F_IsFieldSetAndNotNull(f, i) == 0 {
            w.null();
            return;
        }
        match column.ty {
            ColumnType::Bool => w.bool(gdal_sys::OGR_F_GetFieldAsInteger(f, i) != 0),
            ColumnType::Int2 => w.i16(gdal_sys::OGR_F_GetFieldAsInteger(f, i) as i16),
            ColumnType::Int4 => w.i32(gdal_sys::OGR_F_GetFieldAsInteger(f, i)),
            ColumnType::Int8 => w.i64(gdal_sys::OGR_F_GetFieldAsInteger64(f, i)),
            ColumnType::Float8 => w.f64(gdal_sys::OGR_F_GetFieldAsDouble(f, i)),
            ColumnType::Text => {
                let text = c_text(gdal_sys::OGR_F_GetFieldAsString(f, i));
                match std::str::from_utf8(text) {
                    Ok(text) => w.text(text),
                    Err(_) => {
                        self.stats.recoded_text += 1;
                        w.text(&String::from_utf8_lossy(text));
                    }
                }
            }
            ColumnType::Bytea => {
                let mut len: c_int = 0;
                let p = gdal_sys::OGR_F_GetFieldAsBinary(f, i, &mut len);
                let bytes = if p.is_null() || len <= 0 {
                    &[][..]
                } else {
                    std::slice::from_raw_parts(p, len as usize)
                };
                w.bytes(bytes);
            }
            ColumnType::Date | ColumnType::Time | ColumnType::Timestamptz => self.datetime(w, f, column),
            ColumnType::Jsonb => w.jsonb(&list_json(f, column)),
        }
    }

    /// # Safety
    /// As `field`.
    unsafe fn datetime(&mut self, w: &mut RowWriter, f: gdal_sys::OGRFeatureH, column: &Column) {
        let (mut y, mut mo, mut d, mut h, mut mi, mut tz) = (0, 0, 0, 0, 0, 0);
        let mut s: f32 = 0.0;
        let ok = gdal_sys::OGR_F_GetFieldAsDateTimeEx(
            f,
            column.source_index,
            &mut y,
            &mut mo,
            &mut d,
            &mut h,
            &mut mi,
            &mut s,
            &mut tz,
        ) != 0;
        let written = ok
            && match column.ty {
                ColumnType::Date => w.date(y, mo as u32, d as u32),
                ColumnType::Time => {
                    w.time(h as u32, mi as u32, s as f64);
                    true
                }
                _ => match timestamp_micros(y, mo, d, h, mi, s, tz) {
                    Some(micros) => {
                        w.timestamp(micros);
                        true
                    }
                    None => false,
                },
            };
        if !written {
            self.stats.bad_dates += 1;
            w.null();
        }
    }
}

/// OGR's date-time parts as microseconds since 1970 UTC. TZ flag: 100 is
/// UTC, each step of 1 a quarter hour; unknown (0) and local (1) are read
/// as UTC.
fn timestamp_micros(y: i32, mo: i32, d: i32, h: i32, mi: i32, s: f32, tz: i32) -> Option<i64> {
    let date = chrono::NaiveDate::from_ymd_opt(y, mo as u32, d as u32)?;
    let time = chrono::NaiveTime::from_hms_opt(h as u32, mi as u32, 0)?;
    let base = date.and_time(time).and_utc().timestamp_micros();
    let offset_minutes = if tz > 1 { (tz as i64 - 100) * 15 } else { 0 };
    Some(base + (s as f64 * 1e6).round() as i64 - offset_minutes * 60_000_000)
}

/// # Safety
/// `p` must be null or a NUL-terminated string that outlives the result.
unsafe fn c_text<'a>(p: *const c_char) -> &'a [u8] {
    if p.is_null() {
        &[]
    } else {
        CStr::from_ptr(p).to_bytes()
    }
}

/// # Safety
/// As `RowReader::field`.
unsafe fn list_json(f: gdal_sys::OGRFeatureH, column: &Column) -> String {
    let i = column.source_index;
    let mut n: c_int = 0;
    let values: Vec<serde_json::Value> = match column.source_type {
        OGRFieldType::OFTIntegerList => {
            let p = gdal_sys::OGR_F_GetFieldAsIntegerList(f, i, &mut n);
            slice(p, n).iter().map(|v| (*v).into()).collect()
        }
        OGRFieldType::OFTInteger64List => {
            let p = gdal_sys::OGR_F_GetFieldAsInteger64List(f, i, &mut n);
            slice(p, n).iter().map(|v| (*v).into()).collect()
        }
        OGRFieldType::OFTRealList => {
            let p = gdal_sys::OGR_F_GetFieldAsDoubleList(f, i, &mut n);
            slice(p, n).iter().map(|v| (*v).into()).collect()
        }
        _ => {
            let mut out = Vec::new();
            let mut p = gdal_sys::OGR_F_GetFieldAsStringList(f, i);
            while !p.is_null() && !(*p).is_null() {
                out.push(String::from_utf8_lossy(c_text(*p)).into_owned().into());
                p = p.add(1);
            }
            out
        }
    };
    serde_json::Value::Array(values).to_string()
}

unsafe fn slice<'a, T>(p: *const T, n: c_int) -> &'a [T] {
    if p.is_null() || n <= 0 {
        &[]
    } else {
        std::slice::from_raw_parts(p, n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_laundered_like_ogr2ogr_and_kept_unique() {
        assert_eq!(launder("Nom Commune", 0), "nom_commune");
        assert_eq!(launder("Année", 0), "année");
        assert_eq!(launder("", 4), "field_5");
        let mut taken = vec!["geom".to_string()];
        assert_eq!(unique("geom".into(), &mut taken), "geom_2");
        assert_eq!(unique(launder(&"x".repeat(80), 0), &mut taken).len(), 63);
        assert!(unique(launder(&"x".repeat(80), 0), &mut taken).ends_with("_2"));
    }

    #[test]
    fn every_geometry_type_is_promoted_to_multi() {
        use OGRwkbGeometryType::*;
        assert_eq!(geom_column(wkbPolygon).unwrap().pg_type, "MultiPolygon");
        assert_eq!(
            geom_column(wkbLineString25D).unwrap().sql(2154),
            "geometry(MultiLineStringZ, 2154)"
        );
        assert_eq!(
            geom_column(wkbPoint).unwrap().sql(4326),
            "geometry(MultiPoint, 4326)"
        );
        assert!(geom_column(wkbNone).is_err());
    }

    #[test]
    fn timestamps_honour_the_ogr_tz_flag() {
        let utc = timestamp_micros(2020, 1, 1, 12, 0, 0.0, 100).unwrap();
        let plus_one = timestamp_micros(2020, 1, 1, 13, 0, 0.0, 104).unwrap();
        assert_eq!(utc, plus_one);
        assert!(timestamp_micros(2020, 2, 31, 0, 0, 0.0, 0).is_none());
    }
}
