//! The proof that a table the sync loaded is really servable: the real
//! MapServer CGI (Debian cgi-mapserver, `GEOSYNC_TEST_MAPSERV` from
//! tests/peers/browser.sh) reads it from the test cluster's PostGIS and
//! answers WFS GetFeature and WMS GetMap, as GeoServer would over the same
//! table (GeoServer itself cannot run here).
//!
//! [`MapServer::serve_table`] writes a mapfile for one table (its geometry
//! type, SRID and PROJ definition read from PostGIS, as a layer named
//! after the table) and runs `mapserv` once per request; the end-to-end
//! tests reuse it on the tables they publish.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::pg;
use crate::support::peer_env;

/// A mapfile over one PostGIS table, and the CGI program that serves it.
pub struct MapServer {
    dir: tempfile::TempDir,
    mapfile: PathBuf,
    /// The layer name: the table's.
    pub layer: String,
    /// The table's extent in lon/lat (EPSG:4326): minx, miny, maxx, maxy.
    pub extent: [f64; 4],
}

/// What the CGI answered.
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl MapServer {
    /// Serves `schema.table` of `database` on the test cluster.
    pub fn serve_table(database: &str, schema: &str, table: &str) -> MapServer {
        let port = pg::port();
        let sql = format!(
            "SELECT c.f_geometry_column, c.srid, upper(c.type), s.proj4text,
                    ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
             FROM geometry_columns c
             JOIN spatial_ref_sys s ON s.srid = c.srid,
             LATERAL (SELECT ST_Extent(ST_Transform({geom}, 4326)) AS e FROM {schema}.{table}) x
             WHERE c.f_table_schema = {s} AND c.f_table_name = {t}",
            geom = "geom",
            schema = pg::ident(schema),
            table = pg::ident(table),
            s = pg::lit(schema),
            t = pg::lit(table),
        );
        let rows = pg::query(port, database, &sql);
        let row = rows
            .first()
            .unwrap_or_else(|| panic!("{schema}.{table} has no geometry column in {database}"));
        let field = |i: usize| row[i].clone().unwrap_or_default();
        let number = |i: usize| field(i).parse::<f64>().expect("an extent: the table has rows");
        let kind = match field(2).trim_start_matches("MULTI") {
            "POINT" => "POINT",
            "LINESTRING" => "LINE",
            _ => "POLYGON",
        };
        let dir = tempfile::tempdir().unwrap();
        let mapfile = dir.path().join("table.map");
        let layer = LayerDef {
            name: table,
            kind,
            connection: &format!("host=127.0.0.1 port={port} dbname={database} user=postgres"),
            data: &format!(
                "{} from {}.{} using unique ogc_fid using srid={}",
                field(0),
                pg::ident(schema),
                pg::ident(table),
                field(1)
            ),
            proj4: &field(3),
        };
        std::fs::write(&mapfile, mapfile_text(&layer)).unwrap();
        MapServer {
            dir,
            mapfile,
            layer: table.to_string(),
            extent: [number(4), number(5), number(6), number(7)],
        }
    }

    /// Runs `mapserv` for one GET with this query string.
    pub fn request(&self, query: &str) -> Answer {
        let config = self.dir.path().join("mapserver.conf");
        std::fs::write(
            &config,
            format!(
                "CONFIG\n  ENV\n    MS_MAP_PATTERN \"^{}/\"\n    MS_MAPFILE \"{}\"\n  END\nEND\n",
                self.dir.path().display(),
                self.mapfile.display()
            ),
        )
        .unwrap();
        let output = Command::new(peer_env("GEOSYNC_TEST_MAPSERV"))
            .env_clear()
            .env("REQUEST_METHOD", "GET")
            .env("QUERY_STRING", query)
            .env("GATEWAY_INTERFACE", "CGI/1.1")
            .env("SERVER_PROTOCOL", "HTTP/1.1")
            .env("SERVER_NAME", "127.0.0.1")
            .env("MAPSERVER_CONFIG_FILE", &config)
            .output()
            .expect("mapserv runs");
        parse_cgi(&output.stdout).unwrap_or_else(|| {
            panic!(
                "mapserv answered no CGI headers: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
    }

    /// WFS 2.0 GetFeature of the whole layer, as GeoJSON features.
    pub fn get_features(&self) -> Vec<Value> {
        let answer = self.request(&format!(
            "SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES={}&OUTPUTFORMAT=geojson",
            self.layer
        ));
        assert_eq!(answer.status, 200, "{}", answer.text());
        let document: Value = serde_json::from_slice(&answer.body)
            .unwrap_or_else(|e| panic!("{e}: not GeoJSON ({}): {}", answer.content_type, answer.text()));
        document["features"].as_array().cloned().unwrap_or_default()
    }

    /// WMS 1.1.1 GetMap of the layer's extent in EPSG:4326, as PNG bytes.
    pub fn get_map(&self, width: u32, height: u32) -> Vec<u8> {
        let [minx, miny, maxx, maxy] = self.extent;
        let answer = self.request(&format!(
            "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS={}&STYLES=&SRS=EPSG:4326\
             &BBOX={minx},{miny},{maxx},{maxy}&WIDTH={width}&HEIGHT={height}&FORMAT=image/png",
            self.layer
        ));
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert_eq!(answer.content_type, "image/png", "{}", answer.text());
        answer.body
    }
}

struct LayerDef<'a> {
    name: &'a str,
    kind: &'a str,
    connection: &'a str,
    data: &'a str,
    proj4: &'a str,
}

/// One layer drawn in red on white, every attribute published, GeoJSON
/// offered to WFS (MapServer's OGR output).
fn mapfile_text(layer: &LayerDef) -> String {
    let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let style = match layer.kind {
        "POINT" => "STYLE SYMBOL \"dot\" SIZE 9 COLOR 200 30 30 END",
        "LINE" => "STYLE COLOR 200 30 30 WIDTH 3 END",
        _ => "STYLE COLOR 200 30 30 OUTLINECOLOR 0 0 0 END",
    };
    format!(
        r#"MAP
  NAME "geosync_table"
  EXTENT -180 -90 180 90
  SIZE 256 256
  IMAGECOLOR 255 255 255
  PROJECTION "init=epsg:4326" END
  SYMBOL NAME "dot" TYPE ELLIPSE POINTS 1 1 END FILLED TRUE END
  OUTPUTFORMAT
    NAME "geojson"
    DRIVER "OGR/GEOJSON"
    MIMETYPE "application/json; subtype=geojson"
    FORMATOPTION "STORAGE=stream"
    FORMATOPTION "FORM=SIMPLE"
  END
  WEB METADATA
    "ows_title" "geosync test"
    "ows_onlineresource" "http://127.0.0.1/mapserv?"
    "ows_srs" "EPSG:4326 EPSG:3857 EPSG:2154"
    "ows_enable_request" "*"
    "wfs_getfeature_formatlist" "geojson"
  END END
  LAYER
    NAME "{name}"
    TYPE {kind}
    STATUS ON
    CONNECTIONTYPE POSTGIS
    CONNECTION "{connection}"
    DATA "{data}"
    PROJECTION "{proj4}" END
    METADATA
      "ows_title" "{name}"
      "gml_include_items" "all"
      "gml_featureid" "ogc_fid"
      "wfs_getfeature_formatlist" "geojson"
    END
    TEMPLATE "void"
    CLASS {style} END
  END
END
"#,
        name = quote(layer.name),
        kind = layer.kind,
        connection = quote(layer.connection),
        data = quote(layer.data),
        proj4 = quote(layer.proj4.trim()),
    )
}

/// A CGI answer: headers (Status, Content-Type), a blank line, the body.
fn parse_cgi(raw: &[u8]) -> Option<Answer> {
    let find = |needle: &[u8]| raw.windows(needle.len()).position(|w| w == needle);
    let (head_end, body_start) = match find(b"\r\n\r\n") {
        Some(i) => (i, i + 4),
        None => find(b"\n\n").map(|i| (i, i + 2))?,
    };
    let head = String::from_utf8_lossy(&raw[..head_end]);
    let mut answer = Answer {
        status: 200,
        content_type: String::new(),
        body: raw[body_start..].to_vec(),
    };
    for line in head.lines() {
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-type" => answer.content_type = value.trim().to_string(),
                "status" => answer.status = value.trim().get(..3)?.parse().ok()?,
                _ => {}
            }
        }
    }
    Some(answer)
}

