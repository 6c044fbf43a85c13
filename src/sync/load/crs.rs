//! Which coordinate reference system a dataset is in, as a PostGIS SRID.
//!
//! A `.prj` written by ArcGIS is ESRI-flavoured WKT with no authority code
//! ("RGF93_Lambert_93"), and GDAL's AutoIdentifyEPSG gives up on it. GDAL's
//! `OSRFindMatches` (not wrapped by the gdal crate, hence gdal-sys) compares
//! it with the whole EPSG database through PROJ and finds 2154 with
//! confidence 100. We accept a match only at confidence >= 90 and only if
//! it is the single best one, or when every parameter is equal
//! (OSRIsSameEx) whatever the names: a wrong SRID silently moves data,
//! which is worse than a custom one.
//!
//! A CRS that matches nothing is kept exactly as written: its WKT goes into
//! `spatial_ref_sys` under a geosync-owned SRID (`CUSTOM_SRID_FIRST`..,
//! `auth_name = 'geosync'`), reused when the same WKT comes again. That
//! range sits inside the block PostGIS leaves to users (up to 998999) and
//! away from the 900913 that old tools insert.

use std::ffi::{c_char, c_int};

use gdal::spatial_ref::SpatialRef;

/// First SRID geosync gives to a CRS without an EPSG code.
pub const CUSTOM_SRID_FIRST: i32 = 940_000;
/// Last one (PostGIS refuses user SRIDs above 998999).
pub const CUSTOM_SRID_LAST: i32 = 949_999;

/// The CRS of a dataset, as far as GDAL can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Crs {
    /// An EPSG code, and how it was found.
    Epsg { code: u32, how: &'static str },
    /// No EPSG equivalent: kept as this WKT (WKT1, as PostGIS stores it),
    /// with its PROJ string when GDAL can make one.
    Custom { wkt: String, proj4: String },
}

/// Reads a `.prj` (ESRI or OGC WKT, or anything OSRSetFromUserInput takes).
pub fn from_prj(content: &str) -> Result<Crs, String> {
    let text = content.trim().trim_start_matches('\u{feff}');
    if text.is_empty() {
        return Err("the .prj file is empty".to_string());
    }
    let srs = SpatialRef::from_definition(text)
        .or_else(|_| SpatialRef::from_esri(text))
        .map_err(|e| format!("the .prj is not a CRS GDAL can read: {e}"))?;
    identify(srs)
}

/// Identifies a CRS read from a dataset.
pub fn identify(mut srs: SpatialRef) -> Result<Crs, String> {
    if let Some(code) = epsg_authority(&srs) {
        return Ok(Crs::Epsg {
            code,
            how: "its EPSG authority code",
        });
    }
    if let Some(code) = find_match(&srs) {
        return Ok(Crs::Epsg {
            code,
            how: "matching it against the EPSG database",
        });
    }
    if srs.auto_identify_epsg().is_ok() {
        if let Some(code) = epsg_authority(&srs) {
            return Ok(Crs::Epsg {
                code,
                how: "GDAL's AutoIdentifyEPSG",
            });
        }
    }
    let wkt = srs
        .to_wkt()
        .map_err(|e| format!("GDAL cannot write the CRS as WKT: {e}"))?;
    let proj4 = srs.to_proj4().unwrap_or_default();
    Ok(Crs::Custom { wkt, proj4 })
}

fn epsg_authority(srs: &SpatialRef) -> Option<u32> {
    let name = srs.auth_name()?;
    if !name.eq_ignore_ascii_case("EPSG") {
        return None;
    }
    srs.auth_code().ok().and_then(|c| u32::try_from(c).ok())
}

