//! The loopback WMS the browser tests draw from.

use std::path::PathBuf;

use crate::loopback_http::Cgi;
use crate::pg;
use crate::support::{peer_env, unique};

/// A WMS on loopback: MapServer's CGI over a PostGIS table of the test
/// cluster holding one square around the test view. Layer `geosync-test:parcelles`
/// fills it in rgb(200,60,40) (the probe counts those pixels), `fond` in grey
/// (a base layer), `batiments` in blue.
pub struct LoopbackWms {
    database: String,
    _dir: tempfile::TempDir,
    pub cgi: Cgi,
}

impl LoopbackWms {
    pub fn new() -> Self {
        let port = pg::port();
        let database = unique("geosync_mv");
        pg::query(port, "postgres", &format!("CREATE DATABASE {database}"));
        pg::query(
            port,
            &database,
            "CREATE EXTENSION postgis;
             CREATE TABLE parcelles (id serial PRIMARY KEY, geom geometry(Polygon, 3857));
             INSERT INTO parcelles (geom) VALUES (ST_MakeEnvelope(618000, 5880000, 698000, 5960000, 3857));",
        );
        let dir = tempfile::tempdir().unwrap();
        let mapfile = dir.path().join("geosync.map");
        std::fs::write(&mapfile, mapfile_text(port, &database)).unwrap();
        let config = dir.path().join("mapserver.conf");
        std::fs::write(
            &config,
            format!(
                "CONFIG\n  ENV\n    MS_MAP_PATTERN \"^{}/\"\n    MS_MAPFILE \"{}\"\n  END\nEND\n",
                dir.path().display(),
                mapfile.display()
            ),
        )
        .unwrap();
        let cgi = Cgi {
            program: PathBuf::from(peer_env("GEOSYNC_TEST_MAPSERV")),
            prefixes: vec!["/wms".into(), "/geoserver/".into()],
            env: vec![("MAPSERVER_CONFIG_FILE".into(), config.display().to_string())],
        };
        LoopbackWms {
            database,
            _dir: dir,
            cgi,
        }
    }
}

impl Drop for LoopbackWms {
    fn drop(&mut self) {
        let _ = pg::try_query(
            pg::port(),
            "postgres",
            "postgres",
            None,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database),
        );
    }
}

fn mapfile_text(pg_port: u16, database: &str) -> String {
    let layer = |name: &str, group: &str, rgb: &str| {
        format!(
            r#"  LAYER
    NAME "{name}"
    TYPE POLYGON
    STATUS ON
    CONNECTIONTYPE POSTGIS
    CONNECTION "host=127.0.0.1 port={pg_port} dbname={database} user=postgres"
    DATA "geom from public.parcelles using unique id using srid=3857"
    PROJECTION "init=epsg:3857" END
    METADATA "wms_title" "{name}" "wms_include_items" "all" "gml_include_items" "all" END
    TEMPLATE "void"
    CLASSGROUP "{group}"
    CLASS GROUP "{group}" STYLE COLOR {rgb} END END
  END
"#
        )
    };
    format!(
        r#"MAP
  NAME "geosync_browser_test"
  EXTENT -20037508 -20037508 20037508 20037508
  UNITS METERS
  PROJECTION "init=epsg:3857" END
  WEB METADATA
    "wms_title" "geosync browser test"
    "wms_onlineresource" "http://127.0.0.1/wms?"
    "wms_srs" "EPSG:3857 EPSG:4326 EPSG:2154"
    "wms_enable_request" "*"
  END END
{}{}{}END
"#,
        layer("geosync-test:parcelles", "rouge", "200 60 40"),
        layer("fond", "default", "225 225 225"),
        layer("batiments", "default", "40 60 200"),
    )
}
