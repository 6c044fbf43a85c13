# GDAL's command-line tools, the reference loader of the sync's load tests
# (ogr2ogr loads the same file into another schema; the tests compare), and
# PostGIS's shp2pgsql for the load benchmark. Nothing to start: they run
# against the PostgreSQL of tests/peers/postgres.sh.

gdal_install() {
  apt_install_missing gdal-bin postgis
}

gdal_start() {
  command -v ogr2ogr >/dev/null && command -v shp2pgsql >/dev/null
}

gdal_stop() {
  return 0
}