/// OSRFindMatches: the single best EPSG match at confidence >= 90.
fn find_match(srs: &SpatialRef) -> Option<u32> {
    let mut count: c_int = 0;
    let mut confidences: *mut c_int = std::ptr::null_mut();
    // SAFETY: the handle is valid for the call; GDAL returns an array of
    // `count` new SRS handles and confidences we free below.
    let matches = unsafe {
        gdal_sys::OSRFindMatches(
            srs.to_c_hsrs(),
            std::ptr::null_mut(),
            &mut count,
            &mut confidences,
        )
    };
    if matches.is_null() {
        return None;
    }
    let mut candidates = Vec::new();
    for i in 0..count.max(0) as usize {
        // SAFETY: i < count, both arrays hold `count` entries.
        let (handle, confidence) = unsafe { (*matches.add(i), *confidences.add(i)) };
        // SAFETY: both handles stay valid until OSRFreeSRSArray below.
        if confidence < 90 && !unsafe { equivalent(handle, srs.to_c_hsrs()) } {
            continue;
        }
        // SAFETY: as above.
        let authority = unsafe { authority_of(handle) };
        if let Some(code) = authority {
            candidates.push((confidence, code));
        }
    }
    // SAFETY: both come from OSRFindMatches and are freed once.
    unsafe {
        gdal_sys::OSRFreeSRSArray(matches);
        gdal_sys::VSIFree(confidences.cast());
    }
    let best = candidates.iter().map(|c| c.0).max()?;
    let mut top = candidates.iter().filter(|c| c.0 == best);
    let first = top.next()?;
    top.next().is_none().then_some(first.1)
}

/// Whether two CRSs are the same but for their names (a CRS that went
/// through a GeoPackage keeps ESRI's name, and FindMatches then trusts it
/// less although every parameter is equal).
///
/// # Safety
/// Both must be valid OGRSpatialReferenceH.
unsafe fn equivalent(a: gdal_sys::OGRSpatialReferenceH, b: gdal_sys::OGRSpatialReferenceH) -> bool {
    let options: gdal::cpl::CslStringList = ["CRITERION=EQUIVALENT_EXCEPT_AXIS_ORDER_GEOGCRS"]
        .into_iter()
        .collect();
    gdal_sys::OSRIsSameEx(a, b, options.as_ptr() as *const *const c_char) != 0
}

/// # Safety
/// `handle` must be a valid OGRSpatialReferenceH.
unsafe fn authority_of(handle: gdal_sys::OGRSpatialReferenceH) -> Option<u32> {
    let name = gdal_sys::OSRGetAuthorityName(handle, std::ptr::null());
    if name.is_null()
        || !std::ffi::CStr::from_ptr(name)
            .to_bytes()
            .eq_ignore_ascii_case(b"EPSG")
    {
        return None;
    }
    let code = gdal_sys::OSRGetAuthorityCode(handle, std::ptr::null());
    if code.is_null() {
        return None;
    }
    std::ffi::CStr::from_ptr(code).to_str().ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ESRI_L93: &str = r#"PROJCS["RGF_1993_Lambert_93",GEOGCS["GCS_RGF_1993",DATUM["D_RGF_1993",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Lambert_Conformal_Conic"],PARAMETER["False_Easting",700000.0],PARAMETER["False_Northing",6600000.0],PARAMETER["Central_Meridian",3.0],PARAMETER["Standard_Parallel_1",44.0],PARAMETER["Standard_Parallel_2",49.0],PARAMETER["Latitude_Of_Origin",46.5],UNIT["Meter",1.0]]"#;

    #[test]
    fn esri_lambert93_is_2154() {
        match from_prj(ESRI_L93).unwrap() {
            Crs::Epsg { code, .. } => assert_eq!(code, 2154),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn esri_nad83_utm18n_is_26918() {
        let prj = r#"PROJCS["NAD_1983_UTM_Zone_18N",GEOGCS["GCS_North_American_1983",DATUM["D_North_American_1983",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",-75.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
        assert!(matches!(from_prj(prj).unwrap(), Crs::Epsg { code: 26918, .. }));
    }

    #[test]
    fn a_made_up_projection_stays_custom() {
        let prj = ESRI_L93
            .replace("RGF_1993_Lambert_93", "Site_Grid")
            .replace("700000.0", "123456.0");
        match from_prj(&prj).unwrap() {
            Crs::Custom { wkt, .. } => assert!(wkt.contains("123456"), "{wkt}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let error = from_prj("not a crs").unwrap_err();
        assert!(error.contains(".prj"), "{error}");
        assert!(from_prj("").unwrap_err().contains("empty"));
    }
}