/// A PNG's size from its IHDR chunk (after the 8-byte signature).
pub fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert_eq!(&png[12..16], b"IHDR");
    let read = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (read(16), read(20))
}

/// How many pixels of an image are not the white background, read
/// through GDAL (the PNG is decoded by the same library MapServer uses).
pub fn painted_pixels(png: &[u8]) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("map.png");
    std::fs::write(&path, png).unwrap();
    let dataset = gdal::Dataset::open(&path).expect("GDAL reads the PNG");
    let (width, height) = dataset.raster_size();
    let bands: Vec<Vec<u8>> = (1..=dataset.raster_count().min(3))
        .map(|i| {
            let band = dataset.rasterband(i).unwrap();
            band.read_as::<u8>((0, 0), (width, height), (width, height), None)
                .unwrap()
                .data()
                .to_vec()
        })
        .collect();
    (0..width * height)
        .filter(|&p| bands.iter().any(|band| band[p] != 255))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::{copy_dir, status_of, SyncCase, CORPUS};
    use std::path::Path;

    /// A corpus shapefile loaded by `geosync sync --once` is served by
    /// MapServer from its table: every feature with its attributes over
    /// WFS, and a drawn map over WMS.
    #[test]
    fn a_loaded_table_answers_wfs_getfeature_and_wms_getmap() {
        let case = SyncCase::new("{ path = \"share\" }");
        let folder = "valid/200_metadata_xml_QGIS_gmd";
        copy_dir(
            &Path::new(CORPUS).join(folder),
            &case.ws.join("share").join(folder),
        );
        let (run, datasets) = case.sync_json(&[]);
        run.assert_code(0);
        let dataset = status_of(&datasets, &format!("{folder}/200_metadata_xml_QGIS_gmd.shp"));
        let table = dataset["tables"][0]
            .as_str()
            .unwrap_or_else(|| panic!("no table in {dataset}"))
            .rsplit('.')
            .next()
            .unwrap()
            .to_string();
        let map = MapServer::serve_table(&case.db, "data", &table);

        let features = map.get_features();
        assert_eq!(features.len(), 2, "{features:#?}");
        let mails: Vec<&str> = features
            .iter()
            .filter_map(|f| f["properties"]["mail"].as_str())
            .collect();
        assert_eq!(mails, ["bdd-mshe@univ-fcomte.fr"; 2], "{features:#?}");
        // Loaded as MultiPolygon; one-part geometries are written as Polygon.
        let kind = features[0]["geometry"]["type"].as_str().unwrap_or_default();
        assert!(kind.ends_with("Polygon"), "{features:#?}");

        let png = map.get_map(320, 200);
        assert_eq!(png_size(&png), (320, 200));
        let painted = painted_pixels(&png);
        assert!(painted > 100, "{painted} pixels drawn");
        assert!(painted < 320 * 200, "the whole image is painted");

        // A layer that does not exist is an OGC exception, not an image.
        let missing = map.request(
            "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=nothing&STYLES=&SRS=EPSG:4326&BBOX=0,0,1,1&WIDTH=10&HEIGHT=10&FORMAT=image/png",
        );
        assert_ne!(missing.content_type, "image/png");
    }
}
